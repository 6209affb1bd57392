//! Where an instance's time goes without RPC: submit and allocate N
//! one-core jobs, then cancel them, on a recipe, with the journal on.
//! `cargo run --release -p schedd --example instance_cost -- RECIPE [N]`
use std::time::Instant;

use schedd::clock::SimClock;
use schedd::executor::SimExecutor;
use schedd::instance::{Config, Instance};
use schedd::journal::Journal;

/// One core for an hour (the project's example jobspec).
const JOBSPEC: &str = include_str!("../../examples/jobspec-1core.yaml");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let recipe = args
        .next()
        .ok_or("usage: instance_cost RECIPE [N] [POLICY]")?;
    let n: u64 = args.next().map_or(Ok(10_000), |s| s.parse())?;
    let policy = args.next().unwrap_or_else(|| "first".into());
    let dir = std::env::temp_dir().join(format!("quiver-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let g = resource_graph::load_grug(std::path::Path::new(&recipe))?;
    let cfg = Config {
        policy,
        ..Config::default()
    };
    let mut inst = Instance::new(
        g,
        recipe.clone(),
        cfg,
        Box::new(SimClock::new(0)),
        Box::new(SimExecutor),
        Some(Journal::open(&dir)?),
    )?;
    let batch = 64;
    let t = Instant::now();
    let mut ids = Vec::new();
    for chunk in 0..n.div_ceil(batch) {
        inst.journal_begin();
        for _ in 0..batch.min(n - chunk * batch) {
            ids.push(inst.submit(0, "", JOBSPEC)?);
        }
        while inst.schedule(256) {}
        inst.journal_commit()?;
        inst.take_events();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "submit+allocate: {n} jobs in {s:.3} s, {:.1} us each",
        s * 1e6 / n as f64
    );
    let t = Instant::now();
    for chunk in ids.chunks(batch as usize) {
        inst.journal_begin();
        for &id in chunk {
            inst.cancel(0, id)?;
        }
        inst.tick();
        while inst.schedule(256) {}
        inst.journal_commit()?;
        inst.take_events();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "cancel: {n} jobs in {s:.3} s, {:.1} us each",
        s * 1e6 / n as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
