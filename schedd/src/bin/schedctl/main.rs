//! `schedctl`: the command line client of a Quiver scheduler instance.
//!
//! Every command is one call (or one stream) of the `quiver.sched.v1`
//! protocol against the instance that `--uri` (or `QUIVER_URI`) names: a
//! Unix socket (`unix:/path`, the default being the socket a schedd of this
//! user listens on) or TCP (`http://HOST:PORT`, or `https://HOST:PORT`
//! trusting `--tls-ca` or else the system's roots, with `--tls-cert` and
//! `--tls-key` for mutual TLS). A server error
//! prints `schedctl: <message> (<CODE>)` and exits 1; a usage error exits 2.

use std::collections::HashMap;
use std::ffi::CStr;
use std::fmt;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use sched_proto::v1 as pb;
use serde_json::{json, Map, Value};
use tonic::{Code, Status};

use schedd::auth::effective_uid;
use schedd::client::{self, error_chain, Client, ClientError, ConnectOptions};

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
}

#[derive(Args, Debug)]
struct SubmitArgs {
    /// Nodes to spread the tasks over
    #[arg(short = 'N', long = "nodes", value_name = "N")]
    nodes: Option<u64>,
    /// Tasks (slots) to run [default: 1, or one per node]
    #[arg(short = 'n', long = "ntasks", value_name = "N")]
    ntasks: Option<u64>,
    /// Cores per task [default: 1]
    #[arg(short = 'c', long = "cores-per-task", value_name = "N")]
    cores: Option<u64>,
    /// GPUs per task [default: 0]
    #[arg(short = 'g', long = "gpus-per-task", value_name = "N")]
    gpus: Option<u64>,
    /// Time limit: seconds, or 30s, 5m, 2h, 1d [default: the instance's]
    #[arg(short = 't', long = "time-limit", value_name = "DURATION")]
    time: Option<String>,
    /// Nodes are allocated whole (with -N)
    #[arg(short = 'x', long)]
    exclusive: bool,
    /// A name for the job
    #[arg(long)]
    name: Option<String>,
    /// Jobspec file (YAML or JSON; - = stdin)
    #[arg(value_name = "FILE")]
    file: Option<String>,
    /// The command of the task (after `--`)
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// Job states as the command line spells them.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum StateArg {
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
            Failure::Rpc(s) => {
                let mut msg = s.message().to_string();
                if msg.is_empty() {
                    msg = s.code().description().to_string();
                }
                if let Some(src) = std::error::Error::source(s) {
                    let chain = error_chain(src);
                    if chain.starts_with(&msg) {
                        msg = chain;
                    } else if !msg.contains(&chain) {
                        msg = format!("{msg}: {chain}");
                    }
                }
                write!(f, "{msg} ({})", code_name(s.code()))
            }
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

/// The canonical gRPC name of a status code.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
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

/// Write to stdout; a closed pipe (`schedctl jobs | head`) is not an error.
fn emit(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Other(format!("cannot write the output: {e}"))),
    }
}

/// Text that ends with exactly one newline (none added to empty text).
fn line_ended(mut s: String) -> String {
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Pretty JSON plus a newline.
fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    s.push('\n');
    s
}

