//! `schedctl grow`, `shrink` and `leases`: the calls of `quiver.lease.v1`.
//! Grow and shrink talk to a child instance (which asks its parent);
//! leases to a parent (or, with `--mine`, to a child about its own lease).
use clap::Args;
use sched_proto::lease_v1 as pb;
use serde_json::{json, Value};

use schedd::client::{self, ConnectOptions};
use schedd::elastic::shape::Shape;

use crate::render::{emit, pretty};
use crate::{read_text, Failure};

/// `grow`: a shape or a jobspec FILE.
#[derive(Args, Debug)]
pub struct GrowArgs {
    /// Whole nodes to add
    #[arg(short = 'N', long = "nodes", value_name = "N")]
    nodes: Option<u64>,
    /// Cores to add (without -N)
    #[arg(short = 'c', long = "cores", value_name = "N")]
    cores: Option<u64>,
    /// GPUs to add (without -N)
    #[arg(short = 'g', long = "gpus", value_name = "N")]
    gpus: Option<u64>,
    /// A jobspec FILE (YAML or JSON; - = stdin) of what to add, instead
    #[arg(value_name = "FILE", conflicts_with_all = ["nodes", "cores", "gpus"])]
    file: Option<String>,
    /// Print the answer as JSON
    #[arg(long)]
    json: bool,
}

/// `shrink`: paths, or a number of idle vertices.
#[derive(Args, Debug)]
pub struct ShrinkArgs {
    /// Subtrees to give back, by containment path (comma separated or repeated)
    #[arg(
        long,
        value_name = "PATH",
        value_delimiter = ',',
        conflicts_with = "idle"
    )]
    paths: Vec<String>,
    /// Give back this many idle vertices of --type
    #[arg(long, value_name = "N")]
    idle: Option<u32>,
    /// The type --idle counts
    #[arg(long = "type", value_name = "TYPE", default_value = "node")]
    typ: String,
    /// With --paths where jobs run: stop scheduling there, wait for those
    /// jobs to end, then give back (without it, busy paths are refused)
    #[arg(long, requires = "paths", conflicts_with = "requeue")]
    drain: bool,
    /// With --paths where jobs run: put those jobs back in this child's
    /// queue (same ids) and give the paths back at once
    #[arg(long, requires = "paths")]
    requeue: bool,
    /// Print the answer as JSON
    #[arg(long)]
    json: bool,
}

/// `leases`.
#[derive(Args, Debug)]
pub struct LeasesArgs {
    /// Ask a child about its own lease (as its parent holds it)
    #[arg(long)]
    mine: bool,
    /// Print them as JSON
    #[arg(long)]
    json: bool,
}

pub async fn grow(opts: &ConnectOptions, a: GrowArgs) -> Result<std::process::ExitCode, Failure> {
    let jobspec = match &a.file {
        Some(f) => read_text(f)?,
        None => {
            let shape = Shape {
                nodes: a.nodes.unwrap_or(0),
                cores: a.cores.unwrap_or(0),
                gpus: a.gpus.unwrap_or(0),
            };
            if shape.is_empty() {
                return Err(Failure::Usage(
                    "grow needs -N, -c or -g, or a jobspec FILE".into(),
                ));
            }
            shape.jobspec()
        }
    };
    let mut c = client::connect_elastic(opts).await?;
    let r = c.grow(pb::ChildGrowRequest { jobspec }).await?.into_inner();
    if a.json {
        emit(&pretty(
            &json!({"epoch": r.epoch, "paths": r.paths, "added": r.added}),
        ))?;
    } else {
        emit(&format!(
            "grew by {} vertices (epoch {}): {}\n",
            r.added,
            r.epoch,
            r.paths.join(" ")
        ))?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

pub async fn shrink(
    opts: &ConnectOptions,
    a: ShrinkArgs,
) -> Result<std::process::ExitCode, Failure> {
    if a.paths.is_empty() && a.idle.is_none() {
        return Err(Failure::Usage("shrink needs --paths or --idle N".into()));
    }
    let mut c = client::connect_elastic(opts).await?;
    let r = c
        .shrink(pb::ChildShrinkRequest {
            paths: a.paths,
            idle: a.idle.unwrap_or(0),
            r#type: a.typ,
            drain: a.drain,
            requeue: a.requeue,
        })
        .await?
        .into_inner();
    if a.json {
        emit(&pretty(
            &json!({"epoch": r.epoch, "paths": r.paths, "removed": r.removed}),
        ))?;
    } else {
        emit(&format!(
            "gave back {} vertices (epoch {}): {}\n",
            r.removed,
            r.epoch,
            r.paths.join(" ")
        ))?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

pub async fn leases(
    opts: &ConnectOptions,
    a: LeasesArgs,
) -> Result<std::process::ExitCode, Failure> {
    let list = if a.mine {
        let mut c = client::connect_elastic(opts).await?;
        let l = c.lease(pb::ChildLeaseRequest {}).await?.into_inner().lease;
        l.into_iter().collect::<Vec<_>>()
    } else {
        let mut c = client::connect_leases(opts).await?;
        c.list(pb::ListLeasesRequest {}).await?.into_inner().leases
    };
    if a.json {
        let v: Vec<Value> = list.iter().map(lease_json).collect();
        emit(&pretty(&Value::Array(v)))?;
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let mut out = format!(
        "{:>6} {:>6} {:>6} {:>9} {:>11} {:<24} HOLDS\n",
        "LEASE", "OWNER", "EPOCH", "VERTICES", "LAST_SEEN", "CHILD"
    );
    for l in &list {
        out.push_str(&format!(
            "{:>6} {:>6} {:>6} {:>9} {:>11} {:<24} {}\n",
            l.id,
            l.owner,
            l.epoch,
            l.vertices,
            l.last_seen,
            l.child,
            l.paths.join(",")
        ));
    }
    emit(&out)?;
    Ok(std::process::ExitCode::SUCCESS)
}

fn lease_json(l: &pb::Lease) -> Value {
    json!({
        "id": l.id,
        "child": l.child,
        "owner": l.owner,
        "epoch": l.epoch,
        "paths": l.paths,
        "vertices": l.vertices,
        "grants": l.grants,
        "expires": l.expires,
        "last_seen": l.last_seen,
    })
}
