//! Hand-off, the parent's side of pull distribution (quiver.hier.v1): a
//! child holding a lease asks for work ([`Instance::need_job`]) and gets
//! pending jobs the lease can hold; it reports what becomes of them
//! ([`Instance::report_pulled`]), which this instance's jobs then show.
//!
//! A handed job leaves this queue and stays `pending` (reason: where it
//! is) until the child says it runs; its end comes from the child too.
//! Each hand-off is journaled (the job's lease) in the batch that
//! answers, so a restart queues it neither here nor twice. It comes back
//! to the queue, under its id, when the child's full report does not name
//! it (the answer was lost, or the child lost it), or when its lease
//! closes or is lost.
//!
//! "Can hold" is exact: whether the lease's subgraph satisfies the job,
//! asked of a matcher built on that subgraph (once per lease epoch, the
//! answers cached per request shape), and whether the child can run it as
//! its owner (a child not run by root takes its own user's jobs only).
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use matcher::traverser::MatchOp;
use matcher::{policy, Matcher};
use tracing::{info, warn};

use super::spec::Spec;
use super::writers::Discard;
use super::{EventKind, Instance, InstanceError, JobId, JobState};
use crate::elastic::lease::{Caller, Grant};

/// Jobs one NeedJob hands at most.
pub const MAX_HANDED: u32 = 10_000;
/// Pending jobs one NeedJob looks at, at most, for ones the lease can hold.
const SCAN: usize = 65_536;

/// A job handed to a child: the parent's id and what it was submitted with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandedJob {
    pub id: JobId,
    pub owner: u32,
    pub name: String,
    pub jobspec: Arc<str>,
    pub submit_time: i64,
}

/// A pulled job's state as a child reports it (the parent's id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobUpdate {
    pub id: JobId,
    pub state: JobState,
    pub start_time: i64,
    pub end_time: i64,
    pub reason: String,
    pub exit_code: i32,
    /// The job's R while it runs.
    pub r: String,
}

/// What a child's NeedJob gets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handout {
    pub jobs: Vec<HandedJob>,
    /// Handed jobs canceled here since: the child cancels its copies.
    pub cancel: Vec<JobId>,
}

/// Whether job shapes fit one lease, as of one epoch.
struct LeaseFit {
    epoch: u64,
    m: Matcher,
    /// Request shapes (as text) known to fit, or not.
    answers: HashMap<String, bool>,
}

/// The hand-off state of a parent.
#[derive(Default)]
pub(super) struct Handoffs {
    /// Handed jobs not ended, and their lease.
    pub(super) lease_of: HashMap<JobId, u64>,
    /// Per lease, handed jobs canceled here that the child has not been
    /// told of.
    cancels: HashMap<u64, Vec<JobId>>,
    fits: HashMap<u64, LeaseFit>,
}

impl Instance {
    /// Hand up to `credits` pending jobs lease `lease` can hold to its
    /// child, in queue order; `waiting` and `free_cores` are what the
    /// child says it has (shown by `schedctl tree`). Counts as the child's
    /// heartbeat.
    pub fn need_job(
        &mut self,
        caller: impl Into<Caller>,
        lease: u64,
        credits: u32,
        waiting: u64,
        free_cores: u64,
    ) -> Result<Handout, InstanceError> {
        let lease_owner = self.lease_for(&caller.into(), lease)?.owner;
        let now = self.clock.now();
        if let Some(l) = self.leases.leases.get_mut(&lease) {
            l.last_seen = now;
            l.child_waiting = waiting;
            l.child_free_cores = free_cores;
        }
        let cancel = self.hand.cancels.remove(&lease).unwrap_or_default();
        let want = credits.min(MAX_HANDED) as usize;
        let mut picked = Vec::new();
        if want > 0 {
            self.refresh_fit(lease)?;
            if let Some(fit) = self.hand.fits.get_mut(&lease) {
                // Jobs of one text share their request: judge it once.
                let mut judged: HashMap<*const Spec, bool> = HashMap::new();
                for id in self.queue.in_order().take(SCAN) {
                    if picked.len() >= want {
                        break;
                    }
                    let Some(job) = self.jobs.get(&id) else {
                        continue;
                    };
                    if lease_owner != 0 && lease_owner != job.owner {
                        continue;
                    }
                    let Some(spec) = self.specs.get(&id) else {
                        continue;
                    };
                    if *judged
                        .entry(Arc::as_ptr(spec))
                        .or_insert_with(|| fit.holds(spec))
                    {
                        picked.push(id);
                    }
                }
            }
        }
        let before = self.journal_failures;
        let mut jobs = Vec::with_capacity(picked.len());
        for id in picked {
            if self.queue.remove(id) {
                // It held a reservation of this pass.
                self.m.cancel(id);
            }
            self.specs.remove(&id);
            self.hand.lease_of.insert(id, lease);
            let _ = self.jr(|j| j.hand(id, lease));
            let Some(job) = self.jobs.get_mut(&id) else {
                continue;
            };
            job.reason = format!("handed to lease {lease}");
            job.reserved_at = 0;
            jobs.push(HandedJob {
                id,
                owner: job.owner,
                name: job.name.clone(),
                jobspec: job.jobspec.clone(),
                submit_time: job.submit_time,
            });
        }
        self.journal_since(before)?;
        if !jobs.is_empty() {
            self.queue.mark_dirty();
        }
        Ok(Handout { jobs, cancel })
    }

