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

use std::sync::Arc;

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::guard::Guard;
use super::listener::{Admission, Refusal};
use crate::auth::Authorized;
use crate::collect::CollectError;
use crate::collect::errors::ErrorCount;
use crate::exposition::{CONTENT_TYPE, Families, family_names, without_served};
use crate::openmetrics::{self, Format, Starts};
use crate::state::{AppState, Scrape, Selection};

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
/// collectors, `exclude[]=NAME` all but those, as node_exporter (1.9 and
/// later) does (`sonde`: sonde's own series); the two together are refused,
/// as node_exporter refuses them.
pub async fn handler(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    Extension(admission): Extension<Arc<Admission>>,
    Extension(guard): Extension<Arc<Guard>>,
    RawQuery(query): RawQuery,
    headers: axum::http::HeaderMap,
) -> Response {
    let selection = Selection {
        collect: param(query.as_deref(), "collect[]"),
        exclude: param(query.as_deref(), "exclude[]"),
    };
    if let Err(e) = check_selection(&state, &selection) {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{e}\n"),
        )
            .into_response();
    }
    let timeout = headers
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok());
    let budget = state.config.exporter.scrape_budget(timeout);
    let text = exposition(&state, &admission, &guard, &selection, budget).await;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    match openmetrics::negotiate(accept) {
        Format::Text => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Format::OpenMetrics => {
            let boot = state.clock().boot_time_secs;
            let agent = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok());
            let starts = state
                .config
                .exporter
                .openmetrics_created
                .serves(agent)
                .then(|| Starts {
                    boot: (boot > 0).then_some(boot as f64),
                    agent: state.started_unix(),
                });
            let text = openmetrics::convert(&text, starts);
            ([(header::CONTENT_TYPE, openmetrics::CONTENT_TYPE)], text).into_response()
        }
    }
}

/// The values of `key` in a query string.
fn param(query: Option<&str>, key: &str) -> Vec<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// Every `collect[]` name must be one a kind answers to and has turned on
/// (`sonde` names the agent's own series).
fn check_selection(state: &AppState, selection: &Selection) -> Result<(), String> {
    if !selection.collect.is_empty() && !selection.exclude.is_empty() {
        // node_exporter's words for it.
        return Err("Combined collect and exclude queries are not allowed.".to_owned());
    }
    for name in selection.collect.iter().filter(|n| *n != SONDE) {
        let answer = state
            .kinds()
            .iter()
            .filter_map(|k| k.select)
            .find_map(|select| select(state, name));
        answer
            .unwrap_or_else(|| Err(format!("unknown collector {name:?}")))
            .map_err(|e| format!("collect[]: {e}"))?;
    }
    // An exclude[] name must be one this agent knows, or one of
    // node_exporter's that sonde does not have (nothing of it is served,
    // so nothing is left to exclude, and a scrape configuration written
    // for node_exporter keeps working); a misspelt name is refused rather
    // than silently serving what it meant to leave out.
    for name in selection.exclude.iter().filter(|n| *n != SONDE) {
        let known = crate::node::TABLE.iter().any(|c| c.name == name)
            || crate::node::UPSTREAM_ONLY.contains(&name.as_str());
        if !known {
            return Err(format!(
                "exclude[]: unknown collector {name:?} (neither sonde's nor node_exporter's)"
            ));
        }
    }
    Ok(())
}

/// The `collect[]` name of sonde's own series.
pub const SONDE: &str = "sonde";

/// How long after the scrape's deadline a kind may still write its
/// series (the collectors stop at the deadline; writing takes
/// milliseconds).
const WRITING: std::time::Duration = std::time::Duration::from_millis(100);

