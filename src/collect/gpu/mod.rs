//! GPUs: every display-class PCI device of NVIDIA, AMD or Intel, read
//! without waking one that sleeps.
//!
//! - Discovery ([`discover`]) lists `bus/pci/devices` under the sys root
//!   once: vendor, device id, class, and the name from the PCI ids file.
//!   No GPU found is remembered, so a GPU-less host pays nothing after the
//!   first look.
//! - Every sample first reads each device's `power/runtime_status` and
//!   `power_state` from sysfs. A suspended GPU is reported with its name,
//!   null readings and `state: "suspended"`; no driver call is made for it.
//! - NVIDIA readings come through NVML ([`nvidia`]), loaded at run time, and
//!   only while some NVIDIA GPU is awake; the handle is released after an
//!   idle period ([`GpuSampler::release_if_idle`]) so the GPU may suspend.
//!   AMD readings come from sysfs ([`amd`]), Intel's from what sysfs offers
//!   ([`intel`]); never an invented number.
//!
//! Everything here reads files or calls the driver: run it on the blocking
//! pool.

pub mod amd;
pub mod intel;
pub mod lifecycle;
pub mod nvidia;

pub use lifecycle::{GPU_IDLE_RELEASE, GpuSource};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::sync::Arc;

use super::{CollectError, CollectorErrors, ParseError, Roots, read_trimmed};

/// PCI vendor ids.
const NVIDIA: u16 = 0x10de;
const AMD: u16 = 0x1002;
const INTEL: u16 = 0x8086;

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

    fn from_pci(id: u16) -> Option<Vendor> {
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

/// A process holding GPU memory (its fields are the wire's, so replies
/// serialize it as it is).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GpuProcess {
    /// Process id.
    pub pid: u32,
    /// GPU memory it uses, bytes, when the driver says.
    pub used_memory_bytes: Option<u64>,
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

/// `"0x10de\n"` → `0x10de`.
pub fn parse_hex_id(text: &str) -> Result<u32, ParseError> {
    let t = text.trim();
    let digits = t.strip_prefix("0x").unwrap_or(t);
    u32::from_str_radix(digits, 16).map_err(|_| {
        ParseError::new(
            "bus/pci/devices/*/{vendor,device,class}",
            format!("not a hex id: {t:?}"),
        )
    })
}

/// Whether a PCI class is a display controller (VGA, 3D, other display).
pub fn is_display_class(class: u32) -> bool {
    class >> 16 == 0x03
}

/// Whether sysfs says the device sleeps: `runtime_status` is `suspended`
/// (or on its way there), or the PCI power state is D3.
pub fn is_asleep(runtime_status: Option<&str>, power_state: Option<&str>) -> bool {
    let status = runtime_status.map(str::trim);
    let state = power_state.map(str::trim);
    matches!(status, Some("suspended" | "suspending")) || state.is_some_and(|s| s.starts_with("D3"))
}

/// The device name in a `pci.ids` file: the line for `device` under the
/// line for `vendor`; a bracketed marketing name is preferred.
pub fn pci_ids_name(ids: &str, vendor: u16, device: u16) -> Option<String> {
    let vendor_key = format!("{vendor:04x}");
    let device_key = format!("{device:04x}");
    let mut in_vendor = false;
    for line in ids.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if !line.starts_with('\t') {
            if in_vendor {
                return None;
            }
            in_vendor = line.starts_with(&vendor_key);
            continue;
        }
        if in_vendor
            && let Some(rest) = line.strip_prefix('\t')
            && !rest.starts_with('\t')
            && let Some(name) = rest.strip_prefix(&device_key)
        {
            let name = name.trim();
            let short = name
                .split_once('[')
                .and_then(|(_, b)| b.split_once(']'))
                .map(|(inner, _)| inner.trim());
            return Some(short.unwrap_or(name).to_owned());
        }
    }
    None
}

