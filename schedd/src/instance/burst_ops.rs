//! Cloud burst, the instance's side: burst nodes are a `cloud` level of
//! the graph, added and removed as mutations (see `elastic/burst` for the
//! controller and the providers).
//!
//! A node is attached *provisioning* (down: nothing is matched there) and
//! journaled with its part of the graph in the same batch; it comes *up*
//! when its provider says so; it is removed when it stayed idle past its
//! pool's grace, when provisioning failed or missed its deadline, or when
//! the provider took it back (preemption: the jobs running there are
//! requeued, not failed). Replay attaches the journaled nodes again
//! before it books the jobs running there.
//!
//! The pools' shapes also answer, at submit, whether a job that this graph
//! cannot hold could run on burst nodes (up to each pool's maximum, on
//! burst nodes alone): such a job is queued and waits for a burst.
use std::collections::{BTreeMap, HashMap};

use matcher::constraint::{Constraint, Property};
use matcher::jobspec::Jobspec;
use matcher::policy;
use matcher::traverser::MatchOp;
use matcher::Matcher;
use resource_graph::level::{self, Level};
use resource_graph::{ResourceGraph, Status, VertexIdx};
use tracing::{info, warn};

use super::spec::Spec;
use super::writers::{Discard, Tee};
use super::{Instance, InstanceError, JobId, JobState};
use crate::journal::BurstRecord;

/// The level burst nodes hang from, below the root.
pub const CLOUD_LEVEL: Level<'static> = Level {
    typ: "cloud",
    basename: "cloud",
    id: 0,
};

/// Seconds after a burst node came up during which no new burst is
/// asked for: the scheduler has not had its pass over it yet.
const SETTLE: i64 = 2;

/// The most burst nodes submit judges a job on (a pool may hold more):
/// a job that needs more burst nodes than this is refused at submit.
const POTENTIAL_NODES: u64 = 1024;

/// How many pending jobs, from the queue's head, a look for jobs that
/// want a burst reads (a queue of a million jobs is not read every
/// second).
const LOOK_AHEAD: usize = 1024;

/// An amount in millionths, as people read it.
fn money(micro: i64) -> String {
    format!("{:.4}", micro as f64 / 1e6)
}

/// A pool of burst nodes as the instance knows it: its shape and bounds.
#[derive(Clone)]
pub struct BurstPool {
    /// Its name (the `cloud` property of its nodes).
    pub name: String,
    /// One node: the shape's containment root is copied for each.
    pub shape: ResourceGraph,
    /// Most nodes of this pool at once.
    pub max_nodes: u64,
    /// What one node costs an hour, in millionths of the budget's unit.
    pub cost_micro: i64,
}

/// Where a burst node is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// In the graph, down: its provider is bringing it up.
    Provisioning,
    /// Up: jobs run there.
    Up,
}

impl NodeState {
    /// The name the journal and the API use.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Provisioning => "provisioning",
            NodeState::Up => "up",
        }
    }
}

/// One burst node, as `schedctl burst` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurstNode {
    /// Its containment path.
    pub path: String,
    /// Its name (the last part of the path).
    pub name: String,
    /// Its pool.
    pub pool: String,
    pub state: NodeState,
    /// When it was added, and when it came up (0: not yet).
    pub added: i64,
    pub up_at: i64,
    /// Since when no job has used it (the instance's clock).
    pub idle_since: i64,
    /// Jobs holding anything there.
    pub jobs: Vec<JobId>,
}

/// A pending job a burst could serve: `nodes` nodes of pool `pool`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    pub job: JobId,
    pub pool: String,
    pub nodes: u64,
}

/// The instance's burst state (empty when no pool is configured).
#[derive(Default)]
pub(super) struct Bursts {
    pools: Vec<BurstPool>,
    nodes: BTreeMap<String, BurstNode>,
    /// Per pool, a matcher on `max_nodes` copies of its shape, built when
    /// first asked, and the nodes each request shape needs there.
    potential: HashMap<String, (Matcher, HashMap<String, Option<u64>>)>,
    /// Request shapes known cloud-bound or not, on the graph of version
    /// `.0`.
    bound: (u64, HashMap<String, bool>),
    /// What nodes already gone cost, in millionths.
    spent_micro: i64,
}

