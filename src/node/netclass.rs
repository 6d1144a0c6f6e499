//! `netclass`: each network device's sysfs attributes (`/sys/class/net`):
//! up, carrier, speed, MTU, flags…

use std::path::Path;

use super::util::attribute;
use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "netclass",
    read: Read::Files(read),
};

/// The numeric attributes node_exporter serves: series suffix, file,
/// counter or not.
const NUMERIC: [(&str, &str, bool); 14] = [
    ("address_assign_type", "addr_assign_type", false),
    ("carrier", "carrier", false),
    ("carrier_changes_total", "carrier_changes", true),
    ("carrier_up_changes_total", "carrier_up_count", true),
    ("carrier_down_changes_total", "carrier_down_count", true),
    ("device_id", "dev_id", false),
    ("dormant", "dormant", false),
    ("flags", "flags", false),
    ("iface_id", "ifindex", false),
    ("iface_link", "iflink", false),
    ("iface_link_mode", "link_mode", false),
    ("mtu_bytes", "mtu", false),
    ("name_assign_type", "name_assign_type", false),
    ("net_dev_group", "netdev_group", false),
];

/// One device's attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetClass {
    /// The device name.
    pub name: String,
    /// `operstate`, `address`, `broadcast`, `duplex`, `ifalias`.
    pub operstate: String,
    pub address: String,
    pub broadcast: String,
    pub duplex: String,
    pub ifalias: String,
    /// The numeric attributes that could be read, in [`NUMERIC`] order.
    pub numbers: Vec<(&'static str, bool, i64)>,
    /// Mbit/s (-1 where the driver does not know).
    pub speed: Option<i64>,
    /// `tx_queue_len`.
    pub tx_queue_len: Option<i64>,
    /// `type` (ARPHRD_*).
    pub protocol_type: Option<i64>,
    /// `flags`, for the admin state.
    pub flags: Option<i64>,
    /// `statistics/rx_nohandler`: packets dropped for want of a protocol
    /// handler (node_exporter's netdev serves it from netlink; `/proc/net/dev`
    /// lacks it, sysfs has it).
    pub rx_nohandler: Option<i64>,
}

/// A number as sysfs writes it: decimal, or hexadecimal with `0x`.
pub fn number(text: &str) -> Option<i64> {
    let t = text.trim();
    match t.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

/// Reads one device's directory.
pub fn read_device(dir: &Path, name: &str) -> NetClass {
    let text = |f: &str| attribute(&dir.join(f)).unwrap_or_default();
    let num = |f: &str| attribute(&dir.join(f)).and_then(|t| number(&t));
    NetClass {
        name: name.to_owned(),
        operstate: text("operstate"),
        address: text("address"),
        broadcast: text("broadcast"),
        duplex: text("duplex"),
        ifalias: text("ifalias"),
        numbers: NUMERIC
            .iter()
            .filter_map(|(series, file, counter)| num(file).map(|v| (*series, *counter, v)))
            .collect(),
        speed: num("speed"),
        tx_queue_len: num("tx_queue_len"),
        protocol_type: num("type"),
        flags: num("flags"),
        rx_nohandler: num("statistics/rx_nohandler"),
    }
}

/// Every device under `/sys/class/net`, by name.
pub fn read_all(sys: &Path) -> Result<Option<Vec<NetClass>>, CollectError> {
    let dir = sys.join("class/net");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CollectError::read(&dir, e)),
    };
    let mut out: Vec<NetClass> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| read_device(&e.path(), &e.file_name().to_string_lossy()))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Some(out))
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let Some(devices) = read_all(&src.roots.sys)? else {
        return Ok(None);
    };
    let mut f = families(&devices);
    let exclude = src.options.netdev_device_exclude.as_ref();
    let nohandler = f.counter_family(
        "node_network_receive_nohandler_total",
        "Network device statistic receive_nohandler.",
    );
    for d in devices.iter().filter(|d| exclude.is_none_or(|re| !re.is_match(&d.name))) {
        if let Some(v) = d.rx_nohandler {
            nohandler.push([("device", d.name.as_str())], v as f64);
        }
    }
    Ok(Some(f))
}

