//! `schedd`: the scheduler daemon of one Quiver instance.
//!
//! It loads the instance's resource graph (a GRUG recipe, a JGF file, an
//! R, this machine's hardware, or with --parent a lease of a parent
//! instance), replays its journal, and serves the
//! `quiver.sched.v1.Scheduler` gRPC service (and `quiver.lease.v1`) on a
//! Unix socket and, when asked, on TCP. See `schedd --help`.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use resource_graph::ResourceGraph;
use sched_proto::burst_v1::burst_server::BurstServer;
use sched_proto::hier_v1::hierarchy_server::HierarchyServer;
use sched_proto::lease_v1::elastic_server::ElasticServer;
use sched_proto::lease_v1::leases_server::LeasesServer;
use sched_proto::SchedulerServer;
use schedd::actor;
use schedd::auth::{self, TokenCheck};
use schedd::burst_service::Burst;
use schedd::client::ConnectOptions;
use schedd::clock::{Clock, SimClock, WallClock};
use schedd::conn_limits::{self, ConnLimits};
use schedd::elastic::auto::{keep_elastic, AutoPolicy};
use schedd::elastic::burst::{self, pool::BurstArgs};
use schedd::elastic::child::{keep_reconciled, ParentLink};
use schedd::elastic::levels::Levels;
use schedd::elastic::pull::{keep_pulling, PullPolicy};
use schedd::elastic::shape::Shape;
use schedd::elastic::tree::{Tree, TreeOptions};
use schedd::executor::{Executor, LocalExecutor, SimExecutor};
use schedd::hier_service::Hierarchy;
use schedd::instance::{Config, Instance};
use schedd::journal::Journal;
use schedd::lease_service::{Elastic, Leases};
use schedd::metrics::{self, Meta};
use schedd::queue::QueuePolicy;
use schedd::service::Service;
use schedd::socket;
use schedd::standard::{self, Health};
use schedd::state_dir::StateDir;
use schedd::units::{human_duration, parse_duration, parse_size};
use tokio_stream::wrappers::UnixListenerStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tracing::{error, info, warn};

