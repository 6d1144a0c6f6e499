//! `arp`: ARP entries per device, from `/proc/net/arp`.

use std::collections::BTreeMap;

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "arp",
    read: Read::Files(read),
};

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let Some(text) = src.read_optional(&src.roots.proc.join("net/arp"))? else {
        return Ok(None);
    };
    let mut f = Families::default();
    let family = f.gauge_family("node_arp_entries", "ARP entries by device");
    for (device, n) in parse(&text) {
        family.push([("device", device)], n as f64);
    }
    Ok(Some(f))
}

/// Entries per device: the last column of each line after the header.
pub fn parse(text: &str) -> BTreeMap<&str, u64> {
    let mut out = BTreeMap::new();
    for line in text.lines().skip(1) {
        if let Some(device) = line.split_ascii_whitespace().nth(5) {
            *out.entry(device).or_insert(0) += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_entries_per_device() {
        let text = "IP address       HW type     Flags       HW address            Mask     Device
192.168.1.1      0x1         0x2         cc:aa:dd:ee:ff:01     *        eth0
192.168.1.7      0x1         0x2         cc:aa:dd:ee:ff:02     *        eth0
10.0.0.1         0x1         0x2         cc:aa:dd:ee:ff:03     *        wlan0
";
        let got = super::parse(text);
        assert_eq!(got.get("eth0"), Some(&2));
        assert_eq!(got.get("wlan0"), Some(&1));
    }
}
