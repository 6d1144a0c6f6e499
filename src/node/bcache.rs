//! `bcache`: bcache cache sets (`/sys/fs/bcache/<uuid>`), their backing
//! devices (`bdevN`) and cache devices (`cacheN`), as node_exporter serves
//! them (`priority_stats` only with `--bcache-priority-stats on`: the
//! kernel walks the whole cache to write it). bcache writes many sizes for
//! people (`20.4G`, `1.1M/sec`): they are read back with the kernel's own
//! rounding ([`dehumanize`]).

use std::path::PathBuf;

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::sysfs::{Kept, entries, value};
use crate::exposition::MetricType;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "bcache",
    read: Read::Files(read),
};

/// bcache's human-readable sizes back to bytes, as node_exporter's procfs
/// reads them: `20.4G` is 20 GiB plus 0.4 × 1000 MiB (the kernel prints the
/// fraction of the next smaller unit in thousands), `427.5k` is 427 KiB
/// plus 500 bytes; a trailing `/sec` is dropped.
pub fn dehumanize(text: &str) -> Option<f64> {
    let t = text.trim().trim_end_matches("/sec");
    let units = ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
    let (number, power) = match t.chars().last() {
        Some(c) if units.contains(&c) => (
            &t[..t.len() - 1],
            units.iter().position(|u| *u == c)? as i32 + 1,
        ),
        _ => (t, 0),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let whole: f64 = whole.parse().ok()?;
    let mut out = whole * 1024f64.powi(power);
    if power > 0 && !fraction.is_empty() {
        let f: f64 = fraction.parse().ok()?;
        let f = f / 10f64.powi(fraction.len() as i32);
        out += (f * 1000.0).round() * 1024f64.powi(power - 1);
    }
    Some(out)
}

/// `priority_stats`' `Unused:` and `Metadata:` percentages.
pub fn parse_priority_stats(text: &str) -> (Option<f64>, Option<f64>) {
    let field = |key: &str| {
        text.lines().find_map(|l| {
            let v = l.strip_prefix(key)?.trim().trim_end_matches('%');
            v.parse().ok()
        })
    };
    (field("Unused:"), field("Metadata:"))
}

/// `writeback_rate_debug`'s `key:` value, dehumanized.
fn debug_field(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| dehumanize(l.strip_prefix(key)?.strip_prefix(':')?))
}

/// A cache set's own values: file, series, help, type, scale.
const SET: &[(&str, &str, &str, MetricType, f64)] = &[
    (
        "average_key_size",
        "average_key_size_sectors",
        "Average data per key in the btree (sectors).",
        MetricType::Gauge,
        1.0,
    ),
    (
        "btree_cache_size",
        "btree_cache_size_bytes",
        "Amount of memory currently used by the btree cache.",
        MetricType::Gauge,
        1.0,
    ),
    (
        "cache_available_percent",
        "cache_available_percent",
        "Percentage of cache device without dirty data, usable for writeback (may contain clean cached data).",
        MetricType::Gauge,
        1.0,
    ),
    (
        "congested",
        "congested",
        "Congestion.",
        MetricType::Gauge,
        1.0,
    ),
    (
        "root_usage_percent",
        "root_usage_percent",
        "Percentage of the root btree node in use (tree depth increases if too high).",
        MetricType::Gauge,
        1.0,
    ),
    (
        "tree_depth",
        "tree_depth",
        "Depth of the btree.",
        MetricType::Gauge,
        1.0,
    ),
    (
        "internal/active_journal_entries",
        "active_journal_entries",
        "Number of journal entries that are newer than the index.",
        MetricType::Gauge,
        1.0,
    ),
    (
        "internal/btree_nodes",
        "btree_nodes",
        "Total nodes in the btree.",
        MetricType::Gauge,
        1.0,
    ),
    // node_exporter's procfs takes this file as nanoseconds.
    (
        "internal/btree_read_average_duration_us",
        "btree_read_average_duration_seconds",
        "Average btree read duration.",
        MetricType::Gauge,
        1e-9,
    ),
    (
        "internal/cache_read_races",
        "cache_read_races_total",
        "Counts instances where while data was being read from the cache, the bucket was reused and invalidated - i.e. where the pointer was stale after the read completed.",
        MetricType::Counter,
        1.0,
    ),
];

