//! Network devices' sysfs attributes (`/sys/class/net/<dev>`): state,
//! carrier, speed, MTU, flags… as node_exporter's netclass reads them.

use std::path::Path;

use super::CollectError;
use super::files::FileCache;

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
    /// The numeric attributes that could be read, by series suffix, in
    /// [`NUMERIC`] order.
    pub numbers: Vec<(&'static str, i64)>,
    /// Mbit/s (-1 where the driver does not know).
    pub speed: Option<i64>,
    /// `tx_queue_len`.
    pub tx_queue_len: Option<i64>,
    /// `type` (ARPHRD_*).
    pub protocol_type: Option<i64>,
    /// `statistics/rx_nohandler`: packets dropped for want of a protocol
    /// handler (node_exporter's netdev serves it from netlink; `/proc/net/dev`
    /// lacks it, sysfs has it).
    pub rx_nohandler: Option<i64>,
}

impl NetClass {
    /// The numeric attribute served as `node_network_{series}`.
    pub fn number(&self, series: &str) -> Option<i64> {
        self.numbers
            .iter()
            .find(|(s, _)| *s == series)
            .map(|(_, v)| *v)
    }

    /// `flags` (`IFF_*`), for the admin state.
    pub fn flags(&self) -> Option<i64> {
        self.number("flags")
    }
}

/// A number as sysfs writes it: decimal, or hexadecimal with `0x`.
pub fn number(text: &str) -> Option<i64> {
    let t = text.trim();
    match t.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

/// Reads one device's directory through `files` (its attributes kept
/// open between samples).
pub fn read_device(dir: &Path, name: &str, files: &mut FileCache) -> NetClass {
    let mut attribute = |f: &str| files.attribute(&dir.join(f));
    let operstate = attribute("operstate").unwrap_or_default();
    let address = attribute("address").unwrap_or_default();
    let broadcast = attribute("broadcast").unwrap_or_default();
    let ifalias = attribute("ifalias").unwrap_or_default();
    let mut num = |f: &str| attribute(f).and_then(|t| number(&t));
    let numbers: Vec<_> = NUMERIC
        .iter()
        .filter_map(|(series, file, _)| num(file).map(|v| (*series, v)))
        .collect();
    let tx_queue_len = num("tx_queue_len");
    let protocol_type = num("type");
    let rx_nohandler = num("statistics/rx_nohandler");
    // Speed and duplex ask the driver (under the kernel's network lock):
    // read again only when the link's state or carrier-change count moved,
    // as it does for every new negotiation. A device without the count is
    // read every time.
    let changes = numbers
        .iter()
        .find(|(s, _)| *s == "carrier_changes_total")
        .map(|(_, v)| *v);
    let (speed, duplex) = match changes {
        Some(n) => {
            let validator = format!("{operstate}/{n}");
            (
                files
                    .attribute_while(&dir.join("speed"), &validator)
                    .and_then(|t| number(&t)),
                files
                    .attribute_while(&dir.join("duplex"), &validator)
                    .unwrap_or_default(),
            )
        }
        None => (
            files.attribute(&dir.join("speed")).and_then(|t| number(&t)),
            files.attribute(&dir.join("duplex")).unwrap_or_default(),
        ),
    };
    NetClass {
        name: name.to_owned(),
        operstate,
        address,
        broadcast,
        duplex,
        ifalias,
        speed,
        tx_queue_len,
        protocol_type,
        rx_nohandler,
        numbers,
    }
}

/// Every device under `/sys/class/net` (its entries other than plain
/// files: devices are symlinks), by name; the attributes of devices gone
/// are let go.
pub fn read_all(sys: &Path, files: &mut FileCache) -> Result<Option<Vec<NetClass>>, CollectError> {
    let dir = sys.join("class/net");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CollectError::read(&dir, e)),
    };
    let mut out: Vec<NetClass> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_file()))
        .map(|e| read_device(&e.path(), &e.file_name().to_string_lossy(), files))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    files.retain_under(&dir, |path| {
        path.strip_prefix(&dir)
            .ok()
            .and_then(|p| p.components().next())
            .is_some_and(|c| out.iter().any(|d| c.as_os_str() == d.name.as_str()))
    });
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

    /// A link's speed is asked of the driver once per negotiation: a new
    /// speed comes with a carrier change (or a state change), and then it
    /// is read again, never served stale.
    #[test]
    fn speed_and_duplex_are_read_again_when_the_link_changes() {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path().join("eth0");
        std::fs::create_dir(&dev).unwrap();
        let set = |file: &str, value: &str| std::fs::write(dev.join(file), value).unwrap();
        set("operstate", "up\n");
        set("carrier_changes", "2\n");
        set("speed", "1000\n");
        set("duplex", "full\n");
        let mut files = super::FileCache::new(64);
        let read = |files: &mut super::FileCache| {
            let d = super::read_device(&dev, "eth0", files);
            (d.speed, d.duplex)
        };
        assert_eq!(read(&mut files), (Some(1000), "full".to_owned()));
        // What the driver would say now, were it asked: not asked while
        // the link has not changed.
        set("speed", "100\n");
        set("duplex", "half\n");
        assert_eq!(read(&mut files), (Some(1000), "full".to_owned()));
        // Renegotiated: the carrier went down and up.
        set("carrier_changes", "4\n");
        assert_eq!(read(&mut files), (Some(100), "half".to_owned()));
        // Down: read again (the kernel says -1 and unknown then).
        set("operstate", "down\n");
        set("speed", "-1\n");
        set("duplex", "unknown\n");
        assert_eq!(read(&mut files), (Some(-1), "unknown".to_owned()));
    }
}
