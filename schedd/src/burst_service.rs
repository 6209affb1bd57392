//! The gRPC service of `quiver.burst.v1`: `Burst`, served by every
//! schedd. A thin adapter, as [`crate::service`] is: who calls, the
//! request checked, the controller ([`crate::elastic::burst`]) or the
//! instance called, the reply mapped. Adding and removing nodes is the
//! instance owner's (or root's); anyone may list. An instance without
//! burst pools answers Add with FAILED_PRECONDITION and lists nothing.
use std::sync::Arc;

use sched_proto::burst_v1 as pb;
use tonic::{Request, Response, Status};

use crate::actor::Handle;
use crate::auth::caller;
use crate::authz::Authz;
use crate::elastic::burst::Bursts;
use crate::service::{denied, status_of};

/// Nodes one Add or Remove may name.
pub const MAX_NODES: u32 = 100_000;
/// The largest shape an Add may carry.
pub const MAX_SHAPE_BYTES: usize = 1 << 20;

/// The `Burst` service.
#[derive(Clone)]
pub struct Burst {
    handle: Handle,
    authz: Authz,
    bursts: Option<Arc<Bursts>>,
}

impl Burst {
    /// Serve the burst pools `bursts` (None: none configured) of the
    /// instance behind `handle`, owned by `owner`.
    pub fn new(handle: Handle, owner: u32, bursts: Option<Arc<Bursts>>) -> Self {
        Burst {
            handle,
            authz: Authz::new(owner),
            bursts,
        }
    }

    /// The controller, for a caller who may resize the instance.
    fn admin<T>(&self, req: &Request<T>) -> Result<&Arc<Bursts>, Status> {
        let uid = self
            .authz
            .caller(caller(req, self.authz.owner()))
            .map_err(denied)?;
        self.authz.may_resize(uid).map_err(denied)?;
        self.bursts.as_ref().ok_or_else(|| {
            Status::failed_precondition(
                "this instance has no burst pool (start schedd with --burst-provider or --burst-config)",
            )
        })
    }
}

#[tonic::async_trait]
impl pb::burst_server::Burst for Burst {
    async fn add(&self, req: Request<pb::AddRequest>) -> Result<Response<pb::AddReply>, Status> {
        let b = self.admin(&req)?.clone();
        let r = req.into_inner();
        if r.nodes == 0 || r.nodes > MAX_NODES {
            return Err(Status::invalid_argument(format!(
                "nodes: must be 1 to {MAX_NODES}, not {}",
                r.nodes
            )));
        }
        let shape = if r.shape.trim().is_empty() {
            None
        } else {
            if r.shape.len() > MAX_SHAPE_BYTES {
                return Err(Status::resource_exhausted(format!(
                    "shape: {} bytes; the limit is {MAX_SHAPE_BYTES}",
                    r.shape.len()
                )));
            }
            let text = r.shape;
            let shape = tokio::task::spawn_blocking(move || {
                crate::elastic::burst::pool::shape_from_text(&text, "shape")
            })
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(Status::invalid_argument)?;
            Some(shape)
        };
        let paths = b
            .add(&r.pool, u64::from(r.nodes), None, shape)
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::AddReply { paths }))
    }

    async fn remove(
        &self,
        req: Request<pb::RemoveRequest>,
    ) -> Result<Response<pb::RemoveReply>, Status> {
        let b = self.admin(&req)?.clone();
        let r = req.into_inner();
        if r.nodes.is_empty() || r.nodes.len() > MAX_NODES as usize {
            return Err(Status::invalid_argument(format!(
                "nodes: name 1 to {MAX_NODES} burst nodes"
            )));
        }
        let (paths, requeued) = b
            .remove_named(r.nodes, r.requeue)
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::RemoveReply { paths, requeued }))
    }

    async fn list(&self, req: Request<pb::ListRequest>) -> Result<Response<pb::ListReply>, Status> {
        self.authz
            .caller(caller(&req, self.authz.owner()))
            .map_err(denied)?;
        let (nodes, spent) = self
            .handle
            .run(|i| Ok((i.burst_nodes(), i.burst_spent())))
            .await
            .map_err(status_of)?;
        let pools = self
            .bursts
            .as_ref()
            .map(|b| b.pools())
            .unwrap_or_default()
            .into_iter()
            .map(|p| pb::Pool {
                name: p.cfg.name,
                provider: p.cfg.provider,
                max_nodes: p.cfg.max_nodes.min(u64::from(u32::MAX)) as u32,
                idle_grace: p.cfg.idle,
                deadline: p.cfg.deadline,
                cost_per_hour: p.cost_per_hour,
                budget: p.cfg.budget.unwrap_or(0.0),
                automatic: p.cfg.automatic,
                last_error: p.last_error,
                last_error_time: p.last_error_time,
            })
            .collect();
        let nodes = nodes
            .into_iter()
            .map(|n| pb::Node {
                name: n.name,
                path: n.path,
                pool: n.pool,
                state: n.state.as_str().into(),
                added: n.added,
                up_at: n.up_at,
                idle_since: n.idle_since,
                jobs: n.jobs,
            })
            .collect();
        Ok(Response::new(pb::ListReply {
            pools,
            nodes,
            spent: spent as f64 / 1e6,
        }))
    }
}
