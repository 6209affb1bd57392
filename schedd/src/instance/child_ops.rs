//! A child's side of leases, on the instance: attach what the parent
//! granted, detach what is given back, and reconcile the graph with the
//! lease as the parent holds it (the parent wins).
//!
//! The graph of a child is a cache of its lease; nothing here is
//! journaled (a restarted child rebuilds its graph from the lease, then
//! its journal books its jobs again). Detaching refuses busy resources
//! and names the jobs holding them.
use std::collections::HashSet;

use matcher::handle::Document;
use resource_graph::VertexIdx;
use tracing::{info, warn};

use super::{Instance, InstanceError, JobId, JobState};

/// What a detach took out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Detached {
    /// The subtrees, by containment path.
    pub paths: Vec<String>,
    /// Vertices removed.
    pub removed: u64,
}

impl Instance {
    /// Attach a JGF subgraph (a grant, or a whole lease): vertices already
    /// here are kept, the others added and schedulable at once. Returns
    /// how many vertices were added.
    pub fn attach_jgf(&mut self, jgf: &str, origin: &str) -> Result<u64, InstanceError> {
        let added = self
            .m
            .grow_from(Document::Jgf(jgf), origin)
            .map_err(|e| InstanceError::BadRequest(format!("{origin}: {e}")))?;
        if !added.is_empty() {
            self.queue.mark_dirty();
            info!(origin, added = added.len(), "graph grown");
        }
        Ok(added.len() as u64)
    }

    /// Detach the subtrees at `paths`, or else `idle` idle vertices of
    /// type `typ` (the last ones first). Busy resources are refused with
    /// the jobs holding them named; nothing is detached then.
    pub fn detach(
        &mut self,
        paths: &[String],
        idle: u32,
        typ: &str,
    ) -> Result<Detached, InstanceError> {
        let picked = self.withhold(paths, idle, typ)?;
        self.remove_withheld(&picked)
    }

    /// The first half of a shrink: pick the subtrees at `paths`, or else
    /// `idle` idle vertices of type `typ` (the last ones first), and stop
    /// scheduling onto them (marked down, in memory only); their paths.
    /// Busy resources are refused with the jobs holding them named;
    /// nothing changes then. [`remove_withheld`](Self::remove_withheld)
    /// detaches them once the parent took them back, and
    /// [`undrain`](Self::undrain) makes them schedulable again when it
    /// did not.
    pub fn withhold(
        &mut self,
        paths: &[String],
        idle: u32,
        typ: &str,
    ) -> Result<Vec<String>, InstanceError> {
        let g = self.m.graph();
        let mut picked: Vec<VertexIdx> = Vec::new();
        if !paths.is_empty() {
            let mut busy = Vec::new();
            for (p, v) in paths.iter().zip(self.shrinkable(paths)?) {
                let jobs = self.m.jobs_below(v);
                if !jobs.is_empty() {
                    busy.push(format!("{p} (jobs {})", join(&jobs)));
                }
                picked.push(v);
            }
            if !busy.is_empty() {
                return Err(InstanceError::Conflict(format!(
                    "busy: {}; wait for those jobs to end, cancel them, or shrink with drain",
                    busy.join(", ")
                )));
            }
        } else {
            if idle == 0 {
                return Err(InstanceError::BadRequest(
                    "name paths or a number of idle vertices".into(),
                ));
            }
            let typ = if typ.is_empty() { "node" } else { typ };
            let all = g.of_type(typ).to_vec();
            let mut busy = Vec::new();
            for &v in all.iter().rev() {
                if picked.len() == idle as usize {
                    break;
                }
                let jobs = self.m.jobs_below(v);
                if jobs.is_empty() {
                    picked.push(v);
                } else {
                    busy.push(format!("{} (jobs {})", self.path_of(v), join(&jobs)));
                }
            }
            if picked.len() < idle as usize {
                return Err(InstanceError::Conflict(format!(
                    "only {} of the {} {typ} vertices here are idle, not {idle}{}",
                    picked.len(),
                    all.len(),
                    if busy.is_empty() {
                        String::new()
                    } else {
                        format!("; busy: {}", busy.join(", "))
                    }
                )));
            }
        }
        for &v in &picked {
            self.m.set_status(v, resource_graph::Status::Down);
        }
        self.queue.mark_dirty();
        Ok(picked.into_iter().map(|v| self.path_of(v)).collect())
    }

