//! The resource-query session: one command at a time, printed as Fluxion
//! prints it. The work itself is the matcher handle's ([`Matcher`]);
//! this file parses each command's words and writes its output.
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use anyhow::Result;
use matcher::handle::{Document, ShrinkStep};
use matcher::traverser::{Errno, MatchOp};
use matcher::{writer, Jobspec, Matcher};
use resource_graph::Status;

use crate::{write_visits, BAR};

/// One run of the tool: the graph, what was matched, where output goes.
pub(crate) struct Session {
    pub(crate) m: Matcher,
    pub(crate) writer: Box<dyn writer::Writer>,
    pub(crate) out: Box<dyn Write>,
    pub(crate) elapse: bool,
    pub(crate) next_jobid: u64,
    pub(crate) jobspecs: BTreeMap<u64, String>,
    pub(crate) match_times: Vec<f64>,
    /// Commands that failed on bad input (unreadable or invalid jobspec).
    pub(crate) input_errors: u32,
    /// -T flexible: jobspecs may give alternative slot shapes.
    pub(crate) flexible: bool,
}

impl Session {
    /// `match OP JOBSPEC`.
    pub(crate) fn cmd_match(&mut self, args: &[&str]) -> Result<()> {
        if args.len() != 3 {
            eprintln!("ERROR: malformed command");
            return Ok(());
        }
        let Some(op) = MatchOp::parse(args[1]) else {
            eprintln!("ERROR: unknown subcmd {}", args[1]);
            return Ok(());
        };
        self.run_match(op, args[2])?;
        Ok(())
    }

    /// `multi-match OP JOBSPEC...`: one match per jobspec, in order,
    /// stopping at the first that finds nothing.
    pub(crate) fn cmd_multi_match(&mut self, args: &[&str]) -> Result<()> {
        if args.len() <= 3 {
            eprintln!("ERROR: malformed command");
            return Ok(());
        }
        let Some(op) = MatchOp::parse(args[1]) else {
            eprintln!("ERROR: unknown subcmd {}", args[1]);
            return Ok(());
        };
        for path in &args[2..] {
            if !self.run_match(op, path)? {
                break;
            }
        }
        Ok(())
    }

