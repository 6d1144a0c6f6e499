//! The `metrics` kind (`{"type":"metrics"}` / `get_metrics`): CPU, memory,
//! network, load, sensors and GPUs in one sample; its JSON reply,
//! `/api/metrics`, node_exporter-named series and its `sonde check` lines.
//! The GPU readings have their own cache and the driver's lifecycle
//! ([`GpuSource`]); a metrics sample takes the latest of them.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use futures_util::FutureExt;
use serde::Serialize;

use super::disks::DiskEntry;
use super::plain;
use crate::cache::{Sample, Ttl};
use crate::collect::gpu::{self, GpuSampler, GpuSource, GpuState};
use crate::collect::metrics::{self as collector, MetricsSampler};
use crate::collect::{CollectError, blocking, lock};
use crate::exposition::Families;
use crate::history::{Of, Row};
use crate::state::{
    AppState, Args, CheckLine, Context, Kind, Part, Scrape, Shared, elapsed_ms, gib,
};
use crate::wire::{Frame, json_frame, to_json};

/// The request's name.
pub const NAME: &str = "metrics";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_metrics",
    args: Args::None,
    summary: "CPU, memory, swap, network counters, load, temperatures and GPUs",
    ttl: |c| c.ttl.metrics(),
    part,
    reply: Some(plain::reply::<Json>),
    path: "/api/metrics",
    api: Some(plain::api::<Json>),
    series: Some(|scrape| series(scrape).boxed()),
    select: None,
    check: Some(|state| check(state).boxed()),
};

/// The metrics sampler, its samples and the GPUs.
#[derive(Debug)]
pub struct MetricsPart {
    /// The sampler (CPU window, kept files); held only for its inline
    /// reads.
    sampler: Mutex<MetricsSampler>,
    /// Metrics samples.
    cache: Ttl<collector::Metrics>,
    /// The GPU readings and the driver's lifecycle.
    gpus: GpuSource,
}

/// This kind as a plain JSON kind ([`plain::Plain`]): its reply and
/// `/api` handler are the shared ones.
pub struct Json;

impl plain::Plain for Json {
    type Value = collector::Metrics;
    const KIND: &'static Kind = &KIND;
    fn sample(
        state: &AppState,
    ) -> impl std::future::Future<Output = Result<Shared<collector::Metrics>, CollectError>> + Send
    {
        sample(state)
    }
    fn json(s: &Sample<collector::Metrics>) -> Bytes {
        json(s)
    }
}

fn part(cx: &Context<'_>) -> Part {
    let gpu = cx.config.collection.gpu.then(|| {
        GpuSampler::new(
            cx.roots,
            gpu::default_pci_ids(),
            Box::new(gpu::nvidia::NvmlReader::default()),
            cx.errors.clone(),
        )
    });
    Box::new(MetricsPart {
        sampler: Mutex::new(MetricsSampler::new(cx.roots, cx.clock, cx.errors.clone())),
        cache: Ttl::new((KIND.ttl)(cx.config)).recording(cx.history.recorder(NAME, rows)),
        gpus: GpuSource::new(gpu, cx.config.ttl.gpu(), cx.errors.clone()),
    })
}

/// The metrics sample: from its cache, or read now. The reads are inline
/// (microseconds of kernel counters); a process count older than a second
/// runs on the blocking pool first. The temperatures are the `sensors`
/// kind's reading (sysfs, on the blocking pool; see
/// [`crate::collect::thermal`]) and GPU readings come from their own
/// cache; a failure of either (reported where it happened) leaves its
/// part null and the rest goes on.
pub async fn sample(state: &AppState) -> Result<Shared<collector::Metrics>, CollectError> {
    let part = state.part::<MetricsPart>()?;
    part.cache
        .get_or_load(|| async {
            let wanted = lock(&part.sampler).refresh_needed();
            if let Some(wanted) = wanted {
                let roots = state.roots().clone();
                let found = blocking(state.errors(), NAME, move || {
                    collector::refresh(&roots, wanted)
                })
                .await?;
                lock(&part.sampler).apply(found);
            }
            let gpus = part.gpus.readings().await.ok().flatten();
            let thermal = if state.config.collection.temp {
                super::sensors::sample(state).await.ok()
            } else {
                None
            };
            let mut sample = lock(&part.sampler).sample();
            sample.gpus = gpus.map(|s| Arc::clone(s.value()));
            if let Some(t) = &thermal {
                sample.temps = t.value().temperatures();
                sample.cpu_temp_celsius = t.value().cpu(state.errors());
            }
            sample.thermal = thermal;
            Ok(sample)
        })
        .await
}

