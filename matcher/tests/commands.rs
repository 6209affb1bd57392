//! End-to-end tests of resource-query's graph commands on our own small
//! fixture (grugs/small.yaml: 4 nodes x 2 sockets x (8 cores, 1 gpu,
//! 2 memory)): find, status and properties, remove, attach, partial
//! cancel, update, and matches that book nothing.
mod common;

use std::path::Path;

use common::{grug, jobspec, run_rq, tmpdir};

fn small() -> String {
    grug("small.yaml")
}

/// Run resource-query on small.yaml with `extra` flags and `script`;
/// (exit ok, stdout, stderr).
fn run(extra: &[&str], script: &str) -> (bool, String, String) {
    run_on(&small(), extra, script)
}

/// [`run`] on another graph.
fn run_on(graph: &str, extra: &[&str], script: &str) -> (bool, String, String) {
    let mut args = vec!["-L", graph, "-d"];
    args.extend_from_slice(extra);
    run_rq(&args, script)
}

fn node_excl(d: &Path) -> String {
    jobspec(
        d,
        "node.yaml",
        "[{type: node, count: 1, exclusive: true, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]}]",
    )
}

/// The output of each `find`, in order: the writer lines printed just
/// before an `INFO: EXPRESSION=` block.
fn finds(out: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut buf = String::new();
    let mut in_info = false;
    for line in out.lines() {
        if line.starts_with("INFO:") {
            if line.starts_with("INFO: EXPRESSION=") {
                blocks.push(std::mem::take(&mut buf));
            }
            in_info = true;
            continue;
        }
        if in_info {
            buf.clear();
            in_info = false;
        }
        buf.push_str(line);
        buf.push('\n');
    }
    blocks
}

