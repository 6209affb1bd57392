//! The hwloc reader: a resource graph from an hwloc topology, as Fluxion's
//! `resource_reader_hwloc` builds it (`resource-query -f hwloc -L x.xml`),
//! from an XML export or (through [`crate::discover`]) this machine.
//!
//! hwloc loads the topology with Fluxion's filters: important I/O objects
//! only, CPU caches and instruction caches only where they add structure.
//! The graph, in creation order (which fixes uniq_ids and the order the
//! matcher visits children in):
//!
//! - `cluster0`: type and basename `cluster`, id 0, rank -1, the root of
//!   the containment subsystem;
//! - then hwloc's objects depth first, each object's children in hwloc's
//!   order (normal children, then memory, I/O and misc children). An
//!   object of a kind below becomes a vertex under the nearest ancestor
//!   that became one; any other object (PCI devices, bridges, misc, other
//!   OS devices) is skipped and its children move up:
//!
//! | hwloc object                         | type      | basename   | id                    | size           |
//! |--------------------------------------|-----------|------------|-----------------------|----------------|
//! | Machine with a `HostName` info       | `node`    | host stem  | host's trailing digits | 1             |
//! | Group                                | `group`   | `group`    | logical index         | 1              |
//! | NUMANode                             | `numanode`| `numanode` | logical index         | 1              |
//! | Package                              | `socket`  | `socket`   | logical index         | 1              |
//! | L1, L2, L3 cache (data or unified)   | `cache`   | `L1cache`..| logical index         | KiB            |
//! | Core                                 | `core`    | `core`     | logical index         | 1              |
//! | PU                                   | `pu`      | `pu`       | logical index         | 1              |
//! | OS device: co-processor, or GPU named `rsmi*` | `gpu` | `gpu` | digits of its name (`cuda2`, `rsmi1`, `opencl0d3`: after the `d`), else logical index | 1 |
//! | OS device: block                     | `storage` | `storage`  | logical index         | `Size` kB / 10^6 (GB) |
//!
//! A node is named by its host name (`cab1234`: basename `cab`, id 1234,
//! as [`crate::rv1exec::split_hostname`] splits it); every other vertex is
//! basename + id. Storage vertices carry the property `LinuxDeviceID`
//! (`-1` when hwloc has none). Paths are the parent's path + "/" + name;
//! edges are `contains` in `containment`; no unit is set. Every vertex but
//! the cluster gets the rank asked for (-1 in `resource-query`, as there),
//! except that with -1 each node gets the next rank from 0, in creation
//! order, as Fluxion's reader gives them (a node's rank must be one an
//! idset can hold); the vertices below a node keep -1 there too.
//!
//! Beyond Fluxion: each NUMA node's memory becomes a `memory` vertex, id
//! the NUMA node's logical index, size its local memory in GB (2^30 bytes,
//! rounded down; none when that is 0), unit `GB`, as a child of the
//! `numanode` vertex (or of the nearest ancestor vertex when `numanode` is
//! not allowed). A job asks for it as for a GRUG recipe's memory.
//! resource-query leaves it out of an hwloc file unless `-W` names it
//! (`Allowlist::parse_as_fluxion`), so its graphs are Fluxion's.
//!
//! Beyond Fluxion too: two GPUs under one vertex with one id (a CUDA and
//! an OpenCL device both numbered 0, on a machine with cards of two
//! vendors) would share a path, which Fluxion's reader allows and we do
//! not (a booking by path would land on both). Each later twin, in
//! creation order, gets the next id above every GPU's, as the NVML merge
//! numbers a new GPU. Any other two vertices at one path (two machines
//! with one host name) are an error naming both.
//!
//! An allowlist (`-W node,socket,core,gpu`) keeps only the listed types
//! (cache types by basename: `L2cache`); the cluster is always there.
use std::collections::HashMap;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

pub use crate::allowlist::Allowlist;
use crate::error::GraphError;
use crate::graph::{ResourceGraph, VertexIdx};
use crate::pci::{PciAddr, PciSite};

/// Read an hwloc XML export (`lstopo file.xml`, hwloc 1.x or 2.x format)
/// into a graph, with rank -1 as `resource-query -f hwloc` does. Errors
/// name the file: unreadable, malformed XML (with its line), not an hwloc
/// topology, or a topology the reader cannot use.
pub fn read_xml(path: &Path, allowlist: &Allowlist) -> Result<ResourceGraph, GraphError> {
    let text = read_checked(path)?;
    imp::from_xml(&text, &path.display().to_string(), allowlist, -1).map(|b| b.graph)
}

