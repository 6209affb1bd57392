//! rv1exec reader: R documents build the graph Fluxion's reader builds
//! (vertex order, names, ids, ranks, paths, edges, properties), and
//! malformed R gets an error naming the file and the key.
use std::path::{Path, PathBuf};

use resource_graph::rv1exec::{self, RSet};
use resource_graph::{GraphError, IdSet, ResourceGraph, VertexIdx};

/// Fluxion's rv1exec test data, when the shared checkout is present.
fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared"))
        .join("fluxion-t/data/resource/rv1exec");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("note: {} is absent; skipping", dir.display());
        None
    }
}

/// Vertices in creation order (uniq_id order).
fn by_uniq(g: &ResourceGraph) -> Vec<VertexIdx> {
    let mut v: Vec<VertexIdx> = g.vertices().collect();
    v.sort_by_key(|&x| g.g[x].uniq_id);
    v
}

/// The containment path of a vertex.
fn path(g: &ResourceGraph, v: VertexIdx) -> String {
    let cont = g.symbols.get("containment").expect("containment subsystem");
    g.path(v, cont).expect("vertex in containment")
}

/// (name, type, id, rank, path) of every vertex, in creation order.
fn summary(g: &ResourceGraph) -> Vec<(String, String, i64, i64, String)> {
    by_uniq(g)
        .into_iter()
        .map(|v| {
            let x = &g.g[v];
            (
                g.name(v),
                g.name_of(x.typ).to_owned(),
                x.id,
                x.rank,
                path(g, v),
            )
        })
        .collect()
}

/// Children of `v` in the order the matcher visits them, by name.
fn children(g: &ResourceGraph, v: VertexIdx) -> Vec<String> {
    g.out_edges(v)
        .iter()
        .map(|&e| g.name(g.target(e)))
        .collect()
}

fn read(text: &str) -> Result<ResourceGraph, GraphError> {
    rv1exec::read(text, "r.json")
}

#[test]
fn tiny_rv1exec_builds_fluxions_graph() {
    let Some(dir) = data_dir() else { return };
    let g = rv1exec::read_path(&dir.join("tiny_rv1exec.json")).expect("tiny loads");

    let count = |t: &str| g.of_type(t).len();
    assert_eq!(
        (count("cluster"), count("node"), count("core"), count("gpu")),
        (1, 2, 32, 8)
    );
    assert_eq!(g.vertex_count(), 43);
    assert_eq!(g.edge_count(), 42);

    let cont = g.symbols.get("containment").expect("containment");
    let root = g.roots[&cont];
    assert_eq!(g.name(root), "cluster0");
    assert_eq!(path(&g, root), "/cluster0");
    assert_eq!(g.g[root].rank, -1);
    assert_eq!(children(&g, root), ["node0", "node1"]);

    // Creation order: cluster, then each node followed by its cores and
    // gpus; uniq_ids count up from 0 in that order.
    let s = summary(&g);
    assert_eq!(
        s[0],
        (
            "cluster0".into(),
            "cluster".into(),
            0,
            -1,
            "/cluster0".into()
        )
    );
    assert_eq!(
        s[1],
        (
            "node0".into(),
            "node".into(),
            0,
            0,
            "/cluster0/node0".into()
        )
    );
    assert_eq!(
        s[2],
        (
            "core0".into(),
            "core".into(),
            0,
            0,
            "/cluster0/node0/core0".into()
        )
    );
    assert_eq!(
        s[18],
        (
            "gpu0".into(),
            "gpu".into(),
            0,
            0,
            "/cluster0/node0/gpu0".into()
        )
    );
    assert_eq!(
        s[22],
        (
            "node1".into(),
            "node".into(),
            1,
            1,
            "/cluster0/node1".into()
        )
    );
    assert_eq!(
        s[26],
        (
            "core3".into(),
            "core".into(),
            3,
            1,
            "/cluster0/node1/core3".into()
        )
    );
    assert_eq!(
        s[42],
        (
            "gpu3".into(),
            "gpu".into(),
            3,
            1,
            "/cluster0/node1/gpu3".into()
        )
    );
    for (i, v) in by_uniq(&g).into_iter().enumerate() {
        let x = &g.g[v];
        assert_eq!(x.uniq_id, i as i64);
        assert_eq!((x.size, g.name_of(x.unit)), (1, ""));
        assert_eq!(g.properties(v).count(), 0);
    }

    let node1 = g.find_path("/cluster0/node1").expect("node1");
    let kids = children(&g, node1);
    assert_eq!(kids.len(), 20);
    assert_eq!((kids[0].as_str(), kids[15].as_str()), ("core0", "core15"));
    assert_eq!((kids[16].as_str(), kids[19].as_str()), ("gpu0", "gpu3"));
    for &e in g.out_edges(node1) {
        assert_eq!(g.name_of(g.g[e].subsystem), "containment");
        assert_eq!(g.name_of(g.g[e].relation), "contains");
        assert!(g.out_edges(g.target(e)).is_empty());
    }
}