impl Instance {
    /// Configure the burst pools (schedd does this once, at start).
    pub fn set_burst_pools(&mut self, pools: Vec<BurstPool>) {
        self.burst.pools = pools;
        self.burst.potential.clear();
    }

    /// Add `n` nodes of pool `pool`, provisioning (down), journaled with
    /// their parts of the graph; their paths. They are copies of `shape`
    /// (a node), or of the pool's. `for_job` is the job they are for: its
    /// pending reason says it waits for them. Refused (nothing added) past
    /// the pool's maximum, or past `budget` (millionths): what was spent
    /// plus one more hour of every node of the pool must stay within it.
    pub fn burst_add(
        &mut self,
        pool: &str,
        n: u64,
        for_job: Option<JobId>,
        shape: Option<&ResourceGraph>,
        budget: Option<i64>,
    ) -> Result<Vec<String>, InstanceError> {
        let p = self
            .burst
            .pools
            .iter()
            .find(|p| p.name == pool)
            .ok_or_else(|| InstanceError::NotFound(format!("no burst pool named '{pool}'")))?;
        if n == 0 {
            return Err(InstanceError::BadRequest(
                "nodes: must be at least 1".into(),
            ));
        }
        let live = self.burst.nodes.values().filter(|x| x.pool == pool).count() as u64;
        if live.saturating_add(n) > p.max_nodes {
            return Err(InstanceError::Conflict(format!(
                "pool '{pool}' holds {live} of its {} nodes; {n} more would pass its maximum",
                p.max_nodes
            )));
        }
        if let Some(b) = budget {
            let spent = self.burst_spent();
            let hour = (live + n) as i64 * p.cost_micro;
            if spent.saturating_add(hour) > b {
                return Err(InstanceError::Conflict(format!(
                    "pool '{pool}': {n} more node(s) could pass its budget of {} \
                     (spent {}; one more hour of {} node(s) at {} costs {})",
                    money(b),
                    money(spent),
                    live + n,
                    money(p.cost_micro),
                    money(hour)
                )));
            }
        }
        let s = shape.unwrap_or(&p.shape);
        let cont = s.symbols.get("containment");
        let top = cont
            .and_then(|c| s.roots.get(&c).copied())
            .ok_or_else(|| InstanceError::BadRequest(format!("pool '{pool}': empty shape")))?;
        let typ = s.name_of(s.g[top].typ).to_owned();
        let base = s.name_of(s.g[top].basename);
        let copies = level::fresh_copies(self.m.graph(), &typ, base, n as usize);
        let now = self.clock.now();
        // One part, one attach: all the nodes come, or none.
        let part = level::copies_below(
            self.m.graph(),
            "containment",
            CLOUD_LEVEL,
            s,
            &copies,
            &[("cloud", pool)],
            true,
        )
        .map_err(InstanceError::BadRequest)?;
        let added = self
            .m
            .grow(&part)
            .map_err(|e| InstanceError::BadRequest(format!("burst pool '{pool}': {e}")))?;
        let g = self.m.graph();
        let nodes: Vec<VertexIdx> = added
            .iter()
            .copied()
            .filter(|&v| g.name_of(g.g[v].typ) == typ && g.g[v].status == Status::Down)
            .collect();
        let mut paths = Vec::new();
        for node in nodes {
            let path = self.path_of(node);
            let rec = BurstRecord {
                path: path.clone(),
                pool: pool.to_owned(),
                state: NodeState::Provisioning.as_str().into(),
                added: now,
                up_at: 0,
                part: self.node_part(node),
            };
            self.jr(|j| j.burst_add(&rec))?;
            self.burst.nodes.insert(
                path.clone(),
                BurstNode {
                    name: self.m.graph().name(node),
                    path: path.clone(),
                    pool: pool.to_owned(),
                    state: NodeState::Provisioning,
                    added: now,
                    up_at: 0,
                    idle_since: now,
                    jobs: Vec::new(),
                },
            );
            paths.push(path);
        }
        if let Some(j) = for_job.and_then(|id| self.jobs.get_mut(&id)) {
            if j.state == JobState::Pending {
                j.reason =
                    format!("waiting for a burst: {n} node(s) of pool '{pool}' provisioning");
            }
        }
        info!(pool, nodes = ?paths, "burst nodes added, provisioning");
        Ok(paths)
    }

