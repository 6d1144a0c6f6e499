//! `GET /metrics`: the Prometheus text exposition of the same samples `/ws`
//! answers from, written with the `prometheus-client` crate.
//!
//! Names follow Prometheus conventions, with node_exporter's names where
//! the quantity is the same (`node_cpu_seconds_total`, `node_memory_*`,
//! `node_network_*`, `node_filesystem_*`, `node_load*`,
//! `node_boot_time_seconds`), so existing dashboards work; sonde's own
//! series start with `sonde_`. Each sample's part of the text is made once
//! per sample ([`crate::cache::Sample::text`]) and shared by every scraper;
//! only the agent's own cost, the error counters and the opt-in top
//! processes are written per scrape.

use std::fmt;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::auth::Authorized;
use crate::collect::containers::{Container, ContainerTable};
use crate::collect::cpu::MODES;
use crate::collect::disks::{Disk, DiskTable};
use crate::collect::errors::ErrorCount;
use crate::collect::gpu::GpuState;
use crate::collect::metrics::Metrics;
use crate::collect::processes::ProcessTable;
use crate::state::{AppState, Refusal, Shared};

/// The content type of the Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// `GET /metrics`.
pub async fn handler(_auth: Authorized, State(state): State<Arc<AppState>>) -> Response {
    match exposition(&state).await {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("cannot collect: {e}\n"),
        )
            .into_response(),
    }
}

/// The whole exposition: the memoized parts of the metrics and disks
/// samples, then what changes per scrape.
pub async fn exposition(state: &AppState) -> Result<String, crate::collect::CollectError> {
    let metrics = state.metrics().await?;
    let ticks = state.clock().ticks_per_sec.max(1);
    let metrics_text = {
        let sample = metrics.clone();
        metrics.text(move |_| encode(MetricsSeries { sample, ticks }))
    };
    let disks = state.disks().await?;
    let disks_text = {
        let sample = disks.clone();
        disks.text(move |_| encode(DiskSeries(sample)))
    };
    let containers_text = if state.config.http.prometheus_containers {
        let containers = state.containers().await?;
        let sample = containers.clone();
        containers.text(move |_| encode(ContainerSeries(sample)))
    } else {
        bytes::Bytes::new()
    };
    let top = match state.config.http.prometheus_processes {
        0 => None,
        n => Some((state.processes().await?, n)),
    };
    let mut out = String::with_capacity(metrics_text.len() + disks_text.len() + 2048);
    out.push_str(&String::from_utf8_lossy(&metrics_text));
    out.push_str(&String::from_utf8_lossy(&disks_text));
    out.push_str(&String::from_utf8_lossy(&containers_text));
    out.push_str(&encode(AgentSeries {
        errors: state.errors().snapshot(),
        sessions: (state.sessions_open(), state.config.limits.max_connections),
        refused: Refusal::ALL
            .iter()
            .map(|r| (r.name(), state.refused(*r)))
            .collect(),
        own: OwnCost::read(ticks),
        top,
    }));
    Ok(out)
}

/// Encodes one collector's series as Prometheus text.
fn encode(collector: impl Collector) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(collector));
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry) {
        tracing::warn!(error = %e, "Prometheus text could not be written");
    }
    out
}

/// One gauge without labels.
fn gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, value: f64) -> fmt::Result {
    enc.encode_descriptor(name, help, None, MetricType::Gauge)?
        .encode_gauge(&value)
}

/// One family of gauges or counters, one series per label set.
fn family<L: EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    series: impl IntoIterator<Item = (L, f64)>,
) -> fmt::Result {
    let mut metric = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in series {
        let mut one = metric.encode_family(&labels)?;
        match kind {
            MetricType::Counter => one.encode_counter::<NoLabelSet, f64, f64>(&value, None)?,
            _ => one.encode_gauge(&value)?,
        }
    }
    Ok(())
}

