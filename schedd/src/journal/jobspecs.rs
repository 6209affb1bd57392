//! The `jobspecs` table: each jobspec text written once, however many
//! jobs share it.
//!
//! A campaign submits the same text thousands of times (`--cc`, bulk
//! calls, jobs handed down a hierarchy); the instance already shares one
//! `Arc<str>` among them. A job's row names its text by id (`jobs.spec`),
//! so a row stays a few dozen bytes and the pages a state change rewrites
//! hold many jobs. Which texts are written is known by the identity of
//! their `Arc` (the journal keeps a clone, so an address is never reused
//! while it is known), counted per job row, and a text goes when the last
//! job naming it is forgotten.
//!
//! The counts live in memory: a failed commit forgets them all (rows of
//! the rolled-back batch are gone), so later jobs write their text anew;
//! a text no job names any more is dropped when the journal is read back.
//! Rows from before this table (`spec` 0) keep their text in `jobs`.
use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::params;

use super::{Journal, JournalError};

/// A text the journal holds, with the jobs that name it.
#[derive(Debug)]
struct Written {
    id: i64,
    jobs: u64,
    /// Keeps the address the entry is known by alive.
    _text: Arc<str>,
}

/// The texts written, by the address of their shared text.
#[derive(Debug, Default)]
pub(super) struct Specs {
    by_text: HashMap<usize, Written>,
}

fn key(text: &Arc<str>) -> usize {
    Arc::as_ptr(text) as *const u8 as usize
}

impl Specs {
    /// Forget every count (after a rollback).
    pub(super) fn clear(&mut self) {
        self.by_text.clear();
    }
}

impl Journal {
    /// The id of `text`'s row for one more job naming it, written now if
    /// it is new.
    pub(super) fn spec_take(&mut self, text: &Arc<str>) -> Result<i64, JournalError> {
        if let Some(w) = self.specs.by_text.get_mut(&key(text)) {
            w.jobs += 1;
            return Ok(w.id);
        }
        self.exec("INSERT INTO jobspecs (text) VALUES (?1)", params![&**text])?;
        let id = self.conn.last_insert_rowid();
        self.specs.by_text.insert(
            key(text),
            Written {
                id,
                jobs: 1,
                _text: text.clone(),
            },
        );
        Ok(id)
    }

    /// One job naming `text` fewer; its row goes with the last.
    pub(super) fn spec_drop(&mut self, text: &Arc<str>) -> Result<(), JournalError> {
        let k = key(text);
        let Some(w) = self.specs.by_text.get_mut(&k) else {
            return Ok(());
        };
        w.jobs = w.jobs.saturating_sub(1);
        if w.jobs > 0 {
            return Ok(());
        }
        let id = w.id;
        self.specs.by_text.remove(&k);
        self.exec("DELETE FROM jobspecs WHERE id = ?1", [id])
    }

    /// Every text by id.
    pub(super) fn load_specs(&self) -> Result<HashMap<i64, Arc<str>>, JournalError> {
        let mut s = self
            .conn
            .prepare("SELECT id, text FROM jobspecs")
            .map_err(|e| self.err(e))?;
        let rows = s
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut out = HashMap::new();
        for row in rows {
            let (id, text) = row.map_err(|e| self.err(e))?;
            out.insert(id, Arc::from(text));
        }
        Ok(out)
    }

