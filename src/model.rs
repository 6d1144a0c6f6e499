//! The reply types as they go on the wire (JSON field names of the contract,
//! see `docs/protocol.md`), and their conversion from collector output.

use serde::Serialize;

use crate::collect::containers::ContainerTable;
use crate::collect::disks::Disk;
use crate::collect::gpu;
use crate::collect::host::HostFacts;
use crate::collect::journal::Journal;
use crate::collect::metrics;
use crate::collect::process_detail::ProcessDetail;
use crate::collect::processes::ProcessTable;

/// The generated protobuf types (`proto/processes.proto`, package `socktop`).
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/socktop.rs"));
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

impl<'a> From<&'a metrics::Metrics> for Metrics<'a> {
    fn from(m: &'a metrics::Metrics) -> Self {
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
                    received: i.received_bytes,
                    transmitted: i.transmitted_bytes,
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
                .map(|(label, celsius)| Temp {
                    label,
                    celsius: *celsius,
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
    /// Additive: the processes holding GPU memory.
    pub processes: Vec<GpuProcess>,
}

/// A process using a GPU.
#[derive(Debug, Clone, Serialize)]
pub struct GpuProcess {
    /// Process id.
    pub pid: u32,
    /// GPU memory it uses, bytes, when the driver says.
    pub used_memory_bytes: Option<u64>,
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
            processes: r
                .processes
                .iter()
                .map(|p| GpuProcess {
                    pid: p.pid,
                    used_memory_bytes: p.used_memory_bytes,
                })
                .collect(),
        }
    }
}

/// One temperature sensor.
#[derive(Debug, Clone, Serialize)]
pub struct Temp<'a> {
    /// Chip and label, e.g. `coretemp Package id 0`.
    pub label: &'a str,
    /// °C.
    pub celsius: f32,
}

/// One entry of the `disks` reply.
#[derive(Debug, Clone, Serialize)]
pub struct DiskEntry {
    /// Device name, e.g. `nvme0n1p2`.
    pub name: String,
    /// Size, bytes.
    pub total: u64,
    /// Available to unprivileged users, bytes.
    pub available: u64,
    /// Drive temperature, °C, or null.
    pub temperature: Option<f32>,
    /// True for a partition.
    pub is_partition: bool,
    /// Additive: mount point.
    pub mount_point: String,
    /// Additive: filesystem type.
    pub fs_type: String,
    /// Additive: used, bytes.
    pub used: u64,
}

impl From<&Disk> for DiskEntry {
    fn from(d: &Disk) -> Self {
        DiskEntry {
            name: d.name.clone(),
            total: d.total_bytes,
            available: d.available_bytes,
            temperature: d.temperature_celsius,
            is_partition: d.is_partition,
            mount_point: d.mount_point.clone(),
            fs_type: d.fs_type.clone(),
            used: d.used_bytes,
        }
    }
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
                    kind: c.owner.kind,
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
                })
                .collect(),
            cgroup_version: table.cgroup_version,
            notice: table.notice.as_deref(),
            sampled_at_ms,
        }
    }
}

/// The `host` reply: static facts, null where unknown.
#[derive(Debug, Clone, Serialize)]
pub struct Host {
    /// Host name.
    pub hostname: Option<String>,
    /// OS name and version.
    pub os: Option<String>,
    /// Kernel release.
    pub kernel_version: Option<String>,
    /// CPU architecture.
    pub arch: String,
    /// CPU model.
    pub cpu_name: Option<String>,
    /// Logical CPUs.
    pub cpu_cores: Option<u32>,
    /// Physical cores.
    pub cpu_physical_cores: Option<u32>,
    /// Memory, bytes.
    pub mem_total: Option<u64>,
    /// Swap, bytes.
    pub swap_total: Option<u64>,
    /// Sum of filesystem sizes, bytes.
    pub disk_total: Option<u64>,
    /// Boot time, Unix seconds.
    pub boot_time: Option<u64>,
    /// Hypervisor or container, `none` on bare metal.
    pub virtualization: Option<String>,
    /// sonde's version.
    pub version: &'static str,
}

