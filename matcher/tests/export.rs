//! End-to-end tests of `resource-query -g/-o`: the graph is written as
//! DOT or GraphML right after loading, the session then goes on reading
//! commands, and bad formats or paths fail with a message naming them.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn small() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../grugs/small.yaml")
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("quiver-export-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run resource-query in `dir` with `args` and the script "stat, quit";
/// (status ok, stdout, stderr).
fn run(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_resource-query"))
        .current_dir(dir)
        .args(args)
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A run that fails before reading its input closes the pipe early.
    let _ = child.stdin.take().unwrap().write_all(b"stat\nquit\n");
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// small.yaml: a cluster, 4 nodes, 2 sockets each, and per socket 8 cores,
// 1 gpu and 2 memories (socket, core, gpu and memory ids per node):
// 1 + 4 + 8 + 8 * 11 vertices, a tree over them.
const VERTICES: usize = 101;
const EDGES: usize = 100;

#[test]
fn dot_holds_every_vertex_and_edge_and_the_session_goes_on() {
    let d = tmpdir("dot");
    let small = small();
    let base = d.join("g");
    let (ok, out, err) = run(
        &d,
        &[
            "-L",
            small.to_str().unwrap(),
            "-g",
            "dot",
            "-o",
            base.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    let file = d.join("g.dot");
    assert!(
        err.contains(&format!(
            "wrote {} ({VERTICES} vertices, {EDGES} edges)",
            file.display()
        )),
        "{err}"
    );
    // Commands are read after the export.
    assert!(
        out.contains(&format!("INFO: Num. of Total Vertices: {VERTICES}")),
        "{out}"
    );

    let dot = std::fs::read_to_string(&file).unwrap();
    assert!(dot.contains("digraph resources {"), "{dot}");
    assert!(dot.trim_end().ends_with('}'), "{dot}");
    let labels = dot.lines().filter(|l| l.contains("[label=")).count();
    let edges: Vec<&str> = dot.lines().filter(|l| l.contains(" -> ")).collect();
    assert_eq!(labels, VERTICES, "{dot}");
    assert_eq!(edges.len(), EDGES, "{dot}");
    // One subsystem: every edge is a plain tree edge.
    assert!(edges.iter().all(|e| e.ends_with(';') && !e.contains('[')));
    for name in ["small0", "node3", "socket1", "core15", "gpu1", "memory3"] {
        assert!(dot.contains(&format!("[label=\"{name}\"]")), "{name}");
    }
    assert!(!d.join("g.graphml").exists());
}

#[test]
fn graphml_without_o_goes_to_the_default_basename() {
    let d = tmpdir("graphml");
    let small = small();
    // The format name is case-insensitive, as Fluxion's.
    let (ok, _, err) = run(&d, &["-L", small.to_str().unwrap(), "-g", "GraphML"]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!(
            "wrote resource-graph.graphml ({VERTICES} vertices, {EDGES} edges)"
        )),
        "{err}"
    );
    let xml = std::fs::read_to_string(d.join("resource-graph.graphml")).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.trim_end().ends_with("</graphml>"), "{xml}");
    assert_eq!(xml.matches("<node id=").count(), VERTICES);
    assert_eq!(xml.matches("<edge id=").count(), EDGES);
    assert_eq!(
        xml.matches("<data key=\"relation\">contains</data>")
            .count(),
        EDGES
    );
    for key in [
        r#"attr.name="rank" attr.type="long""#,
        r#"attr.name="uniq_id" attr.type="long""#,
        r#"attr.name="path.containment" attr.type="string""#,
    ] {
        assert!(xml.contains(key), "{key}");
    }
    assert!(xml.contains("<data key=\"name\">memory3</data>"));
    assert!(xml.contains("<data key=\"size\">16</data><data key=\"unit\">GB</data>"));
    assert!(xml.contains(">/small0/node3/socket1/core15</data>"));
}

#[test]
fn o_alone_writes_dot_as_fluxion_does() {
    let d = tmpdir("o-only");
    let small = small();
    let (ok, _, err) = run(&d, &["-L", small.to_str().unwrap(), "-o", "pic"]);
    assert!(ok, "{err}");
    let dot = std::fs::read_to_string(d.join("pic.dot")).unwrap();
    assert_eq!(dot.lines().filter(|l| l.contains(" -> ")).count(), EDGES);
}

#[test]
fn no_g_no_o_writes_nothing() {
    let d = tmpdir("none");
    let small = small();
    let (ok, _, err) = run(&d, &["-L", small.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(!err.contains("wrote"), "{err}");
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
}

#[test]
fn an_unknown_format_fails_before_loading_and_names_it() {
    let d = tmpdir("unknown");
    let small = small();
    let (ok, out, err) = run(&d, &["-L", small.to_str().unwrap(), "-g", "svg"]);
    assert!(!ok);
    assert!(err.contains("--graph-format"), "{err}");
    assert!(
        err.contains("unknown graph format 'svg' (expected dot or graphml)"),
        "{err}"
    );
    assert!(!out.contains("INFO"), "{out}");
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
}

#[test]
fn an_unwritable_file_fails_and_names_it() {
    let d = tmpdir("unwritable");
    let small = small();
    let base = d.join("no-such-dir").join("g");
    let (ok, _, err) = run(
        &d,
        &["-L", small.to_str().unwrap(), "-o", base.to_str().unwrap()],
    );
    assert!(!ok);
    assert!(
        err.contains(&format!("{}.dot: cannot create", base.display())),
        "{err}"
    );
}

#[test]
fn the_load_file_is_never_overwritten() {
    let d = tmpdir("clobber");
    let recipe = "<?xml version=\"1.0\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n\
        <key id=\"root\" for=\"node\" attr.name=\"root\" attr.type=\"int\"><default>0</default></key>\n\
        <key id=\"type\" for=\"node\" attr.name=\"type\" attr.type=\"string\"/>\n\
        <key id=\"subsystem\" for=\"node\" attr.name=\"subsystem\" attr.type=\"string\"><default>containment</default></key>\n\
        <graph id=\"one\" edgedefault=\"directed\">\n\
        <node id=\"cluster\"><data key=\"root\">1</data><data key=\"type\">cluster</data></node>\n\
        <node id=\"node\"><data key=\"type\">node</data></node>\n\
        <edge id=\"e\" source=\"cluster\" target=\"node\"/>\n\
        </graph>\n</graphml>\n";
    std::fs::write(d.join("one.graphml"), recipe).unwrap();
    let (ok, _, err) = run(&d, &["-L", "one.graphml", "-g", "graphml", "-o", "one"]);
    assert!(!ok);
    assert!(err.contains("one.graphml: is the load file"), "{err}");
    assert_eq!(
        std::fs::read_to_string(d.join("one.graphml")).unwrap(),
        recipe
    );
    // Under another name the same graph exports.
    let (ok, _, err) = run(&d, &["-L", "one.graphml", "-g", "graphml", "-o", "two"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("wrote two.graphml (2 vertices, 1 edges)"),
        "{err}"
    );
}
