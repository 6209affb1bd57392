//! A parent's leases: what each child holds, as the parent's journal
//! keeps it.
//!
//! A lease is a set of *grants*. A grant is a parent job (named
//! `lease-ID`) that holds the vertices one open or grow matched, for the
//! lease's time; a partial release frees some of a grant's vertices, a
//! release of its last exclusive vertex ends the grant's job. The epoch
//! counts the lease's changes: a release names the epoch it was computed
//! against, and a stale one is refused. Request ids answered are kept
//! (the last [`REQUESTS_KEPT`]), so a retried open or grow returns the
//! first answer instead of granting twice.
use std::collections::{BTreeMap, HashMap};

use resource_graph::VertexIdx;

use crate::instance::JobId;
use crate::journal::{BookedVertex, LeaseRecord};

/// Request ids a lease remembers for retries.
pub const REQUESTS_KEPT: usize = 64;

/// One grant: a parent job and what it holds, by containment path (as
/// the journal keeps it) and, beside each, the vertex itself (so a lease
/// is read and released without looking paths up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub job: JobId,
    pub held: Vec<BookedVertex>,
    /// `held[i]`'s vertex.
    pub vs: Vec<VertexIdx>,
}

/// One lease (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lease {
    pub id: u64,
    pub child: String,
    pub owner: u32,
    pub epoch: u64,
    pub grants: Vec<Grant>,
    pub requests: Vec<(String, u64)>,
    pub expires: i64,
    /// When the child last called (not journaled: a restart starts the
    /// clock again).
    pub last_seen: i64,
    /// The client certificate (DER) it was opened with over mutual TLS:
    /// only that certificate may touch it over TCP.
    pub cert: Option<Vec<u8>>,
    /// The instance job the lease began with (its first grant, which runs
    /// the child), 0 when a child opened the lease itself.
    pub home: JobId,
    /// Where the child serves, as it said at open ("" when it did not).
    pub uri: String,
    /// What the child last said when it asked for work: jobs waiting
    /// there and cores free there (not journaled).
    pub child_waiting: u64,
    pub child_free_cores: u64,
}

/// Who calls a lease operation: a uid, and over mutual TLS the client
/// certificate presented.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    pub uid: u32,
    pub cert: Option<Vec<u8>>,
}

impl From<u32> for Caller {
    fn from(uid: u32) -> Caller {
        Caller { uid, cert: None }
    }
}

impl Lease {
    /// Whether `c`'s certificate may touch this lease: a call without one
    /// is judged by uid alone; a call with one, only when it is the
    /// lease's.
    pub fn cert_allows(&self, c: &Caller) -> bool {
        c.cert.is_none() || c.cert == self.cert
    }
}

impl Lease {
    /// The journal's row of this lease.
    pub fn record(&self) -> LeaseRecord {
        LeaseRecord {
            id: self.id,
            child: self.child.clone(),
            owner: self.owner,
            epoch: self.epoch,
            grants: self.grants.iter().map(|g| g.job).collect(),
            requests: self.requests.clone(),
            expires: self.expires,
            cert: self.cert.clone().unwrap_or_default(),
            home: self.home,
            uri: self.uri.clone(),
        }
    }

    /// The grant a request id already made (0: it granted nothing).
    pub fn answered(&self, request_id: &str) -> Option<u64> {
        self.requests
            .iter()
            .find(|(r, _)| r == request_id)
            .map(|&(_, g)| g)
    }

    /// Remember that `request_id` made grant `grant`.
    pub fn remember(&mut self, request_id: &str, grant: u64) {
        self.requests.push((request_id.to_owned(), grant));
        if self.requests.len() > REQUESTS_KEPT {
            self.requests.remove(0);
        }
    }
}

/// Every lease of an instance, and which job is whose grant.
#[derive(Debug, Default)]
pub struct LeaseTable {
    pub leases: BTreeMap<u64, Lease>,
    grant_of: HashMap<JobId, u64>,
    next_id: u64,
}

impl LeaseTable {
    /// The table of these leases.
    pub fn from_leases(leases: Vec<Lease>) -> LeaseTable {
        let mut t = LeaseTable::default();
        for l in leases {
            t.insert(l);
        }
        t
    }

