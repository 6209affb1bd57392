//! The journal: what an instance must not forget, in SQLite
//! (`STATE_DIR/journal.db`).
//!
//! Every accepted job, every allocation and its release, every job state
//! change and every vertex status change is written here before the
//! instance acknowledges it; a restarted instance loads it back
//! ([`Journal::load`]) and replays it. Writes autocommit unless a batch is
//! open: the actor wraps each batch of commands in [`Journal::begin`] /
//! [`Journal::commit`] and answers only after the commit (group commit),
//! so one fsync covers many commands.
//!
//! The database runs in WAL mode with `synchronous=NORMAL`: a committed
//! transaction survives a crash of the process (kill -9); only a crash of
//! the machine may lose the last commits. Foreign keys are off: rows are
//! written in the order the instance decides, and nothing cascades.
//!
//! Tables: `meta` (the schema version), `jobs` (one row per job,
//! updated in place as its state changes, with what it holds, see
//! [`held`]), `jobspecs` (each jobspec text once, see [`jobspecs`]),
//! `vertex_status` (the last status set on each path) and
//! `leases` (a parent's leases to its children, see [`leases`], and the
//! jobs handed down a hierarchy, see [`handoff`]); `burst_nodes` (nodes a
//! cloud burst added, with their part of the graph, see [`burst`]).
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};

mod burst;
mod forget;
mod handoff;
mod held;
mod jobspecs;
mod leases;
mod load;
pub use burst::BurstRecord;
pub use leases::LeaseRecord;

/// The schema this build writes; a journal with a higher version is
/// refused rather than misread.
pub const SCHEMA_VERSION: i64 = 2;

/// The journal's file name inside the state directory.
pub const FILE_NAME: &str = "journal.db";

/// Why the journal could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A journal file could not be made owner-only.
    #[error("{}: cannot make it owner-only: {source}", path.display())]
    Mode {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The state directory could not be created.
    #[error("{path}: cannot create the state directory: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// The journal was written by a newer schedd.
    #[error("{path}: journal schema version {found} is newer than this schedd supports ({supported}); run a newer schedd or use another state directory")]
    Newer {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    /// A row does not make sense.
    #[error("{path}: {what}")]
    Corrupt { path: PathBuf, what: String },
}

/// A job as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// The job id.
    pub id: u64,
    /// The name its submitter gave.
    pub name: String,
    /// The submitter's uid.
    pub owner: u32,
    /// When it was accepted.
    pub submit_time: i64,
    /// The jobspec text as submitted (shared by the jobs of one text).
    pub jobspec: Arc<str>,
    /// Seconds it may hold resources.
    pub duration: u64,
    /// Booked directly by a match op, not queued.
    pub by_match: bool,
    /// "depend", "pending", "running", "finished", "canceled" or "failed".
    pub state: String,
    /// When it started (0 until then).
    pub start_time: i64,
    /// When its allocation ends or it ended.
    pub end_time: i64,
    /// Why it waits or failed.
    pub reason: String,
    /// Exit status of its tasks.
    pub exit_code: i32,
}

/// One vertex an allocation holds: containment path, units, exclusive.
pub type BookedVertex = (String, u32, bool);

/// An allocation not yet released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocRecord {
    /// The job holding it.
    pub job_id: u64,
    /// Start of the allocation.
    pub at: i64,
    /// Its length in seconds.
    pub duration: u64,
    /// What it holds, in the order the match emitted it.
    pub vertices: Vec<BookedVertex>,
}

/// Everything a restarted instance needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Every job, by id.
    pub jobs: Vec<JobRecord>,
    /// Allocations held at the time of the crash, by job id.
    pub allocations: Vec<AllocRecord>,
    /// At a parent: (job, lease) of the jobs handed to a child, by job id.
    pub handed: Vec<(u64, u64)>,
    /// At a child: (local job, parent job) of the jobs pulled, by job id.
    pub pulled: Vec<(u64, u64)>,
    /// The last status set on each path (true = up), by path.
    pub statuses: Vec<(String, bool)>,
    /// The next job id to hand out: one past the highest job id.
    pub next_job_id: u64,
    /// Process groups of the jobs running here when the journal was last
    /// written.
    pub processes: Vec<ProcessRecord>,
}

