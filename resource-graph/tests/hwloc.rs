//! The hwloc reader and discovery: our hand-written fixture builds exactly
//! the graph Fluxion's reader would (plus NUMA memory), Fluxion's hwloc
//! XMLs build what they describe (expectations read from the XML here, not
//! from our output), NVML GPUs merge through a fake probe, bad XML gets an
//! error naming the file, and this machine discovers.
#![cfg(feature = "hwloc")]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use quick_xml::events::Event;
use quick_xml::Reader;
use resource_graph::discover::{discover_with, DiscoverOptions};
use resource_graph::gpu::{GpuInfo, GpuProbe, GpuScan, NoGpus, PciAddr};
use resource_graph::hwloc::{read_xml, Allowlist};
use resource_graph::{GraphError, ResourceGraph, VertexIdx};

fn mini() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini-hwloc.xml")
}

/// Fluxion's hwloc XML folder and its XMLs, when the shared checkout is
/// present.
fn fluxion_xmls() -> Option<(PathBuf, Vec<PathBuf>)> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared"))
        .join("fluxion-t/data/hwloc-data");
    if !dir.is_dir() {
        eprintln!("note: {} is absent; skipping", dir.display());
        return None;
    }
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(d)
            .expect("readable data dir")
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "xml") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dir, &mut out);
    Some((dir, out))
}

/// One line per vertex in creation order: what, where, how big, and
/// its properties.
fn dump(g: &ResourceGraph) -> Vec<String> {
    let cont = g.symbols.get("containment").expect("containment");
    g.vertices()
        .map(|v| {
            let x = &g.g[v];
            let props: Vec<String> = g.properties(v).map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "{} {} {} id={} rank={} size={}{} {}",
                x.uniq_id,
                g.name_of(x.typ),
                g.path(v, cont).unwrap_or_default(),
                x.id,
                x.rank,
                x.size,
                g.name_of(x.unit),
                props.join(",")
            )
            .trim_end()
            .to_owned()
        })
        .collect()
}

fn count(g: &ResourceGraph, typ: &str) -> usize {
    g.of_type(typ).len()
}

fn parent(g: &ResourceGraph, v: VertexIdx) -> Option<VertexIdx> {
    let cont = g.symbols.get("containment")?;
    g.parent_edge(v, cont).map(|e| g.source(e))
}

/// The id of the socket above `v`, if one is.
fn socket_of(g: &ResourceGraph, v: VertexIdx) -> Option<i64> {
    let mut at = parent(g, v);
    while let Some(p) = at {
        if g.name_of(g.g[p].typ) == "socket" {
            return Some(g.g[p].id);
        }
        at = parent(g, p);
    }
    None
}

#[test]
fn mini_fixture_builds_the_exact_graph() {
    let g = read_xml(&mini(), &Allowlist::all()).expect("fixture loads");
    let want = [
        "0 cluster /cluster0 id=0 rank=-1 size=1",
        "1 node /cluster0/mini7 id=7 rank=0 size=1",
        "2 socket /cluster0/mini7/socket0 id=0 rank=-1 size=1",
        "3 core /cluster0/mini7/socket0/core0 id=0 rank=-1 size=1",
        "4 pu /cluster0/mini7/socket0/core0/pu0 id=0 rank=-1 size=1",
        "5 core /cluster0/mini7/socket0/core1 id=1 rank=-1 size=1",
        "6 pu /cluster0/mini7/socket0/core1/pu1 id=1 rank=-1 size=1",
        "7 storage /cluster0/mini7/socket0/storage0 id=0 rank=-1 size=500 LinuxDeviceID=259:0",
        "8 socket /cluster0/mini7/socket1 id=1 rank=-1 size=1",
        "9 core /cluster0/mini7/socket1/core2 id=2 rank=-1 size=1",
        "10 pu /cluster0/mini7/socket1/core2/pu2 id=2 rank=-1 size=1",
        "11 core /cluster0/mini7/socket1/core3 id=3 rank=-1 size=1",
        "12 pu /cluster0/mini7/socket1/core3/pu3 id=3 rank=-1 size=1",
        "13 gpu /cluster0/mini7/socket1/gpu0 id=0 rank=-1 size=1",
        "14 numanode /cluster0/mini7/numanode0 id=0 rank=-1 size=1",
        "15 memory /cluster0/mini7/numanode0/memory0 id=0 rank=-1 size=16GB",
    ];
    assert_eq!(dump(&g), want);
    assert_eq!(g.edge_count(), want.len() - 1, "a tree: one edge per child");
    let node = g.find_path("/cluster0/mini7").expect("node by path");
    assert_eq!(g.name_of(g.g[node].basename), "mini");
}

