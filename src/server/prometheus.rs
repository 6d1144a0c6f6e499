//! `GET /metrics`: the Prometheus text exposition of the same samples `/ws`
//! answers from, written with the `prometheus-client` crate.
//!
//! Each kind of the table writes its own series ([`crate::state::Kind`]'s
//! `series`), with node_exporter's names where the quantity is the same
//! (`node_cpu_seconds_total`, `node_memory_*`, `node_network_*`,
//! `node_filesystem_*`, `node_load*`, `node_boot_time_seconds`), so
//! existing dashboards work; sonde's own series start with `sonde_`. Each
//! sample's part of the text is made once per sample
//! ([`crate::cache::Sample::text`]) and shared by every scraper; only the
//! agent's own series (its cost, error counters, sessions) are written per
//! scrape, here.

use std::fmt;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;

use super::auth::Authorized;
use super::exposition::{CONTENT_TYPE, counter, encode, family, gauge};
use super::guard::Guard;
use super::listener::{Admission, Refusal};
use crate::collect::errors::ErrorCount;
use crate::kinds::node;
use crate::state::AppState;

/// Collector errors per collector and kind (without `_total`).
pub const COLLECTOR_ERRORS: &str = "sonde_collector_errors";
/// WebSocket sessions open.
pub const WEBSOCKET_SESSIONS: &str = "sonde_websocket_sessions";
/// The WebSocket cap.
pub const WEBSOCKET_SESSIONS_LIMIT: &str = "sonde_websocket_sessions_limit";
/// Connections refused per reason (without `_total`).
pub const CONNECTIONS_REFUSED: &str = "sonde_connections_refused";
/// Wrong or missing tokens (without `_total`).
pub const AUTH_FAILURES: &str = "sonde_auth_failures";
/// Browser-safety refusals per reason (without `_total`).
pub const REQUESTS_REFUSED: &str = "sonde_requests_refused";
/// The agent's own CPU time (without `_total`).
pub const PROCESS_CPU_SECONDS: &str = "process_cpu_seconds";
/// The agent's own resident memory.
pub const PROCESS_RESIDENT_MEMORY_BYTES: &str = "process_resident_memory_bytes";

/// `GET /metrics`; `collect[]=NAME` (repeatable) serves only those
/// collectors, as node_exporter does (`collect[]=sonde`: sonde's own
/// series).
pub async fn handler(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    Extension(admission): Extension<Arc<Admission>>,
    Extension(guard): Extension<Arc<Guard>>,
    RawQuery(query): RawQuery,
) -> Response {
    let collect = collect_param(query.as_deref());
    if let Err(e) = node::check_selection(&state, &collect) {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("collect[]: {e}\n"),
        )
            .into_response();
    }
    match exposition(&state, &admission, &guard, &collect).await {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("cannot collect: {e}\n"),
        )
            .into_response(),
    }
}

/// The `collect[]` values of a query string.
fn collect_param(query: Option<&str>) -> Vec<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "collect[]")
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// The whole exposition: node_exporter's collectors, every kind's memoized
/// series in table order (unless `collect` leaves out `sonde`), the
/// collectors' scrape bookkeeping, then the agent's own.
pub async fn exposition(
    state: &AppState,
    admission: &Admission,
    guard: &Guard,
    collect: &[String],
) -> Result<String, crate::collect::CollectError> {
    let mut out = String::with_capacity(64 * 1024);
    let outcomes = node::scrape(state, collect).await?;
    let textfile = crate::node::textfile::COLLECTOR.name;
    for o in outcomes.iter().filter(|o| o.name != textfile) {
        out.push_str(&o.text);
    }
    if collect.is_empty() || collect.iter().any(|c| c == "sonde") {
        for series in state.kinds().iter().filter_map(|k| k.series) {
            out.push_str(&String::from_utf8_lossy(&series(state).await?));
        }
    }
    out.push_str(&crate::node::scrape_series(&outcomes));
    let ticks = state.clock().ticks_per_sec.max(1);
    out.push_str(&encode(AgentSeries {
        errors: state.errors().snapshot(),
        sessions: (admission.sessions_open(), admission.max_sessions),
        refused: Refusal::ALL
            .iter()
            .map(|r| (r.name(), admission.refused(*r)))
            .collect(),
        own: OwnCost::read(ticks),
        guard: GuardCounts::of(guard),
    }));
    // The files' series come last: a family the rest of the scrape serves
    // is dropped from them, as node_exporter drops it.
    if let Some(o) = outcomes.iter().find(|o| o.name == textfile) {
        if state.config.exporter.textfile_dir.is_some() {
            let kept = crate::node::textfile::without_served(
                &o.text,
                &crate::node::textfile::family_names(&out),
            );
            out.push_str(&kept);
        } else {
            out.push_str(&o.text);
        }
    }
    Ok(out)
}

