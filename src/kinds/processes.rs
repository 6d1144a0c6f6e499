//! The `processes` kind (`{"type":"processes"}` / `get_processes`): the
//! whole process table with CPU% over the last window; its protobuf reply,
//! `/api/processes` (sortable JSON), the opt-in top-process series and its
//! `sonde check` line.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use futures_util::FutureExt;
use serde::Serialize;

use crate::api;
use crate::auth::Authorized;
use crate::cache::{Sample, Ttl, WhileAsked};
use crate::collect::gpu::{GpuShare, add_known};
use crate::collect::process_io::{IoSampler, IoTable, ProcessIo};
use crate::collect::process_net::{NetSampler, NetTable, ProcessNet};
use crate::collect::processes::{ProcRow, ProcessSampler, ProcessTable};
use crate::collect::{CollectError, blocking, lock};
use crate::exposition::Families;
use crate::state::{AppState, Args, CheckLine, Context, Kind, Part, Scrape, Shared, elapsed_ms};
use crate::wire::{Frame, binary_frame, to_json};

/// The request's name.
pub const NAME: &str = "processes";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_processes",
    args: Args::None,
    summary: "every process: CPU %, memory, state, command (protobuf on the WebSocket, JSON on /api)",
    ttl: |c| c.ttl.processes(),
    part,
    reply: Some(|state, _| {
        async move { Ok(state.framed(NAME, &*sample(state).await?, frame)) }.boxed()
    }),
    path: "/api/processes",
    api: Some(|| get(handler)),
    series: Some(|scrape| series(scrape).boxed()),
    select: None,
    check: Some(|state| check(state).boxed()),
};

/// The process sampler and its tables.
#[derive(Debug)]
pub struct ProcessesPart {
    /// The sampler (kept descriptors, CPU% history); only locked on
    /// blocking threads.
    sampler: Arc<Mutex<ProcessSampler>>,
    /// Process tables.
    cache: Ttl<Arc<ProcessTable>>,
    /// Each process's disk I/O counters, read only when asked for and
    /// kept only while asked ([`SAMPLERS_QUIET`]); only locked on blocking
    /// threads.
    io: WhileAsked<IoSampler>,
    /// Disk I/O tables, kept as long as process tables.
    io_cache: Ttl<IoTable>,
    /// Each process's sockets and their bytes, read only when asked for
    /// and kept only while asked; only locked on blocking threads.
    net: WhileAsked<NetSampler>,
    /// TCP traffic tables, kept as long as process tables.
    net_cache: Ttl<NetTable>,
}

/// How long the io and net columns' samplers keep their descriptors and
/// previous readings after the last ask (about 1 MB at a thousand
/// processes): a page that shows a column asks every 2 s, so a minute
/// without an ask is a column nobody shows.
pub const SAMPLERS_QUIET: Duration = Duration::from_secs(60);

fn part(cx: &Context<'_>) -> Part {
    Box::new(ProcessesPart {
        sampler: Arc::new(Mutex::new(ProcessSampler::new(
            cx.roots,
            cx.fd_budget.process_sampler,
            cx.clock.page_size,
        ))),
        cache: Ttl::new((KIND.ttl)(cx.config)),
        io: {
            let (proc_root, keep) = (cx.roots.proc.clone(), cx.fd_budget.process_io);
            WhileAsked::new(SAMPLERS_QUIET, move || {
                IoSampler::new(proc_root.clone(), keep)
            })
        },
        io_cache: Ttl::new((KIND.ttl)(cx.config)),
        net: {
            let (proc_root, keep) = (cx.roots.proc.clone(), cx.fd_budget.process_net);
            WhileAsked::new(SAMPLERS_QUIET, move || {
                NetSampler::new(proc_root.clone(), keep)
            })
        },
        net_cache: Ttl::new((KIND.ttl)(cx.config)),
    })
}

/// Every process's disk I/O and its rates: from its cache, or read now on
/// the blocking pool for the processes of `table` (the one the caller
/// serves: taking it again would scan `/proc` twice at a TTL of 0). Only
/// the `io` column asks for it: the process list alone never reads it.
pub async fn io_sample(
    state: &AppState,
    table: Arc<ProcessTable>,
) -> Result<Shared<IoTable>, CollectError> {
    let part = state.part::<ProcessesPart>()?;
    part.io_cache
        .get_or_load(|| async {
            let io = part.io.asked();
            blocking(state.errors(), NAME, move || lock(&io).sample(&table)).await
        })
        .await
}

