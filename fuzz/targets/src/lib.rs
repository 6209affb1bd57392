//! Quiver's fuzz targets: one function per parser, each taking the
//! fuzzer's bytes and never panicking on them.
//!
//! Each function runs the parser and, where it is cheap, what a caller
//! does next with the result: a recipe is expanded (up to
//! [`LIMITS`]), a graph is written back out and read again, a
//! jobspec is matched on a small fixed graph and its R read back. The
//! round trips assert what the modules document (`read(write(g))`
//! reproduces `g`, an idset prints as it parses), so a fuzzer finds wrong
//! answers as well as panics.
//!
//! The AFL binaries in `fuzz/afl` (outside the workspace: they need
//! cargo-afl) call these functions, and `tests/replay.rs` feeds them every
//! file of `fuzz/corpus/<target>/` in the ordinary test suite. [`TARGETS`]
//! names them; the corpus folders carry the same names.
use std::sync::OnceLock;

use matcher::find::Expr;
use matcher::writer::{Simple, Writer};
use matcher::writer_json::Rv1;
use matcher::{Jobspec, MatchOp, Traverser};
use resource_graph::grug::Recipe;
use resource_graph::hwloc::Allowlist;
use resource_graph::{hostlist, idset, jgf, rv1exec, IdSet, Limits, ResourceGraph};

/// A fuzz target: bytes in, nothing out, no panic.
pub type Target = fn(&[u8]);

/// Every target by name, as the corpus folders and AFL binaries name them.
pub const TARGETS: &[(&str, Target)] = &[
    ("jobspec_yaml", jobspec_yaml),
    ("jobspec_json", jobspec_json),
    ("constraint", constraint),
    ("grug_graphml", grug_graphml),
    ("grug_yaml", grug_yaml),
    ("jgf", jgf),
    ("rv1", rv1),
    ("hwloc_xml", hwloc_xml),
    ("find_expr", find_expr),
    ("idset", idset),
    ("hostlist", hostlist),
];

/// The readers' vertex cap in the targets: the default
/// ([`resource_graph::DEFAULT_MAX_VERTICES`]) is for real clusters, and a
/// fuzzer needs thousands of runs a second. The cap is checked before
/// anything is expanded, so the readers' own check is what is fuzzed.
pub const LIMITS: Limits = Limits { max_vertices: 512 };

/// Largest graph read from JGF, R or hwloc that is also matched on and
/// written back; bigger ones are only read.
const MAX_MATCH_VERTICES: usize = 4096;

/// The origin the readers name in their errors.
const ORIGIN: &str = "fuzz-input";

/// A jobspec text: YAML or JSON, as `Jobspec::parse` reads both.
pub fn jobspec_yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    parse_as_the_yaml_reader(text);
}

/// `Jobspec::parse` (with its fast paths for block YAML and JSON) must
/// read `text` as its YAML reader alone does: the same jobspec, or an
/// error from both. What it reads is matched on the fixture.
fn parse_as_the_yaml_reader(text: &str) {
    let fast = Jobspec::parse(text);
    let slow = Jobspec::parse_as_yaml(text);
    match (&fast, &slow) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "a fast path and the YAML reader disagree"),
        (Err(_), Err(_)) => {}
        _ => panic!("one reader refused what the other read: {fast:?} / {slow:?}"),
    }
    if let Ok(js) = fast {
        match_on_fixture(&js);
    }
}

/// A jobspec in JSON, as schedd's clients send it: only text that is JSON
/// reaches the parser, so the fuzzer spends its time on that syntax. The
/// parser's JSON fast path must read it as its YAML reader does.
pub fn jobspec_json(data: &[u8]) {
    if serde_json::from_slice::<serde_json::Value>(data).is_err() {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    parse_as_the_yaml_reader(text);
}

/// An RFC 31 constraint object in JSON, as the job manager passes it
/// (`Constraint::parse_json`), evaluated on every node of the fixture and
/// then used by a match.
pub fn constraint(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(c) = matcher::constraint::Constraint::parse_json(&v, "constraints") else {
        return;
    };
    let g = fixture();
    for &n in g.of_type("node") {
        c.matches(g, n);
    }
    let Ok(mut js) = Jobspec::parse(ONE_CORE) else {
        return;
    };
    js.constraint = Some(c);
    match_on_fixture(&js);
}

/// A GRUG recipe in Fluxion's GraphML, expanded when small.
pub fn grug_graphml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = resource_graph::grug_graphml::parse(text, ORIGIN) {
        expand(&r);
    }
}