/// The whole exposition, from one [`Scrape`] served within `budget`: every
/// kind's series in table order (a kind without `select` only when
/// `collect[]` is empty or names `sonde`), then the agent's own, then the
/// text served last. The kinds read one after another, each for at most
/// its slice of the time ([`Scrape::slice`]); a kind that fails, or is
/// still reading then, loses only its own series: reported
/// (logged once, counted in `sonde_collector_errors_total`), never a
/// failed or late scrape.
pub async fn exposition(
    state: &Arc<AppState>,
    admission: &Admission,
    guard: &Guard,
    selection: &Selection,
    budget: std::time::Duration,
) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let scrape = Scrape::new(state, selection, budget);
    crate::prefetch::read_ahead(state, &scrape).await;
    let cutoff = scrape.deadline() + WRITING;
    for kind in state.kinds() {
        let Some(series) = kind.series else {
            continue;
        };
        if kind.select.is_none() && !scrape.selects(SONDE) {
            continue;
        }
        // The node kind stops its collectors at the deadline itself.
        let until = if kind.select.is_some() {
            cutoff
        } else {
            scrape.slice()
        };
        match tokio::time::timeout_at(until, series(&scrape)).await {
            // Our own encoders write UTF-8: the fast check passes and no
            // copy is made (the lossy one walks every byte, 3 % of a scrape).
            Ok(Ok(text)) => match std::str::from_utf8(&text) {
                Ok(text) => out.push_str(text),
                Err(_) => out.push_str(&String::from_utf8_lossy(&text)),
            },
            Ok(Err(e)) => {
                state.errors().report(kind.name, &e);
            }
            Err(_) => {
                let e = CollectError::Aborted(
                    "still reading after its share of the scrape's time".to_owned(),
                );
                state.errors().report(kind.name, &e);
            }
        }
    }
    let ticks = state.clock().ticks_per_sec.max(1);
    out.push_str(&agent_series(&AgentSeries {
        errors: state.errors().snapshot(),
        sessions: (admission.sessions_open(), admission.max_sessions),
        refused: Refusal::ALL
            .iter()
            .map(|r| (r.name(), admission.refused(*r)))
            .collect(),
        own: OwnCost::read(ticks, state.started_unix()),
        guard: GuardCounts::of(guard),
    }));
    // A family the rest of the scrape serves is dropped from the text
    // served last, as node_exporter drops it.
    // Nothing to check without textfile text (the usual case): the
    // names of a whole scrape were a set built and dropped each scrape.
    for last in scrape.take_last().iter().filter(|t| !t.is_empty()) {
        let kept = without_served(last, &family_names(&out));
        out.push_str(&kept);
    }
    out
}

/// The agent's own CPU time, memory and descriptors, from `/proc/self`
/// and its limits: the process series every Prometheus exporter serves
/// (client_golang's process collector), which dashboards chart the agent
/// by.
#[derive(Debug, Default)]
struct OwnCost {
    cpu_seconds: Option<f64>,
    resident_bytes: Option<u64>,
    virtual_bytes: Option<u64>,
    open_fds: Option<usize>,
    max_fds: Option<u64>,
    max_virtual_bytes: Option<u64>,
    started: f64,
}

impl OwnCost {
    /// Small procfs reads of sonde's own process (its stat file and its
    /// few descriptors): kernel-generated, microseconds, so read inline.
    fn read(ticks: u64, started: f64) -> OwnCost {
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        let parsed = stat
            .as_deref()
            .and_then(|t| crate::collect::processes::parse_pid_stat(t).ok());
        let page = rustix::param::page_size() as u64;
        OwnCost {
            cpu_seconds: parsed
                .map(|s| s.utime_ticks.saturating_add(s.stime_ticks) as f64 / ticks.max(1) as f64),
            resident_bytes: parsed.map(|s| s.rss_pages.saturating_mul(page)),
            virtual_bytes: parsed.map(|s| s.vsize_bytes),
            open_fds: open_fds(),
            max_fds: limit(rustix::process::Resource::Nofile),
            max_virtual_bytes: limit(rustix::process::Resource::As),
            started,
        }
    }
}

/// sonde's open descriptors, counted at most once a second: listing
/// `/proc/self/fd` makes the kernel build an entry for each of the ~200
/// descriptors sonde keeps (3.6 % of a scrape's CPU at TTL 0, `perf`),
/// and the count moves slowly.
fn open_fds() -> Option<usize> {
    static LAST: std::sync::Mutex<Option<(std::time::Instant, usize)>> =
        std::sync::Mutex::new(None);
    let mut last = crate::collect::lock(&LAST);
    if let Some((at, n)) = *last
        && at.elapsed() < std::time::Duration::from_secs(1)
    {
        return Some(n);
    }
    let n = std::fs::read_dir("/proc/self/fd").ok()?.count();
    *last = Some((std::time::Instant::now(), n));
    Some(n)
}

