//! A parent's side of leases, on the instance (see [`crate::elastic`]):
//! open, grow, release, read and close leases of child instances.
//!
//! A grant is a match op: the jobspec is matched on the free resources
//! with this instance's policy and booked for the lease's time as a job
//! of the child's owner (named `lease-ID`), journaled as any allocation;
//! the lease row is journaled in the same batch, so the answer leaves
//! only after both are durable. What a grant gives is its booked vertices,
//! the whole subtree of each exclusive one, and the path up to the root.
//! Release checks every path first (held by the lease, not a part of a
//! vertex held whole, the epoch current) and changes nothing when one is
//! refused. Every call of a child counts as its heartbeat; a child silent
//! past `lease_grace` is lost, and its lease returns to the free pool.

use matcher::traverser::MatchOp;
use resource_graph::path_memo::PathMemo;
use resource_graph::VertexIdx;
use tracing::{info, warn};

use super::{Instance, InstanceError, JobId, JobState, ParsedJobspec};
use crate::elastic::lease::{Caller, Grant, Lease, LeaseTable};
use crate::elastic::{GrantView, LeaseView};
use crate::journal::{BookedVertex, LeaseRecord};

impl Instance {
    /// Open a lease for `child` (serving at `uri`, "" when unsaid) as uid
    /// `caller`, granting `jobspec` at once when given. A retry with the same request id returns the
    /// lease it opened.
    pub fn lease_open(
        &mut self,
        caller: impl Into<Caller>,
        child: &str,
        uri: &str,
        request_id: &str,
        jobspec: Option<ParsedJobspec>,
    ) -> Result<LeaseView, InstanceError> {
        let c: Caller = caller.into();
        if request_id.is_empty() {
            return Err(InstanceError::BadRequest("request_id: required".into()));
        }
        if let Some(id) = self.leases.opened_by(&c, request_id) {
            return self.lease_get(c, id, true);
        }
        let caller = c.uid;
        let id = self.leases.next_id();
        let now = self.clock.now();
        let mut lease = Lease {
            id,
            child: child.to_owned(),
            owner: caller,
            epoch: 1,
            grants: Vec::new(),
            requests: Vec::new(),
            expires: 0,
            last_seen: now,
            cert: c.cert.clone(),
            home: 0,
            uri: uri.to_owned(),
            ..Default::default()
        };
        let mut made = 0;
        if let Some(js) = jobspec {
            let g = self.grant(caller, id, js)?;
            made = g.job;
            lease.expires = self.jobs.get(&g.job).map_or(0, |j| j.end_time);
            lease.grants.push(g);
        }
        lease.remember(request_id, made);
        let before = self.journal_failures;
        let rec = lease.record();
        let _ = self.jr(|j| j.put_lease(&rec));
        self.leases.insert(lease);
        self.journal_since(before)?;
        info!(
            lease = id,
            child,
            owner = caller,
            tls = c.cert.is_some(),
            "lease opened"
        );
        self.lease_get(c, id, true)
    }

    /// Lease `id` as it is now, with its JGF when `with_jgf`; counts as
    /// the child's heartbeat.
    pub fn lease_get(
        &mut self,
        caller: impl Into<Caller>,
        id: u64,
        with_jgf: bool,
    ) -> Result<LeaseView, InstanceError> {
        self.lease_for(&caller.into(), id)?;
        let now = self.clock.now();
        if let Some(l) = self.leases.leases.get_mut(&id) {
            l.last_seen = now;
        }
        Ok(self.view(id, with_jgf))
    }

    /// The leases `caller` may see (the instance owner: all), without JGF.
    pub fn lease_list(&self, caller: impl Into<Caller>) -> Vec<LeaseView> {
        let c: Caller = caller.into();
        self.leases
            .leases
            .values()
            .filter(|l| self.authz.may_act_on(c.uid, l.owner) && l.cert_allows(&c))
            .map(|l| self.view(l.id, false))
            .collect()
    }