/// The GPU readings alone (`None`: off, or no GPU on this host).
pub async fn gpus(state: &AppState) -> Result<Option<Shared<Arc<Vec<gpu::Gpu>>>>, CollectError> {
    state.part::<MetricsPart>()?.gpus.readings().await
}

/// A process scan's count, handed over so the next metrics sample need not
/// list `/proc` again (the one coupling of the process sampler to this one).
pub fn note_process_count(state: &AppState, count: u64) {
    if let Ok(part) = state.part::<MetricsPart>() {
        lock(&part.sampler).note_process_count(count);
    }
}

/// Takes the CPU baseline and looks for the GPUs (sysfs only), on the
/// blocking pool, then reads the temperatures once.
pub async fn warm_up(state: &Arc<AppState>) {
    let s = state.clone();
    let _ = blocking(state.errors(), NAME, move || {
        let Ok(part) = s.part::<MetricsPart>() else {
            return;
        };
        let wanted = {
            let mut sampler = lock(&part.sampler);
            sampler.warm_up();
            sampler.refresh_needed()
        };
        if let Some(wanted) = wanted {
            let found = collector::refresh(s.roots(), wanted);
            lock(&part.sampler).apply(found);
        }
        part.gpus.discover();
    })
    .await;
    if state.config.collection.temp {
        let _ = super::sensors::sample(state).await;
    }
}

/// The reply's JSON, made once per sample (the frame and `/api/metrics`
/// share it).
pub fn json(s: &Sample<collector::Metrics>) -> Bytes {
    s.json(|m| to_json(&Metrics::from(m)))
}

/// What the history keeps of a sample: what the page charts, named as the
/// reply names it (`cpu_per_core` of each core, `received` of each
/// interface), at the reply's `sampled_at_ms`.
fn rows<'a>(m: &'a collector::Metrics, row: &mut Row<'a>) {
    let mem = m.memory;
    row.at(m.sampled_at_ms);
    row.put("cpu_total", Some(f64::from(m.cpu.total_percent)));
    // Glances' CPU history is of these two modes.
    row.put("cpu_user", Some(f64::from(m.cpu.modes_percent[0])));
    row.put("cpu_system", Some(f64::from(m.cpu.modes_percent[2])));
    for (i, core) in (0u32..).zip(&m.cpu.per_core_percent) {
        row.put_of("cpu_per_core", Of::Index(i), Some(f64::from(*core)));
    }
    let bytes = |f: fn(&crate::collect::memory::Memory) -> u64| mem.as_ref().map(|m| f(m) as f64);
    row.put("mem_used", bytes(|m| m.used_bytes()));
    row.put("mem_total", bytes(|m| m.total_bytes));
    row.put("swap_used", bytes(|m| m.swap_used_bytes()));
    row.put("swap_total", bytes(|m| m.swap_total_bytes));
    for (i, load) in (0u32..).zip(m.load_avg.iter().flatten()) {
        row.put_of("load_avg", Of::Index(i), Some(*load));
    }
    row.put("cpu_temp_c", m.cpu_temp_celsius.map(f64::from));
    for n in &m.networks {
        let of = || Of::Name(Cow::Borrowed(n.name.as_str()));
        row.put_of("received", of(), Some(n.received_bytes() as f64));
        row.put_of("transmitted", of(), Some(n.transmitted_bytes() as f64));
    }
    for t in &m.temps {
        let of = Of::Name(Cow::Borrowed(t.label.as_str()));
        row.put_of("celsius", of, Some(f64::from(t.celsius)));
    }
    for g in m.gpus.iter().flat_map(|g| g.iter()) {
        let g = Gpu::from(g);
        let of = || Of::Name(Cow::Owned(format!("{} {}", g.index, g.name)));
        row.put_of("usage", of(), g.usage.map(f64::from));
        row.put_of("memory_used", of(), g.memory_used.map(|b| b as f64));
        row.put_of("memory_total", of(), g.memory_total.map(|b| b as f64));
        row.put_of("temp_c", of(), g.temp_c.map(f64::from));
    }
}

