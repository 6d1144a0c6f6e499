//! The containers' types: who owns a cgroup, one measured container, the
//! table of them, and the bounds of the walk.

use crate::collect::pressure::Pressure;

use std::path::PathBuf;
use std::time::Duration;

/// How deep the walk goes below the cgroup root (Kubernetes containers sit
/// at depth 4 to 5; user containers at about 6).
pub const MAX_DEPTH: usize = 10;

/// At most this many cgroups are reported (a bound on one reply's work).
pub const MAX_ENTRIES: usize = 4096;

/// What a first sample waits for CPU% to cover a real window.
pub const FIRST_WINDOW: Duration = Duration::from_millis(200);

/// What owns a cgroup: a container runtime or systemd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OwnerKind {
    /// A Docker container.
    Docker,
    /// A Podman container.
    Podman,
    /// A containerd container outside Kubernetes.
    Containerd,
    /// A CRI-O container outside Kubernetes.
    CriO,
    /// A Kubernetes pod's container (any runtime).
    Kubepods,
    /// A systemd service.
    SystemdService,
    /// A systemd scope (a session, a transient unit).
    SystemdScope,
}

impl OwnerKind {
    /// Its name on the wire and in labels.
    pub fn name(self) -> &'static str {
        match self {
            OwnerKind::Docker => "docker",
            OwnerKind::Podman => "podman",
            OwnerKind::Containerd => "containerd",
            OwnerKind::CriO => "cri-o",
            OwnerKind::Kubepods => "kubepods",
            OwnerKind::SystemdService => "systemd-service",
            OwnerKind::SystemdScope => "systemd-scope",
        }
    }

    /// True for a container (not a systemd unit).
    pub fn is_container(self) -> bool {
        !matches!(self, OwnerKind::SystemdService | OwnerKind::SystemdScope)
    }
}

/// Who a cgroup belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The runtime or systemd.
    pub kind: OwnerKind,
    /// The container id, or the unit name.
    pub id: String,
    /// The unit name for systemd units; null for containers.
    pub name: Option<String>,
}

impl Owner {
    /// True for a container (not a systemd unit).
    pub fn is_container(&self) -> bool {
        self.kind.is_container()
    }
}

/// One container or unit, measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    /// Who it is.
    pub owner: Owner,
    /// Its cgroup, from the hierarchy's root (`/system.slice/…`).
    pub cgroup: String,
    /// Share of the whole machine since the previous sample, 0–100; `None`
    /// for a cgroup first seen in this sample.
    pub cpu_percent: Option<f32>,
    /// CPU time, µs, cumulative.
    pub cpu_time_us: u64,
    /// `memory.current`, bytes (`None` without the memory controller).
    pub mem_bytes: Option<u64>,
    /// `memory.max`, bytes; `None` when unlimited or unknown.
    pub mem_limit_bytes: Option<u64>,
    /// `pids.current`.
    pub pids: Option<u64>,
    /// Bytes read, summed over devices (`None` without the io controller).
    pub io_read_bytes: Option<u64>,
    /// Bytes written.
    pub io_write_bytes: Option<u64>,
    /// `throttled_usec`, where the CPU controller reports it.
    pub throttled_us: Option<u64>,
    /// Its pressure stall information (`cpu.pressure`…).
    pub pressure: CgroupPressure,
    /// `memory.events` (`None` without the memory controller).
    pub memory_events: Option<MemoryEvents>,
    /// Bytes read per second since the previous sample (`None` for a
    /// cgroup first seen now, or without the io controller).
    pub io_read_bytes_per_sec: Option<f64>,
    /// Bytes written per second, the same way.
    pub io_write_bytes_per_sec: Option<f64>,
}

/// A cgroup's pressure files; `None` for one the kernel does not write
/// (no PSI, or `cgroup.pressure` turned off there).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct CgroupPressure {
    /// `cpu.pressure`.
    pub cpu: Option<Pressure>,
    /// `memory.pressure`.
    pub memory: Option<Pressure>,
    /// `io.pressure`.
    pub io: Option<Pressure>,
}

/// What `memory.events` counts (hierarchically: the cgroup's descendants
/// too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MemoryEvents {
    /// Times the cgroup's usage was about to go over `memory.max`.
    pub max: u64,
    /// Times it ran out of memory (the OOM killer was asked).
    pub oom: u64,
    /// Processes the OOM killer killed in it.
    pub oom_kill: u64,
}

/// One containers sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerTable {
    /// In cgroup path order.
    pub containers: Vec<Container>,
    /// 2 with the unified hierarchy, else `None`.
    pub cgroup_version: Option<u8>,
    /// Why the list is empty or partial, in one sentence.
    pub notice: Option<String>,
}

/// A cgroup found by the walk: its directory, path and owner.
#[derive(Debug, Clone)]
pub struct Found {
    /// The cgroup's directory.
    pub dir: PathBuf,
    /// Its path from the hierarchy's root.
    pub cgroup: String,
    /// Who it belongs to.
    pub owner: Owner,
}
