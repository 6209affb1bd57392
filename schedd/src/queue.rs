//! Queue policies: in what order pending jobs are tried and how many of
//! them may hold a reservation (Fluxion's qmanager policies).
//!
//! A scheduling pass walks pending jobs in submit order. Under `fcfs` the
//! first job that cannot start stops the pass. The backfilling policies
//! give the first jobs that cannot start a reservation (booked in the
//! planners, so later jobs cannot take what those need at that time), up
//! to the policy's reservation depth; later jobs then only start when they
//! fit now without delaying any reservation: `easy` reserves for one job,
//! `hybrid` for N, `conservative` for every job of the pass.
use std::fmt;

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

impl QueuePolicy {
    /// "fcfs", "easy", "hybrid", "conservative"; hybrid takes the
    /// reservation depth given separately (at least 1).
    pub fn parse(name: &str, reservation_depth: usize) -> Result<Self, String> {
        match name {
            "fcfs" => Ok(QueuePolicy::Fcfs),
            "easy" => Ok(QueuePolicy::Easy),
            "conservative" => Ok(QueuePolicy::Conservative),
            "hybrid" if reservation_depth >= 1 => Ok(QueuePolicy::Hybrid(reservation_depth)),
            "hybrid" => Err("hybrid needs a reservation depth of at least 1".into()),
            other => Err(format!(
                "unknown queue policy '{other}' (expected fcfs, easy, hybrid or conservative)"
            )),
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
        let e = QueuePolicy::parse("lifo", 1).unwrap_err();
        assert!(e.contains("lifo") && e.contains("conservative"), "{e}");
        assert!(QueuePolicy::parse("hybrid", 0).is_err());
    }
}