/// [`read_xml`] for XML already in memory; `origin` names it in errors.
/// The fuzz targets use it: it checks the text as `read_xml` checks a
/// file's, then reads it the same way.
pub fn read_xml_text(
    text: &str,
    origin: &str,
    allowlist: &Allowlist,
) -> Result<ResourceGraph, GraphError> {
    check_xml(text, origin)?;
    imp::from_xml(text, origin, allowlist, -1).map(|b| b.graph)
}

/// The text of an hwloc XML file, checked to be well-formed XML whose top
/// element is `<topology>`, so that hwloc (which says only "invalid") gets
/// nothing it would reject for a reason a person could have been told.
pub(crate) fn read_checked(path: &Path) -> Result<String, GraphError> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| GraphError::Io {
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| GraphError::Hwloc {
        origin: origin.clone(),
        what: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })?;
    check_xml(&text, &origin)?;
    Ok(text)
}

fn check_xml(text: &str, origin: &str) -> Result<(), GraphError> {
    let line_of =
        |pos: u64| crate::error::line_of(text, usize::try_from(pos).unwrap_or(usize::MAX));
    let xml_err = |pos: u64, msg: String| GraphError::Xml {
        path: origin.to_owned(),
        line: line_of(pos),
        msg,
    };
    if text.contains('\0') {
        let pos = text.find('\0').unwrap_or(0) as u64;
        return Err(xml_err(pos, "NUL character".into()));
    }
    let mut reader = Reader::from_str(text);
    let mut depth = 0usize;
    let mut objects = 0usize;
    let mut top_seen = false;
    // Elements open at this point whose text hwloc reads.
    let mut in_text = 0usize;
    let holds_text = |name: &[u8]| TEXT_ELEMENTS.contains(&name);
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| xml_err(reader.buffer_position(), e.to_string()))?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if depth == 0 {
                    if top_seen {
                        return Err(xml_err(pos, "more than one top element".into()));
                    }
                    top_seen = true;
                    if e.name().as_ref() != b"topology" {
                        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                        return Err(xml_err(
                            pos,
                            format!("top element is <{name}>, not an hwloc <topology>"),
                        ));
                    }
                }
                if e.name().as_ref() == b"object" {
                    check_sets(e, objects == 0).map_err(|what| xml_err(pos, what))?;
                    objects += 1;
                }
                if matches!(ev, Event::Start(_)) {
                    depth += 1;
                    if holds_text(e.name().as_ref()) {
                        in_text += 1;
                    }
                }
            }
            Event::End(ref e) => {
                depth = depth.saturating_sub(1);
                if holds_text(e.name().as_ref()) {
                    in_text = in_text.saturating_sub(1);
                }
            }
            // hwloc keeps everything in attributes; text elsewhere is not
            // part of the format, and hwloc's own parser skips what follows
            // it, loading a tree whose sets no longer add up.
            Event::Text(ref t) if in_text == 0 && !t.iter().all(u8::is_ascii_whitespace) => {
                let lead = t.iter().take_while(|b| b.is_ascii_whitespace()).count();
                let shown: String = String::from_utf8_lossy(t).trim().chars().take(20).collect();
                let at = pos.saturating_add(lead as u64);
                return Err(xml_err(
                    at,
                    format!("stray text {shown:?} outside any attribute"),
                ));
            }
            // The text is UTF-8 here; hwloc's parser would convert it
            // from what the declaration says (and fails inside hwlocality).
            Event::Decl(ref d) => {
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = String::from_utf8_lossy(&enc).into_owned();
                    if !["utf-8", "utf8", "us-ascii", "ascii"]
                        .contains(&enc.to_ascii_lowercase().as_str())
                    {
                        return Err(xml_err(
                            pos,
                            format!("encoding {enc:?}: hwloc XML is read as UTF-8"),
                        ));
                    }
                }
            }
            // hwloc's libxml reader compares the DTD's system id, which
            // must be there (a doctype without one killed the process).
            Event::DocType(ref d) => {
                let text = String::from_utf8_lossy(d).into_owned();
                let mut words = text.split_whitespace();
                let ok = words.next() == Some("topology")
                    && words.next() == Some("SYSTEM")
                    && words.next().is_some_and(|id| {
                        id.len() >= 2
                            && (id.starts_with('"') && id.ends_with('"')
                                || id.starts_with('\'') && id.ends_with('\''))
                    });
                if !ok {
                    return Err(xml_err(
                        pos,
                        format!(
                            "<!DOCTYPE {}>: expected <!DOCTYPE topology SYSTEM \"hwloc2.dtd\">",
                            text.trim()
                        ),
                    ));
                }
            }
            Event::CData(_) if in_text == 0 => {
                return Err(xml_err(pos, "CDATA section outside <userdata>".into()));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if depth > 0 {
        return Err(xml_err(
            text.len() as u64,
            format!("ends inside {depth} unclosed element(s)"),
        ));
    }
    if !top_seen {
        return Err(xml_err(0, "no <topology> element".into()));
    }
    if objects == 0 {
        return Err(xml_err(0, "the <topology> holds no <object>".into()));
    }
    Ok(())
}

