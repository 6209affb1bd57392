//! Admission: what a job must pass before it is queued, and the jobspec
//! parsed where it costs the instance nothing.
//!
//! Parsing is bounded (the matcher's jobspec reader refuses deep nesting
//! and huge counts) but still the costliest part of a submit a caller
//! controls, so [`ParsedJobspec::parse`] runs on the caller's side (the
//! gRPC service runs it on a blocking-pool thread) and the instance thread
//! gets the result. [`Instance::admit_owner`] and [`Instance::admit_shape`]
//! then apply the site's limits,
//! each refusal naming the limit:
//!
//! - the executor must be able to run the job as its owner (a schedd that
//!   is not root runs only its own user's jobs): `PermissionDenied`;
//! - pending jobs in all and per user: `QueueFull` (RESOURCE_EXHAUSTED);
//! - the duration: at most [`Config::max_duration`](super::Config),
//!   `BadRequest`; none given means the default duration.
use matcher::jobspec::Jobspec;

use super::{Instance, InstanceError, JobState};
use crate::units::human_duration;

/// A jobspec's text and what it parsed to.
#[derive(Debug, Clone)]
pub struct ParsedJobspec {
    /// The text, as submitted (the journal keeps it).
    pub text: String,
    /// The parsed jobspec.
    pub jobspec: Jobspec,
}

impl ParsedJobspec {
    /// Parse `text`; a malformed jobspec is `BadRequest` naming the key.
    pub fn parse(text: String) -> Result<ParsedJobspec, InstanceError> {
        let jobspec = Jobspec::parse(&text).map_err(|e| bad_jobspec(&e))?;
        Ok(ParsedJobspec { text, jobspec })
    }
}

/// The error a jobspec that does not parse gets.
pub(super) fn bad_jobspec(e: &dyn std::fmt::Display) -> InstanceError {
    InstanceError::BadRequest(format!("jobspec: {e}"))
}

impl Instance {
    /// Fill in the default duration of a jobspec read from the journal:
    /// the limits that applied when it was accepted stay satisfied.
    pub(super) fn with_default_duration(&self, mut js: Jobspec) -> Jobspec {
        if js.duration == 0 {
            js.duration = self.cfg.default_duration.max(1);
        }
        js
    }

    /// Whether uid `owner` may queue `n` more jobs: the executor runs
    /// its jobs, and the pending limits leave room for all `n`.
    pub(super) fn admit_owner(&self, owner: u32, n: u64) -> Result<(), InstanceError> {
        self.executor
            .may_run_as(owner)
            .map_err(InstanceError::PermissionDenied)?;
        let more = |n: u64| match n {
            1 => String::new(),
            _ => format!(" ({n} more asked for)"),
        };
        let pending =
            self.counts[JobState::Pending.index()] + self.counts[JobState::Depend.index()];
        if pending.saturating_add(n) > self.cfg.max_pending as u64 {
            return Err(InstanceError::QueueFull(format!(
                "{pending} jobs are pending{}, the most this instance queues is {} (--max-pending)",
                more(n),
                self.cfg.max_pending
            )));
        }
        let mine = self.pending_of.get(&owner).copied().unwrap_or(0);
        if mine.saturating_add(n) > self.cfg.max_pending_per_user as u64 {
            return Err(InstanceError::QueueFull(format!(
                "uid {owner} has {mine} jobs pending{}, the most one user may queue is {} (--max-pending-per-user)",
                more(n),
                self.cfg.max_pending_per_user
            )));
        }
        Ok(())
    }

    /// Check a new job's jobspec against the site's limits: its
    /// duration, filled in when none is given. Changes nothing.
    pub(super) fn admit_shape(&self, js: Jobspec) -> Result<Jobspec, InstanceError> {
        self.check_duration(&js)?;
        Ok(self.with_default_duration(js))
    }

    /// Refuse a jobspec asking to run longer than `--max-duration`.
    pub(super) fn check_duration(&self, js: &Jobspec) -> Result<(), InstanceError> {
        let max = self.cfg.max_duration;
        if js.duration > max {
            return Err(InstanceError::BadRequest(format!(
                "jobspec: attributes.system.duration: {} s is longer than the {} ({max} s) a job may run here (--max-duration)",
                js.duration,
                human_duration(max)
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_jobspec_names_the_problem() {
        let e = ParsedJobspec::parse("version: 1\n".into()).unwrap_err();
        assert!(
            matches!(&e, InstanceError::BadRequest(m) if m.starts_with("jobspec: ")),
            "{e:?}"
        );
    }
}
