//! What a job holds, kept in the job's own row (`jobs.held`, with
//! `held_at` and `held_for`): the vertices as containment paths with
//! units and exclusivity, JSON-encoded; NULL when it holds nothing.
//!
//! A job that starts is one write (its state, times and holdings
//! together), and a job that ends and releases is one more; a table of
//! their own cost an insert and a delete besides. Journals from schema
//! version 1 kept them in `allocations`: opening one moves its rows into
//! the jobs they belong to (a row of no job was dropped by replay then,
//! and is dropped now).
use rusqlite::params;

use super::{to_i64, AllocRecord, BookedVertex, Journal, JournalError};

impl Journal {
    fn encode_held(&self, job_id: u64, vertices: &[BookedVertex]) -> Result<String, JournalError> {
        serde_json::to_string(vertices).map_err(|e| JournalError::Corrupt {
            path: self.path.clone(),
            what: format!("job {job_id}: cannot encode its vertices: {e}"),
        })
    }

    /// Record what job `job_id` holds over `[at, at + duration)`.
    pub fn allocate(
        &mut self,
        job_id: u64,
        at: i64,
        duration: u64,
        vertices: &[BookedVertex],
    ) -> Result<(), JournalError> {
        let text = self.encode_held(job_id, vertices)?;
        self.exec(
            "UPDATE jobs SET held = ?2, held_at = ?3, held_for = ?4 WHERE id = ?1",
            params![to_i64(job_id), text, at, to_i64(duration)],
        )
    }

    /// Record that job `job_id` runs from `at` until `end`, holding
    /// `vertices` for `duration` from `at`: one write.
    pub fn start(
        &mut self,
        job_id: u64,
        at: i64,
        duration: u64,
        end: i64,
        vertices: &[BookedVertex],
    ) -> Result<(), JournalError> {
        let text = self.encode_held(job_id, vertices)?;
        self.exec(
            "UPDATE jobs SET state = 'running', start_time = ?2, end_time = ?3, reason = '',
                 exit_code = 0, held = ?4, held_at = ?2, held_for = ?5 WHERE id = ?1",
            params![to_i64(job_id), at, end, text, to_i64(duration)],
        )
    }

    /// Record that job `job_id` released what it held, and with
    /// `processes` that its processes are gone with it (a job no process
    /// ran for, under the sim executor or booked by a match op, has no
    /// row there to delete).
    pub fn release(&mut self, job_id: u64, processes: bool) -> Result<(), JournalError> {
        self.exec(
            "UPDATE jobs SET held = NULL WHERE id = ?1",
            [to_i64(job_id)],
        )?;
        self.processes_gone(job_id, processes)
    }