    /// Take `named` (how many jobs name each text) as the counts of the
    /// texts loaded, `texts`: the instance holds these very `Arc`s from
    /// now on. A text no job names (left by a failed commit, or by a crash
    /// between a job's row and its text's) goes.
    pub(super) fn spec_counts(
        &mut self,
        texts: &HashMap<i64, Arc<str>>,
        named: &HashMap<i64, u64>,
    ) -> Result<(), JournalError> {
        self.specs.clear();
        for (&id, t) in texts {
            match named.get(&id) {
                Some(&jobs) => {
                    self.specs.by_text.insert(
                        key(t),
                        Written {
                            id,
                            jobs,
                            _text: t.clone(),
                        },
                    );
                }
                None => self.exec("DELETE FROM jobspecs WHERE id = ?1", [id])?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::tests::{pending as job, v1_journal, TempDir};
    use crate::journal::SCHEMA_VERSION;

    fn texts(j: &Journal) -> Vec<String> {
        let mut s = j.conn.prepare("SELECT text FROM jobspecs").unwrap();
        let rows = s.query_map([], |r| r.get(0)).unwrap();
        let mut out: Vec<String> = rows.map(|r| r.unwrap()).collect();
        out.sort();
        out
    }

    #[test]
    fn a_shared_text_is_written_once_and_goes_with_its_last_job() {
        let dir = TempDir::new("journal-specs");
        let a: Arc<str> = Arc::from("version: 1 # a");
        let b: Arc<str> = Arc::from("version: 1 # b");
        {
            let mut j = Journal::open(&dir.0).unwrap();
            j.begin().unwrap();
            for id in 1..=3 {
                j.submit(&job(id, &a)).unwrap();
            }
            j.submit(&job(4, &b)).unwrap();
            j.commit().unwrap();
            assert_eq!(texts(&j), vec![&*a, &*b]);
            j.forget(4, Some(&b), 5).unwrap();
            j.forget(1, Some(&a), 5).unwrap();
            assert_eq!(texts(&j), vec![&*a]);
        }
        // Reopened: the jobs left share one text again, known by the
        // Arc the load returned.
        let mut j = Journal::open(&dir.0).unwrap();
        let r = j.load().unwrap();
        assert_eq!(r.jobs.len(), 2);
        assert_eq!(&*r.jobs[0].jobspec, &*a);
        assert!(Arc::ptr_eq(&r.jobs[0].jobspec, &r.jobs[1].jobspec));
        j.forget(2, Some(&r.jobs[0].jobspec), 5).unwrap();
        assert_eq!(texts(&j), vec![&*a]);
        j.forget(3, Some(&r.jobs[1].jobspec), 5).unwrap();
        assert!(texts(&j).is_empty());
    }

    #[test]
    fn a_refused_row_takes_back_its_text_and_strays_are_swept_when_read_back() {
        let dir = TempDir::new("journal-specs-stray");
        let a: Arc<str> = Arc::from("version: 1 # a");
        let b: Arc<str> = Arc::from("version: 1 # b");
        {
            let mut j = Journal::open(&dir.0).unwrap();
            j.submit(&job(1, &a)).unwrap();
            // A duplicate id is refused: its new text goes with it.
            assert!(j.submit(&job(1, &b)).is_err());
            assert_eq!(texts(&j), vec![&*a]);
            // A job row that goes behind the counts' back (a rolled-back
            // batch, a crash) leaves its text to the next read-back.
            j.conn.execute("DELETE FROM jobs WHERE id = 1", []).unwrap();
        }
        let mut j = Journal::open(&dir.0).unwrap();
        j.load().unwrap();
        assert!(texts(&j).is_empty());
    }

    #[test]
    fn a_journal_from_before_the_table_keeps_its_texts_and_moves_on() {
        let dir = TempDir::new("journal-specs-v1");
        v1_journal(
            &dir.0,
            "INSERT INTO jobs (id, name, owner, submit_time, jobspec, duration, kind, state)
                 VALUES (7, 'old', 1000, 5, 'version: 1 # old', 60, 'queue', 'pending');",
        );
        let mut j = Journal::open(&dir.0).unwrap();
        assert_eq!(j.meta("schema_version").unwrap(), Some(SCHEMA_VERSION));
        let new: Arc<str> = Arc::from("version: 1 # new");
        j.submit(&job(8, &new)).unwrap();
        let r = j.load().unwrap();
        let got: Vec<(u64, &str)> = r.jobs.iter().map(|j| (j.id, &*j.jobspec)).collect();
        assert_eq!(got, vec![(7, "version: 1 # old"), (8, "version: 1 # new")]);
        // The old job's text lived in its row and goes with it.
        j.forget(7, Some(&r.jobs[0].jobspec), 9).unwrap();
        assert_eq!(texts(&j), vec!["version: 1 # new"]);
        assert_eq!(j.load().unwrap().jobs.len(), 1);
    }
}