/// node_exporter's series for the devices.
pub fn families(devices: &[NetClass]) -> Families {
    let mut f = Families::default();
    let up = f.gauge_family("node_network_up", "Value is 1 if operstate is 'up', 0 otherwise.");
    for d in devices {
        up.push([("device", d.name.as_str())], if d.operstate == "up" { 1.0 } else { 0.0 });
    }
    let info = f.gauge_family(
        "node_network_info",
        "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
    );
    for d in devices {
        let admin = match d.flags {
            None => "unknown",
            Some(flags) if flags & 1 == 1 => "up",
            Some(_) => "down",
        };
        info.push(
            [
                ("device", d.name.as_str()),
                ("address", &d.address),
                ("broadcast", &d.broadcast),
                ("duplex", &d.duplex),
                ("operstate", &d.operstate),
                ("adminstate", admin),
                ("ifalias", &d.ifalias),
            ],
            1.0,
        );
    }
    for (series, _, counter) in NUMERIC {
        let name = format!("node_network_{series}");
        let help = format!("Network device property: {series}");
        let family = if counter { f.counter_family(name, help) } else { f.gauge_family(name, help) };
        for d in devices {
            if let Some((_, _, v)) = d.numbers.iter().find(|(s, _, _)| *s == series) {
                family.push([("device", d.name.as_str())], *v as f64);
            }
        }
    }
    let speed = f.gauge_family("node_network_speed_bytes", "Network device property: speed_bytes");
    for d in devices {
        if let Some(mbits) = d.speed {
            speed.push([("device", d.name.as_str())], (mbits * 1000 * 1000 / 8) as f64);
        }
    }
    let queue = f.gauge_family(
        "node_network_transmit_queue_length",
        "Network device property: transmit_queue_length",
    );
    for d in devices {
        if let Some(v) = d.tx_queue_len {
            queue.push([("device", d.name.as_str())], v as f64);
        }
    }
    let proto = f.gauge_family("node_network_protocol_type", "Network device property: protocol_type");
    for d in devices {
        if let Some(v) = d.protocol_type {
            proto.push([("device", d.name.as_str())], v as f64);
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numbers_in_both_bases() {
        assert_eq!(number("0x1003\n"), Some(0x1003));
        assert_eq!(number("-1\n"), Some(-1));
        assert_eq!(number("fast"), None);
    }

    #[test]
    fn reads_a_device_directory() {
        let dir = std::env::temp_dir().join(format!("sonde-netclass-{}", std::process::id()));
        let eth = dir.join("class/net/eth0");
        std::fs::create_dir_all(&eth).unwrap();
        for (file, text) in [
            ("operstate", "up\n"),
            ("address", "02:fc:00:00:00:01\n"),
            ("mtu", "1500\n"),
            ("flags", "0x1003\n"),
            ("speed", "-1\n"),
            ("carrier_changes", "2\n"),
        ] {
            std::fs::write(eth.join(file), text).unwrap();
        }
        let devices = read_all(&dir).unwrap().unwrap();
        let text = families(&devices).encode();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(text.contains("node_network_up{device=\"eth0\"} 1"), "{text}");
        assert!(text.contains("node_network_mtu_bytes{device=\"eth0\"} 1500"), "{text}");
        assert!(text.contains("node_network_flags{device=\"eth0\"} 4099"), "{text}");
        assert!(text.contains("node_network_speed_bytes{device=\"eth0\"} -125000"), "{text}");
        assert!(text.contains("node_network_carrier_changes_total{device=\"eth0\"} 2"), "{text}");
        assert!(text.contains("adminstate=\"up\""), "{text}");
    }
}
