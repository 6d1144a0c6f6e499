//! The `process_metrics` kind (`{"type":"process_metrics","pid":N}` /
//! `get_process_metrics:N`): one process in detail with its threads and
//! children, read now and kept briefly per PID; its JSON reply (or the
//! not-found error) and `/api/processes/<pid>`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use futures_util::FutureExt;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::api;
use crate::auth::Authorized;
use crate::cache::{KeyedTtl, Sample};
use crate::collect::gpu::GpuShare;
use crate::collect::process_detail::{self, NotFound, ProcessDetail};
use crate::collect::process_net::{self, Connection};
use crate::collect::{CollectError, blocking};
use crate::state::{AppState, Args, Context, Kind, Part, Shared};
use crate::wire::{Frame, json_frame, not_found_frame, to_json};

/// The request's name.
pub const NAME: &str = "process_metrics";

/// How long an answer is reused.
pub const TTL: Duration = Duration::from_millis(250);

/// PIDs the cache holds.
pub const PER_PID_ENTRIES: usize = 64;

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_process_metrics",
    args: Args::Pid,
    summary: "one process in detail: command line, I/O, threads, limits, cgroup",
    ttl: |_| TTL,
    part,
    reply: Some(|state, asked| {
        async move {
            let detail = sample(state, asked.pid, asked.connections).await?;
            Ok(state.framed(NAME, &*detail, frame))
        }
        .boxed()
    }),
    path: "/api/processes/{pid}",
    api: Some(|| get(handler)),
    series: None,
    select: None,
    check: None,
};

/// Per-PID answers and the bound on uncached reads.
#[derive(Debug)]
pub struct ProcessMetricsPart {
    /// Per-PID details (with or without connections), briefly.
    details: KeyedTtl<(u32, bool), Result<ProcessDetail, NotFound>>,
    /// Uncached per-process reads at once.
    reads: Semaphore,
    /// Each process's counters at its last answer, by (pid, start time),
    /// for its rates; as bounded as the answers.
    seen: std::sync::Mutex<HashMap<(u32, u64), Seen>>,
}

/// A process's counters at an answer: storage (read, written), each TCP
/// socket's (cookie, received, sent) by inode, and when they were read.
#[derive(Debug, Clone, Default)]
struct Seen {
    disk: Option<(u64, u64)>,
    at: Option<std::time::Instant>,
    /// From the last answer with connections (not every answer has them).
    sockets: HashMap<u32, (u64, u64, u64)>,
    sockets_at: Option<std::time::Instant>,
}

fn part(cx: &Context<'_>) -> Part {
    Box::new(ProcessMetricsPart {
        details: KeyedTtl::new((KIND.ttl)(cx.config), PER_PID_ENTRIES),
        reads: Semaphore::new(cx.config.limits.max_process_reads),
        seen: std::sync::Mutex::new(HashMap::new()),
    })
}

/// One process in detail, read now (its command line, directory and
/// executable withheld with `--redact`); CPU% comes from the process table
/// (refreshed through its own cache when stale, [`super::processes::sample`]),
/// the children from the kernel at the time of the answer.
pub async fn sample(
    state: &AppState,
    pid: u32,
    connections: bool,
) -> Result<Shared<Result<ProcessDetail, NotFound>>, CollectError> {
    let part = state.part::<ProcessMetricsPart>()?;
    part.details
        .get_or_load((pid, connections), || async {
            let table = Arc::clone(super::processes::sample(state).await?.value());
            // Closed only with the state, which outlives this borrow.
            let _permit = part.reads.acquire().await;
            let (proc_root, clock) = (state.roots().proc.clone(), state.clock());
            let (redact, errors) = (state.config.redact(), state.errors().clone());
            let mut detail = blocking(state.errors(), NAME, move || {
                let mut detail =
                    process_detail::read(&proc_root, pid, Some(&table), clock, &errors);
                if let Ok(d) = &mut detail {
                    if redact {
                        d.redact();
                    }
                    // A TCP dump: only for a client that shows them.
                    d.connections = connections
                        .then(|| process_net::connections_of(&proc_root, pid))
                        .flatten()
                        .map(|c| {
                            c.into_iter()
                                .map(|socket| Connection {
                                    socket,
                                    received_bytes_per_sec: None,
                                    sent_bytes_per_sec: None,
                                })
                                .collect()
                        });
                }
                detail
            })
            .await?;
            if let Ok(d) = &mut detail {
                rates(part, d);
                // Its GPUs, from the GPU readings' own cache (a sleeping
                // GPU is not woken); none where the readings fail.
                if let Ok(Some(gpus)) = super::metrics::gpus(state).await {
                    let mut uses = super::processes::gpu_use(gpus.value());
                    d.gpus = uses.remove(&d.pid).unwrap_or_default();
                }
            }
            Ok(detail)
        })
        .await
}

