//! Requeue: a running job goes back to the queue under its own id (a
//! child giving back the resources it runs on, `shrink --requeue`).
//!
//! Its allocation is freed and it is journaled as pending again, so a
//! restart finds it queued. Under the local executor its processes are
//! killed and it queues only once their exit is reported: otherwise the
//! exit of the old run could end the new one.
use tracing::info;

use super::spec::Spec;
use super::{Instance, InstanceError, JobId, JobState};

impl Instance {
    /// Put running job `id` back in the queue, with `reason` shown while
    /// it waits.
    pub fn requeue(&mut self, id: JobId, reason: &str) -> Result<(), InstanceError> {
        let job = self
            .jobs
            .get(&id)
            .ok_or_else(|| InstanceError::NotFound(format!("no job {id}")))?;
        if job.state != JobState::Running || job.by_match {
            return Err(InstanceError::Conflict(format!(
                "job {id} is {}, not a running job",
                job.state.as_str()
            )));
        }
        let spec = self
            .parse_jobspec(&job.jobspec)
            .and_then(|js| Spec::new(js, self.cfg.flexible))?;
        let end = job.end_time;
        self.ends.remove(&(end, id));
        self.m.cancel(id);
        let processes = !self.executor.ends_by_duration();
        let _ = self.jr(|j| j.release(id, processes));
        self.back_to_pending(id, reason);
        self.specs.insert(id, std::sync::Arc::new(spec));
        self.queue.mark_dirty();
        if self.executor.ends_by_duration() {
            self.queue_again(id);
        } else {
            self.requeued.insert(id);
            self.executor.kill(id);
        }
        info!(job_id = id, reason, "requeued");
        Ok(())
    }

    /// Job `id` waits again, journaled so, its run forgotten; `reason`
    /// says why.
    pub(super) fn back_to_pending(&mut self, id: JobId, reason: &str) {
        let _ = self.jr(|j| j.set_state(id, "pending", 0, 0, reason, 0));
        self.set_state(id, JobState::Pending);
        if let Some(j) = self.jobs.get_mut(&id) {
            j.start_time = 0;
            j.end_time = 0;
            j.r.clear();
            j.reason = reason.to_owned();
            j.reserved_at = 0;
        }
    }

    /// A requeued job joins the queue (its old run is over).
    pub(super) fn queue_again(&mut self, id: JobId) {
        if self
            .jobs
            .get(&id)
            .is_some_and(|j| j.state == JobState::Pending)
        {
            self.queue.push(id);
            self.queue.mark_dirty();
        }
    }
}
