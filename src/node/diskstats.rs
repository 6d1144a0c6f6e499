//! `diskstats`: I/O per block device (`/proc/diskstats`), with its udev
//! identity (`/run/udev/data`) in `node_disk_info`.

use std::collections::HashMap;

use super::util::{attribute, read};
use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::diskstats::{DiskStat, parse_diskstats};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "diskstats",
    read: Read::Files(collect),
};

/// The counters in `/proc/diskstats` order: series, help, unit factor
/// (sectors of 512 bytes, milliseconds), counter or gauge.
const SERIES: [(&str, &str, f64, bool); 17] = [
    ("node_disk_reads_completed_total", "The total number of reads completed successfully.", 1.0, true),
    ("node_disk_reads_merged_total", "The total number of reads merged.", 1.0, true),
    ("node_disk_read_bytes_total", "The total number of bytes read successfully.", 512.0, true),
    ("node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.", 0.001, true),
    ("node_disk_writes_completed_total", "The total number of writes completed successfully.", 1.0, true),
    ("node_disk_writes_merged_total", "The number of writes merged.", 1.0, true),
    ("node_disk_written_bytes_total", "The total number of bytes written successfully.", 512.0, true),
    ("node_disk_write_time_seconds_total", "This is the total number of seconds spent by all writes.", 0.001, true),
    ("node_disk_io_now", "The number of I/Os currently in progress.", 1.0, false),
    ("node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", 0.001, true),
    ("node_disk_io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.", 0.001, true),
    ("node_disk_discards_completed_total", "The total number of discards completed successfully.", 1.0, true),
    ("node_disk_discards_merged_total", "The total number of discards merged.", 1.0, true),
    ("node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.", 1.0, true),
    ("node_disk_discard_time_seconds_total", "This is the total number of seconds spent by all discards.", 0.001, true),
    ("node_disk_flush_requests_total", "The total number of flush requests completed successfully", 1.0, true),
    ("node_disk_flush_requests_time_seconds_total", "This is the total number of seconds spent by all flush requests.", 0.001, true),
];

fn collect(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let text = read(&src.roots.proc.join("diskstats"))?;
    let disks: Vec<DiskStat> = parse_diskstats(&text)?
        .into_iter()
        .filter(|d| !src.options.diskstats_device_exclude.is_match(&d.name))
        .collect();
    let udev_dir = src.roots.rootfs.join("run/udev/data");
    let mut f = Families::default();
    let info = f.gauge_family("node_disk_info", "Info of /sys/block/<block_device>.");
    let mut fs_info = Vec::new();
    let mut dm_info = Vec::new();
    for d in &disks {
        let udev = attribute(&udev_dir.join(format!("b{}:{}", d.major, d.minor)))
            .map(|t| parse_udev(&t))
            .unwrap_or_default();
        let get = |k: &str| udev.get(k).cloned().unwrap_or_default();
        let serial = ["SCSI_IDENT_SERIAL", "ID_SERIAL_SHORT", "ID_SERIAL"]
            .iter()
            .map(|k| get(k))
            .find(|s| !s.is_empty())
            .unwrap_or_default();
        let rotational = attribute(&src.roots.sys.join("block").join(&d.name).join("queue/rotational"))
            .filter(|r| r.trim() == "1")
            .map_or("0", |_| "1");
        info.push(
            [
                ("device", d.name.clone()),
                ("major", d.major.to_string()),
                ("minor", d.minor.to_string()),
                ("path", get("ID_PATH")),
                ("wwn", get("ID_WWN")),
                ("model", get("ID_MODEL")),
                ("serial", serial),
                ("revision", get("ID_REVISION")),
                ("rotational", rotational.to_owned()),
            ],
            1.0,
        );
        if !get("ID_FS_TYPE").is_empty() {
            fs_info.push([
                ("device", d.name.clone()),
                ("type", get("ID_FS_TYPE")),
                ("usage", get("ID_FS_USAGE")),
                ("uuid", get("ID_FS_UUID")),
                ("version", get("ID_FS_VERSION")),
            ]);
        }
        if !get("DM_NAME").is_empty() {
            dm_info.push([
                ("device", d.name.clone()),
                ("name", get("DM_NAME")),
                ("uuid", get("DM_UUID")),
                ("vg_name", get("DM_VG_NAME")),
                ("lv_name", get("DM_LV_NAME")),
                ("lv_layer", get("DM_LV_LAYER")),
            ]);
        }
    }
    for (i, (name, help, factor, counter)) in SERIES.iter().enumerate() {
        let family = if *counter { f.counter_family(*name, *help) } else { f.gauge_family(*name, *help) };
        for d in disks.iter().filter(|d| i < d.counters.len()) {
            family.push([("device", d.name.as_str())], d.get(i) as f64 * factor);
        }
    }
    let fs = f.gauge_family("node_disk_filesystem_info", "Info about disk filesystem.");
    for labels in fs_info {
        fs.push(labels, 1.0);
    }
    let dm = f.gauge_family("node_disk_device_mapper_info", "Info about disk device mapper.");
    for labels in dm_info {
        dm.push(labels, 1.0);
    }
    Ok(Some(f))
}

/// udev's database entry: its `E:KEY=value` properties.
pub fn parse_udev(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("E:")?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_udev_properties() {
        let p = super::parse_udev("S:disk/by-id/x\nE:ID_MODEL=Samsung_SSD\nE:ID_FS_TYPE=ext4\nG:systemd\n");
        assert_eq!(p["ID_MODEL"], "Samsung_SSD");
        assert_eq!(p["ID_FS_TYPE"], "ext4");
        assert_eq!(p.len(), 2);
    }
}
