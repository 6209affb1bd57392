//! The instance without the daemon: queue policies, job lives, errors and
//! journal replay, on a simulated clock (no test sleeps or times).
//!
//! The graph is `tests/data/four.yaml`: four nodes of four cores and a GPU.
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use matcher::MatchOp;
use schedd::clock::{Clock, SimClock, WallClock};
use schedd::executor::{Executor, Exit, Launch, SimExecutor, StartError};
use schedd::instance::{
    Config, EventKind, Instance, InstanceError, JobId, JobState, ResourceFilter,
};
use schedd::journal::Journal;
use schedd::queue::QueuePolicy;

/// Job owners: neither is root nor (in any sane test run) the instance owner.
const ALICE: u32 = 42_001;
const BOB: u32 = 42_002;
const T0: i64 = 1_000;

fn graph() -> resource_graph::ResourceGraph {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/four.yaml");
    resource_graph::load_grug(&p).expect("fixture graph")
}

fn config(policy: QueuePolicy) -> Config {
    Config {
        queue_policy: policy,
        ..Config::default()
    }
}

fn instance(policy: QueuePolicy) -> Instance {
    build(config(policy), Box::new(SimExecutor), None, T0)
}

fn build(cfg: Config, exec: Box<dyn Executor>, journal: Option<Journal>, now: i64) -> Instance {
    Instance::new(
        graph(),
        "grug four.yaml".into(),
        cfg,
        Box::new(SimClock::new(now)),
        exec,
        journal,
    )
    .expect("instance")
}

/// `cores` one-core slots for `duration` seconds, one task per slot.
fn cores(cores: u32, duration: u64) -> String {
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
tasks:
  - command: [app]
    slot: task
    count: {{per_slot: 1}}
"
    )
}

fn state(i: &Instance, id: JobId) -> JobState {
    i.job(id).expect("job").state
}

fn schedule_all(i: &mut Instance) {
    while i.schedule(usize::MAX) {}
}

/// Cores held now, per `find`.
fn cores_held(i: &mut Instance) -> u64 {
    let (text, _) = i.find("sched-now=allocated", "simple").unwrap();
    text.lines().filter(|l| l.contains("core")).count() as u64
}

#[test]
fn a_job_is_allocated_started_and_finished_when_its_time_is_up() {
    let mut i = instance(QueuePolicy::Fcfs);
    let id = i.submit(ALICE, "one", &cores(2, 10)).unwrap();
    assert_eq!(id, 1);
    assert_eq!(state(&i, id), JobState::Pending);
    assert!(!i.schedule(16));
    let j = i.job(id).unwrap().clone();
    assert_eq!(j.state, JobState::Running);
    assert_eq!((j.start_time, j.end_time), (T0, T0 + 10));
    assert!(
        j.r.contains("R_lite") && j.r.contains("\"starttime\": 1000"),
        "{}",
        j.r
    );
    assert_eq!(i.next_deadline(), Some(T0 + 10));
    assert_eq!(cores_held(&mut i), 2);
    let kinds: Vec<EventKind> = i.take_events().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Submit,
            EventKind::Depend,
            EventKind::Alloc,
            EventKind::Start
        ]
    );
    assert_eq!(i.advance(9).unwrap(), T0 + 9);
    assert_eq!(state(&i, id), JobState::Running);
    i.advance(1).unwrap();
    let j = i.job(id).unwrap();
    assert_eq!((j.state, j.end_time), (JobState::Finished, T0 + 10));
    assert_eq!(cores_held(&mut i), 0);
    let ev = i.take_events();
    assert_eq!(
        (ev.len(), ev[0].kind, ev[0].time),
        (1, EventKind::Finish, T0 + 10)
    );
    let s = i.stats();
    assert_eq!(
        (
            s.pending,
            s.running,
            s.finished,
            s.submitted_total,
            s.allocated_total,
            s.released_total
        ),
        (0, 0, 1, 1, 1, 1)
    );
    assert!(!s.match_us.is_empty());
}

