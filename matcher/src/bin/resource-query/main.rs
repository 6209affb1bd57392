//! `resource-query`: a drop-in for Fluxion's resource-query. Loads a
//! resource graph, then reads commands (match, cancel, info, stat, ...)
//! from standard input and prints allocations the way Fluxion does.
mod session;

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Parser;
use matcher::{policy, writer, Matcher};
use resource_graph::ResourceGraph;

use session::Session;

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
    /// node,socket,core,gpu); hwloc and discovery only. Without it an
    /// hwloc file loads what Fluxion's reader builds (no memory vertices;
    /// name memory to have them) and discovery loads everything.
    #[arg(short = 'W', long = "load-allowlist")]
    load_allowlist: Option<String>,
    /// Most vertices the loaded graph may have: a recipe, JGF or R that
    /// names more is refused before anything is built.
    #[arg(long, value_name = "N", default_value_t = resource_graph::DEFAULT_MAX_VERTICES,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_vertices: u64,
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
    /// Traverser policy: simple, or flexible, as Fluxion's: sibling
    /// `xor_slot`s are alternative shapes for the job, tried in order at
    /// each start time considered; sibling `slot`s are or-slots, chosen
    /// at each vertex that holds them so that it forms the most slots.
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
    let allow = args.load_allowlist.as_deref().unwrap_or("");
    let opts = LoadOptions {
        // An hwloc file reads as Fluxion reads it, without the memory
        // vertices we add (unless -W asks for them); discovery keeps them.
        allowlist: if discovering {
            resource_graph::allowlist::Allowlist::parse(allow)?
        } else {
            resource_graph::allowlist::Allowlist::parse_as_fluxion(allow)?
        },
        // As a drop-in, read JGF as Fluxion does: without units.
        jgf_units: false,
        limits: resource_graph::Limits {
            max_vertices: args.max_vertices,
        },
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
    let g = load(&args)?;
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
    let mut m = Matcher::new(g, pol, &subs, prune)?;
    let trav = m.traverser_mut();
    trav.exhaustive = !args.bounded;
    // Fluxion's rule: a slot is held at the resource it is under.
    trav.slot_descends = false;
    trav.or_slots = flexible;
    trav.reserve_search = if args.exact_reserve {
        matcher::ReserveSearch::Exact
    } else {
        matcher::ReserveSearch::Fluxion
    };
    let out: Box<dyn Write> = match &args.test_output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("{}: cannot create", p.display()))?,
        )),
        // Written whole after each command (one write, not one a line),
        // as C++ streams write Fluxion's.
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let mut s = Session {
        m,
        writer,
        out,
        elapse: args.elapse,
        next_jobid: 1,
        jobspecs: BTreeMap::new(),
        match_times: Vec::new(),
        input_errors: 0,
        flexible,
    };
    let stdin = std::io::stdin();
    // As Fluxion's (editline's readline): a prompt only for a person at a
    // terminal; commands piped in get none.
    let prompt = !args.disable_prompt && std::io::IsTerminal::is_terminal(&stdin);
    let mut lines = stdin.lock().lines();
    loop {
        if prompt {
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
        // Whoever drives the tool through a pipe reads each answer
        // before sending the next command.
        s.out.flush()?;
    }
    s.out.flush()?;
    // The process ends here: handing a large graph back to the allocator
    // a vertex at a time would only delay the exit (a tenth of a second
    // at a million vertices).
    std::mem::forget(s.m);
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
pub(crate) const BAR: &str = "INFO: =============================";

/// `-e`'s lines for one match: its time and the walk's visit counts.
pub(crate) fn write_visits(
    o: &mut dyn Write,
    elapsed: f64,
    pre: u64,
    post: u64,
) -> std::io::Result<()> {
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
