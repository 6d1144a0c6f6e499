//! The `containers` kind (`{"type":"containers"}` / `get_containers`):
//! containers and systemd services from cgroup v2, with CPU% between
//! samples and, where configured, names from the runtimes' sockets; its JSON
//! reply, `/api/containers`, cAdvisor-named series and its `sonde check`
//! line.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt;
use serde::Serialize;

use super::plain;
use crate::cache::{Sample, Ttl};
use crate::collect::containers::{
    self as collector, CgroupPressure, Container, ContainerSampler, ContainerTable, MemoryEvents,
};
use crate::collect::pressure::{Pressure, Stall};
use crate::collect::{CollectError, blocking, lock};
use crate::exposition::{Families, MetricType};
use crate::history::{Of, Row};
use crate::state::{AppState, Args, CheckLine, Context, Kind, Part, Scrape, Shared, elapsed_ms};
use crate::wire::to_json;

/// The request's name.
pub const NAME: &str = "containers";

/// How long container names from a runtime's socket are reused.
const NAMES_TTL: Duration = Duration::from_secs(5);

/// How long a runtime's socket may take to list its containers.
const NAMES_TIMEOUT: Duration = Duration::from_secs(1);

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_containers",
    args: Args::None,
    summary: "containers and systemd services from cgroups: CPU, memory, I/O, processes",
    ttl: |c| c.ttl.containers(),
    part,
    reply: Some(plain::reply::<Json>),
    path: "/api/containers",
    api: Some(plain::api::<Json>),
    series: Some(|scrape| series(scrape).boxed()),
    select: None,
    check: Some(|state| check(state).boxed()),
};

/// The containers sampler, its samples and the runtimes' names.
#[derive(Debug)]
pub struct ContainersPart {
    /// The sampler (each cgroup's previous CPU reading, kept files); only
    /// locked on blocking threads.
    sampler: Arc<Mutex<ContainerSampler>>,
    /// Containers samples.
    cache: Ttl<ContainerTable>,
    /// Container names from the runtimes' sockets (`--container-socket`),
    /// asked at most every few seconds.
    names: Ttl<Arc<HashMap<String, String>>>,
}

/// This kind as a plain JSON kind ([`plain::Plain`]): its reply and
/// `/api` handler are the shared ones.
pub struct Json;

impl plain::Plain for Json {
    type Value = ContainerTable;
    const KIND: &'static Kind = &KIND;
    fn sample(
        state: &AppState,
    ) -> impl std::future::Future<Output = Result<Shared<ContainerTable>, CollectError>> + Send
    {
        sample(state)
    }
    fn json(s: &Sample<ContainerTable>) -> Bytes {
        json(s)
    }
}

fn part(cx: &Context<'_>) -> Part {
    Box::new(ContainersPart {
        sampler: Arc::new(Mutex::new(ContainerSampler::new(
            &cx.roots.sys,
            cx.clock.cpus,
            cx.fd_budget.cgroup_files,
            cx.errors.clone(),
        ))),
        cache: Ttl::new((KIND.ttl)(cx.config)).recording(cx.history.recorder(NAME, rows)),
        names: Ttl::new(NAMES_TTL),
    })
}

/// The containers and services: from their cache, or measured now on the
/// blocking pool.
pub async fn sample(state: &AppState) -> Result<Shared<ContainerTable>, CollectError> {
    let part = state.part::<ContainersPart>()?;
    let sampler = part.sampler.clone();
    part.cache
        .get_or_load(|| async {
            let mut table = blocking(state.errors(), NAME, move || lock(&sampler).sample()).await?;
            if !table.containers.is_empty()
                && !state.config.collection.container_sockets.is_empty()
                && let Ok(names) = names(state, part).await
            {
                collector::name_containers(&mut table, names.value());
            }
            Ok::<_, CollectError>(table)
        })
        .await
}

/// What the history keeps of a sample: each container's and unit's CPU %
/// and memory, of its name (a container without one: the first 12
/// characters of its id), as the page names them.
fn rows<'a>(t: &'a ContainerTable, row: &mut Row<'a>) {
    for c in &t.containers {
        let name = c.owner.name.as_deref().unwrap_or_else(|| {
            let id = c.owner.id.as_str();
            id.char_indices().nth(12).map_or(id, |(i, _)| &id[..i])
        });
        let of = || Of::Name(name.into());
        row.put_of("cpu_usage", of(), c.cpu_percent.map(f64::from));
        row.put_of("mem_bytes", of(), c.mem_bytes.map(|b| b as f64));
    }
}

/// Container names from every configured runtime socket; one that cannot
/// be asked is reported and adds none.
async fn names(
    state: &AppState,
    part: &ContainersPart,
) -> Result<Shared<Arc<HashMap<String, String>>>, CollectError> {
    part.names
        .get_or_load(|| async {
            let mut all = HashMap::new();
            for socket in &state.config.collection.container_sockets {
                match collector::runtime_names(socket, NAMES_TIMEOUT).await {
                    Ok(names) => all.extend(names),
                    Err(e) => {
                        state.errors().report(NAME, &e);
                    }
                }
            }
            Ok::<_, CollectError>(Arc::new(all))
        })
        .await
}

