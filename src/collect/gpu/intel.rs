//! Intel GPUs (i915, xe): what sysfs honestly offers. The graphics clock
//! from the DRM card's `gt_act_freq_mhz` (or `gt_cur_freq_mhz`), a hwmon
//! temperature and power where a discrete card has one; utilization and
//! memory stay null (the kernel exposes no such counter in sysfs).

use std::path::Path;

use super::amd::hwmon_dir;
use super::types::{Reading, first_entry, read_number};

/// Reads one Intel GPU whose PCI directory is `dir`.
pub fn read(dir: &Path) -> Reading {
    let card = first_entry(&dir.join("drm"), "card");
    let clock_mhz = card.as_ref().and_then(|c| {
        read_number(&c.join("gt_act_freq_mhz")).or_else(|| read_number(&c.join("gt_cur_freq_mhz")))
    });
    let hwmon = hwmon_dir(dir);
    Reading {
        clock_mhz,
        temperature_celsius: hwmon
            .as_ref()
            .and_then(|h| read_number::<i64>(&h.join("temp1_input")))
            .map(|m| m as f32 / 1000.0),
        power_watts: hwmon
            .as_ref()
            .and_then(|h| read_number::<u64>(&h.join("power1_average")))
            .map(|uw| uw as f32 / 1_000_000.0),
        ..Reading::default()
    }
}