#[test]
fn fluxion_rv1exec_files_load_or_fail_cleanly() {
    let Some(dir) = data_dir() else { return };
    let cancel = dir.join("cancel");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&cancel)
        .expect("cancel dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for f in files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        match rv1exec::read_path(&f) {
            Ok(g) => assert!(!g.of_type("node").is_empty(), "{name}"),
            Err(e) => {
                // The one invalid file names rank -1.
                assert_eq!(name, "rank1_cancel_invalid.json", "{e}");
                let msg = e.to_string();
                assert!(msg.contains(name), "{msg}");
                assert!(msg.contains("execution.R_lite[0].rank"), "{msg}");
            }
        }
    }
    // Rank 1 alone takes the first (only) host of the nodelist.
    let g = rv1exec::read_path(&cancel.join("rank1_cancel.json")).expect("loads");
    let node = g.of_type("node")[0];
    assert_eq!((g.name(node), g.g[node].rank), ("node1".to_owned(), 1));
}

/// An R of our own: ranks over two entries, out of order; hosts over two
/// hostlists with padding and a name without digits; children in document
/// order (gpu before core); properties.
const MIXED: &str = r#"{
  "version": 1,
  "execution": {
    "R_lite": [
      {"rank": "7", "children": {"gpu": "1", "core": "2-3"}},
      {"rank": "[2,5]", "children": {"core": "0"}}
    ],
    "nodelist": ["fat007", "login,n[08]"],
    "properties": {"debug": "2,7", "amd": "5"},
    "starttime": 10.5,
    "expiration": 100
  }
}"#;

#[test]
fn own_r_follows_document_and_rank_order() {
    let g = read(MIXED).expect("loads");
    let s = summary(&g);
    let row = |name: &str, typ: &str, id: i64, rank: i64, p: &str| {
        (name.to_owned(), typ.to_owned(), id, rank, p.to_owned())
    };
    // Ranks 2, 5, 7 take hosts fat007, login, n08 in rank order; the
    // graph creates them in R_lite order: 7 first, then 2 and 5.
    assert_eq!(
        s,
        vec![
            row("cluster0", "cluster", 0, -1, "/cluster0"),
            row("n08", "node", 8, 7, "/cluster0/n08"),
            row("gpu1", "gpu", 1, 7, "/cluster0/n08/gpu1"),
            row("core2", "core", 2, 7, "/cluster0/n08/core2"),
            row("core3", "core", 3, 7, "/cluster0/n08/core3"),
            row("fat007", "node", 7, 2, "/cluster0/fat007"),
            row("core0", "core", 0, 2, "/cluster0/fat007/core0"),
            row("login", "node", -1, 5, "/cluster0/login"),
            row("core0", "core", 0, 5, "/cluster0/login/core0"),
        ]
    );
    let fat = g.find_path("/cluster0/fat007").expect("fat007");
    assert_eq!(g.name_of(g.g[fat].basename), "fat");
    let login = g.find_path("/cluster0/login").expect("login");
    assert_eq!(g.name_of(g.g[login].basename), "login");

    // Properties land on nodes only, with empty values.
    let props = |v| g.properties(v).collect::<Vec<_>>();
    assert_eq!(props(fat), [("debug", "")]);
    assert_eq!(props(login), [("amd", "")]);
    let n08 = g.find_path("/cluster0/n08").expect("n08");
    assert_eq!(props(n08), [("debug", "")]);
    let core = g.find_path("/cluster0/n08/core2").expect("core2");
    assert!(props(core).is_empty());

    // A tree: each vertex but the root has exactly one parent.
    assert_eq!(g.edge_count(), g.vertex_count() - 1);
    let cont = g.symbols.get("containment").expect("containment");
    for v in g.vertices() {
        let parents = g.g.edges_directed(v, petgraph::Direction::Incoming).count();
        assert_eq!(parents, usize::from(g.roots[&cont] != v), "{}", g.name(v));
    }
    assert_eq!(children(&g, n08), ["gpu1", "core2", "core3"]);
}

