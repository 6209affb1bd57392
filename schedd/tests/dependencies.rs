//! Job dependencies (RFC 26) on the instance without the daemon, on a
//! simulated clock: each scheme's release and failure, the checks at
//! submit, singletons, long chains, and a restart with jobs waiting.
//!
//! The graph is `tests/data/four.yaml`: four nodes of four cores and a GPU.
use std::path::PathBuf;

use schedd::clock::SimClock;
use schedd::executor::{Executor, Exit, Launch, SimExecutor, StartError};
use schedd::instance::{Config, EventKind, Instance, InstanceError, JobId, JobState};
use schedd::journal::Journal;

const ALICE: u32 = 42_001;
const BOB: u32 = 42_002;
const T0: i64 = 1_000;

fn build(exec: Box<dyn Executor>, journal: Option<Journal>) -> Instance {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/four.yaml");
    let graph = resource_graph::load_grug(&p).expect("fixture graph");
    Instance::new(
        graph,
        "grug four.yaml".into(),
        Config::default(),
        Box::new(SimClock::new(T0)),
        exec,
        journal,
    )
    .expect("instance")
}

fn sim() -> Instance {
    build(Box::new(SimExecutor), None)
}

/// An executor whose jobs end only when the test says (`exec_done`).
struct Manual;

impl Executor for Manual {
    fn name(&self) -> &'static str {
        "local"
    }
    fn start(&mut self, _launch: Launch) -> Result<(), StartError> {
        Ok(())
    }
    fn kill(&mut self, _job_id: u64) {}
    fn ends_by_duration(&self) -> bool {
        false
    }
}

/// `cores` one-core slots for `duration` seconds, with dependencies
/// (RFC 26 URIs).
fn job(cores: u32, duration: u64, deps: &[&str]) -> String {
    let deps: Vec<String> = deps
        .iter()
        .map(|d| {
            let (scheme, value) = d.split_once(':').unwrap_or((d, ""));
            format!("{{scheme: {scheme}, value: '{value}'}}")
        })
        .collect();
    format!(
        "version: 9999
resources:
  - type: slot
    count: {cores}
    label: task
    with:
      - {{type: core, count: 1}}
attributes:
  system:
    duration: {duration}
    dependencies: [{}]
tasks:
  - command: [app]
    slot: task
    count: {{per_slot: 1}}
",
        deps.join(", ")
    )
}

fn state(i: &Instance, id: JobId) -> JobState {
    i.job(id).expect("job").state
}

fn reason(i: &Instance, id: JobId) -> String {
    i.job(id).expect("job").reason.clone()
}

fn run(i: &mut Instance) {
    while i.schedule(usize::MAX) {}
}

fn exit(i: &mut Instance, id: JobId, code: i32) {
    i.exec_done(Exit {
        job_id: id,
        code,
        detail: String::new(),
    });
}

#[test]
fn an_afterok_chain_runs_in_order() {
    let mut i = sim();
    let a = i.submit(ALICE, "", &job(1, 10, &[])).unwrap();
    let b = i.submit(ALICE, "", &job(1, 10, &["afterok:1"])).unwrap();
    let c = i.submit(ALICE, "", &job(1, 10, &["afterok:2"])).unwrap();
    run(&mut i);
    assert_eq!(
        [state(&i, a), state(&i, b), state(&i, c)],
        [JobState::Running, JobState::Depend, JobState::Depend]
    );
    assert_eq!(
        reason(&i, b),
        "waiting for job 1 to finish successfully (afterok:1)"
    );
    assert_eq!(i.stats().depend, 2);
    i.take_events();
    i.advance(10).unwrap();
    assert_eq!(
        [state(&i, a), state(&i, b), state(&i, c)],
        [JobState::Finished, JobState::Running, JobState::Depend]
    );
    assert_eq!(i.job(b).unwrap().start_time, T0 + 10);
    assert!(reason(&i, b).is_empty());
    let ev = i.take_events();
    let depend = ev.iter().find(|e| e.kind == EventKind::Depend).unwrap();
    assert_eq!((depend.job_id, depend.state), (b, JobState::Pending));
    i.advance(10).unwrap();
    assert_eq!(state(&i, c), JobState::Running);
    assert_eq!(i.job(c).unwrap().start_time, T0 + 20);
    assert_eq!(i.stats().depend, 0);
}

