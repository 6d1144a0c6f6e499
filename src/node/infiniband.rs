//! `infiniband`: InfiniBand and RDMA adapters (`/sys/class/infiniband`):
//! each device's identity, each port's state, rate and counters (the
//! `counters` and the older `counters_ext` sets), as node_exporter serves
//! them. A counter the adapter does not keep (missing, or `N/A (no PMA)`)
//! is left out.

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::sysfs::{entries, value};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "infiniband",
    read: Read::Files(read),
};

/// A port counter: its directory and file, the series (without the
/// prefix), its help, and its scale (the data counters count 4-octet
/// words).
type Counter = (&'static str, &'static str, &'static str, &'static str, f64);

/// A port gauge: the series (without the prefix), its help, how its
/// file reads, and the file.
type Gauge = (
    &'static str,
    &'static str,
    fn(&str) -> Option<f64>,
    &'static str,
);

/// Every counter node_exporter serves, in its order.
const COUNTERS: &[Counter] = &[
    (
        "counters_ext",
        "port_multicast_rcv_packets",
        "legacy_multicast_packets_received_total",
        "Number of multicast packets received",
        1.0,
    ),
    (
        "counters_ext",
        "port_multicast_xmit_packets",
        "legacy_multicast_packets_transmitted_total",
        "Number of multicast packets transmitted",
        1.0,
    ),
    (
        "counters_ext",
        "port_rcv_data_64",
        "legacy_data_received_bytes_total",
        "Number of data octets received on all links",
        4.0,
    ),
    (
        "counters_ext",
        "port_rcv_packets_64",
        "legacy_packets_received_total",
        "Number of data packets received on all links",
        1.0,
    ),
    (
        "counters_ext",
        "port_unicast_rcv_packets",
        "legacy_unicast_packets_received_total",
        "Number of unicast packets received",
        1.0,
    ),
    (
        "counters_ext",
        "port_unicast_xmit_packets",
        "legacy_unicast_packets_transmitted_total",
        "Number of unicast packets transmitted",
        1.0,
    ),
    (
        "counters_ext",
        "port_xmit_data_64",
        "legacy_data_transmitted_bytes_total",
        "Number of data octets transmitted on all links",
        4.0,
    ),
    (
        "counters_ext",
        "port_xmit_packets_64",
        "legacy_packets_transmitted_total",
        "Number of data packets received on all links",
        1.0,
    ),
    (
        "counters",
        "excessive_buffer_overrun_errors",
        "excessive_buffer_overrun_errors_total",
        "Number of times that OverrunErrors consecutive flow control update periods occurred, each having at least one overrun error.",
        1.0,
    ),
    (
        "counters",
        "link_downed",
        "link_downed_total",
        "Number of times the link failed to recover from an error state and went down",
        1.0,
    ),
    (
        "counters",
        "link_error_recovery",
        "link_error_recovery_total",
        "Number of times the link successfully recovered from an error state",
        1.0,
    ),
    (
        "counters",
        "local_link_integrity_errors",
        "local_link_integrity_errors_total",
        "Number of times that the count of local physical errors exceeded the threshold specified by LocalPhyErrors.",
        1.0,
    ),
    (
        "counters",
        "multicast_rcv_packets",
        "multicast_packets_received_total",
        "Number of multicast packets received (including errors)",
        1.0,
    ),
    (
        "counters",
        "multicast_xmit_packets",
        "multicast_packets_transmitted_total",
        "Number of multicast packets transmitted (including errors)",
        1.0,
    ),
    (
        "counters",
        "port_rcv_constraint_errors",
        "port_constraint_errors_received_total",
        "Number of packets received on the switch physical port that are discarded",
        1.0,
    ),
    (
        "counters",
        "port_xmit_constraint_errors",
        "port_constraint_errors_transmitted_total",
        "Number of packets not transmitted from the switch physical port",
        1.0,
    ),
    (
        "counters",
        "port_rcv_data",
        "port_data_received_bytes_total",
        "Number of data octets received on all links",
        4.0,
    ),
    (
        "counters",
        "port_xmit_data",
        "port_data_transmitted_bytes_total",
        "Number of data octets transmitted on all links",
        4.0,
    ),
    (
        "counters",
        "port_rcv_discards",
        "port_discards_received_total",
        "Number of inbound packets discarded by the port because the port is down or congested",
        1.0,
    ),
    (
        "counters",
        "port_xmit_discards",
        "port_discards_transmitted_total",
        "Number of outbound packets discarded by the port because the port is down or congested",
        1.0,
    ),
    (
        "counters",
        "port_rcv_errors",
        "port_errors_received_total",
        "Number of packets containing an error that were received on this port",
        1.0,
    ),
    (
        "counters",
        "port_rcv_packets",
        "port_packets_received_total",
        "Number of packets received on all VLs by this port (including errors)",
        1.0,
    ),
    (
        "counters",
        "port_xmit_packets",
        "port_packets_transmitted_total",
        "Number of packets transmitted on all VLs from this port (including errors)",
        1.0,
    ),
    (
        "counters",
        "port_xmit_wait",
        "port_transmit_wait_total",
        "Number of ticks during which the port had data to transmit but no data was sent during the entire tick",
        1.0,
    ),
    (
        "counters",
        "unicast_rcv_packets",
        "unicast_packets_received_total",
        "Number of unicast packets received (including errors)",
        1.0,
    ),
    (
        "counters",
        "unicast_xmit_packets",
        "unicast_packets_transmitted_total",
        "Number of unicast packets transmitted (including errors)",
        1.0,
    ),
    (
        "counters",
        "port_rcv_remote_physical_errors",
        "port_receive_remote_physical_errors_total",
        "Number of packets marked with the EBP (End of Bad Packet) delimiter received on the port.",
        1.0,
    ),
    (
        "counters",
        "port_rcv_switch_relay_errors",
        "port_receive_switch_relay_errors_total",
        "Number of packets that could not be forwarded by the switch.",
        1.0,
    ),
    (
        "counters",
        "symbol_error",
        "symbol_error_total",
        "Number of minor link errors detected on one or more physical lanes.",
        1.0,
    ),
    (
        "counters",
        "VL15_dropped",
        "vl15_dropped_total",
        "Number of incoming VL15 packets dropped due to resource limitations.",
        1.0,
    ),
];

