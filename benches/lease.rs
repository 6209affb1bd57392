//! Criterion benchmark of a lease's grow and shrink round trip, as a user
//! of a child instance sees it: a parent schedd on the `gen-grug` recipe
//! (`QUIVER_BENCH_RACKS` racks of 256 nodes; default 4 = 1,024 nodes)
//! serving TCP on loopback, a child `schedd --parent http://127.0.0.1:PORT`
//! holding an empty lease, and a client of the child's Unix socket.
//!
//! One iteration of `lease/grow-shrink/N` is `Elastic.Grow` of N whole
//! nodes (the child asks the parent, which matches, books and journals,
//! and the child attaches the delta) and then `Elastic.Shrink` of those
//! paths (the child detaches, the parent releases and journals). Both
//! daemons journal as in production (sim executor).
//!
//! Run: `cargo build --release -p schedd && cargo bench --bench lease`.
mod common;

use common::{schedd_bin, Daemon};

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use sched_proto::lease_v1 as pb;
use schedd::client::{connect_elastic, ConnectOptions, ElasticClient};
use schedd::elastic::shape::Shape;

fn spawn(dir: &Path, name: &str, args: &[&str]) -> Daemon {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("log file");
    let child = Command::new(schedd_bin())
        .arg("--socket")
        .arg(dir.join(format!("{name}.sock")))
        .arg("--state-dir")
        .arg(dir.join(format!("{name}-state")))
        .args(["--executor", "sim"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("schedd starts (cargo build --release -p schedd)");
    Daemon(child)
}

/// Wait until `socket` accepts calls (up to a minute: the parent builds
/// its graph first).
async fn ready(socket: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(socket.exists() && schedd::client::connect_unix(socket).await.is_ok()) {
        assert!(
            Instant::now() < deadline,
            "{} never answered",
            socket.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

async fn round_trip(c: &mut ElasticClient, jobspec: &str) {
    let g = c
        .grow(pb::ChildGrowRequest {
            jobspec: jobspec.to_owned(),
        })
        .await
        .expect("grow")
        .into_inner();
    c.shrink(pb::ChildShrinkRequest {
        paths: g.paths,
        idle: 0,
        r#type: String::new(),
        drain: false,
        requeue: false,
    })
    .await
    .expect("shrink");
}

fn main() {
    let Some(script) = common::gen_grug_script() else {
        eprintln!("lease bench: ../shared/bench/gen-grug not found; skipped");
        return;
    };
    let (dir, recipe) = common::write_recipe(&script, common::racks()).expect("recipe");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let parent = spawn(
        &dir,
        "parent",
        &[
            "--grug",
            recipe.to_str().unwrap(),
            "--listen",
            &listen,
            "--insecure",
        ],
    );
    // The client runs as schedctl does: one thread, so the figure is the
    // daemons' round trip, not a harness's own thread hand-offs.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(ready(&dir.join("parent.sock")));
    let uri = format!("http://{listen}");
    let child = spawn(&dir, "child", &["--parent", &uri]);
    let mut client = rt.block_on(async {
        ready(&dir.join("child.sock")).await;
        let opts = ConnectOptions {
            uri: Some(format!("unix:{}", dir.join("child.sock").display())),
            ..ConnectOptions::default()
        };
        connect_elastic(&opts).await.expect("connect to the child")
    });

    let mut crit = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(5));
    for nodes in [4u64, 64] {
        let jobspec = Shape {
            nodes,
            ..Shape::default()
        }
        .jobspec();
        crit.bench_function(&format!("lease/grow-shrink/{nodes}"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t0 = Instant::now();
                    for _ in 0..iters {
                        round_trip(&mut client, &jobspec).await;
                    }
                    t0.elapsed()
                })
            })
        });
    }
    crit.final_summary();
    drop(child);
    drop(parent);
    let _ = std::fs::remove_dir_all(&dir);
}