    /// Grow lease `id` by `jobspec`: only what was added comes back. A
    /// retried request id grants nothing more and answers what its grant
    /// holds now.
    pub fn lease_grow(
        &mut self,
        caller: impl Into<Caller>,
        id: u64,
        request_id: &str,
        jobspec: ParsedJobspec,
    ) -> Result<GrantView, InstanceError> {
        if request_id.is_empty() {
            return Err(InstanceError::BadRequest("request_id: required".into()));
        }
        let c: Caller = caller.into();
        let caller = c.uid;
        let lease = self.lease_for(&c, id)?;
        if let Some(job) = lease.answered(request_id) {
            let epoch = lease.epoch;
            let grants: Vec<&Grant> = lease.grants.iter().filter(|g| g.job == job).collect();
            let (jgf, paths, _) = self.subgraph(&grants);
            return Ok(GrantView {
                epoch,
                jgf,
                paths,
                grant: job,
            });
        }
        let g = self.grant(caller, id, jobspec)?;
        let (jgf, paths, _) = self.subgraph(&[&g]);
        let job = g.job;
        let now = self.clock.now();
        let Some(lease) = self.leases.add_grant(id, g, request_id, now) else {
            unreachable!("lease {id} was looked up above and the instance thread is ours")
        };
        let (rec, epoch) = (lease.record(), lease.epoch);
        let before = self.journal_failures;
        let _ = self.jr(|j| j.put_lease(&rec));
        self.journal_since(before)?;
        info!(lease = id, grant = job, epoch, paths = ?paths, "lease grown");
        Ok(GrantView {
            epoch,
            jgf,
            paths,
            grant: job,
        })
    }

    /// Give back the vertices of lease `id` at and below `paths`, as of
    /// `epoch`; the new epoch and how many booked vertices were freed.
    pub fn lease_release(
        &mut self,
        caller: impl Into<Caller>,
        id: u64,
        paths: &[String],
        epoch: u64,
    ) -> Result<(u64, u64), InstanceError> {
        let lease = self.lease_for(&caller.into(), id)?.clone();
        if epoch != lease.epoch {
            return Err(InstanceError::Conflict(format!(
                "stale epoch {epoch}: lease {id} is at epoch {}; read the lease again and retry",
                lease.epoch
            )));
        }
        if paths.is_empty() {
            return Err(InstanceError::BadRequest("paths: name at least one".into()));
        }
        // Check every path before changing anything.
        for p in paths {
            let mut holds = false;
            for g in &lease.grants {
                for (h, _, x) in &g.held {
                    if under(h, p) {
                        holds = true;
                    } else if *x && under(p, h) {
                        return Err(InstanceError::BadRequest(format!(
                            "{p} is part of {h}, which lease {id} holds whole: release {h}"
                        )));
                    }
                }
            }
            if !holds {
                return Err(InstanceError::NotFound(format!(
                    "lease {id} does not hold {p}"
                )));
            }
        }
        // The child of an instance job runs on that job's own allocation:
        // some of it stays while the job runs.
        if let Some(h) = lease.grants.iter().find(|g| g.job == lease.home) {
            let keeps = h
                .held
                .iter()
                .any(|(p, _, x)| *x && !paths.iter().any(|q| under(p, q)));
            if !keeps {
                return Err(InstanceError::BadRequest(format!(
                    "that is all of job {}'s own allocation, where its child instance runs; \
                     end the instance (schedctl cancel {}) to give it back",
                    lease.home, lease.home
                )));
            }
        }
        let before = self.journal_failures;
        let now = self.clock.now();
        let mut freed = 0u64;
        let mut kept = Vec::new();
        let mut lease = lease;
        for mut g in std::mem::take(&mut lease.grants) {
            let mut gone = Vec::new();
            let (mut rest, mut rest_vs) = (Vec::new(), Vec::new());
            for (h, &v) in g.held.iter().zip(&g.vs) {
                if paths.iter().any(|p| under(&h.0, p)) {
                    gone.push(v);
                } else {
                    rest.push(h.clone());
                    rest_vs.push(v);
                }
            }
            if gone.is_empty() {
                kept.push(g);
                continue;
            }
            freed += gone.len() as u64;
            if !rest.iter().any(|(_, _, x)| *x) {
                // Nothing held whole is left: the grant ends.
                let reason = format!("released by the child of lease {id}");
                self.end_job(g.job, JobState::Finished, &reason, 0, now);
                continue;
            }
            self.m
                .release(g.job, &gone)
                .map_err(|e| InstanceError::Journal(format!("releasing grant {}: {e}", g.job)))?;
            let (at, end) = self
                .jobs
                .get(&g.job)
                .map_or((now, now), |j| (j.start_time, j.end_time));
            let duration = u64::try_from(end.saturating_sub(at)).unwrap_or(0);
            let job = g.job;
            let _ = self.jr(|j| j.allocate(job, at, duration, &rest));
            g.held = rest;
            g.vs = rest_vs;
            kept.push(g);
        }
        lease.grants = kept;
        lease.epoch += 1;
        lease.last_seen = now;
        let rec = lease.record();
        let _ = self.jr(|j| j.put_lease(&rec));
        let new_epoch = lease.epoch;
        self.leases.insert(lease);
        self.queue.mark_dirty();
        self.journal_since(before)?;
        info!(lease = id, epoch = new_epoch, freed, paths = ?paths, "lease released part");
        Ok((new_epoch, freed))
    }

