//! Observability: the instance's counters as `schedctl stats` shows them
//! and as Prometheus scrapes them (`--metrics ADDR`, path `/metrics`).
//!
//! The figures live in the instance ([`Stats`]); a scrape asks the actor
//! for them and turns them into `prometheus` metrics, so both views always
//! agree and the scheduling thread does no metrics work of its own.
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use prometheus::{Encoder, GaugeVec, IntCounter, IntGauge, IntGaugeVec, Opts, Registry};
use sched_proto::v1 as pb;
use tracing::{info, warn};

use crate::actor::{Command, Handle};
use crate::instance::Stats;

/// What the stats need beyond the instance's figures.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    pub started: Instant,
    pub queue_depth: u32,
}

/// The value at quantile `q` (0..=1) of sorted `v`; 0 when empty.
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i.min(v.len() - 1)]
}

/// p50, p90, p99 and the largest of latencies in any order.
fn latency_quantiles(us: &[f64]) -> [f64; 4] {
    let mut lat = us.to_vec();
    lat.sort_by(|a, b| a.total_cmp(b));
    [
        quantile(&lat, 0.5),
        quantile(&lat, 0.9),
        quantile(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0),
    ]
}

/// The Stats reply.
pub fn stats_pb(s: &Stats, meta: Meta) -> pb::StatsResponse {
    let up = meta.started.elapsed().as_secs_f64().max(1e-9);
    let [p50, p90, p99, max] = latency_quantiles(&s.match_us);
    pb::StatsResponse {
        depend: s.depend,
        pending: s.pending,
        running: s.running,
        finished: s.finished,
        canceled: s.canceled,
        failed: s.failed,
        submitted_total: s.submitted_total,
        allocated_total: s.allocated_total,
        released_total: s.released_total,
        submit_rate: s.submitted_total as f64 / up,
        alloc_rate: s.allocated_total as f64 / up,
        match_p50_us: p50,
        match_p90_us: p90,
        match_p99_us: p99,
        match_max_us: max,
        queue_depth: meta.queue_depth,
        uptime_s: up,
    }
}

/// The Prometheus view of an instance.
struct Exporter {
    registry: Registry,
    jobs: IntGaugeVec,
    submitted: IntCounter,
    allocated: IntCounter,
    released: IntCounter,
    latency: GaugeVec,
    /// Counter values already exported (counters only move by deltas).
    last: Mutex<(u64, u64, u64)>,
}

impl Exporter {
    fn new(queue_depth: u32) -> prometheus::Result<Exporter> {
        let registry = Registry::new_custom(Some("quiver".into()), None)?;
        let jobs = IntGaugeVec::new(Opts::new("jobs", "Jobs by state"), &["state"])?;
        let submitted = IntCounter::new("jobs_submitted_total", "Jobs accepted")?;
        let allocated = IntCounter::new("jobs_allocated_total", "Allocations made")?;
        let released = IntCounter::new("jobs_released_total", "Allocations released")?;
        let latency = GaugeVec::new(
            Opts::new(
                "match_latency_seconds",
                "Match latency of the recent matches, by quantile",
            ),
            &["quantile"],
        )?;
        let depth = IntGauge::new(
            "queue_depth",
            "Pending jobs a scheduling pass considers at most",
        )?;
        depth.set(i64::from(queue_depth));
        registry.register(Box::new(jobs.clone()))?;
        registry.register(Box::new(submitted.clone()))?;
        registry.register(Box::new(allocated.clone()))?;
        registry.register(Box::new(released.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(depth.clone()))?;
        Ok(Exporter {
            registry,
            jobs,
            submitted,
            allocated,
            released,
            latency,
            last: Mutex::new((0, 0, 0)),
        })
    }

    fn render(&self, s: &Stats) -> Result<String, String> {
        for (state, n) in [
            ("depend", s.depend),
            ("pending", s.pending),
            ("running", s.running),
            ("finished", s.finished),
            ("canceled", s.canceled),
            ("failed", s.failed),
        ] {
            self.jobs.with_label_values(&[state]).set(n as i64);
        }
        {
            let mut last = self.last.lock().map_err(|e| e.to_string())?;
            self.submitted
                .inc_by(s.submitted_total.saturating_sub(last.0));
            self.allocated
                .inc_by(s.allocated_total.saturating_sub(last.1));
            self.released
                .inc_by(s.released_total.saturating_sub(last.2));
            *last = (s.submitted_total, s.allocated_total, s.released_total);
        }
        let [p50, p90, p99, _] = latency_quantiles(&s.match_us);
        for (label, us) in [("0.5", p50), ("0.9", p90), ("0.99", p99)] {
            self.latency.with_label_values(&[label]).set(us / 1e6);
        }
        let mut out = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(|e| e.to_string())?;
        String::from_utf8(out).map_err(|e| e.to_string())
    }
}

/// Serve `/metrics` on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    handle: Handle,
    meta: Meta,
) -> std::io::Result<()> {
    let exporter = Arc::new(
        Exporter::new(meta.queue_depth).map_err(|e| std::io::Error::other(e.to_string()))?,
    );
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "serving Prometheus metrics at /metrics");
    }
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "metrics: accept failed");
                continue;
            }
        };
        let exporter = exporter.clone();
        let handle = handle.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let exporter = exporter.clone();
                let handle = handle.clone();
                async move {
                    let reply = |code: StatusCode, body: String| {
                        Response::builder()
                            .status(code)
                            .header("content-type", "text/plain; version=0.0.4")
                            .body(Full::new(Bytes::from(body)))
                    };
                    if req.uri().path() != "/metrics" {
                        return reply(StatusCode::NOT_FOUND, "see /metrics\n".into());
                    }
                    match handle.call(|reply| Command::Stats { reply }).await {
                        Ok(s) => match exporter.render(&s) {
                            Ok(text) => reply(StatusCode::OK, text),
                            Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, e),
                        },
                        Err(e) => reply(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
                    }
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, svc)
                .await
            {
                warn!(error = %e, "metrics: connection failed");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_sorted_values() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 51.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 1.0), 100.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }
}
