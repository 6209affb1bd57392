//! Reader of RFC 20 "R version 1" documents by their `execution` part, as
//! Fluxion's rv1exec reader builds a resource graph from them.
//!
//! The part read is `{"R_lite": [{"rank": IDSET, "children": {TYPE:
//! IDSET, ...}}, ...], "nodelist": [HOSTLIST, ...], "properties": {NAME:
//! IDSET, ...}, "starttime": T, "expiration": T}`; `properties`, the times
//! and any other key are optional. Ranks take host names in rank order:
//! the smallest rank of all R_lite entries gets the first host of the
//! joined nodelist, whatever its number.
//!
//! The graph, in creation order (which fixes uniq_ids and the order the
//! matcher visits children in):
//!
//! - `cluster0`: type and basename `cluster`, id 0, rank -1, the root of
//!   the containment subsystem;
//! - per R_lite entry in document order, per rank in ascending order: a
//!   `node` named by its host, with the host's trailing digits as id
//!   (-1 when there are none) and what precedes them as basename (all of it
//!   when the host is all digits), the rank, and each property naming the
//!   rank as a property with value `""`;
//! - under each node, per `children` key in document order, per id in
//!   ascending order: a vertex of that type, basename the type, that id.
//!
//! Every vertex has size 1 and no unit; each child hangs from its parent
//! by one `contains` edge of `containment`, and paths follow names:
//! `/cluster0/node1/core3`. Fluxion attaches properties to nodes only.
//!
//! [`RSet`] is the parsed document, for commands that read R without
//! building a graph from it. Parsing counts the vertices the document
//! names (a cluster, a node per rank, its children) from its idsets
//! before it lists a rank, and refuses more than [`Limits`] allows; two
//! ranks on one host are refused too, as they would be two vertices at
//! the same path.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{json_kind, GraphError};
use crate::graph::{NewVertex, ResourceGraph};
use crate::hostlist;
use crate::idset::IdSet;
use crate::limits::Limits;

/// The subsystem R describes, and its relation.
const CONTAINMENT: &str = "containment";
const CONTAINS: &str = "contains";

/// One broker rank of R: its host and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Rank {
    /// The broker rank.
    pub rank: u32,
    /// The host the nodelist gives it.
    pub hostname: String,
    /// Child resources by type, in document order.
    pub children: Vec<(String, IdSet)>,
    /// Names of the properties that list this rank, sorted.
    pub properties: Vec<String>,
}

/// The `execution` part of an R version 1 document.
#[derive(Debug, Clone, PartialEq)]
pub struct RSet {
    /// Where the document came from, for error messages.
    pub origin: String,
    /// Ranks in the order the graph creates them: R_lite entry by entry,
    /// ascending within an entry. A rank appears once.
    pub ranks: Vec<Rank>,
    /// `execution.starttime`, seconds since the epoch, if given.
    pub starttime: Option<f64>,
    /// `execution.expiration`, seconds since the epoch, if given.
    pub expiration: Option<f64>,
}

/// Read an R document from disk and build its graph.
pub fn read_path(path: &Path) -> Result<ResourceGraph, GraphError> {
    read_path_with(path, &Limits::default())
}

/// [`read_path`] within `limits`.
pub fn read_path_with(path: &Path, limits: &Limits) -> Result<ResourceGraph, GraphError> {
    crate::error::read_file_with(path, limits, read_with)
}

/// Build the graph of an R document; `origin` names the file in errors.
pub fn read(text: &str, origin: &str) -> Result<ResourceGraph, GraphError> {
    read_with(text, origin, &Limits::default())
}

/// [`read`] within `limits`.
pub fn read_with(text: &str, origin: &str, limits: &Limits) -> Result<ResourceGraph, GraphError> {
    RSet::parse_with(text, origin, limits)?.to_graph()
}