#[test]
fn cancel_ends_pending_and_running_jobs_and_frees_resources() {
    let mut i = instance(QueuePolicy::Fcfs);
    let big = i.submit(ALICE, "", &cores(16, 100)).unwrap();
    let next = i.submit(ALICE, "", &cores(16, 100)).unwrap();
    let last = i.submit(ALICE, "", &cores(1, 100)).unwrap();
    schedule_all(&mut i);
    assert_eq!(
        [state(&i, big), state(&i, next), state(&i, last)],
        [JobState::Running, JobState::Pending, JobState::Pending]
    );
    i.take_events();
    assert_eq!(i.cancel(ALICE, last), Ok(JobState::Pending));
    assert_eq!(state(&i, last), JobState::Canceled);
    assert_eq!(i.cancel(ALICE, big), Ok(JobState::Running));
    let j = i.job(big).unwrap();
    assert_eq!((j.state, j.end_time), (JobState::Canceled, T0));
    assert!(j.reason.contains(&ALICE.to_string()), "{}", j.reason);
    let kinds: Vec<EventKind> = i.take_events().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Cancel, EventKind::Cancel]);
    // What the canceled job held is free again: the next one starts.
    schedule_all(&mut i);
    assert_eq!(state(&i, next), JobState::Running);
    assert_eq!(cores_held(&mut i), 16);
    let e = i.cancel(ALICE, big).unwrap_err();
    assert!(matches!(e, InstanceError::Ended(_)), "{e:?}");
}

#[test]
fn fcfs_stops_at_a_blocked_head() {
    let mut i = instance(QueuePolicy::Fcfs);
    let a = i.submit(ALICE, "", &cores(12, 100)).unwrap();
    let b = i.submit(ALICE, "", &cores(16, 100)).unwrap();
    let c = i.submit(ALICE, "", &cores(1, 10)).unwrap();
    assert!(!i.schedule(64));
    assert_eq!(state(&i, a), JobState::Running);
    // c would fit in the 4 free cores, but b is first.
    assert_eq!([state(&i, b), state(&i, c)], [JobState::Pending; 2]);
    assert_eq!(i.job(b).unwrap().reserved_at, 0);
    // Nothing changed: passes end at the head without trying anything.
    let tried = i.stats().match_us.len();
    let d = i.submit(ALICE, "", &cores(2, 10)).unwrap();
    let tried_after_submit = i.stats().match_us.len();
    for _ in 0..3 {
        assert!(!i.schedule(64));
    }
    assert_eq!(i.stats().match_us.len(), tried_after_submit);
    assert_eq!(
        tried_after_submit,
        tried + 1,
        "only the satisfiability check"
    );
    // A request of a shape already known to be satisfiable skips the walk.
    let e = i.submit(ALICE, "", &cores(2, 10)).unwrap();
    assert_eq!(i.stats().match_us.len(), tried_after_submit);
    assert_eq!(state(&i, d), JobState::Pending);
    assert_eq!(state(&i, e), JobState::Pending);
    // a ends at T0+100: b starts then, and c and d fit beside it? No: b
    // takes all 16 cores; they start when b ends.
    i.advance(100).unwrap();
    assert_eq!(state(&i, b), JobState::Running);
    assert_eq!(i.job(b).unwrap().start_time, T0 + 100);
    assert_eq!([state(&i, c), state(&i, d)], [JobState::Pending; 2]);
    i.advance(100).unwrap();
    assert_eq!([state(&i, c), state(&i, d)], [JobState::Running; 2]);
    assert_eq!(i.job(c).unwrap().start_time, T0 + 200);
}

#[test]
fn easy_backfills_a_short_job_without_delaying_the_reservation() {
    let mut i = instance(QueuePolicy::Easy);
    let a = i.submit(ALICE, "", &cores(12, 100)).unwrap();
    let b = i.submit(ALICE, "", &cores(16, 100)).unwrap();
    let short = i.submit(ALICE, "", &cores(4, 50)).unwrap();
    let long = i.submit(ALICE, "", &cores(4, 200)).unwrap();
    schedule_all(&mut i);
    assert_eq!(state(&i, a), JobState::Running);
    let jb = i.job(b).unwrap();
    assert_eq!((jb.state, jb.reserved_at), (JobState::Pending, T0 + 100));
    assert!(jb.reason.contains("reserved"), "{}", jb.reason);
    assert!(i
        .take_events()
        .iter()
        .any(|e| e.job_id == b && e.kind == EventKind::Reserve && e.at == T0 + 100));
    // The short job fits before the reservation; the long one would
    // overlap it, and only one job holds a reservation under easy.
    assert_eq!(state(&i, short), JobState::Running);
    let jl = i.job(long).unwrap();
    assert_eq!((jl.state, jl.reserved_at), (JobState::Pending, 0));
    // The short job ends at T0+50: that frees cores, but nothing may
    // start that would delay b.
    i.advance(50).unwrap();
    assert_eq!(state(&i, short), JobState::Finished);
    assert_eq!(state(&i, long), JobState::Pending);
    assert_eq!(i.job(b).unwrap().reserved_at, T0 + 100);
    // b starts exactly at its reservation.
    i.advance(50).unwrap();
    let jb = i.job(b).unwrap();
    assert_eq!(
        (jb.state, jb.start_time, jb.reserved_at),
        (JobState::Running, T0 + 100, 0)
    );
    assert_eq!(state(&i, long), JobState::Pending);
    i.advance(100).unwrap();
    assert_eq!(i.job(long).unwrap().start_time, T0 + 200);
}

