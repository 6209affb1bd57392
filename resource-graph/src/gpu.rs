//! GPUs as NVML sees them, and how they join the graph hwloc built.
//!
//! [`GpuProbe`] is the narrow seam: [`Nvml`] asks the NVIDIA driver (its
//! library is loaded at run time, so a machine without it simply has no
//! NVML GPUs), tests pass a fake. [`merge`] then adds what the probe found:
//!
//! - a GPU whose PCI bus id matches a `gpu` vertex hwloc already made (a
//!   CUDA co-processor under that PCI device) is that vertex: it only gains
//!   properties, so one physical GPU is one vertex;
//! - a GPU whose PCI device hwloc saw without a `gpu` vertex (Debian's hwloc
//!   has no CUDA plugin: it sees the PCI device only) gets a new `gpu`
//!   vertex where hwloc would have placed one: under the PCI device's
//!   nearest ancestor in the graph, that is its socket;
//! - any other GPU goes under the node (or the cluster when there is none).
//!
//! A new vertex's id is the NVML index, or the next id above every `gpu`
//! vertex when another GPU already has that id. Each NVML GPU gets the
//! properties `uuid`, `model`, `memory` (total, e.g. `81559MiB`) and
//! `pci_bus_id`, and a child `gpu_memory` vertex sized in GB (2^30 bytes,
//! rounded down; unit `GB`), a type of its own so that requests for
//! `memory` never take a GPU's. Both types follow the allowlist (`gpu`,
//! `gpu_memory`).
//!
//! NVLink: each GPU lists the PCI bus ids at the far end of its active
//! links. Two GPUs are peers when one's link ends at the other, or when
//! both have links ending at the same non-GPU endpoint (an NVSwitch). Peers
//! get a `connects` edge each way in the `nvlink` subsystem. So that every
//! vertex of that subsystem has a path, its root is the node, with one
//! `connects` edge to each GPU that has a peer (paths `/host/gpu0`).
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::allowlist::Allowlist;
use crate::graph::{NewVertex, ResourceGraph, VertexIdx};
pub use crate::pci::{PciAddr, PciSite};

/// The subsystem NVLink edges live in, and their relation.
pub const NVLINK: &str = "nvlink";
const CONNECTS: &str = "connects";

/// One GPU as NVML reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuInfo {
    /// NVML's index (PCI bus order).
    pub index: u32,
    pub uuid: String,
    pub model: String,
    /// Total device memory in bytes.
    pub memory_bytes: u64,
    /// Where it sits; `None` when the driver would not say.
    pub pci: Option<PciAddr>,
    /// The far ends of its active NVLinks (other GPUs or NVSwitches).
    pub nvlink: Vec<PciAddr>,
}

/// What a probe found: the GPUs it could describe, and one line for each
/// device it had to leave out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GpuScan {
    pub gpus: Vec<GpuInfo>,
    pub skipped: Vec<String>,
}

/// A source of GPU facts: NVML on a real machine, a fake in tests.
pub trait GpuProbe {
    /// The GPUs of this machine; `Err` says why none could be asked for
    /// (no driver, no library, no permission).
    fn probe(&self) -> Result<GpuScan, String>;
}

/// No GPUs from anyone: for callers that only want hwloc's view.
pub struct NoGpus;

impl GpuProbe for NoGpus {
    fn probe(&self) -> Result<GpuScan, String> {
        Ok(GpuScan::default())
    }
}

/// The NVIDIA driver's view, through NVML.
pub struct Nvml;

impl GpuProbe for Nvml {
    #[cfg(feature = "nvml")]
    fn probe(&self) -> Result<GpuScan, String> {
        nvml::probe()
    }

    #[cfg(not(feature = "nvml"))]
    fn probe(&self) -> Result<GpuScan, String> {
        Err("this build has no NVML support (the `nvml` feature is off)".into())
    }
}

#[cfg(feature = "nvml")]
mod nvml {
    use nvml_wrapper::error::NvmlError;
    use nvml_wrapper::Nvml;