    /// The burst nodes at `paths` came up: jobs may run there at once.
    /// Paths that are not provisioning burst nodes are skipped; how many
    /// came up.
    pub fn burst_up(&mut self, paths: &[String]) -> Result<usize, InstanceError> {
        let now = self.clock.now();
        let mut n = 0;
        for path in paths {
            let Some(node) = self.burst.nodes.get(path) else {
                continue;
            };
            if node.state != NodeState::Provisioning {
                continue;
            }
            let Some(v) = self.m.find_path(path) else {
                continue;
            };
            self.jr(|j| j.burst_up(path, now))?;
            self.m.set_status(v, Status::Up);
            if let Some(node) = self.burst.nodes.get_mut(path) {
                node.state = NodeState::Up;
                node.up_at = now;
                node.idle_since = now;
            }
            n += 1;
        }
        if n > 0 {
            self.queue.mark_dirty();
            info!(nodes = n, "burst nodes up");
        }
        Ok(n)
    }

    /// Remove the burst nodes at `paths` from the graph. With `requeue`,
    /// the jobs running there go back to the queue with `why` (a
    /// preempted or failed node is not their failure); without, busy
    /// nodes are refused naming their jobs, and nothing is removed.
    /// The jobs requeued.
    pub fn burst_remove(
        &mut self,
        paths: &[String],
        why: &str,
        requeue: bool,
    ) -> Result<Vec<JobId>, InstanceError> {
        let mut found = Vec::new();
        let mut busy = Vec::new();
        for path in paths {
            if !self.burst.nodes.contains_key(path) {
                return Err(InstanceError::NotFound(format!(
                    "{path} is not a burst node"
                )));
            }
            let v = self
                .m
                .find_path(path)
                .ok_or_else(|| InstanceError::NotFound(format!("no vertex at path {path}")))?;
            let jobs = self.running_below(v);
            if !jobs.is_empty() && !requeue {
                busy.push(format!("{path} (jobs {})", super::child_ops::join(&jobs)));
            }
            found.push((path.clone(), jobs));
        }
        if !busy.is_empty() {
            return Err(InstanceError::Conflict(format!(
                "busy: {}; wait for those jobs to end or cancel them",
                busy.join(", ")
            )));
        }
        let now = self.clock.now();
        let mut requeued = Vec::new();
        for (path, jobs) in found {
            for id in jobs {
                match self.requeue(id, why) {
                    Ok(()) => requeued.push(id),
                    Err(e) => warn!(job_id = id, error = %e, "could not requeue"),
                }
            }
            self.jr(|j| j.burst_remove(&path))?;
            if let Some(node) = self.burst.nodes.remove(&path) {
                let cost = self.burst_pool_cost(&node.pool);
                let secs = (now - node.added).max(0);
                self.burst.spent_micro = self
                    .burst
                    .spent_micro
                    .saturating_add(cost.saturating_mul(secs) / 3600);
            }
            if let Err(e) = self.m.shrink_path(&path) {
                warn!(path, error = %e, "burst node already gone from the graph");
            }
        }
        let spent = self.burst.spent_micro;
        self.jr(|j| j.set_burst_spent(spent))?;
        self.drop_empty_level();
        self.queue.mark_dirty();
        info!(nodes = ?paths, why, requeued = requeued.len(), "burst nodes removed");
        Ok(requeued)
    }

    /// Every burst node, by path, with the jobs there now.
    pub fn burst_nodes(&self) -> Vec<BurstNode> {
        self.burst
            .nodes
            .values()
            .map(|n| {
                let mut n = n.clone();
                n.jobs = self
                    .m
                    .find_path(&n.path)
                    .map(|v| self.running_below(v))
                    .unwrap_or_default();
                n
            })
            .collect()
    }

    /// What burst nodes have cost so far, in millionths: the nodes gone,
    /// and the live ones up to now.
    pub fn burst_spent(&self) -> i64 {
        let now = self.clock.now();
        let live: i64 = self
            .burst
            .nodes
            .values()
            .map(|n| {
                self.burst_pool_cost(&n.pool)
                    .saturating_mul((now - n.added).max(0))
                    / 3600
            })
            .sum();
        self.burst.spent_micro.saturating_add(live)
    }

