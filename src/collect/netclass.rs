//! Network devices' attributes as node_exporter's netclass serves them
//! from sysfs (`/sys/class/net/<dev>`): state, carrier, speed, MTU,
//! flags…
//!
//! On the live host most come from one routing netlink dump
//! ([`super::links`]), which holds the same kernel fields: sysfs costs a
//! file read per attribute per device (about twenty each, a fifth of a
//! default scrape's CPU on a host with four devices). sysfs is still read
//! for what netlink lacks: speed and duplex (read again only when the
//! link changed, as before), and `addr_assign_type`, `dev_id` and
//! `name_assign_type`, fixed when the device is made and read again only
//! when its index (a new device) or its address (which sets
//! `addr_assign_type`) changes. A fixture tree (a `--sys-root` that is not
//! a sysfs mount) is read all from sysfs.

use std::path::Path;

use super::CollectError;
use super::files::FileCache;
use super::links::{Link, hardware_address};

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
    let changes = numbers
        .iter()
        .find(|(s, _)| *s == "carrier_changes_total")
        .map(|(_, v)| *v);
    let (speed, duplex) = speed_and_duplex(dir, &operstate, changes, files);
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

/// Speed and duplex ask the driver (under the kernel's network lock):
/// read again only when the link's state or carrier-change count moved,
/// as it does for every new negotiation. A device without the count is
/// read every time.
fn speed_and_duplex(
    dir: &Path,
    operstate: &str,
    changes: Option<i64>,
    files: &mut FileCache,
) -> (Option<i64>, String) {
    match changes {
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
    }
}

/// One device from its netlink description, with what netlink lacks read
/// from its directory `dir`.
pub fn from_link(dir: &Path, link: &Link, files: &mut FileCache) -> NetClass {
    let operstate = link.operstate_name().to_owned();
    let address = link
        .address
        .as_deref()
        .map(hardware_address)
        .unwrap_or_default();
    // Fixed at the device's making; `addr_assign_type` also when an
    // address is set.
    let made = link.index.to_string();
    let addressed = format!("{made}/{address}");
    let mut fixed = |file: &str, validator: &str| {
        files
            .attribute_while(&dir.join(file), validator)
            .and_then(|t| number(&t))
    };
    let addr_assign_type = fixed("addr_assign_type", &addressed);
    let dev_id = fixed("dev_id", &made);
    let name_assign_type = fixed("name_assign_type", &made);
    // Before 6.0 the kernel does not say how many asked for all
    // multicast, so the flags come from sysfs there.
    let flags = match link.device_flags() {
        Some(f) => Some(i64::from(f)),
        None => files.attribute(&dir.join("flags")).and_then(|t| number(&t)),
    };
    let n = |v: Option<u32>| v.map(i64::from);
    // By sysfs file name; one this does not know is left out here and
    // shows as a difference in the test against sysfs.
    let numbers = NUMERIC
        .iter()
        .filter_map(|(series, file, _)| {
            let value = match *file {
                "addr_assign_type" => addr_assign_type,
                "carrier" => link.carrier().map(i64::from),
                "carrier_changes" => n(link.carrier_changes),
                "carrier_up_count" => n(link.carrier_up_count),
                "carrier_down_count" => n(link.carrier_down_count),
                "dev_id" => dev_id,
                "dormant" => link.dormant().map(i64::from),
                "flags" => flags,
                "ifindex" => Some(i64::from(link.index)),
                "iflink" => Some(i64::from(link.iflink.unwrap_or(link.index))),
                "link_mode" => link.link_mode.map(i64::from),
                "mtu" => n(link.mtu),
                "name_assign_type" => name_assign_type,
                "netdev_group" => n(link.group),
                _ => None,
            };
            value.map(|v| (*series, v))
        })
        .collect();
    let (speed, duplex) = speed_and_duplex(dir, &operstate, n(link.carrier_changes), files);
    NetClass {
        name: link.name.clone(),
        operstate,
        address,
        broadcast: link
            .broadcast
            .as_deref()
            .map(hardware_address)
            .unwrap_or_default(),
        duplex,
        ifalias: link.ifalias.clone().unwrap_or_default(),
        speed,
        tx_queue_len: n(link.tx_queue_len),
        protocol_type: Some(i64::from(link.link_type)),
        rx_nohandler: link.rx_nohandler.and_then(|v| i64::try_from(v).ok()),
        numbers,
    }
}

/// Every device, by name: from `links` (the live host's netlink dump)
/// where given, else every device under `/sys/class/net` (its entries
/// other than plain files: devices are symlinks); the attributes of
/// devices gone are let go.
pub fn read_all(
    sys: &Path,
    links: Option<&[Link]>,
    files: &mut FileCache,
) -> Result<Option<Vec<NetClass>>, CollectError> {
    let dir = sys.join("class/net");
    let mut out: Vec<NetClass> = match links {
        Some(links) => links
            .iter()
            .map(|l| from_link(&dir.join(&l.name), l, files))
            .collect(),
        None => {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(CollectError::read(&dir, e)),
            };
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| !t.is_file()))
                .map(|e| read_device(&e.path(), &e.file_name().to_string_lossy(), files))
                .collect()
        }
    };
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
    /// The live host's devices read through netlink are what the whole
    /// sysfs reading gives, every attribute (the counter of unhandled
    /// packets may only have grown between the two).
    #[test]
    fn the_live_host_through_netlink_is_the_live_host_through_sysfs() {
        let sys = std::path::Path::new("/sys");
        let links = crate::collect::links::read_links().unwrap();
        let by_netlink = super::read_all(sys, Some(&links), &mut super::FileCache::new(256))
            .unwrap()
            .unwrap();
        let by_sysfs = super::read_all(sys, None, &mut super::FileCache::new(256))
            .unwrap()
            .unwrap();
        assert!(by_netlink.iter().any(|d| d.name == "lo"), "{by_netlink:?}");
        assert_eq!(by_netlink.len(), by_sysfs.len());
        for (mut n, s) in by_netlink.into_iter().zip(by_sysfs) {
            assert!(n.rx_nohandler <= s.rx_nohandler, "{n:?} {s:?}");
            n.rx_nohandler = s.rx_nohandler;
            assert_eq!(n, s);
        }
    }

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
