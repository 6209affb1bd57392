//! Pull distribution on instances without the daemon: a parent hands
//! pending jobs to a lease (only what the lease can hold, only to its
//! owner), takes the child's reports, puts back in its queue what a full
//! report does not name and what a closed lease held, keeps hand-offs
//! across a restart, and tells the child of cancels; a child takes each
//! parent job once and reports what changed. Simulated clocks, real
//! SQLite journals.
mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::TempDir;

use matcher::jobspec::Jobspec;
use schedd::clock::SimClock;
use schedd::elastic::shape::Shape;
use schedd::executor::SimExecutor;
use schedd::instance::{
    Config, HandedJob, Instance, InstanceError, JobState, JobUpdate, ParsedJobspec,
};
use schedd::journal::Journal;

const ALICE: u32 = 42_001;
const BOB: u32 = 42_002;

fn instance(dir: Option<&Path>) -> Instance {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/four-nodes.yaml");
    let g = resource_graph::load_grug(&p).expect("fixture graph");
    Instance::new(
        g,
        "four-nodes".into(),
        Config::default(),
        Box::new(SimClock::new(1_000)),
        Box::new(SimExecutor),
        dir.map(|d| Journal::open(d).expect("journal")),
    )
    .expect("instance")
}

fn nodes(n: u64) -> ParsedJobspec {
    let js = Shape {
        nodes: n,
        ..Shape::default()
    }
    .jobspec();
    ParsedJobspec::parse(js).unwrap()
}

fn job(nodes: u32) -> String {
    format!(
        "{{\"version\":1,\"resources\":[{{\"type\":\"node\",\"count\":{nodes},\
         \"with\":[{{\"type\":\"slot\",\"count\":1,\"label\":\"t\",\
         \"with\":[{{\"type\":\"core\",\"count\":1}}]}}]}}],\
         \"tasks\":[{{\"command\":[\"true\"],\"slot\":\"t\",\"count\":{{\"per_slot\":1}}}}],\
         \"attributes\":{{\"system\":{{\"duration\":60}}}}}}"
    )
}

fn running(id: u64) -> JobUpdate {
    JobUpdate {
        id,
        state: JobState::Running,
        start_time: 1_000,
        end_time: 1_060,
        reason: String::new(),
        exit_code: 0,
        r: "{}".into(),
    }
}

fn ids(h: &[HandedJob]) -> Vec<u64> {
    h.iter().map(|j| j.id).collect()
}

