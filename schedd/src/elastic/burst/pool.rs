//! Burst pools: what `schedd --burst-*` or a `--burst-config` file says
//! about each pool (its provider, node shape, bounds and timings), read
//! and checked before anything serves.
//!
//! A config file is YAML:
//!
//! ```yaml
//! pools:
//!   - name: cloud            # the `cloud` property of its nodes
//!     provider: exec         # sim or exec
//!     shape: grugs/cloud-node.yaml   # a recipe whose root is one node
//!     max_nodes: 16
//!     idle: 5m               # removed after this long idle
//!     deadline: 10m          # removed when not up by then
//!     automatic: true        # burst on its own for waiting jobs
//!     after: 0               # also for the queue's head after this wait (0: never)
//!     budget: 100            # in the unit of the shape's cost-per-hour
//!     exec: { up: "site-up", down: "site-down" }
//!     sim: { delay: 5s, fail_first: 0, preempt_first: 0, preempt_after: 1m }
//! ```
use std::path::{Path, PathBuf};

use resource_graph::ResourceGraph;
use serde::Deserialize;

use crate::instance::BurstPool;
use crate::units::parse_duration;

/// The property of a shape's node that says what it costs an hour.
pub const COST_PROPERTY: &str = "cost-per-hour";

/// The simulated provider's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimConfig {
    pub delay_ms: u64,
    pub fail_first: u64,
    pub preempt_first: u64,
    pub preempt_after_ms: u64,
}

/// The exec provider's commands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecConfig {
    pub up: Option<String>,
    pub down: Option<String>,
}

/// One pool, as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolConfig {
    pub name: String,
    pub provider: String,
    pub shape: PathBuf,
    pub max_nodes: u64,
    /// Seconds.
    pub idle: u64,
    pub deadline: u64,
    /// Burst on its own; and for the queue's head after `after` seconds
    /// (0: only for jobs no resource here can hold).
    pub automatic: bool,
    pub after: u64,
    /// None: no budget.
    pub budget: Option<f64>,
    pub sim: SimConfig,
    pub exec: ExecConfig,
}

/// The `--burst-*` options of schedd (one pool), or a config file.
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Cloud burst")]
pub struct BurstArgs {
    /// Burst to a cloud: add nodes as a `cloud` level of the graph when
    /// asked (`schedctl burst`) or, with --burst-auto, for jobs that
    /// wait. `sim` simulates a cloud; `exec` runs --burst-up and
    /// --burst-down. A job no resource here can hold is then queued when
    /// burst nodes could hold it.
    #[arg(long, value_name = "PROVIDER", value_parser = ["sim", "exec"], requires = "burst_shape",
          conflicts_with = "burst_config")]
    pub burst_provider: Option<String>,
    /// Pools from a YAML file (`pools:`, each with name, provider, shape,
    /// max_nodes, idle, deadline, automatic, after, budget, exec, sim)
    /// instead of the --burst-* options.
    #[arg(long, value_name = "FILE")]
    pub burst_config: Option<PathBuf>,
    /// The pool's name: the `cloud` property of its nodes.
    #[arg(long, value_name = "NAME", default_value = "cloud")]
    pub burst_pool: String,
    /// A recipe (GRUG YAML) whose root is one burst node; its
    /// `cost-per-hour` property is what a node costs.
    #[arg(long, value_name = "FILE")]
    pub burst_shape: Option<PathBuf>,
    /// Most burst nodes at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub burst_max: u64,
    /// Remove a burst node idle this long.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub burst_idle: u64,
    /// Remove burst nodes not up this long after they were asked for
    /// (jobs waiting for them wait for the next burst).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub burst_deadline: u64,
    /// Burst on its own, for a waiting job only burst nodes can hold.
    #[arg(long)]
    pub burst_auto: bool,
    /// With --burst-auto, also burst for the queue's head once it waited
    /// this long (while no burst node is provisioning or idle). 0: never.
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = parse_duration)]
    pub burst_after: u64,
    /// Spend at most this much on burst nodes (the shape's cost-per-hour
    /// times node-hours); a burst starts only when one more hour of every
    /// burst node stays within it.
    #[arg(long, value_name = "AMOUNT")]
    pub burst_budget: Option<f64>,
    /// Command that brings nodes up (exec): run as `sh -c CMD sh NODES`;
    /// it prints the nodes that came up.
    #[arg(long, value_name = "CMD")]
    pub burst_up: Option<String>,
    /// Command that gives nodes back (exec), run the same way.
    #[arg(long, value_name = "CMD")]
    pub burst_down: Option<String>,
    /// Simulated cloud: how long nodes take to come up.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub burst_sim_delay: u64,
    /// Simulated cloud: the first N requests fail.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub burst_sim_fail: u64,
    /// Simulated cloud: the first N nodes up are preempted
    /// --burst-sim-preempt-after later.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub burst_sim_preempt: u64,
    /// Simulated cloud: when the preempted nodes go.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = parse_duration)]
    pub burst_sim_preempt_after: u64,
}

