//! A child's link to its parent: open or resume the lease at start, then
//! grow, release and read it.
//!
//! [`ParentLink::start`] finds the lease this state directory holds (see
//! [`super::lease_file`]) and reads it from the parent, or opens one; the
//! returned JGF is the child's graph. A parent that cannot be reached at
//! start is tolerated when the lease's subgraph was kept: the child then
//! starts on what it held, and reconciles once the parent answers. A
//! grow is retried with the same request id when the parent does not
//! answer, so a parent that restarts mid-grow grants once.
//! [`keep_reconciled`] reads the lease every so often (the child's
//! heartbeat); when its epoch is not the one the child knows, the graph is
//! made the lease's (the parent wins).
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sched_proto::lease_v1 as pb;
use tokio::sync::Mutex;
use tonic::Code;
use tracing::{error, info, warn};

use super::lease_file::{request_id, LeaseFile, LeaseFileError};
use crate::actor::Handle;
use crate::client::{self, ClientError, ConnectOptions, HierarchyClient, LeasesClient};
use crate::instance::Detached;

/// The waits before a grow whose answer did not come is tried again
/// (same request id): a parent restarting within about 4 s still grants
/// it, once.
const RETRY_WAITS: [Duration; 4] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// Why talking to the parent failed.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("parent {uri}: {source}")]
    Connect { uri: String, source: ClientError },
    #[error("parent {uri}: {what}: {}", status.message())]
    Call {
        uri: String,
        what: &'static str,
        status: tonic::Status,
    },
    #[error(transparent)]
    File(#[from] LeaseFileError),
    #[error("{0}")]
    State(String),
}

impl ChildError {
    /// The gRPC status a caller of the child gets for it.
    pub fn status(&self) -> tonic::Status {
        let msg = self.to_string();
        match self {
            ChildError::Call { status, .. } => match status.code() {
                Code::Unavailable | Code::DeadlineExceeded | Code::Unknown => {
                    tonic::Status::unavailable(msg)
                }
                code => tonic::Status::new(code, msg),
            },
            ChildError::Connect { .. } => tonic::Status::unavailable(msg),
            _ => tonic::Status::internal(msg),
        }
    }

    /// Whether the parent did not answer (rather than refused).
    fn unanswered(&self) -> bool {
        match self {
            ChildError::Connect { .. } => true,
            ChildError::Call { status, .. } => {
                matches!(status.code(), Code::Unavailable | Code::Unknown)
            }
            _ => false,
        }
    }
}

/// The child's side of its lease.
pub struct ParentLink {
    opts: ConnectOptions,
    uri: String,
    state_dir: PathBuf,
    client: Mutex<Option<LeasesClient>>,
    hier: Mutex<Option<HierarchyClient>>,
    file: Mutex<LeaseFile>,
    /// Held across a grow, a shrink or a reconciliation, so that none
    /// sees the graph half changed by another.
    pub resize: Mutex<()>,
}

impl std::fmt::Debug for ParentLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParentLink")
            .field("uri", &self.uri)
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

impl ParentLink {
    /// Find or open this state directory's lease at the parent `opts`
    /// names; the link and the lease's subgraph (JGF). `child` names the
    /// child and `self_uri` says where it serves (for `schedctl tree`);
    /// `jobspec` is what a new lease is granted at once; `adopt` is a
    /// lease the parent opened for this child (an instance job's), read
    /// instead of opened.
    pub async fn start(
        opts: ConnectOptions,
        state_dir: &Path,
        child: &str,
        self_uri: &str,
        jobspec: Option<String>,
        adopt: Option<u64>,
    ) -> Result<(ParentLink, String), ChildError> {
        let uri = client::resolve_uri(opts.uri.as_deref());
        let file = match LeaseFile::load(state_dir)? {
            Some(f) if adopt.is_some_and(|id| f.lease_id != id) => {
                return Err(ChildError::State(format!(
                    "{} holds lease {} of {}, not lease {}: use another --state-dir",
                    state_dir.display(),
                    f.lease_id,
                    f.parent,
                    adopt.unwrap_or(0)
                )))
            }
            Some(f) if f.parent != uri => {
                return Err(ChildError::State(format!(
                    "{} holds a lease of parent {}, not {uri}: use that --parent, or another --state-dir",
                    state_dir.display(),
                    f.parent
                )))
            }
            Some(f) => f,
            None => {
                let f = LeaseFile {
                    parent: uri.clone(),
                    request_id: request_id("open"),
                    // A lease the parent opened is read, not opened.
                    lease_id: adopt.unwrap_or(0),
                    epoch: 0,
                };
                // Before the open is sent: a retry reuses the request id.
                f.save(state_dir)?;
                f
            }
        };
        let link = ParentLink {
            opts,
            uri,
            state_dir: state_dir.to_path_buf(),
            client: Mutex::new(None),
            hier: Mutex::new(None),
            file: Mutex::new(file.clone()),
            resize: Mutex::new(()),
        };
        let lease = if file.lease_id == 0 {
            let req = pb::OpenRequest {
                child: child.to_owned(),
                request_id: file.request_id.clone(),
                jobspec: jobspec.unwrap_or_default(),
                uri: self_uri.to_owned(),
            };
            let mut c = link.client().await?;
            let l = c
                .open(req)
                .await
                .map_err(|s| link.call("opening a lease", s))?
                .into_inner()
                .lease
                .unwrap_or_default();
            info!(lease = l.id, epoch = l.epoch, paths = ?l.paths, "lease opened at the parent");
            l
        } else {
            match link.get().await {
                Ok(l) => {
                    info!(lease = l.id, epoch = l.epoch, paths = ?l.paths, "lease read from the parent");
                    l
                }
                Err(e) if e.unanswered() => match LeaseFile::load_graph(state_dir) {
                    Some(jgf) => {
                        warn!(error = %e, lease = file.lease_id,
                              "parent not answering; starting on the lease as last read");
                        return Ok((link, jgf));
                    }
                    None => return Err(e),
                },
                Err(ChildError::Call { status, .. }) if status.code() == Code::NotFound => {
                    return Err(ChildError::State(format!(
                        "lease {} is gone at the parent {} (closed or lost); remove {} to open a new one",
                        file.lease_id,
                        link.uri,
                        state_dir.join("lease.json").display()
                    )))
                }
                Err(e) => return Err(e),
            }
        };
        link.note(&lease).await?;
        Ok((link, lease.jgf))
    }