/// The first entry of `dir` (in name order) whose name starts with
/// `prefix`, e.g. a device's `hwmon/hwmon3` or `drm/card1`.
fn first_entry(dir: &Path, prefix: &str) -> Option<PathBuf> {
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
fn read_number<T: std::str::FromStr>(path: &Path) -> Option<T> {
    read_trimmed(path)?.parse().ok()
}

/// Lists the GPUs under `roots.sys` (PCI display devices of the three
/// vendors, in address order), naming them from the first readable of
/// `pci_ids` files.
pub fn discover(roots: &Roots, pci_ids: &[PathBuf]) -> Vec<PciGpu> {
    let Ok(entries) = std::fs::read_dir(roots.sys.join("bus/pci/devices")) else {
        return Vec::new();
    };
    let mut found: Vec<(PciGpu, u16, u16)> = entries
        .flatten()
        .filter_map(|e| {
            let dir = e.path();
            let id = |f: &str| read_trimmed(&dir.join(f)).and_then(|t| parse_hex_id(&t).ok());
            if !is_display_class(id("class")?) {
                return None;
            }
            let vendor_id = u16::try_from(id("vendor")?).ok()?;
            let device_id = u16::try_from(id("device")?).ok()?;
            let vendor = Vendor::from_pci(vendor_id)?;
            Some((
                PciGpu {
                    vendor,
                    address: e.file_name().to_string_lossy().into_owned(),
                    name: format!("{vendor_id:04x}:{device_id:04x}"),
                    dir,
                },
                vendor_id,
                device_id,
            ))
        })
        .collect();
    found.sort_by(|a, b| a.0.address.cmp(&b.0.address));
    if !found.is_empty()
        && let Some(ids) = pci_ids.iter().find_map(|p| std::fs::read_to_string(p).ok())
    {
        for (gpu, vendor, device) in &mut found {
            if let Some(name) = pci_ids_name(&ids, *vendor, *device) {
                gpu.name = name;
            }
        }
    }
    found.into_iter().map(|(gpu, _, _)| gpu).collect()
}

/// The `pci.ids` files looked in, in order (Debian's and Fedora's places).
pub fn default_pci_ids() -> Vec<PathBuf> {
    ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"]
        .iter()
        .map(PathBuf::from)
        .collect()
}

/// Reads every GPU, leaving sleeping ones asleep.
pub struct GpuSampler {
    /// Where sysfs is.
    roots: Roots,
    /// `pci.ids` files for names.
    pci_ids: Vec<PathBuf>,
    /// The GPUs found; `None` until the first sample looks.
    found: Option<Vec<PciGpu>>,
    /// NVIDIA readings (NVML, or canned in tests).
    nvidia: Box<dyn nvidia::NvidiaReader>,
    /// When a driver handle was last used, for the idle release.
    last_driver_use: Option<Instant>,
    /// Where a GPU the driver could not read is reported.
    errors: Arc<CollectorErrors>,
}

impl std::fmt::Debug for GpuSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuSampler")
            .field("found", &self.found)
            .field("nvidia_held", &self.nvidia.held())
            .finish_non_exhaustive()
    }
}

impl GpuSampler {
    /// A sampler over `roots.sys` reading NVIDIA GPUs through `nvidia`.
    pub fn new(
        roots: &Roots,
        pci_ids: Vec<PathBuf>,
        nvidia: Box<dyn nvidia::NvidiaReader>,
        errors: Arc<CollectorErrors>,
    ) -> GpuSampler {
        GpuSampler {
            roots: roots.clone(),
            pci_ids,
            found: None,
            nvidia,
            last_driver_use: None,
            errors,
        }
    }

    /// Whether the host has GPUs: `None` before the first look.
    pub fn present(&self) -> Option<bool> {
        self.found.as_ref().map(|f| !f.is_empty())
    }

    /// Looks for GPUs on the PCI bus now (sysfs only; the driver is not
    /// opened); returns whether there are any.
    pub fn discover(&mut self) -> bool {
        self.look_once();
        self.present().unwrap_or(false)
    }

    /// Discovers the GPUs the first time it is called.
    fn look_once(&mut self) {
        if self.found.is_none() {
            let found = discover(&self.roots, &self.pci_ids);
            if found.is_empty() {
                tracing::info!("no NVIDIA, AMD or Intel GPU on the PCI bus; not looking again");
            }
            self.found = Some(found);
        }
    }

    /// Whether a driver handle (NVML) is held now.
    pub fn driver_held(&self) -> bool {
        self.nvidia.held()
    }