/// How long the gRPC listeners may take to close once schedd stops, so
/// that health watchers hear NOT_SERVING and calls in flight end.
const DRAIN: std::time::Duration = std::time::Duration::from_millis(250);
/// How long a `--hierarchy` tree's children may take to stop.
const TREE_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Parser, Debug)]
#[command(
    name = "schedd",
    version,
    about = "Quiver's scheduler daemon: one per instance; serves jobspec submission over gRPC",
    long_about = "Quiver's scheduler daemon: one per instance. It owns a resource graph and a \
job queue, matches jobs with the DFU matcher and serves the quiver.sched.v1 gRPC API \
(schedctl is its client). Without --grug, --jgf or --R it discovers this machine \
(hwloc and NVML). Every accepted job, allocation and change goes to a SQLite journal in \
--state-dir before it is acknowledged; a restarted schedd carries on from it. \
What schedd creates is its user's only (umask 077): the state directory is 0700, the \
journal and job output 0600; the socket's directory must not be writable by others. \
SIGTERM, SIGINT and SIGHUP stop it cleanly: running jobs are stopped, the socket is \
removed. The limits (--max-*, --*-timeout) protect the daemon from a flood or a \
hostile caller; beyond them a call gets RESOURCE_EXHAUSTED (or INVALID_ARGUMENT for a \
duration) naming the limit."
)]
struct Args {
    /// A GRUG recipe (YAML .yaml/.yml, or Fluxion's GraphML) to build the graph from.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["jgf", "r"])]
    grug: Option<PathBuf>,
    /// A JGF graph to serve.
    #[arg(long, value_name = "FILE", conflicts_with = "r")]
    jgf: Option<PathBuf>,
    /// An R (RFC 20, with the rv1exec R_lite) to serve.
    #[arg(long = "R", id = "r", value_name = "FILE")]
    r: Option<PathBuf>,
    /// Unix socket to serve on [default: $XDG_RUNTIME_DIR/quiver/schedd.sock,
    /// else /tmp/quiver-UID/schedd.sock].
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Permissions of the Unix socket (octal). 600: only the instance
    /// owner; 666 lets other users submit (they may only touch their jobs).
    #[arg(long, value_name = "MODE", default_value = "600")]
    socket_mode: String,
    /// Also serve on TCP at ADDR (e.g. 0.0.0.0:50051); needs --tls-cert and
    /// --tls-key or --token-file, or --insecure on a loopback address.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// TLS certificate (PEM) for --listen.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for --listen.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require TCP clients to present a certificate signed by this CA (mutual TLS).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// Require `authorization: Bearer TOKEN` on every TCP call; the file
    /// holds the token and must be mode 600.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Serve TCP without TLS or token (loopback addresses only): anyone
    /// who can connect acts as the instance owner.
    #[arg(long)]
    insecure: bool,
    /// Accept --token-file without TLS on an address that is not
    /// loopback: the token then crosses the network in clear text, and
    /// anyone who sees it acts as the instance owner.
    #[arg(long, requires = "token_file")]
    insecure_token: bool,
    /// Match policy: first, high, low, lonode, hinode, lonodex, hinodex,
    /// firstnodex, locality, variation.
    #[arg(long, default_value = "first")]
    policy: String,
    /// Queue policy: fcfs, easy, hybrid or conservative.
    #[arg(long, default_value = "fcfs")]
    queue_policy: String,
    /// Pending jobs one scheduling pass considers at most (blocked jobs do
    /// not count).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    queue_depth: u32,
    /// Reservations a hybrid pass makes at most.
    #[arg(long, default_value_t = 64)]
    reservation_depth: u32,
    /// Traverser: simple, or flexible (a jobspec's sibling slots are
    /// alternative shapes, tried in order; the first that can start wins,
    /// as under Fluxion's traverser=flexible).
    #[arg(long, default_value = "simple", value_parser = ["simple", "flexible"])]
    traverser: String,
    /// Pruning filters of the matcher (Fluxion's syntax).
    #[arg(long, default_value = "ALL:core")]
    prune_filters: String,
    /// The R a job gets (RFC 20, shown by info): rv1_nosched (R_lite, as
    /// Fluxion's default) or rv1 (also the allocation's JGF under
    /// `scheduling`, several times larger and slower to write)
    #[arg(long, default_value = "rv1_nosched", value_parser = ["rv1", "rv1_nosched"])]
    match_format: String,
    /// Ended jobs remembered (for info, jobs, wait); older ones are
    /// forgotten, from memory and from the journal.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    keep_ended: u64,
    /// Seconds a job may run when its jobspec gives no duration.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    default_duration: u64,
    /// Where the journal (journal.db) and job output live
    /// [default: $XDG_STATE_HOME/quiver, else ~/.local/state/quiver].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// What running a job means: local (run its tasks here) or sim (nothing
    /// runs; a job ends when its duration is over).
    #[arg(long, default_value = "local", value_parser = ["local", "sim"])]
    executor: String,
    /// Clock: wall, or sim (time moves only by `schedctl advance`; for
    /// tests and harnesses).
    #[arg(long, default_value = "wall", value_parser = ["wall", "sim"])]
    clock: String,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// Longest a job may ask to run (90, 90s, 5m, 2h, 30d); a longer
    /// jobspec is refused at submit.
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = parse_duration)]
    max_duration: u64,
    /// Most vertices the graph may have: a recipe, JGF or R that names
    /// more is refused before anything is built.
    #[arg(long, value_name = "N", default_value_t = resource_graph::DEFAULT_MAX_VERTICES,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_vertices: u64,
    /// Pending jobs this instance queues at most; more get RESOURCE_EXHAUSTED.
    #[arg(long, value_name = "N", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    max_pending: u64,
    /// Pending jobs one user may have at most; more get RESOURCE_EXHAUSTED.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    max_pending_per_user: u64,
    /// Connections each listener (the Unix socket, TCP) holds at once;
    /// past it new ones are closed at once.
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Time a new connection has to send its first bytes (and so start
    /// its TLS or HTTP/2 handshake).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    handshake_timeout: u64,
    /// Time a connection may go without traffic, a Watch aside, before
    /// it is closed.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    idle_timeout: u64,
    /// Largest gRPC message schedd takes (4096, 64K, 4M, 1G); a jobspec
    /// is at most 1 MiB whatever this says.
    #[arg(long, value_name = "SIZE", default_value = "4M", value_parser = parse_size)]
    max_message_size: u64,
    /// How long a child may go without calling (its heartbeat is every
    /// --lease-check) before its lease is declared lost and its resources
    /// are free again; 0: never.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = parse_duration)]
    lease_grace: u64,
    /// Start a tree of child instances below this one, on this host:
    /// `2x4` (two children, each with four of its own; each child leases
    /// an equal share of its parent's nodes), `2:512x4:64` (children and
    /// cores per child at each level), or a levels FILE (YAML: `levels:`,
    /// a list of {num_children, cores_per_child}). Each child pulls its
    /// jobs from its parent, lives in --state-dir/cK (socket `sock`, log
    /// `schedd.log`), is started again if it dies, and stops with this
    /// schedd. Jobs are submitted here; `schedctl tree` shows the tree.
    #[arg(long, value_name = "SHAPE|FILE")]
    hierarchy: Option<String>,
    #[command(flatten)]
    child: ChildArgs,
    #[command(flatten)]
    burst: BurstArgs,
}

