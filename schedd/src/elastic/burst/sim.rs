//! The simulated provider (`--burst-provider sim`): nodes come up after a
//! delay; failures and preemptions are injected by count, so a test or a
//! site's dry run knows exactly what happens.
//!
//! - `delay`: how long bringing nodes up takes.
//! - `fail_first`: the first N requests to bring nodes up fail.
//! - `preempt_first`: the first N nodes that come up are preempted
//!   `preempt_after` later (their jobs are requeued).
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::pool::SimConfig;
use super::provider::{Fut, Provider};

/// A simulated cloud (see the module documentation).
pub struct Sim {
    cfg: SimConfig,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Requests to bring nodes up so far.
    ups: u64,
    /// Nodes still to be preempted, and when.
    preempt_left: u64,
    due: Vec<(Instant, String)>,
}

impl Sim {
    /// A simulated cloud with these settings.
    pub fn new(cfg: &SimConfig) -> Sim {
        Sim {
            cfg: cfg.clone(),
            state: Mutex::new(State {
                preempt_left: cfg.preempt_first,
                ..State::default()
            }),
        }
    }
}

impl Provider for Sim {
    fn up<'a>(&'a self, nodes: &'a [String]) -> Fut<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(self.cfg.delay_ms)).await;
            let mut s = self
                .state
                .lock()
                .map_err(|_| "simulator state lost".to_owned())?;
            s.ups += 1;
            if s.ups <= self.cfg.fail_first {
                return Err(format!(
                    "simulated provisioning failure ({} of the first {} requests fail)",
                    s.ups, self.cfg.fail_first
                ));
            }
            let at = Instant::now() + Duration::from_millis(self.cfg.preempt_after_ms);
            for n in nodes {
                if s.preempt_left == 0 {
                    break;
                }
                s.preempt_left -= 1;
                s.due.push((at, n.clone()));
            }
            Ok(nodes.to_vec())
        })
    }

    fn down<'a>(&'a self, nodes: &'a [String]) -> Fut<'a, Result<(), String>> {
        Box::pin(async move {
            if let Ok(mut s) = self.state.lock() {
                s.due.retain(|(_, n)| !nodes.contains(n));
            }
            Ok(())
        })
    }

    fn preempted(&self) -> Vec<String> {
        let Ok(mut s) = self.state.lock() else {
            return Vec::new();
        };
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = s.due.drain(..).partition(|(t, _)| *t <= now);
        s.due = later;
        due.into_iter().map(|(_, n)| n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn the_first_requests_fail_and_the_first_nodes_are_preempted() {
        let sim = Sim::new(&SimConfig {
            delay_ms: 1,
            fail_first: 1,
            preempt_first: 1,
            preempt_after_ms: 0,
        });
        let a = names(&["n1", "n2"]);
        let e = sim.up(&a).await.unwrap_err();
        assert!(e.contains("simulated provisioning failure"), "{e}");
        assert_eq!(sim.up(&a).await.unwrap(), a);
        assert_eq!(sim.preempted(), names(&["n1"]));
        assert!(sim.preempted().is_empty());
        // A node given back is not preempted later.
        let sim = Sim::new(&SimConfig {
            delay_ms: 0,
            fail_first: 0,
            preempt_first: 2,
            preempt_after_ms: 0,
        });
        sim.up(&a).await.unwrap();
        sim.down(&names(&["n2"])).await.unwrap();
        assert_eq!(sim.preempted(), names(&["n1"]));
    }
}