    /// Detach the subtrees at `paths` (withheld before: idle and down).
    pub fn remove_withheld(&mut self, paths: &[String]) -> Result<Detached, InstanceError> {
        let mut out = Detached::default();
        for p in paths {
            let gone = self
                .m
                .shrink_path(p)
                .map_err(|e| InstanceError::NotFound(format!("{p}: {e}")))?;
            out.removed += gone.removed as u64;
            out.paths.push(gone.path);
        }
        self.queue.mark_dirty();
        info!(paths = ?out.paths, removed = out.removed, "graph shrunk");
        Ok(out)
    }

    /// Make the graph the lease `jgf` describes: attach what is missing,
    /// detach what the lease no longer holds. Jobs that held detached
    /// resources fail, named in the log. Returns (added, removed).
    pub fn reconcile(&mut self, jgf: &str, origin: &str) -> Result<(u64, u64), InstanceError> {
        let part = resource_graph::jgf::read(jgf, origin)
            .map_err(|e| InstanceError::BadRequest(format!("{origin}: {e}")))?;
        let dom = part.symbols.get("containment");
        let theirs: HashSet<String> = match dom {
            Some(d) => part.vertices().filter_map(|v| part.path(v, d)).collect(),
            None => HashSet::new(),
        };
        let added = self.attach_jgf(jgf, origin)?;
        // Vertices here whose path the lease lacks, topmost only.
        let g = self.m.graph();
        let extra: Vec<String> = g
            .vertices()
            .filter_map(|v| {
                let p = g.path(v, self.dom)?;
                let parent_kept = g
                    .ancestors(v, self.dom)
                    .next()
                    .and_then(|a| g.path(a, self.dom))
                    .is_none_or(|ap| theirs.contains(&ap));
                (!theirs.contains(&p) && parent_kept).then_some(p)
            })
            .collect();
        let mut removed = 0;
        let now = self.clock.now();
        for p in extra {
            let Ok(gone) = self.m.shrink_path(&p) else {
                continue;
            };
            removed += gone.removed as u64;
            for job in gone.jobs {
                warn!(job_id = job, path = %p, "job lost resources the lease no longer holds");
                if self
                    .jobs
                    .get(&job)
                    .is_some_and(|j| j.state == JobState::Running && !j.by_match)
                {
                    self.executor.kill(job);
                }
                let why = format!("{p} left this instance's lease");
                self.end_job(job, JobState::Failed, &why, 0, now);
            }
        }
        if removed > 0 {
            self.queue.mark_dirty();
        }
        Ok((added, removed))
    }

    /// The lease is gone at the parent: detach everything but the root
    /// (failing the jobs there), so nothing here is scheduled on
    /// resources the parent may hand to others. Vertices removed.
    pub fn drop_lease(&mut self) -> Result<u64, InstanceError> {
        let g = self.m.graph();
        let root = g.roots.get(&self.dom).copied();
        let jgf = resource_graph::jgf_write::write_part(g, root, |v| Some(v) == root);
        Ok(self.reconcile(&jgf, "an empty lease")?.1)
    }

    /// The oldest pending job, when it has waited `after` seconds and
    /// cannot start: its id, jobspec and how many nodes it asks for at
    /// the top (1 when it names none), for a child that grows on demand.
    pub fn grow_candidate(&self, after: i64) -> Option<(JobId, String, u64)> {
        let now = self.clock.now();
        let j = self.jobs.values().find(|j| j.state == JobState::Pending)?;
        if now - j.submit_time < after || j.reserved_at > 0 {
            return None;
        }
        let nodes = self
            .specs
            .get(&j.id)
            .map(|s| {
                s.first()
                    .resources
                    .iter()
                    .filter(|r| r.typ == "node")
                    .map(|r| u64::from(r.count.min))
                    .sum::<u64>()
            })
            .unwrap_or(0);
        Some((j.id, j.jobspec.to_string(), nodes.max(1)))
    }