#[test]
fn rset_gives_hosts_children_and_times_per_rank() {
    let r = RSet::parse(MIXED, "r.json").expect("parses");
    assert_eq!(r.origin, "r.json");
    assert_eq!(r.starttime, Some(10.5));
    assert_eq!(r.expiration, Some(100.0));
    assert_eq!(r.rank_set().to_string(), "2,5,7");
    let order: Vec<u32> = r.ranks.iter().map(|x| x.rank).collect();
    assert_eq!(order, [7, 2, 5]);
    let r7 = r.rank(7).expect("rank 7");
    assert_eq!(r7.hostname, "n08");
    assert_eq!(
        r7.children,
        vec![
            ("gpu".to_owned(), IdSet::parse("1").unwrap()),
            ("core".to_owned(), IdSet::parse("2-3").unwrap()),
        ]
    );
    assert_eq!(r7.properties, ["debug"]);
    assert_eq!(r.rank(2).expect("rank 2").hostname, "fat007");
    assert_eq!(r.rank(5).expect("rank 5").properties, ["amd"]);
    assert!(r.rank(3).is_none());

    // Times are optional; an empty R_lite is a lone cluster vertex.
    let empty = r#"{"version": 1, "execution": {"R_lite": [], "nodelist": []}}"#;
    let r = RSet::parse(empty, "e.json").expect("parses");
    assert_eq!((r.starttime, r.expiration), (None, None));
    let g = r.to_graph().expect("builds");
    assert_eq!(g.vertex_count(), 1);
    let root = g.of_type("cluster")[0];
    assert_eq!(path(&g, root), "/cluster0");
}