/// `4: ACTIVE` → 4.
pub fn parse_state(text: &str) -> Option<f64> {
    text.split(':').next()?.trim().parse().ok()
}

/// `40 Gb/sec (4X QDR)` → bytes per second (5e9).
pub fn parse_rate(text: &str) -> Option<f64> {
    let mut words = text.split_whitespace();
    let n: f64 = words.next()?.parse().ok()?;
    let bits = match words.next()? {
        "Gb/sec" => 1e9,
        "Mb/sec" => 1e6,
        "Kb/sec" => 1e3,
        _ => return None,
    };
    Some(n * bits / 8.0)
}

/// A counter file's value; `None` for `N/A (no PMA)` and the like.
pub fn parse_counter(text: &str) -> Option<f64> {
    text.trim().parse::<u64>().ok().map(|n| n as f64)
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let files = src.files;
    let Some(devices) = entries(files, &src.roots.sys.join("class/infiniband")) else {
        return Ok(None);
    };
    let mut f = Families::default();
    let info = f.gauge_family(
        "node_infiniband_info",
        "Non-numeric data from /sys/class/infiniband/<device>, value is always 1.",
    );
    let attr =
        |dir: &std::path::Path, name: &str| value(files, &dir.join(name)).unwrap_or_default();
    for (device, dir) in &devices {
        info.push(
            [
                ("device", device.clone()),
                ("board_id", attr(dir, "board_id")),
                ("firmware_version", attr(dir, "fw_ver")),
                ("hca_type", attr(dir, "hca_type")),
            ],
            1.0,
        );
    }
    let ports: Vec<(&str, String, std::path::PathBuf)> = devices
        .iter()
        .flat_map(|(device, dir)| {
            entries(files, &dir.join("ports"))
                .unwrap_or_default()
                .into_iter()
                .map(move |(port, path)| (device.as_str(), port, path))
        })
        .collect();
    let gauges: [Gauge; 3] = [
        (
            "state_id",
            "State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, 4: active, 5: act defer)",
            parse_state,
            "state",
        ),
        (
            "physical_state_id",
            "Physical state of the InfiniBand port (0: no change, 1: sleep, 2: polling, 3: disable, 4: shift, 5: link up, 6: link error recover, 7: phytest)",
            parse_state,
            "phys_state",
        ),
        (
            "rate_bytes_per_second",
            "Maximum signal transfer rate",
            parse_rate,
            "rate",
        ),
    ];
    for (series, help, parse, file) in gauges {
        let family = f.gauge_family(format!("node_infiniband_{series}"), help);
        for (device, port, path) in &ports {
            if let Some(v) = value(files, &path.join(file)).and_then(|t| parse(&t)) {
                family.push([("device", *device), ("port", port.as_str())], v);
            }
        }
    }
    for (dir, file, series, help, scale) in COUNTERS {
        let family = f.counter_family(format!("node_infiniband_{series}"), *help);
        for (device, port, path) in &ports {
            if let Some(v) =
                value(files, &path.join(dir).join(file)).and_then(|t| parse_counter(&t))
            {
                family.push([("device", *device), ("port", port.as_str())], v * scale);
            }
        }
    }
    Ok(Some(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_rates_and_counters() {
        assert_eq!(parse_state("4: ACTIVE"), Some(4.0));
        assert_eq!(parse_state("5: LinkUp\n"), Some(5.0));
        assert_eq!(parse_rate("40 Gb/sec (4X QDR)"), Some(5e9));
        assert_eq!(parse_rate("2.5 Gb/sec (1X SDR)"), Some(3.125e8));
        assert_eq!(parse_rate("fast"), None);
        assert_eq!(parse_counter("N/A (no PMA)"), None);
        assert_eq!(parse_counter("4294967295\n"), Some(4294967295.0));
    }
}