async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    // Checks that need no server come first.
    let submit_text = match &cli.command {
        Cmd::Submit(a) => Some(submit_jobspec(a)?),
        _ => None,
    };
    let advance_by = match &cli.command {
        Cmd::Advance { seconds } => {
            let s = parse_duration(seconds).map_err(Failure::Usage)?;
            Some(i64::try_from(s).map_err(|_| Failure::Usage(format!("{seconds}: too large")))?)
        }
        _ => None,
    };
    let mut client = client::connect(&connect_options(&cli)).await?;
    match cli.command {
        Cmd::Submit(a) => {
            let jobspec = submit_text.unwrap_or_default();
            let r = client
                .submit(pb::SubmitRequest {
                    jobspec,
                    name: a.name.unwrap_or_default(),
                })
                .await?
                .into_inner();
            emit(&format!("{}\n", r.job_id))?;
        }
        Cmd::Cancel { ids, all } => {
            let ids = if all {
                let me = effective_uid();
                let jobs = client
                    .list(pb::ListRequest {
                        states: vec![pb::JobState::Pending as i32, pb::JobState::Running as i32],
                        name: String::new(),
                        limit: 0,
                    })
                    .await?
                    .into_inner()
                    .jobs;
                let mine: Vec<u64> = jobs
                    .iter()
                    .filter(|j| j.owner_uid == me)
                    .map(|j| j.job_id)
                    .collect();
                if mine.is_empty() {
                    return Ok(ExitCode::SUCCESS);
                }
                mine
            } else {
                ids
            };
            // One request for all of them; each job's outcome comes back.
            let failed = if let [id] = ids[..] {
                match client
                    .cancel(pb::CancelRequest {
                        job_id: id,
                        job_ids: Vec::new(),
                    })
                    .await
                {
                    Ok(_) => false,
                    Err(s) => {
                        eprintln!("schedctl: cancel {id}: {}", Failure::Rpc(s));
                        true
                    }
                }
            } else {
                let mut failed = false;
                for chunk in ids.chunks(schedd::service::MAX_CANCEL_IDS) {
                    let r = client
                        .cancel(pb::CancelRequest {
                            job_id: 0,
                            job_ids: chunk.to_vec(),
                        })
                        .await?
                        .into_inner();
                    for o in r.outcomes.iter().filter(|o| !o.error.is_empty()) {
                        eprintln!("schedctl: cancel {}: {}", o.job_id, o.error);
                        failed = true;
                    }
                }
                failed
            };
            if failed {
                return Ok(ExitCode::FAILURE);
            }
        }
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
                emit(&pretty(&json!({
                    "job_id": r.job_id,
                    "at": r.at,
                    "reserved": r.reserved,
                    "r": r.r,
                    "elapsed": r.elapsed,
                })))?;
            } else {
                emit(&line_ended(r.r.clone()))?;
                let what = if r.job_id == 0 {
                    "matched (nothing booked)".to_string()
                } else if r.reserved {
                    format!("job {} reserved", r.job_id)
                } else {
                    format!("job {} allocated", r.job_id)
                };
                eprintln!("{what} at {} ({:.6} s)", r.at, r.elapsed);
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
    }
    Ok(ExitCode::SUCCESS)
}

/// `wait ID` / `wait --any`: the job's final state decides the exit status.
async fn wait(client: &mut Client, id: Option<u64>, any: bool) -> Result<ExitCode, Failure> {
    let req = match (id, any) {
        (Some(id), false) => pb::WatchRequest {
            job_id: id,
            kinds: vec![],
            max_events: 0,
        },
        (None, true) => pb::WatchRequest {
            job_id: 0,
            kinds: vec![
                pb::EventKind::Finish as i32,
                pb::EventKind::Cancel as i32,
                pb::EventKind::Exception as i32,
            ],
            max_events: 0,
        },
        _ => return Err(Failure::Usage("wait takes a job id or --any".into())),
    };
    let mut stream = client.watch(req).await?.into_inner();
    while let Some(ev) = stream.message().await? {
        let state = pb::JobState::try_from(ev.state).unwrap_or(pb::JobState::Unspecified);
        if !matches!(
            state,
            pb::JobState::Finished | pb::JobState::Canceled | pb::JobState::Failed
        ) {
            continue;
        }
        if any {
            emit(&format!("{}\n", ev.job_id))?;
        }
        let detail = if ev.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", ev.detail)
        };
        eprintln!("job {} {}{detail}", ev.job_id, state_name(ev.state));
        return Ok(if state == pb::JobState::Finished {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    Err(Failure::Other(match id {
        Some(id) => format!("the event stream ended before job {id} did"),
        None => "the event stream ended before any job did".into(),
    }))
}

/// `PENDING`, `RUNNING`, ... for a proto job state.
fn state_name(state: i32) -> String {
    match pb::JobState::try_from(state) {
        Ok(pb::JobState::Unspecified) | Err(_) => format!("unknown({state})"),
        Ok(s) => s.as_str_name().trim_start_matches("JOB_STATE_").to_string(),
    }
}

/// `SUBMIT`, `ALLOC`, ... for a proto event kind.
fn kind_name(kind: i32) -> String {
    match pb::EventKind::try_from(kind) {
        Ok(pb::EventKind::Unspecified) | Err(_) => format!("unknown({kind})"),
        Ok(k) => k
            .as_str_name()
            .trim_start_matches("EVENT_KIND_")
            .to_string(),
    }
}

/// The name of a user, when this host knows it.
fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: passwd is plain data (pointers into `buf` once filled);
    // getpwuid_r writes only into `pwd`, `buf` (of the length given) and
    // `result`, and `pw_name` is read only when it succeeded.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        Some(CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned())
    }
}