#[test]
fn a_parent_hands_what_the_lease_holds_and_takes_back_what_the_child_lacks() {
    let dir = TempDir::new("parent");
    let mut p = instance(Some(&dir.0));
    let lease = p
        .lease_open(ALICE, "c1", "unix:/c1.sock", "open-1", Some(nodes(2)))
        .unwrap()
        .id;
    let small: Vec<u64> = (0..4)
        .map(|_| p.submit(ALICE, "", &job(1)).unwrap())
        .collect();
    // Three nodes: more than the lease holds, never handed to it.
    let big = p.submit(ALICE, "big", &job(3)).unwrap();
    let bobs = p.submit(BOB, "", &job(1)).unwrap();
    p.journal_commit().unwrap();

    assert!(matches!(
        p.need_job(BOB, lease, 5, 0, 0),
        Err(InstanceError::PermissionDenied(_))
    ));
    let first = p.need_job(ALICE, lease, 3, 0, 0).unwrap();
    assert_eq!(ids(&first.jobs), small[..3]);
    assert_eq!(first.jobs[0].jobspec.as_ref(), job(1));
    let rest = p.need_job(ALICE, lease, 100, 0, 0).unwrap();
    // Neither the big job nor another user's.
    assert_eq!(ids(&rest.jobs), small[3..]);
    assert_eq!(p.handed_to(lease), 4);
    for id in [big, bobs] {
        assert_eq!(p.job(id).unwrap().state, JobState::Pending);
    }

    // The child runs the first and says nothing of the second and third:
    // they never reached it.
    let named = vec![running(small[0]), running(small[3])];
    let cancel = p.report_pulled(ALICE, lease, named, true).unwrap();
    assert!(cancel.is_empty());
    assert_eq!(p.job(small[0]).unwrap().state, JobState::Running);
    for &id in &small[1..3] {
        let j = p.job(id).unwrap();
        assert_eq!(j.state, JobState::Pending);
        assert!(j.reason.contains("did not have it"), "{}", j.reason);
    }
    assert_eq!(p.handed_to(lease), 2);
    p.journal_commit().unwrap();

    // A restart keeps what was handed: nothing is handed twice.
    drop(p);
    let mut p = instance(Some(&dir.0));
    assert_eq!(p.handed_to(lease), 2);
    assert_eq!(p.job(small[0]).unwrap().state, JobState::Running);
    let again = p.need_job(ALICE, lease, 100, 0, 0).unwrap();
    assert_eq!(ids(&again.jobs), small[1..3]);

    // A cancel here reaches the child with its next call; a report on it
    // is answered "cancel".
    p.cancel(ALICE, small[0]).unwrap();
    let next = p.need_job(ALICE, lease, 0, 0, 0).unwrap();
    assert_eq!(next.cancel, vec![small[0]]);
    let cancel = p
        .report_pulled(ALICE, lease, vec![running(small[0])], false)
        .unwrap();
    assert_eq!(cancel, vec![small[0]]);
    assert_eq!(p.job(small[0]).unwrap().state, JobState::Canceled);

    // The child finishes one; closing the lease queues the others here.
    let done = JobUpdate {
        state: JobState::Finished,
        end_time: 1_030,
        ..running(small[1])
    };
    p.report_pulled(ALICE, lease, vec![done], false).unwrap();
    assert_eq!(p.job(small[1]).unwrap().state, JobState::Finished);
    p.lease_close(ALICE, lease).unwrap();
    for &id in &[small[2], small[3]] {
        assert_eq!(p.job(id).unwrap().state, JobState::Pending);
    }
    assert_eq!(p.handed_to(lease), 0);
}

#[test]
fn a_child_takes_each_parent_job_once_and_reports_its_changes() {
    let mut c = instance(None);
    let text: Arc<str> = Arc::from(job(1));
    let handed = |id| HandedJob {
        id,
        owner: ALICE,
        name: String::new(),
        jobspec: text.clone(),
        submit_time: 900,
    };
    let parsed = || Jobspec::parse(&text).map_err(|e| InstanceError::BadRequest(e.to_string()));
    let (queued, refused) = c.accept_pulled(vec![(handed(70), parsed()), (handed(71), parsed())]);
    assert_eq!((queued, refused.len()), (2, 0));
    // Handed again (an answer the child did not see): taken once.
    let (queued, _) = c.accept_pulled(vec![(handed(70), parsed())]);
    assert_eq!(queued, 0);
    assert_eq!(c.pulled_count(), 2);
    // One the child cannot hold is reported failed at once.
    let too_big: Arc<str> = Arc::from(job(9));
    let h = HandedJob {
        jobspec: too_big.clone(),
        ..handed(72)
    };
    let (_, refused) = c.accept_pulled(vec![(
        h,
        Jobspec::parse(&too_big).map_err(|e| InstanceError::BadRequest(e.to_string())),
    )]);
    assert_eq!(refused.len(), 1);
    assert_eq!((refused[0].id, refused[0].state), (72, JobState::Failed));
    assert!(refused[0].reason.contains("refused by the child"));

    assert!(c.take_reports().is_empty());
    while c.schedule(usize::MAX) {}
    let mut r = c.take_reports();
    r.sort_by_key(|u| u.id);
    assert_eq!(
        r.iter().map(|u| (u.id, u.state)).collect::<Vec<_>>(),
        vec![(70, JobState::Running), (71, JobState::Running)]
    );
    assert!(!r[0].r.is_empty());
    assert!(c.take_reports().is_empty());
    c.cancel_pulled(&[71]);
    let r = c.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].id, r[0].state), (71, JobState::Canceled));
    let full = c.full_report();
    assert_eq!(full.len(), 2);
    assert!(full.iter().all(|u| u.r.is_empty()));
}