/// A child instance: its graph is a lease of its parent's.
#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Child instance")]
struct ChildArgs {
    /// Be a child of the schedd at URI (unix:/path, http://, https://):
    /// open a lease there (or resume the one --state-dir holds) and build
    /// the graph from it, instead of --grug/--jgf/--R. It serves
    /// `schedctl grow` and `shrink`.
    #[arg(long, value_name = "URI", conflicts_with_all = ["grug", "jgf", "r"])]
    parent: Option<String>,
    /// What a new lease is granted at once: a jobspec FILE (YAML or JSON).
    #[arg(long, value_name = "FILE", requires = "parent", conflicts_with_all = ["nodes", "cores", "gpus"])]
    request: Option<PathBuf>,
    /// What a new lease is granted at once: N whole nodes.
    #[arg(short = 'N', long, value_name = "N", requires = "parent")]
    nodes: Option<u64>,
    /// What a new lease is granted at once: N cores (without -N).
    #[arg(short = 'c', long, value_name = "N", requires = "parent")]
    cores: Option<u64>,
    /// What a new lease is granted at once: N GPUs (without -N).
    #[arg(short = 'g', long, value_name = "N", requires = "parent")]
    gpus: Option<u64>,
    /// Take up lease ID, which the parent opened for this child (an
    /// instance job's: the parent passes it, and QUIVER_LEASE_ID names it),
    /// instead of opening one.
    #[arg(long, value_name = "ID", requires = "parent",
          conflicts_with_all = ["request", "nodes", "cores", "gpus"])]
    lease_id: Option<u64>,
    /// Who this child is, as the parent's `schedctl leases` shows it
    /// [default: HOST:SOCKET].
    #[arg(long, value_name = "NAME", requires = "parent")]
    child_name: Option<String>,
    /// How often the child reads its lease at the parent (its heartbeat),
    /// reconciling when the parent's epoch is not its own.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    lease_check: u64,
    /// CA certificate (PEM) of the parent's TLS (https://).
    #[arg(long, value_name = "FILE", requires = "parent")]
    parent_tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS with the parent.
    #[arg(long, value_name = "FILE", requires = "parent_tls_key")]
    parent_tls_cert: Option<PathBuf>,
    /// Client key (PEM) for mutual TLS with the parent.
    #[arg(long, value_name = "FILE", requires = "parent_tls_cert")]
    parent_tls_key: Option<PathBuf>,
    /// Bearer token file for the parent.
    #[arg(long, value_name = "FILE", requires = "parent")]
    parent_token_file: Option<PathBuf>,
    /// Grow on its own, up to N nodes in all: a job bigger than the graph
    /// is queued, and when the oldest pending job has waited --grow-after
    /// the lease grows by that job's resources. 0: only `schedctl grow`.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "parent")]
    grow_max: u64,
    /// How long the oldest pending job waits before the lease grows for it.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    grow_after: u64,
    /// Give back nodes no job has used for this long (never while a job
    /// waits). 0: only `schedctl shrink`.
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = parse_duration,
          requires = "parent")]
    shrink_idle: u64,
    /// Pull jobs from the parent (quiver.hier.v1): ask it for work while
    /// fewer than --pull-prefetch jobs wait here, and report what becomes
    /// of them; jobs are then submitted at the root of the tree.
    #[arg(long, requires = "parent")]
    pull: bool,
    /// Jobs waiting here at most while pulling [default: the cores of
    /// this instance's graph].
    #[arg(long, value_name = "N", requires = "pull", value_parser = clap::value_parser!(u64).range(1..))]
    pull_prefetch: Option<u64>,
    /// Milliseconds a pull round that moved nothing waits before the next.
    #[arg(long, value_name = "MS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pull_idle_ms: u64,
}

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Nothing schedd creates is for other users: its state directory,
    // journal, socket directory and job output start owner-only (the
    // socket's mode is set on purpose after bind).
    // SAFETY: umask(2) has no preconditions; no thread exists yet.
    unsafe { libc::umask(0o077) };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("QUIVER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    if let Err(e) = run(args) {
        if let Some(actor::Fatal::Commit(e)) = e.downcast_ref::<actor::Fatal>() {
            // Fail-stop: the instance thread served nothing after the
            // failed commit; the daemon goes with it.
            error!(error = %e, "journal commit failed; stopping");
            std::process::exit(70);
        }
        error!("{e:#}");
        eprintln!("schedd: {e:#}");
        std::process::exit(1);
    }
}

