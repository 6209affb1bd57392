//! The `Provider` trait: what turns burst nodes already in the graph
//! (provisioning, down) into running machines, and gives them back; and
//! [`PROVIDERS`], the one table of names behind `--burst-provider`.
//!
//! A provider sees nodes by name (the node vertices' names, which are
//! their host names in R). It never touches the graph: the controller
//! adds nodes before it calls [`Provider::up`] and removes them after
//! [`Provider::down`], so a provider that fails or prints garbage leaves
//! the graph as it was before the burst.
use std::future::Future;
use std::pin::Pin;

use super::pool::PoolConfig;
use super::{exec, sim};

/// A boxed future a provider returns (providers are trait objects).
pub type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A cloud, or a simulation of one.
pub trait Provider: Send + Sync {
    /// Bring up the nodes named: resolves once the provider is done, with
    /// the names that came up (the others failed); Err when none did, and
    /// why. The controller gives up at the pool's deadline (dropping the
    /// future).
    fn up<'a>(&'a self, nodes: &'a [String]) -> Fut<'a, Result<Vec<String>, String>>;

    /// Give back the nodes named (idle past the grace, failed, or past
    /// their deadline). Err says why; the nodes leave the graph anyway.
    fn down<'a>(&'a self, nodes: &'a [String]) -> Fut<'a, Result<(), String>>;

    /// Nodes the provider took back on its own since the last call
    /// (preempted): their jobs are requeued.
    fn preempted(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A provider users can name: a row of [`PROVIDERS`].
pub struct Entry {
    /// The name `--burst-provider` and a pool's `provider` take.
    pub name: &'static str,
    make: fn(&PoolConfig) -> Result<Box<dyn Provider>, String>,
}

/// Every provider.
pub const PROVIDERS: &[Entry] = &[
    Entry {
        name: "sim",
        make: |c| Ok(Box::new(sim::Sim::new(&c.sim))),
    },
    Entry {
        name: "exec",
        make: |c| exec::Exec::new(&c.name, &c.exec).map(|p| Box::new(p) as Box<dyn Provider>),
    },
];

/// The provider a pool names; Err names the known ones.
pub fn create(pool: &PoolConfig) -> Result<Box<dyn Provider>, String> {
    match PROVIDERS.iter().find(|e| e.name == pool.provider) {
        Some(e) => (e.make)(pool),
        None => Err(format!(
            "pool '{}': unknown provider '{}' (known: {})",
            pool.name,
            pool.provider,
            PROVIDERS
                .iter()
                .map(|e| e.name)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
