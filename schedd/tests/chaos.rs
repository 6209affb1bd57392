//! Chaos: concurrent submitters and cancellers against a real schedd on a
//! real socket, killed with SIGKILL at random moments and restarted on
//! the same state directory. After every restart:
//!
//! - every acknowledged submit is there exactly once, by its id and with
//!   its name, and no id was ever handed out twice;
//! - every acknowledged cancel held (the job is CANCELED);
//! - no core is in the R of two running jobs, and the cores the graph
//!   holds are exactly those the running jobs' R name.
//!
//! `QUIVER_CHAOS_CYCLES` sets the number of kill -9 cycles (default 5, the
//! short run of `cargo test`; `make chaos` runs 100) and
//! `QUIVER_CHAOS_SEED` the seed (default from the clock; printed, so a
//! failure can be replayed).
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use resource_graph::rv1exec::RSet;

/// Submitting threads, each with its own job names.
const SUBMITTERS: u64 = 3;

/// A small xorshift generator: the test needs reproducible randomness,
/// not a crate.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the clients were told: the acknowledged part of the history.
#[derive(Default)]
struct Acked {
    /// Job id -> the name it was submitted with.
    submits: BTreeMap<u64, String>,
    /// Ids whose cancel was acknowledged.
    cancels: BTreeSet<u64>,
    /// Anything that broke an invariant on the client side.
    errors: Vec<String>,
}

fn ctl(uri: &str, args: &[&str]) -> std::process::Output {
    Command::new(SCHEDCTL)
        .arg("--uri")
        .arg(uri)
        .args(args)
        .output()
        .expect("schedctl runs")
}

