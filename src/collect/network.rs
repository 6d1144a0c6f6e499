//! Per-interface byte counters from `/proc/net/dev`.

use super::{ParseError, num};

const FILE: &str = "/proc/net/dev";

/// Cumulative counters of one interface since boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Interface name, e.g. `eth0`.
    pub name: String,
    /// Every column, in [`COLUMNS`] order.
    pub counters: [u64; 16],
}

impl Interface {
    /// Bytes received.
    pub fn received_bytes(&self) -> u64 {
        self.counters[0]
    }

    /// Bytes transmitted.
    pub fn transmitted_bytes(&self) -> u64 {
        self.counters[8]
    }
}

/// The columns of `/proc/net/dev`, as node_exporter names them
/// (`node_network_{column}_total`).
pub const COLUMNS: [&str; 16] = [
    "receive_bytes",
    "receive_packets",
    "receive_errs",
    "receive_drop",
    "receive_fifo",
    "receive_frame",
    "receive_compressed",
    "receive_multicast",
    "transmit_bytes",
    "transmit_packets",
    "transmit_errs",
    "transmit_drop",
    "transmit_fifo",
    "transmit_colls",
    "transmit_carrier",
    "transmit_compressed",
];

/// Parses `/proc/net/dev` (two header lines, then `name: 16 counters`).
pub fn parse_net_dev(text: &str) -> Result<Vec<Interface>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        let mut fields = counters.split_ascii_whitespace();
        let mut all = [0u64; 16];
        for (slot, column) in all.iter_mut().zip(COLUMNS) {
            *slot = num(FILE, column, fields.next())?;
        }
        out.push(Interface {
            name: name.trim().to_owned(),
            counters: all,
        });
    }
    Ok(out)
}

/// One interface's activity over a window, per second.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct NetRates {
    pub rx_bytes_per_sec: f64,
    pub tx_bytes_per_sec: f64,
    pub rx_packets_per_sec: f64,
    pub tx_packets_per_sec: f64,
    pub rx_errors_per_sec: f64,
    pub tx_errors_per_sec: f64,
    pub rx_drops_per_sec: f64,
    pub tx_drops_per_sec: f64,
}

/// The rates between two readings `secs` apart (a counter that went back,
/// as when an interface was recreated, counts as 0).
pub fn rates(now: &[u64; 16], then: Option<&[u64; 16]>, secs: f64) -> NetRates {
    if secs <= 0.0 {
        return NetRates::default();
    }
    let d = |i: usize| now[i].saturating_sub(then.map_or(0, |t| t[i])) as f64 / secs;
    NetRates {
        rx_bytes_per_sec: d(0),
        rx_packets_per_sec: d(1),
        rx_errors_per_sec: d(2),
        rx_drops_per_sec: d(3),
        tx_bytes_per_sec: d(8),
        tx_packets_per_sec: d(9),
        tx_errors_per_sec: d(10),
        tx_drops_per_sec: d(11),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_net_dev() {
        let text = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 2776770   11307    0    0    0     0          0         0  2776770   11307    0    0    0     0       0          0
  eth0:1215645    2751    0    0    0     0          0         0  1782404    4324    0    0    0   427       0          0
";
        let v = parse_net_dev(text).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].name, "eth0");
        assert_eq!(v[1].received_bytes(), 1_215_645);
        assert_eq!(v[1].transmitted_bytes(), 1_782_404);
        assert_eq!(v[1].counters[13], 427, "transmit_colls");
    }

    #[test]
    fn rejects_a_truncated_line() {
        assert!(parse_net_dev("h\nh\n eth0: 1 2 3\n").is_err());
    }
}

#[cfg(test)]
mod rate_tests {
    #[test]
    fn rates_per_second_and_no_bogus_rate_after_a_reset() {
        let mut then = [0u64; 16];
        let mut now = [0u64; 16];
        then[0] = 1000;
        now[0] = 3000;
        now[10] = 4;
        let r = super::rates(&now, Some(&then), 2.0);
        assert_eq!(r.rx_bytes_per_sec, 1000.0);
        assert_eq!(r.tx_errors_per_sec, 2.0);
        let reset = super::rates(&then, Some(&now), 2.0);
        assert_eq!(reset.rx_bytes_per_sec, 0.0);
    }
}