impl RSet {
    /// Parse and check an R document within the default [`Limits`];
    /// `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<RSet, GraphError> {
        RSet::parse_with(text, origin, &Limits::default())
    }

    /// Parse and check an R document whose graph would have at most
    /// `limits.max_vertices` vertices; `origin` names the file in errors.
    pub fn parse_with(text: &str, origin: &str, limits: &Limits) -> Result<RSet, GraphError> {
        let fail = |what: String| GraphError::Rv1 {
            path: origin.to_owned(),
            what,
        };
        let doc: Value =
            serde_json::from_str(text).map_err(|e| fail(format!("invalid JSON: {e}")))?;
        let top = doc
            .as_object()
            .ok_or_else(|| fail(format!("expected an object, found {}", json_kind(&doc))))?;
        match top.get("version") {
            Some(v) if v.as_i64() == Some(1) => {}
            Some(v) => {
                return Err(fail(format!(
                    "key \"version\": expected 1, found {}",
                    json_kind(v)
                )))
            }
            None => return Err(fail("missing key \"version\"".into())),
        }
        let exec = object(top, "execution", "execution").map_err(fail)?;
        parse_execution(exec, origin, limits)
    }

    /// The rank set of the document.
    pub fn rank_set(&self) -> IdSet {
        IdSet::from_ids(self.ranks.iter().map(|r| r.rank))
    }

    /// The entry of one rank, if the document has it.
    pub fn rank(&self, rank: u32) -> Option<&Rank> {
        self.ranks.iter().find(|r| r.rank == rank)
    }

    /// Build the resource graph the way Fluxion's rv1exec reader does.
    pub fn to_graph(&self) -> Result<ResourceGraph, GraphError> {
        let total = self
            .ranks
            .iter()
            .flat_map(|r| r.children.iter().map(|(_, ids)| ids.len()))
            .fold(1 + self.ranks.len() as u64, u64::saturating_add);
        // Vertex indices are u32; fail here rather than panic in petgraph.
        if total >= u64::from(u32::MAX) {
            return Err(GraphError::Rv1 {
                path: self.origin.clone(),
                what: format!("{total} resources are more than a graph holds"),
            });
        }
        let n = usize::try_from(total).unwrap_or(usize::MAX).min(1 << 20);
        let mut g = ResourceGraph::with_capacity(n, n);
        let (cont, contains) = (g.sym(CONTAINMENT), g.sym(CONTAINS));
        // Registers the subsystem even when R_lite is empty.
        let cluster = g.add_cluster_root();

        for r in &self.ranks {
            let (basename, id) = split_hostname(&r.hostname).ok_or_else(|| GraphError::Rv1 {
                path: self.origin.clone(),
                what: format!(
                    "rank {}: host \"{}\" has a numeric suffix too large for an id",
                    r.rank, r.hostname
                ),
            })?;
            let rank = i64::from(r.rank);
            let node = g.add_vertex(NewVertex {
                typ: "node",
                basename,
                id,
                rank,
                size: 1,
                unit: "",
            });
            g.set_name(node, &r.hostname);
            for p in &r.properties {
                g.set_property(node, p, "");
            }
            g.add_edge(cluster, node, cont, contains);
            for (typ, ids) in &r.children {
                for id in ids.iter() {
                    let v = g.add_vertex(NewVertex {
                        typ,
                        basename: typ,
                        id: i64::from(id),
                        rank,
                        size: 1,
                        unit: "",
                    });
                    g.add_edge(node, v, cont, contains);
                }
            }
        }
        // Hostnames and types become path components: one with '/' in it,
        // or two ranks on one host, would be another graph once written.
        crate::validate::check_document(&g).map_err(|bad| GraphError::Rv1 {
            path: self.origin.clone(),
            what: bad.describe(crate::validate::plain_name(&g)),
        })?;
        Ok(g)
    }
}