    /// Up burst nodes no job has used for `grace` seconds or more (per
    /// pool: `grace` names each pool's), by path. Notes which are busy
    /// now, so call it regularly.
    pub fn burst_idle(&mut self, grace: &HashMap<String, i64>) -> Vec<String> {
        let now = self.clock.now();
        let busy: Vec<(String, bool)> = self
            .burst
            .nodes
            .values()
            .map(|n| {
                let used = self
                    .m
                    .find_path(&n.path)
                    .is_some_and(|v| !self.m.jobs_below(v).is_empty());
                (n.path.clone(), used)
            })
            .collect();
        let mut idle = Vec::new();
        for (path, used) in busy {
            let Some(n) = self.burst.nodes.get_mut(&path) else {
                continue;
            };
            if used || n.state != NodeState::Up {
                n.idle_since = now;
                continue;
            }
            let g = grace.get(&n.pool).copied().unwrap_or(i64::MAX);
            if now - n.idle_since >= g {
                idle.push(path);
            }
        }
        idle
    }

    /// What a burst should bring now. The waiting jobs only burst nodes
    /// can hold (no node of the cluster could: *cloud-bound*), not
    /// reserved, in queue order: the first pool that could hold the first
    /// of them, for as many nodes as those of them it could hold need
    /// together, within the room the pool has. Else the queue's head once
    /// it has waited `after` seconds, while no burst node is provisioning
    /// or idle. None when no pool could hold any, or while a burst node
    /// that just came up holds nothing yet.
    pub fn burst_want(&mut self, after: Option<i64>) -> Option<Want> {
        if self.burst.pools.is_empty() {
            return None;
        }
        let now = self.clock.now();
        let spare = self.burst.nodes.values().any(|n| {
            n.state == NodeState::Provisioning
                || (n.state == NodeState::Up && self.burst_node_idle(&n.path))
        });
        // Nodes that came up a moment ago and hold nothing yet: the next
        // scheduling pass may give them the very jobs that wait.
        let settling = self.burst.nodes.values().any(|n| {
            n.state == NodeState::Up && now - n.up_at <= SETTLE && self.burst_node_idle(&n.path)
        });
        if settling {
            return None;
        }
        let ids: Vec<JobId> = self.queue.in_order().take(LOOK_AHEAD).collect();
        let mut want: Option<Want> = None;
        for (k, id) in ids.into_iter().enumerate() {
            let Some(spec) = self.specs.get(&id).cloned() else {
                continue;
            };
            let Some(j) = self.jobs.get(&id) else {
                continue;
            };
            if j.reserved_at > 0 {
                // It starts on what is here.
                continue;
            }
            let waited = now - j.submit_time;
            let head_due = k == 0 && !spare && after.is_some_and(|a| waited >= a);
            let bound = self.cloud_bound(&spec);
            if !head_due && !bound {
                continue;
            }
            let Some((pool, nodes)) = self.burst_need(&spec) else {
                continue;
            };
            match &mut want {
                None if !bound => {
                    return Some(Want {
                        job: id,
                        pool,
                        nodes,
                    })
                }
                None => {
                    want = Some(Want {
                        job: id,
                        pool,
                        nodes,
                    })
                }
                Some(w) if w.pool == pool => {
                    if w.nodes.saturating_add(nodes) > self.burst_room(&pool) {
                        break;
                    }
                    w.nodes += nodes;
                }
                Some(_) => {}
            }
        }
        want
    }

    /// How many more nodes pool `pool` may have.
    fn burst_room(&self, pool: &str) -> u64 {
        let live = self.burst.nodes.values().filter(|n| n.pool == pool).count() as u64;
        self.burst
            .pools
            .iter()
            .find(|p| p.name == pool)
            .map_or(0, |p| p.max_nodes.saturating_sub(live))
    }

