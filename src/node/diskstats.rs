//! `diskstats`: I/O per block device, with its udev identity in
//! `node_disk_info`, from the `disk_io` kind's reading.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::collect::diskstats::BlockDevice;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "diskstats",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

/// The counters in `/proc/diskstats` order: series, help, unit factor
/// (sectors of 512 bytes, milliseconds), counter or gauge.
const SERIES: [(&str, &str, f64, bool); 17] = [
    (
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        1.0,
        true,
    ),
    (
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        1.0,
        true,
    ),
    (
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        512.0,
        true,
    ),
    (
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        0.001,
        true,
    ),
    (
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        1.0,
        true,
    ),
    (
        "node_disk_writes_merged_total",
        "The number of writes merged.",
        1.0,
        true,
    ),
    (
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        512.0,
        true,
    ),
    (
        "node_disk_write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        0.001,
        true,
    ),
    (
        "node_disk_io_now",
        "The number of I/Os currently in progress.",
        1.0,
        false,
    ),
    (
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        0.001,
        true,
    ),
    (
        "node_disk_io_time_weighted_seconds_total",
        "The weighted # of seconds spent doing I/Os.",
        0.001,
        true,
    ),
    (
        "node_disk_discards_completed_total",
        "The total number of discards completed successfully.",
        1.0,
        true,
    ),
    (
        "node_disk_discards_merged_total",
        "The total number of discards merged.",
        1.0,
        true,
    ),
    (
        "node_disk_discarded_sectors_total",
        "The total number of sectors discarded successfully.",
        1.0,
        true,
    ),
    (
        "node_disk_discard_time_seconds_total",
        "This is the total number of seconds spent by all discards.",
        0.001,
        true,
    ),
    (
        "node_disk_flush_requests_total",
        "The total number of flush requests completed successfully",
        1.0,
        true,
    ),
    (
        "node_disk_flush_requests_time_seconds_total",
        "This is the total number of seconds spent by all flush requests.",
        0.001,
        true,
    ),
];

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let sample = scrape.sample(crate::kinds::disk_io::sample).await?;
    let disks: Vec<&BlockDevice> = sample.value().listed().map(|(d, _)| d).collect();
    let mut f = Families::default();
    let info = f.gauge_family("node_disk_info", "Info of /sys/block/<block_device>.");
    for d in &disks {
        let serial = ["SCSI_IDENT_SERIAL", "ID_SERIAL_SHORT", "ID_SERIAL"]
            .iter()
            .map(|k| d.udev(k))
            .find(|s| !s.is_empty())
            .unwrap_or_default();
        info.push(
            [
                ("device", d.stat.name.as_str()),
                ("major", &d.stat.major.to_string()),
                ("minor", &d.stat.minor.to_string()),
                ("path", d.udev("ID_PATH")),
                ("wwn", d.udev("ID_WWN")),
                ("model", d.udev("ID_MODEL")),
                ("serial", serial),
                ("revision", d.udev("ID_REVISION")),
                ("rotational", if d.rotational() { "1" } else { "0" }),
            ],
            1.0,
        );
    }
    for (i, (name, help, factor, counter)) in SERIES.iter().enumerate() {
        let family = if *counter {
            f.counter_family(*name, *help)
        } else {
            f.gauge_family(*name, *help)
        };
        for d in disks.iter().filter(|d| i < d.stat.counters.len()) {
            family.push(
                [("device", d.stat.name.as_str())],
                d.stat.get(i) as f64 * factor,
            );
        }
    }
    let fs = f.gauge_family("node_disk_filesystem_info", "Info about disk filesystem.");
    for d in disks.iter().filter(|d| !d.udev("ID_FS_TYPE").is_empty()) {
        let keys = [
            ("type", "ID_FS_TYPE"),
            ("usage", "ID_FS_USAGE"),
            ("uuid", "ID_FS_UUID"),
            ("version", "ID_FS_VERSION"),
        ];
        fs.push(
            std::iter::once(("device", d.stat.name.as_str()))
                .chain(keys.map(|(l, k)| (l, d.udev(k)))),
            1.0,
        );
    }
    let dm = f.gauge_family(
        "node_disk_device_mapper_info",
        "Info about disk device mapper.",
    );
    for d in disks.iter().filter(|d| !d.udev("DM_NAME").is_empty()) {
        let keys = [
            ("name", "DM_NAME"),
            ("uuid", "DM_UUID"),
            ("vg_name", "DM_VG_NAME"),
            ("lv_name", "DM_LV_NAME"),
            ("lv_layer", "DM_LV_LAYER"),
        ];
        dm.push(
            std::iter::once(("device", d.stat.name.as_str()))
                .chain(keys.map(|(l, k)| (l, d.udev(k)))),
            1.0,
        );
    }
    ata(&mut f, &disks);
    Ok(Some(f))
}

/// What udev learnt from an ATA disk's IDENTIFY data, for the disks it
/// calls ATA (node_exporter's rule; a value that is no number is left
/// out).
fn ata(f: &mut Families, disks: &[&BlockDevice]) {
    let ata: Vec<&&BlockDevice> = disks
        .iter()
        .filter(|d| !d.udev("ID_ATA").is_empty())
        .collect();
    for (name, help, key) in [
        (
            "node_disk_ata_rotation_rate_rpm",
            "ATA disk rotation rate in RPMs (0 for SSDs).",
            "ID_ATA_ROTATION_RATE_RPM",
        ),
        (
            "node_disk_ata_write_cache",
            "ATA disk has a write cache.",
            "ID_ATA_WRITE_CACHE",
        ),
        (
            "node_disk_ata_write_cache_enabled",
            "ATA disk has its write cache enabled.",
            "ID_ATA_WRITE_CACHE_ENABLED",
        ),
    ] {
        let values: Vec<(&str, f64)> = ata
            .iter()
            .filter_map(|d| Some((d.stat.name.as_str(), d.udev(key).parse().ok()?)))
            .collect();
        if values.is_empty() {
            continue;
        }
        let family = f.gauge_family(name, help);
        for (device, v) in values {
            family.push([("device", device)], v);
        }
    }
}
