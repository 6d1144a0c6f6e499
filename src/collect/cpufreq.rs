//! CPU frequency scaling per logical CPU
//! (`/sys/devices/system/cpu/cpuN/cpufreq`). One reading serves
//! node_exporter's cpufreq collector and the `cpu_frequency` kind.

use std::path::Path;

use super::Roots;
use super::sysfs::{Kept, entries, is_dir, value};

/// One CPU's frequencies (kHz, as the kernel writes them) and governor.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CpuFreq {
    /// Its number (`0`).
    pub cpu: String,
    /// `cpuinfo_cur_freq`: the hardware's reading (root only).
    pub cpuinfo_cur_khz: Option<f64>,
    /// `cpuinfo_avg_freq` (recent kernels).
    pub cpuinfo_avg_khz: Option<f64>,
    /// `cpuinfo_min_freq`.
    pub cpuinfo_min_khz: Option<f64>,
    /// `cpuinfo_max_freq`.
    pub cpuinfo_max_khz: Option<f64>,
    /// `scaling_cur_freq`: the governor's view, readable by anyone.
    pub scaling_cur_khz: Option<f64>,
    /// `scaling_min_freq`.
    pub scaling_min_khz: Option<f64>,
    /// `scaling_max_freq`.
    pub scaling_max_khz: Option<f64>,
    /// `scaling_governor` (empty where there is none).
    pub governor: String,
    /// `scaling_available_governors`, as written (space-separated).
    pub available_governors: String,
    /// `scaling_driver`.
    pub driver: String,
}

impl CpuFreq {
    /// The best current frequency there is: the governor's, else the
    /// hardware's.
    pub fn current_khz(&self) -> Option<f64> {
        self.scaling_cur_khz.or(self.cpuinfo_cur_khz)
    }
}

/// CPUs in a kernel range list (`0-3,8`).
pub fn parse_cpu_list(text: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.parse::<u32>().ok()),
        }
    }
    out
}

/// Every online CPU with a `cpufreq` directory, by number (none in most
/// VMs); `None` without `devices/system/cpu`.
pub fn read(roots: &Roots, files: &Kept) -> Option<Vec<CpuFreq>> {
    let dir = roots.sys.join("devices/system/cpu");
    let offline = parse_cpu_list(&value(files, &dir.join("offline")).unwrap_or_default());
    let mut cpus: Vec<(u32, CpuFreq)> = entries(files, &dir)?
        .into_iter()
        .filter_map(|(name, path)| {
            let n: u32 = name.strip_prefix("cpu")?.parse().ok()?;
            if offline.contains(&n) {
                return None;
            }
            let freq = path.join("cpufreq");
            is_dir(files, &freq).then(|| (n, read_cpu(files, n, &freq)))
        })
        .collect();
    cpus.sort_by_key(|(n, _)| *n);
    Some(cpus.into_iter().map(|(_, c)| c).collect())
}

fn read_cpu(files: &Kept, n: u32, dir: &Path) -> CpuFreq {
    let num = |f: &str| value(files, &dir.join(f)).and_then(|v| v.parse().ok());
    let text = |f: &str| value(files, &dir.join(f)).unwrap_or_default();
    CpuFreq {
        cpu: n.to_string(),
        cpuinfo_cur_khz: num("cpuinfo_cur_freq"),
        cpuinfo_avg_khz: num("cpuinfo_avg_freq"),
        cpuinfo_min_khz: num("cpuinfo_min_freq"),
        cpuinfo_max_khz: num("cpuinfo_max_freq"),
        scaling_cur_khz: num("scaling_cur_freq"),
        scaling_min_khz: num("scaling_min_freq"),
        scaling_max_khz: num("scaling_max_freq"),
        governor: text("scaling_governor"),
        available_governors: text("scaling_available_governors"),
        driver: text("scaling_driver"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_kernel_cpu_lists() {
        assert_eq!(super::parse_cpu_list("0-3,8\n"), [0, 1, 2, 3, 8]);
        assert_eq!(super::parse_cpu_list("\n"), Vec::<u32>::new());
        assert_eq!(super::parse_cpu_list("5"), [5]);
    }
}