#[test]
fn a_failed_job_ends_what_needs_it_to_succeed_and_frees_the_rest() {
    let mut i = build(Box::new(Manual), None);
    let a = i.submit(ALICE, "", &job(1, 100, &[])).unwrap();
    let ok = i.submit(ALICE, "", &job(1, 100, &["afterok:1"])).unwrap();
    let next = i.submit(ALICE, "", &job(1, 100, &["afterok:2"])).unwrap();
    let notok = i
        .submit(ALICE, "", &job(1, 100, &["afternotok:1"]))
        .unwrap();
    let any = i
        .submit(ALICE, "", &job(1, 100, &["afterany:1", "afterstart:1"]))
        .unwrap();
    run(&mut i);
    assert_eq!(state(&i, a), JobState::Running);
    // afterstart:1 is met, afterany:1 is not yet.
    assert_eq!(state(&i, any), JobState::Depend);
    assert_eq!(reason(&i, any), "waiting for job 1 to end (afterany:1)");
    exit(&mut i, a, 1);
    run(&mut i);
    assert_eq!(state(&i, ok), JobState::Failed);
    assert_eq!(
        reason(&i, ok),
        "dependency afterok:1 can never be met: job 1 failed (exit status 1)"
    );
    // The failure goes on down the chain.
    assert_eq!(state(&i, next), JobState::Failed);
    assert!(
        reason(&i, next)
            == "dependency afterok:2 can never be met: job 2 failed on a dependency of its own",
        "{}",
        reason(&i, next)
    );
    assert_eq!(state(&i, notok), JobState::Running);
    assert_eq!(state(&i, any), JobState::Running);
    // afternotok on a job that succeeds can never be met.
    let good = i.submit(ALICE, "", &job(1, 100, &[])).unwrap();
    let wrong = i
        .submit(ALICE, "", &job(1, 100, &[&format!("afternotok:{good}")]))
        .unwrap();
    run(&mut i);
    exit(&mut i, good, 0);
    assert_eq!(state(&i, wrong), JobState::Failed);
    assert_eq!(
        reason(&i, wrong),
        format!("dependency afternotok:{good} can never be met: job {good} finished successfully")
    );
}

#[test]
fn afterstart_waits_for_the_start_and_fails_when_there_is_none() {
    let mut i = sim();
    let big = i.submit(ALICE, "", &job(16, 50, &[])).unwrap();
    let a = i.submit(ALICE, "", &job(1, 10, &[])).unwrap();
    let b = i
        .submit(ALICE, "", &job(1, 10, &[&format!("afterstart:{a}")]))
        .unwrap();
    let never = i.submit(ALICE, "", &job(1, 10, &[])).unwrap();
    let c = i
        .submit(ALICE, "", &job(1, 10, &[&format!("after:{never}")]))
        .unwrap();
    run(&mut i);
    assert_eq!(state(&i, big), JobState::Running);
    assert_eq!(state(&i, b), JobState::Depend);
    i.cancel(ALICE, never).unwrap();
    assert_eq!(state(&i, c), JobState::Failed);
    assert_eq!(
        reason(&i, c),
        format!(
            "dependency afterstart:{never} can never be met: job {never} ended without starting"
        )
    );
    i.advance(50).unwrap();
    assert_eq!(state(&i, a), JobState::Running);
    // b starts with a, not after it.
    assert_eq!(state(&i, b), JobState::Running);
    assert_eq!(i.job(b).unwrap().start_time, T0 + 50);
}

#[test]
fn a_job_that_already_ended_is_judged_at_submit() {
    let mut i = sim();
    let done = i.submit(ALICE, "", &job(1, 5, &[])).unwrap();
    let gone = i.submit(ALICE, "", &job(1, 5, &[])).unwrap();
    i.cancel(ALICE, gone).unwrap();
    i.advance(5).unwrap();
    assert_eq!(state(&i, done), JobState::Finished);
    let go = i
        .submit(ALICE, "", &job(1, 5, &[&format!("afterok:{done}")]))
        .unwrap();
    assert_eq!(state(&i, go), JobState::Pending);
    let no = i
        .submit(ALICE, "", &job(1, 5, &[&format!("afterok:{gone}")]))
        .unwrap();
    assert_eq!(state(&i, no), JobState::Failed);
    assert_eq!(
        reason(&i, no),
        format!("dependency afterok:{gone} can never be met: job {gone} was canceled")
    );
    let yes = i
        .submit(ALICE, "", &job(1, 5, &[&format!("afternotok:{gone}")]))
        .unwrap();
    assert_eq!(state(&i, yes), JobState::Pending);
}

