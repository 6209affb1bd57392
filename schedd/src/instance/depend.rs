//! Job dependencies (RFC 26): a job whose jobspec names dependencies
//! waits in the `Depend` state, out of the queue, until every one is met,
//! and then queues as any job does (a `Depend` event). One that can never
//! be met (`afterok` on a job that failed, `afterstart` on one canceled
//! before it started) ends the job as failed, with the dependency and
//! what became of its job as the reason.
//!
//! At submit every `after*` target must be a job this instance remembers
//! and one the submitter may act on (its own, or any for the instance
//! owner); `singleton` needs the job to have a name. A target that already
//! ended is judged at once. Afterwards the instance tells this file when
//! a job starts ([`Instance::dependency_started`]) and ends
//! ([`Instance::dependency_ended`]); failures a job's end causes are ended
//! from a worklist, so a long chain of `afterok` jobs unwinds without
//! recursion.
//!
//! Nothing here is journaled on its own: the dependencies are in the
//! jobspec, and the journal has every job's state. A restart judges each
//! `Depend` job again against the jobs it remembers
//! ([`Instance::depend_again`]).
use std::collections::{BTreeSet, HashMap};

use matcher::dependency::{Dependency, Scheme};
use tracing::debug;

use super::{EventKind, Instance, InstanceError, Job, JobId, JobState};

/// The jobs waiting on others.
#[derive(Debug, Default)]
pub(super) struct Waits {
    /// Dependent job → its dependencies not met yet.
    unmet: HashMap<JobId, Vec<Dependency>>,
    /// Job → jobs with an `after*` dependency on it (some may have been
    /// met or ended since: checked against `unmet`).
    waiters: HashMap<JobId, Vec<JobId>>,
    /// (owner, name) → jobs waiting on `singleton`.
    singletons: HashMap<(u32, String), BTreeSet<JobId>>,
    /// Jobs a dependency failed, to end once the end that failed them is
    /// done.
    failing: Vec<(JobId, String)>,
    /// Whether `failing` is being drained (an end inside the drain only
    /// adds to it).
    draining: bool,
}

/// What a job's dependencies say now.
enum Outcome {
    /// All met: the job queues.
    Met,
    /// These are not met yet.
    Wait(Vec<Dependency>),
    /// One can never be met: why.
    Never(String),
}

/// What a dependency of an ended job says about it.
fn judge_end(d: Dependency, target: &Job) -> Result<(), String> {
    let ok = target.state == JobState::Finished;
    let what = || match target.state {
        JobState::Finished => format!("job {} finished successfully", d.job),
        JobState::Canceled => format!("job {} was canceled", d.job),
        _ if target.reason.is_empty() => format!("job {} failed", d.job),
        // Not its reason: down a chain the reasons would nest.
        _ if target.reason.starts_with("dependency ") && target.reason.contains(NEVER) => {
            format!("job {} failed on a dependency of its own", d.job)
        }
        _ => format!("job {} failed ({})", d.job, short(&target.reason)),
    };
    let met = match d.scheme {
        Scheme::AfterAny | Scheme::Singleton => true,
        Scheme::AfterOk => ok,
        Scheme::AfterNotOk => !ok,
        // A start would have met it already (see `dependency_started`);
        // at a restart, a start time tells.
        Scheme::AfterStart => target.start_time > 0 || ok,
    };
    if met {
        return Ok(());
    }
    let what = match d.scheme {
        Scheme::AfterStart => format!("job {} ended without starting", d.job),
        _ => what(),
    };
    Err(format!("dependency {d}{NEVER}{what}"))
}

/// What a dependency that fails its job says, after the dependency.
const NEVER: &str = " can never be met: ";

/// A target's reason, cut to a line's length.
fn short(reason: &str) -> &str {
    match reason.char_indices().nth(200) {
        Some((at, _)) => &reason[..at],
        None => reason,
    }
}

/// What a job waiting on `d` shows as its reason.
fn waiting_for(d: &Dependency) -> String {
    let on = match d.scheme {
        Scheme::AfterStart => format!("job {} to start", d.job),
        Scheme::AfterAny => format!("job {} to end", d.job),
        Scheme::AfterOk => format!("job {} to finish successfully", d.job),
        Scheme::AfterNotOk => format!("job {} to fail", d.job),
        Scheme::Singleton => "the other active jobs of its name to end".to_owned(),
    };
    format!("waiting for {on} ({d})")
}