    /// Whether no node of the cluster could ever hold `spec`: it is not
    /// satisfiable once burst nodes are ruled out (every shape of a
    /// flexible job). Cached per request shape until the graph changes.
    fn cloud_bound(&mut self, spec: &Spec) -> bool {
        let version = self.m.graph().version();
        if self.burst.bound.0 != version {
            self.burst.bound = (version, HashMap::new());
        }
        let mut bound = true;
        for js in spec.shapes() {
            let key = format!("{:?}|{:?}", js.resources, js.constraint);
            if let Some(&b) = self.burst.bound.1.get(&key) {
                bound &= b;
                continue;
            }
            let mut on_prem = js.clone();
            let not_cloud = Constraint::Properties(vec![Property {
                name: "cloud".into(),
                present: false,
            }]);
            on_prem.constraint = Some(match on_prem.constraint.take() {
                Some(c) => Constraint::And(vec![c, not_cloud]),
                None => not_cloud,
            });
            self.m.set_now(self.clock.now());
            let b = self
                .m
                .run(
                    &on_prem,
                    MatchOp::Satisfiability,
                    self.next_id,
                    &mut Discard,
                )
                .is_err();
            if self.burst.bound.1.len() < 4096 {
                self.burst.bound.1.insert(key, b);
            }
            bound &= b;
        }
        bound
    }

    /// A job just queued that only burst nodes can hold waits for a
    /// burst: its pending reason says so.
    pub(super) fn note_burst_wait(&mut self, id: JobId) {
        if self.burst.pools.is_empty() {
            return;
        }
        let Some(spec) = self.specs.get(&id).cloned() else {
            return;
        };
        if self.cloud_bound(&spec) {
            if let Some(j) = self.jobs.get_mut(&id) {
                j.reason = "waiting for a burst: only burst nodes can hold it".into();
            }
        }
    }

    /// Whether burst nodes could ever hold `spec` (a job this graph
    /// cannot hold is then queued to wait for a burst).
    pub(super) fn burst_could_hold(&mut self, spec: &Spec) -> bool {
        self.burst_need(spec).is_some()
    }

    /// The first pool that could hold `spec` on its own nodes, and how
    /// many nodes of it the job needs (a match on a pristine pool).
    fn burst_need(&mut self, spec: &Spec) -> Option<(String, u64)> {
        let names: Vec<String> = self.burst.pools.iter().map(|p| p.name.clone()).collect();
        for name in names {
            for js in spec.shapes() {
                if let Some(n) = self.pool_need(&name, js) {
                    return Some((name, n));
                }
            }
        }
        None
    }

    fn pool_need(&mut self, pool: &str, js: &Jobspec) -> Option<u64> {
        if !self.burst.potential.contains_key(pool) {
            let built = self.potential_of(pool)?;
            self.burst
                .potential
                .insert(pool.to_owned(), (built, HashMap::new()));
        }
        let (m, known) = self.burst.potential.get_mut(pool)?;
        let key = format!("{:?}|{:?}", js.resources, js.constraint);
        if let Some(&n) = known.get(&key) {
            return n;
        }
        let mut picked: Vec<(VertexIdx, u32, bool)> = Vec::new();
        let mut tee = Tee {
            out: &mut Discard,
            also: None,
            picked: &mut picked,
        };
        const PROBE: u64 = u64::MAX;
        let n = match m.run(js, MatchOp::Allocate, PROBE, &mut tee) {
            Ok(_) => {
                let g = m.graph();
                let mut nodes: Vec<VertexIdx> = picked
                    .iter()
                    .filter_map(|&(v, _, _)| {
                        std::iter::once(v)
                            .chain(g.ancestors(v, m.dominant()))
                            .find(|&u| g.name_of(g.g[u].typ) == "node")
                    })
                    .collect();
                nodes.sort();
                nodes.dedup();
                m.cancel(PROBE);
                Some(nodes.len().max(1) as u64)
            }
            Err(_) => None,
        };
        if known.len() < 4096 {
            known.insert(key, n);
        }
        n
    }