/// A GRUG recipe in Quiver's YAML, expanded when small.
pub fn grug_yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = resource_graph::grug_yaml::parse(text, ORIGIN) {
        expand(&r);
    }
}

/// A JGF graph: read, written, read again (the same graph), matched on.
pub fn jgf(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fast = jgf::read_with(text, ORIGIN, &LIMITS);
    // The reader's fast path must read as the JSON tree's reader does.
    let tree = serde_json::from_str(text)
        .map_err(|e| e.to_string())
        .and_then(|doc| jgf::read_value_with(&doc, ORIGIN, &LIMITS).map_err(|e| e.to_string()));
    match (&fast, &tree) {
        (Ok(a), Ok(b)) => assert_eq!(
            resource_graph::jgf_write::write_text(a),
            resource_graph::jgf_write::write_text(b),
            "the fast JGF reader built another graph"
        ),
        (Err(_), Err(_)) => {}
        (a, b) => panic!(
            "the JGF readers disagree: fast {:?}, tree {:?}",
            a.is_ok(),
            b.is_ok()
        ),
    }
    if let Ok(g) = fast {
        use_graph(g);
    }
}

/// An R version 1 document: parsed, its graph built, used as a JGF graph.
pub fn rv1(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(r) = rv1exec::RSet::parse_with(text, ORIGIN, &LIMITS) else {
        return;
    };
    r.rank_set();
    if let Ok(g) = r.to_graph() {
        use_graph(g);
    }
}

/// An hwloc XML export, read as `-f hwloc` reads a file, every type
/// allowed (memory too).
pub fn hwloc_xml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(g) = resource_graph::hwloc::read_xml_text(text, ORIGIN, &Allowlist::all()) {
        use_graph(g);
    }
}

/// A `find` expression, run on the fixture with one job allocated.
pub fn find_expr(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(expr) = Expr::parse(text) else {
        return;
    };
    expr.predicates();
    let Some((mut g, mut t)) = traverser("first") else {
        return;
    };
    let Ok(js) = Jobspec::parse(ONE_CORE) else {
        return;
    };
    let mut w = Simple::default();
    let _ = t.run(&mut g, &js, MatchOp::Allocate, 1, &mut w);
    w.take();
    let _ = t.find(&g, &expr, &mut w);
    w.take();
}

/// An RFC 22 idset: parsed, printed and parsed again (the same set), and
/// decoded into ids as resource-query's `set-status` does.
pub fn idset(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(set) = IdSet::parse(text) else {
        return;
    };
    let printed = set.to_string();
    let again = IdSet::parse(&printed)
        .unwrap_or_else(|e| panic!("idset {text:?} prints as {printed:?}, which fails: {e}"));
    assert_eq!(again, set, "idset {text:?} prints as {printed:?}");
    set.len();
    set.first();
    set.last();
    if let Some(last) = set.last() {
        assert!(set.contains(last));
    }
    // decode lists every id, up to its bound.
    match idset::decode(text) {
        Ok(ids) => assert_eq!(ids.len() as u64, set.len(), "ids decoded from {text:?}"),
        Err(e) => assert!(
            set.len() > idset::MAX_DECODED,
            "{text:?} parses, not decodes: {e}"
        ),
    }
}

/// Most names the `hostlist` target expands: decode's own bound (1 Mi
/// names) takes a second under instrumentation, and `names` checks the
/// count before making any, whatever the bound.
const MAX_HOSTS: u64 = 1 << 14;

/// An RFC 29 hostlist: parsed, its ranges asked for membership, expanded,
/// encoded and decoded again (the same names).
pub fn hostlist(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(list) = hostlist::Hostlist::parse(text) else {
        return;
    };
    let hosts = match list.names(MAX_HOSTS) {
        Ok(hosts) => hosts,
        Err(e) => {
            assert!(list.len() > MAX_HOSTS, "{text:?} parses, not expands: {e}");
            return;
        }
    };
    assert_eq!(hosts.len() as u64, list.len(), "names of {text:?}");
    for h in hosts.iter().take(64) {
        assert!(
            list.contains(h),
            "{text:?} names {h:?} but does not contain it"
        );
    }
    if let Ok(encoded) = hostlist::encode(&hosts) {
        let again = hostlist::decode(&encoded).unwrap_or_else(|e| {
            panic!("hostlist {text:?} encodes as {encoded:?}, which fails: {e}")
        });
        assert_eq!(again, hosts, "hostlist {text:?} encodes as {encoded:?}");
    }
}