/// The agent's own CPU time and memory, from `/proc/self`.
#[derive(Debug, Default)]
struct OwnCost {
    cpu_seconds: Option<f64>,
    resident_bytes: Option<u64>,
}

impl OwnCost {
    /// Two small procfs files of sonde's own process: kernel-generated,
    /// microseconds, so read inline.
    fn read(ticks: u64) -> OwnCost {
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        let parsed = stat
            .as_deref()
            .and_then(|t| crate::collect::processes::parse_pid_stat(t).ok());
        let page = rustix::param::page_size() as u64;
        OwnCost {
            cpu_seconds: parsed
                .map(|s| s.utime_ticks.saturating_add(s.stime_ticks) as f64 / ticks.max(1) as f64),
            resident_bytes: parsed.map(|s| s.rss_pages.saturating_mul(page)),
        }
    }
}

/// What changes on every scrape: build info, error counters, sessions and
/// refusals, own cost.
#[derive(Debug)]
struct AgentSeries {
    errors: Vec<ErrorCount>,
    /// Sessions open, the cap, and refusals per reason.
    sessions: (usize, usize),
    refused: Vec<(&'static str, u64)>,
    own: OwnCost,
    guard: GuardCounts,
}

/// The guard's refusals, read once per scrape.
#[derive(Debug)]
struct GuardCounts {
    failed_tokens: u64,
    refused: [(&'static str, u64); 4],
}

impl GuardCounts {
    fn of(g: &Guard) -> GuardCounts {
        let n = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        GuardCounts {
            failed_tokens: n(&g.failed_tokens),
            refused: [
                ("origin", n(&g.bad_origins)),
                ("host", n(&g.bad_hosts)),
                ("cross_site", n(&g.cross_site)),
                ("throttled", n(&g.throttled)),
            ],
        }
    }
}

impl Collector for AgentSeries {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        enc.encode_descriptor(
            "sonde_build",
            "sonde's version and the commit it was built from.",
            None,
            MetricType::Info,
        )?
        .encode_info(&[
            ("version", crate::VERSION.to_owned()),
            ("long_version", crate::LONG_VERSION.to_owned()),
        ])?;
        family(
            &mut enc,
            COLLECTOR_ERRORS,
            "Read and parse errors per collector and kind since start.",
            MetricType::Counter,
            self.errors.iter().map(|e| {
                (
                    [
                        ("collector", e.collector.to_owned()),
                        ("kind", e.kind.to_owned()),
                    ],
                    e.count as f64,
                )
            }),
        )?;
        gauge(
            &mut enc,
            WEBSOCKET_SESSIONS,
            "WebSocket sessions open.",
            self.sessions.0 as f64,
        )?;
        gauge(
            &mut enc,
            WEBSOCKET_SESSIONS_LIMIT,
            "WebSocket sessions allowed at once (--max-connections).",
            self.sessions.1 as f64,
        )?;
        family(
            &mut enc,
            CONNECTIONS_REFUSED,
            "Connections refused since start: websocket_cap (503 before the upgrade), connection_limit (closed at accept).",
            MetricType::Counter,
            self.refused
                .iter()
                .map(|(reason, n)| ([("reason", (*reason).to_owned())], *n as f64)),
        )?;
        counter(
            &mut enc,
            AUTH_FAILURES,
            "Requests refused for a wrong or missing token since start.",
            self.guard.failed_tokens as f64,
        )?;
        family(
            &mut enc,
            REQUESTS_REFUSED,
            "Requests refused since start: origin (a foreign Origin, 403), host (a browser naming an unknown host, 421), throttled (too many wrong tokens from one address, 429).",
            MetricType::Counter,
            self.guard
                .refused
                .iter()
                .map(|(reason, n)| ([("reason", (*reason).to_owned())], *n as f64)),
        )?;
        if let Some(cpu) = self.own.cpu_seconds {
            counter(
                &mut enc,
                PROCESS_CPU_SECONDS,
                "Total user and system CPU time spent in seconds.",
                cpu,
            )?;
        }
        if let Some(rss) = self.own.resident_bytes {
            gauge(
                &mut enc,
                PROCESS_RESIDENT_MEMORY_BYTES,
                "Resident memory size in bytes.",
                rss as f64,
            )?;
        }
        Ok(())
    }
}
