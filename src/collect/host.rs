//! Static host facts, collected once: OS, kernel, CPU model, core counts,
//! boot time, virtualization. A fact that cannot be known is `None`.

use super::disks::Disk;
use super::{CollectError, CollectorErrors, Roots, cpu, memory};

/// What `/proc/cpuinfo` says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuInfo {
    /// `model name` (x86) or `Hardware`/`Model` (ARM) of the first CPU.
    pub model_name: Option<String>,
    /// Logical CPUs (`processor` entries).
    pub logical: u32,
    /// Distinct (physical id, core id) pairs; `None` where not reported.
    pub physical: Option<u32>,
    /// The `hypervisor` CPU flag: running under a hypervisor.
    pub hypervisor: Option<bool>,
}

/// Parses `/proc/cpuinfo`.
pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    let mut info = CpuInfo::default();
    let mut cores = std::collections::BTreeSet::new();
    let mut physical_id = "";
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "processor" => info.logical += 1,
            "model name" | "Hardware" | "Model" if info.model_name.is_none() => {
                info.model_name = Some(value.to_owned());
            }
            "physical id" => physical_id = value,
            "core id" => {
                cores.insert((physical_id.to_owned(), value.to_owned()));
            }
            "flags" if info.hypervisor.is_none() => {
                info.hypervisor = Some(value.split_ascii_whitespace().any(|f| f == "hypervisor"));
            }
            _ => {}
        }
    }
    info.physical = (!cores.is_empty()).then_some(cores.len() as u32);
    info
}

/// Names the hypervisor or container from DMI vendor/product strings and
/// `/proc/1/cgroup`; `Some("none")` on bare metal, `None` when unknown.
pub fn detect_virtualization(
    cgroup_of_init: Option<&str>,
    dmi: &str,
    hypervisor_flag: Option<bool>,
) -> Option<String> {
    if let Some(cg) = cgroup_of_init {
        for (needle, name) in [
            ("kubepods", "kubernetes"),
            ("docker", "docker"),
            ("lxc", "lxc"),
        ] {
            if cg.contains(needle) {
                return Some(name.to_owned());
            }
        }
    }
    let dmi = dmi.to_ascii_lowercase();
    for (needle, name) in [
        ("kvm", "kvm"),
        ("qemu", "qemu"),
        ("vmware", "vmware"),
        ("virtualbox", "oracle"),
        ("xen", "xen"),
        ("amazon ec2", "amazon"),
        ("google compute engine", "google"),
        ("microsoft corporation virtual machine", "microsoft"),
        ("firecracker", "firecracker"),
    ] {
        if dmi.contains(needle) {
            return Some(name.to_owned());
        }
    }
    match hypervisor_flag {
        Some(true) => Some("vm".to_owned()),
        Some(false) => Some("none".to_owned()),
        None => None,
    }
}

/// The static facts of a host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostFacts {
    /// Host name.
    pub hostname: Option<String>,
    /// OS name and version, e.g. `Debian GNU/Linux 12 (bookworm)`.
    pub os: Option<String>,
    /// Kernel release, e.g. `6.1.0-18-amd64`.
    pub kernel_version: Option<String>,
    /// CPU architecture sonde was built for, e.g. `x86_64`.
    pub arch: String,
    /// CPU model name.
    pub cpu_name: Option<String>,
    /// Logical CPUs.
    pub cpu_cores: Option<u32>,
    /// Physical cores.
    pub cpu_physical_cores: Option<u32>,
    /// Memory, bytes.
    pub mem_total_bytes: Option<u64>,
    /// Swap, bytes.
    pub swap_total_bytes: Option<u64>,
    /// Sum of the reported filesystems' sizes, bytes.
    pub disk_total_bytes: Option<u64>,
    /// Boot time, Unix seconds.
    pub boot_time_secs: Option<u64>,
    /// Hypervisor or container name, `none` on bare metal.
    pub virtualization: Option<String>,
    /// IP addresses per interface.
    pub addresses: Vec<super::addresses::Address>,
}

