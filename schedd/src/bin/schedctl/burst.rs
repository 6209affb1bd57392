//! `schedctl burst`: the calls of `quiver.burst.v1`. Without options it
//! lists the pools and their nodes; `--nodes N` adds nodes now (of the
//! pool's shape, or of `--shape FILE`); `--remove NODES` takes them away.
use clap::Args;
use sched_proto::burst_v1 as pb;
use serde_json::{json, Value};

use schedd::client::{self, ConnectOptions};

use crate::render::{emit, pretty};
use crate::{read_text, Failure};

/// `burst`: list, add or remove.
#[derive(Args, Debug)]
pub struct BurstArgs {
    /// Add this many nodes now (they come up when the provider says so)
    #[arg(short = 'N', long, value_name = "N", conflicts_with = "remove")]
    nodes: Option<u32>,
    /// The pool to add to [default: the first]
    #[arg(long, value_name = "NAME", requires = "nodes")]
    pool: Option<String>,
    /// With --nodes: a recipe (GRUG YAML) whose root is one node, the
    /// shape of the new nodes [default: the pool's]
    #[arg(long, value_name = "FILE", requires = "nodes")]
    shape: Option<String>,
    /// Remove these burst nodes (names or paths; comma separated or repeated)
    #[arg(long, value_name = "NODE", value_delimiter = ',')]
    remove: Vec<String>,
    /// With --remove: put the jobs running there back in the queue
    /// (without it, busy nodes are refused naming their jobs)
    #[arg(long, requires = "remove")]
    requeue: bool,
    /// Print the answer as JSON
    #[arg(long)]
    json: bool,
}

pub async fn burst(opts: &ConnectOptions, a: BurstArgs) -> Result<std::process::ExitCode, Failure> {
    let mut c = client::connect_burst(opts).await?;
    if let Some(n) = a.nodes {
        let shape = match &a.shape {
            Some(f) => read_text(f)?,
            None => String::new(),
        };
        let r = c
            .add(pb::AddRequest {
                pool: a.pool.unwrap_or_default(),
                nodes: n,
                shape,
            })
            .await?
            .into_inner();
        if a.json {
            emit(&pretty(&json!({"paths": r.paths})))?;
        } else {
            emit(&format!("provisioning: {}\n", r.paths.join(" ")))?;
        }
        return Ok(std::process::ExitCode::SUCCESS);
    }
    if !a.remove.is_empty() {
        let r = c
            .remove(pb::RemoveRequest {
                nodes: a.remove,
                requeue: a.requeue,
            })
            .await?
            .into_inner();
        if a.json {
            emit(&pretty(&json!({"paths": r.paths, "requeued": r.requeued})))?;
        } else {
            let mut out = format!("removed: {}\n", r.paths.join(" "));
            if !r.requeued.is_empty() {
                let ids: Vec<String> = r.requeued.iter().map(u64::to_string).collect();
                out.push_str(&format!("requeued: {}\n", ids.join(" ")));
            }
            emit(&out)?;
        }
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let r = c.list(pb::ListRequest {}).await?.into_inner();
    if a.json {
        emit(&pretty(&list_json(&r)))?;
        return Ok(std::process::ExitCode::SUCCESS);
    }
    emit(&list_text(&r))?;
    Ok(std::process::ExitCode::SUCCESS)
}

fn list_json(r: &pb::ListReply) -> Value {
    let pools: Vec<Value> = r
        .pools
        .iter()
        .map(|p| {
            json!({
                "name": p.name, "provider": p.provider, "max_nodes": p.max_nodes,
                "idle_grace": p.idle_grace, "deadline": p.deadline,
                "cost_per_hour": p.cost_per_hour, "budget": p.budget,
                "automatic": p.automatic, "last_error": p.last_error,
                "last_error_time": p.last_error_time,
            })
        })
        .collect();
    let nodes: Vec<Value> = r
        .nodes
        .iter()
        .map(|n| {
            json!({
                "name": n.name, "path": n.path, "pool": n.pool, "state": n.state,
                "added": n.added, "up_at": n.up_at, "idle_since": n.idle_since,
                "jobs": n.jobs,
            })
        })
        .collect();
    json!({"pools": pools, "nodes": nodes, "spent": r.spent})
}

fn list_text(r: &pb::ListReply) -> String {
    if r.pools.is_empty() && r.nodes.is_empty() {
        return "no burst pools (schedd --burst-provider or --burst-config)\n".into();
    }
    let mut out = format!(
        "{:<12} {:<9} {:>5} {:>5} {:>8} {:>10} {:>10} LAST ERROR\n",
        "POOL", "PROVIDER", "NODES", "MAX", "AUTO", "COST/H", "BUDGET"
    );
    for p in &r.pools {
        let n = r.nodes.iter().filter(|n| n.pool == p.name).count();
        let budget = if p.budget > 0.0 {
            format!("{:.2}", p.budget)
        } else {
            "-".into()
        };
        out.push_str(&format!(
            "{:<12} {:<9} {:>5} {:>5} {:>8} {:>10.3} {:>10} {}\n",
            p.name,
            p.provider,
            n,
            p.max_nodes,
            if p.automatic { "yes" } else { "no" },
            p.cost_per_hour,
            budget,
            p.last_error
        ));
    }
    out.push_str(&format!("spent: {:.4}\n", r.spent));
    if !r.nodes.is_empty() {
        out.push_str(&format!(
            "\n{:<14} {:<12} {:<13} {:<8} PATH\n",
            "NODE", "POOL", "STATE", "JOBS"
        ));
        for n in &r.nodes {
            let jobs: Vec<String> = n.jobs.iter().map(u64::to_string).collect();
            let jobs = if jobs.is_empty() {
                "-".into()
            } else {
                jobs.join(",")
            };
            out.push_str(&format!(
                "{:<14} {:<12} {:<13} {:<8} {}\n",
                n.name, n.pool, n.state, jobs, n.path
            ));
        }
    }
    out
}