#[test]
fn allowlist_keeps_only_the_named_types() {
    let w = Allowlist::parse("node,socket,core,gpu").unwrap();
    let g = read_xml(&mini(), &w).unwrap();
    let paths: Vec<String> = dump(&g)
        .iter()
        .map(|l| l.split(' ').nth(2).unwrap().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "/cluster0",
            "/cluster0/mini7",
            "/cluster0/mini7/socket0",
            "/cluster0/mini7/socket0/core0",
            "/cluster0/mini7/socket0/core1",
            "/cluster0/mini7/socket1",
            "/cluster0/mini7/socket1/core2",
            "/cluster0/mini7/socket1/core3",
            "/cluster0/mini7/socket1/gpu0",
        ]
    );
    // Without node, sockets hang from the cluster; without numanode, memory
    // from the nearest vertex above the NUMA node.
    let g = read_xml(&mini(), &Allowlist::parse("socket,memory").unwrap()).unwrap();
    let cont = g.symbols.get("containment").unwrap();
    let paths: Vec<String> = g.vertices().map(|v| g.path(v, cont).unwrap()).collect();
    assert_eq!(
        paths,
        [
            "/cluster0",
            "/cluster0/socket0",
            "/cluster0/socket1",
            "/cluster0/memory0"
        ]
    );
}

/// Two GPUs linked by NVLink; the first sits where hwloc saw cuda0.
struct FakeNvml(Result<GpuScan, String>);

impl GpuProbe for FakeNvml {
    fn probe(&self) -> Result<GpuScan, String> {
        self.0.clone()
    }
}

fn addr(s: &str) -> PciAddr {
    s.parse().unwrap()
}

fn two_linked_gpus() -> GpuScan {
    let gpu = |index: u32, pci: &str, peer: &str| GpuInfo {
        index,
        uuid: format!("GPU-0000000{index}-aaaa-bbbb-cccc-dddddddddddd"),
        model: "NVIDIA H100 80GB HBM3".into(),
        memory_bytes: 81559 << 20,
        pci: Some(addr(pci)),
        nvlink: vec![addr(peer); 4],
    };
    GpuScan {
        gpus: vec![
            // NVML's own spelling of the bus id hwloc has as 0000:41:00.0.
            gpu(0, "00000000:41:00.0", "00000000:42:00.0"),
            gpu(1, "00000000:42:00.0", "00000000:41:00.0"),
        ],
        skipped: vec![],
    }
}

#[test]
fn nvml_gpus_merge_with_hwloc_by_pci_bus_id_and_link_by_nvlink() {
    let opts = DiscoverOptions {
        xml: Some(mini()),
        ..DiscoverOptions::default()
    };
    let d = discover_with(&opts, &FakeNvml(Ok(two_linked_gpus()))).unwrap();
    let g = &d.graph;
    assert!(d.notes.is_empty(), "{:?}", d.notes);
    let cont = g.symbols.get("containment").unwrap();
    // hwloc's cuda0 and NVML's GPU 0 are one vertex; GPU 1, unseen by
    // hwloc, hangs from the node.
    let gpus = g.of_type("gpu");
    assert_eq!(gpus.len(), 2);
    let (g0, g1) = (gpus[0], gpus[1]);
    assert_eq!(g.path(g0, cont).unwrap(), "/cluster0/mini7/socket1/gpu0");
    assert_eq!(g.path(g1, cont).unwrap(), "/cluster0/mini7/gpu1");
    assert_eq!(g.g[g1].rank, 0, "discovery's default rank");
    let props: BTreeMap<&str, &str> = g.properties(g0).collect();
    assert_eq!(
        props,
        BTreeMap::from([
            ("memory", "81559MiB"),
            ("model", "NVIDIA H100 80GB HBM3"),
            ("pci_bus_id", "0000:41:00.0"),
            ("uuid", "GPU-00000000-aaaa-bbbb-cccc-dddddddddddd"),
        ])
    );
    // Each GPU's memory: a child sized in GB (79.6 GiB, rounded down).
    for (&v, id) in gpus.iter().zip([0, 1]) {
        let mem: Vec<VertexIdx> = g
            .out_edges(v)
            .iter()
            .map(|&e| g.target(e))
            .filter(|&t| g.name_of(g.g[t].typ) == "gpu_memory")
            .collect();
        assert_eq!(mem.len(), 1);
        let m = &g.g[mem[0]];
        assert_eq!((m.id, m.size, g.name_of(m.unit)), (id, 79, "GB"));
    }
    // NVLink: one edge each way, in its own subsystem rooted at the node.
    let nv = g.symbols.get("nvlink").expect("nvlink subsystem");
    let linked = |a: VertexIdx, b: VertexIdx| {
        g.out_edges(a)
            .iter()
            .filter(|&&e| g.target(e) == b && g.g[e].subsystem == nv)
            .count()
    };
    assert_eq!((linked(g0, g1), linked(g1, g0)), (1, 1));
    let node = g.find_path("/cluster0/mini7").unwrap();
    assert_eq!(g.roots[&nv], node);
    assert_eq!(g.path(g0, nv).unwrap(), "/mini7/gpu0");
    assert_eq!(g.path(g1, nv).unwrap(), "/mini7/gpu1");
    // Nothing else moved: 16 hwloc vertices + 1 GPU + 2 GPU memories.
    assert_eq!(g.vertex_count(), 19);
}