    /// Give back all of lease `id` and forget it.
    pub fn lease_close(&mut self, caller: impl Into<Caller>, id: u64) -> Result<(), InstanceError> {
        self.lease_for(&caller.into(), id)?;
        let before = self.journal_failures;
        let now = self.clock.now();
        if let Some(l) = self.leases.remove(id) {
            for g in &l.grants {
                self.end_job(
                    g.job,
                    JobState::Finished,
                    &format!("lease {id} closed"),
                    0,
                    now,
                );
            }
        }
        self.hand_back_lease(id, &format!("lease {id} closed"));
        let _ = self.jr(|j| j.delete_lease(id));
        self.journal_since(before)?;
        info!(lease = id, "lease closed");
        Ok(())
    }

    /// When the silentest child's grace runs out (None: no lease, or no
    /// grace).
    pub(super) fn lease_deadline(&self) -> Option<i64> {
        let grace = i64::try_from(self.cfg.lease_grace)
            .ok()
            .filter(|&g| g > 0)?;
        self.leases
            .leases
            .values()
            .map(|l| l.last_seen.saturating_add(grace))
            .min()
    }

    /// Declare lost every lease whose child has been silent past the
    /// grace: its grants end (failed, with the reason) and it is
    /// forgotten, so its resources are free again.
    pub(super) fn expire_leases(&mut self, now: i64) {
        self.drop_ended_grants();
        let Some(deadline) = self.lease_deadline() else {
            return;
        };
        if deadline > now {
            return;
        }
        let grace = self.cfg.lease_grace;
        let lost: Vec<u64> = self
            .leases
            .leases
            .values()
            .filter(|l| l.last_seen.saturating_add(grace as i64) <= now)
            .map(|l| l.id)
            .collect();
        for id in lost {
            let Some(l) = self.leases.remove(id) else {
                continue;
            };
            let why = format!(
                "lease {id} lost: its child ({}) was silent for {} s, past the {grace} s grace",
                l.child,
                now - l.last_seen
            );
            warn!(lease = id, child = %l.child, grants = l.grants.len(), "{why}");
            for g in &l.grants {
                self.end_job(g.job, JobState::Failed, &why, 0, now);
            }
            self.hand_back_lease(id, &why);
            let _ = self.jr(|j| j.delete_lease(id));
        }
    }

    /// Grants whose job ended on its own (its time ran out) leave their
    /// lease, whose epoch moves: the child's next heartbeat sees it and
    /// lets go of them.
    fn drop_ended_grants(&mut self) {
        let ended: Vec<u64> = self
            .leases
            .leases
            .values()
            .filter(|l| {
                l.grants.iter().any(|g| {
                    self.jobs
                        .get(&g.job)
                        .is_none_or(|j| j.state != JobState::Running)
                })
            })
            .map(|l| l.id)
            .collect();
        for id in ended {
            let Some(mut l) = self.leases.leases.get(&id).cloned() else {
                continue;
            };
            if l.home != 0
                && l.grants
                    .iter()
                    .any(|g| g.job == l.home && !self.running(g.job))
            {
                self.close_instance_lease(id);
                continue;
            }
            let jobs = &self.jobs;
            l.grants.retain(|g| {
                jobs.get(&g.job)
                    .is_some_and(|j| j.state == JobState::Running)
            });
            l.epoch += 1;
            warn!(
                lease = id,
                epoch = l.epoch,
                "a grant of the lease ran out of time"
            );
            let rec = l.record();
            let _ = self.jr(|j| j.put_lease(&rec));
            self.leases.insert(l);
        }
    }

    /// The lease job `id` is the instance job of, if any.
    pub(super) fn home_lease_of(&self, id: JobId) -> Option<u64> {
        self.leases
            .lease_of(id)
            .filter(|l| self.leases.leases.get(l).is_some_and(|x| x.home == id))
    }

    fn running(&self, job: JobId) -> bool {
        self.jobs
            .get(&job)
            .is_some_and(|j| j.state == JobState::Running)
    }