/// One submitter: submits (and now and then cancels one of its own jobs)
/// until `stop`, recording only what was acknowledged.
fn submitter(uri: String, who: u64, seed: u64, stop: Arc<AtomicBool>, acked: Arc<Mutex<Acked>>) {
    let mut rng = Rng::new(seed ^ (who + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut seq = 0u64;
    let mut mine: Vec<u64> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        if !mine.is_empty() && rng.below(5) == 0 {
            let id = mine[rng.below(mine.len() as u64) as usize];
            let out = ctl(&uri, &["cancel", &id.to_string()]);
            if out.status.success() {
                acked.lock().unwrap().cancels.insert(id);
            }
            continue;
        }
        seq += 1;
        let name = format!("s{who}-{seq}");
        let n = (1 + rng.below(4)).to_string();
        let t = (1 + rng.below(3)).to_string();
        let out = ctl(
            &uri,
            &["submit", "-n", &n, "-t", &t, "--name", &name, "--", "true"],
        );
        if !out.status.success() {
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let Ok(id) = text.trim().parse::<u64>() else {
            acked
                .lock()
                .unwrap()
                .errors
                .push(format!("submit {name} answered {text:?}"));
            continue;
        };
        let mut a = acked.lock().unwrap();
        if let Some(old) = a.submits.insert(id, name.clone()) {
            a.errors
                .push(format!("id {id} given to both {old} and {name}"));
        }
        mine.push(id);
    }
}

/// The (rank, core) pairs an R names.
fn cores_of(r: &str) -> BTreeSet<(u32, u32)> {
    let set = RSet::parse(r, "a job's R").expect("R parses");
    let mut out = BTreeSet::new();
    for rank in &set.ranks {
        for (typ, ids) in &rank.children {
            if typ == "core" {
                out.extend(ids.iter().map(|id| (rank.rank, id)));
            }
        }
    }
    out
}

/// The R printed by `schedctl info`: everything after its `R:` line.
fn r_of_info(info: &str) -> Option<String> {
    let at = info.find("\nR:\n")?;
    let r = info[at + 4..].trim();
    (!r.is_empty() && r != "-").then(|| r.to_owned())
}

/// Check every invariant against the daemon as it is now (nothing else
/// talks to it meanwhile). Returns the cores running jobs hold.
fn check(d: &Daemon, acked: &Acked, cycle: u64) -> usize {
    assert!(acked.errors.is_empty(), "cycle {cycle}: {:?}", acked.errors);
    let jobs: serde_json::Value =
        serde_json::from_str(&d.ok(&["jobs", "--json"])).expect("jobs --json is JSON");
    let jobs = jobs.as_array().expect("a list");
    let mut seen: BTreeMap<u64, (String, String)> = BTreeMap::new();
    for j in jobs {
        let id = j["job_id"].as_u64().expect("job_id");
        let name = j["name"].as_str().unwrap_or_default().to_owned();
        let state = j["state"].as_str().unwrap_or_default().to_owned();
        assert!(
            seen.insert(id, (name, state)).is_none(),
            "cycle {cycle}: job {id} listed twice"
        );
    }
    for (id, name) in &acked.submits {
        let Some((got, state)) = seen.get(id) else {
            panic!("cycle {cycle}: acknowledged job {id} ({name}) is gone");
        };
        assert_eq!(got, name, "cycle {cycle}: job {id}'s name");
        if acked.cancels.contains(id) {
            assert_eq!(state, "CANCELED", "cycle {cycle}: job {id} was canceled");
        }
    }
    // No core in two running jobs; the graph holds exactly their cores.
    // Jobs end and start meanwhile (the clock is the wall's), so the
    // count is compared only when the graph held the same vertices
    // before and after the jobs were read; the first check holds always.
    for _ in 0..20 {
        let before = d.ok(&["find", "sched-now=allocated"]);
        let held = running_cores(d, cycle);
        let after = d.ok(&["find", "sched-now=allocated"]);
        if before == after {
            let allocated = before.lines().filter(|l| l.contains("core")).count();
            assert_eq!(
                allocated,
                held.len(),
                "cycle {cycle}: the graph holds {allocated} cores, running jobs' R name {}",
                held.len()
            );
            return held.len();
        }
    }
    eprintln!("chaos: cycle {cycle}: the graph never held still; count not compared");
    0
}

/// The cores of every running job's R, none in two.
fn running_cores(d: &Daemon, cycle: u64) -> BTreeMap<(u32, u32), u64> {
    let jobs: serde_json::Value =
        serde_json::from_str(&d.ok(&["jobs", "--json", "--state", "running"])).expect("JSON");
    let mut held: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    for j in jobs.as_array().expect("a list") {
        let id = j["job_id"].as_u64().expect("job_id");
        let out = d.ctl(&["info", &id.to_string()]);
        if !out.status.success() {
            continue;
        }
        let info = String::from_utf8_lossy(&out.stdout);
        let Some(r) = r_of_info(&info) else {
            continue;
        };
        for core in cores_of(&r) {
            if let Some(other) = held.insert(core, id) {
                panic!("cycle {cycle}: core {core:?} is in jobs {other} and {id}");
            }
        }
    }
    held
}

#[test]
fn kill_9_under_load_loses_duplicates_and_double_books_nothing() {
    let cycles: u64 = std::env::var("QUIVER_CHAOS_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let seed: u64 = std::env::var("QUIVER_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("chaos: {cycles} cycles, QUIVER_CHAOS_SEED={seed}");
    let dir = TempDir::new("chaos");
    let recipe = four_nodes();
    let args = [
        "--grug",
        recipe.to_str().unwrap(),
        "--executor",
        "sim",
        "--keep-ended",
        "1000000",
    ];
    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let mut max_held = 0;
    for cycle in 0..cycles {
        let d = start(&dir.0, &args);
        max_held = max_held.max(check(&d, &acked.lock().unwrap(), cycle));
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..SUBMITTERS)
            .map(|who| {
                let (uri, stop, acked) = (d.uri(), stop.clone(), acked.clone());
                let s = seed.wrapping_add(cycle);
                thread::spawn(move || submitter(uri, who, s, stop, acked))
            })
            .collect();
        // SIGKILL at a random moment under load.
        thread::sleep(Duration::from_millis(50 + rng.below(500)));
        d.kill9();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("a submitter");
        }
    }
    let d = start(&dir.0, &args);
    let a = acked.lock().unwrap();
    check(&d, &a, cycles);
    eprintln!(
        "chaos: {cycles} kill -9 cycles in {:.1?}: {} jobs acknowledged, {} cancels, \
         at most {max_held} cores held at a restart",
        started.elapsed(),
        a.submits.len(),
        a.cancels.len()
    );
    assert!(
        a.submits.len() as u64 >= cycles && (cycles < 3 || max_held > 0),
        "too little went in to prove anything"
    );
    d.stop();
}