/// One GPU reading as a number, if the GPU gave it.
type ReadingOf = fn(&crate::collect::gpu::Reading) -> Option<f64>;

/// The metrics sample's series.
#[derive(Debug)]
struct MetricsSeries {
    sample: Shared<Metrics>,
    ticks: u64,
}

impl Collector for MetricsSeries {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let m = self.sample.value();
        let ticks = self.ticks as f64;
        family(
            &mut enc,
            "node_cpu_seconds",
            "Seconds the CPUs spent in each mode.",
            MetricType::Counter,
            m.cpu.times.cores.iter().flat_map(|(cpu, j)| {
                MODES.iter().zip(j.modes).map(move |(mode, jiffies)| {
                    (
                        [("cpu", cpu.to_string()), ("mode", (*mode).to_owned())],
                        jiffies as f64 / ticks,
                    )
                })
            }),
        )?;
        if let Some(mem) = m.memory {
            for (name, help, bytes) in [
                (
                    "node_memory_MemTotal_bytes",
                    "Memory information field MemTotal_bytes.",
                    mem.total_bytes,
                ),
                (
                    "node_memory_MemAvailable_bytes",
                    "Memory information field MemAvailable_bytes.",
                    mem.available_bytes,
                ),
                (
                    "node_memory_SwapTotal_bytes",
                    "Memory information field SwapTotal_bytes.",
                    mem.swap_total_bytes,
                ),
                (
                    "node_memory_SwapFree_bytes",
                    "Memory information field SwapFree_bytes.",
                    mem.swap_free_bytes,
                ),
            ] {
                gauge(&mut enc, name, help, bytes as f64)?;
            }
        }
        family(
            &mut enc,
            "node_network_receive_bytes",
            "Network device statistic receive_bytes.",
            MetricType::Counter,
            m.networks
                .iter()
                .map(|n| ([("device", n.name.clone())], n.received_bytes as f64)),
        )?;
        family(
            &mut enc,
            "node_network_transmit_bytes",
            "Network device statistic transmit_bytes.",
            MetricType::Counter,
            m.networks
                .iter()
                .map(|n| ([("device", n.name.clone())], n.transmitted_bytes as f64)),
        )?;
        if let Some([one, five, fifteen]) = m.load_avg {
            gauge(&mut enc, "node_load1", "1m load average.", one)?;
            gauge(&mut enc, "node_load5", "5m load average.", five)?;
            gauge(&mut enc, "node_load15", "15m load average.", fifteen)?;
        }
        if let Some(up) = m.uptime_secs {
            let boot = (m.sampled_at_ms / 1000).saturating_sub(up);
            gauge(
                &mut enc,
                "node_boot_time_seconds",
                "Node boot time, in unixtime.",
                boot as f64,
            )?;
        }
        gauge(
            &mut enc,
            "sonde_processes",
            "Processes on the host.",
            m.process_count as f64,
        )?;
        family(
            &mut enc,
            "sonde_temperature_celsius",
            "Temperature of each sensor (hwmon and thermal zones), °C.",
            MetricType::Gauge,
            m.temps
                .iter()
                .map(|(label, celsius)| ([("sensor", label.clone())], f64::from(*celsius))),
        )?;
        if let Some(gpus) = &m.gpus {
            let labels = |g: &crate::collect::gpu::Gpu| {
                [
                    ("gpu", g.index.to_string()),
                    ("vendor", g.vendor.name().to_owned()),
                    ("name", g.name.clone()),
                ]
            };
            family(
                &mut enc,
                "sonde_gpu_suspended",
                "1 while the GPU is runtime-suspended (left asleep, not read).",
                MetricType::Gauge,
                gpus.iter().map(|g| {
                    (
                        labels(g),
                        f64::from(u8::from(g.state == GpuState::Suspended)),
                    )
                }),
            )?;
            let readings: [(&str, &str, ReadingOf); 5] = [
                ("sonde_gpu_utilization_ratio", "GPU busy share, 0-1.", |r| {
                    r.utilization_percent.map(|p| f64::from(p) / 100.0)
                }),
                ("sonde_gpu_memory_used_bytes", "GPU memory in use.", |r| {
                    r.memory_used_bytes.map(|b| b as f64)
                }),
                ("sonde_gpu_memory_total_bytes", "GPU memory size.", |r| {
                    r.memory_total_bytes.map(|b| b as f64)
                }),
                (
                    "sonde_gpu_temperature_celsius",
                    "GPU temperature, °C.",
                    |r| r.temperature_celsius.map(f64::from),
                ),
                ("sonde_gpu_power_watts", "GPU power draw, W.", |r| {
                    r.power_watts.map(f64::from)
                }),
            ];
            for (name, help, read) in readings {
                family(
                    &mut enc,
                    name,
                    help,
                    MetricType::Gauge,
                    gpus.iter()
                        .filter_map(|g| read(&g.reading).map(|v| (labels(g), v))),
                )?;
            }
        }
        Ok(())
    }
}

