//! The instance clock: where "now" comes from.
//!
//! The daemon runs on the wall clock (Unix seconds). Tests and harnesses
//! run on a simulated clock that only moves when told, so a schedule can
//! be replayed exactly and no test ever sleeps.
use std::time::{SystemTime, UNIX_EPOCH};

/// Instance time in seconds: Unix time under the wall clock, from a
/// chosen start under the simulated one.
pub trait Clock: Send {
    /// The present, in seconds.
    fn now(&self) -> i64;
    /// "wall" or "sim".
    fn kind(&self) -> &'static str;
    /// Move a simulated clock forward; Err for the wall clock.
    fn advance(&mut self, secs: i64) -> Result<i64, ClockError>;
}

/// Why a clock would not move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// The wall clock moves by itself.
    #[error("the wall clock cannot be moved (only a simulated clock can)")]
    Wall,
    /// Time only moves forward.
    #[error("cannot move time backwards ({secs} s)")]
    Backwards {
        /// The (negative) seconds asked for.
        secs: i64,
    },
}

/// The system's clock: Unix seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> i64 {
        // A system clock set before 1970 reads as the epoch.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }

    fn kind(&self) -> &'static str {
        "wall"
    }

    fn advance(&mut self, _secs: i64) -> Result<i64, ClockError> {
        Err(ClockError::Wall)
    }
}

/// A clock that moves only when advanced.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    now: i64,
}

impl SimClock {
    /// A simulated clock reading `start`.
    pub fn new(start: i64) -> Self {
        SimClock { now: start }
    }
}

impl Clock for SimClock {
    fn now(&self) -> i64 {
        self.now
    }

    fn kind(&self) -> &'static str {
        "sim"
    }

    fn advance(&mut self, secs: i64) -> Result<i64, ClockError> {
        if secs < 0 {
            return Err(ClockError::Backwards { secs });
        }
        self.now = self.now.saturating_add(secs);
        Ok(self.now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_clock_moves_only_forward_and_only_when_told() {
        let mut c = SimClock::new(100);
        assert_eq!((c.now(), c.kind()), (100, "sim"));
        assert_eq!(c.advance(5), Ok(105));
        assert_eq!(c.advance(-1), Err(ClockError::Backwards { secs: -1 }));
        assert_eq!(
            ClockError::Backwards { secs: -1 }.to_string(),
            "cannot move time backwards (-1 s)"
        );
        assert_eq!(c.now(), 105);
    }

    #[test]
    fn wall_clock_reads_unix_time_and_refuses_to_move() {
        let mut c = WallClock;
        assert!(c.now() > 1_600_000_000);
        assert_eq!(c.kind(), "wall");
        assert_eq!(c.advance(1), Err(ClockError::Wall));
    }
}
