//! Instance jobs: a job whose task is a child instance
//! (`attributes.system.instance`, `schedctl submit --instance`).
//!
//! When one starts, its own allocation becomes a lease of this instance
//! (the lease's first grant, its *home*), journaled with the start. Its
//! task learns the parent and the lease from its environment
//! (`QUIVER_PARENT_URI`, `QUIVER_LEASE_ID`, `QUIVER_INSTANCE_DIR`); a
//! task whose program is `schedd` is this binary, given them as
//! arguments too (`--parent`, `--lease-id`, and a socket and state
//! directory in the instance directory). The child grows and shrinks that
//! lease like any other, except that some of the home grant stays while
//! the job runs (the child runs there); the job's end, whatever ends it,
//! closes the lease.
use std::path::{Path, PathBuf};

use tracing::{info, warn};

use super::{Instance, JobId};
use crate::elastic::lease::{Grant, Lease};
use crate::executor::Launch;

/// The directory of instance job `id`'s child: its socket and state.
pub fn instance_dir(output_dir: &Path, id: JobId) -> PathBuf {
    output_dir.join(format!("{id}.instance"))
}

impl Instance {
    /// Instance job `id` was just allocated (its vertices in `picked`),
    /// to run until `end`: open its lease and return the lease id.
    pub(super) fn open_home_lease(&mut self, id: JobId, end: i64) -> u64 {
        let (held, vs) = self.picked_held();
        let lease_id = self.leases.next_id();
        let owner = self.jobs.get(&id).map_or(self.owner(), |j| j.owner);
        let sock = instance_dir(&self.cfg.output_dir, id).join("schedd.sock");
        let lease = Lease {
            id: lease_id,
            child: format!("job {id} (unix:{})", sock.display()),
            owner,
            epoch: 1,
            grants: vec![Grant { job: id, held, vs }],
            requests: Vec::new(),
            expires: end,
            last_seen: self.clock.now(),
            cert: None,
            home: id,
            uri: format!("unix:{}", sock.display()),
            ..Default::default()
        };
        let rec = lease.record();
        let _ = self.jr(|j| j.put_lease(&rec));
        self.leases.insert(lease);
        info!(
            job_id = id,
            lease = lease_id,
            "instance job: its allocation is a lease"
        );
        lease_id
    }

    /// What instance job `id`'s task needs to be a child of lease
    /// `lease`: its environment, one copy of its first task, and for
    /// `schedd` this binary with the lease's arguments.
    pub(super) fn instance_launch(&self, launch: &mut Launch, lease: u64) {
        let id = launch.job_id;
        let dir = instance_dir(&self.cfg.output_dir, id);
        if let Err(e) = make_dir(&dir, launch.owner) {
            warn!(job_id = id, dir = %dir.display(), error = %e, "instance directory");
        }
        let uri = self.cfg.self_uri.clone();
        launch.env.extend([
            ("QUIVER_PARENT_URI".to_owned(), uri.clone()),
            ("QUIVER_LEASE_ID".to_owned(), lease.to_string()),
            ("QUIVER_INSTANCE_DIR".to_owned(), dir.display().to_string()),
        ]);
        launch.tasks.truncate(1);
        if let Some(t) = launch.tasks.first_mut() {
            t.count = 1;
            if t.command.first().map(String::as_str) == Some("schedd") {
                let exe = std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| "schedd".into());
                let mut cmd = vec![
                    exe,
                    "--parent".into(),
                    uri,
                    "--lease-id".into(),
                    lease.to_string(),
                    "--socket".into(),
                    dir.join("schedd.sock").display().to_string(),
                    "--state-dir".into(),
                    dir.join("state").display().to_string(),
                ];
                cmd.extend(t.command.drain(1..));
                t.command = cmd;
            }
        }
    }
}

/// The instance directory, owner-only and the job owner's.
fn make_dir(dir: &Path, owner: u32) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    if crate::auth::effective_uid() == 0 && owner != 0 {
        std::os::unix::fs::chown(dir, Some(owner), None)?;
    }
    Ok(())
}