impl Instance {
    /// Refuse a new job's dependencies that name a job this instance does
    /// not remember or one `owner` may not act on, or a `singleton` of a
    /// job without a name. Changes nothing.
    pub(super) fn check_dependencies(
        &self,
        owner: u32,
        name: &str,
        deps: &[Dependency],
    ) -> Result<(), InstanceError> {
        for d in deps {
            if d.scheme == Scheme::Singleton {
                if name.is_empty() {
                    return Err(InstanceError::BadRequest(format!(
                        "dependency {d}: the job needs a name (--name) to be a singleton"
                    )));
                }
                continue;
            }
            let Some(target) = self.jobs.get(&d.job) else {
                let why = if d.job < self.next_id {
                    "it ended and was forgotten (--keep-ended)"
                } else {
                    "there is no such job"
                };
                return Err(InstanceError::BadRequest(format!(
                    "dependency {d}: job {}: {why}",
                    d.job
                )));
            };
            if !self.authz.may_act_on(owner, target.owner) {
                return Err(InstanceError::PermissionDenied(format!(
                    "dependency {d}: job {} belongs to uid {}, not to uid {owner}",
                    d.job, target.owner
                )));
            }
        }
        Ok(())
    }

    /// Whether a job other than `me` of `key` is active and not itself
    /// waiting on `singleton`.
    fn singleton_busy(&self, me: JobId, owner: u32, name: &str) -> bool {
        let waiting = self.waits.singletons.get(&(owner, name.to_owned()));
        self.jobs.values().any(|j| {
            j.id != me
                && !j.state.is_ended()
                && j.owner == owner
                && j.name == name
                && !waiting.is_some_and(|w| w.contains(&j.id))
        })
    }

    /// Judge job `me`'s dependencies against the jobs as they are now.
    fn outcome(&self, me: JobId, owner: u32, name: &str, deps: &[Dependency]) -> Outcome {
        let mut unmet = Vec::new();
        for &d in deps {
            if d.scheme == Scheme::Singleton {
                if self.singleton_busy(me, owner, name) {
                    unmet.push(d);
                }
                continue;
            }
            let Some(target) = self.jobs.get(&d.job) else {
                return Outcome::Never(format!(
                    "dependency {d} can never be met: job {} is no longer known",
                    d.job
                ));
            };
            if target.state.is_ended() {
                if let Err(why) = judge_end(d, target) {
                    return Outcome::Never(why);
                }
            } else if !(d.scheme == Scheme::AfterStart && target.state == JobState::Running) {
                unmet.push(d);
            }
        }
        if unmet.is_empty() {
            Outcome::Met
        } else {
            Outcome::Wait(unmet)
        }
    }

    /// The state a new job `me` enters: `Depend` when a dependency is not
    /// met yet, else `Pending` (also when one can never be met: then
    /// [`Instance::depend_or_queue`] ends it).
    pub(super) fn entry_state(
        &self,
        me: JobId,
        owner: u32,
        name: &str,
        deps: &[Dependency],
    ) -> JobState {
        if deps.is_empty() {
            return JobState::Pending;
        }
        match self.outcome(me, owner, name, deps) {
            Outcome::Wait(_) => JobState::Depend,
            _ => JobState::Pending,
        }
    }

    /// A job just recorded (new, or read back at a restart) in `Pending`
    /// or `Depend`: queue it, hold it for its dependencies, or end it
    /// when one can never be met.
    pub(super) fn depend_or_queue(&mut self, id: JobId, deps: &[Dependency]) {
        let Some(j) = self.jobs.get(&id) else {
            return;
        };
        let (owner, name, state) = (j.owner, j.name.clone(), j.state);
        let outcome = if deps.is_empty() {
            Outcome::Met
        } else {
            self.outcome(id, owner, &name, deps)
        };
        let now = self.clock.now();
        match outcome {
            Outcome::Met => {
                if state == JobState::Depend {
                    self.release(id);
                } else {
                    self.queue.push(id);
                    self.push_event(id, EventKind::Depend, now, 0, String::new());
                }
            }
            Outcome::Wait(unmet) => {
                if state != JobState::Depend {
                    let _ = self.jr(|j| j.set_state(id, "depend", 0, 0, "", 0));
                    self.set_state(id, JobState::Depend);
                }
                self.hold(id, owner, name, unmet);
            }
            Outcome::Never(why) => self.fail_dependent(id, why),
        }
    }

    /// Register job `id`'s unmet dependencies.
    fn hold(&mut self, id: JobId, owner: u32, name: String, unmet: Vec<Dependency>) {
        let reason = waiting_for(&unmet[0]);
        for d in &unmet {
            match d.scheme {
                Scheme::Singleton => {
                    self.waits
                        .singletons
                        .entry((owner, name.clone()))
                        .or_default()
                        .insert(id);
                }
                _ => self.waits.waiters.entry(d.job).or_default().push(id),
            }
        }
        debug!(job_id = id, reason, "waiting for dependencies");
        if let Some(j) = self.jobs.get_mut(&id) {
            j.reason = reason;
        }
        self.waits.unmet.insert(id, unmet);
    }