    /// Every GPU, read now (discovering them the first time).
    pub fn sample(&mut self) -> Vec<Gpu> {
        self.look_once();
        let found = self.found.as_deref().unwrap_or_default();
        let mut gpus = Vec::with_capacity(found.len());
        for (i, pci) in found.iter().enumerate() {
            let asleep = is_asleep(
                read_trimmed(&pci.dir.join("power/runtime_status")).as_deref(),
                read_trimmed(&pci.dir.join("power_state")).as_deref(),
            );
            let (state, reading) = if asleep {
                (GpuState::Suspended, Reading::default())
            } else {
                let read = match pci.vendor {
                    Vendor::Nvidia => {
                        self.last_driver_use = Some(Instant::now());
                        self.nvidia.read(&pci.address)
                    }
                    Vendor::Amd => Ok(amd::read(&pci.dir)),
                    Vendor::Intel => Ok(intel::read(&pci.dir)),
                };
                match read {
                    Ok(reading) => (GpuState::Active, reading),
                    Err(e) => {
                        self.errors
                            .report("gpu", &CollectError::Driver(e.to_string()));
                        (GpuState::Unavailable, Reading::default())
                    }
                }
            };
            gpus.push(Gpu {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                vendor: pci.vendor,
                pci_address: pci.address.clone(),
                name: reading.name.clone().unwrap_or_else(|| pci.name.clone()),
                state,
                reading,
            });
        }
        gpus
    }