#[test]
fn conservative_reserves_for_every_job_that_cannot_start() {
    let mut i = instance(QueuePolicy::Conservative);
    let a = i.submit(ALICE, "", &cores(12, 100)).unwrap();
    let b = i.submit(ALICE, "", &cores(16, 100)).unwrap();
    let c = i.submit(ALICE, "", &cores(8, 10)).unwrap();
    let d = i.submit(ALICE, "", &cores(4, 50)).unwrap();
    let e = i.submit(ALICE, "", &cores(4, 150)).unwrap();
    schedule_all(&mut i);
    assert_eq!(state(&i, a), JobState::Running);
    assert_eq!(i.job(b).unwrap().reserved_at, T0 + 100);
    // c cannot start now (4 free) nor beside b: after it.
    assert_eq!(i.job(c).unwrap().reserved_at, T0 + 200);
    // d fits now and ends before b's reservation.
    assert_eq!(state(&i, d), JobState::Running);
    // e would overlap b: reserved beside c, after b.
    assert_eq!(i.job(e).unwrap().reserved_at, T0 + 200);
    i.advance(200).unwrap();
    assert_eq!(i.job(b).unwrap().start_time, T0 + 100);
    assert_eq!(i.job(c).unwrap().start_time, T0 + 200);
    assert_eq!(i.job(e).unwrap().start_time, T0 + 200);
}

#[test]
fn hybrid_and_easy_differ_only_in_reservation_depth() {
    for (policy, reserved) in [(QueuePolicy::Easy, 0), (QueuePolicy::Hybrid(2), T0 + 200)] {
        let mut i = instance(policy);
        i.submit(ALICE, "", &cores(12, 100)).unwrap();
        i.submit(ALICE, "", &cores(16, 100)).unwrap();
        let c = i.submit(ALICE, "", &cores(8, 10)).unwrap();
        schedule_all(&mut i);
        assert_eq!(i.job(c).unwrap().reserved_at, reserved, "{policy}");
    }
}

#[test]
fn the_queue_depth_bounds_the_jobs_one_pass_tries() {
    let cfg = Config {
        queue_depth: 2,
        ..config(QueuePolicy::Easy)
    };
    let mut i = build(cfg, Box::new(SimExecutor), None, T0);
    i.submit(ALICE, "", &cores(16, 100)).unwrap();
    let ids: Vec<JobId> = (0..5)
        .map(|_| i.submit(ALICE, "", &cores(16, 10)).unwrap())
        .collect();
    // First pass: the big job starts, the first waiter reserves; depth 2.
    // The pass started a job, so it asks for another.
    assert!(i.schedule(usize::MAX));
    assert_eq!(i.job(ids[0]).unwrap().reserved_at, T0 + 100);
    let untried = |i: &Instance| {
        ids[1..]
            .iter()
            .filter(|&&id| i.job(id).unwrap().reason.is_empty())
            .count()
    };
    assert_eq!(untried(&i), 4);
    // The next pass tries two more and starts none: it asks for no more.
    assert!(!i.schedule(usize::MAX));
    assert_eq!(untried(&i), 2);
    // A budget splits a pass: one job at a time.
    assert!(i.schedule(1));
    assert_eq!(untried(&i), 1);
}

#[test]
fn a_malformed_jobspec_is_refused_naming_the_key_and_changes_nothing() {
    let mut i = instance(QueuePolicy::Fcfs);
    let bad = cores(1, 10).replace("count: 1}", "count: 0}");
    let e = i.submit(ALICE, "", &bad).unwrap_err();
    match &e {
        InstanceError::BadRequest(m) => assert!(m.contains("resources[0].with[0].count"), "{m}"),
        other => panic!("{other:?}"),
    }
    let e = i.submit(ALICE, "", "version: 1\nresources: [").unwrap_err();
    assert!(matches!(e, InstanceError::BadRequest(_)), "{e:?}");
    assert_eq!(i.jobs().count(), 0);
    assert!(i.take_events().is_empty());
    assert_eq!(i.submit(ALICE, "", &cores(1, 10)).unwrap(), 1);
}

