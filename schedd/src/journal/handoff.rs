//! Jobs that travel down a hierarchy of instances (quiver.hier.v1), in
//! the jobs' own rows.
//!
//! At a parent, `jobs.lease` names the lease a job was handed to (0: none);
//! it is written in the batch that answers the child's NeedJob, so a job
//! a child was told about is never queued here again by a restart, and is
//! cleared when the job ends (with its state, one write) or comes back to
//! this queue. At a child, `jobs.origin` names the parent job a local job
//! is (0: submitted here), written in the job's own row: a restarted child
//! reports on the right parent jobs, and the link goes with the row. One
//! local job per parent job is the instance's to keep (it takes a job
//! handed twice, after an unanswered call, once).
//!
//! Journals from schema version 1 kept these in tables `handed` and
//! `pulled`: opening one moves their rows into the jobs' rows.
use rusqlite::params;

use super::{to_i64, Journal, JournalError};

impl Journal {
    /// Job `job_id` was handed to lease `lease_id`.
    pub fn hand(&mut self, job_id: u64, lease_id: u64) -> Result<(), JournalError> {
        self.exec(
            "UPDATE jobs SET lease = ?2 WHERE id = ?1",
            params![to_i64(job_id), to_i64(lease_id)],
        )
    }

    /// Job `job_id` is no longer at a child: it came back (an ended job
    /// is cleared by [`Journal::finish`]).
    pub fn unhand(&mut self, job_id: u64) -> Result<(), JournalError> {
        self.exec("UPDATE jobs SET lease = 0 WHERE id = ?1", [to_i64(job_id)])
    }

    /// Move a version 1 journal's `handed` and `pulled` rows into their
    /// jobs' rows (a row of no job names nothing: replay dropped those).
    pub(super) fn move_handoffs(&self) -> Result<(), JournalError> {
        self.fold_table("handed", &[("lease", "lease_id")])?;
        self.fold_table("pulled", &[("origin", "origin")])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::tests::{pending, v1_journal, TempDir};

    fn job(id: u64) -> crate::journal::JobRecord {
        pending(id, &"version: 1".into())
    }

    #[test]
    fn hand_offs_survive_reopening_and_go_when_undone() {
        let dir = TempDir::new("journal-handoff");
        {
            let mut j = Journal::open(&dir.0).unwrap();
            for id in [5, 6, 7] {
                j.submit(&job(id)).unwrap();
            }
            j.hand(5, 1).unwrap();
            j.hand(6, 2).unwrap();
            j.hand(7, 2).unwrap();
            j.hand(5, 3).unwrap();
            j.unhand(6).unwrap();
            // An end clears the hand-off with the state.
            j.finish(7, "finished", 1, 2, "", 0, false).unwrap();
            j.submit_pulled(&job(1), 40).unwrap();
            j.submit_pulled(&job(2), 41).unwrap();
            j.forget(1, None, 8).unwrap();
        }
        let mut j = Journal::open(&dir.0).unwrap();
        let r = j.load().unwrap();
        assert_eq!(r.handed, vec![(5, 3)]);
        assert_eq!(r.pulled, vec![(2, 41)]);
    }

    #[test]
    fn a_version_1_journal_moves_its_hand_offs_into_the_jobs() {
        let dir = TempDir::new("journal-handoff-v1");
        v1_journal(
            &dir.0,
            "CREATE TABLE handed (job_id INTEGER PRIMARY KEY, lease_id INTEGER NOT NULL);
             CREATE TABLE pulled (job_id INTEGER PRIMARY KEY,
                 origin INTEGER NOT NULL UNIQUE);
             INSERT INTO jobs (id, name, owner, submit_time, jobspec, duration, kind, state)
                 VALUES (1, '', 1000, 5, 'version: 1', 60, 'queue', 'pending'),
                        (2, '', 1000, 5, 'version: 1', 60, 'queue', 'pending');
             INSERT INTO handed VALUES (1, 7), (3, 8);
             INSERT INTO pulled VALUES (2, 40);",
        );
        let mut j = Journal::open(&dir.0).unwrap();
        let r = j.load().unwrap();
        assert_eq!(r.handed, vec![(1, 7)]);
        assert_eq!(r.pulled, vec![(2, 40)]);
        let tables: i64 = j
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('handed', 'pulled')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0, "the old tables go");
    }
}
