//! Replay: a fresh instance reads its journal back. Vertex statuses are
//! set again, pending jobs pend again, jobs waiting for dependencies are
//! judged again (see `depend.rs`), every running job's allocation is
//! booked again on the same vertices (by containment path) at its own
//! start; a job whose vertices are gone, whose jobspec no longer parses or
//! whose local processes were lost fails with the reason, and the
//! process groups such a job left running are killed. A simulated clock
//! resumes where the journal's history ends. Leases come back with what
//! their grants hold; burst nodes are attached again (see `burst_ops.rs`).
use std::collections::HashMap;
use std::sync::Arc;

use matcher::writer::Writer;
use resource_graph::{Status as VertexStatus, VertexIdx};
use tracing::warn;

use super::spec::Spec;
use super::{journal_error, Instance, InstanceError, Job, JobId, JobState};
use crate::journal::{to_i64, AllocRecord};

impl Instance {
    /// Read the journal back into this (fresh) instance.
    pub(super) fn replay(&mut self) -> Result<(), InstanceError> {
        let Some(j) = self.journal.as_mut() else {
            return Ok(());
        };
        let mut rec = j.load().map_err(journal_error)?;
        let handed = std::mem::take(&mut rec.handed);
        let pulled = std::mem::take(&mut rec.pulled);
        let leases = j.load_leases().map_err(journal_error)?;
        let bursts = j.load_burst().map_err(journal_error)?;
        let spent = j.burst_spent().map_err(journal_error)?;
        // Burst nodes first: jobs running there are booked below.
        self.replay_burst(bursts);
        self.replay_burst_spent(spent);
        // Jobs handed to a child run there: none is queued or booked here.
        for &(id, lease) in &handed {
            self.hand.lease_of.insert(id, lease);
        }
        for (path, up) in &rec.statuses {
            match self.m.graph().find_path(path) {
                Some(v) => {
                    let s = if *up {
                        VertexStatus::Up
                    } else {
                        VertexStatus::Down
                    };
                    self.m.set_status(v, s);
                }
                None => {
                    warn!(path = %path, "journal: status of a vertex not in the graph; ignored")
                }
            }
        }
        self.next_id = rec.next_job_id.max(1);
        // What lease grants hold, kept for the lease table.
        let grants: std::collections::HashSet<JobId> = leases
            .iter()
            .flat_map(|l| l.grants.iter().copied())
            .collect();
        let mut held_of: HashMap<JobId, Vec<crate::journal::BookedVertex>> = rec
            .allocations
            .iter()
            .filter(|a| grants.contains(&a.job_id))
            .map(|a| (a.job_id, a.vertices.clone()))
            .collect();
        let mut allocs: HashMap<JobId, AllocRecord> =
            rec.allocations.into_iter().map(|a| (a.job_id, a)).collect();
        let processes: HashMap<JobId, crate::journal::ProcessRecord> =
            rec.processes.into_iter().map(|p| (p.job_id, p)).collect();
        let mut to_book = Vec::new();
        let mut to_fail: Vec<(JobId, String)> = Vec::new();
        let mut depending = Vec::new();
        // Jobs of one text (the journal shares it) share their request.
        let mut parsed: HashMap<Arc<str>, Arc<Spec>> = HashMap::new();
        for r in rec.jobs {
            let state = JobState::parse(&r.state).ok_or_else(|| {
                InstanceError::Journal(format!("job {}: unknown state '{}'", r.id, r.state))
            })?;
            let id = r.id;
            match state {
                _ if self.is_handed(id) && state.is_ended() => {
                    self.hand.lease_of.remove(&id);
                    let _ = self.jr(|j| j.unhand(id));
                }
                _ if self.is_handed(id) => {}
                JobState::Pending | JobState::Depend => {
                    let spec = match parsed.get(&r.jobspec) {
                        Some(spec) => Ok(spec.clone()),
                        None => self
                            .parse_jobspec(&r.jobspec)
                            .and_then(|js| Spec::new(js, self.cfg.flexible))
                            .map(Arc::new),
                    };
                    match spec {
                        Ok(spec) => {
                            parsed.insert(r.jobspec.clone(), spec.clone());
                            self.specs.insert(id, spec);
                            if state == JobState::Pending {
                                self.queue.push(id);
                            } else {
                                depending.push(id);
                            }
                        }
                        Err(e) => to_fail.push((id, format!("its jobspec no longer parses: {e}"))),
                    }
                }
                JobState::Running => match allocs.remove(&id) {
                    None => to_fail.push((id, "the journal holds no allocation for it".into())),
                    Some(_) if !r.by_match && !self.executor.ends_by_duration() => {
                        let killed = processes.get(&id).map_or(0, |p| {
                            crate::executor::kill_leftovers(&p.boot_id, &p.groups)
                        });
                        let why = if killed > 0 {
                            format!(
                                "its processes were lost when the instance restarted \
                                 ({killed} process groups still running were killed)"
                            )
                        } else {
                            "its processes were lost when the instance restarted".to_owned()
                        };
                        to_fail.push((id, why))
                    }
                    Some(a) => to_book.push(a),
                },
                _ => {}
            }
            self.tally(r.owner, state, 1);
            self.jobs.insert(id, Job::from_record(r, state));
        }
        for id in allocs.into_keys() {
            warn!(
                job_id = id,
                "journal: allocation of a job that is not running; dropped"
            );
            let _ = self.jr(|j| j.release(id, true));
        }
        // A simulated clock starts where the journal's history ends, so
        // what was running is running now, not a future reservation.
        if self.clock.kind() == "sim" {
            let last = self
                .jobs
                .values()
                .map(|j| {
                    let seen = j.submit_time.max(j.start_time);
                    if j.state.is_ended() {
                        seen.max(j.end_time)
                    } else {
                        seen
                    }
                })
                .max()
                .unwrap_or(0);
            let now = self.clock.now();
            if last > now {
                let _ = self.clock.advance(last - now);
            }
        }
        let now = self.clock.now();
        if !to_book.is_empty() {
            to_book.sort_by_key(|a| (a.at, a.job_id));
            let dom = self.dom;
            let index: HashMap<String, VertexIdx> = self
                .m
                .graph()
                .vertices()
                .filter_map(|v| self.m.graph().path(v, dom).map(|p| (p, v)))
                .collect();
            for a in to_book {
                let mut targets = Vec::with_capacity(a.vertices.len());
                let mut missing = None;
                for (path, units, x) in &a.vertices {
                    match index.get(path) {
                        Some(&v) => targets.push((v, *units, *x)),
                        None => {
                            missing = Some(path.clone());
                            break;
                        }
                    }
                }
                if let Some(p) = missing {
                    to_fail.push((a.job_id, format!("{p} is no longer in the resource graph")));
                    continue;
                }
                // Allocations are booked at their own start, so the
                // planners see them as allocations, not reservations.
                self.m.set_now(a.at.min(now));
                let booked = self
                    .m
                    .book(a.job_id, &targets, a.at, a.duration, &mut self.rv1);
                let r = self.rv1.take();
                match booked {
                    Ok(_) => {
                        let end = a.at.saturating_add(to_i64(a.duration));
                        self.ends.insert((end, a.job_id));
                        if let Some(job) = self.jobs.get_mut(&a.job_id) {
                            job.r = r;
                            job.end_time = end;
                            if a.at > now {
                                job.reserved_at = a.at;
                            }
                        }
                    }
                    Err(e) => to_fail.push((
                        a.job_id,
                        format!("its resources cannot be booked again: {e}"),
                    )),
                }
            }
        }
        self.m.set_now(now);
        let mut ended: Vec<(i64, JobId)> = self
            .jobs
            .values()
            .filter(|j| j.state.is_ended())
            .map(|j| (j.end_time, j.id))
            .collect();
        ended.sort_unstable();
        self.ended = ended.into_iter().map(|(_, id)| id).collect();
        // Before ended jobs are forgotten: they may be what a job waits on.
        self.depend_again(depending);
        self.forget_old();
        for (id, why) in to_fail {
            warn!(job_id = id, reason = %why, "job failed on recovery");
            self.end_job(id, JobState::Failed, &why, 0, now);
        }
        self.restore_leases(leases, &mut held_of);
        self.restore_handoffs(handed);
        self.restore_pulled(pulled);
        // Recovery emits nothing: nobody watched the old instance's events.
        self.events.clear();
        self.queue.mark_dirty();
        Ok(())
    }
}
