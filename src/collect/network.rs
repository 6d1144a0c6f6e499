//! Per-interface byte counters from `/proc/net/dev`.

use super::{ParseError, num};

const FILE: &str = "/proc/net/dev";

/// Cumulative counters of one interface since boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Interface name, e.g. `eth0`.
    pub name: String,
    /// Bytes received.
    pub received_bytes: u64,
    /// Bytes transmitted.
    pub transmitted_bytes: u64,
}

/// Parses `/proc/net/dev` (two header lines, then `name: 16 counters`).
pub fn parse_net_dev(text: &str) -> Result<Vec<Interface>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        let mut fields = counters.split_ascii_whitespace();
        let received_bytes = num(FILE, "rx bytes", fields.next())?;
        // Skip the 7 remaining receive counters to reach tx bytes.
        let transmitted_bytes = num(FILE, "tx bytes", fields.nth(7))?;
        out.push(Interface {
            name: name.trim().to_owned(),
            received_bytes,
            transmitted_bytes,
        });
    }
    Ok(out)
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
        assert_eq!(v[1].received_bytes, 1_215_645);
        assert_eq!(v[1].transmitted_bytes, 1_782_404);
    }

    #[test]
    fn rejects_a_truncated_line() {
        assert!(parse_net_dev("h\nh\n eth0: 1 2 3\n").is_err());
    }
}