    /// Record that job `job_id` ended in `state`: it holds nothing here
    /// and is at no child any more ([`Journal::set_state`],
    /// [`Journal::release`] and [`Journal::unhand`] in one write); with
    /// `processes`, its processes are gone too.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        &mut self,
        job_id: u64,
        state: &str,
        start_time: i64,
        end_time: i64,
        reason: &str,
        exit_code: i32,
        processes: bool,
    ) -> Result<(), JournalError> {
        self.exec(
            "UPDATE jobs SET state = ?2, start_time = ?3, end_time = ?4, reason = ?5,
                 exit_code = ?6, held = NULL, lease = 0 WHERE id = ?1",
            params![
                to_i64(job_id),
                state,
                start_time,
                end_time,
                reason,
                exit_code
            ],
        )?;
        self.processes_gone(job_id, processes)
    }

    fn processes_gone(&mut self, job_id: u64, processes: bool) -> Result<(), JournalError> {
        if processes {
            self.exec("DELETE FROM processes WHERE job_id = ?1", [to_i64(job_id)])?;
        }
        Ok(())
    }

    /// Move a version 1 journal's `allocations` into their jobs' rows.
    pub(super) fn move_allocations(&self) -> Result<(), JournalError> {
        self.fold_table(
            "allocations",
            &[
                ("held", "vertices"),
                ("held_at", "at"),
                ("held_for", "duration"),
            ],
        )
    }

    /// What job `job_id` holds, from its row's `held` text.
    pub(super) fn decode_held(
        &self,
        job_id: u64,
        at: i64,
        duration: i64,
        text: &str,
    ) -> Result<AllocRecord, JournalError> {
        let bad = |what: String| JournalError::Corrupt {
            path: self.path.clone(),
            what: format!("allocation of job {job_id}: {what}"),
        };
        let vertices: Vec<BookedVertex> =
            serde_json::from_str(text).map_err(|e| bad(format!("vertices: {e}")))?;
        Ok(AllocRecord {
            job_id,
            at,
            duration: u64::try_from(duration).map_err(|_| bad("negative duration".into()))?,
            vertices,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::tests::{pending, v1_journal, TempDir};

    fn job(id: u64) -> crate::journal::JobRecord {
        pending(id, &"version: 1".into())
    }

    fn held(path: &str) -> Vec<BookedVertex> {
        vec![("/c0/n0".into(), 0, false), (path.into(), 1, true)]
    }

    #[test]
    fn a_start_and_a_finish_are_one_write_each_and_survive_reopening() {
        let dir = TempDir::new("journal-held");
        {
            let mut j = Journal::open(&dir.0).unwrap();
            for id in 1..=3 {
                j.submit(&job(id)).unwrap();
            }
            j.start(1, 20, 60, 80, &held("/c0/n0/core0")).unwrap();
            j.start(2, 20, 60, 80, &held("/c0/n0/core1")).unwrap();
            j.finish(2, "finished", 20, 50, "", 0, false).unwrap();
            // A booking that starts later (a match op's reservation).
            j.allocate(3, 100, 30, &held("/c0/n0/core2")).unwrap();
        }
        let r = Journal::open(&dir.0).unwrap().load().unwrap();
        let states: Vec<(&str, i64, i64)> = r
            .jobs
            .iter()
            .map(|j| (j.state.as_str(), j.start_time, j.end_time))
            .collect();
        assert_eq!(
            states,
            vec![("running", 20, 80), ("finished", 20, 50), ("pending", 0, 0)]
        );
        let allocs: Vec<(u64, i64, u64, &str)> = r
            .allocations
            .iter()
            .map(|a| (a.job_id, a.at, a.duration, a.vertices[1].0.as_str()))
            .collect();
        assert_eq!(
            allocs,
            vec![(1, 20, 60, "/c0/n0/core0"), (3, 100, 30, "/c0/n0/core2")]
        );
    }

    #[test]
    fn a_version_1_journal_moves_its_allocations_into_the_jobs() {
        let dir = TempDir::new("journal-held-v1");
        v1_journal(
            &dir.0,
            "CREATE TABLE allocations (job_id INTEGER PRIMARY KEY, at INTEGER NOT NULL,
                 duration INTEGER NOT NULL, vertices TEXT NOT NULL);
             INSERT INTO jobs (id, name, owner, submit_time, jobspec, duration, kind, state,
                 start_time, end_time)
                 VALUES (4, '', 1000, 5, 'version: 1', 60, 'queue', 'running', 5, 65);
             INSERT INTO allocations VALUES (4, 5, 60, '[[\"/c0/n0/core3\",1,true]]');
             INSERT INTO allocations VALUES (9, 5, 60, '[[\"/c0/n0/core4\",1,true]]');",
        );
        let mut j = Journal::open(&dir.0).unwrap();
        let r = j.load().unwrap();
        assert_eq!(r.allocations.len(), 1, "{:?}", r.allocations);
        let a = &r.allocations[0];
        assert_eq!((a.job_id, a.at, a.duration), (4, 5, 60));
        assert_eq!(a.vertices, vec![("/c0/n0/core3".to_string(), 1, true)]);
        let left: i64 = j
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'allocations'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0, "the old table goes");
        j.release(4, false).unwrap();
        assert!(j.load().unwrap().allocations.is_empty());
    }
}