/// The reply's JSON, made once per sample.
pub fn json(s: &Sample<ContainerTable>) -> Bytes {
    let at_ms = u64::try_from(s.since_epoch().as_millis()).unwrap_or(u64::MAX);
    s.json(|t| to_json(&Containers::new(t, at_ms)))
}

/// Cumulative CPU time (cAdvisor's name, without `_total`).
pub const CPU_USAGE_SECONDS: &str = "container_cpu_usage_seconds";
/// Memory in use (cAdvisor's name).
pub const MEMORY_USAGE_BYTES: &str = "container_memory_usage_bytes";
/// Memory limit (cAdvisor's name).
pub const SPEC_MEMORY_LIMIT_BYTES: &str = "container_spec_memory_limit_bytes";
/// Tasks (cAdvisor's name).
pub const PROCESSES: &str = "container_processes";
/// Bytes read (cAdvisor's name, without `_total`).
pub const FS_READS_BYTES: &str = "container_fs_reads_bytes";
/// Bytes written (cAdvisor's name, without `_total`).
pub const FS_WRITES_BYTES: &str = "container_fs_writes_bytes";
/// Time throttled (cAdvisor's name, without `_total`).
pub const CPU_CFS_THROTTLED_SECONDS: &str = "container_cpu_cfs_throttled_seconds";
/// Processes the OOM killer killed (cAdvisor's name, without `_total`).
pub const OOM_EVENTS: &str = "container_oom_events";

/// The series, made once per sample; none with `--prometheus-containers
/// off`.
async fn series(scrape: &Scrape<'_>) -> Result<Bytes, CollectError> {
    if !scrape.state.config.http.prometheus_containers {
        return Ok(Bytes::new());
    }
    let sample = scrape.sample(sample).await?;
    Ok(sample.text(families))
}

/// The containers sample's series, in cAdvisor's names: `id` is the cgroup
/// path, `name` the unit name (empty for containers, whose names only their
/// runtime knows), `kind` what owns it.
fn families(table: &ContainerTable) -> String {
    let labels = |c: &Container| {
        [
            ("id", c.cgroup.clone()),
            ("name", c.owner.name.clone().unwrap_or_default()),
            ("kind", c.owner.kind.name().to_owned()),
        ]
    };
    type Value = fn(&Container) -> Option<f64>;
    let families: [(&str, &str, MetricType, Value); 8] = [
        (
            CPU_USAGE_SECONDS,
            "Cumulative cpu time consumed in seconds.",
            MetricType::Counter,
            |c| Some(c.cpu_time_us as f64 / 1e6),
        ),
        (
            MEMORY_USAGE_BYTES,
            "Current memory usage in bytes.",
            MetricType::Gauge,
            |c| c.mem_bytes.map(|b| b as f64),
        ),
        (
            SPEC_MEMORY_LIMIT_BYTES,
            "Memory limit for the container (0: none).",
            MetricType::Gauge,
            |c| c.mem_bytes.map(|_| c.mem_limit_bytes.unwrap_or(0) as f64),
        ),
        (
            PROCESSES,
            "Number of processes running inside the container.",
            MetricType::Gauge,
            |c| c.pids.map(|p| p as f64),
        ),
        (
            FS_READS_BYTES,
            "Cumulative count of bytes read, all devices.",
            MetricType::Counter,
            |c| c.io_read_bytes.map(|b| b as f64),
        ),
        (
            FS_WRITES_BYTES,
            "Cumulative count of bytes written, all devices.",
            MetricType::Counter,
            |c| c.io_write_bytes.map(|b| b as f64),
        ),
        (
            CPU_CFS_THROTTLED_SECONDS,
            "Total time duration the container has been throttled.",
            MetricType::Counter,
            |c| c.throttled_us.map(|t| t as f64 / 1e6),
        ),
        (
            OOM_EVENTS,
            "Count of out of memory events observed for the container (processes the OOM killer killed).",
            MetricType::Counter,
            |c| c.memory_events.map(|e| e.oom_kill as f64),
        ),
    ];
    let mut f = Families::default();
    for (name, help, kind, value) in families {
        let family = f.family(name, help, kind);
        for c in &table.containers {
            if let Some(v) = value(c) {
                family.push(labels(c), v);
            }
        }
    }
    pressure_families(&mut f, table, labels);
    f.encode()
}

