//! Quiver's fuzz targets: one function per parser, each taking the
//! fuzzer's bytes and never panicking on them.
//!
//! Each function runs the parser and, where it is cheap, what a caller
//! does next with the result: a recipe is expanded (up to
//! [`MAX_RECIPE_VERTICES`]), a graph is written back out and read again, a
//! jobspec is matched on a small fixed graph and its R read back. The
//! round trips assert what the modules document (`read(write(g))`
//! reproduces `g`, an idset prints as it parses), so a fuzzer finds wrong
//! answers as well as panics.
//!
//! The AFL binaries in `fuzz/afl` (outside the workspace: they need
//! cargo-afl) call these functions, and `tests/replay.rs` feeds them every
//! file of `fuzz/corpus/<target>/` in the ordinary test suite. [`TARGETS`]
//! names them; the corpus folders carry the same names.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use matcher::find::Expr;
use matcher::writer::{Simple, Writer};
use matcher::writer_json::Rv1;
use matcher::{Jobspec, MatchOp, Traverser};
use resource_graph::grug::{GenMethod, Recipe};
use resource_graph::hwloc::Allowlist;
use resource_graph::{hostlist, idset, jgf, rv1exec, IdSet, ResourceGraph};

/// A fuzz target: bytes in, nothing out, no panic.
pub type Target = fn(&[u8]);

/// Whether the targets look past known bugs (the default) or not.
static STRICT: AtomicBool = AtomicBool::new(false);

/// Make every target strict: known bugs (each with its input in
/// fuzz/crashes/) fail again instead of being stepped around, as the
/// replay of fuzz/crashes wants.
pub fn set_strict(strict: bool) {
    STRICT.store(strict, Ordering::Relaxed);
}

/// Strict by [`set_strict`], or by `QUIVER_FUZZ_STRICT` set in the
/// environment (for running a fuzz binary on a finding by hand).
fn strict() -> bool {
    static FROM_ENV: OnceLock<bool> = OnceLock::new();
    STRICT.load(Ordering::Relaxed)
        || *FROM_ENV.get_or_init(|| std::env::var_os("QUIVER_FUZZ_STRICT").is_some())
}

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

/// Largest expansion of a fuzzed recipe that is generated into a graph:
/// the recipe readers' own bound (64 Mi vertices) is for real clusters,
/// and a fuzzer needs thousands of runs a second.
pub const MAX_RECIPE_VERTICES: u64 = 512;

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
    if let Ok(js) = Jobspec::parse(text) {
        match_on_fixture(&js);
    }
}

/// A jobspec in JSON, as schedd's clients send it: only text that is JSON
/// reaches the parser, so the fuzzer spends its time on that syntax.
pub fn jobspec_json(data: &[u8]) {
    if serde_json::from_slice::<serde_json::Value>(data).is_err() {
        return;
    }
    jobspec_yaml(data);
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
    if let Ok(g) = jgf::read(text, ORIGIN) {
        use_graph(g);
    }
}

/// An R version 1 document: parsed, its graph built, used as a JGF graph.
pub fn rv1(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(r) = rv1exec::RSet::parse(text, ORIGIN) else {
        return;
    };
    r.rank_set();
    if let Ok(g) = r.to_graph() {
        use_graph_known(g, KNOWN_RV1_JGF);
    }
}

/// An hwloc XML export, read as `-f hwloc` reads a file.
pub fn hwloc_xml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if !strict() && lacks_complete_cpuset(text) {
        return;
    }
    if let Ok(g) = resource_graph::hwloc::read_xml_text(text, ORIGIN, &Allowlist::all()) {
        use_graph(g);
    }
}

/// Whether some `<object>` has a cpuset but no complete_cpuset: hwloc 2.9
/// (Debian 12's libhwloc) then dereferences a null bitmap while loading
/// (fuzz/crashes/hwloc_xml/machine-without-complete-cpuset-segfaults.xml),
/// so the target leaves such text alone until the reader refuses it.
fn lacks_complete_cpuset(text: &str) -> bool {
    text.split("<object").skip(1).any(|rest| {
        let tag = rest.split('>').next().unwrap_or(rest);
        tag.contains(" cpuset=") && !tag.contains("complete_cpuset=")
    })
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
    // decode lists every id, however many: `0-999999999` allocates 4 GB
    // (fuzz/crashes/idset/). Until it has a bound, only sets that decode
    // cheaply are decoded (unless strict), so the fuzzer spends its time
    // elsewhere.
    if strict() || set.len() <= KNOWN_DECODE_LIMIT {
        let ids =
            idset::decode(text).unwrap_or_else(|e| panic!("{text:?} parses, not decodes: {e}"));
        assert_eq!(ids.len() as u64, set.len(), "ids decoded from {text:?}");
    }
}

/// Largest idset the `idset` target decodes into ids (see there).
const KNOWN_DECODE_LIMIT: u64 = 1 << 16;

/// An RFC 29 hostlist: decoded, encoded and decoded again (the same names).
pub fn hostlist(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if !strict() && has_big_range(text) {
        return;
    }
    let Ok(hosts) = hostlist::decode(text) else {
        return;
    };
    if let Ok(encoded) = hostlist::encode(&hosts) {
        let again = hostlist::decode(&encoded).unwrap_or_else(|e| {
            panic!("hostlist {text:?} encodes as {encoded:?}, which fails: {e}")
        });
        assert_eq!(again, hosts, "hostlist {text:?} encodes as {encoded:?}");
    }
}