/// The elements of hwloc's XML whose content is text: user data and a
/// distance matrix's indexes and values.
const TEXT_ELEMENTS: [&[u8]; 3] = [b"userdata", b"indexes", b"u64values"];

/// The largest `os_index` a PU or NUMA node may have: hwloc sets that
/// bit in a bitmap (a missing index is 2^32 - 1, half a gigabyte), and
/// no machine has 16 million processors.
const MAX_OS_INDEX: u64 = 1 << 24;

/// hwloc's object types (version 2 names, and version 1's that differ).
const KNOWN_TYPES: [&str; 24] = [
    "Machine", "Package", "Die", "Core", "PU", "NUMANode", "Group", "MemCache", "L1Cache",
    "L2Cache", "L3Cache", "L4Cache", "L5Cache", "L1iCache", "L2iCache", "L3iCache", "Bridge",
    "PCIDev", "OSDev", "Misc", "System", "Socket", "Node", "Cache",
];

/// The types that carry no sets: I/O devices and Misc.
const SETLESS_TYPES: [&str; 4] = ["Bridge", "PCIDev", "OSDev", "Misc"];

/// The sets an `<object>` may carry, each a bitmap.
const SETS: [&str; 6] = [
    "cpuset",
    "complete_cpuset",
    "allowed_cpuset",
    "nodeset",
    "complete_nodeset",
    "allowed_nodeset",
];

/// What hwloc 2.9 (Debian 12's) needs of an `<object>` to load it
/// safely, each a crash (an assertion, a NULL bitmap, a huge allocation)
/// found by fuzzing when missing: sets written as hwloc writes bitmaps;
/// the CPU and node sets and their complete twins together; all six sets on the
/// top object (hwloc compares them); and a PU or NUMA node with a small
/// `os_index` (hwloc allocates a bitmap that big).
fn check_sets(e: &BytesStart, top: bool) -> Result<(), String> {
    let attr = |name: &[u8]| {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == name)
            .map(|a| String::from_utf8_lossy(&a.value).into_owned())
    };
    let typ = attr(b"type").unwrap_or_else(|| "?".into());
    for set in SETS {
        match attr(set.as_bytes()) {
            Some(text) if !is_bitmap(&text) => {
                return Err(format!(
                    "<object type=\"{typ}\"> {set} {text:?} is not an hwloc bitmap (0x and up to 8 hex digits, comma separated groups)"
                ))
            }
            None if top => {
                return Err(format!(
                    "<object type=\"{typ}\">, the top object, has no {set} (hwloc needs all of {})",
                    SETS.join(", ")
                ))
            }
            _ => {}
        }
    }

    if typ == "PU" || typ == "NUMANode" {
        let index =
            attr(b"os_index").ok_or_else(|| format!("<object type=\"{typ}\"> has no os_index"))?;
        match index.trim().parse::<u64>() {
            Ok(i) if i < MAX_OS_INDEX => {}
            _ => {
                return Err(format!(
                "<object type=\"{typ}\"> has os_index {index:?}, not a number under {MAX_OS_INDEX}"
            ))
            }
        }
    }
    if attr(b"type").is_none() {
        return Err("an <object> without a type".into());
    }
    if !KNOWN_TYPES.contains(&typ.as_str()) {
        return Err(format!("<object type=\"{typ}\">: not an hwloc object type"));
    }
    // hwloc compares these four between an object and its parent; only
    // I/O and Misc objects have none.
    let four = ["cpuset", "complete_cpuset", "nodeset", "complete_nodeset"];
    if !SETLESS_TYPES.contains(&typ.as_str()) {
        if let Some(lacks) = four.iter().find(|s| attr(s.as_bytes()).is_none()) {
            return Err(format!(
                "<object type=\"{typ}\"> has no {lacks} (hwloc needs all of {})",
                four.join(", ")
            ));
        }
    }
    Ok(())
}

