//! The pending queue: in what order pending jobs are tried and how many
//! of them may hold a reservation (Fluxion's qmanager policies).
//!
//! A scheduling pass walks pending jobs in submit order. Under `fcfs` the
//! first job that cannot start stops the pass. The backfilling policies
//! give the first jobs that cannot start a reservation (booked in the
//! planners, so later jobs cannot take what those need at that time), up
//! to the policy's reservation depth; later jobs then only start when they
//! fit now without delaying any reservation: `easy` reserves for one job,
//! `hybrid` for N, `conservative` for every job of the pass.
//!
//! [`PendingQueue`] keeps three sets of pending jobs, all in submit (= id)
//! order: jobs to try, jobs holding a reservation of the current passes,
//! and blocked jobs (tried, could not start). A pass only walks jobs to
//! try, so a long blocked queue costs nothing until something is
//! released, added or brought up ("dirty"): then reservations are
//! cancelled and every pending job is tried again from the head, at most
//! `queue_depth` per pass. Under fcfs a blocked job stops every pass at
//! once, in O(1). The queue holds job ids only: the instance matches the
//! job each [`Step::Try`] names and says how it went.
use std::collections::BTreeSet;
use std::fmt;

use crate::instance::job::JobId;

/// How a scheduling pass treats jobs that cannot start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueuePolicy {
    /// First come, first served: the first job that cannot start stops
    /// the pass.
    #[default]
    Fcfs,
    /// Backfilling with a reservation for the first blocked job.
    Easy,
    /// Backfilling with reservations for the first N blocked jobs.
    Hybrid(usize),
    /// Backfilling with a reservation for every blocked job.
    Conservative,
}

/// Why a queue policy was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not one of the policies.
    #[error("unknown queue policy '{0}' (expected fcfs, easy, hybrid or conservative)")]
    Unknown(String),
    /// Hybrid with a reservation depth of 0.
    #[error("hybrid needs a reservation depth of at least 1")]
    NoDepth,
}

impl QueuePolicy {
    /// "fcfs", "easy", "hybrid", "conservative"; hybrid takes the
    /// reservation depth given separately (at least 1).
    pub fn parse(name: &str, reservation_depth: usize) -> Result<Self, PolicyError> {
        match name {
            "fcfs" => Ok(QueuePolicy::Fcfs),
            "easy" => Ok(QueuePolicy::Easy),
            "conservative" => Ok(QueuePolicy::Conservative),
            "hybrid" if reservation_depth >= 1 => Ok(QueuePolicy::Hybrid(reservation_depth)),
            "hybrid" => Err(PolicyError::NoDepth),
            other => Err(PolicyError::Unknown(other.to_owned())),
        }
    }

    /// How many blocked jobs of a pass get a reservation (0 fcfs,
    /// 1 easy, N hybrid, unlimited conservative).
    pub fn reservation_depth(&self) -> usize {
        match self {
            QueuePolicy::Fcfs => 0,
            QueuePolicy::Easy => 1,
            QueuePolicy::Hybrid(n) => *n,
            QueuePolicy::Conservative => usize::MAX,
        }
    }

    /// Whether jobs behind one that cannot start may start (backfill).
    pub fn backfills(&self) -> bool {
        *self != QueuePolicy::Fcfs
    }

    /// The policy's name, as `parse` reads it.
    pub fn name(&self) -> &'static str {
        match self {
            QueuePolicy::Fcfs => "fcfs",
            QueuePolicy::Easy => "easy",
            QueuePolicy::Hybrid(_) => "hybrid",
            QueuePolicy::Conservative => "conservative",
        }
    }
}

impl fmt::Display for QueuePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueuePolicy::Hybrid(n) => write!(f, "hybrid({n})"),
            other => f.write_str(other.name()),
        }
    }
}