    /// End a pending job that can never run here (its lease cannot grow
    /// to hold it), with the reason.
    pub fn fail_pending(&mut self, id: JobId, reason: &str) {
        if self
            .jobs
            .get(&id)
            .is_some_and(|j| j.state == JobState::Pending)
        {
            let now = self.clock.now();
            self.end_job(id, JobState::Failed, reason, 0, now);
        }
    }

    /// The paths of the vertices of type `typ` no job holds anything in,
    /// and how many of that type there are.
    pub fn idle_of_type(&self, typ: &str) -> (Vec<String>, usize) {
        let all = self.m.graph().of_type(typ);
        let idle = all
            .iter()
            .filter(|&&v| self.m.jobs_below(v).is_empty())
            .map(|&v| self.path_of(v))
            .collect();
        (idle, all.len())
    }

    /// Begin draining the subtrees at `paths` before a shrink: nothing
    /// new is scheduled there (they are marked down, in memory only: a
    /// restart forgets a drain that never answered, and a shrink removes
    /// them anyway). Returns the jobs still running there.
    pub fn drain(&mut self, paths: &[String]) -> Result<Vec<JobId>, InstanceError> {
        let vs = self.shrinkable(paths)?;
        for &v in &vs {
            self.m.set_status(v, resource_graph::Status::Down);
        }
        self.queue.mark_dirty();
        info!(paths = ?paths, "draining before a shrink");
        Ok(self.jobs_at(&vs))
    }

    /// The jobs still holding anything at or below `paths` (none when a
    /// path is no longer here).
    pub fn jobs_below_paths(&self, paths: &[String]) -> Vec<JobId> {
        let g = self.m.graph();
        let vs: Vec<VertexIdx> = paths.iter().filter_map(|p| g.find_path(p)).collect();
        self.jobs_at(&vs)
    }

    /// Requeue every job running at or below `paths` (see
    /// [`Instance::requeue`]), so that they can be detached; the jobs.
    pub fn requeue_below(&mut self, paths: &[String]) -> Result<Vec<JobId>, InstanceError> {
        let vs = self.shrinkable(paths)?;
        let jobs = self.jobs_at(&vs);
        let why = format!("requeued: {} given back to the parent", paths.join(", "));
        for &id in &jobs {
            self.requeue(id, &why)?;
        }
        Ok(jobs)
    }

    /// Undo [`drain`](Self::drain) for those of `paths` still here.
    pub fn undrain(&mut self, paths: &[String]) {
        let vs: Vec<VertexIdx> = paths
            .iter()
            .filter_map(|p| self.m.graph().find_path(p))
            .collect();
        for v in vs {
            self.m.set_status(v, resource_graph::Status::Up);
        }
        self.queue.mark_dirty();
    }

    fn jobs_at(&self, vs: &[VertexIdx]) -> Vec<JobId> {
        let mut jobs: Vec<JobId> = vs.iter().flat_map(|&v| self.m.jobs_below(v)).collect();
        jobs.sort_unstable();
        jobs.dedup();
        jobs
    }

    /// The vertices at `paths`, each here and not the root.
    fn shrinkable(&self, paths: &[String]) -> Result<Vec<VertexIdx>, InstanceError> {
        let g = self.m.graph();
        let root = g.roots.get(&self.dom).copied();
        paths
            .iter()
            .map(|p| {
                let v = g
                    .find_path(p)
                    .ok_or_else(|| InstanceError::NotFound(format!("no vertex at path {p}")))?;
                if Some(v) == root {
                    return Err(InstanceError::BadRequest(format!(
                        "{p} is the root of this instance's graph; close the lease instead"
                    )));
                }
                Ok(v)
            })
            .collect()
    }

    pub(super) fn path_of(&self, v: VertexIdx) -> String {
        let g = self.m.graph();
        g.path(v, self.dom).unwrap_or_else(|| g.name(v))
    }
}

pub(super) fn join(ids: &[u64]) -> String {
    ids.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
