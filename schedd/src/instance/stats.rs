//! What an instance reports about itself: [`Stats`] (job counters and
//! recent match latencies, which metrics export) and [`Status`] (a
//! summary of the graph, clock and queue).
use std::time::Instant;

use resource_graph::VertexIdx;

use super::{Instance, JobState};

/// Recent match latencies kept for the statistics.
pub(super) const LATENCY_WINDOW: usize = 4096;

/// Counters and recent match latencies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Jobs waiting for their dependencies now.
    pub depend: u64,
    /// Jobs pending now.
    pub pending: u64,
    /// Jobs running now.
    pub running: u64,
    /// Jobs that finished (all time, journal included).
    pub finished: u64,
    /// Jobs canceled (all time).
    pub canceled: u64,
    /// Jobs failed (all time).
    pub failed: u64,
    /// Jobs accepted since this instance was built.
    pub submitted_total: u64,
    /// Allocations made since this instance was built.
    pub allocated_total: u64,
    /// Allocations released since this instance was built.
    pub released_total: u64,
    /// Latencies of the recent matches, in microseconds, oldest first.
    pub match_us: Vec<f64>,
}

/// A summary of the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// "wall" or "sim".
    pub clock: &'static str,
    /// The instance's present.
    pub now: i64,
    /// Match policy.
    pub policy: String,
    /// Queue policy name.
    pub queue_policy: String,
    /// Vertices in the graph.
    pub vertices: u64,
    /// Nodes in the graph.
    pub nodes: u64,
    /// Nodes that are up (with every ancestor up).
    pub nodes_up: u64,
    /// Jobs pending.
    pub pending: u64,
    /// Jobs running.
    pub running: u64,
    /// Where the graph came from ("grug FILE", ...).
    pub source: String,
}

impl Instance {
    /// Keep the latency of the match that began at `t0`.
    pub(super) fn note_latency(&mut self, t0: Instant) {
        if self.match_us.len() == LATENCY_WINDOW {
            self.match_us.pop_front();
        }
        self.match_us.push_back(t0.elapsed().as_secs_f64() * 1e6);
    }

    /// Counters and recent match latencies.
    pub fn stats(&self) -> Stats {
        let c = |s: JobState| self.counts[s.index()];
        Stats {
            depend: c(JobState::Depend),
            pending: c(JobState::Pending),
            running: c(JobState::Running),
            finished: c(JobState::Finished),
            canceled: c(JobState::Canceled),
            failed: c(JobState::Failed),
            submitted_total: self.submitted_total,
            allocated_total: self.allocated_total,
            released_total: self.released_total,
            match_us: self.match_us.iter().copied().collect(),
        }
    }

    /// A summary of the instance.
    pub fn status(&self) -> Status {
        let g = self.m.graph();
        let up = |v: VertexIdx| g.in_service(v, self.dom);
        let nodes = g.of_type("node");
        Status {
            clock: self.clock.kind(),
            now: self.clock.now(),
            policy: self.cfg.policy.clone(),
            queue_policy: self.cfg.queue_policy.name().into(),
            vertices: g.vertex_count() as u64,
            nodes: nodes.len() as u64,
            nodes_up: nodes.iter().filter(|&&n| up(n)).count() as u64,
            pending: self.counts[JobState::Pending.index()],
            running: self.counts[JobState::Running.index()],
            source: self.source.clone(),
        }
    }
}