impl BurstArgs {
    /// The pools these options describe (none without a provider or a
    /// config file).
    pub fn pools(&self) -> Result<Vec<PoolConfig>, String> {
        if let Some(file) = &self.burst_config {
            return read_config(file);
        }
        let Some(provider) = &self.burst_provider else {
            return Ok(Vec::new());
        };
        let shape = self
            .burst_shape
            .clone()
            .ok_or("--burst-provider needs --burst-shape")?;
        let p = PoolConfig {
            name: self.burst_pool.clone(),
            provider: provider.clone(),
            shape,
            max_nodes: self.burst_max,
            idle: self.burst_idle,
            deadline: self.burst_deadline,
            automatic: self.burst_auto,
            after: self.burst_after,
            budget: self.burst_budget,
            sim: SimConfig {
                delay_ms: self.burst_sim_delay.saturating_mul(1000),
                fail_first: self.burst_sim_fail,
                preempt_first: self.burst_sim_preempt,
                preempt_after_ms: self.burst_sim_preempt_after.saturating_mul(1000),
            },
            exec: ExecConfig {
                up: self.burst_up.clone(),
                down: self.burst_down.clone(),
            },
        };
        check(&[p])
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    pools: Vec<FilePool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePool {
    name: String,
    provider: String,
    shape: PathBuf,
    #[serde(default = "default_max")]
    max_nodes: u64,
    #[serde(default = "default_idle")]
    idle: String,
    #[serde(default = "default_deadline")]
    deadline: String,
    #[serde(default)]
    automatic: bool,
    #[serde(default = "zero")]
    after: String,
    #[serde(default)]
    budget: Option<f64>,
    #[serde(default)]
    exec: ExecConfig,
    #[serde(default)]
    sim: FileSim,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSim {
    #[serde(default = "default_delay")]
    delay: String,
    #[serde(default)]
    fail_first: u64,
    #[serde(default)]
    preempt_first: u64,
    #[serde(default = "default_preempt_after")]
    preempt_after: String,
}

impl Default for FileSim {
    fn default() -> Self {
        FileSim {
            delay: default_delay(),
            fail_first: 0,
            preempt_first: 0,
            preempt_after: default_preempt_after(),
        }
    }
}

fn default_max() -> u64 {
    16
}
fn default_idle() -> String {
    "5m".into()
}
fn default_deadline() -> String {
    "10m".into()
}
fn zero() -> String {
    "0".into()
}
fn default_delay() -> String {
    "5s".into()
}
fn default_preempt_after() -> String {
    "1m".into()
}

/// Read a pools file (see the module documentation); a relative shape
/// path is taken from the file's directory.
pub fn read_config(file: &Path) -> Result<Vec<PoolConfig>, String> {
    let at = |e: String| format!("{}: {e}", file.display());
    let text = std::fs::read_to_string(file).map_err(|e| at(e.to_string()))?;
    resource_graph::limits::check_yaml_nesting(&text, resource_graph::limits::MAX_FLOW_NESTING)
        .map_err(|e| at(e.to_string()))?;
    let f: File = serde_yaml::from_str(&text).map_err(|e| at(e.to_string()))?;
    let base = file.parent().unwrap_or(Path::new("."));
    let mut pools = Vec::new();
    for (i, p) in f.pools.into_iter().enumerate() {
        let dur = |what: &str, s: &str| {
            parse_duration(s).map_err(|e| at(format!("pools[{i}].{what}: {e}")))
        };
        pools.push(PoolConfig {
            shape: if p.shape.is_absolute() {
                p.shape
            } else {
                base.join(p.shape)
            },
            max_nodes: p.max_nodes,
            idle: dur("idle", &p.idle)?,
            deadline: dur("deadline", &p.deadline)?,
            automatic: p.automatic,
            after: dur("after", &p.after)?,
            budget: p.budget,
            sim: SimConfig {
                delay_ms: dur("sim.delay", &p.sim.delay)?.saturating_mul(1000),
                fail_first: p.sim.fail_first,
                preempt_first: p.sim.preempt_first,
                preempt_after_ms: dur("sim.preempt_after", &p.sim.preempt_after)?
                    .saturating_mul(1000),
            },
            exec: p.exec,
            name: p.name,
            provider: p.provider,
        });
    }
    check(&pools).map_err(at)
}

/// Names unique and usable as a property value, bounds sane.
fn check(pools: &[PoolConfig]) -> Result<Vec<PoolConfig>, String> {
    for (i, p) in pools.iter().enumerate() {
        let ok = !p.name.is_empty()
            && p.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(format!(
                "pool name {:?}: use letters, digits, '-' and '_'",
                p.name
            ));
        }
        if pools[..i].iter().any(|q| q.name == p.name) {
            return Err(format!("pool '{}' is named twice", p.name));
        }
        if p.max_nodes == 0 || p.max_nodes > 100_000 {
            return Err(format!(
                "pool '{}': max_nodes must be 1 to 100000, not {}",
                p.name, p.max_nodes
            ));
        }
        if p.deadline == 0 {
            return Err(format!("pool '{}': the deadline must not be 0", p.name));
        }
        if p.budget.is_some_and(|b| !(b.is_finite() && b >= 0.0)) {
            return Err(format!(
                "pool '{}': the budget must be a number >= 0",
                p.name
            ));
        }
    }
    Ok(pools.to_vec())
}

/// Most vertices one node of a shape may have.
pub const MAX_SHAPE_VERTICES: u64 = 100_000;

/// A node shape from a GRUG YAML text: its root must be a node, and it
/// holds at most [`MAX_SHAPE_VERTICES`] vertices. `origin` names it in
/// errors.
pub fn shape_from_text(text: &str, origin: &str) -> Result<ResourceGraph, String> {
    resource_graph::limits::check_yaml_nesting(text, resource_graph::limits::MAX_FLOW_NESTING)
        .map_err(|e| format!("{origin}: {e}"))?;
    let recipe = resource_graph::grug_yaml::parse(text, origin).map_err(|e| e.to_string())?;
    let limits = resource_graph::Limits {
        max_vertices: MAX_SHAPE_VERTICES,
    };
    let shape = recipe.generate_with(&limits).map_err(|e| e.to_string())?;
    let top = shape
        .symbols
        .get("containment")
        .and_then(|c| shape.roots.get(&c).copied())
        .ok_or_else(|| {
            format!("{origin}: the recipe makes no containment tree (a shape is a node with resources below it)")
        })?;
    let typ = shape.name_of(shape.g[top].typ);
    if typ != "node" {
        return Err(format!("{origin}: its root must be a node, not a {typ}"));
    }
    Ok(shape)
}

/// What one node of `shape` costs an hour: its root's `cost-per-hour`
/// property (0 without one).
pub fn cost_of(shape: &ResourceGraph, origin: &str) -> Result<f64, String> {
    let Some(top) = shape
        .symbols
        .get("containment")
        .and_then(|c| shape.roots.get(&c).copied())
    else {
        return Ok(0.0);
    };
    match shape.properties(top).find(|(k, _)| *k == COST_PROPERTY) {
        Some((_, v)) => v
            .parse::<f64>()
            .ok()
            .filter(|c| c.is_finite() && *c >= 0.0)
            .ok_or_else(|| format!("{origin}: {COST_PROPERTY} {v:?} is not a number >= 0")),
        None => Ok(0.0),
    }
}

/// The instance's view of a pool: its shape read (its root must be a
/// node), its cost per hour from the shape.
pub fn load(p: &PoolConfig) -> Result<BurstPool, String> {
    let origin = format!("pool '{}': shape {}", p.name, p.shape.display());
    let text = std::fs::read_to_string(&p.shape).map_err(|e| format!("{origin}: {e}"))?;
    let shape = shape_from_text(&text, &origin)?;
    let cost = cost_of(&shape, &origin)?;
    Ok(BurstPool {
        name: p.name.clone(),
        shape,
        max_nodes: p.max_nodes,
        cost_micro: (cost * 1e6).round() as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("quiver-pool-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    const SHAPE: &str = "name: n\nroot:\n  type: node\n  basename: cloud\n  properties: { cost-per-hour: \"2.5\" }\n  with:\n    - { type: core, count: 4 }\n";

    #[test]
    fn a_config_file_reads_with_defaults_and_shapes_beside_it() {
        let d = dir("file");
        std::fs::write(d.join("node.yaml"), SHAPE).unwrap();
        std::fs::write(
            d.join("pools.yaml"),
            "pools:\n  - name: aws\n    provider: sim\n    shape: node.yaml\n    idle: 30s\n    sim: { delay: 2s, fail_first: 1 }\n",
        )
        .unwrap();
        let pools = read_config(&d.join("pools.yaml")).unwrap();
        assert_eq!(pools.len(), 1);
        let p = &pools[0];
        assert_eq!((p.idle, p.deadline, p.max_nodes), (30, 600, 16));
        assert_eq!((p.sim.delay_ms, p.sim.fail_first), (2000, 1));
        assert_eq!(p.shape, d.join("node.yaml"));
        let bp = load(p).unwrap();
        assert_eq!(bp.cost_micro, 2_500_000);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_shape_is_one_node_and_nothing_else() {
        let g = shape_from_text(
            "root:\n  type: node\n  with:\n    - { type: core, count: 2 }\n",
            "t",
        )
        .unwrap();
        assert_eq!(g.vertex_count(), 3);
        let e = shape_from_text("root:\n  type: node\n", "t").unwrap_err();
        assert!(e.contains("no containment tree"), "{e}");
        let e = shape_from_text("root:\n  type: rack\n  with:\n    - { type: node }\n", "t")
            .unwrap_err();
        assert!(e.contains("root must be a node, not a rack"), "{e}");
        let e = shape_from_text(
            "root:\n  type: node\n  with:\n    - { type: core, count: 200000 }\n",
            "t",
        )
        .unwrap_err();
        assert!(e.contains("200001"), "{e}");
    }

    #[test]
    fn bad_configs_are_refused_naming_the_fault() {
        let d = dir("bad");
        let cases = [
            ("pools:\n  - name: a\n    provider: sim\n    shape: x\n    colour: red\n", "colour"),
            ("pools:\n  - name: a\n    provider: sim\n    shape: x\n    idle: soon\n", "pools[0].idle"),
            ("pools:\n  - name: a b\n    provider: sim\n    shape: x\n", "pool name"),
            ("pools:\n  - { name: a, provider: sim, shape: x }\n  - { name: a, provider: sim, shape: x }\n", "named twice"),
            ("pools:\n  - { name: a, provider: sim, shape: x, max_nodes: 0 }\n", "max_nodes"),
        ];
        for (text, want) in cases {
            std::fs::write(d.join("p.yaml"), text).unwrap();
            let e = read_config(&d.join("p.yaml")).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
        std::fs::write(
            d.join("rack.yaml"),
            "name: r\nroot:\n  type: rack\n  with:\n    - { type: node }\n",
        )
        .unwrap();
        let mut p = read_config(&{
            std::fs::write(
                d.join("p.yaml"),
                "pools:\n  - { name: a, provider: sim, shape: rack.yaml }\n",
            )
            .unwrap();
            d.join("p.yaml")
        })
        .unwrap()
        .remove(0);
        let e = load(&p).err().unwrap();
        assert!(e.contains("root must be a node"), "{e}");
        std::fs::write(d.join("node.yaml"), SHAPE.replace("2.5", "lots")).unwrap();
        p.shape = d.join("node.yaml");
        let e = load(&p).err().unwrap();
        assert!(e.contains("cost-per-hour"), "{e}");
        std::fs::remove_dir_all(d).unwrap();
    }
}