/// Every process's TCP traffic and its rates, as [`io_sample`] reads
/// disk I/O: only the `net` column asks for it. A dump that netlink
/// refuses is reported and is an error (the column cannot be served).
pub async fn net_sample(
    state: &AppState,
    table: Arc<ProcessTable>,
) -> Result<Shared<NetTable>, CollectError> {
    let part = state.part::<ProcessesPart>()?;
    part.net_cache
        .get_or_load(|| async {
            let net = part.net.asked();
            let sampled = blocking(state.errors(), NAME, move || {
                lock(&net).sample(&table).map_err(|e| {
                    CollectError::read(std::path::Path::new("netlink sock_diag (TCP)"), e)
                })
            })
            .await?;
            sampled.inspect_err(|e| {
                state.errors().report(NAME, e);
            })
        })
        .await
}

/// The process table: from its cache, or a fresh scan on the blocking
/// pool. A scan that cannot read `/proc` is reported and gives an empty
/// table (socktop clients expect a process list, not an error). A fresh
/// table's count is handed to the metrics sampler
/// ([`super::metrics::note_process_count`]).
pub async fn sample(state: &AppState) -> Result<Shared<Arc<ProcessTable>>, CollectError> {
    let part = state.part::<ProcessesPart>()?;
    part.cache
        .get_or_load(|| async {
            let (sampler, errors) = (part.sampler.clone(), state.errors().clone());
            let table = blocking(state.errors(), NAME, move || {
                let scanned = lock(&sampler).sample();
                errors.ok(NAME, scanned).unwrap_or_default()
            })
            .await?;
            if table.sampled_at.is_some() {
                super::metrics::note_process_count(state, table.process_count);
            }
            Ok(table)
        })
        .await
}

/// Takes the first baseline of process counters on the blocking pool;
/// returns how many processes it found.
pub async fn warm_up(state: &AppState) -> Option<u64> {
    let sampler = state.part::<ProcessesPart>().ok()?.sampler.clone();
    let errors = state.errors().clone();
    blocking(state.errors(), NAME, move || {
        let warmed = lock(&sampler).warm_up();
        errors.ok(NAME, warmed).flatten()
    })
    .await
    .ok()
    .flatten()
}

/// The reply: the `Processes` protobuf (counted and memoized by the
/// caller).
pub fn frame(s: &Sample<Arc<ProcessTable>>) -> Frame {
    binary_frame(encode_processes(s.value()))
}

/// Encodes the process table as the `Processes` protobuf, straight from the
/// rows: the same bytes as prost's `pb::Processes` encoding (a unit test
/// compares them)
/// without copying every name into an intermediate message first (this is
/// the hot path of every process list refresh).
pub fn encode_processes(table: &ProcessTable) -> Vec<u8> {
    use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};
    /// Key of a field: tag and wire type in one varint, one byte for tags < 16.
    const KEY_LEN: usize = 1;
    let row_len = |r: &ProcRow| {
        let mut len = 0;
        if r.pid != 0 {
            len += KEY_LEN + encoded_len_varint(u64::from(r.pid));
        }
        if !r.name.is_empty() {
            len += KEY_LEN + encoded_len_varint(r.name.len() as u64) + r.name.len();
        }
        if r.cpu_percent != 0.0 {
            len += KEY_LEN + 4;
        }
        if r.rss_bytes != 0 {
            len += KEY_LEN + encoded_len_varint(r.rss_bytes);
        }
        if r.ppid != 0 {
            len += KEY_LEN + encoded_len_varint(u64::from(r.ppid));
        }
        len
    };
    let mut buf = Vec::with_capacity(16 + table.rows.len() * 40);
    if table.process_count != 0 {
        encode_key(1, WireType::Varint, &mut buf);
        encode_varint(table.process_count, &mut buf);
    }
    for r in &table.rows {
        encode_key(2, WireType::LengthDelimited, &mut buf);
        encode_varint(row_len(r) as u64, &mut buf);
        if r.pid != 0 {
            encode_key(1, WireType::Varint, &mut buf);
            encode_varint(u64::from(r.pid), &mut buf);
        }
        if !r.name.is_empty() {
            encode_key(2, WireType::LengthDelimited, &mut buf);
            encode_varint(r.name.len() as u64, &mut buf);
            buf.extend_from_slice(r.name.as_bytes());
        }
        if r.cpu_percent != 0.0 {
            encode_key(3, WireType::ThirtyTwoBit, &mut buf);
            buf.extend_from_slice(&r.cpu_percent.to_le_bytes());
        }
        if r.rss_bytes != 0 {
            encode_key(4, WireType::Varint, &mut buf);
            encode_varint(r.rss_bytes, &mut buf);
        }
        if r.ppid != 0 {
            encode_key(5, WireType::Varint, &mut buf);
            encode_varint(u64::from(r.ppid), &mut buf);
        }
    }
    buf
}