    /// The parent's URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The lease id.
    pub async fn lease_id(&self) -> u64 {
        self.file.lock().await.lease_id
    }

    /// The lease epoch this child last saw.
    pub async fn epoch(&self) -> u64 {
        self.file.lock().await.epoch
    }

    /// The lease as the parent holds it (and a heartbeat).
    pub async fn get(&self) -> Result<pb::Lease, ChildError> {
        let lease_id = self.lease_id().await;
        let mut c = self.client().await?;
        let l = c
            .get(pb::GetLeaseRequest { lease_id })
            .await
            .map_err(|s| self.call("reading the lease", s))?
            .into_inner()
            .lease
            .unwrap_or_default();
        Ok(l)
    }

    /// Remember what the parent said the lease is.
    pub async fn note(&self, l: &pb::Lease) -> Result<(), ChildError> {
        let mut f = self.file.lock().await;
        f.lease_id = l.id;
        f.epoch = l.epoch;
        f.save(&self.state_dir)?;
        LeaseFile::save_graph(&self.state_dir, &l.jgf)?;
        Ok(())
    }

    /// Ask the parent for `jobspec` more; only what was added comes back.
    pub async fn grow(&self, jobspec: &str) -> Result<pb::GrowReply, ChildError> {
        let req = pb::GrowRequest {
            lease_id: self.lease_id().await,
            request_id: request_id("grow"),
            jobspec: jobspec.to_owned(),
        };
        let mut last = None;
        for attempt in 0..=RETRY_WAITS.len() {
            if attempt > 0 {
                tokio::time::sleep(RETRY_WAITS[attempt - 1]).await;
            }
            let r = match self.client().await {
                Ok(mut c) => c
                    .grow(req.clone())
                    .await
                    .map_err(|s| self.call("growing the lease", s)),
                Err(e) => Err(e),
            };
            match r {
                Ok(reply) => {
                    let reply = reply.into_inner();
                    self.set_epoch(reply.epoch).await?;
                    return Ok(reply);
                }
                Err(e) if e.unanswered() => {
                    warn!(error = %e, attempt, "grow not answered; trying again");
                    *self.client.lock().await = None;
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ChildError::State("grow: no attempt made".into())))
    }

    /// Give back `paths` as of the epoch this child knows.
    pub async fn release(&self, paths: Vec<String>) -> Result<pb::ReleaseReply, ChildError> {
        let req = pb::ReleaseRequest {
            lease_id: self.lease_id().await,
            paths,
            epoch: self.epoch().await,
        };
        let mut c = self.client().await?;
        let reply = c
            .release(req)
            .await
            .map_err(|s| self.call("releasing part of the lease", s))?
            .into_inner();
        self.set_epoch(reply.epoch).await?;
        Ok(reply)
    }

    /// The epoch a grow or release answered. Kept in memory only: a
    /// restarted child reads its lease from the parent anyway, so a grow
    /// pays for no fsync of the child's.
    /// Grow by `jobspec` at the parent and attach what it granted: the
    /// answer and the vertices added here. Hold [`ParentLink::resize`].
    pub async fn grow_into(
        &self,
        handle: &Handle,
        jobspec: &str,
    ) -> Result<(pb::GrowReply, u64), tonic::Status> {
        let g = self.grow(jobspec).await.map_err(|e| e.status())?;
        let origin = format!("grant {} of the parent", g.grant);
        let jgf = g.jgf.clone();
        let added = handle
            .run(move |i| i.attach_jgf(&jgf, &origin))
            .await
            .map_err(crate::service::status_of)?;
        Ok((g, added))
    }

    /// Detach `paths` (or `idle` idle vertices of `typ`), then release
    /// them at the parent; when the parent refuses or does not answer,
    /// attach them again (they are still ours). With `requeue`, the jobs
    /// running on `paths` go back to the queue first. Hold
    /// [`ParentLink::resize`].
    pub async fn shrink_from(
        &self,
        handle: &Handle,
        paths: Vec<String>,
        idle: u32,
        typ: String,
        requeue: bool,
    ) -> Result<(Detached, pb::ReleaseReply), tonic::Status> {
        // One call on the instance: nothing is scheduled between the
        // requeue and the withholding. The parent takes them back before
        // they leave the graph, so a refusal only makes them up again.
        let withheld = handle
            .run(move |i| {
                if requeue {
                    i.requeue_below(&paths)?;
                }
                i.withhold(&paths, idle, &typ)
            })
            .await
            .map_err(crate::service::status_of)?;
        match self.release(withheld.clone()).await {
            Ok(reply) => {
                let d = handle
                    .run(move |i| i.remove_withheld(&withheld))
                    .await
                    .map_err(crate::service::status_of)?;
                Ok((d, reply))
            }
            Err(e) => {
                let _ = handle
                    .run(move |i| {
                        i.undrain(&withheld);
                        Ok(())
                    })
                    .await;
                let s = e.status();
                Err(tonic::Status::new(
                    s.code(),
                    format!("{}; nothing was given back", s.message()),
                ))
            }
        }
    }

    async fn set_epoch(&self, epoch: u64) -> Result<(), ChildError> {
        self.file.lock().await.epoch = epoch;
        Ok(())
    }

    /// A client of the parent, connecting when there is none.
    async fn client(&self) -> Result<LeasesClient, ChildError> {
        self.cached(&self.client, client::connect_leases(&self.opts))
            .await
    }

    /// A client of the parent's `Hierarchy` service, connecting when
    /// there is none.
    pub async fn hierarchy(&self) -> Result<HierarchyClient, ChildError> {
        self.cached(&self.hier, client::connect_hierarchy(&self.opts))
            .await
    }

    /// The client kept in `slot`, or the one `connect` makes (then kept;
    /// not run when one is kept).
    async fn cached<C, F>(&self, slot: &Mutex<Option<C>>, connect: F) -> Result<C, ChildError>
    where
        C: Clone,
        F: std::future::Future<Output = Result<C, ClientError>>,
    {
        let mut c = slot.lock().await;
        if let Some(c) = c.as_ref() {
            return Ok(c.clone());
        }
        let new = connect.await.map_err(|source| ChildError::Connect {
            uri: self.uri.clone(),
            source,
        })?;
        *c = Some(new.clone());
        Ok(new)
    }

    /// Drop the `Hierarchy` client (a call went unanswered): the next
    /// call connects again.
    pub async fn forget_hierarchy(&self) {
        *self.hier.lock().await = None;
    }

    pub(super) fn call(&self, what: &'static str, status: tonic::Status) -> ChildError {
        ChildError::Call {
            uri: self.uri.clone(),
            what,
            status,
        }
    }
}

/// Read the lease every `every` (the heartbeat); when the parent's epoch
/// is not the one this child knows, make the graph the lease's. Runs
/// until the runtime stops.
pub async fn keep_reconciled(link: Arc<ParentLink>, handle: Handle, every: Duration) {
    let mut unreachable = false;
    loop {
        tokio::time::sleep(every).await;
        let _resizing = link.resize.lock().await;
        let l = match link.get().await {
            Ok(l) => l,
            Err(ChildError::Call { status, .. }) if status.code() == Code::NotFound => {
                // Declared lost (or closed): what it held may be someone
                // else's now. Hold nothing; the daemon goes on serving.
                let lease = link.lease_id().await;
                match handle.run(|i| i.drop_lease()).await {
                    Ok(removed) if removed > 0 => error!(
                        lease,
                        removed, "the parent no longer has this lease; detached everything"
                    ),
                    Ok(_) => {}
                    Err(e) => warn!(error = %e, "detaching a lease the parent dropped"),
                }
                continue;
            }
            Err(e) => {
                if !unreachable {
                    warn!(error = %e, "parent not answering; scheduling on what this child holds");
                }
                unreachable = true;
                continue;
            }
        };
        if unreachable {
            info!(parent = %link.uri, "parent answering again");
            unreachable = false;
        }
        if l.epoch == link.epoch().await {
            continue;
        }
        let jgf = l.jgf.clone();
        match handle
            .run(move |i| i.reconcile(&jgf, "the lease at the parent"))
            .await
        {
            Ok((added, removed)) => {
                info!(
                    lease = l.id,
                    epoch = l.epoch,
                    added,
                    removed,
                    "reconciled with the parent's lease"
                );
                if let Err(e) = link.note(&l).await {
                    warn!(error = %e, "cannot record the lease");
                }
            }
            Err(e) => warn!(error = %e, "reconciling with the parent's lease failed"),
        }
    }
}
