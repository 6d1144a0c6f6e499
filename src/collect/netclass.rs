//! Network devices' sysfs attributes (`/sys/class/net/<dev>`): state,
//! carrier, speed, MTU, flags… as node_exporter's netclass reads them.

use std::path::Path;

use super::CollectError;

/// The numeric attributes node_exporter serves: series suffix, file,
/// counter or not.
pub const NUMERIC: [(&str, &str, bool); 14] = [
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

/// A small attribute's text without its newline; `None` where missing or
/// unreadable (attributes a device does not support fail with EINVAL).
fn attribute(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim_end_matches('\n').to_owned())
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

#[cfg(test)]
mod tests {
    #[test]
    fn reads_numbers_in_both_bases() {
        assert_eq!(super::number("0x1003\n"), Some(0x1003));
        assert_eq!(super::number("-1\n"), Some(-1));
        assert_eq!(super::number("fast"), None);
    }
}
