//! Property test: replaying the journal rebuilds the same state. A random
//! history of submits, cancels, direct matches, status changes and time
//! runs on an instance with a journal (on real SQLite, in a temporary
//! directory); a second instance opened on that journal must then show
//! the same jobs (ids, owners, states, times, the R of what runs) and
//! hold the same resources, and after more steps on the second, a third
//! must show what the second did.
use std::path::PathBuf;

use matcher::MatchOp;
use proptest::prelude::*;
use schedd::clock::SimClock;
use schedd::executor::SimExecutor;
use schedd::instance::{Config, Instance, JobState};
use schedd::journal::Journal;
use schedd::queue::QueuePolicy;

const T0: i64 = 1_000;
const OWNERS: [u32; 2] = [42_001, 42_002];

fn graph() -> resource_graph::ResourceGraph {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/four.yaml");
    resource_graph::load_grug(&p).expect("fixture graph")
}

fn build(policy: QueuePolicy, journal: Journal, now: i64) -> Instance {
    let cfg = Config {
        queue_policy: policy,
        ..Config::default()
    };
    Instance::new(
        graph(),
        "grug four.yaml".into(),
        cfg,
        Box::new(SimClock::new(now)),
        Box::new(SimExecutor),
        Some(journal),
    )
    .expect("instance")
}

/// `cores` one-core slots for `duration` seconds.
fn cores(cores: u32, duration: u64) -> String {
    format!(
        "version: 9999\nresources: [{{type: slot, count: {cores}, label: task, \
         with: [{{type: core, count: 1}}]}}]\n\
         attributes: {{system: {{duration: {duration}}}}}\n\
         tasks: [{{command: [app], slot: task, count: {{per_slot: 1}}}}]\n"
    )
}

#[derive(Debug, Clone)]
enum Op {
    Submit {
        owner: usize,
        cores: u32,
        secs: u64,
    },
    /// Cancel the job at this position among those known (its owner asks).
    Cancel(usize),
    /// A direct match, as `schedctl match allocate` books.
    Match {
        cores: u32,
        secs: u64,
    },
    /// Take a node down or bring it back.
    Status {
        node: u8,
        up: bool,
    },
    Advance(i64),
    /// Run the scheduler over the queue.
    Schedule,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..2, 1u32..=10, 1u64..=200)
            .prop_map(|(owner, cores, secs)| Op::Submit { owner, cores, secs }),
        2 => any::<usize>().prop_map(Op::Cancel),
        1 => (1u32..=6, 1u64..=200).prop_map(|(cores, secs)| Op::Match { cores, secs }),
        1 => (0u8..4, any::<bool>()).prop_map(|(node, up)| Op::Status { node, up }),
        2 => (1i64..=120).prop_map(Op::Advance),
        2 => Just(Op::Schedule),
    ]
}

/// Per job: id, owner, name, state, start, end, R while it runs, booked
/// by a match. Not a pending job's reservation: that is a plan, not
/// journaled, and a conservative queue keeps the plans it made earlier
/// where a replay plans them all at once (and may find earlier starts).
type JobView = (u64, u32, String, JobState, i64, i64, String, bool);

/// What the journal holds: the jobs and what they hold, as they are (no
/// scheduling pass first: which pending job the next pass starts is a
/// decision not yet taken, so not a state the journal must keep).
fn snapshot(i: &mut Instance) -> (Vec<JobView>, String) {
    let jobs = i
        .jobs()
        .map(|j| {
            let running = j.state == JobState::Running;
            (
                j.id,
                j.owner,
                j.name.clone(),
                j.state,
                j.start_time,
                j.end_time,
                if running { j.r.clone() } else { String::new() },
                j.by_match(),
            )
        })
        .collect();
    let (held, _) = i.find("sched-now=allocated", "simple").unwrap();
    (jobs, held)
}

fn apply(i: &mut Instance, op: &Op) {
    match op {
        Op::Submit {
            owner,
            cores: n,
            secs,
        } => {
            let _ = i.submit(OWNERS[*owner], &format!("j{n}"), &cores(*n, *secs));
        }
        Op::Cancel(k) => {
            let ids: Vec<(u64, u32)> = i.jobs().map(|j| (j.id, j.owner)).collect();
            if !ids.is_empty() {
                let (id, owner) = ids[k % ids.len()];
                let _ = i.cancel(owner, id);
            }
        }
        Op::Match { cores: n, secs } => {
            let owner = i.owner();
            let _ = i.match_op(owner, &cores(*n, *secs), MatchOp::Allocate, "");
        }
        Op::Status { node, up } => {
            let owner = i.owner();
            let _ = i.set_status(owner, &format!("/four0/node{node}"), *up);
        }
        Op::Advance(secs) => {
            let _ = i.advance(*secs);
        }
        Op::Schedule => while i.schedule(usize::MAX) {},
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn replaying_the_journal_rebuilds_the_same_state(
        policy in prop::sample::select(vec![QueuePolicy::Fcfs, QueuePolicy::Easy, QueuePolicy::Conservative]),
        history in prop::collection::vec((op(), any::<bool>()), 1..40),
        after in prop::collection::vec(op(), 0..10),
        case in any::<u64>(),
    ) {
        let dir = TempDir(std::env::temp_dir().join(format!(
            "schedd-journal-props-{}-{case}", std::process::id()
        )));
        let _ = std::fs::remove_dir_all(&dir.0);
        let journal = || Journal::open(&dir.0).expect("journal opens");
        let mut first = build(policy, journal(), T0);
        // Some steps in a batch (one transaction), some on their own.
        let mut in_batch = false;
        for (op, batch) in &history {
            if *batch && !in_batch {
                first.journal_begin();
                in_batch = true;
            }
            apply(&mut first, op);
            if !*batch && in_batch {
                first.journal_commit().expect("commit");
                in_batch = false;
            }
        }
        if in_batch {
            first.journal_commit().expect("commit");
        }
        let now = first.now();
        let before = snapshot(&mut first);
        drop(first);
        let mut second = build(policy, journal(), now);
        prop_assert_eq!(&snapshot(&mut second), &before);
        // The replayed instance goes on from there: its own further
        // steps are journaled after the first's, and a replay of the
        // whole rebuilds what it showed.
        for op in &after {
            apply(&mut second, op);
        }
        let now = second.now();
        let later = snapshot(&mut second);
        drop(second);
        let mut third = build(policy, journal(), now);
        prop_assert_eq!(&snapshot(&mut third), &later);
    }
}