/// The disks sample's series.
#[derive(Debug)]
struct DiskSeries(Shared<DiskTable>);

impl Collector for DiskSeries {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let table = self.0.value();
        // node_exporter's labels: the mount source is the device.
        let labels = |source: &str, fs_type: &str, mount_point: &str| {
            [
                ("device", source.to_owned()),
                ("fstype", fs_type.to_owned()),
                ("mountpoint", mount_point.to_owned()),
            ]
        };
        let of = |d: &Disk| labels(&d.source, &d.fs_type, &d.mount_point);
        for (name, help, bytes) in [
            (
                "node_filesystem_size_bytes",
                "Filesystem size in bytes.",
                (|d: &Disk| d.total_bytes) as fn(&Disk) -> u64,
            ),
            (
                "node_filesystem_avail_bytes",
                "Filesystem space available to non-root users in bytes.",
                |d| d.available_bytes,
            ),
            (
                "node_filesystem_free_bytes",
                "Filesystem free space in bytes.",
                |d| d.total_bytes.saturating_sub(d.used_bytes),
            ),
        ] {
            family(
                &mut enc,
                name,
                help,
                MetricType::Gauge,
                table.disks.iter().map(|d| (of(d), bytes(d) as f64)),
            )?;
        }
        family(
            &mut enc,
            "node_filesystem_device_error",
            "Whether an error occurred while getting statistics for the given device (1: its statvfs did not answer in time).",
            MetricType::Gauge,
            table.disks.iter().map(|d| (of(d), 0.0)).chain(
                table
                    .unavailable
                    .iter()
                    .map(|u| (labels(&u.source, &u.fs_type, &u.mount_point), 1.0)),
            ),
        )
    }
}

/// The containers sample's series, in cAdvisor's names: `id` is the cgroup
/// path, `name` the unit name (empty for containers, whose names only their
/// runtime knows), `kind` what owns it.
#[derive(Debug)]
struct ContainerSeries(Shared<ContainerTable>);

