//! The direct graph API, beside the queue: resource-query's match ops
//! (a booking becomes a job that holds what was booked), the resources as
//! JGF or R, find expressions, and marking vertices up or down.
use std::time::Instant;

use matcher::traverser::{Errno, MatchOp};
use matcher::writer::{self, Writer};
use resource_graph::{Status as VertexStatus, VertexIdx};
use tracing::info;

use super::spec::Spec;
use super::unsat::unsat_reason;
use super::writers::Tee;
use super::{EventKind, Instance, InstanceError, Job, JobId, JobState, ParsedJobspec};
use crate::journal::{to_i64, BookedVertex, JobRecord};

/// What a match op did.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchOutcome {
    /// The job that holds what was booked; 0 when nothing was.
    pub job_id: JobId,
    /// Start of the allocation or reservation (0 when nothing matched).
    pub at: i64,
    /// The booking is a reservation (starts after now).
    pub reserved: bool,
    /// The allocation in the asked format ("" when nothing matched).
    pub r: String,
    /// Seconds the match took.
    pub elapsed: f64,
    /// Whether resources were found (false: busy now, nothing booked).
    pub matched: bool,
    /// What was booked, by path, and the vertices (empty when nothing
    /// was): what the journal keeps of the job, computed once.
    pub held: Vec<BookedVertex>,
    pub vertices: Vec<VertexIdx>,
}

/// Which vertices [`Instance::resources`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceFilter {
    /// Every vertex.
    All,
    /// Vertices no job holds now.
    Free,
    /// Vertices some job holds now.
    Allocated,
    /// Vertices that are down.
    Down,
}

impl Instance {
    /// The resource-query match ops, without the queue. Ops that book
    /// (allocate, allocate_orelse_reserve, allocate_with_satisfiability)
    /// create a job of `owner` holding what was booked for its duration
    /// or until canceled; the others book nothing (job id 0). `format`
    /// names the writer of the returned `r` ("" = the R jobs get, `--match-format`). Busy now:
    /// `matched` false. Never satisfiable: `Unsatisfiable`.
    pub fn match_op(
        &mut self,
        owner: u32,
        jobspec: &str,
        op: MatchOp,
        format: &str,
    ) -> Result<MatchOutcome, InstanceError> {
        let parsed = ParsedJobspec::parse(jobspec.to_owned())?;
        self.match_parsed(owner, parsed, op, format)
    }

    /// [`Instance::match_op`] of a jobspec already parsed; it may not ask
    /// for longer than `--max-duration`.
    pub fn match_parsed(
        &mut self,
        owner: u32,
        parsed: ParsedJobspec,
        op: MatchOp,
        format: &str,
    ) -> Result<MatchOutcome, InstanceError> {
        let format = match format {
            "" if self.cfg.r_scheduling => "rv1",
            "" => "rv1_nosched",
            f => f,
        };
        let mut out = writer::create(format).ok_or_else(|| {
            InstanceError::BadRequest(format!(
                "format: unknown writer '{format}' (expected one of {})",
                writer::NAMES.join(", ")
            ))
        })?;
        self.match_into(owner, parsed, op, out.as_mut())
    }