/// The WebSocket frame of a sample (counted and memoized by the caller).
pub fn frame(s: &Sample<collector::Metrics>) -> Frame {
    json_frame(json(s).to_vec())
}

/// The `metrics` reply, borrowing from the sample it is made of.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics<'a> {
    /// Whole-machine CPU busy %, 0–100.
    pub cpu_total: f32,
    /// Per logical CPU busy %, 0–100 each.
    pub cpu_per_core: &'a [f32],
    /// Memory, bytes.
    pub mem_total: u64,
    /// total − available, bytes.
    pub mem_used: u64,
    /// Swap size, bytes.
    pub swap_total: u64,
    /// Swap in use, bytes.
    pub swap_used: u64,
    /// Host name.
    pub hostname: &'a str,
    /// Unix epoch ms of collection (a cached reply keeps its sample's time).
    pub sampled_at_ms: u64,
    /// CPU package temperature, °C; null when unknown or disabled.
    pub cpu_temp_c: Option<f32>,
    /// Per-interface cumulative byte counters.
    pub networks: Vec<Network<'a>>,
    /// GPUs; null when none or disabled.
    pub gpus: Option<Vec<Gpu<'a>>>,
    /// Always present and empty: socktop clients require the key.
    pub disks: Vec<DiskEntry>,
    /// Always present and empty: socktop clients require the key.
    pub top_processes: Vec<TopProcess>,
    /// Processes on the host.
    pub process_count: u64,
    /// Additive: 1, 5, 15 minute load averages.
    pub load_avg: Option<[f64; 3]>,
    /// Additive: seconds since boot.
    pub uptime_secs: Option<u64>,
    /// Additive: MemAvailable, bytes.
    pub mem_available: u64,
    /// Additive: every temperature sensor found (empty when none or
    /// disabled).
    pub temps: Vec<Temp<'a>>,
}

impl<'a> From<&'a collector::Metrics> for Metrics<'a> {
    fn from(m: &'a collector::Metrics) -> Self {
        let mem = m.memory.unwrap_or_default();
        Metrics {
            cpu_total: m.cpu.total_percent,
            cpu_per_core: &m.cpu.per_core_percent,
            mem_total: mem.total_bytes,
            mem_used: mem.used_bytes(),
            swap_total: mem.swap_total_bytes,
            swap_used: mem.swap_used_bytes(),
            hostname: &m.hostname,
            sampled_at_ms: m.sampled_at_ms,
            cpu_temp_c: m.cpu_temp_celsius,
            networks: m
                .networks
                .iter()
                .map(|i| Network {
                    name: &i.name,
                    received: i.received_bytes(),
                    transmitted: i.transmitted_bytes(),
                })
                .collect(),
            gpus: m
                .gpus
                .as_ref()
                .map(|gpus| gpus.iter().map(Gpu::from).collect()),
            disks: Vec::new(),
            top_processes: Vec::new(),
            process_count: m.process_count,
            load_avg: m.load_avg,
            uptime_secs: m.uptime_secs,
            mem_available: mem.available_bytes,
            temps: m
                .temps
                .iter()
                .map(|t| Temp {
                    chip: &t.chip,
                    input: &t.input,
                    label: &t.label,
                    celsius: t.celsius,
                })
                .collect(),
        }
    }
}

/// A row of `top_processes` (the key socktop clients require; sonde sends
/// the full list through the `processes` request instead).
#[derive(Debug, Clone, Serialize)]
pub struct TopProcess {
    /// Process id.
    pub pid: u32,
    /// Name.
    pub name: String,
    /// CPU %.
    pub cpu_usage: f32,
    /// RSS, bytes.
    pub mem_bytes: u64,
}

/// One network interface.
#[derive(Debug, Clone, Serialize)]
pub struct Network<'a> {
    /// Interface name.
    pub name: &'a str,
    /// Bytes received since boot.
    pub received: u64,
    /// Bytes transmitted since boot.
    pub transmitted: u64,
}