impl Collector for ContainerSeries {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let table = self.0.value();
        let labels = |c: &Container| {
            [
                ("id", c.cgroup.clone()),
                ("name", c.owner.name.clone().unwrap_or_default()),
                ("kind", c.owner.kind.to_owned()),
            ]
        };
        // Counter names without `_total`: the encoder appends it.
        type Value = fn(&Container) -> Option<f64>;
        let families: [(&str, &str, MetricType, Value); 6] = [
            (
                "container_cpu_usage_seconds",
                "Cumulative cpu time consumed in seconds.",
                MetricType::Counter,
                |c| Some(c.cpu_time_us as f64 / 1e6),
            ),
            (
                "container_memory_usage_bytes",
                "Current memory usage in bytes.",
                MetricType::Gauge,
                |c| c.mem_bytes.map(|b| b as f64),
            ),
            (
                "container_spec_memory_limit_bytes",
                "Memory limit for the container (0: none).",
                MetricType::Gauge,
                |c| c.mem_bytes.map(|_| c.mem_limit_bytes.unwrap_or(0) as f64),
            ),
            (
                "container_processes",
                "Number of processes running inside the container.",
                MetricType::Gauge,
                |c| c.pids.map(|p| p as f64),
            ),
            (
                "container_fs_reads_bytes",
                "Cumulative count of bytes read, all devices.",
                MetricType::Counter,
                |c| c.io_read_bytes.map(|b| b as f64),
            ),
            (
                "container_fs_writes_bytes",
                "Cumulative count of bytes written, all devices.",
                MetricType::Counter,
                |c| c.io_write_bytes.map(|b| b as f64),
            ),
        ];
        if table.containers.is_empty() {
            return Ok(());
        }
        for (name, help, kind, value) in families {
            family(
                &mut enc,
                name,
                help,
                kind,
                table
                    .containers
                    .iter()
                    .filter_map(|c| value(c).map(|v| (labels(c), v))),
            )?;
        }
        family(
            &mut enc,
            "container_cpu_cfs_throttled_seconds",
            "Total time duration the container has been throttled.",
            MetricType::Counter,
            table
                .containers
                .iter()
                .filter_map(|c| c.throttled_us.map(|t| (labels(c), t as f64 / 1e6))),
        )
    }
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

/// What changes on every scrape: build info, error counters, own cost, and
/// the opt-in top processes.
#[derive(Debug)]
struct AgentSeries {
    errors: Vec<ErrorCount>,
    /// Sessions open, the cap, and refusals per reason.
    sessions: (usize, usize),
    refused: Vec<(&'static str, u64)>,
    own: OwnCost,
    top: Option<(Shared<Arc<ProcessTable>>, usize)>,
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
            "sonde_collector_errors",
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
            "sonde_websocket_sessions",
            "WebSocket sessions open.",
            self.sessions.0 as f64,
        )?;
        gauge(
            &mut enc,
            "sonde_websocket_sessions_limit",
            "WebSocket sessions allowed at once (--max-connections).",
            self.sessions.1 as f64,
        )?;
        family(
            &mut enc,
            "sonde_connections_refused",
            "Connections refused since start: websocket_cap (503 before the upgrade), connection_limit (closed at accept).",
            MetricType::Counter,
            self.refused
                .iter()
                .map(|(reason, n)| ([("reason", (*reason).to_owned())], *n as f64)),
        )?;
        if let Some(cpu) = self.own.cpu_seconds {
            enc.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<NoLabelSet, f64, f64>(&cpu, None)?;
        }
        if let Some(rss) = self.own.resident_bytes {
            gauge(
                &mut enc,
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                rss as f64,
            )?;
        }
        if let Some((table, n)) = &self.top {
            let mut rows: Vec<_> = table.value().rows.iter().collect();
            rows.sort_by(|a, b| {
                b.cpu_percent
                    .total_cmp(&a.cpu_percent)
                    .then(a.pid.cmp(&b.pid))
            });
            rows.truncate(*n);
            let labels = |r: &crate::collect::processes::ProcRow| {
                [("pid", r.pid.to_string()), ("name", r.name.clone())]
            };
            family(
                &mut enc,
                "sonde_process_cpu_ratio",
                "Share of the whole machine's CPU a top process used over the last window, 0-1.",
                MetricType::Gauge,
                rows.iter()
                    .map(|r| (labels(r), f64::from(r.cpu_percent) / 100.0)),
            )?;
            family(
                &mut enc,
                "sonde_process_resident_memory_bytes",
                "Resident memory of a top process.",
                MetricType::Gauge,
                rows.iter().map(|r| (labels(r), r.rss_bytes as f64)),
            )?;
        }
        Ok(())
    }
}