/// cAdvisor's pressure series: `waiting` is PSI's `some`, `stalled` its
/// `full`, in seconds.
fn pressure_families<L: IntoIterator<Item = (&'static str, String)>>(
    f: &mut Families,
    table: &ContainerTable,
    labels: impl Fn(&Container) -> L,
) {
    type File = fn(&CgroupPressure) -> Option<Pressure>;
    let files: [(&str, &str, File); 3] = [
        ("cpu", "CPU", |p| p.cpu),
        ("memory", "memory", |p| p.memory),
        ("io", "IO", |p| p.io),
    ];
    for (resource, what, file) in files {
        type Line = fn(Pressure) -> Option<Stall>;
        let lines: [(&str, &str, Line); 2] = [
            ("waiting", "tasks in the container have waited", |p| p.some),
            (
                "stalled",
                "no tasks in the container could make progress",
                |p| p.full,
            ),
        ];
        for (state, help, line) in lines {
            let family = f.family(
                format!("container_pressure_{resource}_{state}_seconds"),
                format!("Total time duration {help} due to {what} congestion."),
                MetricType::Counter,
            );
            for c in &table.containers {
                if let Some(stall) = file(&c.pressure).and_then(line) {
                    family.push(labels(c), stall.total_us as f64 / 1e6);
                }
            }
        }
    }
}

/// `sonde check`: how many containers and units were measured.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = Instant::now();
    let line = match sample(state).await {
        Ok(c) => {
            let table = c.value();
            let text = match (&table.notice, table.cgroup_version) {
                (Some(notice), None) => format!("none measured: {notice}"),
                (notice, _) => {
                    let containers = table
                        .containers
                        .iter()
                        .filter(|c| c.owner.is_container())
                        .count();
                    let units = table.containers.len() - containers;
                    let note = notice
                        .as_deref()
                        .map(|n| format!("; {n}"))
                        .unwrap_or_default();
                    format!("{containers} containers, {units} systemd units{note}")
                }
            };
            CheckLine::ok(NAME, format!("{text} … {:.1} ms", elapsed_ms(timed)))
        }
        Err(e) => CheckLine::broken(NAME, format!("BROKEN: {e}")),
    };
    vec![line]
}

/// One entry of the `containers` reply.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerEntry<'a> {
    /// Container id (64 hex digits), or the systemd unit name.
    pub id: &'a str,
    /// `docker`, `podman`, `containerd`, `kubepods`, `cri-o`,
    /// `systemd-service`, `systemd-scope`.
    pub kind: &'a str,
    /// The unit name; null for containers (only their runtime knows).
    pub name: Option<&'a str>,
    /// The cgroup, from the hierarchy's root.
    pub cgroup: &'a str,
    /// % of the whole machine since the previous sample; null when first seen.
    pub cpu_usage: Option<f32>,
    /// CPU time, µs.
    pub cpu_time_us: u64,
    /// Memory in use, bytes.
    pub mem_bytes: Option<u64>,
    /// Memory limit, bytes; null when unlimited.
    pub mem_limit_bytes: Option<u64>,
    /// Tasks.
    pub pids: Option<u64>,
    /// Bytes read from block devices.
    pub io_read_bytes: Option<u64>,
    /// Bytes written.
    pub io_write_bytes: Option<u64>,
    /// Time throttled by a CPU limit, µs.
    pub throttled_us: Option<u64>,
    /// Additive: bytes read per second since the previous sample (null
    /// for one first seen now).
    pub io_read_bytes_per_sec: Option<f64>,
    /// Additive: bytes written per second.
    pub io_write_bytes_per_sec: Option<f64>,
    /// Additive: pressure stall information of `cpu`, `memory` and `io`
    /// (`some` and `full`: `avg10`, `avg60`, `avg300` %, `total_us`), null
    /// for one the kernel does not write.
    pub pressure: CgroupPressure,
    /// Additive: `memory.events`' `max`, `oom` and `oom_kill` counters
    /// (null without the memory controller).
    pub memory_events: Option<MemoryEvents>,
}

/// The `containers` reply.
#[derive(Debug, Clone, Serialize)]
pub struct Containers<'a> {
    /// Every container and systemd unit, in cgroup path order.
    pub containers: Vec<ContainerEntry<'a>>,
    /// 2 with the unified hierarchy; null without it.
    pub cgroup_version: Option<u8>,
    /// Why the list is empty or partial.
    pub notice: Option<&'a str>,
    /// When it was measured, Unix ms.
    pub sampled_at_ms: u64,
}

impl<'a> Containers<'a> {
    /// The reply for `table`, measured at `sampled_at_ms`.
    pub fn new(table: &'a ContainerTable, sampled_at_ms: u64) -> Self {
        Containers {
            containers: table
                .containers
                .iter()
                .map(|c| ContainerEntry {
                    id: &c.owner.id,
                    kind: c.owner.kind.name(),
                    name: c.owner.name.as_deref(),
                    cgroup: &c.cgroup,
                    cpu_usage: c.cpu_percent,
                    cpu_time_us: c.cpu_time_us,
                    mem_bytes: c.mem_bytes,
                    mem_limit_bytes: c.mem_limit_bytes,
                    pids: c.pids,
                    io_read_bytes: c.io_read_bytes,
                    io_write_bytes: c.io_write_bytes,
                    throttled_us: c.throttled_us,
                    io_read_bytes_per_sec: c.io_read_bytes_per_sec,
                    io_write_bytes_per_sec: c.io_write_bytes_per_sec,
                    pressure: c.pressure,
                    memory_events: c.memory_events,
                })
                .collect(),
            cgroup_version: table.cgroup_version,
            notice: table.notice.as_deref(),
            sampled_at_ms,
        }
    }
}
