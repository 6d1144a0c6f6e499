//! The GPUs' types: vendor, state, a reading, one GPU in a sample, one
//! found on the PCI bus; and the sysfs helpers the vendors' readers share.

use std::path::{Path, PathBuf};

use crate::collect::read_trimmed;

/// PCI vendor ids.
pub const NVIDIA: u16 = 0x10de;
pub const AMD: u16 = 0x1002;
pub const INTEL: u16 = 0x8086;

/// The GPU's maker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// NVIDIA, read through NVML.
    Nvidia,
    /// AMD, read from the amdgpu driver's sysfs files.
    Amd,
    /// Intel, read from the i915/xe driver's sysfs files.
    Intel,
}

impl Vendor {
    /// The vendor as it goes on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Nvidia => "nvidia",
            Vendor::Amd => "amd",
            Vendor::Intel => "intel",
        }
    }

    pub fn from_pci(id: u16) -> Option<Vendor> {
        match id {
            NVIDIA => Some(Vendor::Nvidia),
            AMD => Some(Vendor::Amd),
            INTEL => Some(Vendor::Intel),
            _ => None,
        }
    }
}

/// Whether a GPU could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuState {
    /// Awake and read.
    Active,
    /// Runtime-suspended (or in D3): left asleep, readings null.
    Suspended,
    /// Awake, but its driver could not be asked (NVML missing, or an error).
    Unavailable,
}

impl GpuState {
    /// The state as it goes on the wire.
    pub fn name(self) -> &'static str {
        match self {
            GpuState::Active => "active",
            GpuState::Suspended => "suspended",
            GpuState::Unavailable => "unavailable",
        }
    }
}

/// Two readings of one process added where both are known, else whichever
/// is (`None` only where neither is): its clients on one GPU, its GPUs.
pub fn add_known<T>(a: Option<T>, b: Option<T>, add: impl FnOnce(T, T) -> T) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(add(a, b)),
        (a, b) => a.or(b),
    }
}

/// One GPU a process holds, as the process list and the drill-down give
/// it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GpuShare {
    /// The GPU's index, as the metrics reply's `gpus` number them.
    pub index: u32,
    /// The process's share of it, %.
    pub utilization_percent: Option<f32>,
    /// The memory it holds on it, bytes.
    pub used_memory_bytes: Option<u64>,
}

/// A process holding GPU memory (its fields are the wire's, so replies
/// serialize it as it is).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GpuProcess {
    /// Process id.
    pub pid: u32,
    /// GPU memory it uses, bytes, when the driver says.
    pub used_memory_bytes: Option<u64>,
    /// Additive: its share of the GPU since the previous reading, 0–100:
    /// NVIDIA's SM utilisation from NVML's per-process samples, AMD's and
    /// Intel's busiest engine from DRM fdinfo; null when first seen, or
    /// where the driver does not say.
    pub utilization_percent: Option<f32>,
    /// Its `comm`, for `/metrics`' label (the wire's clients have the
    /// process list for names).
    #[serde(skip)]
    pub name: Option<String>,
}

/// What a driver says about one GPU; every reading may be missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    /// The driver's name for the device (preferred over the PCI ids').
    pub name: Option<String>,
    /// Busy %, 0–100.
    pub utilization_percent: Option<f32>,
    /// Memory in use, bytes.
    pub memory_used_bytes: Option<u64>,
    /// Memory size, bytes.
    pub memory_total_bytes: Option<u64>,
    /// Die temperature, °C.
    pub temperature_celsius: Option<f32>,
    /// Power draw, W.
    pub power_watts: Option<f32>,
    /// Fan speed, % of its maximum.
    pub fan_percent: Option<f32>,
    /// Graphics clock, MHz.
    pub clock_mhz: Option<u32>,
    /// Processes using it.
    pub processes: Vec<GpuProcess>,
}

/// One GPU in a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Gpu {
    /// Position among the GPUs found, in PCI address order.
    pub index: u32,
    /// The maker.
    pub vendor: Vendor,
    /// PCI address, e.g. `0000:01:00.0`.
    pub pci_address: String,
    /// Name, from the driver or the PCI ids; the ids in hex otherwise.
    pub name: String,
    /// Whether it could be read.
    pub state: GpuState,
    /// The readings (all null when suspended or unavailable).
    pub reading: Reading,
}

/// A GPU found on the PCI bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciGpu {
    /// The maker.
    pub vendor: Vendor,
    /// PCI address, the directory name under `bus/pci/devices`.
    pub address: String,
    /// The device's directory in sysfs.
    pub dir: PathBuf,
    /// Name from the PCI ids file, or `vendor:device` in hex.
    pub name: String,
}

/// The first entry of `dir` (in name order) whose name starts with
/// `prefix`, e.g. a device's `hwmon/hwmon3` or `drm/card1`.
pub fn first_entry(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect();
    found.sort();
    found.into_iter().next()
}

/// A sysfs file holding one number; `None` when missing or not a number.
pub fn read_number<T: std::str::FromStr>(path: &Path) -> Option<T> {
    read_trimmed(path)?.parse().ok()
}