#[test]
fn bad_dependencies_are_refused_and_change_nothing() {
    let mut i = sim();
    let bobs = i.submit(BOB, "", &job(1, 5, &[])).unwrap();
    let before = i.stats();
    let e = i
        .submit(ALICE, "", &job(1, 5, &["afterok:99"]))
        .unwrap_err();
    assert_eq!(
        e,
        InstanceError::BadRequest("dependency afterok:99: job 99: there is no such job".into())
    );
    let e = i
        .submit(ALICE, "", &job(1, 5, &[&format!("afterany:{bobs}")]))
        .unwrap_err();
    assert!(
        matches!(&e, InstanceError::PermissionDenied(m) if m.contains(&format!("belongs to uid {BOB}"))),
        "{e:?}"
    );
    let e = i.submit(ALICE, "", &job(1, 5, &["singleton"])).unwrap_err();
    assert!(
        matches!(&e, InstanceError::BadRequest(m) if m.contains("needs a name")),
        "{e:?}"
    );
    let e = i
        .submit(ALICE, "", &job(1, 5, &["afterall:1"]))
        .unwrap_err();
    assert!(
        matches!(&e, InstanceError::BadRequest(m) if m.contains("attributes.system.dependencies[0].scheme: unknown scheme 'afterall'")),
        "{e:?}"
    );
    assert_eq!(i.stats(), before);
    // The id was not used up.
    assert_eq!(i.submit(ALICE, "", &job(1, 5, &[])).unwrap(), bobs + 1);
}

#[test]
fn singletons_of_one_name_run_one_at_a_time() {
    let mut i = sim();
    let s = |i: &mut Instance, owner| i.submit(owner, "s", &job(1, 10, &["singleton"])).unwrap();
    let (a, b, c) = (s(&mut i, ALICE), s(&mut i, ALICE), s(&mut i, ALICE));
    let other = s(&mut i, BOB);
    run(&mut i);
    assert_eq!(
        [state(&i, a), state(&i, b), state(&i, c), state(&i, other)],
        [
            JobState::Running,
            JobState::Depend,
            JobState::Depend,
            JobState::Running
        ]
    );
    i.advance(10).unwrap();
    assert_eq!(
        [state(&i, a), state(&i, b), state(&i, c)],
        [JobState::Finished, JobState::Running, JobState::Depend]
    );
    // Canceling the one waiting changes nothing for the one running.
    i.cancel(ALICE, c).unwrap();
    let d = s(&mut i, ALICE);
    assert_eq!(state(&i, d), JobState::Depend);
    i.advance(10).unwrap();
    assert_eq!(state(&i, d), JobState::Running);
}

#[test]
fn a_long_chain_fails_through_without_recursion() {
    let mut i = sim();
    let head = i.submit(ALICE, "", &job(1, 100, &[])).unwrap();
    let n = 20_000;
    let mut last = head;
    i.journal_begin();
    for _ in 0..n {
        last = i
            .submit(ALICE, "", &job(1, 1, &[&format!("afterok:{last}")]))
            .unwrap();
    }
    assert_eq!(i.stats().depend, n);
    i.cancel(ALICE, head).unwrap();
    assert_eq!(i.stats().depend, 0);
    assert_eq!(state(&i, last), JobState::Failed);
}

#[test]
fn jobs_waiting_at_a_restart_wait_again() {
    let dir = std::env::temp_dir().join(format!("schedd-depend-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let journal = || Some(Journal::open(&dir).unwrap());
    let (a, b, c, d);
    {
        let mut i = build(Box::new(SimExecutor), journal());
        a = i.submit(ALICE, "", &job(1, 100, &[])).unwrap();
        b = i.submit(ALICE, "", &job(1, 10, &["afterok:1"])).unwrap();
        c = i.submit(ALICE, "", &job(1, 10, &["afterany:2"])).unwrap();
        let x = i.submit(ALICE, "", &job(1, 10, &[])).unwrap();
        d = i
            .submit(ALICE, "", &job(1, 10, &[&format!("afterok:{x}")]))
            .unwrap();
        run(&mut i);
        i.cancel(ALICE, x).unwrap();
        assert_eq!(state(&i, d), JobState::Failed);
    }
    let mut i = build(Box::new(SimExecutor), journal());
    assert_eq!(state(&i, a), JobState::Running);
    assert_eq!(
        [state(&i, b), state(&i, c)],
        [JobState::Depend, JobState::Depend]
    );
    assert_eq!(reason(&i, c), "waiting for job 2 to end (afterany:2)");
    assert_eq!(state(&i, d), JobState::Failed);
    assert_eq!(i.stats().depend, 2);
    i.advance(100).unwrap();
    assert_eq!(state(&i, b), JobState::Running);
    i.advance(10).unwrap();
    assert_eq!(state(&i, c), JobState::Running);
    let _ = std::fs::remove_dir_all(&dir);
}