/// Parse `execution` within `limits`; errors name the file and the key.
fn parse_execution(
    exec: &Map<String, Value>,
    origin: &str,
    limits: &Limits,
) -> Result<RSet, GraphError> {
    let fail = |what: String| GraphError::Rv1 {
        path: origin.to_owned(),
        what,
    };
    let entries = parse_entries(exec).map_err(fail)?;
    // The graph's size, from the idsets' lengths: nothing is listed yet.
    let vertices = entries
        .iter()
        .map(|(ranks, children)| {
            let per_rank = children
                .iter()
                .map(|(_, ids)| ids.len())
                .fold(1u64, u64::saturating_add);
            ranks.len().saturating_mul(per_rank)
        })
        .fold(1u64, u64::saturating_add);
    limits.check_vertices(origin, vertices)?;
    finish_execution(exec, origin, entries).map_err(fail)
}

/// An R_lite entry: its ranks, and its children by type.
type Entry = (IdSet, Vec<(String, IdSet)>);

/// The R_lite entries, parsed but not expanded.
fn parse_entries(exec: &Map<String, Value>) -> Result<Vec<Entry>, String> {
    let rlite = array(exec, "R_lite", "execution.R_lite")?;

    let mut entries = Vec::with_capacity(rlite.len());
    for (i, entry) in rlite.iter().enumerate() {
        let key = format!("execution.R_lite[{i}]");
        let entry = entry.as_object().ok_or_else(|| {
            format!(
                "key \"{key}\": expected an object, found {}",
                json_kind(entry)
            )
        })?;
        let ranks = idset(entry, "rank", &format!("{key}.rank"))?;
        let children_key = format!("{key}.children");
        let mut children = Vec::new();
        for (typ, ids) in object(entry, "children", &children_key)? {
            let ids_key = format!("{children_key}.{typ}");
            if typ.is_empty() {
                return Err(format!("key \"{ids_key}\": empty resource type"));
            }
            let ids = ids.as_str().ok_or_else(|| {
                format!(
                    "key \"{ids_key}\": expected a string, found {}",
                    json_kind(ids)
                )
            })?;
            let ids = IdSet::parse(ids).map_err(|e| format!("key \"{ids_key}\": {e}"))?;
            children.push((typ.clone(), ids));
        }
        entries.push((ranks, children));
    }
    Ok(entries)
}

/// The rest of `execution`, for entries whose size is within the limits.
fn finish_execution(
    exec: &Map<String, Value>,
    origin: &str,
    entries: Vec<Entry>,
) -> Result<RSet, String> {
    // No rank in two entries.
    let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
    for (i, (ranks, _)) in entries.iter().enumerate() {
        for r in ranks.iter() {
            if let Some(j) = seen.insert(r, i) {
                return Err(format!(
                    "key \"execution.R_lite[{i}].rank\": rank {r} is also in execution.R_lite[{j}]"
                ));
            }
        }
    }

    let nodelist = array(exec, "nodelist", "execution.nodelist")?;
    let mut hosts = Vec::new();
    for (i, hl) in nodelist.iter().enumerate() {
        let key = format!("execution.nodelist[{i}]");
        let hl = hl
            .as_str()
            .ok_or_else(|| format!("key \"{key}\": expected a string, found {}", json_kind(hl)))?;
        hosts.extend(hostlist::decode(hl).map_err(|e| format!("key \"{key}\": {e}"))?);
    }
    if hosts.len() != seen.len() {
        let all = IdSet::from_ids(seen.keys().copied());
        return Err(format!(
            "key \"execution.nodelist\": {} for {} (ranks {all}); each rank needs one host",
            plural(hosts.len(), "host"),
            plural(seen.len(), "rank"),
        ));
    }
    // Ranks take hosts in ascending rank order; a host names one node.
    let host_of: BTreeMap<u32, String> = seen.keys().copied().zip(hosts).collect();
    let mut rank_of: std::collections::HashMap<&str, u32> = Default::default();
    for (&r, host) in &host_of {
        if let Some(first) = rank_of.insert(host, r) {
            return Err(format!(
                "key \"execution.nodelist\": host \"{host}\" is given to ranks {first} and {r}: \
                 two vertices at the same path /cluster0/{host}"
            ));
        }
    }
    for (r, host) in &host_of {
        if split_hostname(host).is_none() {
            return Err(format!(
                "key \"execution.nodelist\": host \"{host}\" (rank {r}) has a numeric suffix too large for an id"
            ));
        }
    }

    let mut props: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    match exec.get("properties") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (name, ranks) in m {
                let key = format!("execution.properties.{name}");
                if name.is_empty() {
                    return Err(format!("key \"{key}\": empty property name"));
                }
                let ranks = ranks.as_str().ok_or_else(|| {
                    format!(
                        "key \"{key}\": expected a string, found {}",
                        json_kind(ranks)
                    )
                })?;
                let ranks = IdSet::parse(ranks).map_err(|e| format!("key \"{key}\": {e}"))?;
                for r in ranks.iter() {
                    if !seen.contains_key(&r) {
                        return Err(format!("key \"{key}\": rank {r} is not in R_lite"));
                    }
                    props.entry(r).or_default().insert(name.clone());
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "key \"execution.properties\": expected an object, found {}",
                json_kind(other)
            ))
        }
    }

    let mut ranks = Vec::with_capacity(seen.len());
    for (set, children) in entries {
        for r in set.iter() {
            ranks.push(Rank {
                rank: r,
                hostname: host_of.get(&r).cloned().unwrap_or_default(),
                children: children.clone(),
                properties: props.remove(&r).map(Vec::from_iter).unwrap_or_default(),
            });
        }
    }
    Ok(RSet {
        origin: origin.to_owned(),
        ranks,
        starttime: time(exec, "starttime")?,
        expiration: time(exec, "expiration")?,
    })
}