fn default_state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("quiver");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(h) => PathBuf::from(h).join(".local/state/quiver"),
        None => PathBuf::from("quiver-state"),
    }
}

fn load_graph(args: &Args) -> Result<(ResourceGraph, String)> {
    use resource_graph::loader::{self, Format, LoadOptions, Source};
    let started = Instant::now();
    let source = match (&args.grug, &args.jgf, &args.r) {
        (Some(p), _, _) => Source::File(Format::Grug, p.clone()),
        (_, Some(p), _) => Source::File(Format::Jgf, p.clone()),
        (_, _, Some(p)) => Source::File(Format::Rv1exec, p.clone()),
        _ => Source::Discover,
    };
    let opts = LoadOptions {
        limits: resource_graph::Limits {
            max_vertices: args.max_vertices,
        },
        ..LoadOptions::default()
    };
    let loaded = loader::load(&source, &opts);
    // A file's errors name the file; discovery's need the way out.
    let mut g = if source == Source::Discover {
        loaded.context("discovering this machine (give --grug, --jgf or --R instead)")?
    } else {
        loaded?
    };
    let source = source.to_string();
    // R names resources by rank: a recipe's graph has none, so give each
    // node its own, as Flux gives each node a broker rank.
    let ranked = g.assign_node_ranks();
    if ranked > 0 {
        info!(nodes = ranked, "ranks assigned to nodes in recipe order");
    }
    info!(
        source = %source,
        vertices = g.vertex_count(),
        ms = started.elapsed().as_millis() as u64,
        "resource graph loaded"
    );
    Ok((g, source))
}