/// Lines of the simple writer's output that name vertices of `typ`.
fn count(out: &str, typ: &str) -> usize {
    out.lines()
        .filter(|l| {
            l.trim_start_matches([' ', '-'])
                .strip_prefix(typ)
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count()
}

#[test]
fn find_selects_by_status_schedule_and_job() {
    let d = tmpdir("find");
    let node = node_excl(&d);
    let (ok, out, err) = run(
        &["-P", "low"],
        &format!(
            "find status=up\nmatch allocate {node}\nfind sched-now=allocated\n\
             set-status /small0/node3 down\nfind status=down\nfind jobid-alloc=1 and not sched-now=free\n\
             find (status=up\nquit\n"
        ),
    );
    assert!(ok, "{err}");
    let blocks = finds(&out);
    assert_eq!(blocks.len(), 4, "{out}");
    assert_eq!(count(&blocks[0], "core"), 64, "every core is up");
    // Job 1 holds node0 whole: its 16 cores are allocated (and what is
    // below them inherits it).
    assert_eq!(count(&blocks[1], "core"), 16, "{}", blocks[1]);
    assert!(blocks[1].contains("node0[1:x]"));
    // node3 is down, and so is everything below it.
    assert_eq!(count(&blocks[2], "core"), 16);
    assert!(blocks[2].contains("node3[1:x]") && !blocks[2].contains("node0[1:x]"));
    assert_eq!(count(&blocks[3], "node"), 1, "{}", blocks[3]);
    assert!(
        err.contains("invalid criteria") && err.contains("unbalanced"),
        "{err}"
    );
}

#[test]
fn status_and_properties_round_trip() {
    let (ok, out, _) = run(
        &[],
        "get-status /small0/node1\nset-status /small0/node1 down\nget-status /small0/node1\n\
         set-property /small0/node1 arch=x86_64\nset-property /small0/node1 arch=arm64\n\
         get-property /small0/node1\nget-property /small0/node2\nget-status /nope\n\
         set-property /small0/node1 bad\nquit\n",
    );
    assert!(ok);
    assert!(
        out.contains("/small0/node1 is up\n/small0/node1 is down\n"),
        "{out}"
    );
    assert!(
        out.contains("arch=arm64\n") && !out.contains("arch=x86_64"),
        "{out}"
    );
    assert!(
        out.contains("No properties were found for /small0/node2"),
        "{out}"
    );
    assert!(
        out.contains("Could not find path /nope in resource graph."),
        "{out}"
    );
    assert!(out.contains("Incorrect input format."), "{out}");
}

#[test]
fn a_down_node_is_never_matched() {
    let d = tmpdir("down");
    let node = node_excl(&d);
    let script = format!(
        "set-status /small0/node0 down\nset-status /small0/node1 down\nset-status /small0/node2 down\n\
         match allocate {node}\nmatch allocate {node}\nquit\n"
    );
    let (ok, out, _) = run(&["-P", "low"], &script);
    assert!(ok);
    assert!(out.contains("node3[1:x]"), "{out}");
    assert!(
        out.contains("No matching resources found\nINFO: JOBID=2"),
        "{out}"
    );
}

#[test]
fn remove_names_the_job_and_the_rest_stays_usable() {
    let d = tmpdir("remove");
    let node = node_excl(&d);
    let script = format!(
        "match allocate {node}\nremove /small0/node0 true\nfind status=up\n\
         match allocate {node}\nmatch allocate {node}\nmatch allocate {node}\nmatch allocate {node}\n\
         remove /small0/nothing true\nquit\n"
    );
    let (ok, out, err) = run(&["-P", "low"], &script);
    assert!(ok, "{err}");
    assert!(
        out.contains("removed /small0/node0") && out.contains("held by job(s) 1"),
        "{out}"
    );
    let found = &finds(&out)[0];
    assert!(
        !found.contains("node0[") && found.contains("node1["),
        "node0 is gone: {found}"
    );
    // Three nodes are left: three matches succeed, the fourth does not.
    assert_eq!(out.matches("RESOURCES=ALLOCATED").count(), 4, "{out}");
    assert!(
        out.contains("No matching resources found\nINFO: JOBID=5"),
        "{out}"
    );
    assert!(err.contains("can't remove subgraph"), "{err}");
}

#[test]
fn attach_grows_the_graph_and_partial_cancel_releases_part() {
    let d = tmpdir("grow");
    let node = node_excl(&d);
    // A fifth node as JGF, under the existing root.
    let jgf = d.join("node4.json");
    let v = |uid: u32, typ: &str, id: u32, path: &str| {
        format!(
            r#"{{"id": "{uid}", "metadata": {{"type": "{typ}", "id": {id}, "uniq_id": {uid}, "rank": -1, "paths": {{"containment": "{path}"}}}}}}"#
        )
    };
    let nodes = [
        v(0, "cluster", 0, "/small0").replace(
            "\"type\": \"cluster\"",
            "\"type\": \"cluster\", \"basename\": \"small\"",
        ),
        v(900, "node", 4, "/small0/node4"),
        v(901, "socket", 0, "/small0/node4/socket0"),
        v(902, "core", 0, "/small0/node4/socket0/core0"),
    ];
    let edges = r#"[{"source": "0", "target": "900"}, {"source": "900", "target": "901"}, {"source": "901", "target": "902"}]"#;
    std::fs::write(
        &jgf,
        format!(
            r#"{{"graph": {{"nodes": [{}], "edges": {edges}}}}}"#,
            nodes.join(", ")
        ),
    )
    .unwrap();
    let two = jobspec(
        &d,
        "two.yaml",
        "[{type: node, count: 2, exclusive: true, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]}]",
    );
    // Release node1 of job 1 (which holds node0 and node1) with a JGF
    // naming node1's whole subtree.
    let part = d.join("node1.json");
    let mut vs = vec![("node".to_string(), 1, "/small0/node1".to_string())];
    for s in 0..2 {
        let sp = format!("/small0/node1/socket{s}");
        vs.push(("socket".into(), s, sp.clone()));
        for c in 8 * s..8 * s + 8 {
            vs.push(("core".into(), c, format!("{sp}/core{c}")));
        }
        vs.push(("gpu".into(), s, format!("{sp}/gpu{s}")));
        for m in 2 * s..2 * s + 2 {
            vs.push(("memory".into(), m, format!("{sp}/memory{m}")));
        }
    }
    let vs: Vec<String> = vs
        .iter()
        .enumerate()
        .map(|(i, (t, id, p))| {
            format!(r#"{{"id": "{}", "metadata": {{"type": "{t}", "id": {id}, "paths": {{"containment": "{p}"}}}}}}"#, 5000 + i)
        })
        .collect();
    std::fs::write(
        &part,
        format!(
            r#"{{"graph": {{"nodes": [{}], "edges": []}}}}"#,
            vs.join(", ")
        ),
    )
    .unwrap();
    let script = format!(
        "match allocate {two}\nattach {jgf}\nmatch allocate {node}\nmatch allocate {node}\nmatch allocate {node}\n\
         partial-cancel 1 jgf {part}\nfind jobid-tag=1\nmatch allocate {node}\nquit\n",
        jgf = jgf.display(),
        part = part.display()
    );
    let (ok, out, err) = run(&["-P", "low"], &script);
    assert!(ok, "{err}");
    // After attach, 5 nodes: job 1 holds 2, jobs 2-4 take node2, node3 and
    // the attached node4.
    assert!(
        out.contains("node4[1:x]"),
        "the attached node is matched:\n{out}"
    );
    assert_eq!(out.matches("RESOURCES=ALLOCATED").count(), 5, "{out}");
    // The released node1 is free again for job 5; job 1 keeps node0.
    let tagged = &finds(&out)[0];
    assert!(
        tagged.contains("node0[") && !tagged.contains("node1["),
        "{tagged}"
    );
    let last = out.rsplit("INFO: EXPRESSION=").next().unwrap();
    assert!(last.contains("node1[1:x]"), "{last}");
}

#[test]
fn update_books_an_r_and_dry_matches_book_nothing() {
    let d = tmpdir("update");
    let node = node_excl(&d);
    let r = d.join("r.json");
    std::fs::write(
        &r,
        r#"{"graph": {"nodes": [{"id": "3", "metadata": {"type": "node", "id": 3, "exclusive": true, "paths": {"containment": "/small0/node3"}}}], "edges": []}}"#,
    )
    .unwrap();
    let script = format!(
        "update allocate jgf {r} 7 0 3600\nfind jobid-alloc=7\nmatch without_allocating {node}\n\
         match without_allocating_future {node}\nmatch allocate {node}\nmatch allocate {node}\n\
         match allocate {node}\nmatch allocate {node}\nmatch without_allocating_future {node}\n\
         update allocate jgf {r} 7 0 3600\nquit\n",
        r = r.display()
    );
    let (ok, out, err) = run(&["-P", "high"], &script);
    assert!(ok, "{err}");
    assert!(
        out.contains("INFO: JOBID=7\nINFO: RESOURCES=ALLOCATED"),
        "{out}"
    );
    assert!(finds(&out)[0].contains("node3[1:x]"), "{out}");
    // Dry matches report node2 (node3 is job 7's) twice and book nothing:
    // three real matches still fit.
    assert_eq!(out.matches("RESOURCES=MATCHED").count(), 3, "{out}");
    assert_eq!(out.matches("RESOURCES=ALLOCATED").count(), 4, "{out}");
    assert!(out.contains("No matching resources found"), "{out}");
    // The last dry match must wait for job 7's node at 3600.
    assert!(
        out.contains("RESOURCES=MATCHED (nothing booked)\nINFO: SCHEDULED AT=3600"),
        "{out}"
    );
    assert!(err.contains("existing Jobid"), "{err}");
}

#[test]
fn constraints_steer_and_bound_the_match() {
    let d = tmpdir("constraint");
    let with = |name: &str, constraint: &str| {
        let p = d.join(name);
        std::fs::write(
            &p,
            format!(
                "version: 9999\nresources: [{{type: node, count: 1, exclusive: true, with: [{{type: slot, count: 1, label: default, with: [{{type: core, count: 1}}]}}]}}]\n\
                 attributes: {{system: {{duration: 3600, constraints: {constraint}}}}}\n\
                 tasks: [{{command: [app], slot: default, count: {{per_slot: 1}}}}]\n"
            ),
        )
        .unwrap();
        p.display().to_string()
    };
    let fast = with("fast.yaml", "{properties: [fast]}");
    let slow = with("slow.yaml", "{properties: [\"^fast\"]}");
    let host = with("host.yaml", "{hostlist: [\"node[1-2]\"]}");
    let none = with(
        "none.yaml",
        "{and: [{properties: [fast]}, {hostlist: [node0]}]}",
    );
    let script = format!(
        "set-property /small0/node2 fast=1\nmatch allocate {fast}\nmatch allocate {fast}\n\
         match allocate {slow}\nmatch allocate {host}\nmatch allocate_with_satisfiability {none}\nquit\n"
    );
    let (ok, out, err) = run(&["-P", "high"], &script);
    assert!(ok, "{err}");
    let jobs: Vec<&str> = out.split("INFO: JOBID=").collect();
    // Job 1: the one fast node; job 2: none left.
    assert!(jobs[0].contains("node2[1:x]"), "{}", jobs[0]);
    assert!(
        out.contains("No matching resources found\nINFO: JOBID=2"),
        "{out}"
    );
    // Job 3 must avoid fast nodes: high picks node3.
    assert!(jobs[2].contains("node3[1:x]"), "{}", jobs[2]);
    // Job 4: node1 is the only free node in node[1-2].
    assert!(jobs[3].contains("node1[1:x]"), "{}", jobs[3]);
    // Job 5: no node is both fast and node0: unsatisfiable, not just busy.
    assert!(
        out.contains("No matching resources found\nINFO: Unsatisfiable request\nINFO: JOBID=5"),
        "{out}"
    );
}

#[test]
fn variation_prefers_the_best_performance_class_and_locality_packs() {
    let d = tmpdir("policies");
    let node = node_excl(&d);
    let script = format!(
        "set-property /small0/node1 perf_class=1\nset-property /small0/node3 perf_class=2\n\
         match allocate {node}\nmatch allocate {node}\nmatch allocate {node}\nquit\n"
    );
    let (ok, out, err) = run(&["-P", "variation"], &script);
    assert!(ok, "{err}");
    let jobs: Vec<&str> = out.split("INFO: JOBID=").collect();
    assert!(jobs[0].contains("node1[1:x]"), "class 1 first: {}", jobs[0]);
    assert!(jobs[1].contains("node3[1:x]"), "then class 2: {}", jobs[1]);
    assert!(
        jobs[2].contains("node0[1:x]"),
        "then the unclassed, in order: {}",
        jobs[2]
    );

    // All free nodes form one run of consecutive ids, so locality fills
    // it from its start, keeping jobs side by side; high takes the top.
    // With node1 then taken, the highest run is node2-node3.
    let script = format!(
        "match allocate {node}\nmatch allocate {node}\ncancel 1\nmatch allocate {node}\nquit\n"
    );
    let (_, high, _) = run(&["-P", "high"], &script);
    let (ok, local, err) = run(&["-P", "locality"], &script);
    assert!(ok, "{err}");
    let job = |out: &str, n: usize| out.split("INFO: JOBID=").nth(n).unwrap_or("").to_owned();
    assert!(
        job(&high, 0).contains("node3[1:x]") && job(&high, 1).contains("node2[1:x]"),
        "{high}"
    );
    assert!(job(&local, 0).contains("node0[1:x]"), "{local}");
    assert!(job(&local, 1).contains("node1[1:x]"), "{local}");
    assert!(job(&local, 2).contains("node2[1:x]"), "{local}");
}

#[test]
fn jgf_shorthand_leaves_out_what_an_exclusive_vertex_implies() {
    let d = tmpdir("shorthand");
    let two = jobspec(
        &d,
        "two.yaml",
        "[{type: node, count: 2, exclusive: true, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]}]",
    );
    let (ok, out, err) = run(
        &["-P", "low", "-F", "jgf_shorthand"],
        &format!("match allocate {two}\nquit\n"),
    );
    assert!(ok, "{err}");
    let r = out.lines().next().unwrap_or("").to_owned();
    assert!(
        r.contains("\"node\"") && !r.contains("\"core\""),
        "whole nodes only: {r}"
    );
    // Booking that R books the nodes' cores too.
    let f = d.join("r.json");
    std::fs::write(&f, &r).unwrap();
    let (ok, out, err) = run(
        &[],
        &format!(
            "update allocate jgf_shorthand {} 9 0 3600\nfind jobid-alloc=9\nquit\n",
            f.display()
        ),
    );
    assert!(ok, "{err}");
    let found = out.rsplit("INFO: JOBID=9").next().unwrap_or("");
    assert_eq!(count(found, "core"), 32, "{found}");
}

#[test]
fn auxiliary_subsystems_are_walked_when_asked() {
    // grugs/power.yaml: nodes in racks (containment), fed by PDUs (power).
    let power = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../grugs/power.yaml")
        .display()
        .to_string();
    let d = tmpdir("aux");
    let js = jobspec(
        &d,
        "pdu.yaml",
        "[{type: node, count: 2, with: [{type: pdu, count: 1}, {type: socket, count: 1, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]}]}]",
    );
    let script =
        format!("match allocate {js}\nfind jobid-tag=1\ncancel 1\nmatch allocate {js}\nquit\n");
    let (ok, out, err) = run_on(&power, &["-S", "C+PA", "-P", "low"], &script);
    assert!(ok, "{err}");
    let first = out.split("INFO: JOBID=1").next().unwrap_or("");
    // Each node comes with the PDU feeding it (shared by both here) and a core.
    assert_eq!(count(first, "pdu"), 1, "{first}");
    assert_eq!(count(first, "node"), 2, "{first}");
    assert_eq!(count(first, "core"), 2, "{first}");
    assert!(
        out.contains("INFO: JOBID=2\nINFO: RESOURCES=ALLOCATED"),
        "cancel frees the PDU hold: {out}"
    );
    // Containment alone has no PDU under a node.
    let (ok, out, _) = run_on(
        &power,
        &["-S", "CA", "-P", "low"],
        &format!("match allocate {js}\nquit\n"),
    );
    assert!(ok);
    assert!(out.contains("No matching resources found"), "{out}");
}