#[test]
fn no_driver_means_no_nvml_vertices_and_one_note() {
    let opts = DiscoverOptions {
        xml: Some(mini()),
        ..DiscoverOptions::default()
    };
    let why = "NVML unavailable: libnvidia-ml.so.1: cannot open shared object file";
    let d = discover_with(&opts, &FakeNvml(Err(why.into()))).unwrap();
    assert_eq!(d.notes, [format!("no NVIDIA GPUs from NVML: {why}")]);
    assert_eq!(count(&d.graph, "gpu"), 1, "hwloc's GPU stays");
    assert_eq!(count(&d.graph, "gpu_memory"), 0);
    assert!(d.graph.symbols.get("nvlink").is_none());
}

#[test]
fn allowlist_applies_to_nvml_gpus_too() {
    let opts = DiscoverOptions {
        xml: Some(mini()),
        allowlist: Allowlist::parse("node,socket,core").unwrap(),
        ..DiscoverOptions::default()
    };
    let d = discover_with(&opts, &FakeNvml(Ok(two_linked_gpus()))).unwrap();
    assert_eq!(count(&d.graph, "gpu"), 0);
    assert_eq!(count(&d.graph, "gpu_memory"), 0);
}

fn temp_xml(test: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quiver-hwloc-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("topo.xml");
    std::fs::write(&p, text).unwrap();
    p
}

fn xml_err(test: &str, text: &str) -> String {
    let p = temp_xml(test, text);
    let e = read_xml(&p, &Allowlist::all()).expect_err("bad XML must not load");
    let msg = e.to_string();
    assert!(
        msg.starts_with(&p.display().to_string()),
        "error names the file: {msg}"
    );
    msg
}

/// A CUDA and an OpenCL device of one card, or two cards of two vendors
/// under one socket, both numbered 0: Fluxion would put both at
/// `.../gpu0`; the later one gets the next free id, so each has a path
/// of its own and the graph's JGF reads back.
#[test]
fn two_gpus_with_one_id_under_one_parent_get_two_paths() {
    let text = std::fs::read_to_string(mini()).unwrap().replace(
        "<object type=\"OSDev\" name=\"cuda0\" subtype=\"CUDA\" osdev_type=\"5\"/>",
        "<object type=\"OSDev\" name=\"cuda0\" subtype=\"CUDA\" osdev_type=\"5\"/>\n\
         <object type=\"OSDev\" name=\"opencl0d0\" subtype=\"OpenCL\" osdev_type=\"5\"/>",
    );
    let p = temp_xml("twin-gpus", &text);
    let g = read_xml(&p, &Allowlist::all()).unwrap();
    let cont = g.symbols.get("containment").unwrap();
    let paths: Vec<String> = g
        .of_type("gpu")
        .iter()
        .map(|&v| g.path(v, cont).unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/cluster0/mini7/socket1/gpu0",
            "/cluster0/mini7/socket1/gpu1"
        ]
    );
    let jgf = resource_graph::jgf_write::write_text(&g);
    let back = resource_graph::jgf::read(&jgf, "test").expect("the graph's JGF reads back");
    assert_eq!(back.of_type("gpu").len(), 2);
}