/// A child's graph: its lease at the parent, opened or resumed.
async fn start_child(
    args: &Args,
    state_dir: &Path,
    socket: &Path,
) -> Result<(ResourceGraph, String, ParentLink)> {
    let c = &args.child;
    let opts = ConnectOptions {
        uri: c.parent.clone(),
        tls_ca: c.parent_tls_ca.clone(),
        tls_cert: c.parent_tls_cert.clone(),
        tls_key: c.parent_tls_key.clone(),
        token_file: c.parent_token_file.clone(),
    };
    let shape = Shape {
        nodes: c.nodes.unwrap_or(0),
        cores: c.cores.unwrap_or(0),
        gpus: c.gpus.unwrap_or(0),
    };
    let jobspec = match &c.request {
        Some(p) => {
            Some(std::fs::read_to_string(p).with_context(|| format!("--request {}", p.display()))?)
        }
        None if !shape.is_empty() => Some(shape.jobspec()),
        None => None,
    };
    let name = c.child_name.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        format!("{}:{}", host.trim(), socket.display())
    });
    let self_uri = format!("unix:{}", socket.display());
    let (link, jgf) =
        ParentLink::start(opts, state_dir, &name, &self_uri, jobspec, c.lease_id).await?;
    let origin = format!("lease {} of {}", link.lease_id().await, link.uri());
    let limits = resource_graph::Limits {
        max_vertices: args.max_vertices,
    };
    let mut g = resource_graph::jgf::read_with(&jgf, &origin, &limits)?;
    if g.vertex_count() == 0 {
        // An empty lease still has the parent's root.
        g.add_cluster_root();
    }
    info!(source = %origin, vertices = g.vertex_count(), "resource graph from the lease");
    Ok((g, origin, link))
}