    /// Match one jobspec file and print the outcome; whether it matched.
    fn run_match(&mut self, op: MatchOp, path: &str) -> Result<bool> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("ERROR: can't open {path}: {e}");
                self.input_errors += 1;
                return Ok(false);
            }
        };
        let books = op.books();
        let jobid = self.next_jobid;
        if books {
            self.next_jobid += 1;
        }
        let start = Instant::now();
        let result = match Jobspec::parse(&text) {
            Ok(js) if !types_known(&js.resources, self.m.graph()) => {
                // Fluxion's jobspec reader refuses a type its graph never
                // named (the match then finds nothing).
                eprintln!(
                    "match_allocate: ERROR: Jobspec error for {jobid}: Value of \"type\" \
                     must be a resource type known to fluxion"
                );
                Err(Errno::Inval)
            }
            Ok(js) if self.flexible => self.run_flexible(&js, op, jobid, path),
            Ok(js) => self.m.run(&js, op, jobid, self.writer.as_mut()),
            Err(e) => {
                eprintln!("ERROR: {path}: {e}");
                self.input_errors += 1;
                Err(Errno::Inval)
            }
        };
        let elapsed = start.elapsed().as_secs_f64();
        self.match_times.push(elapsed);
        let r = self.writer.take();
        let o = &mut self.out;
        write!(o, "{r}")?;
        let (pre, post) = visits(&self.m);
        if op == MatchOp::Satisfiability {
            let sat = if result.is_ok() {
                "Satisfiable"
            } else {
                "Unsatisfiable"
            };
            writeln!(o, "{BAR}\nINFO: {sat} request\n{BAR}")?;
            if self.elapse {
                write_visits(o, elapsed, pre, post)?;
            }
            return Ok(result.is_ok());
        }
        let matched = result.is_ok();
        match result {
            Ok(m) => {
                let mode = match (books, m.at == 0) {
                    (false, _) => "MATCHED (nothing booked)",
                    (true, true) => "ALLOCATED",
                    (true, false) => "RESERVED",
                };
                let at = if m.at == 0 {
                    "Now".to_owned()
                } else {
                    m.at.to_string()
                };
                writeln!(
                    o,
                    "{BAR}\nINFO: JOBID={jobid}\nINFO: RESOURCES={mode}\nINFO: SCHEDULED AT={at}"
                )?;
                if self.elapse {
                    write_visits(o, elapsed, pre, post)?;
                }
                writeln!(o, "{BAR}")?;
                if books {
                    self.jobspecs.insert(jobid, path.to_owned());
                }
            }
            Err(e) => {
                writeln!(o, "{BAR}\nINFO: No matching resources found")?;
                if e == Errno::NoDev {
                    writeln!(o, "INFO: Unsatisfiable request")?;
                }
                writeln!(o, "INFO: JOBID={jobid}")?;
                if self.elapse {
                    write_visits(o, elapsed, pre, post)?;
                }
                writeln!(o, "{BAR}")?;
            }
        }
        Ok(matched)
    }

    /// Match a flexible jobspec: its `xor_slot` variants, tried in order
    /// at each start time the operation considers (its or-slots are the
    /// traverser's). Unsatisfiable only when every variant is.
    fn run_flexible(
        &mut self,
        js: &Jobspec,
        op: MatchOp,
        jobid: u64,
        path: &str,
    ) -> std::result::Result<matcher::traverser::MatchResult, Errno> {
        let alts = match matcher::flexible::xor_variants(js) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("ERROR: {path}: {e}");
                self.input_errors += 1;
                return Err(Errno::Inval);
            }
        };
        self.m
            .run_first(&alts, op, jobid, self.writer.as_mut())
            .map(|(_, m)| m)
    }

    /// `update allocate|reserve jgf|rv1exec FILE JOBID AT DURATION`: book
    /// the resources an R names for JOBID over [AT, AT+DURATION).
    pub(crate) fn cmd_update(&mut self, args: &[&str]) -> Result<()> {
        let [_, sub, reader, file, jobid, at, duration] = args else {
            eprintln!("ERROR: malformed command");
            return Ok(());
        };
        if *sub != "allocate" && *sub != "reserve" {
            eprintln!("ERROR: unknown subcmd {sub}");
            return Ok(());
        }
        if !["jgf", "jgf_shorthand", "rv1exec"].contains(reader) {
            eprintln!("ERROR: unsupported reader {reader}");
            return Ok(());
        }
        let Ok(text) = std::fs::read_to_string(file) else {
            eprintln!("ERROR: can't open {file}");
            return Ok(());
        };
        let (Ok(jobid), Ok(at), Ok(duration)) = (
            jobid.parse::<u64>(),
            at.parse::<i64>(),
            duration.parse::<u64>(),
        ) else {
            eprintln!("ERROR: malformed command: JOBID, AT and DURATION must be numbers");
            return Ok(());
        };
        if self.m.traverser().jobs.contains_key(&jobid) {
            eprintln!("ERROR: existing Jobid ");
            return Ok(());
        }
        if at < 0 || duration == 0 {
            eprintln!("ERROR: invalid time ({at}, {duration})");
            return Ok(());
        }
        let start = Instant::now();
        let doc = Document::new(reader, &text).expect("reader checked above");
        let booked = self
            .m
            .book_targets(doc, file)
            .and_then(|t| Ok(self.m.book(jobid, &t, at, duration, self.writer.as_mut())?));
        let elapsed = start.elapsed().as_secs_f64();
        if let Err(e) = &booked {
            eprintln!("ERROR: traverser run () returned error \nERROR: {e}");
        }
        let r = self.writer.take();
        write!(self.out, "{r}")?;
        if booked.is_ok() {
            let (mode, when) = if at == 0 {
                ("ALLOCATED", "Now".to_owned())
            } else {
                ("RESERVED", at.to_string())
            };
            writeln!(
                self.out,
                "{BAR}\nINFO: JOBID={jobid}\nINFO: RESOURCES={mode}\nINFO: SCHEDULED AT={when}"
            )?;
            self.jobspecs.insert(jobid, file.to_string());
        } else {
            writeln!(
                self.out,
                "{BAR}\nINFO: No matching resources found\nINFO: JOBID={jobid}"
            )?;
        }
        if self.elapse {
            writeln!(self.out, "INFO: ELAPSE={elapsed:.6}")?;
        }
        writeln!(self.out, "{BAR}")?;
        self.next_jobid = self.next_jobid.max(jobid + 1);
        Ok(())
    }

    /// `cat JOBSPEC`: print a jobspec file to the console.
    pub(crate) fn cmd_cat(&mut self, args: &[&str]) -> Result<()> {
        let [_, path] = args else {
            eprintln!("ERROR: malformed command");
            return Ok(());
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                print!("{text}");
                if !text.is_empty() && !text.ends_with('\n') {
                    println!();
                }
                println!("INFO: Jobspec in {path}");
            }
            Err(e) => eprintln!("ERROR: can't open {path}: {e}"),
        }
        Ok(())
    }

    pub(crate) fn cmd_cancel(&mut self, args: &[&str]) -> Result<()> {
        let Some(id) = args.get(1).and_then(|s| s.parse::<u64>().ok()) else {
            eprintln!("ERROR: malformed command: cancel JOBID");
            return Ok(());
        };
        let stats = match args.get(2) {
            None => false,
            Some(&"stats") => true,
            Some(other) => {
                eprintln!("ERROR: malformed command: cancel JOBID [stats], got '{other}'");
                return Ok(());
            }
        };
        if !self.m.cancel(id) {
            eprintln!("ERROR: nonexistent job {id}");
            return Ok(());
        }
        if stats {
            // Fluxion reports the visit counts of the traversal before the
            // cancel (the release itself is not counted there).
            let (pre, post) = visits(&self.m);
            writeln!(
                self.out,
                "{BAR}\nINFO: CANCEL PREORDER COUNT=\"{pre}\"\nINFO: CANCEL POSTORDER COUNT=\"{post}\"\n{BAR}"
            )?;
        }
        Ok(())
    }

    pub(crate) fn cmd_info(&mut self, args: &[&str]) -> Result<()> {
        let Some(id) = args.get(1).and_then(|s| s.parse::<u64>().ok()) else {
            eprintln!("ERROR: malformed command: info JOBID");
            return Ok(());
        };
        match self.m.traverser().jobs.get(&id) {
            Some(j) => {
                let state = if j.reserved { "RESERVED" } else { "ALLOCATED" };
                let js = self.jobspecs.get(&id).map_or("", String::as_str);
                // Like Fluxion, job queries go to the console, not to -t.
                println!("INFO: {id}, {state}, {}, {js}", j.at);
            }
            None => eprintln!("ERROR: jobid doesn't exist: {id}"),
        }
        Ok(())
    }

    /// `find EXPRESSION`: print the matching resources with the match
    /// writer, then the expression.
    pub(crate) fn cmd_find(&mut self, args: &[&str]) -> Result<()> {
        if args.len() < 2 {
            eprintln!("ERROR: malformed command: find EXPRESSION");
            return Ok(());
        }
        let criteria = args[1..].join(" ");
        let expr = match matcher::find::Expr::parse(&criteria) {
            Ok(e) => e,
            Err(why) => {
                eprintln!("ERROR: find: invalid criteria: {criteria}: {why}");
                return Ok(());
            }
        };
        if let Err(e) = self.m.find(&expr, self.writer.as_mut()) {
            eprintln!("ERROR: find: {e}");
            return Ok(());
        }
        let found = self.writer.take();
        write!(self.out, "{found}")?;
        writeln!(self.out, "{BAR}\nINFO: EXPRESSION=\"{criteria}\"\n{BAR}")?;
        Ok(())
    }

    /// `partial-cancel JOBID jgf|rv1exec FILE [stats]`: release the part
    /// of a job's allocation that FILE describes (the vertices of a JGF,
    /// or every vertex of the ranks of an R). Releasing all of it cancels
    /// the job.
    pub(crate) fn cmd_partial_cancel(&mut self, args: &[&str]) -> Result<()> {
        if !(4..=5).contains(&args.len()) {
            eprintln!("ERROR: malformed command: partial-cancel JOBID (jgf|rv1exec) FILE [stats]");
            return Ok(());
        }
        let (reader, file) = (args[2], args[3]);
        let stats = args.get(4) == Some(&"stats");
        if reader != "jgf" && reader != "rv1exec" {
            eprintln!("ERROR: unsupported reader {reader}");
            return Ok(());
        }
        let Ok(text) = std::fs::read_to_string(file) else {
            eprintln!("ERROR: can't open {file}");
            return Ok(());
        };
        let Some(jobid) = args[1]
            .parse::<u64>()
            .ok()
            .filter(|j| self.m.traverser().jobs.contains_key(j))
        else {
            eprintln!("ERROR: nonexistent job {}", args[1]);
            return Ok(());
        };
        if self.m.traverser().jobs[&jobid].reserved {
            eprintln!("ERROR: reservations not currently supported by partial cancel");
            return Ok(());
        }
        let doc = Document::new(reader, &text).expect("reader checked above");
        let result = self
            .m
            .release_targets(doc, file)
            .and_then(|vs| Ok(self.m.release(jobid, &vs)?));
        if let Err(e) = result {
            println!("{e}");
            eprintln!("ERROR: error encountered while removing job {jobid}");
        }
        if stats {
            // A partial release walks no graph: it visits the named
            // vertices directly, so a traversal counts nothing.
            let (pre, post) = visits(&self.m);
            writeln!(
                self.out,
                "{BAR}\nINFO: PARTIAL CANCEL PREORDER COUNT=\"{pre}\"\nINFO: PARTIAL CANCEL POSTORDER COUNT=\"{post}\"\n{BAR}"
            )?;
        }
        Ok(())
    }

    /// `attach FILE`: grow the graph by a JGF subgraph; its new resources
    /// can be matched at once.
    pub(crate) fn cmd_attach(&mut self, args: &[&str]) -> Result<()> {
        let [_, file] = args else {
            eprintln!("ERROR: malformed command");
            return Ok(());
        };
        let part = match resource_graph::jgf::read_path(std::path::Path::new(file)) {
            Ok(mut p) => {
                p.clear_units();
                p
            }
            Err(resource_graph::GraphError::Io { .. }) => {
                eprintln!("ERROR: can't open {file}");
                return Ok(());
            }
            Err(e) => {
                eprintln!("ERROR: can't attach JGF subgraph \nERROR: {e}");
                return Ok(());
            }
        };
        match self.m.grow(&part) {
            Ok(added) => {
                println!("INFO: attached {} new vertices from {file}", added.len());
            }
            Err(e) => eprintln!("ERROR: can't attach JGF subgraph \nERROR: {file}: {e}"),
        }
        Ok(())
    }

    /// `remove TARGET true|false`: detach the subgraph at a path (`true`)
    /// or the vertices of a rank set (`false`, after releasing what jobs
    /// hold there). Jobs that held removed resources are named on the
    /// console; their other resources stay theirs.
    pub(crate) fn cmd_remove(&mut self, args: &[&str]) -> Result<()> {
        let [_, target, is_path] = args else {
            eprintln!("ERROR: malformed command: remove (/path/to/vertex | idset) (true|false)");
            return Ok(());
        };
        let gone = match *is_path {
            "true" => match self.m.shrink_path(target) {
                Ok(s) => vec![ShrinkStep::Removed(s)],
                Err(e) => {
                    eprintln!("ERROR: can't remove subgraph \nERROR: {e}");
                    return Ok(());
                }
            },
            "false" => match self.m.shrink_ranks(target) {
                Ok(steps) => steps,
                Err(e) => {
                    eprintln!("ERROR: {e}");
                    return Ok(());
                }
            },
            _ => {
                eprintln!("ERROR: invalid path boolean input ");
                return Ok(());
            }
        };
        for step in gone {
            match step {
                ShrinkStep::ReleaseFailed { rank, job, why } => {
                    eprintln!("ERROR: can't release rank {rank} of job {job}: {why}");
                }
                // Jobs holding removed resources gave them up; what else
                // they hold stays theirs.
                ShrinkStep::Removed(s) if !s.jobs.is_empty() => {
                    let ids: Vec<String> = s.jobs.iter().map(u64::to_string).collect();
                    println!(
                        "INFO: removed {} ({} vertices) held by job(s) {}",
                        s.path,
                        s.removed,
                        ids.join(", ")
                    );
                }
                ShrinkStep::Removed(_) => {}
            }
        }
        Ok(())
    }

    /// `set-status PATH up|down`: mark one vertex; a down vertex and
    /// everything below it is never matched.
    pub(crate) fn cmd_set_status(&mut self, args: &[&str]) -> Result<()> {
        let [_, path, status] = args else {
            eprintln!("ERROR: malformed command: set-status PATH_TO_VERTEX {{up|down}}");
            return Ok(());
        };
        let Some(v) = self.m.find_path(path) else {
            writeln!(self.out, "Could not find path {path} in resource graph.")?;
            return Ok(());
        };
        let status = match *status {
            "up" => Status::Up,
            "down" => Status::Down,
            _ => {
                eprintln!("ERROR: unrecognized status");
                return Ok(());
            }
        };
        self.m.set_status(v, status);
        Ok(())
    }

    /// `get-status PATH`.
    pub(crate) fn cmd_get_status(&mut self, args: &[&str]) -> Result<()> {
        let [_, path] = args else {
            eprintln!("ERROR: malformed command: get-status PATH_TO_VERTEX");
            return Ok(());
        };
        let Some(v) = self.m.find_path(path) else {
            writeln!(self.out, "Could not find path {path} in resource graph.")?;
            return Ok(());
        };
        let status = match self.m.graph().g[v].status {
            Status::Up => "up",
            Status::Down => "down",
        };
        writeln!(self.out, "{path} is {status}")?;
        Ok(())
    }

    /// `set-property PATH KEY=VALUE` (a later value replaces an earlier).
    pub(crate) fn cmd_set_property(&mut self, args: &[&str]) -> Result<()> {
        let [_, path, kv] = args else {
            eprintln!("ERROR: malformed command: set-property PATH PROPERTY=VALUE");
            return Ok(());
        };
        let Some((key, value)) = kv
            .split_once('=')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        else {
            writeln!(
                self.out,
                "Incorrect input format. \nPlease use `set-property <resource> PROPERTY=VALUE`."
            )?;
            return Ok(());
        };
        match self.m.find_path(path) {
            Some(v) => self.m.set_property(v, key, value),
            None => writeln!(self.out, "Couldn't find path {path} in resource graph.")?,
        }
        Ok(())
    }

    /// `get-property PATH`: every property, one `KEY=VALUE` a line.
    pub(crate) fn cmd_get_property(&mut self, args: &[&str]) -> Result<()> {
        let [_, path] = args else {
            eprintln!("ERROR: malformed command: get-property PATH");
            return Ok(());
        };
        let Some(v) = self.m.find_path(path) else {
            writeln!(self.out, "Could not find path {path} in resource graph.")?;
            return Ok(());
        };
        let mut any = false;
        for (k, val) in self.m.graph().properties(v) {
            writeln!(self.out, "{k}={val}")?;
            any = true;
        }
        if !any {
            let uniq = self.m.graph().g[v].uniq_id;
            writeln!(
                self.out,
                "No properties were found for {path} (vtx's uniq_id={uniq})."
            )?;
        }
        Ok(())
    }

    pub(crate) fn cmd_stat(&mut self) -> Result<()> {
        let n = self.match_times.len();
        let (min, max, sum) = self
            .match_times
            .iter()
            .fold((f64::INFINITY, 0f64, 0f64), |(a, b, s), &t| {
                (a.min(t), b.max(t), s + t)
            });
        let avg = if n > 0 { sum / n as f64 } else { 0.0 };
        let min = if n > 0 { min } else { 0.0 };
        // Statistics go to the console, not to -t, as Fluxion's do.
        println!(
            "INFO: Num. of Total Vertices: {}",
            self.m.graph().vertex_count()
        );
        println!("INFO: Num. of Total Edges: {}", self.m.graph().edge_count());
        println!("INFO: Num. of Jobs Matched: {n}");
        println!("INFO: Min. Match Time: {min}");
        println!("INFO: Max. Match Time: {max}");
        println!("INFO: Avg. Match Time: {avg}");
        Ok(())
    }

    pub(crate) fn cmd_list(&mut self) -> Result<()> {
        for (id, j) in &self.m.traverser().jobs {
            let state = if j.reserved { "RESERVED" } else { "ALLOCATED" };
            println!("INFO: {id}, {state}, {}", j.at);
        }
        Ok(())
    }
}

/// The last walk's visit counts (pre-order, post-order).
fn visits(m: &Matcher) -> (u64, u64) {
    (m.traverser().preorder, m.traverser().postorder)
}

/// Whether every resource type `resources` name is one Fluxion knows:
/// the type of some vertex of `g`, or one of the types its code names
/// (slots, and the usual hardware, whether this graph has them or not).
fn types_known(
    resources: &[matcher::jobspec::Resource],
    g: &resource_graph::ResourceGraph,
) -> bool {
    const BUILT_IN: [&str; 10] = [
        "cluster",
        "core",
        "socket",
        "gpu",
        "node",
        "rack",
        "slot",
        "xor_slot",
        "ssd",
        "storage_node",
    ];
    resources.iter().all(|r| {
        let known = BUILT_IN.contains(&r.typ.as_str())
            || g.symbols
                .get(&r.typ)
                .is_some_and(|t| g.by_type.contains_key(&t));
        known && types_known(&r.with, g)
    })
}