/// One GPU: the documented keys and the keys socktop clients read, each
/// once (a socktop client fails on two aliases of one quantity).
#[derive(Debug, Clone, Serialize)]
pub struct Gpu<'a> {
    /// Device name.
    pub name: &'a str,
    /// Utilization %, documented key.
    pub usage: Option<f32>,
    /// Utilization %, the key socktop clients read.
    pub utilization_gpu_pct: Option<f32>,
    /// Memory used, bytes, documented key.
    pub memory_used: Option<u64>,
    /// Memory used, bytes, the key socktop clients read.
    pub mem_used_bytes: Option<u64>,
    /// Memory size, bytes, documented key.
    pub memory_total: Option<u64>,
    /// Memory size, bytes, the key socktop clients read.
    pub mem_total_bytes: Option<u64>,
    /// Temperature, °C.
    pub temp_c: Option<f32>,
    /// Additive: `nvidia`, `amd` or `intel`.
    pub vendor: &'static str,
    /// Additive: position among the GPUs, in PCI address order.
    pub index: u32,
    /// Additive: power draw, W.
    pub power_w: Option<f32>,
    /// Additive: fan speed, %.
    pub fan_pct: Option<f32>,
    /// Additive: graphics clock, MHz.
    pub clock_mhz: Option<u32>,
    /// Additive: `active`, `suspended` (left asleep, readings null) or
    /// `unavailable` (no driver to ask).
    pub state: &'static str,
    /// Additive: the processes holding GPU memory (the collector's own
    /// type: its fields are the wire's).
    pub processes: &'a [gpu::GpuProcess],
}

impl<'a> From<&'a gpu::Gpu> for Gpu<'a> {
    fn from(g: &'a gpu::Gpu) -> Self {
        let r = &g.reading;
        Gpu {
            name: &g.name,
            usage: r.utilization_percent,
            utilization_gpu_pct: r.utilization_percent,
            memory_used: r.memory_used_bytes,
            mem_used_bytes: r.memory_used_bytes,
            memory_total: r.memory_total_bytes,
            mem_total_bytes: r.memory_total_bytes,
            temp_c: r.temperature_celsius,
            vendor: g.vendor.name(),
            index: g.index,
            power_w: r.power_watts,
            fan_pct: r.fan_percent,
            clock_mhz: r.clock_mhz,
            state: g.state.name(),
            processes: &r.processes,
        }
    }
}

/// One temperature sensor.
#[derive(Debug, Clone, Serialize)]
pub struct Temp<'a> {
    /// The chip's unique id (`platform_coretemp_1`) or the thermal zone
    /// (`thermal_zone0`): two sockets' `Core 0` differ here.
    pub chip: &'a str,
    /// The input on the chip (`temp2`; `temp` for a zone).
    pub input: &'a str,
    /// Chip name and label, e.g. `coretemp Package id 0`.
    pub label: &'a str,
    /// °C.
    pub celsius: f32,
}

/// Seconds the CPUs spent in each mode (node_exporter's name).
pub const CPU_SECONDS: &str = "node_cpu_seconds";
/// Boot time (node_exporter's name).
pub const BOOT_TIME_SECONDS: &str = "node_boot_time_seconds";
/// Processes on the host.
pub const PROCESSES: &str = "sonde_processes";
/// Every temperature sensor.
pub const TEMPERATURE_CELSIUS: &str = "sonde_temperature_celsius";
/// GPUs left asleep.
pub const GPU_SUSPENDED: &str = "sonde_gpu_suspended";
/// GPU busy share.
pub const GPU_UTILIZATION_RATIO: &str = "sonde_gpu_utilization_ratio";
/// GPU memory in use.
pub const GPU_MEMORY_USED_BYTES: &str = "sonde_gpu_memory_used_bytes";
/// GPU memory size.
pub const GPU_MEMORY_TOTAL_BYTES: &str = "sonde_gpu_memory_total_bytes";
/// GPU temperature.
pub const GPU_TEMPERATURE_CELSIUS: &str = "sonde_gpu_temperature_celsius";
/// GPU power draw.
pub const GPU_POWER_WATTS: &str = "sonde_gpu_power_watts";
/// Processes using a GPU.
pub const GPU_PROCESSES: &str = "sonde_gpu_processes";
/// GPU memory each process holds.
pub const GPU_PROCESS_MEMORY_BYTES: &str = "sonde_gpu_process_memory_bytes";
/// Each process's share of a GPU.
pub const GPU_PROCESS_UTILIZATION_RATIO: &str = "sonde_gpu_process_utilization_ratio";