    /// The instance job of lease `id` ended: the lease ends with it, its
    /// other grants free again.
    pub(super) fn close_instance_lease(&mut self, id: u64) {
        let Some(l) = self.leases.remove(id) else {
            return;
        };
        let now = self.clock.now();
        let why = format!("its child instance (job {}) ended", l.home);
        for g in l.grants.iter().filter(|g| g.job != l.home) {
            if self.running(g.job) {
                self.end_job(g.job, JobState::Finished, &why, 0, now);
            }
        }
        self.hand_back_lease(id, &format!("lease {id} closed: {why}"));
        let _ = self.jr(|j| j.delete_lease(id));
        info!(
            lease = id,
            job = l.home,
            "lease of an instance job closed: {why}"
        );
    }

    /// Whether job `id` holds a lease's resources (then only the lease
    /// may give them back).
    pub(super) fn lease_of_job(&self, id: JobId) -> Option<u64> {
        self.leases.lease_of(id)
    }

    /// After replay: the leases of the journal, with what their grants
    /// hold. A grant whose job no longer runs is dropped.
    pub(super) fn restore_leases(
        &mut self,
        records: Vec<LeaseRecord>,
        held_of: &mut std::collections::HashMap<JobId, Vec<BookedVertex>>,
    ) {
        let now = self.clock.now();
        // Paths to vertices once, for every grant.
        let dom = self.dom;
        let g = self.m.graph();
        let index: std::collections::HashMap<String, VertexIdx> = if records.is_empty() {
            Default::default()
        } else {
            g.vertices()
                .filter_map(|v| g.path(v, dom).map(|p| (p, v)))
                .collect()
        };
        let leases = records
            .into_iter()
            .map(|r| {
                let grants = r
                    .grants
                    .iter()
                    .filter(|&&job| {
                        self.jobs
                            .get(&job)
                            .is_some_and(|j| j.state == JobState::Running)
                    })
                    .map(|&job| {
                        let (mut held, mut vs) = (Vec::new(), Vec::new());
                        for h in held_of.remove(&job).unwrap_or_default() {
                            if let Some(&v) = index.get(&h.0) {
                                held.push(h);
                                vs.push(v);
                            }
                        }
                        Grant { job, held, vs }
                    })
                    .collect();
                for &job in r.grants.iter().filter(|&&j| j != r.home) {
                    if let Some(j) = self.jobs.get_mut(&job) {
                        j.name = format!("lease-{}", r.id);
                    }
                }
                Lease {
                    id: r.id,
                    child: r.child,
                    owner: r.owner,
                    epoch: r.epoch,
                    grants,
                    requests: r.requests,
                    expires: r.expires,
                    last_seen: now,
                    cert: (!r.cert.is_empty()).then_some(r.cert),
                    home: r.home,
                    uri: r.uri,
                    ..Default::default()
                }
            })
            .collect();
        self.leases = LeaseTable::from_leases(leases);
    }

    /// Lease `id`, when `c` may act on it: its uid may (the lease's
    /// owner, the instance owner or root), and a client certificate, when
    /// the call presents one, is the lease's.
    pub(super) fn lease_for(&self, c: &Caller, id: u64) -> Result<&Lease, InstanceError> {
        let l = self
            .leases
            .leases
            .get(&id)
            .ok_or_else(|| InstanceError::NotFound(format!("no lease {id}")))?;
        if !self.authz.may_act_on(c.uid, l.owner) {
            return Err(InstanceError::PermissionDenied(format!(
                "lease {id} belongs to uid {}, not uid {}",
                l.owner, c.uid
            )));
        }
        if !l.cert_allows(c) {
            return Err(InstanceError::PermissionDenied(format!(
                "lease {id} was opened with another client certificate; a child's certificate \
                 may touch its own lease only"
            )));
        }
        Ok(l)
    }

    /// Match and book one grant of lease `id` for `caller`.
    fn grant(
        &mut self,
        caller: u32,
        id: u64,
        mut js: ParsedJobspec,
    ) -> Result<Grant, InstanceError> {
        // A grant lasts as long as anything may here, whatever the jobspec
        // says (a child may send a job's own jobspec).
        js.jobspec.duration = self.cfg.max_duration;
        // Not now is RESOURCE_EXHAUSTED; never is FAILED_PRECONDITION.
        // The caller gets no R: the child reads the grant as the lease's
        // JGF (the grant's job keeps the R every job keeps).
        let out = self.match_into(
            caller,
            js,
            MatchOp::AllocateWithSatisfiability,
            &mut super::writers::Discard,
        )?;
        if !out.matched {
            return Err(InstanceError::QueueFull(format!(
                "busy: the free resources of this instance cannot hold that now (lease {id})"
            )));
        }
        if let Some(j) = self.jobs.get_mut(&out.job_id) {
            j.name = format!("lease-{id}");
        }
        Ok(Grant {
            job: out.job_id,
            held: out.held,
            vs: out.vertices,
        })
    }

