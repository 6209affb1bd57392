//! resource-query `-T flexible` read as Fluxion reads it: sibling `slot`s
//! are or-slots, chosen vertex by vertex so that each vertex forms the
//! most slots; sibling `xor_slot`s are alternative shapes of the whole
//! job, tried in order at each start time. On grugs/tiny.yaml (the twin
//! of Fluxion's tiny graph: 2 nodes x 2 sockets x (18 cores, 1 gpu,
//! 4 memory)) and grugs/small.yaml (4 nodes x 2 sockets x (8 cores,
//! 1 gpu, 2 memory)).
mod common;

use common::{grug, jobspec, run_rq, tmpdir};

/// Run resource-query -T flexible on `graph` with `extra` flags and
/// `script`: (exit ok, stdout, stderr).
fn run(graph: &str, extra: &[&str], script: &str) -> (bool, String, String) {
    let mut args = vec!["-L", graph, "-T", "flexible"];
    args.extend_from_slice(extra);
    run_rq(&args, script)
}

/// Each job's answer, in job order: the part of the output before its
/// `JOBID=` line.
fn jobs(out: &str) -> Vec<&str> {
    let mut v: Vec<&str> = out.split("INFO: JOBID=").collect();
    v.pop();
    v
}

/// Vertices of `typ` in an answer, by name (`core3`, `socket1`).
fn named<'a>(answer: &'a str, typ: &str) -> Vec<&'a str> {
    answer
        .lines()
        .filter_map(|l| l.trim_start_matches([' ', '-']).split('[').next())
        .filter(|n| {
            n.strip_prefix(typ)
                .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect()
}

/// When job `id` starts: `Now` or the time of its reservation.
fn scheduled(out: &str, id: u64) -> &str {
    let key = format!("INFO: JOBID={id}\n");
    let after = out.split(&key).nth(1).unwrap_or("");
    after
        .lines()
        .find_map(|l| l.strip_prefix("INFO: SCHEDULED AT="))
        .unwrap_or("")
}

fn repeat(op: &str, js: &str, n: usize) -> String {
    let mut s = format!("match {op} {js}\n").repeat(n);
    s.push_str("quit\n");
    s
}

#[test]
fn or_slots_fill_a_socket_before_the_next_as_fluxion_does() {
    // Fluxion's t3038 case 001: a socket holds an 8-core-and-a-GPU slot or
    // a 10-core slot. Each socket of 18 cores and a GPU forms one of each,
    // so under policy high the jobs fill node1's socket1 (small, then
    // big), then its socket0, then node0's, and then nothing is left.
    let d = tmpdir("or-fill");
    let js = jobspec(
        &d,
        "or.yaml",
        "[{type: cluster, count: 1, with: [{type: rack, count: 1, with: [\
           {type: node, count: 1, with: [{type: socket, count: 1, with: [\
             {type: slot, count: 1, label: small, with: [{type: core, count: 8}, {type: gpu, count: 1}]},\
             {type: slot, count: 1, label: big, with: [{type: core, count: 10}]}]}]}]}]}]",
    );
    let (ok, out, err) = run(
        &grug("tiny.yaml"),
        &["-P", "high"],
        &repeat("allocate", &js, 9),
    );
    assert!(ok, "{err}");
    let got: Vec<(usize, usize, &str, &str)> = jobs(&out)
        .iter()
        .filter(|a| !a.contains("No matching resources"))
        .map(|a| {
            let socket = named(a, "socket");
            let node = named(a, "node");
            (
                named(a, "core").len(),
                named(a, "gpu").len(),
                node[0],
                socket[0],
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (8, 1, "node1", "socket1"),
            (10, 0, "node1", "socket1"),
            (8, 1, "node1", "socket0"),
            (10, 0, "node1", "socket0"),
            (8, 1, "node0", "socket1"),
            (10, 0, "node0", "socket1"),
            (8, 1, "node0", "socket0"),
            (10, 0, "node0", "socket0"),
        ],
        "{out}"
    );
    assert!(
        jobs(&out)[8].contains("No matching resources found"),
        "{out}"
    );
}

#[test]
fn or_slots_mix_shapes_on_one_vertex() {
    // Two slots of 5 or 3 cores on a socket of 8: two of either shape do
    // not fit (10 cores) or leave cores idle, one of each fills the
    // socket. Trying each shape for the whole job would take 6 cores.
    let d = tmpdir("or-mix");
    let js = jobspec(
        &d,
        "two.yaml",
        "[{type: socket, count: 1, with: [\
           {type: slot, count: 2, label: default, with: [{type: core, count: 5}]},\
           {type: slot, count: 2, label: default, with: [{type: core, count: 3}]}]}]",
    );
    for policy in ["low", "high", "first"] {
        let (ok, out, err) = run(
            &grug("small.yaml"),
            &["-P", policy],
            &repeat("allocate", &js, 1),
        );
        assert!(ok, "{err}");
        let a = jobs(&out)[0];
        assert_eq!(named(a, "core").len(), 8, "{policy}: {out}");
        assert_eq!(named(a, "socket").len(), 1, "{policy}: {out}");
    }
}

#[test]
fn xor_shapes_are_tried_at_each_start_time_in_turn() {
    // One core is taken on every socket. The preferred shape (a whole
    // socket of 8 cores) could start only when that job ends; the second
    // (4 cores) fits now, and allocate-or-else-reserve takes it now.
    let d = tmpdir("xor-time");
    let one = jobspec(
        &d,
        "one.yaml",
        "[{type: socket, count: 8, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]}]",
    );
    let xor = jobspec(
        &d,
        "xor.yaml",
        "[{type: socket, count: 1, with: [\
           {type: xor_slot, count: 1, label: default, with: [{type: core, count: 8}]},\
           {type: xor_slot, count: 1, label: default, with: [{type: core, count: 4}]}]}]",
    );
    let script = format!(
        "match allocate {one}\nmatch allocate_orelse_reserve {xor}\nmatch allocate_orelse_reserve {xor}\nquit\n"
    );
    for extra in [&["-P", "low"][..], &["-P", "low", "-B"][..]] {
        let (ok, out, err) = run(&grug("small.yaml"), extra, &script);
        assert!(ok, "{err}");
        let j = jobs(&out);
        assert_eq!(named(j[0], "core").len(), 8, "{out}");
        for id in [2, 3] {
            assert_eq!(named(j[id - 1], "core").len(), 4, "{out}");
            assert_eq!(scheduled(&out, id as u64), "Now", "{out}");
        }
    }
}

#[test]
fn a_shape_naming_hardware_this_graph_lacks_is_tried_not_refused() {
    // Fluxion knows `gpu` whether or not the graph has one: a variant
    // asking for a GPU on a graph without any finds nothing and the next
    // variant is tried; a type nobody knows is refused as ever.
    let d = tmpdir("known");
    let g = d.join("nogpu.yaml");
    std::fs::write(
        &g,
        "name: nogpu\nroot:\n  type: cluster\n  basename: nogpu\n  with:\n    - type: node\n      count: 1\n      with:\n        - { type: core, count: 4 }\n",
    )
    .unwrap();
    let xor = jobspec(
        &d,
        "xor.yaml",
        "[{type: node, count: 1, with: [\
           {type: xor_slot, count: 1, label: default, with: [{type: gpu, count: 1}]},\
           {type: xor_slot, count: 1, label: default, with: [{type: core, count: 2}]}]}]",
    );
    let odd = jobspec(
        &d,
        "odd.yaml",
        "[{type: node, count: 1, with: [{type: slot, count: 1, label: default, with: [{type: quasar, count: 1}]}]}]",
    );
    let (ok, out, err) = run(
        &g.display().to_string(),
        &[],
        &format!("match allocate {xor}\nmatch allocate {odd}\nquit\n"),
    );
    assert!(ok, "{err}");
    let j = jobs(&out);
    assert_eq!(named(j[0], "core").len(), 2, "{out}");
    assert!(!err.contains("Jobspec error for 1"), "{err}");
    assert!(
        err.contains(
            "Jobspec error for 2: Value of \"type\" must be a resource type known to fluxion"
        ),
        "{err}"
    );
    assert!(j[1].contains("No matching resources found"), "{out}");
}

#[test]
fn or_slots_take_the_shape_that_fits_and_plain_slots_do_not() {
    let d = tmpdir("flexible");
    // A socket with 2 GPUs does not exist (1 per socket). Of the or-slots
    // only the 8-core one fits a socket of 8 cores. Without -T flexible,
    // sibling slots mean the last one, as in Fluxion: 2 GPUs, which
    // nothing has.
    let js = jobspec(
        &d,
        "alt.yaml",
        "[{type: socket, count: 1, with: [\
           {type: slot, count: 1, label: default, with: [{type: core, count: 9}]},\
           {type: slot, count: 1, label: default, with: [{type: core, count: 8}]},\
           {type: slot, count: 1, label: default, with: [{type: gpu, count: 2}]}]}]",
    );
    let never = jobspec(
        &d,
        "never.yaml",
        "[{type: socket, count: 1, with: [\
           {type: slot, count: 1, label: default, with: [{type: gpu, count: 2}]},\
           {type: slot, count: 1, label: default, with: [{type: core, count: 9}]}]}]",
    );
    let script = format!("match allocate {js}\nmatch allocate_with_satisfiability {never}\nquit\n");
    let small = grug("small.yaml");
    let (ok, out, err) = run(&small, &["-P", "low"], &script);
    assert!(ok, "{err}");
    let first = out.split("INFO: JOBID=1").next().unwrap_or("");
    assert_eq!(named(first, "core").len(), 8, "{first}");
    assert_eq!(named(first, "gpu").len(), 0, "{first}");
    assert!(
        out.contains("No matching resources found\nINFO: Unsatisfiable request\nINFO: JOBID=2"),
        "{out}"
    );
    let plain = ["-L", &small, "-P", "low"];
    let (ok, out, _) = run_rq(&plain, &format!("match allocate {js}\nquit\n"));
    assert!(ok);
    assert!(out.contains("No matching resources found"), "{out}");
    let (ok, _, err) = run_rq(&["-L", &small, "-T", "sideways"], "quit\n");
    assert!(!ok && err.contains("expected simple or flexible"), "{err}");
}
