//! `resource-query`: a drop-in for Fluxion's resource-query. Loads a
//! resource graph, then reads commands (match, cancel, info, stat, ...)
//! from standard input and prints allocations the way Fluxion does.
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use matcher::traverser::{Errno, MatchOp};
use matcher::{policy, writer, Jobspec, Traverser};
use resource_graph::{ResourceGraph, Status, Sym, VertexIdx};

/// Match jobspecs against a resource graph, interactively or from a script.
#[derive(Parser, Debug)]
#[command(name = "resource-query", version, about)]
struct Args {
    /// Resource graph file to load (a GRUG recipe, JGF with -f jgf, an R
    /// document with -f rv1exec, an hwloc XML export with -f hwloc), or
    /// `auto` (the default): discover this machine with hwloc and NVML.
    #[arg(short = 'L', long = "load-file", default_value = "auto")]
    load_file: PathBuf,
    /// Format of the load file: grug (GraphML or YAML recipe), jgf,
    /// rv1exec (RFC 20 R version 1, its execution part) or hwloc (XML).
    #[arg(short = 'f', long = "load-format", default_value = "grug")]
    load_format: String,
    /// Only load these resource types (comma-separated, e.g.
    /// node,socket,core,gpu); hwloc and discovery only.
    #[arg(short = 'W', long = "load-allowlist")]
    load_allowlist: Option<String>,
    /// Subsystems to match in: CA (containment), PA (power), C+PA, IBA, ALL.
    #[arg(short = 'S', long = "match-subsystems", default_value = "CA")]
    subsystems: String,
    /// Match policy: first, firstnodex, high, low, hinode, lonode, hinodex,
    /// lonodex, locality (pack into the highest contiguous block),
    /// variation (prefer the lowest perf_class property), or
    /// "policy=low node_centric=true ..." options.
    #[arg(short = 'P', long = "match-policy", default_value = "first")]
    policy: String,
    // Output format of allocations; the help lists the writers.
    #[arg(
        short = 'F',
        long = "match-format",
        default_value = "simple",
        help = format!("Output format of allocations: {}", or_list(writer::NAMES))
    )]
    format: String,
    /// Pruning filters: ANCHOR:TYPE pairs, e.g. ALL:core,rack:node.
    #[arg(
        short = 'p',
        long = "prune-filters",
        default_value = "ALL:core,ALL:node"
    )]
    prune_filters: String,
    /// Write command output to this file instead of standard output.
    #[arg(short = 't', long = "test-output")]
    test_output: Option<PathBuf>,
    /// Vertices to reserve memory for up front (accepted; loading sizes itself).
    #[arg(short = 'r', long = "reserve-vtx-vec")]
    reserve: Option<u64>,
    /// Print the elapsed time of each match.
    #[arg(short = 'e', long = "elapse-time")]
    elapse: bool,
    /// Do not print the interactive prompt.
    #[arg(short = 'd', long = "disable-prompt")]
    disable_prompt: bool,
    /// Walk only what can win under ranking policies (high, low, *node,
    /// *nodex): far faster on large graphs, the same choice whenever
    /// candidates do not tie. Without it the walk is exhaustive, as
    /// Fluxion's, so ties and visit counts come out exactly as there.
    #[arg(short = 'B', long = "bounded")]
    bounded: bool,
    /// Reserve at the true earliest start. Without it, allocate_orelse_reserve
    /// tries start times in Fluxion's order, which differs only after the
    /// graph grew or shrank (attach, remove): Fluxion's planner then keeps
    /// each change point's free count from before the resize until a job's
    /// span over the point changes, and passes over points that gained room.
    #[arg(long = "exact-reserve")]
    exact_reserve: bool,
    /// Traverser policy: simple, or flexible (sibling slots in a jobspec
    /// are alternative shapes, tried in order; the first that fits wins).
    #[arg(short = 'T', long = "traverser-policy", default_value = "simple")]
    traverser: String,
    /// Write the loaded graph for people to BASENAME.dot (Graphviz: the
    /// containment tree, other subsystems dashed) or BASENAME.graphml
    /// (typed attributes, for yEd, Gephi, networkx). Case-insensitive;
    /// -g without -o writes resource-graph.dot or resource-graph.graphml.
    #[arg(short = 'g', long = "graph-format", value_name = "dot|graphml")]
    graph_format: Option<resource_graph::export::Format>,
    /// Basename of the -g file: the format's extension is appended (.dot,
    /// .graphml), as in Fluxion. Without -g the format is dot.
    #[arg(
        short = 'o',
        long = "graph-output",
        visible_alias = "output",
        value_name = "BASENAME"
    )]
    output: Option<PathBuf>,
}