/// The process groups a running job's tasks were started in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRecord {
    pub job_id: u64,
    /// The kernel's boot id then: after a reboot the ids mean nothing.
    pub boot_id: String,
    /// (process group id, its leader's start time in clock ticks since boot)
    pub groups: Vec<(i32, u64)>,
}

/// An open journal.
pub struct Journal {
    conn: Connection,
    path: PathBuf,
    in_batch: bool,
    /// The `next_job_id` floor last written (forgetting many jobs in a
    /// row writes it once); `None` after a failed commit.
    next_written: Option<u64>,
    /// The jobspec texts written and the jobs naming each.
    specs: jobspecs::Specs,
    /// Jobs the open batch forgot: their rows go at its commit.
    forgotten: Vec<u64>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .field("in_batch", &self.in_batch)
            .finish()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    owner INTEGER NOT NULL,
    submit_time INTEGER NOT NULL,
    jobspec TEXT NOT NULL,
    duration INTEGER NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    start_time INTEGER NOT NULL DEFAULT 0,
    end_time INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    exit_code INTEGER NOT NULL DEFAULT 0,
    spec INTEGER NOT NULL DEFAULT 0,
    held TEXT,
    held_at INTEGER NOT NULL DEFAULT 0,
    held_for INTEGER NOT NULL DEFAULT 0,
    lease INTEGER NOT NULL DEFAULT 0,
    origin INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS jobspecs (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vertex_status (
    path TEXT PRIMARY KEY,
    up INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS processes (
    job_id INTEGER PRIMARY KEY,
    boot_id TEXT NOT NULL,
    groups TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    id INTEGER PRIMARY KEY,
    child TEXT NOT NULL,
    owner INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    grants TEXT NOT NULL,
    requests TEXT NOT NULL,
    expires INTEGER NOT NULL,
    cert BLOB NOT NULL DEFAULT x'',
    home INTEGER NOT NULL DEFAULT 0,
    uri TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS burst_nodes (
    path TEXT PRIMARY KEY,
    pool TEXT NOT NULL,
    state TEXT NOT NULL,
    added INTEGER NOT NULL,
    up_at INTEGER NOT NULL,
    part TEXT NOT NULL
);
";

/// `n`, or `i64::MAX` past it (SQLite's integers are signed).
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Journal {
    /// Open (or create) `dir/journal.db`, creating `dir` if needed.
    pub fn open(dir: &Path) -> Result<Journal, JournalError> {
        std::fs::create_dir_all(dir).map_err(|source| JournalError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let conn = Connection::open(&path).map_err(|source| JournalError::Sqlite {
            path: path.clone(),
            source,
        })?;
        let j = Journal {
            conn,
            path,
            in_batch: false,
            next_written: None,
            specs: jobspecs::Specs::default(),
            forgotten: Vec::new(),
        };
        j.init()?;
        // Jobs' commands are no one else's business, whatever the umask
        // was when these files were made (SQLite gives its -wal and -shm
        // the database's mode).
        for suffix in ["", "-wal", "-shm"] {
            let f = PathBuf::from(format!("{}{suffix}", j.path.display()));
            if f.exists() {
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600))
                    .map_err(|source| JournalError::Mode { path: f, source })?;
            }
        }
        Ok(j)
    }

    fn err(&self, source: rusqlite::Error) -> JournalError {
        JournalError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn init(&self) -> Result<(), JournalError> {
        let c = &self.conn;
        let mode: String = c
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %self.path.display(), mode, "journal is not in WAL mode");
        }
        c.pragma_update(None, "synchronous", "NORMAL")
            .and_then(|_| c.pragma_update(None, "foreign_keys", "OFF"))
            .and_then(|_| {
                c.execute_batch(
                    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
                )
            })
            .map_err(|e| self.err(e))?;
        let found = self.meta("schema_version")?;
        if let Some(v) = found.filter(|&v| v > SCHEMA_VERSION) {
            return Err(JournalError::Newer {
                path: self.path.clone(),
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        c.execute_batch(SCHEMA).map_err(|e| self.err(e))?;
        // Columns added since a journal was made: added with their
        // defaults, which say what the rows meant then (a job's `spec` 0:
        // its text is in its own row).
        for (table, column, decl) in [
            ("leases", "home", "INTEGER NOT NULL DEFAULT 0"),
            ("leases", "uri", "TEXT NOT NULL DEFAULT ''"),
            ("jobs", "spec", "INTEGER NOT NULL DEFAULT 0"),
            ("jobs", "held", "TEXT"),
            ("jobs", "held_at", "INTEGER NOT NULL DEFAULT 0"),
            ("jobs", "held_for", "INTEGER NOT NULL DEFAULT 0"),
            ("jobs", "lease", "INTEGER NOT NULL DEFAULT 0"),
            ("jobs", "origin", "INTEGER NOT NULL DEFAULT 0"),
        ] {
            let has: bool = c
                .query_row(
                    "SELECT COUNT(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
                    [table, column],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            if !has {
                c.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))
                    .map_err(|e| self.err(e))?;
            }
        }
        // Older schedds would misread what this one writes from now on.
        if found != Some(SCHEMA_VERSION) {
            // Version 1's tables, if any, into the jobs' rows.
            self.move_allocations()?;
            self.move_handoffs()?;
            self.set_meta("schema_version", SCHEMA_VERSION)?;
        }
        Ok(())
    }

    /// Move the rows of version 1's `table` (keyed by `job_id`) into
    /// columns of their jobs' rows, `(jobs column, table column)`, and
    /// drop the table; nothing when it is not there.
    fn fold_table(&self, table: &str, columns: &[(&str, &str)]) -> Result<(), JournalError> {
        let there: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [table],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        if !there {
            return Ok(());
        }
        let sets: Vec<String> = columns
            .iter()
            .map(|(to, from)| format!("{to} = (SELECT {from} FROM {table} WHERE job_id = jobs.id)"))
            .collect();
        let sql = format!(
            "BEGIN;
             UPDATE jobs SET {} WHERE id IN (SELECT job_id FROM {table});
             DROP TABLE {table};
             COMMIT;",
            sets.join(", ")
        );
        self.conn.execute_batch(&sql).map_err(|e| {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.err(e)
        })
    }

    fn meta(&self, key: &str) -> Result<Option<i64>, JournalError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Run one write statement (prepared once per connection).
    fn exec(&self, sql: &str, p: impl rusqlite::Params) -> Result<(), JournalError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(p))
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn set_meta(&self, key: &str, value: i64) -> Result<(), JournalError> {
        self.exec(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )
    }

    /// Open a batch: later writes commit together at [`Journal::commit`].
    /// No-op when one is open.
    pub fn begin(&mut self) -> Result<(), JournalError> {
        if self.in_batch {
            return Ok(());
        }
        self.conn.execute_batch("BEGIN").map_err(|e| self.err(e))?;
        self.in_batch = true;
        Ok(())
    }

    /// Commit the open batch; no-op without one.
    pub fn commit(&mut self) -> Result<(), JournalError> {
        if !self.in_batch {
            return Ok(());
        }
        // Whatever happens, the batch is over: a failed COMMIT leaves
        // SQLite in autocommit again after the rollback below.
        self.in_batch = false;
        let done = self
            .flush_forgotten()
            .and_then(|_| self.conn.execute_batch("COMMIT").map_err(|e| self.err(e)));
        if let Err(e) = done {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.next_written = None;
            self.specs.clear();
            return Err(e);
        }
        Ok(())
    }

    /// Whether a batch is open.
    pub fn in_batch(&self) -> bool {
        self.in_batch
    }

    /// Record an accepted job.
    pub fn submit(&mut self, j: &JobRecord) -> Result<(), JournalError> {
        self.submit_pulled(j, 0)
    }

    /// Record an accepted job that is the parent's job `origin` (0: a job
    /// submitted here).
    pub fn submit_pulled(&mut self, j: &JobRecord, origin: u64) -> Result<(), JournalError> {
        let spec = self.spec_take(&j.jobspec)?;
        let r = self.exec(
            "INSERT INTO jobs (id, name, owner, submit_time, jobspec, duration, kind, state,
                 start_time, end_time, reason, exit_code, spec, origin)
                 VALUES (?1, ?2, ?3, ?4, '', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                to_i64(j.id),
                j.name,
                j.owner,
                j.submit_time,
                to_i64(j.duration),
                if j.by_match { "match" } else { "queue" },
                j.state,
                j.start_time,
                j.end_time,
                j.reason,
                j.exit_code,
                spec,
                to_i64(origin)
            ],
        );
        if r.is_err() {
            let _ = self.spec_drop(&j.jobspec);
        }
        r
    }

    /// Record a job's new state with its times, reason and exit code.
    pub fn set_state(
        &mut self,
        id: u64,
        state: &str,
        start_time: i64,
        end_time: i64,
        reason: &str,
        exit_code: i32,
    ) -> Result<(), JournalError> {
        self.exec(
            "UPDATE jobs SET state = ?2, start_time = ?3, end_time = ?4, reason = ?5,
                 exit_code = ?6 WHERE id = ?1",
            params![to_i64(id), state, start_time, end_time, reason, exit_code],
        )
    }

    /// Record the process groups job `job_id` runs in.
    pub fn processes(
        &mut self,
        job_id: u64,
        boot_id: &str,
        groups: &[(i32, u64)],
    ) -> Result<(), JournalError> {
        let text = serde_json::to_string(groups).map_err(|e| JournalError::Corrupt {
            path: self.path.clone(),
            what: format!("job {job_id}: cannot encode its processes: {e}"),
        })?;
        self.exec(
            "INSERT OR REPLACE INTO processes (job_id, boot_id, groups) VALUES (?1, ?2, ?3)",
            params![to_i64(job_id), boot_id, text],
        )
    }

    /// Record the status set on the vertex at `path`.
    pub fn vertex_status(&mut self, path: &str, up: bool) -> Result<(), JournalError> {
        self.exec(
            "INSERT OR REPLACE INTO vertex_status (path, up) VALUES (?1, ?2)",
            params![path, up],
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh directory under the system's temporary directory, removed
    /// when dropped.
    pub(crate) struct TempDir(pub PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> TempDir {
            use std::sync::atomic::{AtomicU64, Ordering};
            static N: AtomicU64 = AtomicU64::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let p = std::env::temp_dir().join(format!(
                "schedd-{tag}-{}-{}-{nanos}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            TempDir(p)
        }
    }

    /// A pending one-minute job submitted with `text`.
    pub(crate) fn pending(id: u64, text: &Arc<str>) -> JobRecord {
        JobRecord {
            id,
            name: String::new(),
            owner: 1000,
            submit_time: 10,
            jobspec: text.clone(),
            duration: 60,
            by_match: false,
            state: "pending".into(),
            start_time: 0,
            end_time: 0,
            reason: String::new(),
            exit_code: 0,
        }
    }

    /// A journal in `dir` as schema version 1 wrote it: its meta and jobs
    /// tables, then `sql` (the other tables of the test and their rows).
    pub(crate) fn v1_journal(dir: &Path, sql: &str) {
        std::fs::create_dir_all(dir).unwrap();
        let c = Connection::open(dir.join(FILE_NAME)).unwrap();
        c.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
             INSERT INTO meta VALUES ('schema_version', 1);
             CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 owner INTEGER NOT NULL, submit_time INTEGER NOT NULL,
                 jobspec TEXT NOT NULL, duration INTEGER NOT NULL, kind TEXT NOT NULL,
                 state TEXT NOT NULL, start_time INTEGER NOT NULL DEFAULT 0,
                 end_time INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '',
                 exit_code INTEGER NOT NULL DEFAULT 0);",
        )
        .unwrap();
        c.execute_batch(sql).unwrap();
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn job(id: u64) -> JobRecord {
        JobRecord {
            id,
            name: format!("j{id}"),
            owner: 1000,
            submit_time: 10,
            jobspec: "version: 1".into(),
            duration: 60,
            by_match: id == 3,
            state: "pending".into(),
            start_time: 0,
            end_time: 0,
            reason: String::new(),
            exit_code: 0,
        }
    }

    #[test]
    fn what_is_written_is_read_back_after_reopening() {
        let dir = TempDir::new("journal");
        {
            let mut j = Journal::open(&dir.0).unwrap();
            j.begin().unwrap();
            for id in 1..=3 {
                j.submit(&job(id)).unwrap();
            }
            j.set_state(2, "running", 11, 71, "", 0).unwrap();
            let held = vec![
                ("/c0/n0".to_string(), 1, false),
                ("/c0/n0/core1".into(), 1, true),
            ];
            j.allocate(2, 11, 60, &held).unwrap();
            j.allocate(1, 11, 60, &held).unwrap();
            j.release(1, true).unwrap();
            j.vertex_status("/c0/n1", false).unwrap();
            j.vertex_status("/c0/n1", true).unwrap();
            j.vertex_status("/c0/n2", false).unwrap();
            j.commit().unwrap();
        }
        let r = Journal::open(&dir.0).unwrap().load().unwrap();
        assert_eq!(r.jobs.len(), 3);
        assert_eq!(r.jobs[0], job(1));
        assert_eq!(
            (
                r.jobs[1].state.as_str(),
                r.jobs[1].start_time,
                r.jobs[1].end_time
            ),
            ("running", 11, 71)
        );
        assert!(r.jobs[2].by_match);
        assert_eq!(r.allocations.len(), 1);
        assert_eq!(r.allocations[0].job_id, 2);
        assert_eq!(
            r.allocations[0].vertices[1],
            ("/c0/n0/core1".into(), 1, true)
        );
        assert_eq!(
            r.statuses,
            vec![("/c0/n1".into(), true), ("/c0/n2".into(), false)]
        );
        assert_eq!(r.next_job_id, 4);
    }

    #[test]
    fn an_uncommitted_batch_is_lost_and_the_next_id_follows_the_jobs() {
        let dir = TempDir::new("journal-batch");
        {
            let mut j = Journal::open(&dir.0).unwrap();
            j.submit(&job(1)).unwrap();
            j.begin().unwrap();
            assert!(j.in_batch());
            j.submit(&job(2)).unwrap();
            // Dropped without commit: job 2 never happened.
        }
        let r = Journal::open(&dir.0).unwrap().load().unwrap();
        assert_eq!(r.jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![1]);
        assert_eq!(r.next_job_id, 2);
    }

    #[test]
    fn a_newer_schema_is_refused_with_both_versions() {
        let dir = TempDir::new("journal-newer");
        {
            let j = Journal::open(&dir.0).unwrap();
            j.set_meta("schema_version", SCHEMA_VERSION + 1).unwrap();
        }
        let e = Journal::open(&dir.0).unwrap_err().to_string();
        assert!(
            e.contains("newer") && e.contains(&(SCHEMA_VERSION + 1).to_string()),
            "{e}"
        );
    }

    #[test]
    fn a_duplicate_job_id_is_an_error_not_a_silent_overwrite() {
        let dir = TempDir::new("journal-dup");
        let mut j = Journal::open(&dir.0).unwrap();
        j.submit(&job(1)).unwrap();
        assert!(j.submit(&job(1)).is_err());
    }
}