/// How `/api/processes` orders its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// CPU share, busiest first by default.
    Cpu,
    /// Resident memory, largest first by default.
    Mem,
    /// Process id, ascending by default.
    Pid,
    /// Name, ascending by default.
    Name,
    /// Disk bytes read and written per second, busiest first by default
    /// (the `io` column).
    Io,
    /// GPU utilisation, then GPU memory, busiest first by default (the
    /// `gpu` column).
    Gpu,
    /// TCP bytes received and sent per second, busiest first by default
    /// (the `net` column).
    Net,
}

/// The validated query of `/api/processes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListQuery {
    /// The sort key.
    pub sort: SortKey,
    /// Descending when true.
    pub descending: bool,
    /// At most this many rows.
    pub limit: Option<usize>,
    /// With each process's disk I/O (`columns=io`, or `sort=io`).
    pub io: bool,
    /// With each process's GPUs (`columns=gpu`, or `sort=gpu`).
    pub gpu: bool,
    /// With each process's TCP traffic (`columns=net`, or `sort=net`).
    pub net: bool,
}

/// The readings of the columns a query asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Columns<'a> {
    /// Each process's disk I/O.
    pub io: Option<&'a IoTable>,
    /// Each process's use of each GPU.
    pub gpu: Option<&'a GpuUse>,
    /// Each process's TCP traffic.
    pub net: Option<&'a NetTable>,
}

/// Each process's use of each GPU it holds, by pid.
pub type GpuUse = HashMap<u32, Vec<GpuShare>>;

/// Who uses which GPU, from the GPU readings (a sleeping GPU, left
/// asleep, lists no one).
pub fn gpu_use(gpus: &[crate::collect::gpu::Gpu]) -> GpuUse {
    let mut by_pid: GpuUse = HashMap::new();
    for g in gpus {
        for p in &g.reading.processes {
            by_pid.entry(p.pid).or_default().push(GpuShare {
                index: g.index,
                utilization_percent: p.utilization_percent,
                used_memory_bytes: p.used_memory_bytes,
            });
        }
    }
    by_pid
}

/// A process's GPU utilisation summed over its GPUs (`None`: on none, or
/// none says), and its GPU memory summed.
fn gpu_totals(uses: &[GpuShare]) -> (Option<f32>, Option<u64>) {
    let percent = uses
        .iter()
        .map(|u| u.utilization_percent)
        .fold(None, |a, b| add_known(a, b, |a, b| a + b));
    let memory = uses
        .iter()
        .filter_map(|u| u.used_memory_bytes)
        .reduce(u64::saturating_add);
    (percent, memory)
}

/// A query parameter that was refused: its name and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParameter {
    /// The parameter.
    pub name: &'static str,
    /// One clear sentence.
    pub reason: String,
}