/// Sets a process's disk and connection rates from its previous answer's
/// counters, and keeps these for the next.
fn rates(part: &ProcessMetricsPart, d: &mut ProcessDetail) {
    let now = std::time::Instant::now();
    let key = (d.pid, d.start_time_secs);
    let mut seen = crate::collect::lock(&part.seen);
    let mut next = seen.get(&key).cloned().unwrap_or_default();
    let rate = |at: Option<std::time::Instant>| {
        let secs = at.map_or(0.0, |at| now.saturating_duration_since(at).as_secs_f64());
        move |now: u64, then: u64| crate::collect::per_sec(now, then, secs)
    };
    let disk = d.read_bytes.zip(d.write_bytes);
    if let (Some((read, written)), Some((r0, w0))) = (disk, next.disk) {
        let rate = rate(next.at);
        d.read_bytes_per_sec = rate(read, r0);
        d.write_bytes_per_sec = rate(written, w0);
    }
    (next.disk, next.at) = (disk, Some(now));
    if let Some(connections) = &mut d.connections {
        let rate = rate(next.sockets_at);
        let mut sockets = HashMap::new();
        for c in connections {
            let s = c.socket;
            let (rx, tx) = (s.received.unwrap_or(0), s.acked.unwrap_or(0));
            if let Some(&(cookie, rx0, tx0)) = next.sockets.get(&s.inode)
                && cookie == s.cookie
            {
                c.received_bytes_per_sec = rate(rx, rx0);
                c.sent_bytes_per_sec = rate(tx, tx0);
            }
            sockets.insert(s.inode, (s.cookie, rx, tx));
        }
        (next.sockets, next.sockets_at) = (sockets, Some(now));
    }
    if seen.len() >= PER_PID_ENTRIES && !seen.contains_key(&key) {
        // Bounded as the answers are: the oldest reading goes.
        if let Some(oldest) = seen.iter().min_by_key(|(_, s)| s.at).map(|(k, _)| *k) {
            seen.remove(&oldest);
        }
    }
    seen.insert(key, next);
}

/// The reply, or its not-found error (counted and memoized by the
/// caller).
pub fn frame(s: &Sample<Result<ProcessDetail, NotFound>>) -> Frame {
    match s.value() {
        Ok(_) => json_frame(json(s).to_vec()),
        Err(NotFound(pid)) => not_found_frame(NAME, *pid),
    }
}

/// The JSON of a found process (`{}` for a missing one: its reply is the
/// not-found error).
pub fn json(s: &Sample<Result<ProcessDetail, NotFound>>) -> Bytes {
    let cached_at = s.since_epoch().as_secs();
    s.json(|d| match d {
        Ok(detail) => to_json(&ProcessMetricsReply {
            process: detail.into(),
            cached_at,
        }),
        Err(_) => b"{}".to_vec(),
    })
}

/// `GET /api/processes/<pid>[?connections=true]`: the reply; 404 when the
/// process does not exist.
async fn handler(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    Path(text): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let pid = match api::pid(&text) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let connections = match params.get("connections").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return api::error(
                StatusCode::BAD_REQUEST,
                serde_json::json!({
                    "error": format!("connections must be true or false, not {other:?}"),
                    "parameter": "connections",
                }),
            );
        }
    };
    match sample(&state, pid, connections).await {
        Ok(s) => match s.value() {
            Ok(_) => api::json_of(&s, json),
            Err(_) => api::error(
                StatusCode::NOT_FOUND,
                serde_json::json!({ "error": format!("process {pid} not found"), "pid": pid }),
            ),
        },
        Err(e) => api::collect_failed(&e),
    }
}

/// The `process_metrics` reply.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessMetricsReply<'a> {
    /// The process.
    pub process: ProcessInfo<'a>,
    /// Unix seconds when this answer was collected.
    pub cached_at: u64,
}

/// One process in detail (every key always present), borrowing from the
/// sample it is made of.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessInfo<'a> {
    /// Process id.
    pub pid: u32,
    /// Name.
    pub name: &'a str,
    /// Full command line, space-joined.
    pub command: &'a str,
    /// Share of the whole machine, 0–100 (as in the process list).
    pub cpu_usage: f32,
    /// RSS, bytes.
    pub mem_bytes: u64,
    /// Virtual size, bytes.
    pub virtual_mem_bytes: u64,
    /// Resident shared memory, bytes.
    pub shared_mem_bytes: Option<u64>,
    /// Threads.
    pub thread_count: u32,
    /// Open descriptors, null when not readable.
    pub fd_count: Option<u32>,
    /// State word, e.g. `Sleeping`.
    pub status: &'static str,
    /// Parent pid.
    pub parent_pid: Option<u32>,
    /// Real uid.
    pub user_id: u32,
    /// Real gid.
    pub group_id: u32,
    /// Start time, Unix seconds.
    pub start_time: u64,
    /// User CPU time, µs.
    pub cpu_time_user: u64,
    /// System CPU time, µs.
    pub cpu_time_system: u64,
    /// Bytes read from storage.
    pub read_bytes: Option<u64>,
    /// Bytes written to storage.
    pub write_bytes: Option<u64>,
    /// Additive: bytes read from storage per second since the previous
    /// answer about it (null for the first, and for children).
    pub read_bytes_per_sec: Option<f64>,
    /// Additive: bytes written per second, the same way.
    pub write_bytes_per_sec: Option<f64>,
    /// Additive: each GPU it holds, as `/api/processes?columns=gpu` gives
    /// them (empty for children).
    pub gpus: &'a [GpuShare],
    /// Additive: its TCP connections, like `ss -tin` for this process, when
    /// asked for (`"connections": true`, `?connections=true`); null
    /// otherwise, where its descriptors cannot be read, and for children.
    pub connections: Option<Vec<ConnectionInfo>>,
    /// Current directory.
    pub working_directory: Option<&'a str>,
    /// Executable path.
    pub executable_path: Option<&'a str>,
    /// Its cgroup, e.g. `/system.slice/nginx.service` (additive).
    pub cgroup: Option<&'a str>,
    /// The container it runs in, when its cgroup is a container's (additive).
    pub container_id: Option<&'a str>,
    /// Direct children, their own lists empty.
    pub child_processes: Vec<ProcessInfo<'a>>,
    /// Threads.
    pub threads: Vec<ThreadInfo<'a>>,
}