fn run(args: Args) -> Result<()> {
    let mode = auth::parse_mode(&args.socket_mode)?;
    let queue_policy = QueuePolicy::parse(&args.queue_policy, args.reservation_depth as usize)
        .map_err(|e| anyhow::anyhow!("--queue-policy: {e}"))?;
    // Refuse an unsafe TCP setup before doing any work.
    let tcp = auth::TcpSetup {
        tls: args.tls_cert.is_some(),
        token: args.token_file.is_some(),
        insecure: args.insecure,
        insecure_token: args.insecure_token,
    };
    if let Some(warning) = tcp.check(args.listen.as_ref())? {
        warn!("{warning}");
    }
    let token = match &args.token_file {
        Some(p) => Some(TokenCheck::from_file(p).map_err(|e| anyhow::anyhow!("--token-file {e}"))?),
        None => None,
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => {
            let read = |p: &Path| std::fs::read(p).with_context(|| format!("{}", p.display()));
            let mut cfg = ServerTlsConfig::new().identity(Identity::from_pem(read(c)?, read(k)?));
            if let Some(ca) = &args.tls_client_ca {
                cfg = cfg.client_ca_root(Certificate::from_pem(read(ca)?));
            }
            Some(cfg)
        }
        _ => None,
    };

    if args.default_duration > args.max_duration {
        bail!(
            "--default-duration {} is longer than --max-duration {}",
            human_duration(args.default_duration),
            human_duration(args.max_duration)
        );
    }
    let state_dir = args.state_dir.clone().unwrap_or_else(default_state_dir);
    // Owner-only, and one daemon per state directory: two would write
    // one journal.
    let _held = StateDir::open(&state_dir)
        .with_context(|| format!("--state-dir {}", state_dir.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let socket = args
        .socket
        .clone()
        .unwrap_or_else(socket::default_socket_path);
    let (graph, source, link) = match &args.child.parent {
        Some(_) => {
            let (g, source, link) = rt.block_on(start_child(&args, &state_dir, &socket))?;
            (g, source, Some(std::sync::Arc::new(link)))
        }
        None => {
            let (g, source) = load_graph(&args)?;
            (g, source, None)
        }
    };
    let (nodes_here, cores_here) = (
        graph.of_type("node").len() as u64,
        graph.of_type("core").len() as u64,
    );
    // A tree that does not fit is refused before anything serves.
    let levels = match &args.hierarchy {
        Some(h) => {
            let l = Levels::parse(h)?;
            l.share(nodes_here, cores_here)?;
            Some(l)
        }
        None => None,
    };
    let bursting = burst::Setup::read(&args.burst).map_err(anyhow::Error::msg)?;
    let journal =
        Journal::open(&state_dir).with_context(|| format!("journal in {}", state_dir.display()))?;
    let clock: Box<dyn Clock> = match args.clock.as_str() {
        "sim" => Box::new(SimClock::new(0)),
        _ => Box::new(WallClock),
    };
    let cfg = Config {
        policy: args.policy.clone(),
        queue_policy,
        queue_depth: args.queue_depth as usize,
        default_duration: args.default_duration,
        prune_filters: args.prune_filters.clone(),
        r_scheduling: args.match_format == "rv1",
        flexible: args.traverser == "flexible",
        output_dir: state_dir.join("jobs"),
        keep_ended: usize::try_from(args.keep_ended).unwrap_or(usize::MAX),
        max_pending: usize::try_from(args.max_pending).unwrap_or(usize::MAX),
        max_pending_per_user: usize::try_from(args.max_pending_per_user).unwrap_or(usize::MAX),
        max_duration: args.max_duration,
        lease_grace: args.lease_grace,
        may_grow: args.child.parent.is_some() && args.child.grow_max > 0,
        self_uri: format!("unix:{}", socket.display()),
    };
    let limits = ConnLimits {
        max_connections: args.max_connections as usize,
        handshake: std::time::Duration::from_secs(args.handshake_timeout.max(1)),
        idle: std::time::Duration::from_secs(args.idle_timeout.max(1)),
    };
    let max_message = usize::try_from(args.max_message_size).unwrap_or(usize::MAX);

    // The executor reports exits to the actor, which does not exist yet:
    // hand it a sink that forwards once the actor is up.
    let (exit_tx, exit_rx) = std::sync::mpsc::channel();
    let executor: Box<dyn Executor> = match args.executor.as_str() {
        "sim" => Box::new(SimExecutor),
        _ => Box::new(LocalExecutor::new(Box::new(move |exit| {
            let _ = exit_tx.send(exit);
        }))),
    };
    let started = Instant::now();
    let mut instance = Instance::new(graph, source, cfg, clock, executor, Some(journal))
        .context("starting the instance")?;
    bursting.configure(&mut instance);
    // The instance logged its job counts when ready.
    info!(
        ms = started.elapsed().as_millis() as u64,
        "journal replayed"
    );
    let (handle, mut actor) = actor::spawn(instance).context("starting the instance thread")?;
    {
        let sink = handle.exit_sink();
        std::thread::Builder::new()
            .name("exits".into())
            .spawn(move || {
                for exit in exit_rx {
                    sink(exit);
                }
            })
            .context("starting the exit forwarder")?;
    }
    let meta = Meta {
        started: Instant::now(),
        queue_depth: args.queue_depth,
    };
    let owner = auth::effective_uid();
    let svc = Service::new(handle.clone(), owner, meta);
    let leases = LeasesServer::new(Leases::new(handle.clone(), owner));
    // A full report names every job a child holds: more than a submit.
    let hierarchy = HierarchyServer::new(Hierarchy::new(handle.clone(), owner))
        .max_decoding_message_size(max_message.max(64 << 20));
    let elastic = link
        .clone()
        .map(|l| ElasticServer::new(Elastic::new(handle.clone(), owner, l)));
    let bursts = bursting
        .start(handle.clone(), &rt)
        .map_err(anyhow::Error::msg)?;
    let burst_svc = BurstServer::new(Burst::new(handle.clone(), owner, bursts));
    if let Some(l) = &link {
        let every = std::time::Duration::from_secs(args.child.lease_check.max(1));
        rt.spawn(keep_reconciled(l.clone(), handle.clone(), every));
        let policy = AutoPolicy {
            grow_max: args.child.grow_max,
            grow_after: std::time::Duration::from_secs(args.child.grow_after),
            shrink_idle: std::time::Duration::from_secs(args.child.shrink_idle),
        };
        if policy.grow_max > 0 || !policy.shrink_idle.is_zero() {
            rt.spawn(keep_elastic(l.clone(), handle.clone(), policy));
        }
        if args.child.pull {
            let pull = PullPolicy {
                prefetch: args.child.pull_prefetch.unwrap_or(cores_here.max(1)),
                idle: std::time::Duration::from_millis(args.child.pull_idle_ms),
            };
            info!(prefetch = pull.prefetch, "pulling jobs from the parent");
            rt.spawn(keep_pulling(l.clone(), handle.clone(), pull));
        }
    }

    // Only a socket this process bound, and still there, is its to remove
    // at the end.
    let mut bound = None;
    // The instance thread stops on its own after a failed commit: then
    // nothing may be served any more (fail-stop).
    let mut instance_failed = false;
    let served = rt.block_on(async {
        let listener = socket::bind_unix(&socket, mode)
            .with_context(|| format!("--socket {}", socket.display()))?;
        bound = socket::BoundSocket::at(&socket);
        info!(socket = %socket.display(), mode = format!("{mode:o}"), "serving on the Unix socket");
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);
        let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
        let server = |svc: Service| {
            SchedulerServer::new(svc)
                .max_decoding_message_size(max_message)
                .max_encoding_message_size(usize::MAX)
        };
        let (health, health_svc) = Health::new().await;
        let reflection = standard::reflection(link.is_some()).context("the reflection service")?;
        let mut tasks = tokio::task::JoinSet::new();
        // The gRPC listeners among the tasks (the metrics server is not).
        let mut grpc_servers = 1;
        {
            let mut stop = stop_tx.subscribe();
            let uds = Server::builder()
                .add_service(health_svc.clone())
                .add_service(reflection.v1.clone())
                .add_service(reflection.v1alpha.clone())
                .add_service(server(svc.clone()))
                .add_service(leases.clone())
                .add_service(hierarchy.clone())
                .add_service(burst_svc.clone())
                .add_optional_service(elastic.clone())
                .serve_with_incoming_shutdown(
                    conn_limits::limit(UnixListenerStream::new(listener), limits, "unix"),
                    async move {
                        let _ = stop.recv().await;
                    },
                );
            tasks.spawn(async move { uds.await.map_err(anyhow::Error::from) });
        }
        if let Some(addr) = args.listen {
            let mut builder = Server::builder();
            if let Some(tls) = tls {
                builder = builder.tls_config(tls).context("--tls-cert/--tls-key")?;
            }
            let incoming = tonic::transport::server::TcpIncoming::bind(addr)
                .with_context(|| format!("--listen {addr}"))?
                .with_nodelay(Some(true));
            let incoming = conn_limits::limit(incoming, limits, "tcp");
            let mut stop = stop_tx.subscribe();
            let signal = async move {
                let _ = stop.recv().await;
            };
            info!(%addr, tls = args.tls_cert.is_some(), token = token.is_some(), "serving on TCP");
            // Health answers without the token: probes carry none.
            let builder = builder.add_service(health_svc.clone());
            match token {
                Some(check) => {
                    use tonic::service::interceptor::InterceptedService;
                    let s = builder
                        .add_service(InterceptedService::new(reflection.v1, check.clone()))
                        .add_service(InterceptedService::new(reflection.v1alpha, check.clone()))
                        .add_service(InterceptedService::new(server(svc.clone()), check.clone()))
                        .add_service(InterceptedService::new(leases.clone(), check.clone()))
                        .add_service(InterceptedService::new(hierarchy.clone(), check.clone()))
                        .add_service(InterceptedService::new(burst_svc.clone(), check.clone()))
                        .add_optional_service(
                            elastic.clone().map(|e| InterceptedService::new(e, check)),
                        )
                        .serve_with_incoming_shutdown(incoming, signal);
                    tasks.spawn(async move { s.await.map_err(anyhow::Error::from) });
                }
                None => {
                    let s = builder
                        .add_service(reflection.v1)
                        .add_service(reflection.v1alpha)
                        .add_service(server(svc.clone()))
                        .add_service(leases.clone())
                        .add_service(hierarchy.clone())
                        .add_service(burst_svc.clone())
                        .add_optional_service(elastic.clone())
                        .serve_with_incoming_shutdown(incoming, signal);
                    tasks.spawn(async move { s.await.map_err(anyhow::Error::from) });
                }
            }
            grpc_servers += 1;
        }
        if let Some(addr) = args.metrics {
            let h = handle.clone();
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("--metrics {addr}"))?;
            tasks.spawn(async move {
                metrics::serve(listener, h, meta)
                    .await
                    .map_err(anyhow::Error::from)
            });
        }
        health.serving().await;
        let tree = match levels {
            Some(levels) => Some(Tree::start(TreeOptions {
                exe: std::env::current_exe().context("--hierarchy: this schedd's path")?,
                parent_uri: format!("unix:{}", socket.display()),
                state_dir: state_dir.clone(),
                shared: tree_shared(&args),
                levels,
                nodes: nodes_here,
                cores: cores_here,
            })?),
            None => None,
        };
        let result = tokio::select! {
            _ = &mut shutdown => Ok(()),
            _ = actor.failed() => {
                instance_failed = true;
                Ok(())
            }
            Some(done) = tasks.join_next() => match done {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e),
                Err(e) => Err(anyhow::Error::from(e)),
            },
        };
        // The children first, while this instance still hears them.
        if let Some(t) = tree {
            let _ = tokio::task::spawn_blocking(move || t.stop(TREE_GRACE)).await;
        }
        // Stopping or failed: say so first, then close the listeners,
        // giving their connections a moment to send it: a probe watching
        // then hears NOT_SERVING rather than a broken stream.
        health.not_serving().await;
        let _ = stop_tx.send(());
        let _ = tokio::time::timeout(DRAIN, async {
            for _ in 0..grpc_servers {
                tasks.join_next().await;
            }
        })
        .await;
        tasks.abort_all();
        result
    });
    if !instance_failed {
        info!("stopping");
        handle.shutdown();
    }
    let outcome = actor.join();
    if let Some(s) = &bound {
        s.remove();
    }
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(fatal)) => return Err(fatal.into()),
        Err(_) => bail!("the instance thread panicked; stopped serving"),
    }
    served
}