impl ListQuery {
    /// Validates `sort`, `order` and `limit` (other parameters, such as
    /// `token`, are not this function's).
    pub fn parse(params: &HashMap<String, String>) -> Result<ListQuery, BadParameter> {
        let sort = match params.get("sort").map(String::as_str) {
            None | Some("pid") => SortKey::Pid,
            Some("cpu") => SortKey::Cpu,
            Some("mem") => SortKey::Mem,
            Some("name") => SortKey::Name,
            Some("io") => SortKey::Io,
            Some("gpu") => SortKey::Gpu,
            Some("net") => SortKey::Net,
            Some(other) => {
                return Err(BadParameter {
                    name: "sort",
                    reason: format!(
                        "sort must be cpu, mem, io, net, gpu, pid or name, not {other:?}"
                    ),
                });
            }
        };
        let (mut io, mut gpu, mut net) = (
            sort == SortKey::Io,
            sort == SortKey::Gpu,
            sort == SortKey::Net,
        );
        for column in params.get("columns").iter().flat_map(|c| c.split(',')) {
            match column.trim() {
                "io" => io = true,
                "gpu" => gpu = true,
                "net" => net = true,
                "" => {}
                other => {
                    return Err(BadParameter {
                        name: "columns",
                        reason: format!(
                            "columns takes io (each process's disk I/O), net (its TCP traffic) and gpu (its GPUs), not {other:?}"
                        ),
                    });
                }
            }
        }
        let descending = match params.get("order").map(String::as_str) {
            None => matches!(
                sort,
                SortKey::Cpu | SortKey::Mem | SortKey::Io | SortKey::Gpu | SortKey::Net
            ),
            Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(BadParameter {
                    name: "order",
                    reason: format!("order must be asc or desc, not {other:?}"),
                });
            }
        };
        let limit =
            match params.get("limit") {
                None => None,
                Some(v) => Some(v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    BadParameter {
                        name: "limit",
                        reason: format!("limit must be a whole number above 0, not {v:?}"),
                    }
                })?),
            };
        Ok(ListQuery {
            sort,
            descending,
            limit,
            io,
            gpu,
            net,
        })
    }

    /// Names this query's view of a sample, for its entity tag.
    fn tag(&self) -> String {
        let order = if self.descending { "desc" } else { "asc" };
        let limit = self.limit.map_or("all".to_owned(), |n| n.to_string());
        let io = if self.io { "-io" } else { "" };
        let gpu = if self.gpu { "-gpu" } else { "" };
        let net = if self.net { "-net" } else { "" };
        format!("processes-{:?}-{order}-{limit}{io}{gpu}{net}", self.sort).to_ascii_lowercase()
    }

    /// The rows of `table` in this query's order, cut to its limit; `io`
    /// orders by disk I/O (a process without a reading last).
    pub fn apply<'a>(&self, table: &'a ProcessTable, columns: Columns<'_>) -> Vec<&'a ProcRow> {
        let mut rows: Vec<&ProcRow> = table.rows.iter().collect();
        let busy = |r: &ProcRow| {
            columns
                .io
                .and_then(|t| t.by_pid.get(&r.pid))
                .and_then(|i| Some(i.read_bytes_per_sec? + i.write_bytes_per_sec?))
                .unwrap_or(-1.0)
        };
        let on_gpu = |r: &ProcRow| {
            let (percent, memory) = columns
                .gpu
                .and_then(|g| g.get(&r.pid))
                .map_or((None, None), |u| gpu_totals(u));
            (percent.unwrap_or(-1.0), memory.unwrap_or(0))
        };
        let on_net = |r: &ProcRow| {
            columns
                .net
                .and_then(|t| t.by_pid.get(&r.pid))
                .and_then(|n| Some(n.received_bytes_per_sec? + n.sent_bytes_per_sec?))
                .unwrap_or(-1.0)
        };
        let by = |a: &ProcRow, b: &ProcRow| match self.sort {
            SortKey::Cpu => a.cpu_percent.total_cmp(&b.cpu_percent),
            SortKey::Mem => a.rss_bytes.cmp(&b.rss_bytes),
            SortKey::Pid => a.pid.cmp(&b.pid),
            SortKey::Name => a.name.cmp(&b.name),
            SortKey::Io => busy(a).total_cmp(&busy(b)),
            SortKey::Gpu => {
                let (x, y) = (on_gpu(a), on_gpu(b));
                x.0.total_cmp(&y.0).then(x.1.cmp(&y.1))
            }
            SortKey::Net => on_net(a).total_cmp(&on_net(b)),
        };
        // Ties in pid order, whichever way the key goes.
        rows.sort_by(|a, b| {
            let key = by(a, b);
            let key = if self.descending { key.reverse() } else { key };
            key.then(a.pid.cmp(&b.pid))
        });
        if let Some(n) = self.limit {
            rows.truncate(n);
        }
        rows
    }
}