#[test]
fn bad_xml_gets_an_error_naming_the_file_and_the_fault() {
    let msg = xml_err(
        "unclosed",
        "<topology>\n  <object type=\"Machine\" cpuset=\"0x1\" complete_cpuset=\"0x1\" allowed_cpuset=\"0x1\" nodeset=\"0x1\" complete_nodeset=\"0x1\" allowed_nodeset=\"0x1\">\n    <object type=\"Core\" cpuset=\"0x1\" complete_cpuset=\"0x1\" nodeset=\"0x1\" complete_nodeset=\"0x1\">\n</topology>\n",
    );
    assert!(
        msg.contains("line 4") && msg.contains("malformed XML"),
        "{msg}"
    );
    let msg = xml_err("truncated", "<topology>\n  <object type=\"Machine\" cpuset=\"0x1\" complete_cpuset=\"0x1\" allowed_cpuset=\"0x1\" nodeset=\"0x1\" complete_nodeset=\"0x1\" allowed_nodeset=\"0x1\">\n");
    assert!(msg.contains("unclosed"), "{msg}");
    let msg = xml_err("graphml", "<?xml version=\"1.0\"?>\n<graphml></graphml>\n");
    assert!(msg.contains("not an hwloc <topology>"), "{msg}");
    let msg = xml_err("empty", "");
    assert!(msg.contains("no <topology>"), "{msg}");
    // Well-formed, but not a topology hwloc accepts.
    let msg = xml_err(
        "bogus",
        "<topology version=\"2.0\"><object type=\"Bogus\"/></topology>\n",
    );
    assert!(msg.contains("hwloc"), "{msg}");
    // A Size hwloc keeps but Fluxion's reader cannot use.
    let text = std::fs::read_to_string(mini())
        .unwrap()
        .replace("value=\"500107862\"", "value=\"lots\"");
    let msg = xml_err("size", &text);
    assert!(
        msg.contains("block device \"nvme0n1\" has an unusable Size \"lots\""),
        "{msg}"
    );
    let missing = Path::new("/nonexistent/quiver/topo.xml");
    match read_xml(missing, &Allowlist::all()) {
        Err(e @ GraphError::Io { .. }) => {
            assert!(e.to_string().starts_with("/nonexistent/quiver/topo.xml"))
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn this_machine_discovers() {
    let d = discover_with(&DiscoverOptions::default(), &NoGpus).expect("discovery");
    let g = &d.graph;
    assert_eq!(count(g, "cluster"), 1);
    assert_eq!(count(g, "node"), 1, "hwloc names this host");
    assert!(count(g, "core") >= 1);
    let cont = g.symbols.get("containment").unwrap();
    let node = g.of_type("node")[0];
    assert_eq!(g.g[node].rank, 0);
    for &c in g.of_type("core") {
        let p = g.path(c, cont).unwrap();
        assert!(
            p.starts_with(&format!("/cluster0/{}/", g.name(node))),
            "{p}"
        );
    }
    // The real probe on a machine without a driver: a note, not an error.
    let d = discover_with(&DiscoverOptions::default(), &resource_graph::gpu::Nvml)
        .expect("discovery never fails for want of GPUs");
    assert!(
        count(&d.graph, "gpu") > 0 || d.notes.iter().any(|n| n.contains("NVML")),
        "no GPU and no word why: {:?}",
        d.notes
    );
}

/// What an hwloc XML says, read straight from the file.
#[derive(Debug, Default)]
struct Described {
    host: Option<String>,
    by_type: HashMap<String, usize>,
    /// (gpu id by Fluxion's naming rule, the package it is attached to).
    gpus: Vec<(i64, Option<usize>)>,
    /// Block devices: name and size in GB (Size kB / 10^6) if it has one.
    storage: Vec<(String, Option<u64>)>,
    /// NUMA node memory in GB (2^30 bytes), where not 0.
    memory: Vec<u64>,
}

/// An hwloc cpuset ("0x0000ffff,,0xffffffff": 32-bit words, most
/// significant first, empty for 0) as words, least significant first.
fn cpuset(s: &str) -> Vec<u32> {
    s.split(',')
        .rev()
        .map(|w| {
            let w = w.trim_start_matches("0x");
            if w.is_empty() {
                0
            } else {
                u32::from_str_radix(w, 16).unwrap()
            }
        })
        .collect()
}

fn subset(a: &[u32], b: &[u32]) -> bool {
    a.iter()
        .enumerate()
        .all(|(i, &w)| w & !b.get(i).copied().unwrap_or(0) == 0)
}

/// Reads the XML as a tree of objects. A GPU (a co-processor OS device, or
/// a GPU one named rsmi*) is attached to the package whose cpuset holds
/// the cpuset of the GPU's nearest ancestor that has one (its PCI devices
/// and bridges have none): in hwloc 1.x exports that ancestor may be a
/// Group beside the package with the package's cpuset rather than the
/// package itself.
fn described(path: &Path) -> Described {
    let text = std::fs::read_to_string(path).unwrap();
    let mut r = Reader::from_str(&text);
    let mut d = Described::default();
    // Open <object>s: (type, cpuset if any).
    let mut stack: Vec<(String, Option<Vec<u32>>)> = Vec::new();
    let mut packages: Vec<Vec<u32>> = Vec::new();
    // GPUs as (id, cpuset of the nearest ancestor with one).
    let mut gpus: Vec<(i64, Vec<u32>)> = Vec::new();
    let attrs = |e: &quick_xml::events::BytesStart| -> HashMap<String, String> {
        e.attributes()
            .flatten()
            .map(|a| {
                (
                    String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                    a.unescape_value().unwrap().into_owned(),
                )
            })
            .collect()
    };
    loop {
        let ev = r.read_event().unwrap();
        let empty = matches!(ev, Event::Empty(_));
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => match e.name().as_ref() {
                b"object" => {
                    let a = attrs(e);
                    let typ = a["type"].clone();
                    let cs = a.get("cpuset").map(|c| cpuset(c));
                    // A NUMA node with an empty nodeset is offline: hwloc
                    // drops it, and so does the count.
                    let offline = typ == "NUMANode"
                        && a.get("nodeset")
                            .is_some_and(|n| cpuset(n).iter().all(|&w| w == 0));
                    if !offline {
                        *d.by_type.entry(typ.clone()).or_default() += 1;
                    }
                    if typ == "Package" || typ == "Socket" {
                        packages.push(cs.clone().expect("a package has a cpuset"));
                    }
                    if typ == "NUMANode" {
                        let bytes: u64 = a.get("local_memory").map_or(0, |m| m.parse().unwrap());
                        if bytes >> 30 > 0 {
                            d.memory.push(bytes >> 30);
                        }
                    }
                    if typ == "OSDev" {
                        let (name, kind) = (a["name"].clone(), a["osdev_type"].as_str());
                        if kind == "5" || (kind == "1" && name.starts_with("rsmi")) {
                            let id = if let Some(n) = name.strip_prefix("cuda") {
                                n.parse().unwrap()
                            } else if let Some(n) = name.strip_prefix("opencl") {
                                n.split_once('d').unwrap().1.parse().unwrap()
                            } else {
                                name.trim_start_matches("rsmi").parse().unwrap()
                            };
                            let near = stack.iter().rev().find_map(|(_, c)| c.clone());
                            gpus.push((id, near.expect("a GPU has a located ancestor")));
                        }
                        if kind == "0" {
                            d.storage.push((name, None));
                        }
                    }
                    if !empty {
                        stack.push((typ, cs));
                    }
                }
                b"info" => {
                    let a = attrs(e);
                    let top = stack.last().map(|(t, _)| t.as_str());
                    if a["name"] == "HostName" && top == Some("Machine") {
                        d.host = Some(a["value"].clone());
                    }
                    if a["name"] == "Size" && top == Some("OSDev") {
                        if let Some((_, size @ None)) = d.storage.last_mut() {
                            *size = Some(a["value"].parse::<u64>().unwrap() / 1_000_000);
                        }
                    }
                }
                _ => {}
            },
            Event::End(ref e) if e.name().as_ref() == b"object" => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    d.gpus = gpus
        .into_iter()
        .map(|(id, near)| (id, packages.iter().position(|p| subset(&near, p))))
        .collect();
    d
}

/// Every type the reader makes but storage.
const NO_STORAGE: &str = "node,group,numanode,memory,socket,L1cache,L2cache,L3cache,core,pu,gpu";

#[test]
fn fluxion_hwloc_xmls_build_what_they_describe() {
    let Some((_, files)) = fluxion_xmls() else {
        return;
    };
    assert!(!files.is_empty());
    for f in &files {
        let want = described(f);
        let at = f.display();
        // As in Fluxion, a block device without a Size fails the load
        // unless storage is left out.
        let sizeless = want.storage.iter().find(|(_, s)| s.is_none());
        let g = match sizeless {
            None => read_xml(f, &Allowlist::all()).unwrap_or_else(|e| panic!("{e}")),
            Some((name, _)) => {
                let e = read_xml(f, &Allowlist::all()).expect_err("sizeless block device");
                let msg = e.to_string();
                assert!(
                    msg.contains(&format!("block device \"{name}\" has no Size")),
                    "{msg}"
                );
                read_xml(f, &Allowlist::parse(NO_STORAGE).unwrap()).unwrap()
            }
        };
        let n = |t: &str| want.by_type.get(t).copied().unwrap_or(0);
        assert_eq!(count(&g, "cluster"), 1, "{at}");
        let host = want
            .host
            .as_deref()
            .expect("every Fluxion XML names its host");
        assert_eq!(count(&g, "node"), 1, "{at}");
        assert_eq!(g.name(g.of_type("node")[0]), host, "{at}");
        assert_eq!(count(&g, "socket"), n("Package") + n("Socket"), "{at}");
        assert_eq!(count(&g, "core"), n("Core"), "{at}");
        assert_eq!(count(&g, "pu"), n("PU"), "{at}");
        assert_eq!(count(&g, "numanode"), n("NUMANode"), "{at}");
        let mut mem: Vec<u64> = g.of_type("memory").iter().map(|&v| g.g[v].size).collect();
        let mut want_mem = want.memory.clone();
        mem.sort();
        want_mem.sort();
        assert_eq!(mem, want_mem, "{at}: memory GB per NUMA node");
        if sizeless.is_none() {
            let mut storage: Vec<u64> = g.of_type("storage").iter().map(|&v| g.g[v].size).collect();
            let mut want_storage: Vec<u64> = want.storage.iter().filter_map(|s| s.1).collect();
            storage.sort();
            want_storage.sort();
            assert_eq!(storage, want_storage, "{at}: storage GB");
        }
        let mut gpus: Vec<(i64, Option<usize>)> = g
            .of_type("gpu")
            .iter()
            .map(|&v| (g.g[v].id, socket_of(&g, v).map(|s| s as usize)))
            .collect();
        let mut want_gpus = want.gpus.clone();
        gpus.sort();
        want_gpus.sort();
        assert_eq!(gpus, want_gpus, "{at}: (gpu id, socket) pairs");
        // resource-query's rank (-1): each node gets the next from 0, as
        // Fluxion's reader gives them; everything else keeps -1.
        let nodes: Vec<i64> = g.of_type("node").iter().map(|&v| g.g[v].rank).collect();
        assert_eq!(
            nodes,
            (0..nodes.len() as i64).collect::<Vec<_>>(),
            "{at}: node ranks"
        );
        assert!(
            g.vertices()
                .skip(1)
                .all(|v| g.g[v].rank == -1 || g.name_of(g.g[v].typ) == "node"),
            "{at}: resource-query's rank"
        );
    }
}

/// The figures the test above derives from each XML, written down once so
/// a reader sees what the files hold: sockets, cores, GPUs, NUMA memory
/// vertices, and the socket of each GPU (by GPU id).
#[test]
fn fluxion_hwloc_xml_figures() {
    let Some((dir, files)) = fluxion_xmls() else {
        return;
    };
    let mut seen = BTreeMap::new();
    for f in &files {
        let w = Allowlist::parse("node,socket,core,gpu,memory").unwrap();
        let g = read_xml(f, &w).unwrap();
        let name = f.strip_prefix(&dir).unwrap();
        let fig = ["socket", "core", "gpu", "memory"].map(|t| count(&g, t));
        let mut gpu_sockets: Vec<(i64, i64)> = g
            .of_type("gpu")
            .iter()
            .map(|&v| (g.g[v].id, socket_of(&g, v).unwrap_or(-1)))
            .collect();
        gpu_sockets.sort();
        seen.insert(name.display().to_string(), (fig, gpu_sockets));
    }
    let want = BTreeMap::from([
        (
            "001N/exclusive/01-brokers-sierra2/0.xml".to_owned(),
            ([2, 44, 4, 6], vec![(0, 0), (1, 0), (2, 1), (3, 1)]),
        ),
        (
            "001N/multi_gpu_types/chimera.xml".to_owned(),
            ([1, 32, 2, 2], vec![(0, 0), (1, 0)]),
        ),
        (
            "001N/node_local_storage/lassen/0.xml".to_owned(),
            ([2, 40, 4, 2], vec![(0, 0), (1, 0), (2, 1), (3, 1)]),
        ),
        (
            "004N/exclusive/04-brokers/0.xml".to_owned(),
            ([2, 16, 0, 2], vec![]),
        ),
    ]);
    assert_eq!(seen, want);
}