    /// Releases the driver handle when it has not been used for `idle`;
    /// returns whether none is held afterwards.
    pub fn release_if_idle(&mut self, idle: Duration) -> bool {
        if self.nvidia.held() && self.last_driver_use.is_none_or(|at| at.elapsed() >= idle) {
            self.nvidia.release();
            tracing::debug!(
                "NVML released after {} s without a GPU reading",
                idle.as_secs()
            );
        }
        !self.nvidia.held()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_classes_and_sleep() {
        assert_eq!(parse_hex_id("0x10de\n").unwrap(), 0x10de);
        assert_eq!(parse_hex_id("0x030000").unwrap(), 0x030000);
        assert!(parse_hex_id("nvidia").is_err());
        assert!(is_display_class(0x030000) && is_display_class(0x030200));
        assert!(!is_display_class(0x020000), "a network controller");
        assert!(is_asleep(Some("suspended\n"), None));
        assert!(is_asleep(Some("active"), Some("D3cold")));
        assert!(!is_asleep(Some("active"), Some("D0")));
        assert!(!is_asleep(None, None));
    }

    #[test]
    fn names_from_pci_ids() {
        let ids = "# comment\n10de  NVIDIA Corporation\n\t2330  GH100 [H100 SXM5 80GB]\n\t\t10de 16c1  H100 SXM5 80GB\n\t2331  GH100 [H100 PCIe]\n1002  Advanced Micro Devices, Inc. [AMD/ATI]\n\t73bf  Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]\n\t744c  Navi 31\n";
        assert_eq!(
            pci_ids_name(ids, 0x10de, 0x2331).as_deref(),
            Some("H100 PCIe")
        );
        assert_eq!(
            pci_ids_name(ids, 0x1002, 0x73bf).as_deref(),
            Some("Radeon RX 6800/6800 XT / 6900 XT")
        );
        assert_eq!(
            pci_ids_name(ids, 0x1002, 0x744c).as_deref(),
            Some("Navi 31")
        );
        assert_eq!(
            pci_ids_name(ids, 0x10de, 0x744c),
            None,
            "another vendor's id"
        );
        assert_eq!(pci_ids_name(ids, 0x8086, 0x3e92), None);
    }

    /// Canned NVIDIA readings; counts reads, so a test sees whether the
    /// driver was asked at all.
    struct Canned {
        reading: Reading,
        reads: std::sync::Arc<std::sync::atomic::AtomicU32>,
        held: bool,
    }

    impl nvidia::NvidiaReader for Canned {
        fn read(&mut self, _pci_address: &str) -> Result<Reading, nvidia::NvidiaError> {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.held = true;
            Ok(self.reading.clone())
        }
        fn release(&mut self) {
            self.held = false;
        }
        fn held(&self) -> bool {
            self.held
        }
    }

    /// The H100 of `shared/reference/nvidia-h100`: 0 %, 0 of 81,559 MiB,
    /// 36 °C, 71.67 W, 345 MHz, no fan (a datacenter card).
    fn h100() -> Reading {
        Reading {
            name: Some("NVIDIA H100 80GB HBM3".into()),
            utilization_percent: Some(0.0),
            memory_used_bytes: Some(0),
            memory_total_bytes: Some(81_559 << 20),
            temperature_celsius: Some(36.0),
            power_watts: Some(71.67),
            fan_percent: None,
            clock_mhz: Some(345),
            processes: vec![GpuProcess {
                pid: 4242,
                used_memory_bytes: Some(512 << 20),
            }],
        }
    }

    /// A PCI device directory under `sys`.
    fn pci(sys: &Path, address: &str, vendor: &str, device: &str, class: &str) -> PathBuf {
        let dir = sys.join("bus/pci/devices").join(address);
        std::fs::create_dir_all(dir.join("power")).unwrap();
        std::fs::write(dir.join("vendor"), format!("{vendor}\n")).unwrap();
        std::fs::write(dir.join("device"), format!("{device}\n")).unwrap();
        std::fs::write(dir.join("class"), format!("{class}\n")).unwrap();
        dir
    }

    fn write(dir: &Path, file: &str, text: &str) {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn sampler(
        root: &Path,
        reading: Reading,
    ) -> (GpuSampler, std::sync::Arc<std::sync::atomic::AtomicU32>) {
        let reads = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        std::fs::write(
            root.join("pci.ids"),
            "10de  NVIDIA Corporation\n\t2330  GH100 [H100 SXM5 80GB]\n\t28e0  AD107M [GeForce RTX 4060 Max-Q / Mobile]\n1002  Advanced Micro Devices, Inc. [AMD/ATI]\n\t73bf  Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]\n",
        )
        .unwrap();
        let canned = Canned {
            reading,
            reads: reads.clone(),
            held: false,
        };
        let s = GpuSampler::new(
            &Roots::under(root),
            vec![root.join("pci.ids")],
            Box::new(canned),
            Arc::default(),
        );
        (s, reads)
    }

    #[test]
    fn a_suspended_nvidia_laptop_gpu_is_left_asleep() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("sys");
        // An Intel iGPU drives the screen; the NVIDIA dGPU sleeps.
        let igpu = pci(&sys, "0000:00:02.0", "0x8086", "0xa7a0", "0x030000");
        write(&igpu, "power/runtime_status", "active\n");
        write(&igpu, "drm/card1/gt_act_freq_mhz", "350\n");
        let dgpu = pci(&sys, "0000:01:00.0", "0x10de", "0x28e0", "0x030200");
        write(&dgpu, "power/runtime_status", "suspended\n");
        write(&dgpu, "power_state", "D3cold\n");
        let (mut s, reads) = sampler(dir.path(), h100());
        let gpus = s.sample();
        assert_eq!(gpus.len(), 2);
        let nvidia = &gpus[1];
        assert_eq!(nvidia.vendor, Vendor::Nvidia);
        assert_eq!(nvidia.state, GpuState::Suspended);
        assert_eq!(nvidia.name, "GeForce RTX 4060 Max-Q / Mobile");
        assert_eq!(nvidia.reading, Reading::default(), "null readings");
        assert_eq!(
            reads.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "the driver was not asked"
        );
        assert!(!s.driver_held());
        let intel = &gpus[0];
        assert_eq!((intel.index, intel.state), (0, GpuState::Active));
        assert_eq!(intel.reading.clock_mhz, Some(350));
        assert_eq!(intel.reading.utilization_percent, None, "never invented");
        assert_eq!(intel.name, "8086:a7a0", "not in the ids file: the ids");

        // It wakes: now it is read.
        write(&dgpu, "power/runtime_status", "active\n");
        write(&dgpu, "power_state", "D0\n");
        let gpus = s.sample();
        assert_eq!(gpus[1].state, GpuState::Active);
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn an_awake_datacenter_card_and_the_idle_release() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("sys");
        let card = pci(&sys, "0000:18:00.0", "0x10de", "0x2330", "0x030200");
        write(&card, "power/runtime_status", "active\n");
        // Not GPUs: a QEMU display adapter and a network card.
        pci(&sys, "0000:00:01.0", "0x1234", "0x1111", "0x030000");
        pci(&sys, "0000:00:03.0", "0x10de", "0x1234", "0x020000");
        let (mut s, _) = sampler(dir.path(), h100());
        assert_eq!(s.present(), None, "not looked yet");
        assert!(s.discover());
        let gpus = s.sample();
        assert_eq!(gpus.len(), 1);
        let g = &gpus[0];
        assert_eq!(g.name, "NVIDIA H100 80GB HBM3", "the driver's name wins");
        assert_eq!(g.reading.temperature_celsius, Some(36.0));
        assert_eq!(g.reading.fan_percent, None, "N/A on a datacenter card");
        assert_eq!(g.reading.processes[0].pid, 4242);
        assert!(s.driver_held());
        assert!(
            !s.release_if_idle(Duration::from_secs(3600)),
            "recently used: kept"
        );
        assert!(s.release_if_idle(Duration::ZERO), "idle: released");
        assert!(!s.driver_held());
    }

    #[test]
    fn an_amd_dgpu_from_sysfs() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("sys");
        let card = pci(&sys, "0000:03:00.0", "0x1002", "0x73bf", "0x030000");
        write(&card, "power/runtime_status", "active\n");
        write(&card, "power_state", "D0\n");
        write(&card, "gpu_busy_percent", "37\n");
        write(&card, "mem_info_vram_used", "1073741824\n");
        write(&card, "mem_info_vram_total", "17163091968\n");
        write(&card, "hwmon/hwmon4/name", "amdgpu\n");
        write(&card, "hwmon/hwmon4/temp1_input", "54000\n");
        write(&card, "hwmon/hwmon4/power1_average", "45000000\n");
        write(&card, "hwmon/hwmon4/pwm1", "51\n");
        write(&card, "hwmon/hwmon4/pwm1_max", "255\n");
        write(&card, "hwmon/hwmon4/freq1_input", "2100000000\n");
        let (mut s, reads) = sampler(dir.path(), Reading::default());
        let g = &s.sample()[0];
        assert_eq!((g.vendor, g.state), (Vendor::Amd, GpuState::Active));
        assert_eq!(g.name, "Radeon RX 6800/6800 XT / 6900 XT");
        let r = &g.reading;
        assert_eq!(r.utilization_percent, Some(37.0));
        assert_eq!(
            (r.memory_used_bytes, r.memory_total_bytes),
            (Some(1 << 30), Some(17_163_091_968))
        );
        assert_eq!(r.temperature_celsius, Some(54.0));
        assert_eq!(r.power_watts, Some(45.0));
        assert_eq!(r.fan_percent, Some(20.0));
        assert_eq!(r.clock_mhz, Some(2100));
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn no_gpu_is_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = sampler(dir.path(), Reading::default());
        assert!(s.sample().is_empty());
        assert_eq!(s.present(), Some(false));
        // A device appearing later is not looked for again.
        let card = pci(
            &dir.path().join("sys"),
            "0000:03:00.0",
            "0x1002",
            "0x73bf",
            "0x030000",
        );
        write(&card, "gpu_busy_percent", "1\n");
        assert!(s.sample().is_empty());
    }