/// Whether a bracketed idlist holds a number of six digits or more (after
/// leading zeros). decode expands up to 16 Mi names, which takes seconds
/// and passes 1 GB (fuzz/crashes/hostlist/); until it has a tighter
/// bound, the hostlist target leaves such text alone, unless strict. (The
/// other targets meet hostlists inside documents and keep finding it.)
fn has_big_range(text: &str) -> bool {
    let mut inside = false;
    let mut digits = 0;
    for c in text.chars() {
        match c {
            '[' => inside = true,
            ']' => inside = false,
            '0' if digits == 0 => {}
            '0'..='9' if inside => {
                digits += 1;
                if digits >= 6 {
                    return true;
                }
                continue;
            }
            _ => {}
        }
        if !c.is_ascii_digit() {
            digits = 0;
        }
    }
    false
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

/// Generate a recipe's graph when it expands to at most
/// [`MAX_RECIPE_VERTICES`] (or, when strict, up to the readers' own bound,
/// as `load_grug` does: fuzz/crashes/grug_yaml/huge-count-allocates-gigabytes.yaml
/// shows what that costs), then use the graph.
fn expand(r: &Recipe) {
    if strict() || expansion(r).is_some_and(|n| n <= MAX_RECIPE_VERTICES) {
        if let Ok(g) = r.generate() {
            use_graph_known(g, KNOWN_RECIPE_JGF);
        }
    }
}

/// How many vertices a recipe expands to (the MULTIPLY edges' scales
/// multiplied along every path from a root, as `Recipe::validate` counts),
/// saturating; `None` for a cycle or a malformed edge, which `validate`
/// refuses anyway. Each recipe vertex is counted once and the walk keeps
/// its own stack, so a long or branching recipe costs linear time here.
fn expansion(r: &Recipe) -> Option<u64> {
    #[derive(Clone, Copy)]
    enum State {
        New,
        Open,
        Done(u64),
    }
    let n = r.vertices.len();
    let mut out: Vec<Vec<(usize, u64)>> = vec![Vec::new(); n];
    for e in &r.edges {
        if e.gen_method == GenMethod::Multiply {
            if e.source >= n || e.target >= n {
                return None;
            }
            out[e.source].push((e.target, u64::try_from(e.multi_scale).ok()?));
        }
    }
    let mut state = vec![State::New; n];
    let mut total = 0u64;
    for root in (0..n).filter(|&i| r.vertices[i].root) {
        if let State::New = state[root] {
            state[root] = State::Open;
            let mut stack = vec![(root, 0usize)];
            while let Some((u, next)) = stack.last_mut() {
                let u = *u;
                if let Some(&(t, _)) = out[u].get(*next) {
                    *next += 1;
                    match state[t] {
                        State::New => {
                            state[t] = State::Open;
                            stack.push((t, 0));
                        }
                        State::Open => return None,
                        State::Done(_) => {}
                    }
                    continue;
                }
                let mut size = 1u64;
                for &(t, scale) in &out[u] {
                    let State::Done(sub) = state[t] else {
                        return None;
                    };
                    size = size.saturating_add(scale.saturating_mul(sub));
                }
                state[u] = State::Done(size);
                stack.pop();
            }
        }
        let State::Done(size) = state[root] else {
            return None;
        };
        total = total.saturating_add(size);
    }
    Some(total)
}

/// What callers do with a graph a reader built: write it as JGF and read
/// it back (the same graph, as `jgf.rs` promises), and when it is small
/// match one core on it.
fn use_graph(g: ResourceGraph) {
    use_graph_known(g, &[]);
}

/// Why the JGF of a generated graph may not read back yet, each a known
/// bug with its input in fuzz/crashes/: the fuzzer looks past them
/// (unless [`set_strict`]), and each goes from this list when it is fixed.
const KNOWN_RECIPE_JGF: &[&str] = &[
    // A vertex in a subsystem no edge reaches: every one is a root there
    // (grug_graphml/vertex-in-other-subsystem-two-roots.graphml).
    "second root of subsystem",
    // Negative ids: every such vertex is named by its basename alone
    // (grug_yaml/negative-ids-share-a-path.yaml).
    "are both at",
];

/// Why the JGF of an R's graph may not read back yet (see
/// [`KNOWN_RECIPE_JGF`]).
const KNOWN_RV1_JGF: &[&str] = &[
    // Two ranks on one host make two vertices at one path
    // (rv1/duplicate-hosts-share-a-path.json).
    "are both at",
];

/// [`use_graph`], where a read-back error naming one of `known` ends the
/// run quietly instead of failing it.
fn use_graph_known(mut g: ResourceGraph, known: &[&str]) {
    let doc = jgf::write(&g);
    let back = match jgf::read_value(&doc, "the JGF writer") {
        Ok(back) => back,
        Err(e) if !strict() && known.iter().any(|k| e.to_string().contains(k)) => return,
        Err(e) => panic!("a written JGF graph does not read back: {e}"),
    };
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
