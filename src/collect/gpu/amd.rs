//! AMD GPUs from the amdgpu driver's sysfs files, in the PCI device's
//! directory: `gpu_busy_percent`, `mem_info_vram_used`/`_total`, and its
//! hwmon (`temp1_input` m°C, `power1_average` µW, `pwm1`/`pwm1_max`,
//! `freq1_input` Hz for the graphics clock). A file that is missing (an
//! older kernel, an APU without VRAM counters) leaves its reading null.

use std::path::{Path, PathBuf};

use super::types::{Reading, first_entry, read_number};

/// The first `hwmon*` directory under `dir/hwmon`.
pub fn hwmon_dir(dir: &Path) -> Option<PathBuf> {
    first_entry(&dir.join("hwmon"), "hwmon")
}

/// `pwm1` as a percentage of `pwm1_max` (255 when the driver gives none).
pub fn fan_percent(pwm: u32, pwm_max: Option<u32>) -> Option<f32> {
    let max = pwm_max.unwrap_or(255);
    (max > 0).then(|| (pwm.min(max) as f32 * 100.0 / max as f32).clamp(0.0, 100.0))
}

/// Reads one AMD GPU whose PCI directory is `dir`.
pub fn read(dir: &Path) -> Reading {
    let hwmon = hwmon_dir(dir);
    let in_hwmon = |f: &str| hwmon.as_ref().map(|h| h.join(f));
    let name = std::fs::read_to_string(dir.join("product_name"))
        .ok()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    Reading {
        name,
        utilization_percent: read_number::<f32>(&dir.join("gpu_busy_percent"))
            .map(|p| p.clamp(0.0, 100.0)),
        memory_used_bytes: read_number(&dir.join("mem_info_vram_used")),
        memory_total_bytes: read_number(&dir.join("mem_info_vram_total")),
        temperature_celsius: in_hwmon("temp1_input")
            .and_then(|p| read_number::<i64>(&p))
            .map(|m| m as f32 / 1000.0),
        power_watts: in_hwmon("power1_average")
            .and_then(|p| read_number::<u64>(&p))
            .or_else(|| in_hwmon("power1_input").and_then(|p| read_number::<u64>(&p)))
            .map(|uw| uw as f32 / 1_000_000.0),
        fan_percent: in_hwmon("pwm1")
            .and_then(|p| read_number::<u32>(&p))
            .and_then(|pwm| fan_percent(pwm, in_hwmon("pwm1_max").and_then(|p| read_number(&p)))),
        clock_mhz: in_hwmon("freq1_input")
            .and_then(|p| read_number::<u64>(&p))
            .and_then(|hz| u32::try_from(hz / 1_000_000).ok()),
        processes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fan_share() {
        assert_eq!(fan_percent(0, Some(255)), Some(0.0));
        assert_eq!(fan_percent(255, None), Some(100.0));
        assert_eq!(fan_percent(300, Some(255)), Some(100.0));
        assert_eq!(fan_percent(10, Some(0)), None);
    }
}