#[test]
fn an_unsatisfiable_request_is_refused_with_the_reason() {
    let mut i = instance(QueuePolicy::Fcfs);
    let e = i.submit(ALICE, "", &cores(17, 10)).unwrap_err();
    match &e {
        InstanceError::Unsatisfiable(m) => {
            assert!(m.contains("17 core") && m.contains("16"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().starts_with("unsatisfiable"));
    let per_node = "version: 9999
resources:
  - type: node
    count: 1
    with:
      - type: slot
        count: 1
        label: t
        with:
          - {type: gpu, count: 2}
tasks: [{command: [app], slot: t, count: {per_slot: 1}}]
";
    match i.submit(ALICE, "", per_node).unwrap_err() {
        InstanceError::Unsatisfiable(m) => assert!(m.contains("2 gpu in one node"), "{m}"),
        other => panic!("{other:?}"),
    }
    let no_type = cores(1, 10).replace("type: core", "type: fpga");
    match i.submit(ALICE, "", &no_type).unwrap_err() {
        InstanceError::Unsatisfiable(m) => assert!(m.contains("fpga"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(i.jobs().count(), 0);
    // Down resources are not "never": such a job waits.
    for n in 0..4 {
        i.set_status(i.owner(), &format!("/four0/node{n}"), false)
            .unwrap();
    }
    let id = i.submit(ALICE, "", &cores(1, 10)).unwrap();
    schedule_all(&mut i);
    assert_eq!(state(&i, id), JobState::Pending);
    i.set_status(i.owner(), "/four0/node2", true).unwrap();
    schedule_all(&mut i);
    assert_eq!(state(&i, id), JobState::Running);
    assert!(i.job(id).unwrap().r.contains("node2"));
}

#[test]
fn unknown_ids_other_owners_and_other_errors_change_nothing() {
    let mut i = instance(QueuePolicy::Fcfs);
    let id = i.submit(ALICE, "mine", &cores(1, 10)).unwrap();
    assert!(matches!(
        i.cancel(ALICE, 99),
        Err(InstanceError::NotFound(_))
    ));
    assert!(i.job(99).is_none());
    let e = i.cancel(BOB, id).unwrap_err();
    assert!(matches!(e, InstanceError::PermissionDenied(_)), "{e:?}");
    assert_eq!(state(&i, id), JobState::Pending);
    assert!(!i.owner_can(BOB, id) && i.owner_can(ALICE, id) && i.owner_can(0, id));
    assert!(i.owner_can(i.owner(), id));
    assert!(matches!(
        i.set_status(BOB, "/four0/node0", false),
        Err(InstanceError::PermissionDenied(_))
    ));
    assert_eq!(i.status().nodes_up, 4);
    assert!(matches!(
        i.set_status(i.owner(), "/four0/node9", false),
        Err(InstanceError::NotFound(_))
    ));
    assert!(matches!(
        i.find("status=sideways", "simple"),
        Err(InstanceError::BadRequest(_))
    ));
    assert!(matches!(
        i.resources("xml", ResourceFilter::All),
        Err(InstanceError::BadRequest(_))
    ));
    assert_eq!(i.status().pending, 1);
    // The queue bound.
    let cfg = Config {
        max_pending: 1,
        ..config(QueuePolicy::Fcfs)
    };
    let mut small = build(cfg, Box::new(SimExecutor), None, T0);
    small.submit(ALICE, "", &cores(1, 10)).unwrap();
    assert!(matches!(
        small.submit(ALICE, "", &cores(1, 10)),
        Err(InstanceError::QueueFull(_))
    ));
}

#[test]
fn only_a_simulated_clock_advances() {
    let mut i = Instance::new(
        graph(),
        String::new(),
        Config::default(),
        Box::new(WallClock),
        Box::new(SimExecutor),
        None,
    )
    .unwrap();
    assert!(matches!(i.advance(1), Err(InstanceError::Unsupported(_))));
    let s = i.status();
    assert_eq!(
        (s.clock, s.nodes, s.nodes_up, s.queue_policy.as_str()),
        ("wall", 4, 4, "fcfs")
    );
    assert!(s.now > 1_600_000_000);
}

#[test]
fn status_down_steers_jobs_away_and_is_kept_in_the_journal() {
    let dir = TempDir::new("status");
    let mut i = build(
        config(QueuePolicy::Fcfs),
        Box::new(SimExecutor),
        Some(Journal::open(&dir.0).unwrap()),
        T0,
    );
    let owner = i.owner();
    i.set_status(owner, "/four0/node0", false).unwrap();
    assert_eq!(i.status().nodes_up, 3);
    let (down, n) = i.resources("rv1", ResourceFilter::Down).unwrap();
    assert!(n >= 6 && down.contains("node0"), "{n} {down}");
    let id = i.submit(ALICE, "", &cores(4, 10)).unwrap();
    schedule_all(&mut i);
    assert!(!i.job(id).unwrap().r.contains("node0"));
    drop(i);
    let i = build(
        config(QueuePolicy::Fcfs),
        Box::new(SimExecutor),
        Some(Journal::open(&dir.0).unwrap()),
        T0,
    );
    assert_eq!(i.status().nodes_up, 3);
}

/// An executor that records what it is asked and can be told to refuse.
#[derive(Clone, Default)]
struct Recorder {
    launches: Arc<Mutex<Vec<Launch>>>,
    kills: Arc<Mutex<Vec<u64>>>,
    refuse: bool,
}

impl Executor for Recorder {
    fn name(&self) -> &'static str {
        "local"
    }
    fn start(&mut self, launch: Launch) -> Result<(), StartError> {
        if self.refuse {
            return Err(StartError("no such program: app".into()));
        }
        self.launches.lock().unwrap().push(launch);
        Ok(())
    }
    fn kill(&mut self, job_id: u64) {
        self.kills.lock().unwrap().push(job_id);
    }
    fn ends_by_duration(&self) -> bool {
        false
    }
}

#[test]
fn local_jobs_end_by_exit_status_or_time_limit() {
    let rec = Recorder::default();
    let cfg = Config {
        output_dir: PathBuf::from("/tmp/out"),
        ..config(QueuePolicy::Fcfs)
    };
    let mut i = build(cfg, Box::new(rec.clone()), None, T0);
    let ok = i.submit(ALICE, "", &cores(3, 100)).unwrap();
    let bad = i.submit(ALICE, "", &cores(1, 100)).unwrap();
    let slow = i.submit(ALICE, "", &cores(1, 10)).unwrap();
    schedule_all(&mut i);
    {
        let l = rec.launches.lock().unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].job_id, ok);
        assert_eq!(l[0].tasks.len(), 1);
        assert_eq!(
            (l[0].tasks[0].command.clone(), l[0].tasks[0].count),
            (vec!["app".to_string()], 3)
        );
        assert_eq!(l[0].cores.len(), 3);
        assert!(l[0].gpus.is_empty());
        assert_eq!(
            (l[0].duration, l[0].output_dir.clone()),
            (100, PathBuf::from("/tmp/out"))
        );
    }
    i.exec_done(Exit {
        job_id: ok,
        code: 0,
        detail: String::new(),
    });
    i.exec_done(Exit {
        job_id: bad,
        code: 3,
        detail: "exit status 3".into(),
    });
    assert_eq!(state(&i, ok), JobState::Finished);
    let jb = i.job(bad).unwrap();
    assert_eq!(
        (jb.state, jb.exit_code, jb.reason.as_str()),
        (JobState::Failed, 3, "exit status 3")
    );
    // A second report of the same job changes nothing.
    i.exec_done(Exit {
        job_id: ok,
        code: 9,
        detail: String::new(),
    });
    assert_eq!(state(&i, ok), JobState::Finished);
    // Past its duration the job is killed and fails.
    i.advance(10).unwrap();
    let js = i.job(slow).unwrap();
    assert_eq!(
        (js.state, js.reason.as_str()),
        (JobState::Failed, "time limit")
    );
    assert_eq!(*rec.kills.lock().unwrap(), vec![slow]);
    // Canceling a running local job kills it.
    let gone = i.submit(ALICE, "", &cores(1, 100)).unwrap();
    schedule_all(&mut i);
    i.cancel(ALICE, gone).unwrap();
    assert_eq!(rec.kills.lock().unwrap().last(), Some(&gone));
    // A job the executor cannot start fails at once and frees its cores.
    let refusing = Recorder {
        refuse: true,
        ..Recorder::default()
    };
    let mut i = build(config(QueuePolicy::Fcfs), Box::new(refusing), None, T0);
    let id = i.submit(ALICE, "", &cores(16, 100)).unwrap();
    schedule_all(&mut i);
    let j = i.job(id).unwrap();
    assert_eq!(j.state, JobState::Failed);
    assert!(j.reason.contains("no such program"), "{}", j.reason);
    assert_eq!(cores_held(&mut i), 0);
    let gpus = "version: 9999
resources:
  - type: node
    count: 1
    with:
      - type: slot
        count: 1
        label: t
        with:
          - {type: core, count: 4}
          - {type: gpu, count: 1}
tasks: [{command: [x, -v], slot: t, count: {per_slot: 1}}]
";
    let rec = Recorder::default();
    let mut i = build(config(QueuePolicy::Fcfs), Box::new(rec.clone()), None, T0);
    i.submit(ALICE, "", gpus).unwrap();
    schedule_all(&mut i);
    let l = rec.launches.lock().unwrap();
    assert_eq!(
        (l[0].cores.clone(), l[0].gpus.clone(), l[0].tasks[0].count),
        (vec![0, 1, 2, 3], vec![0], 1)
    );
    assert_eq!(l[0].tasks[0].command, ["x", "-v"]);
    drop(l);
    // Task counts: per slot multiplies by the slots allocated, total does not.
    let spread = |count: &str| {
        format!(
            "version: 9999
resources:
  - {{type: slot, count: 3, label: t, with: [{{type: core, count: 1}}]}}
tasks: [{{command: [a], slot: t, count: {count}}}]
"
        )
    };
    let rec = Recorder::default();
    let mut i = build(config(QueuePolicy::Fcfs), Box::new(rec.clone()), None, T0);
    i.submit(ALICE, "", &spread("{per_slot: 2}")).unwrap();
    i.submit(ALICE, "", &spread("{total: 4}")).unwrap();
    schedule_all(&mut i);
    let l = rec.launches.lock().unwrap();
    assert_eq!((l[0].tasks[0].count, l[1].tasks[0].count), (6, 4));
}

#[test]
fn match_ops_book_without_the_queue() {
    let mut i = instance(QueuePolicy::Fcfs);
    let m = i
        .match_op(ALICE, &cores(16, 50), MatchOp::Allocate, "")
        .unwrap();
    assert!(m.matched && m.job_id == 1 && !m.reserved && m.at == T0);
    assert!(m.r.contains("R_lite"));
    let j = i.job(1).unwrap();
    assert!(j.by_match() && j.state == JobState::Running && j.r == m.r);
    // Busy now: nothing booked.
    let busy = i
        .match_op(ALICE, &cores(1, 50), MatchOp::Allocate, "simple")
        .unwrap();
    assert!(!busy.matched && busy.job_id == 0);
    // Or reserved after the first.
    let r = i
        .match_op(
            ALICE,
            &cores(4, 10),
            MatchOp::AllocateOrElseReserve,
            "simple",
        )
        .unwrap();
    assert!(r.reserved && r.at == T0 + 50 && r.job_id == 2);
    assert!(r.r.contains("core"), "{}", r.r);
    assert!(i.job(2).unwrap().r.contains("R_lite"), "R is kept as rv1");
    // Ops that book nothing.
    let w = i
        .match_op(
            ALICE,
            &cores(1, 10),
            MatchOp::WithoutAllocatingFuture,
            "rv1",
        )
        .unwrap();
    assert!(w.matched && w.job_id == 0 && w.at == T0 + 50);
    assert!(matches!(
        i.match_op(ALICE, &cores(99, 10), MatchOp::Satisfiability, ""),
        Err(InstanceError::Unsatisfiable(_))
    ));
    assert!(matches!(
        i.match_op(ALICE, &cores(1, 10), MatchOp::Allocate, "yaml"),
        Err(InstanceError::BadRequest(_))
    ));
    assert_eq!(i.jobs().count(), 2);
    // Bookings end with their duration; a queued job then starts.
    let q = i.submit(ALICE, "", &cores(16, 10)).unwrap();
    assert_eq!(q, 3);
    i.advance(60).unwrap();
    assert_eq!([state(&i, 1), state(&i, 2)], [JobState::Finished; 2]);
    assert_eq!(i.job(q).unwrap().start_time, T0 + 60);
}

#[test]
fn resources_and_find_show_the_graph() {
    let mut i = instance(QueuePolicy::Fcfs);
    let (jgf, n) = i.resources("jgf", ResourceFilter::All).unwrap();
    assert_eq!(n, 25);
    let doc: serde_json::Value = serde_json::from_str(&jgf).unwrap();
    assert_eq!(doc["graph"]["nodes"].as_array().map(Vec::len), Some(25));
    i.submit(ALICE, "", &cores(4, 10)).unwrap();
    schedule_all(&mut i);
    let (r, n) = i.resources("rv1", ResourceFilter::Allocated).unwrap();
    assert!(n >= 4 && r.contains("R_lite"), "{n} {r}");
    let (_, free) = i.resources("jgf", ResourceFilter::Free).unwrap();
    assert!(free > 0 && free < 25);
    let (text, n) = i.find("status=up", "simple").unwrap();
    assert_eq!((n, text.lines().count()), (25, 25));
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "schedd-instance-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Per job: id, state, start, end, R, booked by a match.
type JobView = (u64, JobState, i64, i64, String, bool);

/// Everything about the jobs that a restart must keep, and the vertices
/// held.
fn snapshot(i: &mut Instance) -> (Vec<JobView>, String) {
    let jobs = i
        .jobs()
        .map(|j| {
            (
                j.id,
                j.state,
                j.start_time,
                j.end_time,
                j.r.clone(),
                j.by_match(),
            )
        })
        .collect();
    let (held, _) = i.find("sched-now=allocated", "simple").unwrap();
    (jobs, held)
}

#[test]
fn a_new_instance_on_the_same_journal_recovers_jobs_and_allocations() {
    let dir = TempDir::new("replay");
    let journal = || Some(Journal::open(&dir.0).unwrap());
    let cfg = || config(QueuePolicy::Easy);
    // The same history twice: once with a restart in the middle, once
    // without. Afterwards they must agree on everything.
    let mut steady = build(cfg(), Box::new(SimExecutor), None, T0);
    let mut first = build(cfg(), Box::new(SimExecutor), journal(), T0);
    for inst in [&mut steady, &mut first] {
        inst.journal_begin();
        inst.submit(ALICE, "a", &cores(6, 100)).unwrap();
        inst.submit(BOB, "b", &cores(6, 30)).unwrap();
        inst.match_op(ALICE, &cores(2, 500), MatchOp::Allocate, "")
            .unwrap();
        inst.submit(ALICE, "c", &cores(8, 40)).unwrap();
        inst.submit(BOB, "d", &cores(1, 10)).unwrap();
        schedule_all(inst);
        inst.journal_commit().unwrap();
        inst.advance(5).unwrap();
        let e = inst.submit(ALICE, "e", &cores(2, 10)).unwrap();
        inst.cancel(ALICE, e).unwrap();
    }
    let before = snapshot(&mut first);
    assert_eq!(before, snapshot(&mut steady));
    let states: Vec<JobState> = before.0.iter().map(|j| j.1).collect();
    assert_eq!(
        states,
        [
            JobState::Running,
            JobState::Running,
            JobState::Running,
            JobState::Pending,
            JobState::Running,
            JobState::Canceled
        ]
    );
    assert_eq!(first.job(4).unwrap().reserved_at, T0 + 30);
    drop(first);
    let mut second = build(cfg(), Box::new(SimExecutor), journal(), T0 + 5);
    let (jobs, held) = snapshot(&mut second);
    // Ended jobs keep their state and times; R is kept for what still runs.
    for (a, b) in jobs.iter().zip(&before.0) {
        assert_eq!((a.0, a.1, a.2, a.3, a.5), (b.0, b.1, b.2, b.3, b.5));
        if a.1 == JobState::Running {
            assert_eq!(a.4, b.4, "R of job {}", a.0);
        }
    }
    assert_eq!(held, before.1);
    assert_eq!(second.job(2).unwrap().owner, BOB);
    assert_eq!(second.job(1).unwrap().name, "a");
    assert_eq!(second.stats().pending, 1);
    // Both go on the same way: the pending job starts when b ends.
    second.advance(500).unwrap();
    steady.advance(500).unwrap();
    let (mut a, mut b) = (snapshot(&mut second), snapshot(&mut steady));
    for j in a.0.iter_mut().chain(b.0.iter_mut()) {
        if j.1 != JobState::Running {
            j.4.clear();
        }
    }
    assert_eq!(a, b);
    assert_eq!(second.job(4).unwrap().start_time, T0 + 30);
    // New ids continue after the recovered ones.
    assert_eq!(second.submit(ALICE, "", &cores(1, 1)).unwrap(), 7);
}

#[test]
fn recovery_fails_local_jobs_and_jobs_whose_vertices_are_gone() {
    let dir = TempDir::new("lost");
    {
        let mut i = build(
            config(QueuePolicy::Fcfs),
            Box::new(SimExecutor),
            Some(Journal::open(&dir.0).unwrap()),
            T0,
        );
        i.submit(ALICE, "", &cores(4, 100)).unwrap();
        schedule_all(&mut i);
    }
    // Under a local executor the old processes are gone.
    let mut i = build(
        config(QueuePolicy::Fcfs),
        Box::new(Recorder::default()),
        Some(Journal::open(&dir.0).unwrap()),
        T0,
    );
    let j = i.job(1).unwrap();
    assert_eq!(j.state, JobState::Failed);
    assert!(j.reason.contains("restart"), "{}", j.reason);
    assert_eq!(cores_held(&mut i), 0);
    drop(i);
    // And it stays so.
    let i = build(
        config(QueuePolicy::Fcfs),
        Box::new(SimExecutor),
        Some(Journal::open(&dir.0).unwrap()),
        T0,
    );
    assert_eq!(state(&i, 1), JobState::Failed);
    // A graph without the allocated vertices fails the job with the path.
    let dir = TempDir::new("gone");
    {
        let mut i = build(
            config(QueuePolicy::Fcfs),
            Box::new(SimExecutor),
            Some(Journal::open(&dir.0).unwrap()),
            T0,
        );
        i.submit(ALICE, "", &cores(4, 100)).unwrap();
        schedule_all(&mut i);
    }
    let small = resource_graph::load_grug(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../grugs/tiny.yaml"),
    )
    .unwrap();
    let i = Instance::new(
        small,
        String::new(),
        config(QueuePolicy::Fcfs),
        Box::new(SimClock::new(T0)),
        Box::new(SimExecutor),
        Some(Journal::open(&dir.0).unwrap()),
    )
    .unwrap();
    let j = i.job(1).unwrap();
    assert_eq!(j.state, JobState::Failed);
    assert!(
        j.reason.contains("/four0/node") && j.reason.contains("no longer"),
        "{}",
        j.reason
    );
}

#[test]
fn the_clock_trait_is_what_the_instance_reads() {
    let c: Box<dyn Clock> = Box::new(SimClock::new(7));
    assert_eq!(c.now(), 7);
}

#[test]
fn ended_jobs_beyond_keep_ended_are_forgotten_and_their_ids_never_reused() {
    let dir = TempDir::new("forget");
    let journal = || Some(Journal::open(&dir.0).unwrap());
    let cfg = || Config {
        keep_ended: 2,
        ..config(QueuePolicy::Fcfs)
    };
    let mut i = build(cfg(), Box::new(SimExecutor), journal(), T0);
    i.journal_begin();
    let ids: Vec<JobId> = (0..5)
        .map(|k| i.submit(ALICE, "", &cores(1, 10 + k)).unwrap())
        .collect();
    let long = i.submit(ALICE, "", &cores(1, 1000)).unwrap();
    schedule_all(&mut i);
    i.journal_commit().unwrap();
    i.journal_begin();
    i.advance(100).unwrap();
    i.journal_commit().unwrap();
    // The two that ended last are remembered; the running one too.
    let known: Vec<JobId> = i.jobs().map(|j| j.id).collect();
    assert_eq!(known, vec![ids[3], ids[4], long]);
    assert!(i.job(ids[0]).is_none());
    assert_eq!(i.stats().finished, 2);
    drop(i);
    // The journal forgot them too, and ids go on from where they were.
    let mut i = build(cfg(), Box::new(SimExecutor), journal(), T0 + 100);
    let known: Vec<JobId> = i.jobs().map(|j| j.id).collect();
    assert_eq!(known, vec![ids[3], ids[4], long]);
    i.journal_begin();
    i.cancel(ALICE, long).unwrap();
    let next = i.submit(ALICE, "", &cores(1, 10)).unwrap();
    i.journal_commit().unwrap();
    assert_eq!(next, long + 1);
    let known: Vec<JobId> = i.jobs().map(|j| j.id).collect();
    assert_eq!(known, vec![ids[4], long, next]);
    drop(i);
    // Even when every job with a high id is forgotten.
    let mut i = build(
        Config {
            keep_ended: 1,
            ..cfg()
        },
        Box::new(SimExecutor),
        journal(),
        T0 + 100,
    );
    i.journal_begin();
    i.cancel(ALICE, next).unwrap();
    i.journal_commit().unwrap();
    drop(i);
    let mut i = build(cfg(), Box::new(SimExecutor), journal(), T0 + 100);
    assert_eq!(i.submit(ALICE, "", &cores(1, 10)).unwrap(), next + 1);
}