    /// A driver that fails every read, as NVML does when the driver and
    /// library versions disagree.
    struct Broken;

    impl nvidia::NvidiaReader for Broken {
        fn read(&mut self, pci_address: &str) -> Result<Reading, nvidia::NvidiaError> {
            Err(nvidia::NvidiaError::Device {
                address: pci_address.into(),
                detail: "Driver/library version mismatch".into(),
            })
        }
        fn release(&mut self) {}
        fn held(&self) -> bool {
            false
        }
    }

    #[test]
    fn readers_that_fail_leave_the_gpu_listed_unavailable_and_the_rest_read() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("sys");
        let nv = pci(&sys, "0000:01:00.0", "0x10de", "0x2330", "0x030200");
        write(&nv, "power/runtime_status", "active\n");
        // An AMD card whose sysfs files cannot be read (directories where
        // files should be) and whose numbers are garbage.
        let amd = pci(&sys, "0000:03:00.0", "0x1002", "0x73bf", "0x030000");
        write(&amd, "power/runtime_status", "active\n");
        std::fs::create_dir_all(amd.join("gpu_busy_percent")).unwrap();
        write(&amd, "mem_info_vram_used", "lots\n");
        write(&amd, "hwmon/hwmon4/temp1_input", "-\n");
        // Writes the pci.ids that names the cards.
        let _ = sampler(dir.path(), Reading::default());
        let errors = Arc::new(CollectorErrors::default());
        let mut s = GpuSampler::new(
            &Roots::under(dir.path()),
            vec![dir.path().join("pci.ids")],
            Box::new(Broken),
            errors.clone(),
        );
        let gpus = s.sample();
        assert_eq!(errors.count("gpu"), 1, "the unreadable GPU is counted");
        assert_eq!(gpus.len(), 2);
        assert_eq!(gpus[0].state, GpuState::Unavailable);
        assert_eq!(gpus[0].reading, Reading::default());
        assert_eq!(gpus[1].state, GpuState::Active);
        assert_eq!(gpus[1].reading.utilization_percent, None);
        assert_eq!(gpus[1].reading.memory_used_bytes, None);
        assert_eq!(gpus[1].reading.temperature_celsius, None);
    }
}
