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
pub mod clients;
pub mod discovery;
pub mod intel;
pub mod lifecycle;
pub mod nvidia;
pub mod sampler;
pub mod types;

pub use discovery::{
    default_pci_ids, discover, is_asleep, is_display_class, parse_hex_id, pci_ids_name,
};
pub use lifecycle::{GPU_IDLE_RELEASE, GpuSource};
pub use sampler::GpuSampler;
pub use types::{Gpu, GpuProcess, GpuShare, GpuState, PciGpu, Reading, Vendor, add_known};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::{CollectorErrors, Roots};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::time::Duration;

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
                utilization_percent: None,
                name: None,
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
