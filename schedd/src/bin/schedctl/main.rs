//! `schedctl`: the command line client of a Quiver scheduler instance.
//!
//! Every command is one call (or one stream) of the `quiver.sched.v1`
//! protocol against the instance that `--uri` (or `QUIVER_URI`) names: a
//! Unix socket (`unix:/path`, the default being the socket a schedd of this
//! user listens on) or TCP (`http://HOST:PORT`, or `https://HOST:PORT`
//! trusting `--tls-ca` or else the system's roots, with `--tls-cert` and
//! `--tls-key` for mutual TLS). A server error
//! prints `schedctl: <message> (<CODE>)` and exits 1; a usage error exits 2.
//!
//! This file parses the command line and runs each command; `jobs.rs`
//! holds the commands of several calls (cancel, wait), `output.rs` prints
//! a job's output stream, `elastic.rs` those
//! of `quiver.lease.v1` (grow, shrink, leases), `tree.rs` walks a tree of
//! instances down their leases, `render.rs` prints
//! what comes back, `shorthand.rs` builds `submit`'s jobspec. The
//! connection itself is the library's ([`schedd::client`]).
use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use sched_proto::v1 as pb;
use serde_json::Value;
use tonic::Status;

use schedd::client::{self, ClientError, ConnectOptions};

mod bulk;
mod burst;
mod elastic;
mod jobs;
mod output;
mod render;
mod shorthand;
mod tree;

use jobs::{cancel, wait};

use render::{
    emit, event_json, event_line, job_json, job_text, jobs_table, key_values, line_ended,
    match_json, match_note, pretty, stats_json, status_json,
};
use schedd::units::parse_duration;
use shorthand::{submit_jobspec, SubmitArgs};

#[derive(Parser, Debug)]
#[command(
    name = "schedctl",
    version,
    about = "Talk to a Quiver scheduler instance (schedd)"
)]
struct Cli {
    /// The instance: unix:/path/to/socket, http://HOST:PORT or
    /// https://HOST:PORT [env: QUIVER_URI; default: the schedd socket of
    /// this user]
    #[arg(long, global = true, value_name = "URI")]
    uri: Option<String>,
    /// CA certificate (PEM) that signed the server's certificate (https;
    /// default: the system's trusted roots)
    #[arg(long, global = true, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS
    #[arg(long, global = true, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Client key (PEM) for mutual TLS
    #[arg(long, global = true, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// File holding a bearer token sent with every call
    #[arg(long, global = true, value_name = "FILE")]
    token_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Queue a job: a jobspec FILE (YAML or JSON; - = stdin), or a shape and
    /// a command after `--`; prints the job id
    Submit(SubmitArgs),
    /// Cancel jobs: the ids given, or with --all every pending and running
    /// job of yours
    Cancel {
        /// Job ids
        #[arg(
            required_unless_present = "all",
            conflicts_with = "all",
            value_name = "ID"
        )]
        ids: Vec<u64>,
        /// Every pending and running job you own
        #[arg(long)]
        all: bool,
    },
    /// List jobs, oldest first
    Jobs {
        /// Only jobs in these states (repeat or comma-separate)
        #[arg(long = "state", value_enum, value_delimiter = ',')]
        states: Vec<StateArg>,
        /// Only jobs with this name
        #[arg(long)]
        name: Option<String>,
        /// At most this many jobs, the newest
        #[arg(long, default_value_t = 0)]
        limit: u32,
        /// Print the jobs as a JSON list
        #[arg(long)]
        json: bool,
    },
    /// One job in full, R and jobspec included
    Info {
        /// Job id
        id: u64,
        /// Print it as JSON
        #[arg(long)]
        json: bool,
    },
    /// Print a job's standard output (to stdout) and error (to stderr), as
    /// its processes wrote them (the job's owner and the instance owner only)
    Output {
        /// Job id
        id: u64,
        /// Wait for the job to start if it has not, then go on printing
        /// what it writes until it ends
        #[arg(short = 'f', long)]
        follow: bool,
    },
    /// Wait for a job to end: exit 0 when it finished, 1 when it failed or
    /// was canceled
    Wait {
        /// Job id
        #[arg(required_unless_present = "any", conflicts_with = "any")]
        id: Option<u64>,
        /// Wait for the next job to end instead (prints its id)
        #[arg(long)]
        any: bool,
    },
    /// Print job events as they happen (of one job: until it ends)
    Watch {
        /// Job id; all jobs when absent
        id: Option<u64>,
        /// A JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// The instance's resources
    Resources {
        /// jgf or rv1
        #[arg(long, default_value = "jgf")]
        format: String,
        /// Only vertices no job holds
        #[arg(long, group = "filter")]
        free: bool,
        /// Only vertices some job holds
        #[arg(long, group = "filter")]
        allocated: bool,
        /// Only vertices marked down
        #[arg(long, group = "filter")]
        down: bool,
    },
    /// Vertices matching a find expression, e.g. `status=up and sched-now=free`
    Find {
        /// The expression (its words may be given separately)
        #[arg(required = true, num_args = 1.., value_name = "EXPR")]
        expr: Vec<String>,
        /// simple, rv1 or jgf
        #[arg(long, default_value = "simple")]
        format: String,
    },
    /// Mark a vertex (and its subtree) up or down
    SetStatus {
        /// Containment path, e.g. /cluster0/rack0/node3
        path: String,
        /// up or down
        #[arg(value_enum)]
        status: UpDown,
    },
    /// A match op without the queue (like resource-query's match)
    Match {
        /// The op
        #[arg(value_enum)]
        op: OpArg,
        /// Jobspec file (YAML or JSON; - = stdin)
        file: String,
        /// Writer of R: rv1, rv1_nosched, jgf, rlite, simple, pretty_simple
        #[arg(long, default_value = "rv1")]
        format: String,
        /// Print the whole answer as JSON
        #[arg(long)]
        json: bool,
    },
    /// Counters, rates and match latencies
    Stats {
        /// Print them as JSON
        #[arg(long)]
        json: bool,
    },
    /// A summary of the instance; exits 0 when it answers
    Status {
        /// Print it as JSON
        #[arg(long)]
        json: bool,
    },
    /// Move the simulated clock forward
    Advance {
        /// Seconds (30, 30s, 5m, 2h, 1d)
        seconds: String,
    },
    /// At a child instance: lease more resources from its parent
    Grow(elastic::GrowArgs),
    /// At a child instance: give idle resources back to its parent
    Shrink(elastic::ShrinkArgs),
    /// At a parent: its leases (children, epochs, what they hold); at a
    /// child with --mine: its own lease
    Leases(elastic::LeasesArgs),
    /// The tree of instances below this one (`schedd --hierarchy`, or
    /// children on other hosts): each instance's queue, each lease with
    /// what it holds and the jobs handed down through it
    Tree(tree::TreeArgs),
    /// Cloud burst: without options, the pools and their nodes; with
    /// --nodes, add burst nodes now; with --remove, take them away
    Burst(burst::BurstArgs),
}