    /// A lease id never handed out before (in this table).
    pub fn next_id(&mut self) -> u64 {
        self.next_id = self.next_id.max(1);
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Add grant `g` to lease `id` (a new epoch, `request_id` answered by
    /// it, seen at `now`); the lease as it is now, or `None` when there
    /// is no lease `id`.
    pub fn add_grant(&mut self, id: u64, g: Grant, request_id: &str, now: i64) -> Option<&Lease> {
        let lease = self.leases.get_mut(&id)?;
        self.grant_of.insert(g.job, id);
        lease.remember(request_id, g.job);
        lease.grants.push(g);
        lease.epoch += 1;
        lease.last_seen = now;
        Some(lease)
    }

    /// Add or replace a lease.
    pub fn insert(&mut self, l: Lease) {
        if let Some(old) = self.leases.get(&l.id) {
            for g in &old.grants {
                self.grant_of.remove(&g.job);
            }
        }
        for g in &l.grants {
            self.grant_of.insert(g.job, l.id);
        }
        self.next_id = self.next_id.max(l.id + 1);
        self.leases.insert(l.id, l);
    }

    /// Take a lease out.
    pub fn remove(&mut self, id: u64) -> Option<Lease> {
        let l = self.leases.remove(&id)?;
        for g in &l.grants {
            self.grant_of.remove(&g.job);
        }
        Some(l)
    }

    /// The lease whose grant job `job` is.
    pub fn lease_of(&self, job: JobId) -> Option<u64> {
        self.grant_of.get(&job).copied()
    }

    /// The lease `c` opened with `request_id`, if any.
    pub fn opened_by(&self, c: &Caller, request_id: &str) -> Option<u64> {
        self.leases
            .values()
            .find(|l| l.owner == c.uid && l.cert == c.cert && l.answered(request_id).is_some())
            .map(|l| l.id)
    }
}

/// A lease as a call returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaseView {
    pub id: u64,
    pub child: String,
    pub owner: u32,
    pub epoch: u64,
    /// The leased subgraph as JGF ("" when not asked for).
    pub jgf: String,
    /// The subtrees held whole, by containment path.
    pub paths: Vec<String>,
    /// Vertices of the subgraph.
    pub vertices: u64,
    pub grants: Vec<JobId>,
    pub expires: i64,
    pub last_seen: i64,
    pub uri: String,
    /// Jobs handed to the child that have not ended.
    pub handed: u64,
    pub child_waiting: u64,
    pub child_free_cores: u64,
}

/// What a grow added.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GrantView {
    pub epoch: u64,
    /// Only the added subgraph (with the path to the root), as JGF.
    pub jgf: String,
    pub paths: Vec<String>,
    /// The parent job holding it.
    pub grant: JobId,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(id: u64, grants: &[u64]) -> Lease {
        Lease {
            id,
            child: format!("c{id}"),
            owner: 1000,
            epoch: 1,
            grants: grants
                .iter()
                .map(|&job| Grant {
                    job,
                    held: Vec::new(),
                    vs: Vec::new(),
                })
                .collect(),
            requests: vec![(format!("open-{id}"), grants.first().copied().unwrap_or(0))],
            expires: 0,
            last_seen: 0,
            cert: None,
            home: 0,
            ..Default::default()
        }
    }

    #[test]
    fn grants_are_indexed_and_ids_never_reused_while_known() {
        let mut t = LeaseTable::from_leases(vec![lease(4, &[10, 11])]);
        assert_eq!(t.lease_of(11), Some(4));
        assert_eq!(t.next_id(), 5);
        t.insert(lease(4, &[12]));
        assert_eq!(t.lease_of(11), None);
        assert_eq!(t.lease_of(12), Some(4));
        assert_eq!(t.opened_by(&1000.into(), "open-4"), Some(4));
        assert_eq!(t.opened_by(&1001.into(), "open-4"), None);
        let with_cert = Caller {
            uid: 1000,
            cert: Some(vec![1]),
        };
        assert_eq!(t.opened_by(&with_cert, "open-4"), None);
        assert!(t.leases[&4].cert_allows(&1000.into()));
        assert!(!t.leases[&4].cert_allows(&with_cert));
        assert!(t.remove(4).is_some());
        assert_eq!(t.lease_of(12), None);
    }

    #[test]
    fn a_lease_remembers_its_last_requests_only() {
        let mut l = lease(1, &[]);
        for i in 0..(REQUESTS_KEPT as u64 + 5) {
            l.remember(&format!("r{i}"), i);
        }
        assert_eq!(l.requests.len(), REQUESTS_KEPT);
        assert_eq!(l.answered("r3"), None);
        assert_eq!(
            l.answered(&format!("r{}", REQUESTS_KEPT + 4)),
            Some(REQUESTS_KEPT as u64 + 4)
        );
    }
}