    /// A child's report on jobs it pulled through lease `lease`; with
    /// `full`, every job it holds (a job handed to it that it does not
    /// name comes back to this queue). Returns the jobs it should cancel:
    /// ended here, or no longer its.
    pub fn report_pulled(
        &mut self,
        caller: impl Into<Caller>,
        lease: u64,
        updates: Vec<JobUpdate>,
        full: bool,
    ) -> Result<Vec<JobId>, InstanceError> {
        self.lease_for(&caller.into(), lease)?;
        let now = self.clock.now();
        if let Some(l) = self.leases.leases.get_mut(&lease) {
            l.last_seen = now;
        }
        let before = self.journal_failures;
        let mut cancel = Vec::new();
        let mut named = HashSet::new();
        for u in updates {
            named.insert(u.id);
            if self.hand.lease_of.get(&u.id) != Some(&lease) {
                // Canceled here, handed elsewhere, or unknown: not its.
                if !u.state.is_ended() {
                    cancel.push(u.id);
                }
                continue;
            }
            self.apply_update(u);
        }
        if full {
            let missing: Vec<JobId> = self
                .hand
                .lease_of
                .iter()
                .filter(|&(id, &l)| l == lease && !named.contains(id))
                .map(|(&id, _)| id)
                .collect();
            for id in missing {
                self.hand_back(id, &format!("lease {lease}'s child did not have it"));
            }
        }
        self.journal_since(before)?;
        Ok(cancel)
    }

    /// Handed jobs of lease `lease` not ended.
    pub fn handed_to(&self, lease: u64) -> u64 {
        self.hand.lease_of.values().filter(|&&l| l == lease).count() as u64
    }

    /// Every job handed to lease `lease` comes back to this queue (the
    /// lease closed or was lost).
    pub(super) fn hand_back_lease(&mut self, lease: u64, why: &str) {
        self.hand.cancels.remove(&lease);
        self.hand.fits.remove(&lease);
        let mut ids: Vec<JobId> = self
            .hand
            .lease_of
            .iter()
            .filter(|&(_, &l)| l == lease)
            .map(|(&id, _)| id)
            .collect();
        ids.sort_unstable();
        if !ids.is_empty() {
            warn!(
                lease,
                jobs = ids.len(),
                "{why}: its handed jobs queue here again"
            );
        }
        for id in ids {
            self.hand_back(id, why);
        }
    }

    /// Handed job `id` queues here again, under its id.
    pub(super) fn hand_back(&mut self, id: JobId, why: &str) {
        if self.hand.lease_of.remove(&id).is_none() {
            return;
        }
        let _ = self.jr(|j| j.unhand(id));
        let Some(job) = self.jobs.get(&id) else {
            return;
        };
        if job.state.is_ended() {
            return;
        }
        let spec = match self
            .parse_jobspec(&job.jobspec)
            .and_then(|js| Spec::new(js, self.cfg.flexible))
        {
            Ok(s) => s,
            Err(e) => {
                let now = self.clock.now();
                let reason = format!("back from its child, its jobspec no longer parses: {e}");
                self.end_job(id, JobState::Failed, &reason, 0, now);
                return;
            }
        };
        self.back_to_pending(id, &format!("back in the queue: {why}"));
        self.specs.insert(id, Arc::new(spec));
        self.queue.push(id);
        self.queue.mark_dirty();
        info!(job_id = id, why, "handed job queued here again");
    }