/// A backing device's period counters (`stats_total/`): file, series,
/// help.
const PERIOD: &[(&str, &str, &str)] = &[
    (
        "bypassed",
        "bypassed_bytes_total",
        "Amount of IO (both reads and writes) that has bypassed the cache.",
    ),
    (
        "cache_hits",
        "cache_hits_total",
        "Hits counted per individual IO as bcache sees them.",
    ),
    (
        "cache_misses",
        "cache_misses_total",
        "Misses counted per individual IO as bcache sees them.",
    ),
    (
        "cache_bypass_hits",
        "cache_bypass_hits_total",
        "Hits for IO intended to skip the cache.",
    ),
    (
        "cache_bypass_misses",
        "cache_bypass_misses_total",
        "Misses for IO intended to skip the cache.",
    ),
    (
        "cache_miss_collisions",
        "cache_miss_collisions_total",
        "Instances where data insertion from cache miss raced with write (data already present).",
    ),
    (
        "cache_readaheads",
        "cache_readaheads_total",
        "Count of times readahead occurred.",
    ),
];

/// A backing device's `writeback_rate_debug` fields: key, series, help.
const WRITEBACK: &[(&str, &str, &str)] = &[
    (
        "target",
        "dirty_target_bytes",
        "Current dirty data target threshold for this backing device in bytes.",
    ),
    (
        "rate",
        "writeback_rate",
        "Current writeback rate for this backing device in bytes.",
    ),
    (
        "proportional",
        "writeback_rate_proportional_term",
        "Current result of proportional controller, part of writeback rate",
    ),
    (
        "integral",
        "writeback_rate_integral_term",
        "Current result of integral controller, part of writeback rate",
    ),
    (
        "change",
        "writeback_change",
        "Last writeback rate change step for this backing device.",
    ),
];

/// A cache device's values: file, series, help, type.
const CACHE: &[(&str, &str, &str, MetricType)] = &[
    (
        "io_errors",
        "io_errors",
        "Number of errors that have occurred, decayed by io_error_halflife.",
        MetricType::Gauge,
    ),
    (
        "metadata_written",
        "metadata_written_bytes_total",
        "Sum of all non data writes (btree writes and all other metadata).",
        MetricType::Counter,
    ),
    (
        "written",
        "written_bytes_total",
        "Sum of all data that has been written to the cache.",
        MetricType::Counter,
    ),
];

/// A member of a cache set: its set's UUID, its name (`bdev0`), its
/// directory.
type Member<'a> = (&'a str, String, PathBuf);

fn series(name: &str) -> String {
    format!("node_bcache_{name}")
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let files = src.files;
    // Without bcache there is nothing to serve, and node_exporter (which
    // globs for cache sets) still says it succeeded: so does this.
    let sets = entries(files, &src.roots.sys.join("fs/bcache")).unwrap_or_default();
    // Cache sets are directories named by their UUID (the class also holds
    // `register` and `register_quiet`).
    let sets: Vec<_> = sets
        .into_iter()
        .filter(|(name, _)| name.len() == 36 && name.matches('-').count() == 4)
        .collect();
    let mut f = Families::default();
    if sets.is_empty() {
        // No series to write: not the family names formatted for nothing.
        return Ok(Some(f));
    }
    for (file, name, help, kind, scale) in SET {
        let family = f.family(series(name), *help, *kind);
        for (uuid, dir) in &sets {
            if let Some(v) = value(files, &dir.join(file)).and_then(|t| dehumanize(&t)) {
                family.push([("uuid", uuid.as_str())], v * scale);
            }
        }
    }
    let members = |prefix: &str| -> Vec<Member<'_>> {
        sets.iter()
            .flat_map(|(uuid, dir)| {
                entries(files, dir)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(n, _)| {
                        n.strip_prefix(prefix)
                            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                    })
                    .map(move |(n, p)| (uuid.as_str(), n, p))
            })
            .collect()
    };
    backing_devices(&mut f, files, &members("bdev"));
    cache_devices(
        &mut f,
        files,
        &members("cache"),
        src.options.bcache_priority_stats,
    );
    Ok(Some(f))
}