    /// A matcher on `max_nodes` (at most [`POTENTIAL_NODES`]) copies of
    /// the pool's shape, all up.
    fn potential_of(&self, pool: &str) -> Option<Matcher> {
        let p = self.burst.pools.iter().find(|p| p.name == pool)?;
        let mut g = ResourceGraph::new();
        g.add_cluster_root();
        let s = &p.shape;
        let top = s.roots.get(&s.symbols.get("containment")?).copied()?;
        let (typ, base) = (s.name_of(s.g[top].typ), s.name_of(s.g[top].basename));
        let n = p.max_nodes.min(POTENTIAL_NODES) as usize;
        let copies = level::fresh_copies(&g, typ, base, n);
        let part = level::copies_below(
            &g,
            "containment",
            CLOUD_LEVEL,
            s,
            &copies,
            &[("cloud", pool)],
            false,
        )
        .ok()?;
        g.attach(&part, "containment").ok()?;
        let pol = policy::create(&self.cfg.policy, &g).ok()?;
        Matcher::new(g, pol, &["containment"], &self.cfg.prune_filters).ok()
    }

    /// What one node of pool `pool` costs an hour, in millionths.
    pub fn burst_pool_cost(&self, pool: &str) -> i64 {
        self.burst
            .pools
            .iter()
            .find(|p| p.name == pool)
            .map_or(0, |p| p.cost_micro)
    }

    fn burst_node_idle(&self, path: &str) -> bool {
        self.m
            .find_path(path)
            .is_some_and(|v| self.m.jobs_below(v).is_empty())
    }

    /// Running jobs holding anything at or below `v`.
    fn running_below(&self, v: VertexIdx) -> Vec<JobId> {
        self.m
            .jobs_below(v)
            .into_iter()
            .filter(|id| {
                self.jobs
                    .get(id)
                    .is_some_and(|j| j.state == JobState::Running)
            })
            .collect()
    }

    /// Node `node`'s part of the graph as JGF: the root, the `cloud` level
    /// and the node's subtree (what replay attaches again).
    fn node_part(&self, node: VertexIdx) -> String {
        let g = self.m.graph();
        let mut vs: Vec<VertexIdx> = g.ancestors(node, self.dom).collect();
        vs.reverse();
        vs.extend(g.subtree(node, self.dom));
        let keep: std::collections::HashSet<VertexIdx> = vs.iter().copied().collect();
        resource_graph::jgf_write::write_part(g, vs.iter().copied(), |v| keep.contains(&v))
    }

    /// Remove the `cloud` level once its last node is gone.
    fn drop_empty_level(&mut self) {
        let g = self.m.graph();
        let Some(root) = g.roots.get(&self.dom).copied() else {
            return;
        };
        let level = g
            .out_edges(root)
            .iter()
            .map(|&e| g.target(e))
            .find(|&v| g.name_of(g.g[v].typ) == CLOUD_LEVEL.typ);
        if let Some(v) = level {
            if g.out_edges(v).is_empty() {
                let path = self.path_of(v);
                let _ = self.m.shrink_path(&path);
            }
        }
    }

    /// Replay: attach the journaled burst nodes again (before jobs are
    /// booked on them), up or provisioning as they were.
    pub(super) fn replay_burst(&mut self, recs: Vec<BurstRecord>) {
        for r in recs {
            let part = match resource_graph::jgf::read(&r.part, "journal: burst node") {
                Ok(p) => p,
                Err(e) => {
                    warn!(path = %r.path, error = %e, "journal: a burst node's part does not read; dropped");
                    let _ = self.jr(|j| j.burst_remove(&r.path));
                    continue;
                }
            };
            if let Err(e) = self.m.grow(&part) {
                warn!(path = %r.path, error = %e, "journal: a burst node does not attach; dropped");
                let _ = self.jr(|j| j.burst_remove(&r.path));
                continue;
            }
            let Some(v) = self.m.find_path(&r.path) else {
                continue;
            };
            let state = if r.state == "up" {
                NodeState::Up
            } else {
                NodeState::Provisioning
            };
            self.m.set_status(
                v,
                if state == NodeState::Up {
                    Status::Up
                } else {
                    Status::Down
                },
            );
            self.burst.nodes.insert(
                r.path.clone(),
                BurstNode {
                    name: self.m.graph().name(v),
                    path: r.path,
                    pool: r.pool,
                    state,
                    added: r.added,
                    up_at: r.up_at,
                    idle_since: r.up_at.max(r.added),
                    jobs: Vec::new(),
                },
            );
        }
    }

    /// Replay: what gone burst nodes cost.
    pub(super) fn replay_burst_spent(&mut self, micro: i64) {
        self.burst.spent_micro = micro;
    }
}