/// What a scheduling pass does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Try to start this pending job (no longer among the jobs to try):
    /// report how it went with `reserve`, `block` and `tried`.
    Try(JobId),
    /// The caller's budget is spent; the pass goes on at the next call.
    Pause,
    /// The pass is over; true when another one is worth running (it ended
    /// at the queue depth having started jobs).
    Done(bool),
}

/// Progress of the current scheduling pass.
#[derive(Debug, Clone, Copy, Default)]
struct Pass {
    /// Jobs tried.
    tried: usize,
    /// Jobs started.
    started: usize,
}

/// The pending jobs of an instance and the pass over them (see the
/// module documentation).
#[derive(Debug)]
pub struct PendingQueue {
    policy: QueuePolicy,
    /// Pending jobs one pass tries at most (at least 1).
    queue_depth: usize,
    /// Pending jobs to try, in submit order.
    to_try: BTreeSet<JobId>,
    /// Pending jobs holding a reservation of the current passes.
    reserved: BTreeSet<JobId>,
    /// Pending jobs that could not start; tried again once dirty.
    blocked: BTreeSet<JobId>,
    /// Something was released, added or brought up since the pending
    /// jobs were last sorted into reserved and blocked.
    dirty: bool,
    /// The earliest start of a pass reservation (i64::MAX: none).
    earliest_reservation: i64,
    pass: Option<Pass>,
}

impl PendingQueue {
    /// An empty queue under `policy`, trying at most `queue_depth` jobs a
    /// pass.
    pub fn new(policy: QueuePolicy, queue_depth: usize) -> Self {
        PendingQueue {
            policy,
            queue_depth: queue_depth.max(1),
            to_try: BTreeSet::new(),
            reserved: BTreeSet::new(),
            blocked: BTreeSet::new(),
            dirty: true,
            earliest_reservation: i64::MAX,
            pass: None,
        }
    }

    /// Queue a pending job (a new one, or one replayed from the journal).
    pub fn push(&mut self, id: JobId) {
        self.to_try.insert(id);
    }

    /// Take job `id` out of every set (it ended or started elsewhere).
    /// True when it held a reservation, which the caller cancels in the
    /// planners; the queue is then dirty.
    pub fn remove(&mut self, id: JobId) -> bool {
        self.to_try.remove(&id);
        self.blocked.remove(&id);
        let held = self.reserved.remove(&id);
        if held {
            self.dirty = true;
        }
        held
    }

