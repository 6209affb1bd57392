//! Bulk submission: many jobs in one command, queued in order, all of
//! them or none.
//!
//! Every job is checked first (owner, the pending limits for the whole
//! batch, each jobspec's duration and satisfiability), so a refusal names
//! the first job refused, by its index, and queues nothing. A jobspec the
//! same as the one before it (the copies of `schedctl submit --cc`) is
//! checked once. The jobs then go into the journal in the batch's one
//! transaction (the actor commits a command's writes together) and get
//! consecutive ids.
use std::sync::Arc;

use super::spec::Spec;
use super::{Instance, InstanceError, JobId, ParsedJobspec};

/// Jobs one Submit call may carry: the instance serves nothing else
/// while it queues them.
pub const MAX_SUBMIT_JOBS: usize = 100_000;

/// One job of a batch: its name (empty: none) and jobspec.
#[derive(Debug, Clone)]
pub struct Submission {
    pub name: String,
    pub jobspec: ParsedJobspec,
}

impl Instance {
    /// Queue `jobs` for uid `owner`, in order: their ids, consecutive.
    /// Nothing is queued when any job is refused; the error names it as
    /// `jobs[i]`.
    pub fn submit_many(
        &mut self,
        owner: u32,
        jobs: Vec<Submission>,
    ) -> Result<Vec<JobId>, InstanceError> {
        if jobs.is_empty() {
            return Err(InstanceError::BadRequest("jobs: none given".into()));
        }
        if jobs.len() > MAX_SUBMIT_JOBS {
            return Err(InstanceError::BadRequest(format!(
                "jobs: {} jobs; at most {MAX_SUBMIT_JOBS} per call",
                jobs.len()
            )));
        }
        self.admit_owner(owner, jobs.len() as u64)?;
        // Copies share their text and parsed request: a million pending
        // copies of one job hold it once.
        let mut specs: Vec<(Arc<str>, Arc<Spec>)> = Vec::with_capacity(jobs.len());
        for (i, job) in jobs.iter().enumerate() {
            let shared = match specs.last() {
                Some((text, spec)) if **text == *job.jobspec.text => (text.clone(), spec.clone()),
                _ => {
                    let spec = self
                        .admit_spec(job.jobspec.jobspec.clone())
                        .map_err(|e| at(i, e))?;
                    (Arc::from(job.jobspec.text.as_str()), Arc::new(spec))
                }
            };
            self.check_dependencies(owner, &job.name, &job.jobspec.jobspec.dependencies)
                .map_err(|e| at(i, e))?;
            specs.push(shared);
        }
        let mut ids = Vec::with_capacity(jobs.len());
        for (job, (text, spec)) in jobs.into_iter().zip(specs) {
            ids.push(self.enqueue(owner, &job.name, text, spec, None)?);
        }
        Ok(ids)
    }
}

/// `e`, said of job `i` of the batch.
fn at(i: usize, e: InstanceError) -> InstanceError {
    use InstanceError::*;
    let say = |m: String| format!("jobs[{i}]: {m}");
    match e {
        BadRequest(m) => BadRequest(say(m)),
        Unsatisfiable(m) => Unsatisfiable(say(m)),
        NotFound(m) => NotFound(say(m)),
        PermissionDenied(m) => PermissionDenied(say(m)),
        Ended(m) => Ended(say(m)),
        QueueFull(m) => QueueFull(say(m)),
        Unsupported(m) => Unsupported(say(m)),
        Conflict(m) => Conflict(say(m)),
        Journal(m) => Journal(say(m)),
    }
}