/// The `/api/processes` body: the protobuf's fields, as JSON.
#[derive(Serialize)]
struct ProcessList<'a> {
    process_count: u64,
    processes: Vec<ProcessRow<'a>>,
    /// With the io column: milliseconds its rates cover.
    #[serde(skip_serializing_if = "Option::is_none")]
    io_window_ms: Option<u64>,
    /// With the net column: milliseconds its rates cover.
    #[serde(skip_serializing_if = "Option::is_none")]
    net_window_ms: Option<u64>,
}

/// One row, with the protobuf's field names.
#[derive(Serialize)]
struct ProcessRow<'a> {
    pid: u32,
    name: &'a str,
    cpu_usage: f32,
    mem_bytes: u64,
    parent_pid: u32,
    /// The io column, when asked for.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    io: Option<IoColumn>,
    /// The gpu column, when asked for.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    gpu: Option<GpuColumn<'a>>,
    /// The net column, when asked for.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    net: Option<NetColumn>,
}

/// A row's TCP traffic: null where its descriptors cannot be read (or,
/// for the rates, at the first sample), never 0.
#[derive(Serialize)]
struct NetColumn {
    net_received_bytes_per_sec: Option<f64>,
    net_sent_bytes_per_sec: Option<f64>,
    net_received_bytes: Option<u64>,
    net_sent_bytes: Option<u64>,
    tcp_connections: Option<u32>,
}

/// A row's GPUs: each one it holds, and the sums; an empty list and nulls
/// for a process on none.
#[derive(Serialize)]
struct GpuColumn<'a> {
    gpu_utilization_percent: Option<f32>,
    gpu_memory_bytes: Option<u64>,
    gpus: &'a [GpuShare],
}

/// A row's disk I/O: null where its `/proc/<pid>/io` cannot be read (or,
/// for the rates, where it was first seen now), never 0.
#[derive(Serialize)]
struct IoColumn {
    disk_read_bytes_per_sec: Option<f64>,
    disk_write_bytes_per_sec: Option<f64>,
    disk_read_bytes: Option<u64>,
    disk_write_bytes: Option<u64>,
}

fn list_json(table: &ProcessTable, rows: &[&ProcRow], columns: Columns<'_>) -> Vec<u8> {
    let io = columns.io;
    let gpu_column = |r: &ProcRow| {
        columns.gpu.map(|g| {
            let uses = g.get(&r.pid).map_or(&[][..], Vec::as_slice);
            let (percent, memory) = gpu_totals(uses);
            GpuColumn {
                gpu_utilization_percent: percent,
                gpu_memory_bytes: memory,
                gpus: uses,
            }
        })
    };
    let column = |r: &ProcRow| {
        io.map(|t| {
            let i: Option<&ProcessIo> = t.by_pid.get(&r.pid);
            IoColumn {
                disk_read_bytes_per_sec: i.and_then(|i| i.read_bytes_per_sec),
                disk_write_bytes_per_sec: i.and_then(|i| i.write_bytes_per_sec),
                disk_read_bytes: i.map(|i| i.read_bytes),
                disk_write_bytes: i.map(|i| i.write_bytes),
            }
        })
    };
    let net_column = |r: &ProcRow| {
        columns.net.map(|t| {
            let n: Option<&ProcessNet> = t.by_pid.get(&r.pid);
            NetColumn {
                net_received_bytes_per_sec: n.and_then(|n| n.received_bytes_per_sec),
                net_sent_bytes_per_sec: n.and_then(|n| n.sent_bytes_per_sec),
                net_received_bytes: n.map(|n| n.received_bytes),
                net_sent_bytes: n.map(|n| n.sent_bytes),
                tcp_connections: n.map(|n| n.connections),
            }
        })
    };
    to_json(&ProcessList {
        process_count: table.process_count,
        processes: rows
            .iter()
            .map(|r| ProcessRow {
                pid: r.pid,
                name: &r.name,
                cpu_usage: r.cpu_percent,
                mem_bytes: r.rss_bytes,
                parent_pid: r.ppid,
                io: column(r),
                gpu: gpu_column(r),
                net: net_column(r),
            })
            .collect(),
        io_window_ms: io.map(|t| (t.window_secs * 1000.0).round() as u64),
        net_window_ms: columns.net.map(|t| (t.window_secs * 1000.0).round() as u64),
    })
}

