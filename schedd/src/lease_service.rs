//! The gRPC services of `quiver.lease.v1`: `Leases`, which every schedd
//! serves as a parent, and `Elastic`, which a child (`schedd --parent`)
//! serves to its users. Thin adapters, as [`crate::service`] is: who
//! calls, the request's fields checked, one call on the instance thread
//! (journaled before the answer), the reply mapped.
//!
//! A lease opened over mutual TLS belongs to the client certificate that
//! opened it: another child's certificate gets PERMISSION_DENIED.
//!
//! A child's grow asks the parent first and attaches what it granted; a
//! shrink detaches first (so nothing is scheduled there meanwhile), then
//! releases at the parent, and attaches again if the parent refuses.
use std::sync::Arc;

use sched_proto::lease_v1 as pb;
use tonic::{Request, Response, Status};

use crate::actor::Handle;
use crate::auth::{caller, peer_cert};
use crate::authz::Authz;
use crate::elastic::child::ParentLink;
use crate::elastic::{Caller, LeaseView};
use crate::instance::ParsedJobspec;
use crate::service::{check_jobspec, denied, status_of};

/// Paths one Release or Shrink may name.
pub const MAX_PATHS: usize = 65_536;

fn lease_pb(l: LeaseView) -> pb::Lease {
    pb::Lease {
        id: l.id,
        child: l.child,
        owner: l.owner,
        epoch: l.epoch,
        jgf: l.jgf,
        paths: l.paths,
        vertices: l.vertices,
        grants: l.grants,
        expires: l.expires,
        last_seen: l.last_seen,
        uri: l.uri,
        handed: l.handed,
        child_waiting: l.child_waiting,
        child_free_cores: l.child_free_cores,
    }
}

fn parse(text: &str) -> Result<ParsedJobspec, Status> {
    check_jobspec(text)?;
    ParsedJobspec::parse(text.to_owned()).map_err(|e| status_of(e.into()))
}

fn check_paths(paths: &[String]) -> Result<(), Status> {
    if paths.len() > MAX_PATHS {
        return Err(Status::resource_exhausted(format!(
            "paths: {} named; the limit is {MAX_PATHS}",
            paths.len()
        )));
    }
    Ok(())
}

/// The parent's `Leases` service.
#[derive(Clone)]
pub struct Leases {
    handle: Handle,
    authz: Authz,
}

impl Leases {
    /// Serve the leases of the instance behind `handle`, owned by `owner`.
    pub fn new(handle: Handle, owner: u32) -> Self {
        Leases {
            handle,
            authz: Authz::new(owner),
        }
    }

    fn who<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        lease_caller(&self.authz, req)
    }
}

/// The caller of a lease's call: its uid, and the client certificate of
/// a mutual-TLS call (a lease opened with one is that certificate's only).
pub fn lease_caller<T>(authz: &Authz, req: &Request<T>) -> Result<Caller, Status> {
    let uid = authz.caller(caller(req, authz.owner())).map_err(denied)?;
    Ok(Caller {
        uid,
        cert: peer_cert(req),
    })
}

#[tonic::async_trait]
impl pb::leases_server::Leases for Leases {
    async fn open(
        &self,
        req: Request<pb::OpenRequest>,
    ) -> Result<Response<pb::LeaseReply>, Status> {
        let uid = self.who(&req)?;
        let r = req.into_inner();
        let js = if r.jobspec.trim().is_empty() {
            None
        } else {
            Some(parse(&r.jobspec)?)
        };
        let l = self
            .handle
            .run(move |i| i.lease_open(uid, &r.child, &r.uri, &r.request_id, js))
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::LeaseReply {
            lease: Some(lease_pb(l)),
        }))
    }

    async fn get(
        &self,
        req: Request<pb::GetLeaseRequest>,
    ) -> Result<Response<pb::LeaseReply>, Status> {
        let uid = self.who(&req)?;
        let id = req.into_inner().lease_id;
        let l = self
            .handle
            .run(move |i| i.lease_get(uid, id, true))
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::LeaseReply {
            lease: Some(lease_pb(l)),
        }))
    }

    async fn grow(&self, req: Request<pb::GrowRequest>) -> Result<Response<pb::GrowReply>, Status> {
        let uid = self.who(&req)?;
        let r = req.into_inner();
        let js = parse(&r.jobspec)?;
        let g = self
            .handle
            .run(move |i| i.lease_grow(uid, r.lease_id, &r.request_id, js))
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::GrowReply {
            epoch: g.epoch,
            jgf: g.jgf,
            paths: g.paths,
            grant: g.grant,
        }))
    }

    async fn release(
        &self,
        req: Request<pb::ReleaseRequest>,
    ) -> Result<Response<pb::ReleaseReply>, Status> {
        let uid = self.who(&req)?;
        let r = req.into_inner();
        check_paths(&r.paths)?;
        let (epoch, freed) = self
            .handle
            .run(move |i| i.lease_release(uid, r.lease_id, &r.paths, r.epoch))
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::ReleaseReply { epoch, freed }))
    }

    async fn close(
        &self,
        req: Request<pb::CloseRequest>,
    ) -> Result<Response<pb::CloseReply>, Status> {
        let uid = self.who(&req)?;
        let id = req.into_inner().lease_id;
        self.handle
            .run(move |i| i.lease_close(uid, id))
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::CloseReply {}))
    }

    async fn list(
        &self,
        req: Request<pb::ListLeasesRequest>,
    ) -> Result<Response<pb::ListLeasesReply>, Status> {
        let uid = self.who(&req)?;
        let leases = self
            .handle
            .run(move |i| Ok(i.lease_list(uid)))
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::ListLeasesReply {
            leases: leases.into_iter().map(lease_pb).collect(),
        }))
    }
}