/// The sample's series, made once per sample.
async fn series(scrape: &Scrape<'_>) -> Result<Bytes, CollectError> {
    let sample = scrape.sample(sample).await?;
    Ok(sample.text(|m| {
        let mut f = Families::default();
        system_series(&mut f, m);
        if let Some(gpus) = &m.gpus {
            gpu_series(&mut f, gpus);
        }
        f.encode()
    }))
}

/// The process count and the temperatures (node_exporter's series of
/// this sample's readings are the `node` module's).
fn system_series(f: &mut Families, m: &collector::Metrics) {
    f.gauge(PROCESSES, "Processes on the host.", m.process_count as f64);
    let temps = f.gauge_family(
        TEMPERATURE_CELSIUS,
        "Temperature of each sensor (hwmon and thermal zones), °C.",
    );
    for t in &m.temps {
        temps.push(
            [
                ("chip", t.chip.as_str()),
                ("input", t.input.as_str()),
                ("sensor", t.label.as_str()),
            ],
            f64::from(t.celsius),
        );
    }
}

/// One GPU reading as a number, if the GPU gave it.
type ReadingOf = fn(&gpu::Reading) -> Option<f64>;

/// A GPU's labels on every GPU series.
fn gpu_labels(g: &gpu::Gpu) -> [(&'static str, String); 3] {
    [
        ("gpu", g.index.to_string()),
        ("vendor", g.vendor.name().to_owned()),
        ("name", g.name.clone()),
    ]
}

fn gpu_series(f: &mut Families, gpus: &[gpu::Gpu]) {
    let suspended = f.gauge_family(
        GPU_SUSPENDED,
        "1 while the GPU is runtime-suspended (left asleep, not read).",
    );
    for g in gpus {
        let asleep = f64::from(u8::from(g.state == GpuState::Suspended));
        suspended.push(gpu_labels(g), asleep);
    }
    let readings: [(&str, &str, ReadingOf); 5] = [
        (GPU_UTILIZATION_RATIO, "GPU busy share, 0-1.", |r| {
            r.utilization_percent.map(|p| f64::from(p) / 100.0)
        }),
        (GPU_MEMORY_USED_BYTES, "GPU memory in use.", |r| {
            r.memory_used_bytes.map(|b| b as f64)
        }),
        (GPU_MEMORY_TOTAL_BYTES, "GPU memory size.", |r| {
            r.memory_total_bytes.map(|b| b as f64)
        }),
        (GPU_TEMPERATURE_CELSIUS, "GPU temperature, °C.", |r| {
            r.temperature_celsius.map(f64::from)
        }),
        (GPU_POWER_WATTS, "GPU power draw, W.", |r| {
            r.power_watts.map(f64::from)
        }),
    ];
    for (name, help, read) in readings {
        let family = f.gauge_family(name, help);
        for g in gpus {
            if let Some(v) = read(&g.reading) {
                family.push(gpu_labels(g), v);
            }
        }
    }
    gpu_process_series(f, gpus);
}

/// Who uses each awake GPU: how many processes, and each one's memory.
fn gpu_process_series(f: &mut Families, gpus: &[gpu::Gpu]) {
    let awake = || gpus.iter().filter(|g| g.state == GpuState::Active);
    let count = f.gauge_family(
        GPU_PROCESSES,
        "Processes using the GPU (NVML's list; DRM clients for AMD and Intel).",
    );
    for g in awake() {
        count.push(gpu_labels(g), g.reading.processes.len() as f64);
    }
    let process_labels = |g: &gpu::Gpu, p: &gpu::GpuProcess| {
        let [gpu, vendor, name] = gpu_labels(g);
        [
            gpu,
            vendor,
            name,
            ("pid", p.pid.to_string()),
            ("process", p.name.clone().unwrap_or_default()),
        ]
    };
    type Reading = fn(&gpu::GpuProcess) -> Option<f64>;
    let readings: [(&str, &str, Reading); 2] = [
        (
            GPU_PROCESS_MEMORY_BYTES,
            "GPU memory a process holds (device memory; system memory on an integrated GPU).",
            |p| p.used_memory_bytes.map(|b| b as f64),
        ),
        (
            GPU_PROCESS_UTILIZATION_RATIO,
            "Share of the GPU a process used over the last window, 0-1 (NVML's per-process samples; the busiest DRM engine for AMD and Intel).",
            |p| p.utilization_percent.map(|u| f64::from(u) / 100.0),
        ),
    ];
    for (family, help, read) in readings {
        let family = f.gauge_family(family, help);
        for g in awake() {
            for p in &g.reading.processes {
                if let Some(v) = read(p) {
                    family.push(process_labels(g, p), v);
                }
            }
        }
    }
}

/// `sonde check`: CPU, memory, network, sensors, the sample's timing, GPUs.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = Instant::now();
    let mut lines = match sample(state).await {
        Ok(m) => sample_lines(state, m.value(), elapsed_ms(timed)),
        Err(e) => vec![CheckLine::broken(NAME, format!("BROKEN: {e}"))],
    };
    let timed = Instant::now();
    let gpus = gpus(state).await;
    lines.push(gpu_line(state, gpus, elapsed_ms(timed)));
    lines
}