/// Job states as the command line spells them.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum StateArg {
    Depend,
    Pending,
    Running,
    Finished,
    #[value(alias = "cancelled")]
    Canceled,
    Failed,
}

impl StateArg {
    fn proto(self) -> pb::JobState {
        match self {
            StateArg::Depend => pb::JobState::Depend,
            StateArg::Pending => pb::JobState::Pending,
            StateArg::Running => pb::JobState::Running,
            StateArg::Finished => pb::JobState::Finished,
            StateArg::Canceled => pb::JobState::Canceled,
            StateArg::Failed => pb::JobState::Failed,
        }
    }
}

/// A vertex status to set.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum UpDown {
    Up,
    Down,
}

/// Match ops, with resource-query's spellings accepted too.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OpArg {
    Allocate,
    #[value(alias = "allocate_orelse_reserve")]
    AllocateOrelseReserve,
    #[value(alias = "allocate_with_satisfiability")]
    AllocateWithSatisfiability,
    Satisfiability,
    #[value(alias = "without_allocating")]
    WithoutAllocating,
    #[value(alias = "without_allocating_future")]
    WithoutAllocatingFuture,
}

impl OpArg {
    fn proto(self) -> pb::MatchOp {
        match self {
            OpArg::Allocate => pb::MatchOp::Allocate,
            OpArg::AllocateOrelseReserve => pb::MatchOp::AllocateOrelseReserve,
            OpArg::AllocateWithSatisfiability => pb::MatchOp::AllocateWithSatisfiability,
            OpArg::Satisfiability => pb::MatchOp::Satisfiability,
            OpArg::WithoutAllocating => pb::MatchOp::WithoutAllocating,
            OpArg::WithoutAllocatingFuture => pb::MatchOp::WithoutAllocatingFuture,
        }
    }
}

/// Why a command failed; decides the message and the exit status.
#[derive(Debug)]
enum Failure {
    /// Bad command line (exit 2).
    Usage(String),
    /// The server answered with an error (exit 1).
    Rpc(Status),
    /// Anything else: connection, files (exit 1).
    Other(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Other(m) => f.write_str(m),
            Failure::Rpc(s) => f.write_str(&render::status_text(s)),
        }
    }
}