/// A soft resource limit; `None` where unlimited (client_golang serves
/// `-1` there, a value dashboards divide by; leaving it out is plainer).
fn limit(resource: rustix::process::Resource) -> Option<u64> {
    rustix::process::getrlimit(resource).current
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

/// The agent's own series.
fn agent_series(a: &AgentSeries) -> String {
    let mut f = Families::default();
    f.info(
        "sonde_build",
        "sonde's version and the commit it was built from.",
        [
            ("version", crate::VERSION),
            ("long_version", crate::LONG_VERSION),
        ],
    );
    let errors = f.counter_family(
        COLLECTOR_ERRORS,
        "Read and parse errors per collector and kind since start.",
    );
    for e in &a.errors {
        errors.push(
            [("collector", e.collector), ("kind", e.kind)],
            e.count as f64,
        );
    }
    f.gauge(
        WEBSOCKET_SESSIONS,
        "WebSocket sessions open.",
        a.sessions.0 as f64,
    );
    f.gauge(
        WEBSOCKET_SESSIONS_LIMIT,
        "WebSocket sessions allowed at once (--max-connections).",
        a.sessions.1 as f64,
    );
    let refused = f.counter_family(
        CONNECTIONS_REFUSED,
        "Connections refused since start: websocket_cap (503 before the upgrade), connection_limit (closed at accept), address_limit (one address's share).",
    );
    for (reason, n) in &a.refused {
        refused.push([("reason", *reason)], *n as f64);
    }
    f.counter(
        AUTH_FAILURES,
        "Requests refused for a wrong or missing token since start.",
        a.guard.failed_tokens as f64,
    );
    let requests = f.counter_family(
        REQUESTS_REFUSED,
        "Requests refused since start: origin (a foreign Origin, 403), host (a browser naming an unknown host, 421), cross_site (a cross-site fetch, 403), throttled (too many wrong tokens from one address, 429).",
    );
    for (reason, n) in &a.guard.refused {
        requests.push([("reason", *reason)], *n as f64);
    }
    exporter_series(&mut f, &a.own);
    f.encode()
}

/// The series every Prometheus exporter serves about itself (the process
/// collector's), and node_exporter's build info, which the node-mixin's
/// dashboards list hosts by.
fn exporter_series(f: &mut Families, own: &OwnCost) {
    // node_exporter's own: the node-mixin's dashboards list hosts by it.
    f.info(
        "node_exporter_build",
        "A metric with a constant '1' value labeled by version, revision, branch, goversion from which node_exporter was built, and the goos and goarch for the build. Served by sonde in node_exporter's place: version and revision are sonde's.",
        [
            ("version", crate::VERSION),
            ("revision", revision()),
            ("branch", ""),
            ("goversion", ""),
            ("goos", "linux"),
            ("goarch", go_arch()),
            ("tags", "sonde"),
        ],
    );
    if let Some(cpu) = own.cpu_seconds {
        f.counter(
            PROCESS_CPU_SECONDS,
            "Total user and system CPU time spent in seconds.",
            cpu,
        );
    }
    if let Some(rss) = own.resident_bytes {
        f.gauge(
            PROCESS_RESIDENT_MEMORY_BYTES,
            "Resident memory size in bytes.",
            rss as f64,
        );
    }
    let own = [
        (
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            own.virtual_bytes.map(|v| v as f64),
        ),
        (
            "process_virtual_memory_max_bytes",
            "Maximum amount of virtual memory available in bytes.",
            own.max_virtual_bytes.map(|v| v as f64),
        ),
        (
            "process_open_fds",
            "Number of open file descriptors.",
            own.open_fds.map(|v| v as f64),
        ),
        (
            "process_max_fds",
            "Maximum number of open file descriptors.",
            own.max_fds.map(|v| v as f64),
        ),
        (
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            Some(own.started),
        ),
    ];
    for (name, help, value) in own {
        if let Some(v) = value {
            f.gauge(name, help, v);
        }
    }
}

/// Go's name for this machine's architecture, as node_exporter's
/// `goarch` label says it.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The commit sonde was built from (inside [`crate::LONG_VERSION`]'s
/// parentheses); empty when built outside a git checkout.
fn revision() -> &'static str {
    crate::LONG_VERSION
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or_default()
}
