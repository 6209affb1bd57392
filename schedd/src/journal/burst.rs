//! The `burst_nodes` table: nodes a cloud burst added to the graph (see
//! `elastic/burst`), and the money spent on nodes already gone.
//!
//! A row is written in the batch that attaches its node, updated when the
//! node comes up and deleted in the batch that removes it. It carries the
//! node's part of the graph as JGF (the root, the `cloud` level and the
//! node's subtree), so a restart attaches the same vertices again before
//! it books the jobs running there, without the pool's shape file.
use rusqlite::params;

use super::{Journal, JournalError};

/// One burst node as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurstRecord {
    /// The node's containment path.
    pub path: String,
    /// The pool it belongs to.
    pub pool: String,
    /// `provisioning` or `up`.
    pub state: String,
    /// When it was added (the instance's clock).
    pub added: i64,
    /// When it came up (0: not yet).
    pub up_at: i64,
    /// Its part of the graph, as JGF.
    pub part: String,
}

/// The meta key of what gone burst nodes cost, in millionths.
const SPENT: &str = "burst_spent_micro";

impl Journal {
    /// Node `r.path` was added to the graph.
    pub fn burst_add(&mut self, r: &BurstRecord) -> Result<(), JournalError> {
        self.exec(
            "INSERT OR REPLACE INTO burst_nodes (path, pool, state, added, up_at, part) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![r.path, r.pool, r.state, r.added, r.up_at, r.part],
        )
    }

    /// Node `path` came up at `at`.
    pub fn burst_up(&mut self, path: &str, at: i64) -> Result<(), JournalError> {
        self.exec(
            "UPDATE burst_nodes SET state = 'up', up_at = ?2 WHERE path = ?1",
            params![path, at],
        )
    }

    /// Node `path` left the graph: its row goes, and so do the statuses
    /// set at or below it (a later node at the same path starts afresh).
    pub fn burst_remove(&mut self, path: &str) -> Result<(), JournalError> {
        self.exec("DELETE FROM burst_nodes WHERE path = ?1", [path])?;
        self.exec(
            "DELETE FROM vertex_status WHERE path = ?1 OR substr(path, 1, length(?1) + 1) = ?1 || '/'",
            [path],
        )
    }

    /// Every burst node, in the order they were added.
    pub fn load_burst(&self) -> Result<Vec<BurstRecord>, JournalError> {
        let mut s = self
            .conn
            .prepare(
                "SELECT path, pool, state, added, up_at, part FROM burst_nodes \
                 ORDER BY rowid",
            )
            .map_err(|e| self.err(e))?;
        let rows = s
            .query_map([], |r| {
                Ok(BurstRecord {
                    path: r.get(0)?,
                    pool: r.get(1)?,
                    state: r.get(2)?,
                    added: r.get(3)?,
                    up_at: r.get(4)?,
                    part: r.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// What burst nodes already gone cost, in millionths of the budget's
    /// unit.
    pub fn burst_spent(&self) -> Result<i64, JournalError> {
        Ok(self.meta(SPENT)?.unwrap_or(0))
    }

    /// Record what gone burst nodes cost in all (millionths).
    pub fn set_burst_spent(&mut self, micro: i64) -> Result<(), JournalError> {
        self.set_meta(SPENT, micro)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::tests::TempDir;

    fn rec(path: &str) -> BurstRecord {
        BurstRecord {
            path: path.into(),
            pool: "cloud".into(),
            state: "provisioning".into(),
            added: 10,
            up_at: 0,
            part: "{}".into(),
        }
    }

    #[test]
    fn burst_nodes_and_spending_survive_reopening() {
        let dir = TempDir::new("journal-burst");
        {
            let mut j = Journal::open(&dir.0).unwrap();
            j.burst_add(&rec("/c0/cloud0/node2")).unwrap();
            j.burst_add(&rec("/c0/cloud0/node3")).unwrap();
            j.burst_add(&rec("/c0/cloud0/node4")).unwrap();
            j.burst_up("/c0/cloud0/node3", 15).unwrap();
            j.vertex_status("/c0/cloud0/node2", false).unwrap();
            j.vertex_status("/c0/cloud0/node2/core0", false).unwrap();
            j.vertex_status("/c0/cloud0/node20", false).unwrap();
            j.burst_remove("/c0/cloud0/node2").unwrap();
            j.set_burst_spent(2500).unwrap();
        }
        let mut j = Journal::open(&dir.0).unwrap();
        let mut up = rec("/c0/cloud0/node3");
        up.state = "up".into();
        up.up_at = 15;
        assert_eq!(j.load_burst().unwrap(), vec![up, rec("/c0/cloud0/node4")]);
        assert_eq!(j.burst_spent().unwrap(), 2500);
        // The statuses of the node that went are gone; a neighbour's stay.
        let statuses = j.load().unwrap().statuses;
        assert_eq!(statuses.len(), 1, "{statuses:?}");
        assert_eq!(statuses[0].0, "/c0/cloud0/node20");
    }
}