/// `R` with `execution` replaced.
fn with_exec(exec: &str) -> String {
    format!(r#"{{"version": 1, "execution": {exec}}}"#)
}

#[test]
fn malformed_r_names_the_file_and_key() {
    let ok_entry = r#"{"rank": "0-1", "children": {"core": "0-3"}}"#;
    let cases: Vec<(String, &str)> = vec![
        ("not json".into(), "invalid JSON"),
        ("[1]".into(), "expected an object"),
        (r#"{"execution": {}}"#.into(), "missing key \"version\""),
        (
            r#"{"version": 2, "execution": {}}"#.into(),
            "key \"version\": expected 1, found 2",
        ),
        (r#"{"version": 1}"#.into(), "missing key \"execution\""),
        (
            with_exec(r#"{"nodelist": ["n[0-1]"]}"#),
            "missing key \"execution.R_lite\"",
        ),
        (
            with_exec(r#"{"R_lite": {}, "nodelist": []}"#),
            "key \"execution.R_lite\": expected an array",
        ),
        (
            with_exec(&format!(r#"{{"R_lite": [{ok_entry}]}}"#)),
            "missing key \"execution.nodelist\"",
        ),
        (
            with_exec(r#"{"R_lite": [{"children": {}}], "nodelist": []}"#),
            "missing key \"execution.R_lite[0].rank\"",
        ),
        (
            with_exec(r#"{"R_lite": [{"rank": "0"}], "nodelist": ["n0"]}"#),
            "missing key \"execution.R_lite[0].children\"",
        ),
        (
            with_exec(r#"{"R_lite": [{"rank": 0, "children": {}}], "nodelist": ["n0"]}"#),
            "key \"execution.R_lite[0].rank\": expected an idset string, found 0",
        ),
        (
            with_exec(r#"{"R_lite": [{"rank": "3-1", "children": {}}], "nodelist": []}"#),
            "key \"execution.R_lite[0].rank\": invalid idset \"3-1\"",
        ),
        (
            with_exec(r#"{"R_lite": [{"rank": "-1", "children": {}}], "nodelist": []}"#),
            "key \"execution.R_lite[0].rank\": invalid idset \"-1\"",
        ),
        (
            with_exec(
                r#"{"R_lite": [{"rank": "0", "children": {"core": "a"}}], "nodelist": ["n0"]}"#,
            ),
            "key \"execution.R_lite[0].children.core\": invalid idset \"a\"",
        ),
        (
            with_exec(
                r#"{"R_lite": [{"rank": "0", "children": {"core": 3}}], "nodelist": ["n0"]}"#,
            ),
            "key \"execution.R_lite[0].children.core\": expected a string, found 3",
        ),
        (
            with_exec(&format!(
                r#"{{"R_lite": [{ok_entry}, {{"rank": "1-2", "children": {{}}}}], "nodelist": ["n[0-2]"]}}"#
            )),
            "key \"execution.R_lite[1].rank\": rank 1 is also in execution.R_lite[0]",
        ),
        (
            with_exec(&format!(
                r#"{{"R_lite": [{ok_entry}], "nodelist": ["n0"]}}"#
            )),
            "key \"execution.nodelist\": 1 host for 2 ranks (ranks 0-1)",
        ),
        (
            with_exec(&format!(
                r#"{{"R_lite": [{ok_entry}], "nodelist": ["n[0-2]"]}}"#
            )),
            "key \"execution.nodelist\": 3 hosts for 2 ranks",
        ),
        (
            with_exec(&format!(
                r#"{{"R_lite": [{ok_entry}], "nodelist": ["n[1-"]}}"#
            )),
            "key \"execution.nodelist[0]\": invalid hostlist \"n[1-\"",
        ),
        (
            with_exec(&format!(
                r#"{{"R_lite": [{ok_entry}], "nodelist": "n[0-1]"}}"#
            )),
            "key \"execution.nodelist\": expected an array",
        ),
        (
            with_exec(&format!(
                r#"{{"R_lite": [{ok_entry}], "nodelist": ["n0", 1]}}"#
            )),
            "key \"execution.nodelist[1]\": expected a string, found 1",
        ),
        (
            with_exec(&format!(
                r#"{{"R_lite": [{ok_entry}], "nodelist": ["n[0-1]"], "properties": {{"x": "4"}}}}"#
            )),
            "key \"execution.properties.x\": rank 4 is not in R_lite",
        ),
        (
            with_exec(&format!(
                r#"{{"R_lite": [{ok_entry}], "nodelist": ["n[0-1]"], "properties": {{"x": "1-0"}}}}"#
            )),
            "key \"execution.properties.x\": invalid idset",
        ),
        (
            with_exec(&format!(
                r#"{{"R_lite": [{ok_entry}], "nodelist": ["n[0-1]"], "properties": []}}"#
            )),
            "key \"execution.properties\": expected an object",
        ),
        (
            with_exec(&format!(
                r#"{{"R_lite": [{ok_entry}], "nodelist": ["n[0-1]"], "starttime": "now"}}"#
            )),
            "key \"execution.starttime\": expected a number",
        ),
        (
            with_exec(
                r#"{"R_lite": [{"rank": "0", "children": {}}], "nodelist": ["n99999999999999999999"]}"#,
            ),
            "too large for an id",
        ),
    ];
    for (text, want) in cases {
        let err = match read(&text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e,
        };
        assert!(matches!(err, GraphError::Rv1 { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.starts_with("r.json: malformed R: "), "{msg}");
        assert!(msg.contains(want), "{text}\n  got: {msg}\n  want: {want}");
    }
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let err = rv1exec::read_path(Path::new("/nonexistent/R.json")).expect_err("no file");
    assert!(matches!(err, GraphError::Io { .. }));
    assert!(err.to_string().starts_with("/nonexistent/R.json: "));
}

#[test]
fn more_resources_than_a_graph_holds_is_an_error() {
    let text = with_exec(
        r#"{"R_lite": [{"rank": "0-1", "children": {"core": "0-4294967294"}}], "nodelist": ["n[0-1]"]}"#,
    );
    // Counted from the idsets before any vertex is made: the cap names
    // the whole count, which no u32 index could hold.
    let err = read(&text).expect_err("too big");
    assert!(
        err.to_string()
            .contains("would make 8589934593 vertices, more than the cap of"),
        "{err}"
    );
}