/// One task on one core, for an hour: the request matched on graphs the
/// readers built, and the carrier of fuzzed constraints.
const ONE_CORE: &str = "version: 9999\n\
    resources: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]\n\
    attributes: {system: {duration: 3600}}\n\
    tasks: [{command: [app], slot: default, count: {per_slot: 1}}]\n";

/// The fixed graph jobspecs are matched on: `grugs/tiny.yaml` (2 nodes,
/// 4 sockets, 72 cores, 4 GPUs, 16 memory pools), nodes ranked, node 0
/// with property `ssd` so that constraints have something to match.
fn fixture() -> &'static ResourceGraph {
    static FIXTURE: OnceLock<ResourceGraph> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let text = include_str!("../../../grugs/tiny.yaml");
        let recipe = resource_graph::grug_yaml::parse(text, "grugs/tiny.yaml")
            .expect("grugs/tiny.yaml parses");
        let mut g = recipe.generate().expect("grugs/tiny.yaml expands");
        g.assign_node_ranks();
        if let Some(&n) = g.of_type("node").first() {
            g.set_property(n, "ssd", "");
        }
        g
    })
}

/// A fresh copy of the fixture and a traverser on it.
fn traverser(policy: &str) -> Option<(ResourceGraph, Traverser)> {
    let mut g = fixture().clone();
    let pol = matcher::policy::create(policy, &g).ok()?;
    let t = Traverser::new(&mut g, pol, &["containment"], "ALL:core,ALL:node").ok()?;
    Some((g, t))
}

/// Match `js` on the fixture as schedd would (allocate or else reserve,
/// twice, so the second sees the first's booking) with a first-fit and a
/// ranking policy, read back each R the writer printed, then cancel.
fn match_on_fixture(js: &Jobspec) {
    for (policy, op) in [
        ("first", MatchOp::AllocateOrElseReserve),
        ("high", MatchOp::AllocateWithSatisfiability),
    ] {
        let Some((mut g, mut t)) = traverser(policy) else {
            continue;
        };
        let mut w = Rv1::new();
        for jobid in 1..=2 {
            if t.run(&mut g, js, op, jobid, &mut w).is_err() {
                w.take();
                continue;
            }
            let r = w.take();
            if !r.is_empty() {
                if let Err(e) = rv1exec::RSet::parse(&r, "the rv1 writer") {
                    panic!("the R of a match does not read back: {e}\n{r}");
                }
            }
        }
        t.cancel(&mut g, 1);
        let _ = t.run(&mut g, js, MatchOp::Allocate, 3, &mut w);
        w.take();
    }
}

/// Generate a recipe's graph within [`LIMITS`], then use the graph.
fn expand(r: &Recipe) {
    if let Ok(g) = r.generate_with(&LIMITS) {
        use_graph(g);
    }
}

/// What callers do with a graph a reader built: write it as JGF and read
/// it back (the same graph, as `jgf.rs` promises), and when it is small
/// match one core on it.
fn use_graph(mut g: ResourceGraph) {
    let doc = jgf::write(&g);
    let back = jgf::read_value(&doc, "the JGF writer")
        .unwrap_or_else(|e| panic!("a written JGF graph does not read back: {e}"));
    assert_eq!(back.vertex_count(), g.vertex_count(), "vertices after JGF");
    assert_eq!(back.edge_count(), g.edge_count(), "edges after JGF");
    assert_eq!(jgf::write(&back), doc, "JGF of the graph read back");
    if g.vertex_count() > MAX_MATCH_VERTICES {
        return;
    }
    let Ok(js) = Jobspec::parse(ONE_CORE) else {
        return;
    };
    let Ok(pol) = matcher::policy::create("first", &g) else {
        return;
    };
    let Ok(mut t) = Traverser::new(&mut g, pol, &["containment"], "ALL:core") else {
        return;
    };
    let mut w = Simple::default();
    let _ = t.run(&mut g, &js, MatchOp::AllocateOrElseReserve, 1, &mut w);
    w.take();
}
