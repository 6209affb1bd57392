//! Scheduling passes, the instance's side of the [`PendingQueue`]: each
//! job the queue's pass names is matched now (allocate, or allocate or
//! else reserve while the pass has reservations left) and then started,
//! given its reservation, or blocked until something changes.
//!
//! [`PendingQueue`]: crate::queue::PendingQueue
use std::time::Instant;

use matcher::traverser::{Errno, MatchOp};
use matcher::writer::Writer;
use tracing::{debug, warn};

use super::spec::Spec;
use super::writers::Tee;
use super::{EventKind, Instance, JobId, JobState};
use crate::queue::Step;

impl Instance {
    /// One scheduling pass (or the next `budget` jobs of it); true when
    /// more remains (the pass is unfinished, or it ended at the queue depth
    /// having started jobs, so another pass is worth running). Sets the
    /// traverser's now from the clock.
    pub fn schedule(&mut self, budget: usize) -> bool {
        let now = self.clock.now();
        self.m.set_now(now);
        let m = &mut self.m;
        self.queue.begin(now, |id| {
            m.cancel(id);
        });
        let mut spent = 0;
        loop {
            match self.queue.next(spent < budget) {
                Step::Try(id) => {
                    spent += 1;
                    let started = self.try_start(id, now);
                    self.queue.tried(started);
                }
                Step::Pause => return true,
                Step::Done(more) => return more,
            }
        }
    }

    /// Try to start pending job `id` now; reserve for it while the pass
    /// has reservations left. True when it started.
    fn try_start(&mut self, id: JobId, now: i64) -> bool {
        let Some(spec) = self.specs.get(&id) else {
            warn!(
                job_id = id,
                "pending job without a jobspec; dropped from the queue"
            );
            return false;
        };
        let op = if self.queue.may_reserve() {
            MatchOp::AllocateOrElseReserve
        } else {
            MatchOp::Allocate
        };
        self.picked.clear();
        let t0 = Instant::now();
        let res = {
            let mut tee = Tee {
                out: &mut self.rv1,
                also: None,
                picked: &mut self.picked,
            };
            match &**spec {
                Spec::Plain(js) => self.m.run(js, op, id, &mut tee).map(|m| (0, m)),
                Spec::Flexible(alts) => self.m.run_first(alts, op, id, &mut tee),
            }
        };
        self.note_latency(t0);
        match res {
            Ok((shape, m)) if m.at <= now => {
                // A flexible job is the shape that matched from now on.
                if let Some(spec) = self.specs.get_mut(&id) {
                    std::sync::Arc::make_mut(spec).settle(shape);
                }
                self.start_job(id, m.at);
                return true;
            }
            Ok((_, m)) => {
                self.rv1.take();
                self.queue.reserve(id, m.at);
                let moved = match self.jobs.get_mut(&id) {
                    Some(j) => {
                        j.reason = format!("reserved to start at {}", m.at);
                        std::mem::replace(&mut j.reserved_at, m.at) != m.at
                    }
                    None => false,
                };
                if moved {
                    debug!(job_id = id, at = m.at, "reserved");
                    self.push_event(id, EventKind::Reserve, now, m.at, String::new());
                }
            }
            Err(Errno::Busy) | Err(Errno::NoDev) => {
                self.rv1.take();
                self.queue.block(id);
                if let Some(j) = self.jobs.get_mut(&id) {
                    j.reserved_at = 0;
                    if j.reason.is_empty() || j.reason.starts_with("reserved") {
                        j.reason = "waiting for resources".into();
                    }
                }
            }
            Err(Errno::Inval) => {
                self.rv1.take();
                self.end_job(
                    id,
                    JobState::Failed,
                    "the jobspec cannot be matched against this graph",
                    0,
                    now,
                );
            }
        }
        false
    }
}
