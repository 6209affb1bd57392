//! Pulled jobs, the child's side of pull distribution (quiver.hier.v1):
//! jobs this instance took from its parent, each a local job that *is* a
//! parent job (its origin), and what the parent must hear about them.
//!
//! [`Instance::accept_pulled`] queues the jobs a NeedJob answer carried,
//! once per parent job (a job handed again after a lost answer is taken
//! once: exactly-once start by id), journaling the origin with the job. A
//! change of a pulled job's state marks it for the next report
//! ([`Instance::take_reports`]); [`Instance::full_report`] is every pulled
//! job this instance knows, sent after a call that went unanswered. The
//! parent's cancels arrive as parent ids ([`Instance::cancel_pulled`]).
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use matcher::jobspec::Jobspec;

use super::handoff::{HandedJob, JobUpdate};
use super::spec::Spec;
use super::{Instance, InstanceError, JobId, JobState};

/// The child's record of its pulled jobs.
#[derive(Default)]
pub(super) struct Pulled {
    /// Local job → parent job.
    origin_of: HashMap<JobId, JobId>,
    /// Parent job → local job.
    local_of: HashMap<JobId, JobId>,
    /// Pulled jobs whose state changed since the last report.
    dirty: BTreeSet<JobId>,
}

impl Pulled {
    pub(super) fn link(&mut self, local: JobId, origin: JobId) {
        self.origin_of.insert(local, origin);
        self.local_of.insert(origin, local);
    }
}

/// A handed job and its jobspec parsed (off the instance thread). Jobs
/// of one text share its `Arc`, and are judged once.
pub type Arrival = (HandedJob, Result<Jobspec, InstanceError>);

impl Instance {
    /// Queue the jobs a NeedJob answer handed: each parent job once. A
    /// job this instance refuses (its jobspec, its owner, no room) is
    /// reported failed at once, with the reason; the updates are returned
    /// for that report, with how many were queued.
    pub fn accept_pulled(&mut self, arrivals: Vec<Arrival>) -> (usize, Vec<JobUpdate>) {
        let mut queued = 0;
        let mut refused = Vec::new();
        let mut admitted: HashMap<*const u8, Result<Arc<Spec>, InstanceError>> = HashMap::new();
        for (h, parsed) in arrivals {
            if self.pulled.local_of.contains_key(&h.id) {
                continue;
            }
            let key = Arc::as_ptr(&h.jobspec) as *const u8;
            let spec = match admitted.get(&key) {
                Some(s) => s.clone(),
                None => {
                    let s = parsed.and_then(|js| self.admit_spec(js)).map(Arc::new);
                    admitted.insert(key, s.clone());
                    s
                }
            };
            let r = spec.and_then(|spec| {
                self.admit_owner(h.owner, 1)?;
                self.enqueue(h.owner, &h.name, h.jobspec.clone(), spec, Some(h.id))
            });
            match r {
                Ok(_) => queued += 1,
                Err(e) => refused.push(JobUpdate {
                    id: h.id,
                    state: JobState::Failed,
                    start_time: 0,
                    end_time: self.clock.now(),
                    reason: format!("refused by the child instance: {e}"),
                    exit_code: 0,
                    r: String::new(),
                }),
            }
        }
        (queued, refused)
    }

    /// What the parent has not heard yet: pulled jobs whose state
    /// changed since the last call.
    pub fn take_reports(&mut self) -> Vec<JobUpdate> {
        let dirty = std::mem::take(&mut self.pulled.dirty);
        dirty
            .into_iter()
            .filter_map(|id| self.update_of(id))
            .collect()
    }

    /// Every pulled job this instance knows, as a full report (without
    /// the R of running jobs, which the parent heard when they started).
    pub fn full_report(&mut self) -> Vec<JobUpdate> {
        self.pulled.dirty.clear();
        let mut ids: Vec<JobId> = self.pulled.origin_of.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter()
            .filter_map(|id| self.update_of(id))
            .map(|mut u| {
                u.r.clear();
                u
            })
            .collect()
    }

    /// How many jobs to ask the parent for, within `prefetch` waiting
    /// here at most; and what waits here, and the cores free now.
    pub fn pull_credits(&mut self, prefetch: u64) -> (u32, u64, u64) {
        let waiting =
            self.counts[JobState::Pending.index()] + self.counts[JobState::Depend.index()];
        let credits = prefetch.saturating_sub(waiting).min(u64::from(u32::MAX)) as u32;
        (credits, waiting, self.free_cores())
    }

    /// The parent canceled these of its jobs: cancel their local copies.
    pub fn cancel_pulled(&mut self, origins: &[JobId]) {
        let owner = self.owner();
        let now = self.clock.now();
        for o in origins {
            let Some(&id) = self.pulled.local_of.get(o) else {
                continue;
            };
            let Some(job) = self.jobs.get(&id) else {
                continue;
            };
            if job.state.is_ended() {
                continue;
            }
            if self.cancel(owner, id).is_err() {
                // A job holding a lease's resources: end it all the same.
                self.end_job(id, JobState::Canceled, "canceled at the parent", 0, now);
            }
        }
    }

    /// Pulled jobs this instance knows.
    pub fn pulled_count(&self) -> usize {
        self.pulled.origin_of.len()
    }

    /// Job `id`'s state changed: the parent hears of it if it pulled it.
    pub(super) fn note_pulled_change(&mut self, id: JobId) {
        if self.pulled.origin_of.contains_key(&id) {
            self.pulled.dirty.insert(id);
        }
    }

    /// Job `id` is forgotten: so is where it came from.
    pub(super) fn forget_pulled(&mut self, id: JobId) {
        if let Some(o) = self.pulled.origin_of.remove(&id) {
            self.pulled.local_of.remove(&o);
            self.pulled.dirty.remove(&id);
        }
    }

    /// After replay: the pulled jobs of the journal (those still known).
    pub(super) fn restore_pulled(&mut self, pulled: Vec<(JobId, JobId)>) {
        for (id, origin) in pulled {
            if self.jobs.contains_key(&id) {
                self.pulled.link(id, origin);
            }
        }
    }

    /// Cores free now, by the root's aggregate (0 when cores are not a
    /// pruning type).
    fn free_cores(&mut self) -> u64 {
        let core = self.m.sym("core");
        let now = self.clock.now();
        let g = self.m.graph();
        let Some(&root) = g.roots.get(&self.dom) else {
            return 0;
        };
        let Some(sp) = &g.g[root].schedule.subplan else {
            return 0;
        };
        sp.types().iter().position(|&t| t == core).map_or(0, |i| {
            u64::try_from(sp.planner(i).avail_at(now)).unwrap_or(0)
        })
    }

    fn update_of(&self, id: JobId) -> Option<JobUpdate> {
        let origin = *self.pulled.origin_of.get(&id)?;
        let j = self.jobs.get(&id)?;
        Some(JobUpdate {
            id: origin,
            state: j.state,
            start_time: j.start_time,
            end_time: j.end_time,
            reason: j.reason.clone(),
            exit_code: j.exit_code,
            r: if j.state == JobState::Running {
                j.r.clone()
            } else {
                String::new()
            },
        })
    }
}