fn subsystems(spec: &str) -> Result<Vec<&'static str>> {
    Ok(match spec {
        "CA" => vec!["containment"],
        "PA" => vec!["power"],
        "IBA" => vec!["ibnet"],
        "C+PA" => vec!["containment", "power"],
        "C+IBA" => vec!["containment", "ibnet"],
        "ALL" => vec!["containment", "ibnet", "power"],
        other => {
            bail!("unknown match subsystems '{other}' (expected CA, PA, IBA, C+PA, C+IBA or ALL)")
        }
    })
}

struct Session {
    g: ResourceGraph,
    trav: Traverser,
    writer: Box<dyn writer::Writer>,
    out: Box<dyn Write>,
    elapse: bool,
    next_jobid: u64,
    jobspecs: BTreeMap<u64, String>,
    match_times: Vec<f64>,
    /// Commands that failed on bad input (unreadable or invalid jobspec).
    input_errors: u32,
    /// The dominant subsystem.
    dom_name: &'static str,
    /// -T flexible: jobspecs may give alternative slot shapes.
    flexible: bool,
}

impl Session {
    /// `match OP JOBSPEC`.
    fn cmd_match(&mut self, args: &[&str]) -> Result<()> {
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
    fn cmd_multi_match(&mut self, args: &[&str]) -> Result<()> {
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
            Ok(js) if self.flexible => self.run_flexible(&js, op, jobid, path),
            Ok(js) => self
                .trav
                .run(&mut self.g, &js, op, jobid, self.writer.as_mut()),
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
        let (pre, post) = (self.trav.preorder, self.trav.postorder);
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

    /// Match the alternatives of a flexible jobspec in order; the first
    /// the operation satisfies is the job. Unsatisfiable only when every
    /// alternative is.
    fn run_flexible(
        &mut self,
        js: &Jobspec,
        op: MatchOp,
        jobid: u64,
        path: &str,
    ) -> std::result::Result<matcher::traverser::MatchResult, Errno> {
        let alts = match matcher::flexible::alternatives(js) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("ERROR: {path}: {e}");
                self.input_errors += 1;
                return Err(Errno::Inval);
            }
        };
        let mut last = Err(Errno::NoDev);
        for alt in &alts {
            match self
                .trav
                .run(&mut self.g, alt, op, jobid, self.writer.as_mut())
            {
                Ok(m) => return Ok(m),
                Err(Errno::NoDev) => {}
                Err(e) => last = Err(e),
            }
        }
        last
    }