/// `GET /api/processes?sort=cpu|mem|pid|name&order=asc|desc&limit=N`. The
/// default order's JSON is made once per sample; a sorted or limited one
/// per request (it depends on the query).
async fn handler(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let query = match ListQuery::parse(&params) {
        Ok(q) => q,
        Err(bad) => {
            return api::error(
                StatusCode::BAD_REQUEST,
                serde_json::json!({ "error": bad.reason, "parameter": bad.name }),
            );
        }
    };
    let sample = match sample(&state).await {
        Ok(s) => s,
        Err(e) => return api::collect_failed(&e),
    };
    let table: &ProcessTable = sample.value();
    let plain = query.sort == SortKey::Pid
        && !query.descending
        && query.limit.is_none()
        && !query.io
        && !query.gpu
        && !query.net;
    let ttl = state.config.ttl.processes();
    if plain {
        return api::cached_json(&headers, &sample, NAME, ttl, || {
            sample.json(|t| list_json(t, &t.rows.iter().collect::<Vec<_>>(), Columns::default()))
        });
    }
    let io = if query.io {
        match io_sample(&state, Arc::clone(sample.value())).await {
            Ok(io) => Some(io),
            Err(e) => return api::collect_failed(&e),
        }
    } else {
        None
    };
    // The GPUs' own readings (cached as the metrics reply's are; a
    // sleeping GPU is not woken): who holds each.
    let gpu = if query.gpu {
        match super::metrics::gpus(&state).await {
            Ok(g) => Some(g.map(|g| gpu_use(g.value())).unwrap_or_default()),
            Err(e) => return api::collect_failed(&e),
        }
    } else {
        None
    };
    let net = if query.net {
        match net_sample(&state, Arc::clone(sample.value())).await {
            Ok(net) => Some(net),
            Err(e) => return api::collect_failed(&e),
        }
    } else {
        None
    };
    let columns = Columns {
        io: io.as_ref().map(|s| s.value()),
        gpu: gpu.as_ref(),
        net: net.as_ref().map(|s| s.value()),
    };
    api::cached_json(&headers, &sample, &query.tag(), ttl, || {
        Bytes::from(list_json(table, &query.apply(table, columns), columns))
    })
}

/// A top process's share of the machine's CPU (opt-in,
/// `--prometheus-processes N`).
pub const PROCESS_CPU_RATIO: &str = "sonde_process_cpu_ratio";
/// A top process's resident memory (opt-in).
pub const PROCESS_RESIDENT_MEMORY_BYTES: &str = "sonde_process_resident_memory_bytes";

/// A top process's disk reads per second (opt-in).
pub const PROCESS_DISK_READ: &str = "sonde_process_disk_read_bytes_per_second";
/// A top process's disk writes per second (opt-in).
pub const PROCESS_DISK_WRITE: &str = "sonde_process_disk_write_bytes_per_second";

/// A top process's TCP bytes received per second (opt-in).
pub const PROCESS_NETWORK_RECEIVE: &str = "sonde_process_network_receive_bytes_per_second";
/// A top process's TCP bytes sent per second (opt-in).
pub const PROCESS_NETWORK_TRANSMIT: &str = "sonde_process_network_transmit_bytes_per_second";

/// The top processes by CPU, by disk I/O and by TCP traffic, when
/// `--prometheus-processes` asks for them; made once per sample.
async fn series(scrape: &Scrape<'_>) -> Result<Bytes, CollectError> {
    let top = scrape.state.config.http.prometheus_processes;
    if top == 0 {
        return Ok(Bytes::new());
    }
    let sample = scrape.sample(sample).await?;
    let mut out = vec![sample.text(|table| top_series(table, top))];
    // The disk's and the network's tops are readings of every process's
    // io file and descriptors: a failure of one (reported where it
    // happened) leaves the others served.
    let table = Arc::clone(sample.value());
    if let Ok(io) = scrape.sample(|s| io_sample(s, table)).await {
        out.push(io.text(|io| {
            let columns = Columns {
                io: Some(io),
                ..Columns::default()
            };
            rate_series(sample.value(), SortKey::Io, columns, top, io_families(io))
        }));
    }
    let table = Arc::clone(sample.value());
    if let Ok(net) = scrape.sample(|s| net_sample(s, table)).await {
        out.push(net.text(|net| {
            let columns = Columns {
                net: Some(net),
                ..Columns::default()
            };
            rate_series(
                sample.value(),
                SortKey::Net,
                columns,
                top,
                net_families(net),
            )
        }));
    }
    Ok(out.concat().into())
}