impl From<&HostFacts> for Host {
    fn from(h: &HostFacts) -> Self {
        let h = h.clone();
        Host {
            hostname: h.hostname,
            os: h.os,
            kernel_version: h.kernel_version,
            arch: h.arch,
            cpu_name: h.cpu_name,
            cpu_cores: h.cpu_cores,
            cpu_physical_cores: h.cpu_physical_cores,
            mem_total: h.mem_total_bytes,
            swap_total: h.swap_total_bytes,
            disk_total: h.disk_total_bytes,
            boot_time: h.boot_time_secs,
            virtualization: h.virtualization,
            version: crate::VERSION,
        }
    }
}

/// Encodes the process table as the `Processes` protobuf, straight from the
/// rows: the same bytes as `processes_message(table).encode_to_vec()`
/// without copying every name into an intermediate message first (this is
/// the hot path of every process list refresh).
pub fn encode_processes(table: &ProcessTable) -> Vec<u8> {
    use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};
    /// Key of a field: tag and wire type in one varint, one byte for tags < 16.
    const KEY_LEN: usize = 1;
    let row_len = |r: &crate::collect::processes::ProcRow| {
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
    }
    buf
}

/// The process table as the protobuf reply message.
pub fn processes_message(table: &ProcessTable) -> pb::Processes {
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
            })
            .collect(),
    }
}

/// The `process_metrics` reply.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessMetricsReply {
    /// The process.
    pub process: ProcessInfo,
    /// Unix seconds when this answer was collected.
    pub cached_at: u64,
}

/// One process in detail (every key always present).
#[derive(Debug, Clone, Serialize)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Name.
    pub name: String,
    /// Full command line, space-joined.
    pub command: String,
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
    /// Current directory.
    pub working_directory: Option<String>,
    /// Executable path.
    pub executable_path: Option<String>,
    /// Its cgroup, e.g. `/system.slice/nginx.service` (additive).
    pub cgroup: Option<String>,
    /// The container it runs in, when its cgroup is a container's (additive).
    pub container_id: Option<String>,
    /// Direct children, their own lists empty.
    pub child_processes: Vec<ProcessInfo>,
    /// Threads.
    pub threads: Vec<ThreadInfo>,
}

/// One thread.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadInfo {
    /// Thread id.
    pub tid: u32,
    /// Name.
    pub name: String,
    /// User CPU time, µs.
    pub cpu_time_user: u64,
    /// System CPU time, µs.
    pub cpu_time_system: u64,
    /// State word.
    pub status: &'static str,
}

impl From<ProcessDetail> for ProcessInfo {
    fn from(d: ProcessDetail) -> Self {
        ProcessInfo {
            pid: d.pid,
            name: d.name,
            command: d.command,
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
            working_directory: d.working_directory,
            executable_path: d.executable_path,
            cgroup: d.cgroup,
            container_id: d.container_id,
            child_processes: d.children.into_iter().map(ProcessInfo::from).collect(),
            threads: d
                .threads
                .into_iter()
                .map(|t| ThreadInfo {
                    tid: t.tid,
                    name: t.name,
                    cpu_time_user: t.cpu_time_user_us,
                    cpu_time_system: t.cpu_time_system_us,
                    status: t.status,
                })
                .collect(),
        }
    }
}

/// The `journal_entries` reply.
#[derive(Debug, Clone, Serialize)]
pub struct JournalReply {
    /// Oldest first, at most 100 (the collector's entries are already in
    /// the wire shape).
    pub entries: Vec<crate::collect::journal::Entry>,
    /// Entries in this reply.
    pub total_count: u32,
    /// True when older entries exist beyond those returned.
    pub truncated: bool,
    /// Why the journal could not be (fully) read; null when it could.
    pub notice: Option<String>,
    /// Unix seconds when this answer was collected.
    pub cached_at: u64,
}

impl JournalReply {
    /// Wraps a journal read taken at `cached_at`.
    pub fn new(j: &Journal, cached_at: u64) -> Self {
        let j = j.clone();
        JournalReply {
            total_count: u32::try_from(j.entries.len()).unwrap_or(u32::MAX),
            entries: j.entries,
            truncated: j.truncated,
            notice: j.notice,
            cached_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::processes::ProcRow;
    use prost::Message as _;

    #[test]
    fn direct_encoding_matches_prost() {
        let row = |pid, name: &str, cpu, rss| ProcRow {
            pid,
            ppid: 1,
            start_ticks: 5,
            name: name.into(),
            cpu_percent: cpu,
            rss_bytes: rss,
            cpu_ticks: 0,
        };
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