    use super::{GpuInfo, GpuScan, PciAddr};

    /// Links NVML may report per device (NVML_NVLINK_MAX_LINKS).
    const MAX_LINKS: u32 = 18;

    pub(super) fn probe() -> Result<GpuScan, String> {
        // Loads libnvidia-ml.so.1, the name driver installs ship.
        let nvml = Nvml::init().map_err(|e| match e {
            NvmlError::LibloadingError(e) => format!("no NVIDIA driver library ({e})"),
            NvmlError::DriverNotLoaded => "the NVIDIA driver is not loaded".into(),
            e => format!("NVML failed to start: {e}"),
        })?;
        let count = nvml
            .device_count()
            .map_err(|e| format!("NVML could not count GPUs: {e}"))?;
        let mut scan = GpuScan::default();
        for index in 0..count {
            let dev = match nvml.device_by_index(index) {
                Ok(d) => d,
                Err(e) => {
                    scan.skipped.push(format!("GPU {index}: {e}"));
                    continue;
                }
            };
            let pci = dev.pci_info().ok().and_then(|p| p.bus_id.parse().ok());
            let nvlink = (0..MAX_LINKS)
                .map(|l| dev.link_wrapper_for(l))
                .filter(|link| link.is_active().unwrap_or(false))
                .filter_map(|link| link.remote_pci_info().ok())
                .filter_map(|p| p.bus_id.parse::<PciAddr>().ok())
                .collect();
            scan.gpus.push(GpuInfo {
                index,
                uuid: dev.uuid().unwrap_or_default(),
                model: dev.name().unwrap_or_default(),
                memory_bytes: dev.memory_info().map(|m| m.total).unwrap_or(0),
                pci,
                nvlink,
            });
        }
        Ok(scan)
    }
}

/// Add the GPUs of `scan` to a graph hwloc built (see the module doc).
/// `sites` are hwloc's PCI devices, `home` is where unplaced GPUs go.
/// Returns one line per thing worth telling a person.
pub(crate) fn merge(
    g: &mut ResourceGraph,
    sites: &HashMap<PciAddr, PciSite>,
    home: VertexIdx,
    rank: i64,
    allow: &Allowlist,
    scan: &GpuScan,
) -> Vec<String> {
    let mut notes: Vec<String> = scan
        .skipped
        .iter()
        .map(|s| format!("NVML: left out {s}"))
        .collect();
    if !allow.allows("gpu") {
        return notes;
    }
    let cont = g.sym("containment");
    let contains = g.sym("contains");
    let mut used: BTreeSet<i64> = g.of_type("gpu").iter().map(|&v| g.g[v].id).collect();
    let mut vertex_of: BTreeMap<PciAddr, VertexIdx> = BTreeMap::new();
    let mut vertices = Vec::with_capacity(scan.gpus.len());
    for gpu in &scan.gpus {
        let site = gpu.pci.and_then(|p| sites.get(&p));
        let v = match site.and_then(|s| s.gpu) {
            Some(v) => v,
            None => {
                let id = i64::from(gpu.index);
                let id = if used.contains(&id) {
                    used.last().map_or(0, |m| m + 1)
                } else {
                    id
                };
                used.insert(id);
                let v = g.add_vertex(NewVertex {
                    typ: "gpu",
                    basename: "gpu",
                    id,
                    rank,
                    size: 1,
                    unit: "",
                });
                g.add_edge(site.map_or(home, |s| s.parent), v, cont, contains);
                v
            }
        };
        g.set_property(v, "uuid", &gpu.uuid);
        g.set_property(v, "model", &gpu.model);
        g.set_property(v, "memory", &format!("{}MiB", gpu.memory_bytes >> 20));
        if let Some(p) = gpu.pci {
            g.set_property(v, "pci_bus_id", &p.to_string());
            vertex_of.insert(p, v);
        }
        let gb = gpu.memory_bytes >> 30;
        if allow.allows("gpu_memory") && gb > 0 {
            let m = g.add_vertex(NewVertex {
                typ: "gpu_memory",
                basename: "gpu_memory",
                id: g.g[v].id,
                rank,
                size: gb,
                unit: "GB",
            });
            g.add_edge(v, m, cont, contains);
        }
        vertices.push(v);
    }
    let peers = peers(scan, &vertex_of, &vertices);
    if !peers.is_empty() {
        let (nvlink, connects) = (g.sym(NVLINK), g.sym(CONNECTS));
        g.roots.insert(nvlink, home);
        let linked: BTreeSet<VertexIdx> = peers.iter().flat_map(|&(a, b)| [a, b]).collect();
        // Hub edges first: each GPU's first nvlink edge is its parent edge.
        for &v in vertices.iter().filter(|v| linked.contains(v)) {
            g.add_edge(home, v, nvlink, connects);
        }
        for &(a, b) in &peers {
            g.add_edge(a, b, nvlink, connects);
            g.add_edge(b, a, nvlink, connects);
        }
    }
    if scan.gpus.is_empty() {
        notes.push("NVML: no NVIDIA GPUs on this machine".into());
    }
    notes
}

