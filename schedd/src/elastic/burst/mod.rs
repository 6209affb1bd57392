//! Cloud burst: an instance adds nodes from a cloud as one more level of
//! its graph, and gives them back when they are not needed.
//!
//! The instance keeps the nodes (`instance/burst_ops.rs`: attached as a
//! `cloud` level, journaled, replayed); this module drives their life.
//! [`Bursts`] holds each pool's [`Provider`](provider::Provider) and what
//! it is doing; [`keep_bursting`] looks every second:
//!
//! - a node that came up is brought up in the graph; a request that failed
//!   or passed the pool's deadline removes its nodes (the graph is as it
//!   was) and is reported (`schedctl burst` shows the pool's last error);
//!   the next burst for the same need waits a back-off (1 s doubling to
//!   a minute) so a failing cloud is not hammered;
//! - a node the provider took back (preemption) leaves the graph and its
//!   jobs are requeued: preemption is not the job's failure;
//! - a node idle past its pool's grace is given back, unless a job waits
//!   that a burst of that pool would serve and the pool has room: then
//!   the idle node may be what it needs;
//! - with `automatic`, the jobs that wait for what only burst nodes can
//!   hold get, in one request, the nodes they need together (each job's
//!   need is what a match on a pristine pool takes), within the pool's
//!   maximum and budget; so does the queue's head once it waited the
//!   pool's `after`. Only while nothing of that pool is provisioning and
//!   no node that just came up is still unused: the instance adds nothing
//!   while an earlier burst may still serve.
//!
//! So a burst grows the graph, a lull shrinks it after the grace, and
//! nothing adds and removes in a loop.
pub mod exec;
pub mod pool;
pub mod provider;
pub mod sim;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::actor::{CallError, Handle};
use crate::instance::{InstanceError, JobId, NodeState};
use pool::PoolConfig;
use provider::Provider;

/// A burst node as (containment path, name).
type Named = (String, String);

/// How often the controller looks.
const EVERY: Duration = Duration::from_secs(1);
/// The longest back-off after a failed burst.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// One pool at run time.
struct Pool {
    cfg: PoolConfig,
    cost_per_hour: f64,
    provider: Box<dyn Provider>,
    /// Requests to bring nodes up still running.
    in_flight: Mutex<usize>,
    /// The last failure and when (Unix seconds), for `schedctl burst`.
    last_error: Mutex<(String, i64)>,
    /// No burst before this (after a failure), and the next back-off.
    hold: Mutex<(Option<Instant>, Duration)>,
}

/// The pools of an instance and their providers.
pub struct Bursts {
    pools: Vec<Pool>,
    handle: Handle,
}

/// What `schedd` sets up for bursting, read before anything serves: the
/// pools' configurations and shapes.
pub struct Setup {
    cfgs: Vec<PoolConfig>,
    loaded: Vec<crate::instance::BurstPool>,
}

impl Setup {
    /// Read the pools `args` describe (none without a provider or a
    /// config file) and their shapes; Err names what is wrong.
    pub fn read(args: &pool::BurstArgs) -> Result<Setup, String> {
        let cfgs = args.pools()?;
        let loaded = cfgs.iter().map(pool::load).collect::<Result<_, _>>()?;
        Ok(Setup { cfgs, loaded })
    }

    /// Tell the instance its pools (before its thread starts).
    pub fn configure(&self, i: &mut crate::instance::Instance) {
        i.set_burst_pools(self.loaded.clone());
    }

    /// Start the controller on the runtime (None without pools).
    pub fn start(
        self,
        handle: Handle,
        rt: &tokio::runtime::Runtime,
    ) -> Result<Option<Arc<Bursts>>, String> {
        if self.cfgs.is_empty() {
            return Ok(None);
        }
        for p in &self.cfgs {
            info!(pool = %p.name, provider = %p.provider, max = p.max_nodes, automatic = p.automatic, "burst pool");
        }
        let b = Bursts::new(self.cfgs, &self.loaded, handle)?;
        rt.spawn(keep_bursting(b.clone()));
        Ok(Some(b))
    }
}