    /// Every pending job, in submit order (whichever set it is in).
    pub fn in_order(&self) -> impl Iterator<Item = JobId> + '_ {
        let mut sets = [
            self.to_try.iter().peekable(),
            self.reserved.iter().peekable(),
            self.blocked.iter().peekable(),
        ];
        std::iter::from_fn(move || {
            let (k, _) = sets
                .iter_mut()
                .enumerate()
                .filter_map(|(k, s)| s.peek().map(|&&id| (k, id)))
                .min_by_key(|&(_, id)| id)?;
            sets[k].next().copied()
        })
    }

    /// Something was released, added or brought up: the next pass tries
    /// every pending job again.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Before a pass (or the next chunk of one) at `now`: when the queue
    /// is dirty or a reservation is due, `cancel` each reservation and put
    /// every pending job back to be tried, in submit order.
    pub fn begin(&mut self, now: i64, cancel: impl FnMut(JobId)) {
        if self.earliest_reservation <= now {
            self.dirty = true;
        }
        if self.dirty {
            self.restart(cancel);
        }
    }

    /// Cancel the pass reservations and put every pending job back to be
    /// tried, in submit order.
    fn restart(&mut self, mut cancel: impl FnMut(JobId)) {
        for &id in &self.reserved {
            cancel(id);
        }
        let reserved = std::mem::take(&mut self.reserved);
        let blocked = std::mem::take(&mut self.blocked);
        merge_into(&mut self.to_try, reserved);
        merge_into(&mut self.to_try, blocked);
        self.earliest_reservation = i64::MAX;
        self.dirty = false;
        self.pass = None;
    }

    /// The pass's next step; `may_try` false when the caller's budget is
    /// spent.
    pub fn next(&mut self, may_try: bool) -> Step {
        // Under fcfs a blocked job is the head of the queue: nothing
        // behind it may start until something changes.
        if !self.policy.backfills() && !self.blocked.is_empty() {
            self.pass = None;
            return Step::Done(false);
        }
        let pass = *self.pass.get_or_insert_with(Pass::default);
        if pass.tried >= self.queue_depth {
            self.pass = None;
            return Step::Done(pass.started > 0 && !self.to_try.is_empty());
        }
        let Some(&id) = self.to_try.first() else {
            self.pass = None;
            return Step::Done(false);
        };
        if !may_try {
            return Step::Pause;
        }
        self.to_try.remove(&id);
        Step::Try(id)
    }

    /// The job of the last [`Step::Try`] was tried; `started`: it runs.
    pub fn tried(&mut self, started: bool) {
        if let Some(p) = self.pass.as_mut() {
            p.tried += 1;
            p.started += usize::from(started);
        }
    }

    /// Whether the job being tried may get a reservation when it cannot
    /// start now (the pass has reservations left).
    pub fn may_reserve(&self) -> bool {
        self.reserved.len() < self.policy.reservation_depth()
    }

    /// The job being tried holds a reservation starting at `at`.
    pub fn reserve(&mut self, id: JobId, at: i64) {
        self.reserved.insert(id);
        self.earliest_reservation = self.earliest_reservation.min(at);
    }

    /// The job being tried cannot start; it waits until the queue is dirty.
    pub fn block(&mut self, id: JobId) {
        self.blocked.insert(id);
    }
}

