//! `tapestats`: SCSI tape drives' I/O statistics
//! (`/sys/class/scsi_tape/st*/stats`).

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::sysfs::{entries, number};
use crate::exposition::MetricType;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "tapestats",
    read: Read::Files(read),
};

/// The statistics: file, series, help, type, scale (nanoseconds to
/// seconds for the times), as node_exporter serves them.
const STATS: &[(&str, &str, &str, MetricType, f64)] = &[
    (
        "in_flight",
        "node_tape_io_now",
        "The number of I/Os currently outstanding to this device.",
        MetricType::Gauge,
        1.0,
    ),
    (
        "io_ns",
        "node_tape_io_time_seconds_total",
        "The amount of time spent waiting for all I/O to complete (including read and write). This includes tape movement commands such as seeking between file or set marks and implicit tape movement such as when rewind on close tape devices are used.",
        MetricType::Counter,
        1e-9,
    ),
    (
        "other_cnt",
        "node_tape_io_others_total",
        "The number of I/Os issued to the tape drive other than read or write commands. The time taken to complete these commands uses the following calculation io_time_seconds_total-read_time_seconds_total-write_time_seconds_total",
        MetricType::Counter,
        1.0,
    ),
    (
        "read_byte_cnt",
        "node_tape_read_bytes_total",
        "The number of bytes read from the tape drive.",
        MetricType::Counter,
        1.0,
    ),
    (
        "read_cnt",
        "node_tape_reads_completed_total",
        "The number of read requests issued to the tape drive.",
        MetricType::Counter,
        1.0,
    ),
    (
        "read_ns",
        "node_tape_read_time_seconds_total",
        "The amount of time spent waiting for read requests to complete.",
        MetricType::Counter,
        1e-9,
    ),
    (
        "resid_cnt",
        "node_tape_residual_total",
        "The number of times during a read or write we found the residual amount to be non-zero. This should mean that a program is issuing a read larger thean the block size on tape. For write not all data made it to tape.",
        MetricType::Counter,
        1.0,
    ),
    (
        "write_byte_cnt",
        "node_tape_written_bytes_total",
        "The number of bytes written to the tape drive.",
        MetricType::Counter,
        1.0,
    ),
    (
        "write_cnt",
        "node_tape_writes_completed_total",
        "The number of write requests issued to the tape drive.",
        MetricType::Counter,
        1.0,
    ),
    (
        "write_ns",
        "node_tape_write_time_seconds_total",
        "The amount of time spent waiting for write requests to complete.",
        MetricType::Counter,
        1e-9,
    ),
];

/// `st0`, not its aliases (`nst0`, `st0a`, `st0l`, `st0m`: the same drive
/// with other rewind and mode settings, whose statistics are the drive's).
pub fn is_drive(name: &str) -> bool {
    name.strip_prefix("st")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let files = src.files;
    let Some(class) = entries(files, &src.roots.sys.join("class/scsi_tape")) else {
        return Ok(None);
    };
    let drives: Vec<_> = class.iter().filter(|(name, _)| is_drive(name)).collect();
    let mut f = Families::default();
    for (file, series, help, kind, scale) in STATS {
        let family = f.family(*series, *help, *kind);
        for (name, path) in &drives {
            if let Some(v) = number(files, &path.join("stats").join(file)) {
                family.push([("device", name.as_str())], v * scale);
            }
        }
    }
    Ok(Some(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drives_not_their_aliases() {
        assert!(is_drive("st0") && is_drive("st12"));
        for alias in ["nst0", "st0a", "st0l", "st0m", "st", "nst0a"] {
            assert!(!is_drive(alias), "{alias}");
        }
    }
}
