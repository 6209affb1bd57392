//! Forgetting ended jobs: their rows go, in runs.
//!
//! An instance forgets its earliest ended jobs as later ones end (beyond
//! `--keep-ended`), many in one batch and mostly in id order. Inside a
//! batch the ids are gathered and their rows go when it commits, one
//! statement per run of consecutive ids; outside a batch a row goes at
//! once. A batch that does not commit forgets nothing, as before.
use std::sync::Arc;

use super::{to_i64, Journal, JournalError};

impl Journal {
    /// Forget an ended job, submitted with the text `jobspec` (as
    /// written or loaded): its row goes, and its text with the last job
    /// naming it; ids below `next_job_id` are never handed out again.
    pub fn forget(
        &mut self,
        job_id: u64,
        jobspec: Option<&Arc<str>>,
        next_job_id: u64,
    ) -> Result<(), JournalError> {
        if self.next_written != Some(next_job_id) {
            self.set_meta("next_job_id", to_i64(next_job_id))?;
            self.next_written = Some(next_job_id);
        }
        if self.in_batch {
            self.forgotten.push(job_id);
        } else {
            self.delete_jobs(vec![job_id])?;
        }
        match jobspec {
            Some(t) => self.spec_drop(t),
            None => Ok(()),
        }
    }

    /// Delete the rows of the jobs the open batch forgot.
    pub(super) fn flush_forgotten(&mut self) -> Result<(), JournalError> {
        let ids = std::mem::take(&mut self.forgotten);
        self.delete_jobs(ids)
    }

    /// Delete the rows of `ids`, a statement per run of consecutive ids.
    fn delete_jobs(&mut self, mut ids: Vec<u64>) -> Result<(), JournalError> {
        ids.sort_unstable();
        ids.dedup();
        let mut i = 0;
        while i < ids.len() {
            let first = ids[i];
            let mut last = first;
            while i + 1 < ids.len() && ids[i + 1] == last + 1 {
                i += 1;
                last = ids[i];
            }
            self.exec(
                "DELETE FROM jobs WHERE id >= ?1 AND id <= ?2",
                [to_i64(first), to_i64(last)],
            )?;
            i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::tests::{pending, TempDir};

    fn ids(j: &mut Journal) -> Vec<u64> {
        j.load().unwrap().jobs.iter().map(|j| j.id).collect()
    }

    #[test]
    fn a_batch_forgets_runs_of_ids_at_commit_and_nothing_without_it() {
        let dir = TempDir::new("journal-forget");
        let text: Arc<str> = Arc::from("version: 1");
        let mut j = Journal::open(&dir.0).unwrap();
        j.begin().unwrap();
        for id in 1..=10 {
            j.submit(&pending(id, &text)).unwrap();
        }
        j.commit().unwrap();
        // Out of order, with a gap: the runs 2-4 and 7-8.
        j.begin().unwrap();
        for id in [3, 7, 2, 8, 4] {
            j.forget(id, Some(&text), 11).unwrap();
        }
        assert_eq!(ids(&mut j).len(), 10, "nothing goes before the commit");
        j.commit().unwrap();
        assert_eq!(ids(&mut j), vec![1, 5, 6, 9, 10]);
        // Outside a batch a row goes at once.
        j.forget(9, Some(&text), 11).unwrap();
        assert_eq!(ids(&mut j), vec![1, 5, 6, 10]);
        // A batch dropped without its commit forgets nothing.
        j.begin().unwrap();
        j.forget(5, Some(&text), 11).unwrap();
        drop(j);
        let mut j = Journal::open(&dir.0).unwrap();
        assert_eq!(ids(&mut j), vec![1, 5, 6, 10]);
    }
}
