//! `fibrechannel`: Fibre Channel host adapters (`/sys/class/fc_host`):
//! their identity and link, and their error and traffic counters.

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::sysfs::{entries, value};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "fibrechannel",
    read: Read::Files(read),
};

/// The counters: file under `statistics/`, series (without the prefix),
/// help, as node_exporter serves them.
const COUNTERS: &[(&str, &str, &str)] = &[
    (
        "dumped_frames",
        "dumped_frames_total",
        "Number of dumped frames",
    ),
    (
        "error_frames",
        "error_frames_total",
        "Number of errors in frames",
    ),
    (
        "fcp_packet_aborts",
        "fcp_packet_aborts_total",
        "Number of aborted packets",
    ),
    (
        "invalid_crc_count",
        "invalid_crc_total",
        "Invalid Cyclic Redundancy Check count",
    ),
    (
        "invalid_tx_word_count",
        "invalid_tx_words_total",
        "Number of invalid words transmitted by host port",
    ),
    (
        "link_failure_count",
        "link_failure_total",
        "Number of times the host port link has failed",
    ),
    (
        "loss_of_signal_count",
        "loss_of_signal_total",
        "Number of times signal has been lost",
    ),
    (
        "loss_of_sync_count",
        "loss_of_sync_total",
        "Number of failures on either bit or transmission word boundaries",
    ),
    (
        "nos_count",
        "nos_total",
        "Number Not_Operational Primitive Sequence received by host port",
    ),
    ("rx_frames", "rx_frames_total", "Number of frames received"),
    (
        "rx_words",
        "rx_words_total",
        "Number of words received by host port",
    ),
    (
        "seconds_since_last_reset",
        "seconds_since_last_reset_total",
        "Number of seconds since last host port reset",
    ),
    (
        "tx_frames",
        "tx_frames_total",
        "Number of frames transmitted by host port",
    ),
    (
        "tx_words",
        "tx_words_total",
        "Number of words transmitted by host port",
    ),
];

/// The info series' labels, in node_exporter's order, and whether the
/// attribute is a hex number written without its `0x` (`port_id`).
const INFO: &[(&str, bool)] = &[
    ("speed", false),
    ("port_state", false),
    ("port_type", false),
    ("port_id", true),
    ("port_name", true),
    ("fabric_name", true),
    ("symbolic_name", false),
    ("supported_classes", false),
    ("supported_speeds", false),
    ("dev_loss_tmo", false),
];

/// A statistics file's value: the kernel writes hex (`0x13`), and all
/// ones where the adapter does not keep that count (left out, as
/// node_exporter leaves it out).
pub fn parse_counter(text: &str) -> Option<u64> {
    let t = text.trim();
    let n = match t.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => t.parse().ok()?,
    };
    (n != u64::MAX).then_some(n)
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let files = src.files;
    let Some(hosts) = entries(files, &src.roots.sys.join("class/fc_host")) else {
        return Ok(None);
    };
    let mut f = Families::default();
    let info = f.gauge_family(
        "node_fibrechannel_info",
        "Non-numeric data from /sys/class/fc_host/<host>, value is always 1.",
    );
    for (name, path) in &hosts {
        let mut labels = vec![("fc_host", name.clone())];
        for (attr, hex) in INFO {
            let v = value(files, &path.join(attr)).unwrap_or_default();
            let v = match (hex, v.strip_prefix("0x")) {
                (true, Some(stripped)) => stripped.to_owned(),
                _ => v,
            };
            labels.push((*attr, v));
        }
        info.push(labels, 1.0);
    }
    for (file, series, help) in COUNTERS {
        let family = f.counter_family(format!("node_fibrechannel_{series}"), *help);
        for (name, path) in &hosts {
            // A port whose state is unknown keeps no statistics: zeros, as
            // node_exporter gives.
            let unknown = value(files, &path.join("port_state")).is_none_or(|s| s == "Unknown");
            let count = if unknown {
                Some(0)
            } else {
                value(files, &path.join("statistics").join(file)).and_then(|t| parse_counter(&t))
            };
            if let Some(n) = count {
                family.push([("fc_host", name.as_str())], n as f64);
            }
        }
    }
    Ok(Some(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_hex_and_all_ones_is_none() {
        assert_eq!(parse_counter("0x13\n"), Some(19));
        assert_eq!(parse_counter("0x0"), Some(0));
        assert_eq!(parse_counter("0xffffffffffffffff"), None);
        assert_eq!(parse_counter("42"), Some(42));
        assert_eq!(parse_counter("0xzz"), None);
    }
}