impl From<Status> for Failure {
    fn from(s: Status) -> Self {
        Failure::Rpc(s)
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        if e.is_usage() {
            Failure::Usage(e.to_string())
        } else {
            Failure::Other(e.to_string())
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        // --help and --version exit 0; usage errors 2.
        Err(e) => e.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("schedctl: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(Failure::Usage(msg)) => Cli::command().error(ErrorKind::InvalidValue, msg).exit(),
        Err(f) => {
            eprintln!("schedctl: {f}");
            ExitCode::FAILURE
        }
    }
}

/// Read a jobspec: a file, or stdin for `-`.
fn read_text(file: &str) -> Result<String, Failure> {
    if file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure::Other(format!("cannot read stdin: {e}")))?;
        Ok(s)
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| Failure::Other(format!("cannot read {file}: {e}")))
    }
}

/// The connector's options from the command line.
fn connect_options(cli: &Cli) -> ConnectOptions {
    ConnectOptions {
        uri: cli.uri.clone(),
        tls_ca: cli.tls_ca.clone(),
        tls_cert: cli.tls_cert.clone(),
        tls_key: cli.tls_key.clone(),
        token_file: cli.token_file.clone(),
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    // Checks that need no server come first.
    let submit_text = match &cli.command {
        Cmd::Submit(a) => Some(submit_jobspec(a)?),
        _ => None,
    };
    let cc = match &cli.command {
        Cmd::Submit(a) => a.cc.as_deref().map(bulk::parse_cc).transpose()?,
        _ => None,
    };
    let advance_by = match &cli.command {
        Cmd::Advance { seconds } => {
            let s = parse_duration(seconds).map_err(Failure::Usage)?;
            Some(i64::try_from(s).map_err(|_| Failure::Usage(format!("{seconds}: too large")))?)
        }
        _ => None,
    };
    let opts = connect_options(&cli);
    let mut client = match cli.command {
        Cmd::Grow(a) => return elastic::grow(&opts, a).await,
        Cmd::Shrink(a) => return elastic::shrink(&opts, a).await,
        Cmd::Leases(a) => return elastic::leases(&opts, a).await,
        Cmd::Tree(a) => return tree::tree(&opts, a).await,
        Cmd::Burst(a) => return burst::burst(&opts, a).await,
        _ => client::connect(&opts).await?,
    };
    match cli.command {
        Cmd::Submit(a) if cc.is_some() => {
            let (cc, name) = (cc.unwrap_or_default(), a.name.unwrap_or_default());
            let jobspec = submit_text.unwrap_or_default();
            return bulk::submit_copies(&mut client, &cc, &name, &jobspec).await;
        }
        Cmd::Submit(a) => {
            let jobspec = submit_text.unwrap_or_default();
            let r = client
                .submit(pb::SubmitRequest {
                    jobspec,
                    name: a.name.unwrap_or_default(),
                    jobs: Vec::new(),
                })
                .await?
                .into_inner();
            emit(&format!("{}\n", r.job_id))?;
        }
        Cmd::Cancel { ids, all } => return cancel(&mut client, ids, all).await,
        Cmd::Jobs {
            states,
            name,
            limit,
            json,
        } => {
            let req = pb::ListRequest {
                states: states.iter().map(|s| s.proto() as i32).collect(),
                name: name.unwrap_or_default(),
                limit,
            };
            let jobs = client.list(req).await?.into_inner().jobs;
            if json {
                let list: Vec<Value> = jobs.iter().map(|j| job_json(j, false)).collect();
                emit(&pretty(&Value::Array(list)))?;
            } else {
                emit(&jobs_table(&jobs))?;
            }
        }
        Cmd::Output { id, follow } => return output::print(&mut client, id, follow).await,
        Cmd::Info { id, json } => {
            let info = client
                .info(pb::InfoRequest { job_id: id })
                .await?
                .into_inner();
            if json {
                emit(&pretty(&job_json(&info, true)))?;
            } else {
                emit(&job_text(&info))?;
            }
        }
        Cmd::Wait { id, any } => return wait(&mut client, id, any).await,
        Cmd::Watch { id, json } => {
            let req = pb::WatchRequest {
                job_id: id.unwrap_or(0),
                kinds: vec![],
                max_events: 0,
                mine: false,
            };
            let mut stream = client.watch(req).await?.into_inner();
            while let Some(ev) = stream.message().await? {
                let line = if json {
                    format!("{}\n", event_json(&ev))
                } else {
                    event_line(&ev)
                };
                emit(&line)?;
            }
        }
        Cmd::Resources {
            format,
            free,
            allocated,
            down,
        } => {
            let filter = if free {
                pb::ResourceFilter::Free
            } else if allocated {
                pb::ResourceFilter::Allocated
            } else if down {
                pb::ResourceFilter::Down
            } else {
                pb::ResourceFilter::All
            };
            let r = client
                .resources(pb::ResourcesRequest {
                    format,
                    filter: filter as i32,
                })
                .await?
                .into_inner();
            emit(&line_ended(r.text))?;
        }
        Cmd::Find { expr, format } => {
            let r = client
                .find(pb::FindRequest {
                    expression: expr.join(" "),
                    format,
                })
                .await?
                .into_inner();
            emit(&line_ended(r.text))?;
        }
        Cmd::SetStatus { path, status } => {
            let status = match status {
                UpDown::Up => pb::VertexStatus::Up,
                UpDown::Down => pb::VertexStatus::Down,
            };
            client
                .set_status(pb::SetStatusRequest {
                    path,
                    status: status as i32,
                })
                .await?;
        }
        Cmd::Match {
            op,
            file,
            format,
            json,
        } => {
            let jobspec = read_text(&file)?;
            let r = client
                .r#match(pb::MatchRequest {
                    jobspec,
                    op: op.proto() as i32,
                    format,
                })
                .await?
                .into_inner();
            if json {
                emit(&pretty(&match_json(&r)))?;
            } else {
                emit(&line_ended(r.r.clone()))?;
                eprintln!("{}", match_note(&r));
            }
        }
        Cmd::Stats { json } => {
            let s = client.stats(pb::StatsRequest {}).await?.into_inner();
            let v = stats_json(&s);
            emit(&if json { pretty(&v) } else { key_values(&v) })?;
        }
        Cmd::Status { json } => {
            let s = client.status(pb::StatusRequest {}).await?.into_inner();
            let v = status_json(&s);
            emit(&if json { pretty(&v) } else { key_values(&v) })?;
        }
        Cmd::Advance { .. } => {
            let r = client
                .advance(pb::AdvanceRequest {
                    seconds: advance_by.unwrap_or(0),
                })
                .await?
                .into_inner();
            emit(&format!("{}\n", r.now))?;
        }
        // Served above, by the elastic clients.
        Cmd::Grow(_) | Cmd::Shrink(_) | Cmd::Leases(_) | Cmd::Tree(_) | Cmd::Burst(_) => {}
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_command_lines() {
        let cli = Cli::try_parse_from([
            "schedctl",
            "--uri",
            "unix:/x.sock",
            "jobs",
            "--state",
            "running,pending",
            "--state",
            "cancelled",
        ])
        .unwrap();
        let Cmd::Jobs { states, .. } = cli.command else {
            panic!()
        };
        assert_eq!(
            states,
            [StateArg::Running, StateArg::Pending, StateArg::Canceled]
        );
        assert!(Cli::try_parse_from(["schedctl", "wait"]).is_err());
        assert!(Cli::try_parse_from(["schedctl", "wait", "3", "--any"]).is_err());
        assert!(Cli::try_parse_from(["schedctl", "resources", "--free", "--down"]).is_err());
        let m = Cli::try_parse_from(["schedctl", "match", "allocate_orelse_reserve", "-"]).unwrap();
        let Cmd::Match { op, .. } = m.command else {
            panic!()
        };
        assert_eq!(op, OpArg::AllocateOrelseReserve);
        let f = Cli::try_parse_from(["schedctl", "find", "status=up", "and", "sched-now=free"])
            .unwrap();
        let Cmd::Find { expr, .. } = f.command else {
            panic!()
        };
        assert_eq!(expr.join(" "), "status=up and sched-now=free");
    }

    #[test]
    fn connect_options_follow_the_command_line() {
        let cli = Cli::try_parse_from([
            "schedctl",
            "--uri",
            "https://h:1",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "status",
        ])
        .unwrap();
        let o = connect_options(&cli);
        assert_eq!(o.uri.as_deref(), Some("https://h:1"));
        assert_eq!(
            (o.tls_cert, o.tls_key, o.tls_ca),
            (Some("c.pem".into()), Some("k.pem".into()), None)
        );
        let f = Failure::from(ClientError::NoSocketPath("unix:".into()));
        assert!(matches!(f, Failure::Usage(_)), "{f}");
    }
}