/// The backing devices' dirty data, writeback controller and totals.
fn backing_devices(f: &mut Families, files: &Kept, bdevs: &[Member<'_>]) {
    let dirty = f.gauge_family(
        series("dirty_data_bytes"),
        "Amount of dirty data for this backing device in the cache.",
    );
    for (uuid, dev, dir) in bdevs {
        if let Some(v) = value(files, &dir.join("dirty_data")).and_then(|t| dehumanize(&t)) {
            dirty.push([("uuid", *uuid), ("backing_device", dev.as_str())], v);
        }
    }
    for (key, name, help) in WRITEBACK {
        let family = f.gauge_family(series(name), *help);
        for (uuid, dev, dir) in bdevs {
            let text = value(files, &dir.join("writeback_rate_debug")).unwrap_or_default();
            if let Some(v) = debug_field(&text, key) {
                family.push([("uuid", *uuid), ("backing_device", dev.as_str())], v);
            }
        }
    }
    for (file, name, help) in PERIOD {
        let family = f.counter_family(series(name), *help);
        for (uuid, dev, dir) in bdevs {
            let v = value(files, &dir.join("stats_total").join(file)).and_then(|t| dehumanize(&t));
            // node_exporter serves readaheads only where there were some.
            if let Some(v) = v.filter(|v| *file != "cache_readaheads" || *v != 0.0) {
                family.push([("uuid", *uuid), ("backing_device", dev.as_str())], v);
            }
        }
    }
}

/// The cache devices' errors and writes, and their priority statistics
/// when asked for.
fn cache_devices(f: &mut Families, files: &Kept, caches: &[Member<'_>], priority: bool) {
    for (file, name, help, kind) in CACHE {
        let family = f.family(series(name), *help, *kind);
        for (uuid, dev, dir) in caches {
            if let Some(v) = value(files, &dir.join(file)).and_then(|t| dehumanize(&t)) {
                family.push([("uuid", *uuid), ("cache_device", dev.as_str())], v);
            }
        }
    }
    if !priority {
        return;
    }
    let stats: Vec<_> = caches
        .iter()
        .map(|(uuid, dev, dir)| {
            let text = value(files, &dir.join("priority_stats")).unwrap_or_default();
            (*uuid, dev.as_str(), parse_priority_stats(&text))
        })
        .collect();
    let unused = f.gauge_family(
        series("priority_stats_unused_percent"),
        "The percentage of the cache that doesn't contain any data.",
    );
    for (uuid, dev, (u, _)) in &stats {
        if let Some(v) = u {
            unused.push([("uuid", *uuid), ("cache_device", *dev)], *v);
        }
    }
    let metadata = f.gauge_family(
        series("priority_stats_metadata_percent"),
        "Bcache's metadata overhead.",
    );
    for (uuid, dev, (_, m)) in &stats {
        if let Some(v) = m {
            metadata.push([("uuid", *uuid), ("cache_device", *dev)], *v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_back_as_the_kernel_rounds_them() {
        assert_eq!(dehumanize("0"), Some(0.0));
        assert_eq!(dehumanize("512"), Some(512.0));
        assert_eq!(dehumanize("1.1M/sec"), Some(1_150_976.0));
        assert_eq!(dehumanize("427.5k"), Some(437_748.0));
        assert_eq!(dehumanize("790.0k"), Some(808_960.0));
        assert_eq!(dehumanize("20.4G"), Some(21_894_266_880.0));
        assert_eq!(dehumanize("17ms"), None);
    }

    #[test]
    fn priority_stats() {
        let text = "Unused:\t\t99%\nMetadata:\t0%\nAverage:\t10473\n";
        assert_eq!(parse_priority_stats(text), (Some(99.0), Some(0.0)));
    }
}
