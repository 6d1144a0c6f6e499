//! `btrfs`: each btrfs filesystem's allocation, commits and devices
//! (`/sys/fs/btrfs/<uuid>`). Per-device error counters need an ioctl on a
//! mount point in node_exporter; sonde serves what sysfs holds.

use std::path::Path;

use crate::exposition::MetricType;

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::sysfs::{Kept, entries, is_dir, number, value};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "btrfs",
    read: Read::Files(read),
};

/// A layout's allocation ratio: how many bytes are written per byte
/// stored, for `devices` devices.
fn ratio(layout: &str, devices: f64) -> f64 {
    match layout {
        "single" | "raid0" => 1.0,
        "dup" | "raid1" | "raid10" => 2.0,
        "raid1c3" => 3.0,
        "raid1c4" => 4.0,
        "raid5" => devices / (devices - 1.0),
        "raid6" => devices / (devices - 2.0),
        _ => 0.0,
    }
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let files = src.files;
    let Some(filesystems) = entries(files, &src.roots.sys.join("fs/btrfs")) else {
        return Ok(Some(Families::default()));
    };
    let mut f = Families::default();
    for (name, dir) in filesystems.iter().filter(|(n, _)| n.contains('-')) {
        filesystem(files, &mut f, name, dir);
    }
    Ok(Some(f))
}

fn filesystem(files: &Kept, f: &mut Families, dir_name: &str, dir: &Path) {
    let uuid = value(files, &dir.join("metadata_uuid"))
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| dir_name.to_owned());
    let uuid = uuid.as_str();
    let num = |p: &str| number(files, &dir.join(p)).unwrap_or(0.0);
    let gauge = MetricType::Gauge;
    let label = value(files, &dir.join("label")).unwrap_or_default();
    f.named("node_btrfs_info", "Filesystem information", gauge)
        .push([("uuid", uuid), ("label", &label)], 1.0);
    f.named(
        "node_btrfs_global_rsv_size_bytes",
        "Size of global reserve.",
        gauge,
    )
    .push([("uuid", uuid)], num("allocation/global_rsv_size"));
    commits(files, f, dir, uuid);
    let devices = entries(files, &dir.join("devices")).unwrap_or_default();
    let count = devices.len() as f64;
    allocation(files, f, dir, uuid, count);
    for (device, path) in &devices {
        let sectors = number(files, &path.join("size")).unwrap_or(0.0);
        f.named(
            "node_btrfs_device_size_bytes",
            "Size of a device that is part of the filesystem.",
            gauge,
        )
        .push(
            [("uuid", uuid), ("device", device.as_str())],
            sectors * 512.0,
        );
    }
}

/// The commit statistics of the filesystem in `dir`.
fn commits(files: &Kept, f: &mut Families, dir: &Path, uuid: &str) {
    let gauge = MetricType::Gauge;
    let commits = commit_stats(&value(files, &dir.join("commit_stats")).unwrap_or_default());
    let commit = |k: &str| {
        commits
            .iter()
            .find(|(n, _)| n == k)
            .map_or(0.0, |(_, v)| *v)
    };
    f.named(
        "node_btrfs_commits_total",
        "The total number of commits that have occurred.",
        MetricType::Counter,
    )
    .push([("uuid", uuid)], commit("commits"));
    f.named(
        "node_btrfs_last_commit_seconds",
        "Duration of the most recent commit, in seconds.",
        gauge,
    )
    .push([("uuid", uuid)], commit("last_commit_ms") / 1000.0);
    f.named(
        "node_btrfs_max_commit_seconds",
        "Duration of the slowest commit, in seconds.",
        gauge,
    )
    .push([("uuid", uuid)], commit("max_commit_ms") / 1000.0);
    f.named(
        "node_btrfs_commit_seconds_total",
        "Sum of the duration of all commits, in seconds.",
        MetricType::Counter,
    )
    .push([("uuid", uuid)], commit("total_commit_ms") / 1000.0);
}

/// Space reserved, used and allocated per block group type and layout.
fn allocation(files: &Kept, f: &mut Families, dir: &Path, uuid: &str, count: f64) {
    let gauge = MetricType::Gauge;
    for kind in ["data", "metadata", "system"] {
        let alloc = dir.join("allocation").join(kind);
        f.named(
            "node_btrfs_reserved_bytes",
            "Amount of space reserved for a data type",
            gauge,
        )
        .push(
            [("uuid", uuid), ("block_group_type", kind)],
            number(files, &alloc.join("bytes_reserved")).unwrap_or(0.0),
        );
        for (layout, path) in entries(files, &alloc)
            .unwrap_or_default()
            .iter()
            .filter(|(_, p)| is_dir(files, p))
        {
            let labels = [
                ("uuid", uuid),
                ("block_group_type", kind),
                ("mode", layout.as_str()),
            ];
            f.named(
                "node_btrfs_used_bytes",
                "Amount of used space by a layout/data type",
                gauge,
            )
            .push(
                labels,
                number(files, &path.join("used_bytes")).unwrap_or(0.0),
            );
            f.named(
                "node_btrfs_size_bytes",
                "Amount of space allocated for a layout/data type",
                gauge,
            )
            .push(
                labels,
                number(files, &path.join("total_bytes")).unwrap_or(0.0),
            );
            f.named(
                "node_btrfs_allocation_ratio",
                "Data allocation ratio for a layout/data type",
                gauge,
            )
            .push(labels, ratio(layout, count));
        }
    }
}

/// `commit_stats`: `name value` lines.
pub fn commit_stats(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(char::is_whitespace)?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_commit_stats_and_ratios() {
        let s = super::commit_stats(
            "commits 258051\nlast_commit_ms 1000\nmax_commit_ms 51462\ntotal_commit_ms 47836090\n",
        );
        assert_eq!(s[0], ("commits".into(), 258051.0));
        assert_eq!(s.len(), 4);
        assert_eq!(super::ratio("raid5", 3.0), 1.5);
        assert_eq!(super::ratio("dup", 1.0), 2.0);
    }
}
