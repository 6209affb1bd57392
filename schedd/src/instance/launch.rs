//! Launching: a job the pass just allocated becomes running. Its
//! allocation is journaled, the executor gets a [`Launch`] (the tasks with
//! their copy counts, the core and GPU ids on this host's node, the time
//! limit, the output directory) and the job's process groups are
//! journaled so a restart after a crash can kill what it left running.
use std::collections::HashMap;

use matcher::jobspec::Resource;
use matcher::output::expand;
use matcher::writer::Writer;
use resource_graph::VertexIdx;
use tracing::{debug, warn};

use super::{EventKind, Instance, JobId, JobState};
use crate::executor::{Launch, TaskLaunch};
use crate::journal::to_i64;

impl Instance {
    /// Job `id` was just allocated at `at` (the emitted R is in the rv1
    /// writer, its vertices in `picked`): make it run.
    pub(super) fn start_job(&mut self, id: JobId, at: i64) {
        let r = self.rv1.take();
        let Some(job) = self.jobs.get(&id) else {
            return;
        };
        let duration = job.duration;
        let end = at.saturating_add(to_i64(duration));
        if self.journal.is_some() {
            let held = self.picked_paths();
            let _ = self.jr(|j| j.start(id, at, duration, end, &held));
        }
        self.set_state(id, JobState::Running);
        if let Some(j) = self.jobs.get_mut(&id) {
            j.start_time = at;
            j.end_time = end;
            j.r = r;
            j.reason.clear();
            j.reserved_at = 0;
        }
        self.ends.insert((end, id));
        self.allocated_total += 1;
        debug!(job_id = id, at, end, "allocated");
        self.push_event(id, EventKind::Alloc, at, at, String::new());
        self.dependency_started(id);
        let instance = self.specs.get(&id).is_some_and(|s| s.first().instance);
        let home = instance.then(|| self.open_home_lease(id, end));
        let mut launch = self.launch(id, duration);
        if let Some(lease) = home {
            self.instance_launch(&mut launch, lease);
        }
        self.specs.remove(&id);
        match self.executor.start(launch) {
            Ok(()) => {
                // Where its processes are, so a restart after a crash can
                // kill what would otherwise run on unguarded cores.
                let groups = self.executor.groups(id);
                if !groups.is_empty() {
                    let boot = crate::executor::boot_id();
                    let _ = self.jr(|j| j.processes(id, boot, &groups));
                }
                self.push_event(id, EventKind::Start, at, 0, String::new())
            }
            Err(e) => {
                warn!(job_id = id, error = %e, "job could not start");
                let now = self.clock.now();
                self.end_job(id, JobState::Failed, &format!("cannot start: {e}"), 0, now);
            }
        }
    }

    /// What the executor needs to start job `id` on what `picked` holds.
    fn launch(&self, id: JobId, duration: u64) -> Launch {
        let g = self.m.graph();
        let type_of = |v: VertexIdx| g.name_of(g.g[v].typ);
        let mut held: HashMap<&str, u64> = HashMap::new();
        for &(v, needs, _) in &self.picked {
            *held.entry(type_of(v)).or_default() += u64::from(needs);
        }
        let tasks = match self.specs.get(&id).map(|s| s.first()) {
            Some(js) => {
                let slots = slot_count(&js.resources, 1, &held).clamp(1, u64::from(u32::MAX));
                js.tasks
                    .iter()
                    .map(|t| TaskLaunch {
                        command: t.command.clone(),
                        count: t.count.copies(slots).min(u64::from(u32::MAX)) as u32,
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        // A multi-node allocation runs here only the part on this host's
        // node, when the graph names one after it.
        let nodes: Vec<VertexIdx> = self
            .picked
            .iter()
            .map(|p| p.0)
            .filter(|&v| type_of(v) == "node")
            .collect();
        let here = if nodes.len() > 1 {
            let short = self.host.split('.').next().unwrap_or_default();
            nodes
                .into_iter()
                .find(|&n| g.name_is(n, &self.host) || g.name_is(n, short))
        } else {
            None
        };
        let node_of = |v: VertexIdx| g.ancestors(v, self.dom).find(|&a| type_of(a) == "node");
        let output = self
            .specs
            .get(&id)
            .map(|s| s.first().output.clone())
            .unwrap_or_default();
        let mut cores = Vec::new();
        let mut gpus = Vec::new();
        for &(v, _, _) in &self.picked {
            if here.is_some_and(|h| node_of(v) != Some(h)) {
                continue;
            }
            match type_of(v) {
                "core" => cores.push(g.g[v].id),
                "gpu" => gpus.push(g.g[v].id),
                _ => {}
            }
        }
        cores.sort_unstable();
        cores.dedup();
        gpus.sort_unstable();
        gpus.dedup();
        Launch {
            job_id: id,
            owner: self.jobs.get(&id).map_or(self.owner(), |j| j.owner),
            tasks,
            cores,
            gpus,
            duration,
            output_dir: self.cfg.output_dir.clone(),
            stdout: output.stdout.map(|t| expand(&t, id).into()),
            stderr: output.stderr.map(|t| expand(&t, id).into()),
            env: Vec::new(),
        }
    }
}

/// The machine's host name ("" when unknown).
pub(super) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// How many slots an allocation of `rs` holds: the product of the counts
/// down to each slot. A count given as a range takes what was allocated
/// (`held`: units per type), divided by what each enclosing unit needs.
fn slot_count(rs: &[Resource], mult: u64, held: &HashMap<&str, u64>) -> u64 {
    let mut total = 0u64;
    for r in rs {
        let (min, max) = (u64::from(r.count.min), u64::from(r.count.max));
        let n = if min == max {
            min
        } else {
            // Estimate from what was booked: for a slot, from its first
            // child's type and count.
            let (typ, per) = match (r.typ.as_str(), r.with.first()) {
                ("slot", Some(c)) => (c.typ.as_str(), u64::from(c.count.min).max(1)),
                _ => (r.typ.as_str(), 1),
            };
            let got = held.get(typ).copied().unwrap_or(0) / per.saturating_mul(mult).max(1);
            got.clamp(min, max)
        };
        let m = mult.saturating_mul(n);
        total = total.saturating_add(if r.typ == "slot" {
            m
        } else {
            slot_count(&r.with, m, held)
        });
    }
    total
}

#[cfg(test)]
mod tests {
    use matcher::jobspec::Jobspec;

    use super::*;

    fn spec(text: &str) -> Jobspec {
        Jobspec::parse(text).unwrap()
    }

    #[test]
    fn slots_multiply_down_the_tree_and_ranges_follow_the_allocation() {
        let js = spec(
            "version: 9999\nresources:\n  - type: node\n    count: 2\n    with:\n      - type: slot\n        count: 3\n        label: d\n        with:\n          - {type: core, count: 2}\ntasks: [{command: [a], slot: d, count: {per_slot: 1}}]\n",
        );
        assert_eq!(slot_count(&js.resources, 1, &HashMap::new()), 6);
        let js = spec(
            "version: 9999\nresources:\n  - type: slot\n    count: {min: 1, max: 8}\n    label: d\n    with:\n      - {type: core, count: 2}\ntasks: [{command: [a], slot: d, count: {per_slot: 1}}]\n",
        );
        let held = HashMap::from([("core", 10u64)]);
        assert_eq!(slot_count(&js.resources, 1, &held), 5);
    }
}
