//! The `leases` table: a parent's leases to its child instances.
//!
//! A lease row holds who the child is, its epoch, the parent jobs that
//! hold its resources (its *grants*, whose vertices those jobs hold as
//! any job does, see [`super::held`]) and the request ids already
//! answered, so that a retried open or grow after a crash returns the
//! first answer instead of granting twice, and the client certificate a
//! lease opened over mutual TLS is bound to. A row is written in the
//! same transaction as the grant it describes, before the parent answers.
use rusqlite::params;

use super::{to_i64, Journal, JournalError};

/// One lease as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    pub id: u64,
    /// Who the child said it is.
    pub child: String,
    /// The uid that opened it.
    pub owner: u32,
    pub epoch: u64,
    /// Parent jobs holding its resources, in grant order.
    pub grants: Vec<u64>,
    /// Request ids answered: (request id, the grant it made; 0 = none).
    pub requests: Vec<(String, u64)>,
    /// Unix seconds when it ends unless renewed (0: never).
    pub expires: i64,
    /// The client certificate (DER) it was opened with over mutual TLS;
    /// empty when opened otherwise.
    pub cert: Vec<u8>,
    /// The instance job whose own allocation the lease began with (its
    /// first grant; the job runs the child), 0 for a lease a child opened.
    pub home: u64,
    /// Where the child serves, as it said at open ("" when it did not).
    pub uri: String,
}

impl Journal {
    /// Record a lease as it is now (insert or replace).
    pub fn put_lease(&mut self, l: &LeaseRecord) -> Result<(), JournalError> {
        let bad = |what: &str, e: serde_json::Error| JournalError::Corrupt {
            path: self.path.clone(),
            what: format!("lease {}: cannot encode its {what}: {e}", l.id),
        };
        let grants = serde_json::to_string(&l.grants).map_err(|e| bad("grants", e))?;
        let requests = serde_json::to_string(&l.requests).map_err(|e| bad("requests", e))?;
        self.exec(
            "INSERT OR REPLACE INTO leases
                 (id, child, owner, epoch, grants, requests, expires, cert, home, uri)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                to_i64(l.id),
                l.child,
                l.owner,
                to_i64(l.epoch),
                grants,
                requests,
                l.expires,
                l.cert,
                to_i64(l.home),
                l.uri
            ],
        )
    }

    /// Forget a lease (its grants are released on their own).
    pub fn delete_lease(&mut self, id: u64) -> Result<(), JournalError> {
        self.exec("DELETE FROM leases WHERE id = ?1", [to_i64(id)])
    }

    /// Every lease, by id.
    pub fn load_leases(&self) -> Result<Vec<LeaseRecord>, JournalError> {
        let mut s = self
            .conn
            .prepare(
                "SELECT id, child, owner, epoch, grants, requests, expires, cert, home, uri
                 FROM leases ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = s
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, Vec<u8>>(7)?,
                    r.get::<_, i64>(8)?,
                    r.get::<_, String>(9)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, child, owner, epoch, grants, requests, expires, cert, home, uri) =
                row.map_err(|e| self.err(e))?;
            let bad = |what: String| JournalError::Corrupt {
                path: self.path.clone(),
                what: format!("lease {id}: {what}"),
            };
            out.push(LeaseRecord {
                id: u64::try_from(id).map_err(|_| bad("negative id".into()))?,
                child,
                owner: u32::try_from(owner).map_err(|_| bad("owner is not a uid".into()))?,
                epoch: u64::try_from(epoch).map_err(|_| bad("negative epoch".into()))?,
                grants: serde_json::from_str(&grants).map_err(|e| bad(format!("grants: {e}")))?,
                requests: serde_json::from_str(&requests)
                    .map_err(|e| bad(format!("requests: {e}")))?,
                expires,
                cert,
                home: u64::try_from(home).map_err(|_| bad("negative home job".into()))?,
                uri,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::tests::TempDir;

    #[test]
    fn a_lease_survives_reopening_and_can_be_forgotten() {
        let dir = TempDir::new("journal-leases");
        let rec = LeaseRecord {
            id: 3,
            child: "host:/run/child.sock".into(),
            owner: 1000,
            epoch: 4,
            grants: vec![7, 9],
            requests: vec![("open-1".into(), 7), ("grow-2".into(), 9)],
            expires: 0,
            cert: vec![0x30, 0x82, 1, 2],
            home: 7,
            uri: "unix:/run/child.sock".into(),
        };
        {
            let mut j = Journal::open(&dir.0).unwrap();
            j.put_lease(&rec).unwrap();
            let mut newer = rec.clone();
            newer.epoch = 5;
            newer.id = 4;
            j.put_lease(&newer).unwrap();
            j.delete_lease(4).unwrap();
        }
        let j = Journal::open(&dir.0).unwrap();
        assert_eq!(j.load_leases().unwrap(), vec![rec]);
    }

    #[test]
    fn a_journal_from_before_instance_jobs_gains_the_home_column() {
        let dir = TempDir::new("journal-leases-old");
        {
            std::fs::create_dir_all(&dir.0).unwrap();
            let c = rusqlite::Connection::open(dir.0.join(crate::journal::FILE_NAME)).unwrap();
            c.execute_batch(
                "CREATE TABLE leases (id INTEGER PRIMARY KEY, child TEXT NOT NULL,
                     owner INTEGER NOT NULL, epoch INTEGER NOT NULL, grants TEXT NOT NULL,
                     requests TEXT NOT NULL, expires INTEGER NOT NULL,
                     cert BLOB NOT NULL DEFAULT x'');
                 INSERT INTO leases VALUES (1, 'c', 0, 2, '[5]', '[]', 0, x'');",
            )
            .unwrap();
        }
        let j = Journal::open(&dir.0).unwrap();
        let old = j.load_leases().unwrap();
        assert_eq!(
            (old[0].id, old[0].grants.clone(), old[0].home),
            (1, vec![5], 0)
        );
    }
}
