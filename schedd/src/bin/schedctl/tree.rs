//! `schedctl tree`: the tree of instances below one, walked down their
//! leases (each child said where it serves when it opened its lease):
//! every instance with its queue, every lease with what it holds, the
//! jobs handed down through it and what its child last said it had.
//! An instance that does not answer is shown as such, the walk goes on.
use std::future::Future;
use std::pin::Pin;

use clap::Args;
use sched_proto::lease_v1 as lpb;
use sched_proto::v1 as pb;
use serde_json::{json, Value};

use schedd::client::{self, ConnectOptions};

use crate::render::{emit, pretty};
use crate::Failure;

/// Levels walked at most.
const MAX_DEPTH: usize = 16;

/// `tree`.
#[derive(Args, Debug)]
pub struct TreeArgs {
    /// Print it as JSON
    #[arg(long)]
    json: bool,
}

/// Walk and print the tree below the instance `opts` names.
pub async fn tree(opts: &ConnectOptions, a: TreeArgs) -> Result<std::process::ExitCode, Failure> {
    // The top must answer; below, silence is shown.
    let top = client::resolve_uri(opts.uri.as_deref());
    client::connect(opts).await?;
    let t = walk(opts.clone(), top, 0).await;
    if a.json {
        emit(&pretty(&t))?;
    } else {
        let mut out = String::new();
        render(&t, 0, &mut out);
        emit(&out)?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// The instance at `uri` and everything below it, as JSON.
fn walk(opts: ConnectOptions, uri: String, depth: usize) -> Pin<Box<dyn Future<Output = Value>>> {
    Box::pin(async move {
        let mut node = json!({ "uri": uri });
        let status = match client::connect(&opts).await {
            Ok(mut c) => c.status(pb::StatusRequest {}).await.map(|r| r.into_inner()),
            Err(e) => {
                node["error"] = json!(e.to_string());
                return node;
            }
        };
        match status {
            Ok(s) => {
                node["nodes"] = json!(s.nodes);
                node["pending"] = json!(s.pending);
                node["running"] = json!(s.running);
            }
            Err(e) => {
                node["error"] = json!(e.message());
                return node;
            }
        }
        let leases = match client::connect_leases(&opts).await {
            Ok(mut c) => c
                .list(lpb::ListLeasesRequest {})
                .await
                .map(|r| r.into_inner().leases)
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let mut kids = Vec::new();
        for l in leases {
            let mut lease = json!({
                "id": l.id,
                "epoch": l.epoch,
                "child": l.child,
                "paths": l.paths,
                "vertices": l.vertices,
                "handed": l.handed,
                "child_waiting": l.child_waiting,
                "child_free_cores": l.child_free_cores,
            });
            if !l.uri.is_empty() && depth + 1 < MAX_DEPTH {
                let child_opts = ConnectOptions {
                    uri: Some(l.uri.clone()),
                    ..opts.clone()
                };
                lease["instance"] = walk(child_opts, l.uri.clone(), depth + 1).await;
            }
            kids.push(lease);
        }
        node["leases"] = Value::Array(kids);
        node
    })
}

fn render(t: &Value, depth: usize, out: &mut String) {
    let pad = "    ".repeat(depth);
    let uri = t["uri"].as_str().unwrap_or("?");
    if let Some(e) = t["error"].as_str() {
        out.push_str(&format!("{pad}{uri}  not answering: {e}\n"));
        return;
    }
    out.push_str(&format!(
        "{pad}{uri}  nodes {}  pending {}  running {}\n",
        t["nodes"], t["pending"], t["running"]
    ));
    for l in t["leases"].as_array().into_iter().flatten() {
        let paths: Vec<&str> = l["paths"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        out.push_str(&format!(
            "{pad}  lease {} (epoch {}): {}  handed {}  child waiting {}  free cores {}\n",
            l["id"],
            l["epoch"],
            if paths.is_empty() {
                "nothing".to_owned()
            } else {
                paths.join(",")
            },
            l["handed"],
            l["child_waiting"],
            l["child_free_cores"],
        ));
        match l.get("instance") {
            Some(i) => render(i, depth + 1, out),
            None => out.push_str(&format!("{pad}    {}\n", l["child"].as_str().unwrap_or(""))),
        }
    }
}