    /// Job `id` ends here: it is no longer at a child (the caller's
    /// journal write of the end says so too). False when it was not
    /// handed.
    pub(super) fn unhand(&mut self, id: JobId) -> bool {
        self.hand.lease_of.remove(&id).is_some()
    }

    /// Handed job `id` was canceled here: lease `lease`'s child hears of
    /// it at its next call.
    pub(super) fn tell_canceled(&mut self, lease: u64, id: JobId) {
        self.hand.cancels.entry(lease).or_default().push(id);
    }

    /// After replay: the hand-offs of the journal. A job handed to a
    /// lease that is gone queues again.
    pub(super) fn restore_handoffs(&mut self, handed: Vec<(JobId, u64)>) {
        for (id, lease) in handed {
            self.hand.lease_of.insert(id, lease);
            if !self.leases.leases.contains_key(&lease) {
                self.hand_back(id, &format!("lease {lease} is gone"));
            }
        }
    }

    /// Whether job `id` was handed to a child (at replay: read first).
    pub(super) fn is_handed(&self, id: JobId) -> bool {
        self.hand.lease_of.contains_key(&id)
    }

    fn apply_update(&mut self, u: JobUpdate) {
        let id = u.id;
        let Some(job) = self.jobs.get(&id) else {
            return;
        };
        let was = job.state;
        match u.state {
            JobState::Running if was != JobState::Running => {
                let _ = self.jr(|j| j.set_state(id, "running", u.start_time, u.end_time, "", 0));
                self.set_state(id, JobState::Running);
                if let Some(j) = self.jobs.get_mut(&id) {
                    j.start_time = u.start_time;
                    j.end_time = u.end_time;
                    j.reason.clear();
                    j.r = u.r;
                }
                self.allocated_total += 1;
                self.push_event(
                    id,
                    EventKind::Alloc,
                    u.start_time,
                    u.start_time,
                    String::new(),
                );
                self.push_event(id, EventKind::Start, u.start_time, 0, String::new());
            }
            JobState::Running => {
                if let Some(j) = self.jobs.get_mut(&id) {
                    j.end_time = u.end_time;
                    if !u.r.is_empty() {
                        j.r = u.r;
                    }
                }
            }
            JobState::Pending | JobState::Depend if was == JobState::Running => {
                // Requeued at the child: it waits there again.
                self.back_to_pending(id, &u.reason);
            }
            JobState::Pending | JobState::Depend => {}
            ended => self.end_job(id, ended, &u.reason, u.exit_code, u.end_time),
        }
    }

    /// Make lease `lease`'s fit matcher the one of its current epoch.
    fn refresh_fit(&mut self, lease: u64) -> Result<(), InstanceError> {
        let Some(l) = self.leases.leases.get(&lease) else {
            return Err(InstanceError::NotFound(format!("no lease {lease}")));
        };
        if self
            .hand
            .fits
            .get(&lease)
            .is_some_and(|f| f.epoch == l.epoch)
        {
            return Ok(());
        }
        let epoch = l.epoch;
        let grants: Vec<&Grant> = l.grants.iter().collect();
        let (jgf, _, _) = self.subgraph(&grants);
        let origin = format!("lease {lease}");
        let limits = resource_graph::Limits {
            max_vertices: u64::MAX,
        };
        let g = resource_graph::jgf::read_with(&jgf, &origin, &limits)
            .map_err(|e| InstanceError::Journal(format!("{origin}: its subgraph: {e}")))?;
        let pol = policy::create("first", &g)
            .map_err(|e| InstanceError::BadRequest(format!("match policy: {e}")))?;
        let m = Matcher::new(g, pol, &["containment"], &self.cfg.prune_filters)
            .map_err(|e| InstanceError::BadRequest(e.to_string()))?;
        self.hand.fits.insert(
            lease,
            LeaseFit {
                epoch,
                m,
                answers: HashMap::new(),
            },
        );
        Ok(())
    }
}

impl LeaseFit {
    /// Whether the lease's subgraph can ever hold `spec` (one of its
    /// shapes).
    fn holds(&mut self, spec: &Spec) -> bool {
        spec.shapes().iter().any(|js| {
            let key = format!("{:?}|{:?}", js.resources, js.constraint);
            if let Some(&a) = self.answers.get(&key) {
                return a;
            }
            let ok = self
                .m
                .run(js, MatchOp::Satisfiability, 0, &mut Discard)
                .is_ok();
            if self.answers.len() < 4096 {
                self.answers.insert(key, ok);
            }
            ok
        })
    }
}
