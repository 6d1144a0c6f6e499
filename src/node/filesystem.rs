//! `filesystem`: size, free space and inodes of every mount node_exporter
//! serves (tmpfs included; `--filesystem-*-exclude` leave some out), from
//! the disks sample: the same mount table and statvfs calls, each hung
//! mount measured with the mount timeout.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::collect::disks::{Exported, FsStats};
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "filesystem",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let sample = scrape.sample(crate::kinds::disks::sample).await?;
    Ok(Some(families(&sample.value().exported)))
}

/// node_exporter's series: `device_error` and `readonly` for every mount,
/// the sizes for those that answered.
pub fn families(mounts: &[Exported]) -> Families {
    let labels = |m: &Exported| {
        [
            ("device", m.source.clone()),
            (
                "device_error",
                m.stats.as_ref().err().cloned().unwrap_or_default(),
            ),
            ("fstype", m.fs_type.clone()),
            ("mountpoint", m.mount_point.clone()),
        ]
    };
    let mut f = Families::default();
    let e = f.gauge_family(
        "node_filesystem_device_error",
        "Whether an error occurred while getting statistics for the given device.",
    );
    for m in mounts {
        e.push(labels(m), if m.stats.is_err() { 1.0 } else { 0.0 });
    }
    let ro = f.gauge_family("node_filesystem_readonly", "Filesystem read-only status.");
    for m in mounts {
        ro.push(labels(m), if m.read_only { 1.0 } else { 0.0 });
    }
    type Field = fn(&FsStats) -> u64;
    let sizes: [(&str, &str, Field); 5] = [
        (
            "node_filesystem_size_bytes",
            "Filesystem size in bytes.",
            |s| s.size,
        ),
        (
            "node_filesystem_free_bytes",
            "Filesystem free space in bytes.",
            |s| s.free,
        ),
        (
            "node_filesystem_avail_bytes",
            "Filesystem space available to non-root users in bytes.",
            |s| s.avail,
        ),
        (
            "node_filesystem_files",
            "Filesystem total file nodes.",
            |s| s.files,
        ),
        (
            "node_filesystem_files_free",
            "Filesystem total free file nodes.",
            |s| s.files_free,
        ),
    ];
    for (name, help, get) in sizes {
        let family = f.gauge_family(name, help);
        for m in mounts {
            if let Ok(s) = &m.stats {
                family.push(labels(m), get(s) as f64);
            }
        }
    }
    let info = f.gauge_family(
        "node_filesystem_mount_info",
        "Filesystem mount information.",
    );
    for m in mounts.iter().filter(|m| m.stats.is_ok()) {
        let (major, minor) = m.device.split_once(':').unwrap_or((&m.device, ""));
        info.push(
            [
                ("device", m.source.clone()),
                ("major", major.to_owned()),
                ("minor", minor.to_owned()),
                ("mountpoint", m.mount_point.clone()),
            ],
            1.0,
        );
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hung_mount_has_device_error_and_no_sizes() {
        let ok = Exported {
            source: "/dev/vda".into(),
            mount_point: "/".into(),
            fs_type: "ext4".into(),
            device: "254:0".into(),
            read_only: false,
            stats: Ok(FsStats {
                size: 100,
                free: 40,
                avail: 30,
                files: 10,
                files_free: 5,
            }),
        };
        let hung = Exported {
            source: "nas:/export".into(),
            mount_point: "/mnt/nas".into(),
            fs_type: "nfs4".into(),
            device: "0:50".into(),
            read_only: true,
            stats: Err("mountpoint timeout".into()),
        };
        let text = families(&[ok, hung]).encode();
        assert!(text.contains(r#"node_filesystem_device_error{device="nas:/export",device_error="mountpoint timeout",fstype="nfs4",mountpoint="/mnt/nas"} 1"#), "{text}");
        assert!(text.contains(r#"node_filesystem_readonly{device="nas:/export",device_error="mountpoint timeout",fstype="nfs4",mountpoint="/mnt/nas"} 1"#), "{text}");
        assert!(text.contains(r#"node_filesystem_avail_bytes{device="/dev/vda",device_error="",fstype="ext4",mountpoint="/"} 30"#), "{text}");
        assert!(
            !text.contains(r#"node_filesystem_size_bytes{device="nas:/export""#),
            "{text}"
        );
        assert!(text.contains(r#"node_filesystem_mount_info{device="/dev/vda",major="254",minor="0",mountpoint="/"} 1"#), "{text}");
    }
}