/// How often a drain looks whether the jobs on what it drains ended.
const DRAIN_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// A child's `Elastic` service.
#[derive(Clone)]
pub struct Elastic {
    handle: Handle,
    authz: Authz,
    link: Arc<ParentLink>,
}

impl Elastic {
    /// Serve growing and shrinking the child behind `handle` through `link`.
    pub fn new(handle: Handle, owner: u32, link: Arc<ParentLink>) -> Self {
        Elastic {
            handle,
            authz: Authz::new(owner),
            link,
        }
    }

    /// Detach and give back what `r` names, under the resize lock.
    async fn shrink_now(&self, r: pb::ChildShrinkRequest) -> Result<pb::ChildShrinkReply, Status> {
        let _resizing = self.link.resize.lock().await;
        let (d, reply) = self
            .link
            .shrink_from(&self.handle, r.paths, r.idle, r.r#type, r.requeue)
            .await?;
        Ok(pb::ChildShrinkReply {
            epoch: reply.epoch,
            paths: d.paths,
            removed: d.removed,
        })
    }

    /// Stop scheduling onto `r.paths`, wait for the jobs there to end
    /// (checked every [`DRAIN_POLL`]), then shrink; when the shrink
    /// fails, the paths are schedulable again.
    async fn drain_then_shrink(
        &self,
        r: pb::ChildShrinkRequest,
    ) -> Result<pb::ChildShrinkReply, Status> {
        let paths = r.paths.clone();
        let p = paths.clone();
        let mut running = self
            .handle
            .run(move |i| i.drain(&p))
            .await
            .map_err(status_of)?;
        while !running.is_empty() {
            tokio::time::sleep(DRAIN_POLL).await;
            let p = paths.clone();
            running = self
                .handle
                .run(move |i| Ok(i.jobs_below_paths(&p)))
                .await
                .map_err(status_of)?;
        }
        let out = self.shrink_now(r).await;
        if out.is_err() {
            let _ = self
                .handle
                .run(move |i| {
                    i.undrain(&paths);
                    Ok(())
                })
                .await;
        }
        out
    }

    /// The caller, when it may resize this instance.
    fn resizer<T>(&self, req: &Request<T>) -> Result<u32, Status> {
        let uid = self
            .authz
            .caller(caller(req, self.authz.owner()))
            .map_err(denied)?;
        self.authz.may_resize(uid).map_err(denied)?;
        Ok(uid)
    }
}

#[tonic::async_trait]
impl pb::elastic_server::Elastic for Elastic {
    async fn grow(
        &self,
        req: Request<pb::ChildGrowRequest>,
    ) -> Result<Response<pb::ChildGrowReply>, Status> {
        self.resizer(&req)?;
        let jobspec = req.into_inner().jobspec;
        parse(&jobspec)?;
        let _resizing = self.link.resize.lock().await;
        let (g, added) = self.link.grow_into(&self.handle, &jobspec).await?;
        Ok(Response::new(pb::ChildGrowReply {
            epoch: g.epoch,
            paths: g.paths,
            added,
        }))
    }

    async fn shrink(
        &self,
        req: Request<pb::ChildShrinkRequest>,
    ) -> Result<Response<pb::ChildShrinkReply>, Status> {
        self.resizer(&req)?;
        let r = req.into_inner();
        check_paths(&r.paths)?;
        if r.requeue && (r.drain || r.paths.is_empty()) {
            return Err(Status::invalid_argument(
                "requeue: name the paths, and ask for requeue or drain, not both",
            ));
        }
        if !r.drain {
            return self.shrink_now(r).await.map(Response::new);
        }
        if r.paths.is_empty() {
            return Err(Status::invalid_argument(
                "drain: name the paths to drain (idle vertices need none)",
            ));
        }
        // On a task of its own: a caller that goes away does not leave
        // the paths drained and kept.
        let this = self.clone();
        tokio::spawn(async move { this.drain_then_shrink(r).await })
            .await
            .map_err(|e| Status::internal(format!("the drain stopped: {e}")))?
            .map(Response::new)
    }

    async fn lease(
        &self,
        req: Request<pb::ChildLeaseRequest>,
    ) -> Result<Response<pb::LeaseReply>, Status> {
        self.authz
            .caller(caller(&req, self.authz.owner()))
            .map_err(denied)?;
        let l = self.link.get().await.map_err(|e| e.status())?;
        Ok(Response::new(pb::LeaseReply { lease: Some(l) }))
    }
}