/// A family of the top processes' series: its name, its help, and the
/// reading of a row.
type RateFamily<'a> = (
    &'static str,
    &'static str,
    Box<dyn Fn(&ProcRow) -> Option<f64> + 'a>,
);

fn io_families(io: &IoTable) -> [RateFamily<'_>; 2] {
    let of = |r: &ProcRow| io.by_pid.get(&r.pid);
    [
        (
            PROCESS_DISK_READ,
            "Bytes a top process by disk I/O made storage read, per second over the last window.",
            Box::new(move |r| of(r)?.read_bytes_per_sec),
        ),
        (
            PROCESS_DISK_WRITE,
            "Bytes a top process by disk I/O wrote (or will write) to storage, per second over the last window.",
            Box::new(move |r| of(r)?.write_bytes_per_sec),
        ),
    ]
}

fn net_families(net: &NetTable) -> [RateFamily<'_>; 2] {
    let of = |r: &ProcRow| net.by_pid.get(&r.pid);
    [
        (
            PROCESS_NETWORK_RECEIVE,
            "Bytes a top process by TCP traffic received over its open connections, per second over the last window.",
            Box::new(move |r| of(r)?.received_bytes_per_sec),
        ),
        (
            PROCESS_NETWORK_TRANSMIT,
            "Bytes a top process by TCP traffic sent (acknowledged by the peer) over its open connections, per second over the last window.",
            Box::new(move |r| of(r)?.sent_bytes_per_sec),
        ),
    ]
}