fn read(path: std::path::PathBuf) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Collects the facts (a few small file reads and the address list; on
/// the blocking pool), with the disk total from `disks`, the disks sample.
/// Parse errors go to `errors`.
pub fn collect(roots: &Roots, disks: &[Disk], errors: &CollectorErrors) -> HostFacts {
    let cpuinfo = read(roots.proc.join("cpuinfo")).map(|t| parse_cpuinfo(&t));
    let stat = read(roots.proc.join("stat"))
        .and_then(|t| errors.ok("host", cpu::parse_stat(&t).map_err(Into::into)));
    let mem = read(roots.proc.join("meminfo"))
        .and_then(|t| errors.ok("host", memory::parse_meminfo(&t).map_err(Into::into)));
    let dmi: String = ["class/dmi/id/sys_vendor", "class/dmi/id/product_name"]
        .iter()
        .filter_map(|p| read(roots.sys.join(p)))
        .map(|s| s.trim().to_owned())
        .collect::<Vec<_>>()
        .join(" ");
    // This host's own storage: a NAS's size is the server's.
    let local: Vec<u64> = disks
        .iter()
        .filter(|d| !d.is_network())
        .map(|d| d.total_bytes)
        .collect();
    let trimmed = |p: &str| read(roots.proc.join(p)).map(|s| s.trim().to_owned());
    HostFacts {
        hostname: trimmed("sys/kernel/hostname"),
        os: super::os_release::read(roots).and_then(|t| super::os_release::pretty_name(&t)),
        kernel_version: trimmed("sys/kernel/osrelease"),
        arch: std::env::consts::ARCH.to_owned(),
        cpu_name: cpuinfo.as_ref().and_then(|c| c.model_name.clone()),
        cpu_cores: stat
            .as_ref()
            .map(|s| s.cores.len() as u32)
            .or(cpuinfo.as_ref().map(|c| c.logical)),
        cpu_physical_cores: cpuinfo.as_ref().and_then(|c| c.physical),
        mem_total_bytes: mem.map(|m| m.total_bytes),
        swap_total_bytes: mem.map(|m| m.swap_total_bytes),
        disk_total_bytes: (!local.is_empty()).then(|| local.iter().sum()),
        boot_time_secs: stat.and_then(|s| s.boot_time_secs),
        virtualization: detect_virtualization(
            read(roots.proc.join("1/cgroup")).as_deref(),
            &dmi,
            cpuinfo.and_then(|c| c.hypervisor),
        ),
        addresses: errors
            .ok(
                "host",
                super::addresses::read()
                    .map_err(|e| CollectError::read(std::path::Path::new("getifaddrs"), e)),
            )
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_x86() {
        let text = "processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu vme de pse hypervisor lahf_lm

processor\t: 1
model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu vme de pse hypervisor lahf_lm
";
        let c = parse_cpuinfo(text);
        assert_eq!(c.logical, 2);
        assert_eq!(c.physical, Some(1));
        assert_eq!(
            c.model_name.as_deref(),
            Some("Intel(R) Xeon(R) CPU @ 2.20GHz")
        );
        assert_eq!(c.hypervisor, Some(true));
    }

    #[test]
    fn cpuinfo_arm_without_flags_or_core_ids() {
        let c = parse_cpuinfo(
            "processor : 0\nBogoMIPS : 108.00\n\nprocessor : 1\nModel : Raspberry Pi 4\n",
        );
        assert_eq!(c.logical, 2);
        assert_eq!(c.physical, None);
        assert_eq!(c.hypervisor, None);
        assert_eq!(c.model_name.as_deref(), Some("Raspberry Pi 4"));
    }

    #[test]
    fn virtualization() {
        assert_eq!(
            detect_virtualization(Some("0::/docker/abc"), "", Some(true)).as_deref(),
            Some("docker")
        );
        assert_eq!(
            detect_virtualization(
                Some("0::/"),
                "QEMU Standard PC (Q35 + ICH9, 2009)",
                Some(true)
            )
            .as_deref(),
            Some("qemu")
        );
        assert_eq!(
            detect_virtualization(None, "", Some(false)).as_deref(),
            Some("none")
        );
        assert_eq!(detect_virtualization(None, "", None), None);
    }
}
