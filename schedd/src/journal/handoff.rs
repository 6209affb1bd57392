//! The `handed` and `pulled` tables: jobs that travel down a hierarchy of
//! instances (quiver.hier.v1).
//!
//! At a parent, `handed` names the lease each job was handed to; the row
//! is written in the batch that answers the child's NeedJob, so a job a
//! child was told about is never queued here again by a restart, and goes
//! when the job ends or comes back to this queue. At a child, `pulled`
//! names the parent job each local job is (its *origin*), written with the
//! job's own row: a job handed twice (after an unanswered call) is taken
//! once, and a restarted child reports on the right parent jobs.
use rusqlite::params;

use super::{to_i64, Journal, JournalError};

impl Journal {
    /// Job `job_id` was handed to lease `lease_id`.
    pub fn hand(&mut self, job_id: u64, lease_id: u64) -> Result<(), JournalError> {
        self.exec(
            "INSERT OR REPLACE INTO handed (job_id, lease_id) VALUES (?1, ?2)",
            params![to_i64(job_id), to_i64(lease_id)],
        )
    }

    /// Job `job_id` is no longer at a child (it ended, or came back).
    pub fn unhand(&mut self, job_id: u64) -> Result<(), JournalError> {
        self.exec("DELETE FROM handed WHERE job_id = ?1", [to_i64(job_id)])
    }

    /// Local job `job_id` is the parent's job `origin` (one local job per
    /// parent job: a second is refused).
    pub fn pulled(&mut self, job_id: u64, origin: u64) -> Result<(), JournalError> {
        self.exec(
            "INSERT INTO pulled (job_id, origin) VALUES (?1, ?2)",
            params![to_i64(job_id), to_i64(origin)],
        )
    }

    /// Forget that local job `job_id` came from the parent (it was
    /// forgotten).
    pub fn unpull(&mut self, job_id: u64) -> Result<(), JournalError> {
        self.exec("DELETE FROM pulled WHERE job_id = ?1", [to_i64(job_id)])
    }

    /// Every (job, lease) handed, by job id.
    pub fn load_handed(&self) -> Result<Vec<(u64, u64)>, JournalError> {
        self.pairs("SELECT job_id, lease_id FROM handed ORDER BY job_id")
    }

    /// Every (local job, parent job) pulled, by local job id.
    pub fn load_pulled(&self) -> Result<Vec<(u64, u64)>, JournalError> {
        self.pairs("SELECT job_id, origin FROM pulled ORDER BY job_id")
    }

    fn pairs(&self, sql: &str) -> Result<Vec<(u64, u64)>, JournalError> {
        let mut s = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = s
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (a, b) = row.map_err(|e| self.err(e))?;
            let (Ok(a), Ok(b)) = (u64::try_from(a), u64::try_from(b)) else {
                return Err(JournalError::Corrupt {
                    path: self.path.clone(),
                    what: format!("a negative id in ({a}, {b}): {sql}"),
                });
            };
            out.push((a, b));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::tests::TempDir;

    #[test]
    fn hand_offs_survive_reopening_and_go_when_undone() {
        let dir = TempDir::new("journal-handoff");
        {
            let mut j = Journal::open(&dir.0).unwrap();
            j.hand(5, 1).unwrap();
            j.hand(6, 2).unwrap();
            j.hand(5, 3).unwrap();
            j.unhand(6).unwrap();
            j.pulled(1, 40).unwrap();
            j.pulled(2, 41).unwrap();
            j.unpull(1).unwrap();
            // One local job per parent job.
            assert!(j.pulled(3, 41).is_err());
        }
        let j = Journal::open(&dir.0).unwrap();
        assert_eq!(j.load_handed().unwrap(), vec![(5, 3)]);
        assert_eq!(j.load_pulled().unwrap(), vec![(2, 41)]);
    }
}