/// Pairs of GPU vertices joined by NVLink, directly or through a shared
/// non-GPU endpoint; each pair once, smaller vertex first.
fn peers(
    scan: &GpuScan,
    vertex_of: &BTreeMap<PciAddr, VertexIdx>,
    vertices: &[VertexIdx],
) -> BTreeSet<(VertexIdx, VertexIdx)> {
    let mut pairs = BTreeSet::new();
    let mut by_switch: BTreeMap<PciAddr, BTreeSet<VertexIdx>> = BTreeMap::new();
    for (gpu, &v) in scan.gpus.iter().zip(vertices) {
        for far in &gpu.nvlink {
            match vertex_of.get(far) {
                Some(&w) => {
                    if w != v {
                        pairs.insert((v.min(w), v.max(w)));
                    }
                }
                None => {
                    by_switch.entry(*far).or_default().insert(v);
                }
            }
        }
    }
    for members in by_switch.values() {
        for &a in members {
            for &b in members.range(a..).skip(1) {
                pairs.insert((a, b));
            }
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu(index: u32, pci: &str, nvlink: &[&str]) -> GpuInfo {
        GpuInfo {
            index,
            uuid: format!("GPU-{index}"),
            model: "A100".into(),
            memory_bytes: 40 << 30,
            pci: Some(pci.parse().unwrap()),
            nvlink: nvlink.iter().map(|p| p.parse().unwrap()).collect(),
        }
    }

    /// cluster0 > node0 > socket0, socket1; hwloc saw a PCI device at
    /// 0000:07:00.0 under socket1 and a GPU (gpu0) at 0000:03:00.0.
    fn hwloc_like() -> (ResourceGraph, HashMap<PciAddr, PciSite>, VertexIdx) {
        let mut g = ResourceGraph::new();
        let (cont, contains) = (g.sym("containment"), g.sym("contains"));
        let add = |g: &mut ResourceGraph, typ: &str, id: i64, parent: Option<VertexIdx>| {
            let v = g.add_vertex(NewVertex {
                typ,
                basename: typ,
                id,
                rank: 0,
                size: 1,
                unit: "",
            });
            if let Some(p) = parent {
                g.add_edge(p, v, cont, contains);
            }
            v
        };
        let c = add(&mut g, "cluster", 0, None);
        g.roots.insert(cont, c);
        let n = add(&mut g, "node", 0, Some(c));
        let s0 = add(&mut g, "socket", 0, Some(n));
        let s1 = add(&mut g, "socket", 1, Some(n));
        let g0 = add(&mut g, "gpu", 0, Some(s0));
        let sites = HashMap::from([
            (
                "0000:03:00.0".parse().unwrap(),
                PciSite {
                    parent: s0,
                    gpu: Some(g0),
                },
            ),
            (
                "0000:07:00.0".parse().unwrap(),
                PciSite {
                    parent: s1,
                    gpu: None,
                },
            ),
        ]);
        (g, sites, n)
    }

    #[test]
    fn gpus_land_where_hwloc_saw_their_pci_device_and_ids_do_not_clash() {
        let (mut g, sites, node) = hwloc_like();
        let scan = GpuScan {
            // NVML index 0 is not hwloc's gpu0: it needs another id.
            gpus: vec![gpu(0, "0000:07:00.0", &[]), gpu(1, "0000:03:00.0", &[])],
            skipped: vec!["GPU 2: GPU is lost".into()],
        };
        let notes = merge(&mut g, &sites, node, 0, &Allowlist::all(), &scan);
        assert_eq!(notes, ["NVML: left out GPU 2: GPU is lost"]);
        let cont = g.symbols.get("containment").unwrap();
        let gpus: Vec<String> = g
            .of_type("gpu")
            .iter()
            .map(|&v| g.path(v, cont).unwrap())
            .collect();
        assert_eq!(
            gpus,
            [
                "/cluster0/node0/socket0/gpu0",
                "/cluster0/node0/socket1/gpu1"
            ]
        );
        let uuid = |i: usize| {
            g.properties(g.of_type("gpu")[i])
                .find(|(k, _)| *k == "uuid")
                .map(|(_, v)| v.to_owned())
        };
        assert_eq!(
            (uuid(0), uuid(1)),
            (Some("GPU-1".into()), Some("GPU-0".into()))
        );
        let mems: Vec<String> = g
            .of_type("gpu_memory")
            .iter()
            .map(|&v| format!("{} {}", g.path(v, cont).unwrap(), g.g[v].size))
            .collect();
        assert_eq!(
            mems,
            [
                "/cluster0/node0/socket1/gpu1/gpu_memory1 40",
                "/cluster0/node0/socket0/gpu0/gpu_memory0 40"
            ]
        );
    }

    #[test]
    fn gpus_behind_one_nvswitch_are_all_peers() {
        let (mut g, sites, node) = hwloc_like();
        let sw = "0000:c0:00.0";
        let scan = GpuScan {
            gpus: vec![
                gpu(1, "0000:81:00.0", &[sw, sw]),
                gpu(2, "0000:82:00.0", &[sw]),
                gpu(3, "0000:83:00.0", &[sw]),
                gpu(4, "0000:84:00.0", &[]),
            ],
            skipped: vec![],
        };
        merge(&mut g, &sites, node, 0, &Allowlist::all(), &scan);
        let nv = g.symbols.get(NVLINK).unwrap();
        let mut links: Vec<(String, String)> = g
            .vertices()
            .flat_map(|v| g.out_edges(v).iter().map(move |&e| (v, e)))
            .filter(|&(_, e)| g.g[e].subsystem == nv)
            .map(|(v, e)| (g.name(v), g.name(g.target(e))))
            .collect();
        links.sort();
        let want: Vec<(String, String)> = [
            ("gpu1", "gpu2"),
            ("gpu1", "gpu3"),
            ("gpu2", "gpu1"),
            ("gpu2", "gpu3"),
            ("gpu3", "gpu1"),
            ("gpu3", "gpu2"),
            ("node0", "gpu1"),
            ("node0", "gpu2"),
            ("node0", "gpu3"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(links, want, "gpu4 has no link, so no nvlink edge");
        let g3 = g.of_type("gpu")[3];
        assert_eq!(g.path(g3, nv).as_deref(), Some("/node0/gpu3"));
    }

    #[test]
    fn pci_addresses_read_every_common_form() {
        let a: PciAddr = "00000000:3B:00.0".parse().unwrap();
        assert_eq!(a.to_string(), "0000:3b:00.0");
        assert_eq!("0000:3b:00.0".parse::<PciAddr>(), Ok(a));
        assert_eq!("3b:00.0".parse::<PciAddr>(), Ok(a));
        assert!("3b:00".parse::<PciAddr>().is_err());
        assert!("0000:3b:20.0".parse::<PciAddr>().is_err());
        assert!("0000:3b:00.8".parse::<PciAddr>().is_err());
        assert!("x:y:z.w".parse::<PciAddr>().is_err());
    }
}