/// One TCP connection of a process.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionInfo {
    /// Local address and port.
    pub local: String,
    /// Remote address and port (`*` for a listener; null where `--redact`
    /// withholds whom the host talks to).
    pub remote: Option<String>,
    /// Its state, as `ss` names it (`established`, `listen`…).
    pub state: &'static str,
    /// Bytes received.
    pub received_bytes: Option<u64>,
    /// Bytes sent and acknowledged by the peer.
    pub sent_bytes: Option<u64>,
    /// Received per second since the previous answer about this process
    /// (null for the first, and for a connection new since).
    pub received_bytes_per_sec: Option<f64>,
    /// Sent per second, the same way.
    pub sent_bytes_per_sec: Option<f64>,
    /// Smoothed round-trip time, ms (null for a listener).
    pub rtt_ms: Option<f64>,
}

impl ConnectionInfo {
    /// One connection, its remote address withheld when `redacted`.
    fn new(c: &Connection, redacted: bool) -> Self {
        let s = &c.socket;
        let listening = s.listening();
        ConnectionInfo {
            local: s.local.to_string(),
            remote: if listening {
                Some("*".to_owned())
            } else {
                (!redacted).then(|| s.remote.to_string())
            },
            state: s.state_name(),
            received_bytes: s.received,
            sent_bytes: s.acked,
            received_bytes_per_sec: c.received_bytes_per_sec,
            sent_bytes_per_sec: c.sent_bytes_per_sec,
            // A listener has no peer to time.
            rtt_ms: s
                .rtt_us
                .filter(|_| !listening)
                .map(|us| f64::from(us) / 1000.0),
        }
    }
}

/// One thread.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadInfo<'a> {
    /// Thread id.
    pub tid: u32,
    /// Name.
    pub name: &'a str,
    /// User CPU time, µs.
    pub cpu_time_user: u64,
    /// System CPU time, µs.
    pub cpu_time_system: u64,
    /// State word.
    pub status: &'static str,
}

impl<'a> From<&'a ProcessDetail> for ProcessInfo<'a> {
    fn from(d: &'a ProcessDetail) -> Self {
        ProcessInfo {
            pid: d.pid,
            name: &d.name,
            command: &d.command,
            cpu_usage: d.cpu_percent,
            mem_bytes: d.rss_bytes,
            virtual_mem_bytes: d.virtual_bytes,
            shared_mem_bytes: d.shared_bytes,
            thread_count: d.thread_count,
            fd_count: d.fd_count,
            status: d.status,
            parent_pid: d.parent_pid,
            user_id: d.uid,
            group_id: d.gid,
            start_time: d.start_time_secs,
            cpu_time_user: d.cpu_time_user_us,
            cpu_time_system: d.cpu_time_system_us,
            read_bytes: d.read_bytes,
            write_bytes: d.write_bytes,
            read_bytes_per_sec: d.read_bytes_per_sec,
            write_bytes_per_sec: d.write_bytes_per_sec,
            gpus: &d.gpus,
            connections: d.connections.as_ref().map(|c| {
                c.iter()
                    .map(|c| ConnectionInfo::new(c, d.redacted))
                    .collect()
            }),
            working_directory: d.working_directory.as_deref(),
            executable_path: d.executable_path.as_deref(),
            cgroup: d.cgroup.as_deref(),
            container_id: d.container_id.as_deref(),
            child_processes: d.children.iter().map(ProcessInfo::from).collect(),
            threads: d
                .threads
                .iter()
                .map(|t| ThreadInfo {
                    tid: t.tid,
                    name: &t.name,
                    cpu_time_user: t.cpu_time_user_us,
                    cpu_time_system: t.cpu_time_system_us,
                    status: t.status,
                })
                .collect(),
        }
    }
}
