//! Discovery: the resource graph of this machine, from hwloc (cores,
//! sockets, NUMA memory, block devices, GPUs it sees) merged with NVML
//! (NVIDIA GPUs, their memory, UUIDs and NVLink peers).
//!
//! [`discover`] is what `resource-query -L auto` and the daemon call. A
//! machine without an NVIDIA driver or GPU still discovers: it just has no
//! NVML GPUs, and one line on standard error says why. [`discover_with`]
//! takes the GPU probe as a parameter and returns those lines instead of
//! printing them, for tests and for callers with their own logging.
//!
//! The graph is the hwloc reader's (see [`crate::hwloc`]) with the GPUs
//! merged as [`crate::gpu`] describes; vertices get rank 0 by default (a
//! machine on its own is broker rank 0), the cluster keeps rank -1.
use std::path::PathBuf;

use crate::error::GraphError;
use crate::gpu::{self, GpuProbe, Nvml};
use crate::graph::ResourceGraph;
use crate::hwloc::{self, Allowlist};

/// What to discover and how.
#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    /// Types to build (all by default).
    pub allowlist: Allowlist,
    /// Rank of every vertex but the cluster.
    pub rank: i64,
    /// Read this hwloc XML export instead of asking hwloc about this
    /// machine (the GPU probe is still asked: tests use it with a fake).
    pub xml: Option<PathBuf>,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        DiscoverOptions {
            allowlist: Allowlist::all(),
            rank: 0,
            xml: None,
        }
    }
}

/// A discovered graph and what a person should be told about it.
#[derive(Debug)]
pub struct Discovery {
    pub graph: ResourceGraph,
    /// One line each: GPUs NVML could not give, devices left out.
    pub notes: Vec<String>,
}

/// The graph of this machine, GPUs from NVML included; notes go to
/// standard error, one line each.
pub fn discover(opts: &DiscoverOptions) -> Result<ResourceGraph, GraphError> {
    let d = discover_with(opts, &Nvml)?;
    for note in &d.notes {
        eprintln!("discover: {note}");
    }
    Ok(d.graph)
}

/// [`discover`] with a given GPU probe, returning the notes.
pub fn discover_with(
    opts: &DiscoverOptions,
    probe: &dyn GpuProbe,
) -> Result<Discovery, GraphError> {
    let built = match &opts.xml {
        Some(path) => {
            let text = hwloc::read_checked(path)?;
            hwloc::from_xml(
                &text,
                &path.display().to_string(),
                &opts.allowlist,
                opts.rank,
            )?
        }
        None => hwloc::from_this_machine(&opts.allowlist, opts.rank)?,
    };
    let hwloc::Built {
        mut graph,
        home,
        sites,
        mut notes,
    } = built;
    match probe.probe() {
        Ok(scan) => notes.extend(gpu::merge(
            &mut graph,
            &sites,
            home,
            opts.rank,
            &opts.allowlist,
            &scan,
        )),
        Err(why) => notes.push(format!("no NVIDIA GPUs from NVML: {why}")),
    }
    Ok(Discovery { graph, notes })
}