    /// `update allocate|reserve jgf|rv1exec FILE JOBID AT DURATION`: book
    /// the resources an R names for JOBID over [AT, AT+DURATION).
    fn cmd_update(&mut self, args: &[&str]) -> Result<()> {
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
        if self.trav.jobs.contains_key(&jobid) {
            eprintln!("ERROR: existing Jobid ");
            return Ok(());
        }
        if at < 0 || duration == 0 {
            eprintln!("ERROR: invalid time ({at}, {duration})");
            return Ok(());
        }
        let start = Instant::now();
        let booked = self.book_targets(reader, &text, file).and_then(|t| {
            self.trav
                .book(&mut self.g, jobid, &t, at, duration, self.writer.as_mut())
                .map_err(|e| e.to_string())
        });
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

    /// What an R books: a JGF's vertices (units from `size`, exclusive as
    /// the file says) or, for R version 1, each rank's node (shared) and
    /// the children it lists (exclusive).
    fn book_targets(
        &mut self,
        reader: &str,
        text: &str,
        origin: &str,
    ) -> std::result::Result<Vec<(VertexIdx, u32, bool)>, String> {
        let dom = self.g.sym(self.dom_name);
        let mut out = Vec::new();
        if reader == "rv1exec" {
            let r =
                resource_graph::rv1exec::RSet::parse(text, origin).map_err(|e| e.to_string())?;
            for rank in &r.ranks {
                let vs = self.g.of_rank(i64::from(rank.rank));
                let Some(top) = self.rank_top(&vs, dom) else {
                    return Err(format!(
                        "{origin}: rank {} is not in the resource graph",
                        rank.rank
                    ));
                };
                out.push((top, 1, false));
                let below = self.g.subtree(top, dom);
                for (typ, ids) in &rank.children {
                    for id in ids.iter() {
                        let hit = below.iter().copied().find(|&v| {
                            self.g.name_of(self.g.g[v].typ) == typ
                                && self.g.g[v].id == i64::from(id)
                        });
                        match hit {
                            Some(v) => out.push((v, self.g.g[v].size as u32, true)),
                            None => {
                                return Err(format!(
                                    "{origin}: rank {} has no {typ}{id}",
                                    rank.rank
                                ))
                            }
                        }
                    }
                }
            }
            return Ok(out);
        }
        let doc: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("{origin}: invalid JSON: {e}"))?;
        let part = resource_graph::jgf::read_value(&doc, origin).map_err(|e| e.to_string())?;
        let nodes = doc["graph"]["nodes"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        for (v, n) in part.vertices().zip(nodes.iter()) {
            let (_, mine) = self.local_vertex(&part, v, origin)?;
            let exclusive = n["metadata"]["exclusive"].as_bool().unwrap_or(false);
            let units = part.g[v].size as u32;
            out.push((mine, units, exclusive));
        }
        // In shorthand JGF an exclusively held vertex stands for all that
        // lies below it.
        if reader == "jgf_shorthand" {
            let mut seen: std::collections::HashSet<VertexIdx> = out.iter().map(|t| t.0).collect();
            let excl: Vec<VertexIdx> = out.iter().filter(|t| t.2).map(|t| t.0).collect();
            for v in excl {
                for w in self.g.subtree(v, dom).into_iter().skip(1) {
                    if seen.insert(w) {
                        out.push((w, self.g.g[w].size as u32, true));
                    }
                }
            }
        }
        Ok(out)
    }

    /// `cat JOBSPEC`: print a jobspec file to the console.
    fn cmd_cat(&mut self, args: &[&str]) -> Result<()> {
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

    fn cmd_cancel(&mut self, args: &[&str]) -> Result<()> {
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
        if !self.trav.cancel(&mut self.g, id) {
            eprintln!("ERROR: nonexistent job {id}");
            return Ok(());
        }
        if stats {
            // Fluxion reports the visit counts of the traversal before the
            // cancel (the release itself is not counted there).
            let (pre, post) = (self.trav.preorder, self.trav.postorder);
            writeln!(
                self.out,
                "{BAR}\nINFO: CANCEL PREORDER COUNT=\"{pre}\"\nINFO: CANCEL POSTORDER COUNT=\"{post}\"\n{BAR}"
            )?;
        }
        Ok(())
    }

    fn cmd_info(&mut self, args: &[&str]) -> Result<()> {
        let Some(id) = args.get(1).and_then(|s| s.parse::<u64>().ok()) else {
            eprintln!("ERROR: malformed command: info JOBID");
            return Ok(());
        };
        match self.trav.jobs.get(&id) {
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
    fn cmd_find(&mut self, args: &[&str]) -> Result<()> {
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
        if let Err(e) = self.trav.find(&self.g, &expr, self.writer.as_mut()) {
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
    fn cmd_partial_cancel(&mut self, args: &[&str]) -> Result<()> {
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
            .filter(|j| self.trav.jobs.contains_key(j))
        else {
            eprintln!("ERROR: nonexistent job {}", args[1]);
            return Ok(());
        };
        if self.trav.jobs[&jobid].reserved {
            eprintln!("ERROR: reservations not currently supported by partial cancel");
            return Ok(());
        }
        let result = self.release_targets(reader, &text, file).and_then(|vs| {
            self.trav
                .release(&mut self.g, jobid, &vs)
                .map_err(|e| e.to_string())
        });
        if let Err(e) = result {
            println!("{e}");
            eprintln!("ERROR: error encountered while removing job {jobid}");
        }
        if stats {
            // A partial release walks no graph: it visits the named
            // vertices directly, so a traversal counts nothing.
            let (pre, post) = (self.trav.preorder, self.trav.postorder);
            writeln!(
                self.out,
                "{BAR}\nINFO: PARTIAL CANCEL PREORDER COUNT=\"{pre}\"\nINFO: PARTIAL CANCEL POSTORDER COUNT=\"{post}\"\n{BAR}"
            )?;
        }
        Ok(())
    }

    /// The vertex of our graph at the path vertex `v` of `part` has in
    /// the matched subsystem, with that path.
    fn local_vertex(
        &self,
        part: &ResourceGraph,
        v: VertexIdx,
        origin: &str,
    ) -> std::result::Result<(String, VertexIdx), String> {
        let pdom = part.symbols.get(self.dom_name);
        let Some(path) = pdom.and_then(|s| part.path(v, s)) else {
            return Err(format!(
                "{origin}: vertex {} has no {} path",
                part.name(v),
                self.dom_name
            ));
        };
        match self.g.find_path(&path) {
            Some(mine) => Ok((path, mine)),
            None => Err(format!("{origin}: {path} is not in the resource graph")),
        }
    }

    /// The vertex of a rank nearest the root (its subgraph hangs there).
    fn rank_top(&self, vs: &[VertexIdx], dom: Sym) -> Option<VertexIdx> {
        vs.iter()
            .copied()
            .min_by_key(|&v| self.g.path(v, dom).map_or(usize::MAX, |p| p.len()))
    }

    /// The vertices a partial release names: a JGF's vertices found by
    /// their containment path (the rank, when given, must agree), or all
    /// vertices of an R's ranks. Nothing is released unless all are found.
    fn release_targets(
        &mut self,
        reader: &str,
        text: &str,
        origin: &str,
    ) -> std::result::Result<Vec<VertexIdx>, String> {
        let mut out = Vec::new();
        if reader == "rv1exec" {
            let r =
                resource_graph::rv1exec::RSet::parse(text, origin).map_err(|e| e.to_string())?;
            for rank in &r.ranks {
                let vs = self.g.of_rank(i64::from(rank.rank));
                if vs.is_empty() {
                    return Err(format!(
                        "{origin}: rank {} is not in the resource graph",
                        rank.rank
                    ));
                }
                out.extend(vs);
            }
            return Ok(out);
        }
        let part = resource_graph::jgf::read(text, origin).map_err(|e| e.to_string())?;
        for v in part.vertices() {
            let (path, mine) = self.local_vertex(&part, v, origin)?;
            let (want, have) = (part.g[v].rank, self.g.g[mine].rank);
            if want != have {
                return Err(format!(
                    "{origin}: {path} has rank {want}, the resource graph says {have}"
                ));
            }
            out.push(mine);
        }
        Ok(out)
    }

    /// `attach FILE`: grow the graph by a JGF subgraph; its new resources
    /// can be matched at once.
    fn cmd_attach(&mut self, args: &[&str]) -> Result<()> {
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
        match self.g.attach(&part, self.dom_name) {
            Ok(added) => {
                self.trav.attached(&mut self.g, &added);
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
    fn cmd_remove(&mut self, args: &[&str]) -> Result<()> {
        let [_, target, is_path] = args else {
            eprintln!("ERROR: malformed command: remove (/path/to/vertex | idset) (true|false)");
            return Ok(());
        };
        let dom = self.g.sym(self.dom_name);
        let roots: Vec<VertexIdx> = match *is_path {
            "true" => match self.g.find_path(target) {
                Some(v) => vec![v],
                None => {
                    eprintln!("ERROR: can't remove subgraph \nERROR: no vertex at path {target}");
                    return Ok(());
                }
            },
            "false" => {
                let ranks = match resource_graph::idset::decode(target) {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("ERROR: failed to decode ranks: {e}");
                        return Ok(());
                    }
                };
                let mut roots = Vec::new();
                for rank in ranks {
                    let vs = self.g.of_rank(rank as i64);
                    for job in self.trav.jobs.keys().copied().collect::<Vec<_>>() {
                        if let Err(e) = self.trav.release(&mut self.g, job, &vs) {
                            eprintln!("ERROR: can't release rank {rank} of job {job}: {e}");
                        }
                    }
                    // The rank's subgraph hangs from its vertex nearest the root.
                    if let Some(top) = self.rank_top(&vs, dom) {
                        roots.push(top);
                    }
                }
                roots
            }
            _ => {
                eprintln!("ERROR: invalid path boolean input ");
                return Ok(());
            }
        };
        for v in roots {
            if !self.g.g.contains_node(v) {
                continue;
            }
            // Jobs holding removed resources give them up, so the
            // aggregates above stay true; what else they hold stays theirs.
            let name = self.g.path(v, dom).unwrap_or_else(|| self.g.name(v));
            let gone = self.trav.detach(&mut self.g, v);
            if !gone.jobs.is_empty() {
                let ids: Vec<String> = gone.jobs.iter().map(u64::to_string).collect();
                println!(
                    "INFO: removed {name} ({} vertices) held by job(s) {}",
                    gone.removed,
                    ids.join(", ")
                );
            }
        }
        Ok(())
    }

    /// `set-status PATH up|down`: mark one vertex; a down vertex and
    /// everything below it is never matched.
    fn cmd_set_status(&mut self, args: &[&str]) -> Result<()> {
        let [_, path, status] = args else {
            eprintln!("ERROR: malformed command: set-status PATH_TO_VERTEX {{up|down}}");
            return Ok(());
        };
        let Some(v) = self.g.find_path(path) else {
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
        if self.g.g[v].status != status {
            self.g.set_status(v, status);
        }
        Ok(())
    }

    /// `get-status PATH`.
    fn cmd_get_status(&mut self, args: &[&str]) -> Result<()> {
        let [_, path] = args else {
            eprintln!("ERROR: malformed command: get-status PATH_TO_VERTEX");
            return Ok(());
        };
        let Some(v) = self.g.find_path(path) else {
            writeln!(self.out, "Could not find path {path} in resource graph.")?;
            return Ok(());
        };
        let status = match self.g.g[v].status {
            Status::Up => "up",
            Status::Down => "down",
        };
        writeln!(self.out, "{path} is {status}")?;
        Ok(())
    }

    /// `set-property PATH KEY=VALUE` (a later value replaces an earlier).
    fn cmd_set_property(&mut self, args: &[&str]) -> Result<()> {
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
        match self.g.find_path(path) {
            Some(v) => self.g.set_property(v, key, value),
            None => writeln!(self.out, "Couldn't find path {path} in resource graph.")?,
        }
        Ok(())
    }

    /// `get-property PATH`: every property, one `KEY=VALUE` a line.
    fn cmd_get_property(&mut self, args: &[&str]) -> Result<()> {
        let [_, path] = args else {
            eprintln!("ERROR: malformed command: get-property PATH");
            return Ok(());
        };
        let Some(v) = self.g.find_path(path) else {
            writeln!(self.out, "Could not find path {path} in resource graph.")?;
            return Ok(());
        };
        let mut any = false;
        for (k, val) in self.g.properties(v) {
            writeln!(self.out, "{k}={val}")?;
            any = true;
        }
        if !any {
            let uniq = self.g.g[v].uniq_id;
            writeln!(
                self.out,
                "No properties were found for {path} (vtx's uniq_id={uniq})."
            )?;
        }
        Ok(())
    }

    fn cmd_stat(&mut self) -> Result<()> {
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
        println!("INFO: Num. of Total Vertices: {}", self.g.vertex_count());
        println!("INFO: Num. of Total Edges: {}", self.g.edge_count());
        println!("INFO: Num. of Jobs Matched: {n}");
        println!("INFO: Min. Match Time: {min}");
        println!("INFO: Max. Match Time: {max}");
        println!("INFO: Avg. Match Time: {avg}");
        Ok(())
    }

    fn cmd_list(&mut self) -> Result<()> {
        for (id, j) in &self.trav.jobs {
            let state = if j.reserved { "RESERVED" } else { "ALLOCATED" };
            println!("INFO: {id}, {state}, {}", j.at);
        }
        Ok(())
    }
}

fn load(args: &Args) -> Result<ResourceGraph> {
    use resource_graph::loader::{self, Format, LoadOptions, Source};
    let path = &args.load_file;
    let format = Format::parse(&args.load_format)?;
    let discovering = path.as_os_str() == "auto";
    if args.load_allowlist.is_some() && !discovering && format != Format::Hwloc {
        eprintln!(
            "resource-query: -W is used by -f hwloc and -L auto only; ignored for -f {}",
            args.load_format
        );
    }
    let source = match format {
        // Discovery reads this machine's hwloc topology: -f hwloc or the
        // default format both mean it.
        Format::Grug | Format::Hwloc if discovering => Source::Discover,
        Format::Jgf | Format::Rv1exec if discovering => bail!(
            "-L auto discovers this machine; -f {} needs a file (-L FILE)",
            args.load_format
        ),
        _ => Source::File(format, path.clone()),
    };
    let opts = LoadOptions {
        allowlist: resource_graph::allowlist::Allowlist::parse(
            args.load_allowlist.as_deref().unwrap_or(""),
        )?,
        // As a drop-in, read JGF as Fluxion does: without units.
        jgf_units: false,
    };
    Ok(loader::load(&source, &opts)?)
}

fn main() {
    // Errors are for people: the message and its causes, no backtrace.
    if let Err(e) = run() {
        eprintln!("resource-query: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args = Args::parse();
    let flexible = match args.traverser.as_str() {
        "simple" => false,
        "flexible" => true,
        other => bail!("unsupported traverser policy '{other}' (expected simple or flexible)"),
    };
    // Accepted for Fluxion's command lines; loading sizes itself.
    let _ = args.reserve;
    let subs = subsystems(&args.subsystems)?;
    let writer = writer::create(&args.format).with_context(|| {
        format!(
            "unknown match format '{}' (expected {})",
            args.format,
            or_list(writer::NAMES)
        )
    })?;
    let mut g = load(&args)?;
    // -g/-o: Fluxion writes the graph at quit; we write it as loaded, so a
    // session that never quits (or is killed) still leaves the picture.
    if args.graph_format.is_some() || args.output.is_some() {
        let format = args
            .graph_format
            .unwrap_or(resource_graph::export::Format::Dot);
        let base = args.output.as_deref().unwrap_or("resource-graph".as_ref());
        let mut path = base.as_os_str().to_owned();
        path.push(".");
        path.push(format.extension());
        let path = PathBuf::from(path);
        if matches!((path.canonicalize(), args.load_file.canonicalize()), (Ok(a), Ok(b)) if a == b)
        {
            bail!(
                "{}: is the load file, not overwriting it (pick another -o)",
                path.display()
            );
        }
        let file = std::fs::File::create(&path)
            .with_context(|| format!("{}: cannot create", path.display()))?;
        format
            .write(&g, file)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        eprintln!(
            "resource-query: wrote {} ({} vertices, {} edges)",
            path.display(),
            g.vertex_count(),
            g.edge_count()
        );
    }
    let pol = policy::create(&args.policy, &g)?;
    let prune = if args.prune_filters.trim_matches('"').is_empty() {
        "ALL:core,ALL:node"
    } else {
        args.prune_filters.trim_matches('"')
    };
    let mut trav = Traverser::new(&mut g, pol, &subs, prune).map_err(anyhow::Error::msg)?;
    trav.exhaustive = !args.bounded;
    trav.reserve_search = if args.exact_reserve {
        matcher::ReserveSearch::Exact
    } else {
        matcher::ReserveSearch::Fluxion
    };
    let out: Box<dyn Write> = match &args.test_output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("{}: cannot create", p.display()))?,
        )),
        None => Box::new(std::io::stdout()),
    };
    let mut s = Session {
        g,
        trav,
        writer,
        out,
        elapse: args.elapse,
        next_jobid: 1,
        jobspecs: BTreeMap::new(),
        match_times: Vec::new(),
        input_errors: 0,
        dom_name: subs[0],
        flexible,
    };
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if !args.disable_prompt && args.test_output.is_none() {
            print!("resource-query> ");
            std::io::stdout().flush().ok();
        }
        let Some(line) = lines.next() else { break };
        let line = line?;
        let toks: Vec<&str> = line.split_whitespace().collect();
        let Some(&cmd) = toks.first() else { continue };
        match cmd {
            "match" | "m" => s.cmd_match(&toks)?,
            "cancel" | "c" => s.cmd_cancel(&toks)?,
            "info" | "i" => s.cmd_info(&toks)?,
            "find" | "f" => s.cmd_find(&toks)?,
            "multi-match" | "M" => s.cmd_multi_match(&toks)?,
            "update" | "u" => s.cmd_update(&toks)?,
            "cat" | "a" => s.cmd_cat(&toks)?,
            "remove" => s.cmd_remove(&toks)?,
            "attach" | "j" => s.cmd_attach(&toks)?,
            "partial-cancel" | "pc" => s.cmd_partial_cancel(&toks)?,
            "set-status" | "t" => s.cmd_set_status(&toks)?,
            "get-status" | "e" => s.cmd_get_status(&toks)?,
            "set-property" | "p" => s.cmd_set_property(&toks)?,
            "get-property" | "g" => s.cmd_get_property(&toks)?,
            "stat" | "s" => s.cmd_stat()?,
            "list" | "l" => s.cmd_list()?,
            "quit" | "q" => break,
            "help" | "h" => {
                println!("{HELP}");
            }
            c if c.starts_with('#') => {}
            other => eprintln!("ERROR: unknown command {other}"),
        }
    }
    s.out.flush()?;
    if s.input_errors > 0 {
        bail!(
            "{} command(s) had invalid input (see the errors above)",
            s.input_errors
        );
    }
    Ok(())
}

/// Names as this tool's messages list them: `a, b or c`.
fn or_list(names: &[&str]) -> String {
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The line that frames each result, as Fluxion prints it.
const BAR: &str = "INFO: =============================";

/// `-e`'s lines for one match: its time and the walk's visit counts.
fn write_visits(o: &mut dyn Write, elapsed: f64, pre: u64, post: u64) -> std::io::Result<()> {
    writeln!(
        o,
        "INFO: ELAPSE={elapsed:.6}\nINFO: PREORDER VISIT COUNT={pre}\nINFO: POSTORDER VISIT COUNT={post}"
    )
}

/// The `help` command's text: every command, one per line.
const HELP: &str = "\
commands:
  match OP JOBSPEC            OP: allocate, allocate_orelse_reserve, allocate_with_satisfiability,
                              satisfiability, without_allocating, without_allocating_future
  multi-match OP JOBSPEC...   several jobspecs, one after the other
  update allocate|reserve jgf|jgf_shorthand|rv1exec FILE JOBID AT DURATION
                              book resources an R names
  cancel JOBID [stats]        release a job (stats: the release walk's visit counts)
  partial-cancel JOBID jgf|rv1exec FILE [stats]
  info JOBID, list, stat      jobs and match statistics
  find EXPRESSION             e.g. status=down, sched-now=free and property=amd, jobid-alloc=3
  set-status PATH up|down, get-status PATH
  set-property PATH KEY=VALUE, get-property PATH
  attach JGF                  grow the graph
  remove PATH true | remove RANKS false
                              shrink it; jobs on removed resources are named
  cat JOBSPEC                 print a jobspec
  help, quit";