/// A bitmap as hwloc writes one: `0x` groups of 1 to 8 hex digits,
/// comma separated, the first one possibly `0xf...f` (all the rest set),
/// a later one possibly empty (all zero).
fn is_bitmap(text: &str) -> bool {
    text.split(',').enumerate().all(|(i, group)| {
        if i > 0 && group.is_empty() {
            return true;
        }
        let Some(hex) = group.strip_prefix("0x") else {
            return false;
        };
        (i == 0 && hex == "f...f")
            || (!hex.is_empty() && hex.len() <= 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
    })
}

/// A graph built from hwloc, with what the GPU merge needs to know.
pub(crate) struct Built {
    pub graph: ResourceGraph,
    /// Where GPUs hwloc did not place go: the node, or the cluster.
    pub home: VertexIdx,
    /// hwloc's PCI devices by address.
    pub sites: HashMap<PciAddr, PciSite>,
    /// Things left out (live discovery only), one line each.
    pub notes: Vec<String>,
}

pub(crate) use imp::{from_this_machine, from_xml};

/// How errors about the live topology name their origin.
pub(crate) const THIS_MACHINE: &str = "this machine (hwloc)";

#[cfg(not(feature = "hwloc"))]
mod imp {
    use super::{Allowlist, Built};
    use crate::error::GraphError;

    fn off(origin: &str) -> GraphError {
        GraphError::Hwloc {
            origin: origin.to_owned(),
            what: "this build has no hwloc support (the `hwloc` feature is off)".into(),
        }
    }

    pub(crate) fn from_xml(
        _text: &str,
        origin: &str,
        _allow: &Allowlist,
        _rank: i64,
    ) -> Result<Built, GraphError> {
        Err(off(origin))
    }

    pub(crate) fn from_this_machine(_allow: &Allowlist, _rank: i64) -> Result<Built, GraphError> {
        Err(off(super::THIS_MACHINE))
    }
}

#[cfg(feature = "hwloc")]
mod imp {
    use std::collections::{HashMap, HashSet};

    use hwlocality::object::attributes::ObjectAttributes;
    use hwlocality::object::types::{OSDeviceType, ObjectType};
    use hwlocality::object::TopologyObject;
    use hwlocality::topology::builder::{TopologyBuilder, TypeFilter};
    use hwlocality::Topology;

    use super::{Allowlist, Built, THIS_MACHINE};
    use crate::error::GraphError;
    use crate::graph::{NewVertex, ResourceGraph, VertexIdx};
    use crate::intern::Sym;
    use crate::pci::{PciAddr, PciSite};
    use crate::rv1exec::split_hostname;

    /// Build from XML text; `origin` names the file in errors.
    pub(crate) fn from_xml(
        text: &str,
        origin: &str,
        allow: &Allowlist,
        rank: i64,
    ) -> Result<Built, GraphError> {
        let fail = |what: String| GraphError::Hwloc {
            origin: origin.to_owned(),
            what,
        };
        // hwlocality treats some of hwloc's answers on odd XML as
        // impossible and panics (EILSEQ from the parser, for one): that
        // is this input's error, not the process's end.
        let topo = std::panic::catch_unwind(|| {
            let builder = Topology::builder()
                .from_xml(text)
                .map_err(|e| format!("hwloc cannot use this XML: {e}"))?;
            load(builder)
        })
        .unwrap_or_else(|_| Err("hwloc refused this XML (hwlocality gave up on its answer)".into()))
        .map_err(fail)?;
        let built = walk(&topo, origin, allow, rank, true)?;
        // A file's hostname is a path component: '/' in it would make
        // the graph's JGF say another place; and two machines of one
        // name would share their paths.
        let g = &built.graph;
        crate::validate::check_round_trip(g)
            .and_then(|()| match g.symbols.get("containment") {
                Some(cont) => crate::validate::check_paths(g, cont),
                None => Ok(()),
            })
            .map_err(|bad| fail(bad.describe(crate::validate::plain_name(g))))?;
        Ok(built)
    }

    /// Build from this machine's topology.
    pub(crate) fn from_this_machine(allow: &Allowlist, rank: i64) -> Result<Built, GraphError> {
        let topo = load(Topology::builder()).map_err(|what| GraphError::Hwloc {
            origin: THIS_MACHINE.to_owned(),
            what,
        })?;
        walk(&topo, THIS_MACHINE, allow, rank, false)
    }

    /// Fluxion's filters, then load.
    fn load(builder: TopologyBuilder) -> Result<Topology, String> {
        builder
            .with_io_type_filter(TypeFilter::KeepImportant)
            .map_err(|e| format!("hwloc I/O filter: {e}"))?
            .with_cpu_cache_type_filter(TypeFilter::KeepStructure)
            .map_err(|e| format!("hwloc cache filter: {e}"))?
            .with_cpu_icache_type_filter(TypeFilter::KeepStructure)
            .map_err(|e| format!("hwloc icache filter: {e}"))?
            .build()
            .map_err(|e| match e.errno {
                Some(errno) => format!("hwloc could not load the topology ({errno})"),
                None => "hwloc could not load the topology".into(),
            })
    }

    fn walk(
        topo: &Topology,
        origin: &str,
        allow: &Allowlist,
        rank: i64,
        strict: bool,
    ) -> Result<Built, GraphError> {
        let n = topo.objects().count();
        let mut g = ResourceGraph::with_capacity(n + 1, n);
        let cont = g.sym("containment");
        let contains = g.sym("contains");
        let cluster = g.add_cluster_root();
        let mut w = Walk {
            g,
            allow,
            rank,
            origin,
            strict,
            cont,
            contains,
            node: None,
            node_rank: -1,
            sites: HashMap::new(),
            notes: Vec::new(),
        };
        w.visit(topo.root_object(), cluster, None)?;
        w.number_twin_gpus()?;
        Ok(Built {
            home: w.node.unwrap_or(cluster),
            graph: w.g,
            sites: w.sites,
            notes: w.notes,
        })
    }

    /// What one hwloc object becomes.
    struct Made {
        typ: &'static str,
        basename: String,
        id: i64,
        size: u64,
        unit: &'static str,
        name: Option<String>,
        property: Option<(&'static str, String)>,
    }

    impl Made {
        fn plain(typ: &'static str, id: i64) -> Self {
            Made {
                typ,
                basename: typ.to_owned(),
                id,
                size: 1,
                unit: "",
                name: None,
                property: None,
            }
        }
    }

    struct Walk<'a> {
        g: ResourceGraph,
        allow: &'a Allowlist,
        rank: i64,
        origin: &'a str,
        /// XML: a block device without a usable size is an error, as in
        /// Fluxion. This machine: it is left out with a note, so an empty
        /// card reader cannot stop a daemon from starting.
        strict: bool,
        cont: Sym,
        contains: Sym,
        node: Option<VertexIdx>,
        /// The rank the last node got when `rank` is -1.
        node_rank: i64,
        sites: HashMap<PciAddr, PciSite>,
        notes: Vec<String>,
    }

    impl Walk<'_> {
        /// Give each later GPU that shares its parent and id with an
        /// earlier one the next id above every GPU's (see the module doc).
        fn number_twin_gpus(&mut self) -> Result<(), GraphError> {
            let gpus = self.g.of_type("gpu").to_vec();
            let ids = gpus.iter().map(|&v| self.g.g[v].id);
            let mut next = ids.max().map_or(0, |m| m.saturating_add(1));
            let mut taken = HashSet::with_capacity(gpus.len());
            for v in gpus {
                let parent = self.g.parent_edge(v, self.cont).map(|e| self.g.source(e));
                if taken.insert((parent, self.g.g[v].id)) {
                    continue;
                }
                if next == i64::MAX {
                    return Err(self.fail("a GPU's id is too large to number its twin".into()));
                }
                self.g.g[v].id = next;
                taken.insert((parent, next));
                next += 1;
            }
            Ok(())
        }

        fn fail(&self, what: String) -> GraphError {
            GraphError::Hwloc {
                origin: self.origin.to_owned(),
                what,
            }
        }

        fn add(&mut self, parent: VertexIdx, m: Made) -> VertexIdx {
            let rank = if m.typ == "node" && self.rank == -1 {
                self.node_rank += 1;
                self.node_rank
            } else {
                self.rank
            };
            let v = self.g.add_vertex(NewVertex {
                typ: m.typ,
                basename: &m.basename,
                id: m.id,
                rank,
                size: m.size,
                unit: m.unit,
            });
            self.g.add_edge(parent, v, self.cont, self.contains);
            if let Some(name) = m.name {
                self.g.set_name(v, &name);
            }
            if let Some((k, val)) = m.property {
                self.g.set_property(v, k, &val);
            }
            v
        }

        /// Add `obj` (if it is a kind the reader keeps) under `parent`,
        /// then its children under it; `pci` is the PCI device `obj` is
        /// in, if any.
        fn visit(
            &mut self,
            obj: &TopologyObject,
            parent: VertexIdx,
            mut pci: Option<PciAddr>,
        ) -> Result<(), GraphError> {
            let mut here = parent;
            if let Some(m) = self.made(obj)? {
                let typ = m.typ;
                here = self.add(parent, m);
                match typ {
                    "node" if self.node.is_none() => self.node = Some(here),
                    "gpu" => {
                        if let Some(site) = pci.and_then(|p| self.sites.get_mut(&p)) {
                            site.gpu.get_or_insert(here);
                        }
                    }
                    _ => {}
                }
            }
            if let Some(ObjectAttributes::PCIDevice(a)) = obj.attributes() {
                let addr = PciAddr {
                    domain: u32::from(a.domain()),
                    bus: a.bus_id(),
                    device: a.bus_device(),
                    function: a.function(),
                };
                self.sites.entry(addr).or_insert(PciSite {
                    parent: here,
                    gpu: None,
                });
                pci = Some(addr);
            }
            if obj.object_type() == ObjectType::NUMANode && self.allow.allows("memory") {
                let bytes = match obj.attributes() {
                    Some(ObjectAttributes::NUMANode(a)) => a.local_memory().map_or(0, |m| m.get()),
                    _ => 0,
                };
                if bytes >> 30 > 0 {
                    let m = Made {
                        size: bytes >> 30,
                        unit: "GB",
                        ..Made::plain("memory", obj.logical_index() as i64)
                    };
                    self.add(here, m);
                }
            }
            for child in obj.all_children() {
                self.visit(child, here, pci)?;
            }
            Ok(())
        }

        /// The vertex `obj` becomes, `None` for kinds the reader skips or
        /// types the allowlist leaves out.
        fn made(&mut self, obj: &TopologyObject) -> Result<Option<Made>, GraphError> {
            let index = obj.logical_index() as i64;
            let plain = |typ: &'static str| Some(Made::plain(typ, index));
            let made = match obj.object_type() {
                ObjectType::Machine => match obj.info("HostName") {
                    Some(host) => {
                        let host = host.to_string_lossy().into_owned();
                        let (basename, id) = split_hostname(&host).ok_or_else(|| {
                            self.fail(format!(
                                "host \"{host}\" has a numeric suffix too large for an id"
                            ))
                        })?;
                        Some(Made {
                            basename: basename.to_owned(),
                            id,
                            name: Some(host.clone()),
                            ..Made::plain("node", id)
                        })
                    }
                    None => None,
                },
                ObjectType::Group => plain("group"),
                ObjectType::NUMANode => plain("numanode"),
                ObjectType::Package => plain("socket"),
                ObjectType::L1Cache | ObjectType::L2Cache | ObjectType::L3Cache => {
                    let level = match obj.object_type() {
                        ObjectType::L1Cache => 1,
                        ObjectType::L2Cache => 2,
                        _ => 3,
                    };
                    let kib = match obj.attributes() {
                        Some(ObjectAttributes::Cache(c)) => c.size().map_or(0, |s| s.get() / 1024),
                        _ => 0,
                    };
                    Some(Made {
                        basename: format!("L{level}cache"),
                        size: kib,
                        ..Made::plain("cache", index)
                    })
                }
                ObjectType::Core => plain("core"),
                ObjectType::PU => plain("pu"),
                ObjectType::OSDevice => self.os_device(obj, index)?,
                _ => None,
            };
            // Caches are allowed by basename (L2cache), the rest by type.
            Ok(made.filter(|m| {
                let key = if m.typ == "cache" { &m.basename } else { m.typ };
                self.allow.allows(key)
            }))
        }

        fn os_device(
            &mut self,
            obj: &TopologyObject,
            index: i64,
        ) -> Result<Option<Made>, GraphError> {
            let Some(ObjectAttributes::OSDevice(a)) = obj.attributes() else {
                return Ok(None);
            };
            let name = obj
                .name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match a.device_type() {
                OSDeviceType::CoProcessor => Ok(Some(Made::plain("gpu", gpu_id(&name, index)))),
                OSDeviceType::GPU if name.starts_with("rsmi") => {
                    Ok(Some(Made::plain("gpu", gpu_id(&name, index))))
                }
                OSDeviceType::Storage if self.allow.allows("storage") => {
                    let size = obj.info("Size").map(|s| s.to_string_lossy().into_owned());
                    let kb = size.as_deref().map(leading_int).unwrap_or(0);
                    if kb <= 0 {
                        let why = match size {
                            None => format!("block device \"{name}\" has no Size"),
                            Some(s) => {
                                format!("block device \"{name}\" has an unusable Size \"{s}\"")
                            }
                        };
                        if self.strict {
                            return Err(self.fail(format!(
                                "{why} (an allowlist without storage loads the rest)"
                            )));
                        }
                        self.notes.push(format!("left out {why}"));
                        return Ok(None);
                    }
                    let dev = obj
                        .info("LinuxDeviceID")
                        .map_or_else(|| "-1".to_owned(), |d| d.to_string_lossy().into_owned());
                    Ok(Some(Made {
                        size: (kb / 1_000_000) as u64,
                        property: Some(("LinuxDeviceID", dev)),
                        ..Made::plain("storage", index)
                    }))
                }
                _ => Ok(None),
            }
        }
    }

    /// A GPU OS device's id from its name, as Fluxion reads it: the number
    /// after `cuda` or `rsmi`, after the `d` of `opencl<platform>d<device>`;
    /// other co-processors keep their logical index.
    fn gpu_id(name: &str, index: i64) -> i64 {
        if let Some(rest) = name
            .strip_prefix("cuda")
            .or_else(|| name.strip_prefix("rsmi"))
        {
            leading_int(rest)
        } else if let Some(rest) = name.strip_prefix("opencl") {
            rest.split_once('d')
                .map_or(index, |(_, dev)| leading_int(dev))
        } else {
            index
        }
    }

    /// The integer at the start of `s`, as C's atoi reads it (0 if none).
    fn leading_int(s: &str) -> i64 {
        let s = s.trim_start();
        let (neg, digits) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let end = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        let v = digits[..end].parse::<i64>().unwrap_or(0);
        if neg {
            -v
        } else {
            v
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn gpu_ids_come_from_names_as_in_fluxion() {
            assert_eq!(gpu_id("cuda3", 7), 3);
            assert_eq!(gpu_id("rsmi12", 7), 12);
            assert_eq!(gpu_id("opencl0d2", 7), 2);
            assert_eq!(gpu_id("opencl1", 7), 7);
            assert_eq!(gpu_id("ve0", 7), 7);
            assert_eq!(gpu_id("cudax", 7), 0);
            assert_eq!(leading_int("1875374424"), 1_875_374_424);
            assert_eq!(leading_int("12kB"), 12);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "hwloc"))]
    #[test]
    fn without_the_feature_reading_is_a_clear_error() {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/mini-hwloc.xml");
        let e = read_xml(Path::new(p), &Allowlist::all()).unwrap_err();
        assert!(e.to_string().starts_with(p), "{e}");
        assert!(e.to_string().contains("no hwloc support"), "{e}");
        let e = crate::discover::discover(&Default::default()).unwrap_err();
        assert!(e.to_string().contains("no hwloc support"), "{e}");
    }

    #[test]
    fn allowlists_parse_as_in_fluxion() {
        assert!(Allowlist::parse("").unwrap().allows("pu"));
        let w = Allowlist::parse("node,,socket,core,").unwrap();
        assert!(w.allows("socket") && w.allows("core") && !w.allows("pu"));
        assert!(Allowlist::parse(",,").is_err());
    }

    /// `<object type="Machine" ...>` with all six sets, as attributes.
    fn full_machine() -> String {
        let sets: Vec<String> = SETS.iter().map(|s| format!("{s}=\"0x1\"")).collect();
        format!("<object type=\"Machine\" {}", sets.join(" "))
    }

    #[test]
    fn malformed_xml_is_named_with_its_line() {
        let err = check_xml(
            "<topology>\n<object type=\"Machine\" cpuset=\"0x1\" complete_cpuset=\"0x1\" allowed_cpuset=\"0x1\" nodeset=\"0x1\" complete_nodeset=\"0x1\" allowed_nodeset=\"0x1\">\n</topology>",
            "t.xml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("t.xml: line 3: malformed XML"), "{err}");
        let err = check_xml("<?xml version=\"1.0\"?>\n<graphml/>", "g.xml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an hwloc <topology>"), "{err}");
        let err = check_xml("<topology>\n<object type=\"Machine\" cpuset=\"0x1\" complete_cpuset=\"0x1\" allowed_cpuset=\"0x1\" nodeset=\"0x1\" complete_nodeset=\"0x1\" allowed_nodeset=\"0x1\">", "u.xml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unclosed"), "{err}");
        assert!(check_xml("<topology><object type=\"Machine\" cpuset=\"0x1\" complete_cpuset=\"0x1\" allowed_cpuset=\"0x1\" nodeset=\"0x1\" complete_nodeset=\"0x1\" allowed_nodeset=\"0x1\"/></topology>", "ok.xml").is_ok());
        let err = check_xml(
            "<topology>\n<object type=\"Machine\" cpuset=\"0x1\" complete_cpuset=\"0x1\" allowed_cpuset=\"0x1\" nodeset=\"0x1\" complete_nodeset=\"0x1\" allowed_nodeset=\"0x1\">\n ? <object type=\"PU\"/></object></topology>",
            "s.xml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("s.xml: line 3: malformed XML: stray text \"?\""),
            "{err}"
        );
        let distances = "<topology><object type=\"Machine\" cpuset=\"0x1\" complete_cpuset=\"0x1\" allowed_cpuset=\"0x1\" nodeset=\"0x1\" complete_nodeset=\"0x1\" allowed_nodeset=\"0x1\"/><distances2 nbobjs=\"1\">\
                         <indexes length=\"2\">0 </indexes><u64values length=\"3\">10 </u64values>\
                         </distances2></topology>";
        assert!(check_xml(distances, "d.xml").is_ok());
        let sets = "cpuset=\"0x1\" complete_cpuset=\"0x1\" allowed_cpuset=\"0x1\" \
                    nodeset=\"0x1\" complete_nodeset=\"0x1\"";
        for (xml, what) in [
            (
                format!("<topology><object type=\"Machine\" {sets}/></topology>"),
                "the top object, has no allowed_nodeset",
            ),
            (
                format!("<topology><object type=\"Machine\" {sets} allowed_nodeset=\",x1\"/></topology>"),
                "allowed_nodeset \",x1\" is not an hwloc bitmap",
            ),
            (
                "<?xml version=\"1.0\" encoding=\"UTF-7\"?><topology/>".to_owned(),
                "encoding \"UTF-7\"",
            ),
            (
                "<!DOCTYPE t><topology/>".to_owned(),
                "expected <!DOCTYPE topology SYSTEM",
            ),
        ] {
            let err = check_xml(&xml, "b.xml").unwrap_err().to_string();
            assert!(err.contains(what), "{err}");
        }
        for (obj, what) in [
            (
                "<object type=\"Core\" cpuset=\"0x1\"/>",
                "has no complete_cpuset",
            ),
            ("<object type=\"Package\"/>", "has no cpuset"),
            ("<object type=\"NUMANo69184\"/>", "not an hwloc object type"),
            ("<object os_index=\"0\"/>", "without a type"),
        ] {
            let xml = format!(
                "<topology><object {}>{obj}</object></topology>",
                &full_machine()[8..]
            );
            let err = check_xml(&xml, "o.xml").unwrap_err().to_string();
            assert!(err.contains(what), "{err}");
        }
        assert!(check_xml(
            &format!(
                "<topology><object {}><object type=\"Misc\"/></object></topology>",
                &full_machine()[8..]
            ),
            "misc.xml"
        )
        .is_ok());
        for ok in ["0x1", "0xf...f,0x3", "0x000000ff,,0x0", "0xffffffff"] {
            assert!(is_bitmap(ok), "{ok}");
        }
        for bad in ["", ",0x1", "0x", "0x123456789", "1", "0xg"] {
            assert!(!is_bitmap(bad), "{bad}");
        }
        for (pu, what) in [
            ("<object type=\"PU\"/>", "has no os_index"),
            (
                "<object type=\"PU\" os_index=\"4294967295\"/>",
                "not a number under",
            ),
            (
                "<object type=\"NUMANode\" os_index=\"x\"/>",
                "not a number under",
            ),
        ] {
            let text = format!("<topology><object type=\"Machine\" cpuset=\"0x1\" complete_cpuset=\"0x1\" allowed_cpuset=\"0x1\" nodeset=\"0x1\" complete_nodeset=\"0x1\" allowed_nodeset=\"0x1\">{pu}</object></topology>");
            let err = check_xml(&text, "p.xml").unwrap_err().to_string();
            assert!(err.contains(what), "{err}");
        }
    }
}