    /// Every dependency of `id` is met: it queues.
    fn release(&mut self, id: JobId) {
        self.waits.unmet.remove(&id);
        if self.jobs.get(&id).map(|j| j.state) != Some(JobState::Depend) {
            return;
        }
        let _ = self.jr(|j| j.set_state(id, "pending", 0, 0, "", 0));
        self.set_state(id, JobState::Pending);
        if let Some(j) = self.jobs.get_mut(&id) {
            j.reason.clear();
        }
        self.queue.push(id);
        self.queue.mark_dirty();
        debug!(job_id = id, "dependencies met");
        let now = self.clock.now();
        self.push_event(id, EventKind::Depend, now, 0, String::new());
    }

    /// Mark `d`-like dependencies of `id` met (those `is_met` picks);
    /// release it when none is left, else show the next it waits for.
    fn meet(&mut self, id: JobId, is_met: impl Fn(&Dependency) -> bool) {
        let Some(unmet) = self.waits.unmet.get_mut(&id) else {
            return;
        };
        unmet.retain(|d| !is_met(d));
        match unmet.first() {
            None => self.release(id),
            Some(next) => {
                let reason = waiting_for(next);
                if let Some(j) = self.jobs.get_mut(&id) {
                    j.reason = reason;
                }
            }
        }
    }

    /// End `id` for a dependency that can never be met; inside an end,
    /// once that end is done.
    fn fail_dependent(&mut self, id: JobId, why: String) {
        self.waits.failing.push((id, why));
        if self.waits.draining {
            return;
        }
        self.waits.draining = true;
        while let Some((id, why)) = self.waits.failing.pop() {
            let now = self.clock.now();
            self.end_job(id, JobState::Failed, &why, 0, now);
        }
        self.waits.draining = false;
    }

    /// Job `id` started: `afterstart` on it is met.
    pub(super) fn dependency_started(&mut self, id: JobId) {
        let Some(waiting) = self.waits.waiters.get(&id).cloned() else {
            return;
        };
        for w in waiting {
            self.meet(w, |d| d.scheme == Scheme::AfterStart && d.job == id);
        }
    }

    /// Job `id` ended (its state set already): judge what waits on it,
    /// let the next singleton of its name go, and forget its own waits.
    pub(super) fn dependency_ended(&mut self, id: JobId) {
        let Some(job) = self.jobs.get(&id) else {
            return;
        };
        let (owner, name) = (job.owner, job.name.clone());
        if let Some(unmet) = self.waits.unmet.remove(&id) {
            if unmet.iter().any(|d| d.scheme == Scheme::Singleton) {
                let key = (owner, name.clone());
                if let Some(set) = self.waits.singletons.get_mut(&key) {
                    set.remove(&id);
                    if set.is_empty() {
                        self.waits.singletons.remove(&key);
                    }
                }
            }
        }
        if let Some(waiting) = self.waits.waiters.remove(&id) {
            for w in waiting {
                let Some(unmet) = self.waits.unmet.get(&w) else {
                    continue;
                };
                let Some(target) = self.jobs.get(&id) else {
                    break;
                };
                let on_it: Vec<Dependency> =
                    unmet.iter().copied().filter(|d| d.job == id).collect();
                match on_it.iter().find_map(|&d| judge_end(d, target).err()) {
                    Some(why) => self.fail_dependent(w, why),
                    None => self.meet(w, |d| d.job == id && d.scheme != Scheme::Singleton),
                }
            }
        }
        if !name.is_empty() {
            self.next_singleton(owner, &name);
        }
    }

    /// Let the first job waiting on `singleton` for (owner, name) go when
    /// no other job of that name is active.
    fn next_singleton(&mut self, owner: u32, name: &str) {
        let key = (owner, name.to_owned());
        let Some(&first) = self.waits.singletons.get(&key).and_then(|s| s.first()) else {
            return;
        };
        if self.singleton_busy(first, owner, name) {
            return;
        }
        if let Some(set) = self.waits.singletons.get_mut(&key) {
            set.remove(&first);
            if set.is_empty() {
                self.waits.singletons.remove(&key);
            }
        }
        self.meet(first, |d| d.scheme == Scheme::Singleton);
    }

    /// At a restart, after every job is read back: judge each `Depend`
    /// job again (its targets may have ended while the instance was
    /// down, or just before it stopped).
    pub(super) fn depend_again(&mut self, ids: Vec<JobId>) {
        for id in ids {
            let deps = self
                .specs
                .get(&id)
                .map(|s| s.first().dependencies.clone())
                .unwrap_or_default();
            self.depend_or_queue(id, &deps);
        }
    }

    /// Jobs waiting for their dependencies now.
    pub fn depending(&self) -> usize {
        self.waits.unmet.len()
    }
}
