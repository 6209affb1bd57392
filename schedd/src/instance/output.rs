//! Where a job's output is, for the Output call: the files its jobspec
//! names (`attributes.system.shell.options.output`, their templates
//! expanded) or the instance's own `<job>.out` and `<job>.err` in the
//! output directory, with what the reader needs to know to stream them
//! (the job's state, whether to open them as the job's owner). The
//! streaming itself is the service's (see `crate::output_stream`).
use std::path::PathBuf;

use matcher::jobspec::Jobspec;
use matcher::output::expand;

use super::{Instance, InstanceError, JobId, JobState};

/// Where job `job`'s output is and how it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFiles {
    /// The job.
    pub job: JobId,
    /// Its owner's uid.
    pub owner: u32,
    /// Its state now.
    pub state: JobState,
    /// Standard output's file.
    pub stdout: OutputFile,
    /// Standard error's file; `None`: it goes to stdout's.
    pub stderr: Option<OutputFile>,
}

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// Where it is.
    pub path: PathBuf,
    /// The job named it: it is read with the owner's permissions (the
    /// instance's own files are read as the daemon).
    pub named: bool,
}

impl Instance {
    /// Where job `id`'s output is, for `caller`: its owner, the instance
    /// owner or root. A job no process runs for (the sim executor, a
    /// match booking) has none: `Unsupported`.
    pub fn output_files(&self, id: JobId, caller: u32) -> Result<OutputFiles, InstanceError> {
        let job = self
            .jobs
            .get(&id)
            .ok_or_else(|| InstanceError::NotFound(format!("no job {id}")))?;
        self.authz.may_read_output(caller, id, job.owner)?;
        if job.by_match() {
            return Err(InstanceError::Unsupported(format!(
                "job {id} was booked by a match op: no process ran, so it has no output"
            )));
        }
        if self.executor.name() == "sim" {
            return Err(InstanceError::Unsupported(format!(
                "this instance runs no processes (the sim executor): job {id} has no output"
            )));
        }
        // The jobspec was checked at submit; one that no longer reads
        // (a newer daemon's rules) falls back on the instance's files.
        let named = Jobspec::parse(&job.jobspec)
            .map(|js| js.output)
            .unwrap_or_default();
        let own = |ext: &str| OutputFile {
            path: self.cfg.output_dir.join(format!("{id}.{ext}")),
            named: false,
        };
        let theirs = |t: &String| OutputFile {
            path: PathBuf::from(expand(t, id)),
            named: true,
        };
        let (stdout, stderr) = match (&named.stdout, &named.stderr) {
            (None, None) => (own("out"), Some(own("err"))),
            (Some(o), None) => (theirs(o), None),
            (None, Some(e)) => (own("out"), Some(theirs(e))),
            (Some(o), Some(e)) => (theirs(o), Some(theirs(e))),
        };
        let stderr = stderr.filter(|e| e.path != stdout.path);
        Ok(OutputFiles {
            job: id,
            owner: job.owner,
            state: job.state,
            stdout,
            stderr,
        })
    }
}