/// The options every instance of a `--hierarchy` tree shares with the
/// one that starts it.
fn tree_shared(a: &Args) -> Vec<std::ffi::OsString> {
    let mut v: Vec<std::ffi::OsString> = Vec::new();
    let mut opt = |k: &str, val: String| {
        v.push(k.into());
        v.push(val.into());
    };
    opt("--executor", a.executor.clone());
    opt("--clock", a.clock.clone());
    opt("--policy", a.policy.clone());
    opt("--queue-policy", a.queue_policy.clone());
    opt("--queue-depth", a.queue_depth.to_string());
    opt("--reservation-depth", a.reservation_depth.to_string());
    opt("--traverser", a.traverser.clone());
    opt("--prune-filters", a.prune_filters.clone());
    opt("--match-format", a.match_format.clone());
    opt("--keep-ended", a.keep_ended.to_string());
    opt("--default-duration", a.default_duration.to_string());
    opt("--max-duration", a.max_duration.to_string());
    opt("--max-pending", a.max_pending.to_string());
    opt("--max-pending-per-user", a.max_pending_per_user.to_string());
    opt("--max-message-size", a.max_message_size.to_string());
    opt("--lease-grace", a.lease_grace.to_string());
    opt("--lease-check", a.child.lease_check.to_string());
    opt("--pull-idle-ms", a.child.pull_idle_ms.to_string());
    v
}

/// SIGINT, SIGTERM or SIGHUP: each is a clean stop (there is nothing to
/// reload; a changed configuration takes a restart, which the journal
/// makes lossless).
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (term, hup) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    );
    let (Ok(mut term), Ok(mut hup)) = (term, hup) else {
        warn!("cannot watch SIGTERM and SIGHUP; only SIGINT stops schedd cleanly");
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    let name = tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
    };
    info!(signal = name, "stop requested");
}