/// The top processes by `sort`, and each family's reading of them (the
/// busiest first, ties in pid order, as `/api/processes` sorts).
fn rate_series(
    table: &ProcessTable,
    sort: SortKey,
    columns: Columns<'_>,
    top: usize,
    families: [RateFamily<'_>; 2],
) -> String {
    let busiest = ListQuery {
        sort,
        descending: true,
        limit: Some(top),
        io: columns.io.is_some(),
        gpu: columns.gpu.is_some(),
        net: columns.net.is_some(),
    };
    let rows = busiest.apply(table, columns);
    let labels = |r: &ProcRow| [("pid", r.pid.to_string()), ("name", r.name.clone())];
    let mut f = Families::default();
    for (name, help, rate) in families {
        let family = f.gauge_family(name, help);
        for r in &rows {
            if let Some(v) = rate(r) {
                family.push(labels(r), v);
            }
        }
    }
    f.encode()
}

/// The busiest processes' series.
fn top_series(table: &ProcessTable, top: usize) -> String {
    // The busiest first, ties in pid order: `/api/processes?sort=cpu&limit=N`.
    let families: [RateFamily<'_>; 2] = [
        (
            PROCESS_CPU_RATIO,
            "Share of the whole machine's CPU a top process used over the last window, 0-1.",
            Box::new(|r| Some(f64::from(r.cpu_percent) / 100.0)),
        ),
        (
            PROCESS_RESIDENT_MEMORY_BYTES,
            "Resident memory of a top process.",
            Box::new(|r| Some(r.rss_bytes as f64)),
        ),
    ];
    rate_series(table, SortKey::Cpu, Columns::default(), top, families)
}

/// `sonde check`: how many processes, and how long the first scan took.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = Instant::now();
    let line = match sample(state).await {
        Ok(p) => CheckLine::ok(
            NAME,
            format!(
                "{} … {:.1} ms (the first scan waits out the 200 ms CPU window)",
                p.value().process_count,
                elapsed_ms(timed)
            ),
        ),
        Err(e) => CheckLine::broken(NAME, format!("BROKEN: {e}")),
    };
    vec![line]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pb;
    use prost::Message as _;

    fn q(pairs: &[(&str, &str)]) -> Result<ListQuery, BadParameter> {
        ListQuery::parse(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn list_queries_are_validated_and_name_the_parameter() {
        assert_eq!(
            q(&[]).unwrap(),
            ListQuery {
                sort: SortKey::Pid,
                descending: false,
                limit: None,
                io: false,
                gpu: false,
                net: false,
            }
        );
        assert!(q(&[("columns", "io")]).unwrap().io);
        let by_net = q(&[("sort", "net")]).unwrap();
        assert!(by_net.net && by_net.descending && !by_net.io);
        assert!(q(&[("columns", "io,net")]).unwrap().net);
        let by_io = q(&[("sort", "io")]).unwrap();
        assert!(
            by_io.io && by_io.descending,
            "busiest first, with the column"
        );
        assert!(q(&[("sort", "cpu")]).unwrap().descending, "busiest first");
        assert!(!q(&[("sort", "cpu"), ("order", "asc")]).unwrap().descending);
        assert_eq!(q(&[("limit", "5")]).unwrap().limit, Some(5));
        for (pairs, name) in [
            (&[("sort", "size")][..], "sort"),
            (&[("order", "up")][..], "order"),
            (&[("limit", "0")][..], "limit"),
            (&[("limit", "-3")][..], "limit"),
            (&[("limit", "ten")][..], "limit"),
            (&[("columns", "udp")][..], "columns"),
        ] {
            assert_eq!(q(pairs).unwrap_err().name, name, "{pairs:?}");
        }
    }

    /// A row of the process list (start ticks 5, parent 1).
    fn row(pid: u32, name: &str, cpu: f32, rss: u64) -> ProcRow {
        ProcRow {
            pid,
            ppid: 1,
            start_ticks: 5,
            name: name.into(),
            cpu_percent: cpu,
            rss_bytes: rss,
            cpu_ticks: 0,
            state: 'S',
            threads: 1,
        }
    }

    #[test]
    fn sorting_and_limits() {
        let table = ProcessTable {
            rows: vec![
                row(1, "init", 0.5, 10),
                row(2, "b", 9.0, 5),
                row(3, "a", 9.0, 50),
            ],
            process_count: 3,
            ..ProcessTable::default()
        };
        let pids = |pairs: &[(&str, &str)]| -> Vec<u32> {
            q(pairs)
                .unwrap()
                .apply(&table, Columns::default())
                .iter()
                .map(|r| r.pid)
                .collect()
        };
        assert_eq!(pids(&[("sort", "cpu")]), [2, 3, 1], "ties in pid order");
        assert_eq!(pids(&[("sort", "mem")]), [3, 1, 2]);
        assert_eq!(pids(&[("sort", "name")]), [3, 2, 1]);
        assert_eq!(
            pids(&[("sort", "pid"), ("order", "desc"), ("limit", "2")]),
            [3, 2]
        );
    }

    /// The process table as prost's message: what the direct encoding must
    /// equal (test-only: the server never builds it).
    fn processes_message(table: &ProcessTable) -> pb::Processes {
        pb::Processes {
            process_count: table.process_count,
            rows: table
                .rows
                .iter()
                .map(|r| pb::Process {
                    pid: r.pid,
                    name: r.name.clone(),
                    cpu_usage: r.cpu_percent,
                    mem_bytes: r.rss_bytes,
                    parent_pid: r.ppid,
                })
                .collect(),
        }
    }

    #[test]
    fn direct_encoding_matches_prost() {
        let table = ProcessTable {
            rows: vec![
                row(1, "systemd", 0.25, 12 << 20),
                row(0, "", 0.0, 0),
                row(4_000_000, &"n".repeat(200), 100.0, u64::MAX),
                row(7, "(sd-pam)", 0.0, 4096),
            ],
            process_count: 300,
            ..ProcessTable::default()
        };
        assert_eq!(
            encode_processes(&table),
            processes_message(&table).encode_to_vec()
        );
        let empty = ProcessTable::default();
        assert_eq!(
            encode_processes(&empty),
            processes_message(&empty).encode_to_vec()
        );
    }
}