    /// What the last match picked, as a grant holds it: booked vertices
    /// by path, and the vertices.
    pub(super) fn picked_held(&self) -> (Vec<BookedVertex>, Vec<VertexIdx>) {
        let mut memo = PathMemo::new(self.m.graph(), self.dom);
        self.picked
            .iter()
            .filter_map(|&(v, n, x)| memo.path(v).map(|p| ((p, n, x), v)))
            .unzip()
    }

    fn view(&self, id: u64, with_jgf: bool) -> LeaseView {
        let Some(l) = self.leases.leases.get(&id) else {
            return LeaseView::default();
        };
        let grants: Vec<&Grant> = l.grants.iter().collect();
        let (jgf, paths, vertices) = self.subgraph(&grants);
        LeaseView {
            id,
            child: l.child.clone(),
            owner: l.owner,
            epoch: l.epoch,
            jgf: if with_jgf { jgf } else { String::new() },
            paths,
            vertices,
            grants: l.grants.iter().map(|g| g.job).collect(),
            expires: l.expires,
            last_seen: l.last_seen,
            uri: l.uri.clone(),
            handed: self.handed_to(id),
            child_waiting: l.child_waiting,
            child_free_cores: l.child_free_cores,
        }
    }

    /// What `grants` give a child, as JGF: the booked vertices, the whole
    /// subtree of each exclusive one and the path up to the root (the
    /// root is always there, so an empty lease is a graph too); the
    /// subtrees held whole, by path; and the vertex count.
    pub(super) fn subgraph(&self, grants: &[&Grant]) -> (String, Vec<String>, u64) {
        let g = self.m.graph();
        // By vertex index, bits: kept, inside a subtree kept whole already,
        // held whole. A grow writes a few hundred vertices of a graph of
        // many thousands: flags cost less than sets.
        const KEPT: u8 = 1;
        const COVERED: u8 = 2;
        const WHOLE: u8 = 4;
        let mut flags = vec![0u8; g.vertex_bound()];
        let mut kept: Vec<VertexIdx> = Vec::new();
        let mut add = |v: VertexIdx, flags: &mut Vec<u8>| {
            let new = flags[v.index()] & KEPT == 0;
            if new {
                flags[v.index()] |= KEPT;
                kept.push(v);
            }
            new
        };
        if let Some(&root) = g.roots.get(&self.dom) {
            add(root, &mut flags);
        }
        let mut held_whole = Vec::new();
        for gr in grants {
            for ((p, _, x), &v) in gr.held.iter().zip(&gr.vs) {
                if !g.g.contains_node(v) {
                    continue;
                }
                if *x && flags[v.index()] & WHOLE == 0 {
                    flags[v.index()] |= WHOLE;
                    held_whole.push((v, p.as_str()));
                }
                if flags[v.index()] & COVERED != 0 {
                    continue;
                }
                // Every kept vertex's ancestors are kept: stop at the first.
                if add(v, &mut flags) {
                    for a in g.ancestors(v, self.dom) {
                        if !add(a, &mut flags) {
                            break;
                        }
                    }
                }
                if *x {
                    for u in g.subtree(v, self.dom) {
                        add(u, &mut flags);
                        flags[u.index()] |= COVERED;
                    }
                }
            }
        }
        // A subtree held whole below another one held whole is not one
        // of its own.
        let mut tops: Vec<String> = held_whole
            .iter()
            .filter(|(v, _)| {
                !g.ancestors(*v, self.dom)
                    .any(|a| flags[a.index()] & WHOLE != 0)
            })
            .map(|(_, p)| (*p).to_owned())
            .collect();
        tops.sort_unstable();
        kept.sort_unstable();
        let count = kept.len() as u64;
        let jgf = resource_graph::jgf_write::write_part(g, kept, |v| flags[v.index()] & KEPT != 0);
        (jgf, tops, count)
    }
}

/// Whether `path` is `top` or below it.
fn under(path: &str, top: &str) -> bool {
    path == top
        || (path.len() > top.len() && path.starts_with(top) && path.as_bytes()[top.len()] == b'/')
}

#[cfg(test)]
mod tests {
    use super::under;

    #[test]
    fn under_compares_whole_path_segments() {
        assert!(under("/c0/n1", "/c0/n1"));
        assert!(under("/c0/n1/core3", "/c0/n1"));
        assert!(!under("/c0/n10", "/c0/n1"));
        assert!(!under("/c0", "/c0/n1"));
    }
}
