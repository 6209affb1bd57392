//! Flexible jobspecs through a real schedd (`--traverser flexible`):
//! sibling slots are alternative shapes, tried in order of preference; a
//! job starts as the first shape that fits now, and the instance refuses
//! one only when no shape ever could.
mod common;

use common::*;

/// A socket of the four-node recipe has 4 cores: 5 never fit in one, 3
/// do. Slots are tried in order.
const ALTERNATIVES: &str = "version: 9999
resources:
  - type: socket
    count: 1
    with:
      - {type: slot, count: 1, label: task, with: [{type: core, count: 5}]}
      - {type: slot, count: 1, label: task, with: [{type: core, count: 3}]}
      - {type: slot, count: 1, label: task, with: [{type: core, count: 1}]}
attributes:
  system:
    duration: 100
tasks:
  - command: [app]
    slot: task
    count: {per_slot: 1}
";

const NEVER: &str = "version: 9999
resources:
  - type: socket
    count: 1
    with:
      - {type: slot, count: 1, label: task, with: [{type: core, count: 5}]}
      - {type: slot, count: 1, label: task, with: [{type: gpu, count: 1}]}
attributes:
  system:
    duration: 100
tasks:
  - command: [app]
    slot: task
    count: {per_slot: 1}
";

fn args<'a>(recipe: &'a str, traverser: &'a str) -> Vec<&'a str> {
    vec![
        "--grug",
        recipe,
        "--executor",
        "sim",
        "--clock",
        "sim",
        "--traverser",
        traverser,
    ]
}

/// Cores of job `id`'s R (its R_lite's core idsets, counted).
fn cores_of(d: &Daemon, id: &str) -> usize {
    let v: serde_json::Value = serde_json::from_str(&d.ok(&["info", id, "--json"])).unwrap();
    let r: serde_json::Value = serde_json::from_str(v["r"].as_str().unwrap()).unwrap();
    r["execution"]["R_lite"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let cores = e["children"]["core"].as_str().unwrap_or("");
            resource_graph::idset::decode(cores).unwrap().len()
        })
        .sum()
}

#[test]
fn a_flexible_job_starts_as_the_first_shape_that_fits() {
    let dir = TempDir::new("flexible");
    let recipe = four_nodes();
    let d = start(&dir.0, &args(recipe.to_str().unwrap(), "flexible"));
    let js = dir.0.join("alt.yaml");
    std::fs::write(&js, ALTERNATIVES).unwrap();
    // 5 cores in a socket never fit: each job runs as 3 cores, one per
    // socket, until the 8 sockets are taken; the 9th takes the 1-core
    // shape from a socket's last core.
    let mut ids = Vec::new();
    for _ in 0..9 {
        ids.push(d.ok(&["submit", js.to_str().unwrap()]).trim().to_owned());
    }
    for id in &ids[..8] {
        assert_eq!(cores_of(&d, id), 3, "job {id} took the second shape");
    }
    assert_eq!(
        cores_of(&d, &ids[8]),
        1,
        "the ninth fits only the third shape"
    );
    // No shape can ever be met: refused at submit with the reason.
    let never = dir.0.join("never.yaml");
    std::fs::write(&never, NEVER).unwrap();
    let out = d.ctl(&["submit", never.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("core") || err.contains("gpu"),
        "the reason is named: {err}"
    );
    d.stop();
}

#[test]
fn without_the_flexible_traverser_sibling_slots_are_not_alternatives() {
    let dir = TempDir::new("simple");
    let recipe = four_nodes();
    let d = start(&dir.0, &args(recipe.to_str().unwrap(), "simple"));
    let js = dir.0.join("alt.yaml");
    std::fs::write(&js, ALTERNATIVES).unwrap();
    // The simple traverser does not try the shapes in turn: the jobspec
    // is refused as a whole.
    let out = d.ctl(&["submit", js.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unsatisfiable"), "{err}");
    d.stop();
}
