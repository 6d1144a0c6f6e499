//! `cpu`: seconds per CPU and mode, and guest seconds, from the metrics
//! sample's reading of `/proc/stat`; thermal throttle counts per core and
//! package and the isolated CPUs, from sysfs
//! (`/sys/devices/system/cpu`), as node_exporter's `cpu` collector serves
//! them.

use std::collections::BTreeMap;

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::cpu::MODES;
use crate::collect::cpufreq::parse_cpu_list;
use crate::collect::sysfs::{entries, value};
use crate::kinds::metrics;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "cpu",
    read: Read::Both(|scrape| read(scrape).boxed(), sysfs),
};

/// Throttle counts and isolated CPUs. A CPU without its topology is left
/// out, and a core's or package's count is read from its first CPU only
/// (node_exporter's rules: siblings share the counter).
fn sysfs(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let files = src.files;
    let dir = src.roots.sys.join("devices/system/cpu");
    let Some(listed) = entries(files, &dir) else {
        return Ok(None);
    };
    let mut packages: BTreeMap<u64, Option<u64>> = BTreeMap::new();
    let mut cores: BTreeMap<(u64, u64), Option<u64>> = BTreeMap::new();
    for (name, path) in &listed {
        if !name
            .strip_prefix("cpu")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        let number = |rel: &str| value(files, &path.join(rel)).and_then(|v| v.parse::<u64>().ok());
        let (Some(package), Some(core)) = (
            number("topology/physical_package_id"),
            number("topology/core_id"),
        ) else {
            continue;
        };
        // Most machines (every VM) have no throttle counters: the CPU's
        // listing (kept a minute) says so without a failed open a scrape.
        let throttles = entries(files, path)
            .is_some_and(|listed| listed.iter().any(|(n, _)| n == "thermal_throttle"));
        let count = |rel: &str| if throttles { number(rel) } else { None };
        cores
            .entry((package, core))
            .or_insert_with(|| count("thermal_throttle/core_throttle_count"));
        packages
            .entry(package)
            .or_insert_with(|| count("thermal_throttle/package_throttle_count"));
    }
    let mut f = Families::default();
    if cores.values().any(Option::is_some) {
        let family = f.counter_family(
            "node_cpu_core_throttles_total",
            "Number of times this CPU core has been throttled.",
        );
        for ((package, core), count) in &cores {
            if let Some(n) = count {
                let labels = [("core", core.to_string()), ("package", package.to_string())];
                family.push(labels, *n as f64);
            }
        }
    }
    if packages.values().any(Option::is_some) {
        let family = f.counter_family(
            "node_cpu_package_throttles_total",
            "Number of times this CPU package has been throttled.",
        );
        for (package, count) in &packages {
            if let Some(n) = count {
                family.push([("package", package.to_string())], *n as f64);
            }
        }
    }
    let isolated = value(files, &dir.join("isolated")).map(|l| parse_cpu_list(&l));
    if let Some(isolated) = isolated.filter(|l| !l.is_empty()) {
        let family = f.gauge_family(
            "node_cpu_isolated",
            "Whether each core is isolated, information from /sys/devices/system/cpu/isolated.",
        );
        for cpu in isolated {
            family.push([("cpu", cpu.to_string())], 1.0);
        }
    }
    Ok(Some(f))
}

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let sample = scrape.sample(crate::kinds::metrics::sample).await?;
    let state = scrape.state;
    let m = sample.value();
    let ticks = state.clock().ticks_per_sec.max(1) as f64;
    let mut f = Families::default();
    let guest = f.counter_family(
        "node_cpu_guest_seconds_total",
        "Seconds the CPUs spent in guests (VMs) for each mode.",
    );
    for (cpu, j) in &m.cpu.times.cores {
        for (mode, jiffies) in ["nice", "user"].iter().zip([j.guest[1], j.guest[0]]) {
            guest.push(
                [("cpu", cpu.to_string()), ("mode", (*mode).to_owned())],
                jiffies as f64 / ticks,
            );
        }
    }
    let seconds = f.counter_family(metrics::CPU_SECONDS, "Seconds the CPUs spent in each mode.");
    for (cpu, j) in &m.cpu.times.cores {
        for (mode, jiffies) in MODES.iter().zip(j.modes) {
            seconds.push(
                [("cpu", cpu.to_string()), ("mode", (*mode).to_owned())],
                jiffies as f64 / ticks,
            );
        }
    }
    Ok(Some(f))
}