/// A time column: `-` for 0 (not yet).
fn time_cell(t: i64) -> String {
    if t == 0 {
        "-".into()
    } else {
        instant(t)
    }
}

/// A job's start: 0 is a real start under a simulated clock, so it shows
/// whenever the job ran.
fn start_cell(j: &pb::JobInfo) -> String {
    let ran = j.state == pb::JobState::Running as i32 || j.state == pb::JobState::Finished as i32;
    if ran {
        instant(j.start_time)
    } else {
        time_cell(j.start_time)
    }
}

/// Instance time as people read it: Unix times (the wall clock) as UTC
/// date and time, simulated seconds as they are.
fn instant(t: i64) -> String {
    if t < 1_000_000_000 {
        return t.to_string();
    }
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The `jobs` table: ID NAME OWNER STATE SUBMIT START END REASON.
fn jobs_table(jobs: &[pb::JobInfo]) -> String {
    let mut names: HashMap<u32, String> = HashMap::new();
    let mut rows: Vec<[String; 8]> = vec![[
        "ID".into(),
        "NAME".into(),
        "OWNER".into(),
        "STATE".into(),
        "SUBMIT".into(),
        "START".into(),
        "END".into(),
        "REASON".into(),
    ]];
    for j in jobs {
        let owner = names
            .entry(j.owner_uid)
            .or_insert_with(|| user_name(j.owner_uid).unwrap_or_else(|| j.owner_uid.to_string()))
            .clone();
        rows.push([
            j.job_id.to_string(),
            if j.name.is_empty() {
                "-".into()
            } else {
                j.name.clone()
            },
            owner,
            state_name(j.state),
            instant(j.submit_time),
            start_cell(j),
            time_cell(j.end_time),
            j.reason.replace('\n', " "),
        ]);
    }
    let mut widths = [0usize; 8];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i == 7 {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                // Numbers right-aligned, text left-aligned.
                if matches!(i, 0 | 4 | 5 | 6) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                }
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A job as JSON; `full` adds R and the jobspec (Info has them, List not),
/// as the strings the protocol carries.
fn job_json(j: &pb::JobInfo, full: bool) -> Value {
    let mut m = Map::new();
    m.insert("job_id".into(), json!(j.job_id));
    m.insert("name".into(), json!(j.name));
    m.insert("owner_uid".into(), json!(j.owner_uid));
    m.insert("state".into(), json!(state_name(j.state)));
    m.insert("submit_time".into(), json!(j.submit_time));
    m.insert("start_time".into(), json!(j.start_time));
    m.insert("end_time".into(), json!(j.end_time));
    m.insert("duration".into(), json!(j.duration));
    m.insert("reason".into(), json!(j.reason));
    m.insert("reserved_at".into(), json!(j.reserved_at));
    m.insert("exit_code".into(), json!(j.exit_code));
    if full {
        m.insert("r".into(), json!(j.r));
        m.insert("jobspec".into(), json!(j.jobspec));
    }
    Value::Object(m)
}

/// `info` as text: a field per line, then the jobspec and R.
fn job_text(j: &pb::JobInfo) -> String {
    let owner = match user_name(j.owner_uid) {
        Some(n) => format!("{} ({n})", j.owner_uid),
        None => j.owner_uid.to_string(),
    };
    let mut out = String::new();
    let mut field = |k: &str, v: String| {
        let line = format!("{k:<12} {v}");
        out.push_str(line.trim_end());
        out.push('\n');
    };
    field("job_id:", j.job_id.to_string());
    field("name:", j.name.clone());
    field("owner:", owner);
    field("state:", state_name(j.state));
    field("submit_time:", instant(j.submit_time));
    field("start_time:", start_cell(j));
    field("end_time:", time_cell(j.end_time));
    field("duration:", j.duration.to_string());
    field("reserved_at:", time_cell(j.reserved_at));
    field("exit_code:", j.exit_code.to_string());
    field("reason:", j.reason.clone());
    let block = |title: &str, text: &str| {
        let mut s = format!("{title}\n");
        for l in text.trim_end().lines() {
            s.push_str("  ");
            s.push_str(l);
            s.push('\n');
        }
        s
    };
    if !j.jobspec.is_empty() {
        out.push_str(&block("jobspec:", &j.jobspec));
    }
    if !j.r.is_empty() {
        let r = match serde_json::from_str::<Value>(&j.r) {
            Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| j.r.clone()),
            Err(_) => j.r.clone(),
        };
        out.push_str(&block("R:", &r));
    }
    out
}

/// An event as a line: TIME JOB KIND STATE [at=AT] [DETAIL].
fn event_line(ev: &pb::JobEvent) -> String {
    let mut s = format!(
        "{} {} {} {}",
        ev.time,
        ev.job_id,
        kind_name(ev.kind),
        state_name(ev.state)
    );
    if ev.at != 0 {
        s.push_str(&format!(" at={}", ev.at));
    }
    if !ev.detail.is_empty() {
        s.push(' ');
        s.push_str(&ev.detail.replace('\n', " "));
    }
    s.push('\n');
    s
}

/// An event as a JSON object.
fn event_json(ev: &pb::JobEvent) -> Value {
    json!({
        "job_id": ev.job_id,
        "kind": kind_name(ev.kind),
        "time": ev.time,
        "state": state_name(ev.state),
        "at": ev.at,
        "detail": ev.detail,
    })
}

/// Stats as JSON.
fn stats_json(s: &pb::StatsResponse) -> Value {
    json!({
        "pending": s.pending,
        "running": s.running,
        "finished": s.finished,
        "canceled": s.canceled,
        "failed": s.failed,
        "submitted_total": s.submitted_total,
        "allocated_total": s.allocated_total,
        "released_total": s.released_total,
        "submit_rate": s.submit_rate,
        "alloc_rate": s.alloc_rate,
        "match_p50_us": s.match_p50_us,
        "match_p90_us": s.match_p90_us,
        "match_p99_us": s.match_p99_us,
        "match_max_us": s.match_max_us,
        "queue_depth": s.queue_depth,
        "uptime_s": s.uptime_s,
    })
}

/// Status as JSON.
fn status_json(s: &pb::StatusResponse) -> Value {
    json!({
        "version": s.version,
        "owner_uid": s.owner_uid,
        "clock": s.clock,
        "now": s.now,
        "policy": s.policy,
        "queue_policy": s.queue_policy,
        "vertices": s.vertices,
        "nodes": s.nodes,
        "nodes_up": s.nodes_up,
        "pending": s.pending,
        "running": s.running,
        "source": s.source,
    })
}

/// A flat JSON object as aligned `key: value` lines.
fn key_values(v: &Value) -> String {
    let Some(m) = v.as_object() else {
        return pretty(v);
    };
    let width = m.keys().map(|k| k.len()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    for (k, v) in m {
        let shown = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => match n.as_f64() {
                Some(f) if !n.is_i64() && !n.is_u64() => format!("{f:.3}"),
                _ => n.to_string(),
            },
            other => other.to_string(),
        };
        let line = format!("{:<width$} {shown}", format!("{k}:"));
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The jobspec text `submit` sends: the file, or the shorthand's.
fn submit_jobspec(a: &SubmitArgs) -> Result<String, Failure> {
    let shaped = a.nodes.is_some()
        || a.ntasks.is_some()
        || a.cores.is_some()
        || a.gpus.is_some()
        || a.time.is_some()
        || a.exclusive;
    match (&a.file, a.command.is_empty()) {
        (Some(_), false) => Err(Failure::Usage(
            "submit takes a jobspec FILE or a command after --, not both".into(),
        )),
        (Some(file), true) => {
            if shaped {
                return Err(Failure::Usage(
                    "-N/-n/-c/-g/-t/-x shape a command given after --, not a jobspec FILE".into(),
                ));
            }
            read_text(file)
        }
        (None, true) => Err(Failure::Usage(
            "submit needs a jobspec FILE (- = stdin) or a command after --".into(),
        )),
        (None, false) => {
            let duration = match &a.time {
                Some(t) => parse_duration(t).map_err(Failure::Usage)?,
                None => 0,
            };
            let shape = Shape {
                nodes: a.nodes,
                ntasks: a.ntasks,
                cores_per_task: a.cores.unwrap_or(1),
                gpus_per_task: a.gpus.unwrap_or(0),
                duration,
                exclusive: a.exclusive,
            };
            let js = shorthand_jobspec(&shape, &a.command).map_err(Failure::Usage)?;
            Ok(serde_json::to_string(&js).unwrap_or_default())
        }
    }
}

/// The shape the `submit` shorthand asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    nodes: Option<u64>,
    ntasks: Option<u64>,
    cores_per_task: u64,
    gpus_per_task: u64,
    /// Seconds; 0 = the instance's default.
    duration: u64,
    exclusive: bool,
}

/// The RFC 14 version 1 jobspec `flux submit` builds for a shape: a slot
/// per task holding its cores (and GPUs); with a node count, nodes holding
/// ceil(ntasks / nodes) slots each, and the tasks counted in total when they
/// do not divide evenly.
fn shorthand_jobspec(shape: &Shape, command: &[String]) -> Result<Value, String> {
    if command.is_empty() {
        return Err("no command given after --".into());
    }
    if shape.cores_per_task == 0 {
        return Err("-c/--cores-per-task must be at least 1".into());
    }
    let ntasks = shape.ntasks.or(shape.nodes).unwrap_or(1);
    if ntasks == 0 {
        return Err("-n/--ntasks must be at least 1".into());
    }
    if shape.exclusive && shape.nodes.is_none() {
        return Err("-x/--exclusive needs -N/--nodes".into());
    }
    let mut with = vec![json!({"type": "core", "count": shape.cores_per_task})];
    if shape.gpus_per_task > 0 {
        with.push(json!({"type": "gpu", "count": shape.gpus_per_task}));
    }
    let (resources, task_count) = match shape.nodes {
        None => (
            json!({"type": "slot", "count": ntasks, "label": "task", "with": with}),
            json!({"per_slot": 1}),
        ),
        Some(0) => return Err("-N/--nodes must be at least 1".into()),
        Some(nodes) => {
            if nodes > ntasks {
                return Err(format!(
                    "node count ({nodes}) must not exceed the task count ({ntasks})"
                ));
            }
            let per_node = ntasks.div_ceil(nodes);
            let count = if per_node * nodes == ntasks {
                json!({"per_slot": 1})
            } else {
                json!({"total": ntasks})
            };
            let slot = json!({"type": "slot", "count": per_node, "label": "task", "with": with});
            let mut node = json!({"type": "node", "count": nodes, "with": [slot]});
            if shape.exclusive {
                node["exclusive"] = json!(true);
            }
            (node, count)
        }
    };
    Ok(json!({
        "version": 1,
        "resources": [resources],
        "tasks": [{"command": command, "slot": "task", "count": task_count}],
        "attributes": {"system": {"duration": shape.duration}},
    }))
}

/// Seconds from `90`, `30s`, `5m`, `2h`, `1d` or fractions such as `1.5h`
/// (rounded up to whole seconds).
fn parse_duration(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || format!("bad duration {text:?}: use seconds or a number with s, m, h or d");
    let (num, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c),
        Some(_) => (t, 's'),
        None => return Err(bad()),
    };
    let mult = match unit {
        's' => 1.0,
        'm' => 60.0,
        'h' => 3600.0,
        'd' => 86400.0,
        _ => return Err(bad()),
    };
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = (n * mult).ceil();
    if !secs.is_finite() || secs > 1e15 {
        return Err(format!("duration {text:?} is too long"));
    }
    Ok(secs as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_as_utc_or_as_simulated_seconds() {
        assert_eq!(instant(0), "0");
        assert_eq!(instant(3600), "3600");
        assert_eq!(instant(1_000_000_000), "2001-09-09T01:46:40Z");
        assert_eq!(instant(1_795_312_486), "2026-11-22T01:54:46Z");
        assert_eq!(instant(1_078_012_800), "2004-02-29T00:00:00Z");
    }

    fn shape(nodes: Option<u64>, ntasks: Option<u64>, c: u64, g: u64) -> Shape {
        Shape {
            nodes,
            ntasks,
            cores_per_task: c,
            gpus_per_task: g,
            duration: 0,
            exclusive: false,
        }
    }

    fn cmd(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("30s"), Ok(30));
        assert_eq!(parse_duration("5m"), Ok(300));
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("1d"), Ok(86400));
        assert_eq!(parse_duration("1.5m"), Ok(90));
        assert_eq!(parse_duration("0.1"), Ok(1));
        assert_eq!(parse_duration("0"), Ok(0));
        for bad in ["", "s", "-5", "5x", "1e3", "abc", "5 m", "inf", "1..2"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn slots_only_like_flux_submit() {
        let js = shorthand_jobspec(&shape(None, Some(4), 2, 0), &cmd(&["hostname"])).unwrap();
        assert_eq!(
            js,
            json!({
                "version": 1,
                "resources": [{"type": "slot", "count": 4, "label": "task",
                               "with": [{"type": "core", "count": 2}]}],
                "tasks": [{"command": ["hostname"], "slot": "task", "count": {"per_slot": 1}}],
                "attributes": {"system": {"duration": 0}},
            })
        );
        // The defaults: one task of one core.
        let js = shorthand_jobspec(&shape(None, None, 1, 0), &cmd(&["true"])).unwrap();
        assert_eq!(js["resources"][0]["count"], json!(1));
    }

    #[test]
    fn nodes_tasks_cores_gpus() {
        let mut s = shape(Some(2), Some(4), 2, 1);
        s.duration = 300;
        let js = shorthand_jobspec(&s, &cmd(&["app", "-v"])).unwrap();
        assert_eq!(
            js,
            json!({
                "version": 1,
                "resources": [{"type": "node", "count": 2, "with": [
                    {"type": "slot", "count": 2, "label": "task", "with": [
                        {"type": "core", "count": 2}, {"type": "gpu", "count": 1}]}]}],
                "tasks": [{"command": ["app", "-v"], "slot": "task", "count": {"per_slot": 1}}],
                "attributes": {"system": {"duration": 300}},
            })
        );
        // What schedd parses.
        let text = serde_json::to_string(&js).unwrap();
        let parsed = matcher::Jobspec::parse(&text).expect("a valid jobspec");
        assert_eq!(parsed.duration, 300);
        assert_eq!(parsed.tasks[0].command, cmd(&["app", "-v"]));
    }

    #[test]
    fn uneven_tasks_count_in_total_and_nodes_default_ntasks() {
        let js = shorthand_jobspec(&shape(Some(2), Some(3), 1, 0), &cmd(&["x"])).unwrap();
        assert_eq!(js["resources"][0]["with"][0]["count"], json!(2));
        assert_eq!(js["tasks"][0]["count"], json!({"total": 3}));
        // -N alone: a task per node.
        let js = shorthand_jobspec(&shape(Some(3), None, 1, 0), &cmd(&["x"])).unwrap();
        assert_eq!(js["resources"][0]["count"], json!(3));
        assert_eq!(js["resources"][0]["with"][0]["count"], json!(1));
        assert!(js["resources"][0].get("exclusive").is_none());
        let mut s = shape(Some(1), None, 1, 0);
        s.exclusive = true;
        let js = shorthand_jobspec(&s, &cmd(&["x"])).unwrap();
        assert_eq!(js["resources"][0]["exclusive"], json!(true));
    }

    #[test]
    fn bad_shapes_are_refused() {
        let c = cmd(&["x"]);
        assert!(shorthand_jobspec(&shape(Some(4), Some(2), 1, 0), &c).is_err());
        assert!(shorthand_jobspec(&shape(Some(0), None, 1, 0), &c).is_err());
        assert!(shorthand_jobspec(&shape(None, Some(0), 1, 0), &c).is_err());
        assert!(shorthand_jobspec(&shape(None, None, 0, 0), &c).is_err());
        assert!(shorthand_jobspec(&shape(None, None, 1, 0), &[]).is_err());
        let mut s = shape(None, Some(2), 1, 0);
        s.exclusive = true;
        assert!(shorthand_jobspec(&s, &c).is_err());
    }

    #[test]
    fn command_line_shapes() {
        let cli = Cli::try_parse_from([
            "schedctl", "submit", "-N2", "-n4", "-c2", "-g1", "-t", "5m", "--name", "job", "--",
            "app", "--flag",
        ])
        .unwrap();
        let Cmd::Submit(a) = &cli.command else {
            panic!("not submit: {cli:?}")
        };
        assert_eq!(
            (a.nodes, a.ntasks, a.cores, a.gpus),
            (Some(2), Some(4), Some(2), Some(1))
        );
        assert_eq!(a.command, cmd(&["app", "--flag"]));
        let text = submit_jobspec(a).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["attributes"]["system"]["duration"], json!(300));
        // A file and a command, or neither: usage errors.
        let both = Cli::try_parse_from(["schedctl", "submit", "f.yaml", "--", "x"]).unwrap();
        let Cmd::Submit(a) = &both.command else {
            panic!()
        };
        assert!(matches!(submit_jobspec(a), Err(Failure::Usage(_))));
        let none = Cli::try_parse_from(["schedctl", "submit"]).unwrap();
        let Cmd::Submit(a) = &none.command else {
            panic!()
        };
        assert!(matches!(submit_jobspec(a), Err(Failure::Usage(_))));
        let shaped = Cli::try_parse_from(["schedctl", "submit", "-n2", "f.yaml"]).unwrap();
        let Cmd::Submit(a) = &shaped.command else {
            panic!()
        };
        assert!(matches!(submit_jobspec(a), Err(Failure::Usage(_))));
    }

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
    fn names_and_json() {
        assert_eq!(state_name(pb::JobState::Canceled as i32), "CANCELED");
        assert_eq!(state_name(42), "unknown(42)");
        assert_eq!(kind_name(pb::EventKind::Exception as i32), "EXCEPTION");
        assert_eq!(code_name(Code::FailedPrecondition), "FAILED_PRECONDITION");
        let f = Failure::Rpc(Status::not_found("job 9: no such job"));
        assert_eq!(f.to_string(), "job 9: no such job (NOT_FOUND)");
        let info = pb::JobInfo {
            job_id: 3,
            state: pb::JobState::Running as i32,
            r: r#"{"version": 1}"#.into(),
            ..Default::default()
        };
        let v = job_json(&info, true);
        assert_eq!(v["state"], json!("RUNNING"));
        assert_eq!(v["r"], json!(r#"{"version": 1}"#));
        assert!(job_json(&info, false).get("r").is_none());
        let table = jobs_table(&[info]);
        let mut lines = table.lines();
        assert!(lines.next().unwrap().starts_with("ID  NAME"), "{table}");
        assert!(lines.next().unwrap().contains("RUNNING"), "{table}");
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
