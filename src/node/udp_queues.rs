//! `udp_queues`: bytes queued in UDP sockets, from `/proc/net/udp{,6}`.

use super::{Families, NodeCollector, Read, Source};
use crate::collect::{CollectError, ParseError};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "udp_queues",
    read: Read::Files(read),
};

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let mut f = Families::default();
    let family = f.gauge_family(
        "node_udp_queues",
        "Number of allocated memory in the kernel for UDP datagrams in bytes.",
    );
    let mut any = false;
    for (file, ip) in [("net/udp", "v4"), ("net/udp6", "v6")] {
        let Some(text) = src.read_optional(&src.roots.proc.join(file))? else {
            continue;
        };
        let (tx, rx) = parse(&text)?;
        family.push([("queue", "tx"), ("ip", ip)], tx as f64);
        family.push([("queue", "rx"), ("ip", ip)], rx as f64);
        any = true;
    }
    Ok(any.then_some(f))
}

/// Sums the `tx_queue:rx_queue` column (hexadecimal) over the sockets.
pub fn parse(text: &str) -> Result<(u64, u64), ParseError> {
    let (mut tx, mut rx) = (0u64, 0u64);
    for line in text.lines().skip(1) {
        let Some(queues) = line.split_ascii_whitespace().nth(4) else {
            continue;
        };
        let bad = || ParseError::new("/proc/net/udp", format!("queues: {queues:?}"));
        let (t, r) = queues.split_once(':').ok_or_else(bad)?;
        tx = tx.saturating_add(u64::from_str_radix(t, 16).map_err(|_| bad())?);
        rx = rx.saturating_add(u64::from_str_radix(r, 16).map_err(|_| bad())?);
    }
    Ok((tx, rx))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sums_the_queues() {
        let text = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 1009: 00000000:0044 00000000:0000 07 00000000:00000300 00:00000000 00000000     0        0 18345 2 0000000000000000 0
 1010: 0100007F:0035 00000000:0000 07 00000010:00000001 00:00000000 00000000   101        0 18342 2 0000000000000000 0
";
        assert_eq!(super::parse(text).unwrap(), (0x10, 0x301));
    }
}