/// Split a host name as Fluxion does: trailing digits are the id (leading
/// zeros dropped), what precedes them the basename; a name without
/// trailing digits has id -1, an all-digit name is its own basename.
/// `None` when the digits overflow an `i64`.
pub fn split_hostname(host: &str) -> Option<(&str, i64)> {
    let (stem, digits) = hostlist::split_suffix(host);
    if digits.is_empty() {
        return Some((host, -1));
    }
    let id = digits.parse::<i64>().ok()?;
    Some((if stem.is_empty() { host } else { stem }, id))
}

fn object<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Map<String, Value>, String> {
    match m.get(key) {
        Some(Value::Object(o)) => Ok(o),
        Some(other) => Err(format!(
            "key \"{path}\": expected an object, found {}",
            json_kind(other)
        )),
        None => Err(format!("missing key \"{path}\"")),
    }
}

fn array<'a>(m: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a [Value], String> {
    match m.get(key) {
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(format!(
            "key \"{path}\": expected an array, found {}",
            json_kind(other)
        )),
        None => Err(format!("missing key \"{path}\"")),
    }
}

fn idset(m: &Map<String, Value>, key: &str, path: &str) -> Result<IdSet, String> {
    match m.get(key) {
        Some(Value::String(s)) => IdSet::parse(s).map_err(|e| format!("key \"{path}\": {e}")),
        Some(other) => Err(format!(
            "key \"{path}\": expected an idset string, found {}",
            json_kind(other)
        )),
        None => Err(format!("missing key \"{path}\"")),
    }
}

fn time(m: &Map<String, Value>, key: &str) -> Result<Option<f64>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(format!(
            "key \"execution.{key}\": expected a number, found {}",
            json_kind(other)
        )),
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_split_as_fluxion_does() {
        assert_eq!(split_hostname("node12"), Some(("node", 12)));
        assert_eq!(split_hostname("node007"), Some(("node", 7)));
        assert_eq!(split_hostname("node000"), Some(("node", 0)));
        assert_eq!(split_hostname("login"), Some(("login", -1)));
        assert_eq!(split_hostname("rack1-n2"), Some(("rack1-n", 2)));
        assert_eq!(split_hostname("42"), Some(("42", 42)));
        assert_eq!(split_hostname("n99999999999999999999"), None);
    }
}