    /// [`match_parsed`](Self::match_parsed) with the caller's writer
    /// given (a caller that needs no R passes one that keeps nothing).
    pub(super) fn match_into(
        &mut self,
        owner: u32,
        parsed: ParsedJobspec,
        op: MatchOp,
        out: &mut dyn Writer,
    ) -> Result<MatchOutcome, InstanceError> {
        self.check_duration(&parsed.jobspec)?;
        let jobspec = parsed.text.as_str();
        let js = self.with_default_duration(parsed.jobspec);
        let spec = Spec::new(js, self.cfg.flexible)?;
        let books = op.books();
        let now = self.clock.now();
        self.m.set_now(now);
        let id = self.next_id;
        self.picked.clear();
        let t0 = Instant::now();
        let res = {
            // A booked job keeps the R every job gets (--match-format),
            // whatever the caller asked to see, as replay rebuilds it.
            let also: Option<&mut dyn Writer> = if books { Some(&mut self.rv1) } else { None };
            let mut tee = Tee {
                out,
                also,
                picked: &mut self.picked,
            };
            self.m.run_first(spec.shapes(), op, id, &mut tee)
        };
        self.note_latency(t0);
        let elapsed = t0.elapsed().as_secs_f64();
        let text = out.take();
        let js = spec.first();
        let m = match res {
            Ok((_, m)) => m,
            Err(Errno::NoDev) => {
                self.rv1.take();
                return Err(InstanceError::Unsatisfiable(unsat_reason(
                    self.m.graph(),
                    self.dom,
                    js,
                )));
            }
            Err(Errno::Busy) => {
                self.rv1.take();
                return Ok(MatchOutcome {
                    job_id: 0,
                    at: 0,
                    reserved: false,
                    r: String::new(),
                    elapsed,
                    matched: false,
                    held: Vec::new(),
                    vertices: Vec::new(),
                });
            }
            Err(Errno::Inval) => {
                self.rv1.take();
                return Err(InstanceError::BadRequest(
                    "jobspec: cannot be matched against this graph".into(),
                ));
            }
        };
        let reserved = m.at > now;
        if !books {
            return Ok(MatchOutcome {
                job_id: 0,
                at: m.at,
                reserved,
                r: text,
                elapsed,
                matched: true,
                held: Vec::new(),
                vertices: Vec::new(),
            });
        }
        let r = self.rv1.take();
        let before = self.journal_failures;
        let end = m.at.saturating_add(to_i64(js.duration));
        let rec = JobRecord {
            id,
            name: String::new(),
            owner,
            submit_time: now,
            jobspec: jobspec.into(),
            duration: js.duration,
            by_match: true,
            state: JobState::Running.as_str().into(),
            start_time: m.at,
            end_time: end,
            reason: String::new(),
            exit_code: 0,
        };
        if let Err(e) = self.jr(|j| j.submit(&rec)) {
            // Not recorded: undo the booking, as if nothing had happened.
            self.m.cancel(id);
            return Err(e);
        }
        let (held, vertices) = self.picked_held();
        let _ = self.jr(|j| j.allocate(id, m.at, js.duration, &held));
        self.next_id += 1;
        let job = Job {
            r,
            reserved_at: if reserved { m.at } else { 0 },
            ..Job::from_record(rec, JobState::Running)
        };
        self.jobs.insert(id, job);
        self.tally(owner, JobState::Running, 1);
        self.submitted_total += 1;
        self.allocated_total += 1;
        self.ends.insert((end, id));
        self.push_event(id, EventKind::Submit, now, 0, String::new());
        let kind = if reserved {
            EventKind::Reserve
        } else {
            EventKind::Alloc
        };
        self.push_event(id, kind, now, m.at, "match".into());
        self.journal_since(before)?;
        Ok(MatchOutcome {
            job_id: id,
            at: m.at,
            reserved,
            r: text,
            elapsed,
            matched: true,
            held,
            vertices,
        })
    }

    /// The instance's resources as "jgf" or "rv1" text, optionally only
    /// part of them; with the number of vertices written.
    pub fn resources(
        &mut self,
        format: &str,
        filter: ResourceFilter,
    ) -> Result<(String, u64), InstanceError> {
        if format != "jgf" && format != "rv1" {
            return Err(InstanceError::BadRequest(format!(
                "format: must be jgf or rv1, not '{format}'"
            )));
        }
        if format == "jgf" && filter == ResourceFilter::All {
            let text = resource_graph::jgf_write::write_text(self.m.graph());
            return Ok((text, self.m.graph().vertex_count() as u64));
        }
        let expr = match filter {
            ResourceFilter::All => "status=up or status=down",
            ResourceFilter::Free => "sched-now=free",
            ResourceFilter::Allocated => "sched-now=allocated",
            ResourceFilter::Down => "status=down",
        };
        self.find(expr, format)
    }

    /// The vertices matching a find expression, written by `format`
    /// ("simple", "rv1", "jgf", ...), and how many there are.
    pub fn find(&mut self, expr: &str, format: &str) -> Result<(String, u64), InstanceError> {
        let mut w = writer::create(format).ok_or_else(|| {
            InstanceError::BadRequest(format!("format: unknown writer '{format}'"))
        })?;
        let e = matcher::find::Expr::parse(expr)
            .map_err(|e| InstanceError::BadRequest(format!("expression: {e}")))?;
        self.m.set_now(self.clock.now());
        let n = self
            .m
            .find(&e, w.as_mut())
            .map_err(|e| InstanceError::BadRequest(format!("expression: {e}")))?;
        Ok((w.take(), n as u64))
    }

    /// Mark the vertex at `path` (and so its subtree) up or down. Only the
    /// instance owner (or root) may.
    pub fn set_status(&mut self, caller: u32, path: &str, up: bool) -> Result<(), InstanceError> {
        self.authz.may_set_status(caller)?;
        let v = self
            .m
            .graph()
            .find_path(path)
            .ok_or_else(|| InstanceError::NotFound(format!("no vertex at path {path}")))?;
        let status = if up {
            VertexStatus::Up
        } else {
            VertexStatus::Down
        };
        if self.m.graph().g[v].status == status {
            return Ok(());
        }
        self.jr(|j| j.vertex_status(path, up))?;
        self.m.set_status(v, status);
        // Up may unblock jobs; down may invalidate reservations.
        self.queue.mark_dirty();
        info!(path, up, "vertex status set");
        Ok(())
    }
}