/// A pool as `schedctl burst` shows it.
#[derive(Debug, Clone)]
pub struct PoolView {
    pub cfg: PoolConfig,
    pub last_error: String,
    pub last_error_time: i64,
    /// What one node costs an hour (its shape's cost-per-hour).
    pub cost_per_hour: f64,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Bursts {
    /// The pools `cfgs` describe, their providers made; the instance
    /// behind `handle` must know the same pools (`set_burst_pools`).
    /// `loaded` are the instance's views of the same pools, in order (for
    /// their cost).
    pub fn new(
        cfgs: Vec<PoolConfig>,
        loaded: &[crate::instance::BurstPool],
        handle: Handle,
    ) -> Result<Arc<Bursts>, String> {
        let mut pools = Vec::new();
        for cfg in cfgs {
            let provider = provider::create(&cfg)?;
            let cost = loaded
                .iter()
                .find(|p| p.name == cfg.name)
                .map_or(0, |p| p.cost_micro);
            pools.push(Pool {
                cost_per_hour: cost as f64 / 1e6,
                cfg,
                provider,
                in_flight: Mutex::new(0),
                last_error: Mutex::new((String::new(), 0)),
                hold: Mutex::new((None, EVERY)),
            });
        }
        Ok(Arc::new(Bursts { pools, handle }))
    }

    /// The pools, for `schedctl burst`.
    pub fn pools(&self) -> Vec<PoolView> {
        self.pools
            .iter()
            .map(|p| {
                let (e, t) = p.last_error.lock().map(|g| g.clone()).unwrap_or_default();
                PoolView {
                    cfg: p.cfg.clone(),
                    last_error: e,
                    last_error_time: t,
                    cost_per_hour: p.cost_per_hour,
                }
            })
            .collect()
    }

    fn pool(&self, name: &str) -> Result<&Pool, InstanceError> {
        if name.is_empty() {
            return self.pools.first().ok_or_else(|| {
                InstanceError::Unsupported("this instance has no burst pool".into())
            });
        }
        self.pools
            .iter()
            .find(|p| p.cfg.name == name)
            .ok_or_else(|| InstanceError::NotFound(format!("no burst pool named '{name}'")))
    }

    /// Add `n` nodes of pool `name` (the first pool when empty) for
    /// `for_job`: journaled (provisioning) before this returns, then
    /// brought up by the provider in the background. Their paths.
    pub async fn add(
        self: &Arc<Self>,
        name: &str,
        n: u64,
        for_job: Option<JobId>,
        shape: Option<resource_graph::ResourceGraph>,
    ) -> Result<Vec<String>, CallError> {
        let p = self.pool(name)?;
        let pool = p.cfg.name.clone();
        let budget = p.cfg.budget.map(|b| (b * 1e6) as i64);
        let (paths, names) = self
            .handle
            .run(move |i| {
                let paths = i.burst_add(&pool, n, for_job, shape.as_ref(), budget)?;
                let names = i
                    .burst_nodes()
                    .into_iter()
                    .filter(|x| paths.contains(&x.path))
                    .map(|x| (x.path, x.name))
                    .collect::<Vec<_>>();
                Ok((paths, names))
            })
            .await?;
        if let Ok(mut f) = p.in_flight.lock() {
            *f += 1;
        }
        let me = self.clone();
        let pool = p.cfg.name.clone();
        tokio::spawn(async move { me.bring_up(&pool, names).await });
        Ok(paths)
    }

    /// Ask pool `pool`'s provider to bring `nodes` (path, name) up, and
    /// act on its answer (see the module documentation).
    async fn bring_up(self: Arc<Self>, pool: &str, nodes: Vec<Named>) {
        let Ok(p) = self.pool(pool) else {
            return;
        };
        let names: Vec<String> = nodes.iter().map(|(_, n)| n.clone()).collect();
        let deadline = Duration::from_secs(p.cfg.deadline);
        let answer = match tokio::time::timeout(deadline, p.provider.up(&names)).await {
            Ok(a) => a,
            Err(_) => Err(format!(
                "the nodes were not up within the deadline of {}",
                crate::units::human_duration(p.cfg.deadline)
            )),
        };
        if let Ok(mut f) = p.in_flight.lock() {
            *f = f.saturating_sub(1);
        }
        let (up, failed): (Vec<Named>, Vec<Named>) = match &answer {
            Ok(up) => nodes.into_iter().partition(|(_, n)| up.contains(n)),
            Err(_) => (Vec::new(), nodes),
        };
        if !up.is_empty() {
            let paths: Vec<String> = up.iter().map(|(p, _)| p.clone()).collect();
            if let Err(e) = self.handle.run(move |i| i.burst_up(&paths)).await {
                warn!(pool, error = %e, "could not bring burst nodes up");
            }
            if let Ok(mut h) = p.hold.lock() {
                *h = (None, EVERY);
            }
        }
        if failed.is_empty() {
            return;
        }
        let why = match &answer {
            Err(e) => e.clone(),
            Ok(_) => "the provider did not bring them up".to_owned(),
        };
        warn!(pool, nodes = ?failed, error = %why, "burst failed; nodes removed");
        self.note_error(p, &format!("{}: {why}", join_names(&failed)));
        if let Ok(mut h) = p.hold.lock() {
            let wait = h.1;
            *h = (Some(Instant::now() + wait), (wait * 2).min(MAX_BACKOFF));
        }
        self.remove(p, failed, &format!("burst failed: {why}"))
            .await;
    }

    /// Take `nodes` out of the graph (requeueing what ran there, with
    /// `why`) and give them back to the provider.
    async fn remove(&self, p: &Pool, nodes: Vec<Named>, why: &str) {
        let paths: Vec<String> = nodes.iter().map(|(p, _)| p.clone()).collect();
        let why2 = why.to_owned();
        match self
            .handle
            .run(move |i| i.burst_remove(&paths, &why2, true))
            .await
        {
            Ok(requeued) if !requeued.is_empty() => {
                info!(pool = %p.cfg.name, jobs = ?requeued, why, "jobs on removed burst nodes requeued")
            }
            Ok(_) => {}
            Err(e) => warn!(pool = %p.cfg.name, error = %e, "could not remove burst nodes"),
        }
        let names: Vec<String> = nodes.into_iter().map(|(_, n)| n).collect();
        if let Err(e) = p.provider.down(&names).await {
            warn!(pool = %p.cfg.name, error = %e, "giving burst nodes back failed");
            self.note_error(p, &format!("down {}: {e}", names.join(",")));
        }
    }

    /// Remove burst nodes by name or path (`schedctl burst --remove`):
    /// busy ones are refused unless `requeue`. The paths removed and the
    /// jobs requeued.
    pub async fn remove_named(
        &self,
        which: Vec<String>,
        requeue: bool,
    ) -> Result<(Vec<String>, Vec<JobId>), CallError> {
        let nodes = self.handle.run(|i| Ok(i.burst_nodes())).await?;
        let mut picked = Vec::new();
        for w in &which {
            let n = nodes
                .iter()
                .find(|n| &n.path == w || &n.name == w)
                .ok_or_else(|| InstanceError::NotFound(format!("{w} is not a burst node")))?;
            picked.push(n.clone());
        }
        let paths: Vec<String> = picked.iter().map(|n| n.path.clone()).collect();
        let p2 = paths.clone();
        let requeued = self
            .handle
            .run(move |i| i.burst_remove(&p2, "its burst node was removed by hand", requeue))
            .await?;
        for n in picked {
            if let Ok(p) = self.pool(&n.pool) {
                if let Err(e) = p.provider.down(std::slice::from_ref(&n.name)).await {
                    self.note_error(p, &format!("down {}: {e}", n.name));
                }
            }
        }
        Ok((paths, requeued))
    }

    fn note_error(&self, p: &Pool, e: &str) {
        if let Ok(mut l) = p.last_error.lock() {
            *l = (e.to_owned(), unix_now());
        }
    }

    /// One look (see the module documentation).
    async fn tick(self: &Arc<Self>) {
        // Preempted nodes go; their jobs are requeued.
        for p in &self.pools {
            let gone = p.provider.preempted();
            if gone.is_empty() {
                continue;
            }
            let nodes = self.named(&gone).await;
            warn!(pool = %p.cfg.name, nodes = ?gone, "burst nodes preempted");
            self.remove(p, nodes, "its burst node was preempted").await;
        }
        // Idle nodes go after their grace, unless a job may want them.
        let grace: HashMap<String, i64> = self
            .pools
            .iter()
            .map(|p| (p.cfg.name.clone(), p.cfg.idle as i64))
            .collect();
        let after: Option<i64> = self
            .pools
            .iter()
            .filter(|p| p.cfg.automatic && p.cfg.after > 0)
            .map(|p| p.cfg.after as i64)
            .min();
        let auto = self.pools.iter().any(|p| p.cfg.automatic);
        let look = self
            .handle
            .run(move |i| {
                let idle = i.burst_idle(&grace);
                let want = if auto { i.burst_want(after) } else { None };
                let live = i.burst_nodes();
                Ok((idle, want, live))
            })
            .await;
        let Ok((idle, want, live)) = look else {
            return;
        };
        let live_of = |pool: &str| live.iter().filter(|n| n.pool == pool).count() as u64;
        for p in &self.pools {
            let mine: Vec<Named> = live
                .iter()
                .filter(|n| n.pool == p.cfg.name && idle.contains(&n.path))
                .map(|n| (n.path.clone(), n.name.clone()))
                .collect();
            if mine.is_empty() {
                continue;
            }
            let wanted = want.as_ref().is_some_and(|w| {
                w.pool == p.cfg.name && live_of(&p.cfg.name) + w.nodes <= p.cfg.max_nodes
            });
            if wanted {
                continue;
            }
            info!(pool = %p.cfg.name, nodes = ?mine, "burst nodes idle past their grace; given back");
            self.remove(p, mine, "its burst node was idle").await;
        }
        let Some(w) = want else {
            return;
        };
        let Ok(p) = self.pool(&w.pool) else {
            return;
        };
        if !p.cfg.automatic || p.in_flight.lock().map_or(true, |f| *f > 0) {
            return;
        }
        let provisioning = live
            .iter()
            .any(|n| n.pool == w.pool && n.state == NodeState::Provisioning);
        let held = p
            .hold
            .lock()
            .map_or(true, |h| h.0.is_some_and(|t| Instant::now() < t));
        if provisioning || held {
            return;
        }
        match self.add(&w.pool, w.nodes, Some(w.job), None).await {
            Ok(paths) => {
                info!(job_id = w.job, pool = %w.pool, nodes = ?paths, "burst for a waiting job")
            }
            Err(e) => {
                self.note_error(p, &format!("burst for job {}: {e}", w.job));
                if let Ok(mut h) = p.hold.lock() {
                    let wait = h.1;
                    *h = (Some(Instant::now() + wait), (wait * 2).min(MAX_BACKOFF));
                }
            }
        }
    }

    /// (path, name) of the burst nodes named.
    async fn named(&self, names: &[String]) -> Vec<Named> {
        let names = names.to_vec();
        self.handle
            .run(move |i| {
                Ok(i.burst_nodes()
                    .into_iter()
                    .filter(|n| names.contains(&n.name))
                    .map(|n| (n.path, n.name))
                    .collect::<Vec<_>>())
            })
            .await
            .unwrap_or_default()
    }

    /// At start: nodes still provisioning lost their request with the
    /// last run; they go (and are given back), so a new burst can be made.
    async fn forget_lost_requests(self: &Arc<Self>) {
        let Ok(live) = self.handle.run(|i| Ok(i.burst_nodes())).await else {
            return;
        };
        for p in &self.pools {
            let lost: Vec<Named> = live
                .iter()
                .filter(|n| n.pool == p.cfg.name && n.state == NodeState::Provisioning)
                .map(|n| (n.path.clone(), n.name.clone()))
                .collect();
            if !lost.is_empty() {
                warn!(pool = %p.cfg.name, nodes = ?lost, "provisioning lost at a restart; nodes removed");
                self.remove(p, lost, "its burst request was lost at a restart")
                    .await;
            }
        }
        // Nodes of a pool no longer configured cannot be managed: they go.
        let orphans: Vec<Named> = live
            .iter()
            .filter(|n| self.pools.iter().all(|p| p.cfg.name != n.pool))
            .map(|n| (n.path.clone(), n.name.clone()))
            .collect();
        if !orphans.is_empty() {
            let paths: Vec<String> = orphans.iter().map(|(p, _)| p.clone()).collect();
            warn!(nodes = ?paths, "burst nodes of a pool no longer configured; removed");
            let _ = self
                .handle
                .run(move |i| i.burst_remove(&paths, "its burst pool is gone", true))
                .await;
        }
    }
}

fn join_names(nodes: &[Named]) -> String {
    nodes
        .iter()
        .map(|(_, n)| n.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Drive the pools' nodes (see the module documentation) until the
/// runtime stops.
pub async fn keep_bursting(b: Arc<Bursts>) {
    b.forget_lost_requests().await;
    loop {
        tokio::time::sleep(EVERY).await;
        b.tick().await;
    }
}