/// Move every id of `from` into `into`, inserting the smaller set into the
/// larger so that unblocking a few jobs before a long queue costs little.
fn merge_into(into: &mut BTreeSet<JobId>, mut from: BTreeSet<JobId>) {
    if from.len() > into.len() {
        std::mem::swap(into, &mut from);
    }
    for id in from {
        into.insert(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_with_their_depths() {
        for (name, depth) in [("fcfs", 0), ("easy", 1), ("conservative", usize::MAX)] {
            let p = QueuePolicy::parse(name, 7).unwrap();
            assert_eq!((p.name(), p.reservation_depth()), (name, depth));
        }
        let h = QueuePolicy::parse("hybrid", 3).unwrap();
        assert_eq!(
            (h, h.reservation_depth(), h.to_string()),
            (QueuePolicy::Hybrid(3), 3, "hybrid(3)".into())
        );
        assert!(QueuePolicy::Fcfs.reservation_depth() == 0 && !QueuePolicy::Fcfs.backfills());
        assert!(QueuePolicy::Easy.backfills());
    }

    #[test]
    fn bad_names_and_depths_are_refused_with_the_choices() {
        let e = QueuePolicy::parse("lifo", 1).unwrap_err().to_string();
        assert!(e.contains("lifo") && e.contains("conservative"), "{e}");
        assert_eq!(QueuePolicy::parse("hybrid", 0), Err(PolicyError::NoDepth));
    }

    #[test]
    fn merging_keeps_every_id_in_order() {
        let mut a: BTreeSet<JobId> = [1, 5, 9].into();
        merge_into(&mut a, [2, 3].into());
        merge_into(&mut a, (10..20).collect());
        assert_eq!(a.len(), 15);
        assert_eq!(a.first(), Some(&1));
    }

    /// The queue of `policy` holding jobs `ids`, its pass begun at 0.
    fn queue(policy: QueuePolicy, depth: usize, ids: &[JobId]) -> PendingQueue {
        let mut q = PendingQueue::new(policy, depth);
        for &id in ids {
            q.push(id);
        }
        q.begin(0, |_| panic!("nothing is reserved yet"));
        q
    }

    #[test]
    fn under_fcfs_a_blocked_job_stops_every_pass_until_dirty() {
        let mut q = queue(QueuePolicy::Fcfs, 32, &[3, 1, 2]);
        assert_eq!(q.next(true), Step::Try(1));
        assert!(!q.may_reserve());
        q.block(1);
        q.tried(false);
        assert_eq!(q.next(true), Step::Done(false));
        q.begin(0, |_| {});
        assert_eq!(q.next(true), Step::Done(false), "not dirty: still blocked");
        q.mark_dirty();
        q.begin(0, |_| {});
        assert_eq!(q.next(true), Step::Try(1), "dirty: the head again");
    }

    #[test]
    fn backfilling_reserves_to_its_depth_and_a_due_reservation_restarts() {
        let mut q = queue(QueuePolicy::Easy, 32, &[1, 2, 3]);
        assert_eq!(q.next(true), Step::Try(1));
        assert!(q.may_reserve());
        q.reserve(1, 50);
        q.tried(false);
        assert_eq!(q.next(true), Step::Try(2));
        assert!(!q.may_reserve(), "easy reserves for one job");
        q.block(2);
        q.tried(false);
        assert_eq!(q.next(true), Step::Try(3), "backfill behind the blocked");
        q.tried(true);
        assert_eq!(q.next(true), Step::Done(false));
        let mut cancelled = Vec::new();
        q.begin(49, |id| cancelled.push(id));
        assert!(cancelled.is_empty(), "the reservation is not due yet");
        q.begin(50, |id| cancelled.push(id));
        assert_eq!(cancelled, [1]);
        assert_eq!(q.next(true), Step::Try(1), "every pending job again");
    }

    #[test]
    fn a_pass_stops_at_the_queue_depth_and_pauses_on_the_budget() {
        let mut q = queue(QueuePolicy::Fcfs, 2, &[1, 2, 3]);
        assert_eq!(q.next(true), Step::Try(1));
        q.tried(true);
        assert_eq!(q.next(false), Step::Pause);
        assert_eq!(q.next(true), Step::Try(2), "the pass goes on");
        q.tried(true);
        assert_eq!(q.next(true), Step::Done(true), "job 3 is worth a pass");
        assert_eq!(q.next(true), Step::Try(3));
        q.tried(false);
        assert_eq!(q.next(true), Step::Done(false));
    }

    #[test]
    fn every_pending_job_is_listed_once_in_submit_order() {
        let mut q = PendingQueue::new(QueuePolicy::Easy, 8);
        for id in [7, 2, 9, 4, 5] {
            q.push(id);
        }
        // 2 is tried and reserved, 4 tried and blocked; 5, 7, 9 to try.
        q.begin(0, |_| {});
        assert_eq!(q.next(true), Step::Try(2));
        q.reserve(2, 10);
        q.tried(false);
        assert_eq!(q.next(true), Step::Try(4));
        q.block(4);
        q.tried(false);
        assert_eq!(q.in_order().collect::<Vec<_>>(), vec![2, 4, 5, 7, 9]);
        q.remove(5);
        assert_eq!(q.in_order().collect::<Vec<_>>(), vec![2, 4, 7, 9]);
    }

    #[test]
    fn removing_a_reserved_job_says_so_and_dirties_the_queue() {
        let mut q = queue(QueuePolicy::Conservative, 32, &[1, 2, 3]);
        assert_eq!(q.next(true), Step::Try(1));
        q.reserve(1, 10);
        q.tried(false);
        assert_eq!(q.next(true), Step::Try(2));
        q.block(2);
        q.tried(false);
        assert!(!q.remove(3), "job 3 held nothing");
        assert_eq!(q.next(true), Step::Done(false));
        assert!(q.remove(1));
        let mut cancelled = Vec::new();
        q.begin(0, |id| cancelled.push(id));
        assert!(cancelled.is_empty(), "removed: nothing left to cancel");
        assert_eq!(q.next(true), Step::Try(2), "dirty: the blocked job again");
    }
}
