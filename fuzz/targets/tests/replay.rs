//! Corpus replay: every file under `fuzz/corpus/<target>/` goes through
//! its target, as the fuzzer ran it, without instrumentation. No input may
//! panic or take longer than [`LIMIT`]; CI runs this, and never fuzzes.
//! A finding of the fuzzer joins its target's corpus with its fix, named
//! for what it did, so that it stays fixed.
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use quiver_fuzz_targets::{Target, TARGETS};

/// Longest one input may take: a hang is a failure.
const LIMIT: Duration = Duration::from_secs(5);

/// The stack the AFL binaries run on (a process's main thread), so that a
/// deeply nested input the fuzzer kept does not overflow a test thread's
/// smaller one.
const STACK: usize = 8 << 20;

fn fuzz_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(sub)
}

/// The files of one target's folder, sorted; none when it is missing.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.expect("a readable folder entry").path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// Run one input on a thread of its own; `Err` says how it failed.
fn run_one(target: Target, path: &Path) -> Result<Duration, String> {
    let data = std::fs::read(path).map_err(|e| format!("unreadable: {e}"))?;
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    let worker = thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            target(&data);
            // The receiver may have given up after LIMIT.
            let _ = tx.send(());
        })
        .map_err(|e| format!("no thread: {e}"))?;
    match rx.recv_timeout(LIMIT) {
        Ok(()) => {
            let took = start.elapsed();
            worker.join().map_err(|_| "panicked".to_owned())?;
            Ok(took)
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!("still running after {LIMIT:?}")),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The sender went without sending: the target panicked.
            let _ = worker.join();
            Err("panicked".to_owned())
        }
    }
}

/// Replay every target's files under `fuzz/<sub>/`; returns the failures.
fn replay(sub: &str) -> Vec<String> {
    let mut failures = Vec::new();
    for &(name, target) in TARGETS {
        let files = inputs(&fuzz_dir(sub).join(name));
        if files.is_empty() {
            failures.push(format!("fuzz/{sub}/{name}/: no inputs"));
        }
        let mut slowest = Duration::ZERO;
        for path in &files {
            match run_one(target, path) {
                Ok(took) => slowest = slowest.max(took),
                Err(why) => failures.push(format!("{}: {why}", path.display())),
            }
        }
        eprintln!(
            "replay {sub}/{name}: {} inputs, slowest {slowest:?}",
            files.len()
        );
    }
    failures
}

#[test]
fn every_corpus_input_runs_cleanly() {
    let failures = replay("corpus");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_corpus_folder_names_a_target() {
    for entry in std::fs::read_dir(fuzz_dir("corpus")).expect("fuzz/corpus exists") {
        let name = entry.expect("a readable folder entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            TARGETS.iter().any(|&(t, _)| t == name),
            "fuzz/corpus/{name} names no target"
        );
    }
}