fn sample_lines(state: &AppState, m: &collector::Metrics, ms: f64) -> Vec<CheckLine> {
    let mem = m.memory.unwrap_or_default();
    let load = m.load_avg.map_or("unknown".to_owned(), |l| {
        format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2])
    });
    let names: Vec<&str> = m.networks.iter().map(|n| n.name.as_str()).collect();
    vec![
        CheckLine::ok(
            "CPU",
            format!(
                "{} cores, {:.1} % busy since boot; load {load}",
                m.cpu.per_core_percent.len(),
                m.cpu.total_percent
            ),
        ),
        CheckLine::ok(
            "memory",
            format!(
                "{} total, {} used, swap {}",
                gib(mem.total_bytes),
                gib(mem.used_bytes()),
                gib(mem.swap_total_bytes)
            ),
        ),
        CheckLine::ok(
            "network",
            format!("{} interfaces ({})", names.len(), names.join(", ")),
        ),
        CheckLine::ok("CPU sensor", sensors_text(state, m)),
        CheckLine::ok(NAME, format!("collected in {ms:.1} ms")),
    ]
}

fn sensors_text(state: &AppState, m: &collector::Metrics) -> String {
    let sys = &state.roots().sys;
    if !state.config.collection.temp {
        return "off (--temp off)".to_owned();
    }
    if m.temps.is_empty() {
        return format!(
            "none found — looked in {} and {}",
            sys.join("class/hwmon").display(),
            sys.join("class/thermal").display()
        );
    }
    let cpu = m
        .cpu_temp_celsius
        .map_or("no CPU package sensor".to_owned(), |c| format!("{c:.1} °C"));
    format!("{cpu} (of {} temperature inputs)", m.temps.len())
}

fn gpu_line(
    state: &AppState,
    gpus: Result<Option<Shared<Arc<Vec<gpu::Gpu>>>>, CollectError>,
    ms: f64,
) -> CheckLine {
    let line = |text: String, broken| CheckLine {
        label: "GPUs".into(),
        text: format!("{text} … {ms:.1} ms"),
        broken,
    };
    if !state.config.collection.gpu {
        return line("off (--gpu off)".to_owned(), false);
    }
    match gpus {
        Ok(None) => line(
            format!(
                "none on the PCI bus — looked in {}",
                state.roots().sys.join("bus/pci/devices").display()
            ),
            false,
        ),
        Ok(Some(g)) => {
            let unavailable = g.value().iter().any(|g| g.state == GpuState::Unavailable);
            let text = g
                .value()
                .iter()
                .map(|g| {
                    let why = if g.state == GpuState::Unavailable {
                        ": its driver could not be asked"
                    } else {
                        ""
                    };
                    let (i, vendor, state) = (g.index, g.vendor.name(), g.state.name());
                    format!("{i} {vendor} {} ({state}){why}", g.name)
                })
                .collect::<Vec<_>>()
                .join("; ");
            line(text, unavailable)
        }
        Err(e) => line(format!("BROKEN: {e}"), true),
    }
}
