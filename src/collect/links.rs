//! The network devices and their addresses as routing netlink reports
//! them: one `RTM_GETLINK` dump for every device's state, MTU, flags,
//! carrier counts and address, one `RTM_GETADDR` dump for every IP
//! address. Reading the same from sysfs takes a file read per attribute
//! per device (about twenty for each), each under the kernel's locks.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::netlink::{self, Protocol, attributes, u32_at, u64_at};

const RTM_GETLINK: u16 = 18;
const RTM_GETADDR: u16 = 22;
/// `struct ifinfomsg` and `struct ifaddrmsg`: what comes before the
/// attributes.
const IFINFOMSG: usize = 16;
const IFADDRMSG: usize = 8;

const IFLA_ADDRESS: u16 = 1;
const IFLA_BROADCAST: u16 = 2;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_TXQLEN: u16 = 13;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKMODE: u16 = 17;
const IFLA_IFALIAS: u16 = 20;
const IFLA_STATS64: u16 = 23;
const IFLA_GROUP: u16 = 27;
const IFLA_PROMISCUITY: u16 = 30;
const IFLA_CARRIER_CHANGES: u16 = 35;
const IFLA_CARRIER_UP_COUNT: u16 = 47;
const IFLA_CARRIER_DOWN_COUNT: u16 = 48;
const IFLA_ALLMULTI: u16 = 61;
/// `rx_nohandler`'s place in `struct rtnl_link_stats64` (the 24th
/// counter).
const STATS64_RX_NOHANDLER: usize = 23 * 8;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;

const IFF_UP: u32 = 0x1;
const IFF_PROMISC: u32 = 0x100;
const IFF_ALLMULTI: u32 = 0x200;
const IFF_RUNNING: u32 = 0x40;
const IFF_LOWER_UP: u32 = 0x1_0000;
const IFF_DORMANT: u32 = 0x2_0000;

/// `IF_OPER_*` by number, as sysfs' `operstate` names them.
const OPERSTATES: [&str; 7] = [
    "unknown",
    "notpresent",
    "down",
    "lowerlayerdown",
    "testing",
    "dormant",
    "up",
];

/// One network device as `RTM_NEWLINK` describes it. An attribute the
/// kernel did not send is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    /// `ifindex`.
    pub index: u32,
    pub name: String,
    /// `ARPHRD_*`.
    pub link_type: u16,
    /// The flags as netlink gives them: the device's own with the
    /// volatile ones (`IFF_RUNNING`, `IFF_LOWER_UP`, `IFF_DORMANT`) worked
    /// out, and only the promiscuous and all-multicast modes asked for by
    /// name.
    pub flags: u32,
    pub mtu: Option<u32>,
    /// The device this one is stacked on, where it is another.
    pub iflink: Option<u32>,
    pub tx_queue_len: Option<u32>,
    /// `IF_OPER_*`.
    pub operstate: Option<u8>,
    pub link_mode: Option<u8>,
    pub address: Option<Vec<u8>>,
    pub broadcast: Option<Vec<u8>>,
    pub ifalias: Option<String>,
    pub group: Option<u32>,
    pub carrier_changes: Option<u32>,
    pub carrier_up_count: Option<u32>,
    pub carrier_down_count: Option<u32>,
    /// How many asked for promiscuous mode (a packet capture counts).
    pub promiscuity: Option<u32>,
    /// How many asked for all multicast (kernels from 6.0 on say).
    pub allmulti: Option<u32>,
    /// Packets dropped for want of a protocol handler.
    pub rx_nohandler: Option<u64>,
}

impl Link {
    /// Up (administratively): the kernel answers carrier and dormant
    /// only then.
    pub fn up(&self) -> bool {
        self.flags & IFF_UP != 0
    }

    /// The carrier, while up (sysfs' `carrier`): from the flags rather
    /// than `IFLA_CARRIER`, which the kernel sends whatever the state.
    pub fn carrier(&self) -> Option<bool> {
        self.up().then_some(self.flags & IFF_LOWER_UP != 0)
    }

    /// Dormant, while up (sysfs' `dormant`).
    pub fn dormant(&self) -> Option<bool> {
        self.up().then_some(self.flags & IFF_DORMANT != 0)
    }

    /// The device's own flags, as sysfs' `flags` shows them: without the
    /// volatile ones, and promiscuous or all-multicast whenever anyone
    /// asked for it. `None` where the kernel does not say how many asked
    /// for all multicast (before 6.0).
    pub fn device_flags(&self) -> Option<u32> {
        let modes = |count: u32, flag: u32| if count > 0 { flag } else { 0 };
        Some(
            (self.flags & !(IFF_RUNNING | IFF_LOWER_UP | IFF_DORMANT | IFF_PROMISC | IFF_ALLMULTI))
                | modes(self.promiscuity?, IFF_PROMISC)
                | modes(self.allmulti?, IFF_ALLMULTI),
        )
    }

    /// `operstate` as sysfs names it.
    pub fn operstate_name(&self) -> &'static str {
        self.operstate
            .and_then(|s| OPERSTATES.get(usize::from(s)))
            .copied()
            .unwrap_or("unknown")
    }
}

/// A hardware address as sysfs writes it: hex bytes joined by colons.
pub fn hardware_address(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        let sep = if i > 0 { ":" } else { "" };
        let _ = write!(out, "{sep}{b:02x}");
    }
    out
}

fn text(payload: &[u8]) -> String {
    let end = payload
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(payload.len());
    String::from_utf8_lossy(&payload[..end]).into_owned()
}

/// One `RTM_NEWLINK` message's body. Pure, for tests.
pub fn parse_link(body: &[u8]) -> Option<Link> {
    let mut link = Link {
        link_type: u16::from_ne_bytes(body.get(2..4)?.try_into().ok()?),
        index: u32_at(body, 4)?,
        flags: u32_at(body, 8)?,
        ..Link::default()
    };
    for (kind, p) in attributes(body.get(IFINFOMSG..)?) {
        let word = || u32_at(p, 0);
        match kind {
            IFLA_ADDRESS => link.address = Some(p.to_vec()),
            IFLA_BROADCAST => link.broadcast = Some(p.to_vec()),
            IFLA_IFNAME => link.name = text(p),
            IFLA_MTU => link.mtu = word(),
            IFLA_LINK => link.iflink = word(),
            IFLA_TXQLEN => link.tx_queue_len = word(),
            IFLA_OPERSTATE => link.operstate = p.first().copied(),
            IFLA_LINKMODE => link.link_mode = p.first().copied(),
            IFLA_IFALIAS => link.ifalias = Some(text(p)),
            IFLA_STATS64 => link.rx_nohandler = u64_at(p, STATS64_RX_NOHANDLER),
            IFLA_GROUP => link.group = word(),
            IFLA_PROMISCUITY => link.promiscuity = word(),
            IFLA_CARRIER_CHANGES => link.carrier_changes = word(),
            IFLA_CARRIER_UP_COUNT => link.carrier_up_count = word(),
            IFLA_CARRIER_DOWN_COUNT => link.carrier_down_count = word(),
            IFLA_ALLMULTI => link.allmulti = word(),
            _ => {}
        }
    }
    (!link.name.is_empty()).then_some(link)
}

/// Every network device of the agent's network namespace, in the
/// kernel's order (by index).
pub fn read_links() -> io::Result<Vec<Link>> {
    route_dump(RTM_GETLINK, IFINFOMSG, parse_link)
}

/// A routing dump of message type `kind` (its request an all-zero header
/// of `header` bytes: every family, every device), each answer parsed.
fn route_dump<T>(kind: u16, header: usize, parse: fn(&[u8]) -> Option<T>) -> io::Result<Vec<T>> {
    let mut out = Vec::new();
    let request = netlink::request(kind, header);
    netlink::dump(Protocol::Route, &request, &mut |body| {
        out.extend(parse(body))
    })?;
    Ok(out)
}

/// One IP address of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpOf {
    /// The device's index.
    pub index: u32,
    pub address: IpAddr,
    pub prefix: u8,
    /// An IPv4 address's label (`eth0:1`), where it has one.
    pub label: Option<String>,
}

/// One `RTM_NEWADDR` message's body: the local address (on a
/// point-to-point link `IFA_ADDRESS` is the peer's), else the address.
/// Pure, for tests.
pub fn parse_address(body: &[u8]) -> Option<IpOf> {
    let family = *body.first()?;
    let prefix = *body.get(1)?;
    let index = u32_at(body, 4)?;
    let ip = |p: &[u8]| -> Option<IpAddr> {
        match i32::from(family) {
            libc::AF_INET => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(p).ok()?))),
            libc::AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(p).ok()?))),
            _ => None,
        }
    };
    let (mut local, mut address, mut label) = (None, None, None);
    for (kind, p) in attributes(body.get(IFADDRMSG..)?) {
        match kind {
            IFA_LOCAL => local = ip(p),
            IFA_ADDRESS => address = ip(p),
            IFA_LABEL => label = Some(text(p)),
            _ => {}
        }
    }
    Some(IpOf {
        index,
        address: local.or(address)?,
        prefix,
        label,
    })
}

/// Every IP address of the agent's network namespace, IPv4 then IPv6,
/// in the kernel's order.
pub fn read_addresses() -> io::Result<Vec<IpOf>> {
    route_dump(RTM_GETADDR, IFADDRMSG, parse_address)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::netlink::tests::attribute;

    fn ifinfo(kind: u16, index: u32, flags: u32) -> Vec<u8> {
        let mut b = vec![0u8; IFINFOMSG];
        b[2..4].copy_from_slice(&kind.to_ne_bytes());
        b[4..8].copy_from_slice(&index.to_ne_bytes());
        b[8..12].copy_from_slice(&flags.to_ne_bytes());
        b
    }

    /// An Ethernet device, up, with carrier, a packet capture running
    /// (promiscuous by count, not by the admin's flag).
    #[test]
    fn a_link_message_gives_what_sysfs_would() {
        let mut b = ifinfo(1, 2, 0x1003 | IFF_RUNNING | IFF_LOWER_UP);
        b.extend(attribute(IFLA_IFNAME, b"eth0\0"));
        b.extend(attribute(IFLA_MTU, &1500u32.to_ne_bytes()));
        b.extend(attribute(IFLA_TXQLEN, &1000u32.to_ne_bytes()));
        b.extend(attribute(IFLA_OPERSTATE, &[6]));
        b.extend(attribute(IFLA_LINKMODE, &[0]));
        b.extend(attribute(IFLA_ADDRESS, &[0x52, 0x54, 0, 0x12, 0x34, 0xab]));
        b.extend(attribute(IFLA_BROADCAST, &[0xff; 6]));
        b.extend(attribute(IFLA_CARRIER_CHANGES, &3u32.to_ne_bytes()));
        b.extend(attribute(IFLA_CARRIER_UP_COUNT, &2u32.to_ne_bytes()));
        b.extend(attribute(IFLA_CARRIER_DOWN_COUNT, &1u32.to_ne_bytes()));
        b.extend(attribute(IFLA_PROMISCUITY, &1u32.to_ne_bytes()));
        b.extend(attribute(IFLA_ALLMULTI, &0u32.to_ne_bytes()));
        let mut stats = vec![0u8; 25 * 8];
        stats[STATS64_RX_NOHANDLER..STATS64_RX_NOHANDLER + 8].copy_from_slice(&7u64.to_ne_bytes());
        b.extend(attribute(IFLA_STATS64, &stats));
        let l = parse_link(&b).unwrap();
        assert_eq!((l.index, l.name.as_str(), l.link_type), (2, "eth0", 1));
        assert_eq!(
            (l.mtu, l.tx_queue_len, l.iflink),
            (Some(1500), Some(1000), None)
        );
        assert_eq!(l.operstate_name(), "up");
        assert_eq!(
            hardware_address(l.address.as_deref().unwrap()),
            "52:54:00:12:34:ab"
        );
        assert_eq!((l.carrier(), l.dormant()), (Some(true), Some(false)));
        assert_eq!(l.device_flags(), Some(0x1103));
        assert_eq!(l.rx_nohandler, Some(7));
        assert_eq!(l.carrier_changes, Some(3));
        // Down: no carrier, no dormancy, as sysfs refuses them then.
        let down = parse_link(&[ifinfo(1, 2, 0x1002), attribute(IFLA_IFNAME, b"eth0\0")].concat());
        assert_eq!(down.map(|l| (l.carrier(), l.dormant())), Some((None, None)));
    }

    #[test]
    fn an_older_kernel_without_the_allmulti_count_gives_no_flags() {
        let mut b = ifinfo(772, 1, 0x49);
        b.extend(attribute(IFLA_IFNAME, b"lo\0"));
        b.extend(attribute(IFLA_PROMISCUITY, &0u32.to_ne_bytes()));
        assert_eq!(parse_link(&b).unwrap().device_flags(), None);
    }

    #[test]
    fn an_address_message_gives_the_local_address_and_its_label() {
        let mut b = vec![libc::AF_INET as u8, 32, 0, 0];
        b.extend(5u32.to_ne_bytes());
        b.extend(attribute(IFA_ADDRESS, &[10, 0, 0, 2]));
        b.extend(attribute(IFA_LOCAL, &[10, 0, 0, 1]));
        b.extend(attribute(IFA_LABEL, b"ppp0\0"));
        let a = parse_address(&b).unwrap();
        assert_eq!(a.address, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(
            (a.index, a.prefix, a.label.as_deref()),
            (5, 32, Some("ppp0"))
        );
        let mut v6 = vec![libc::AF_INET6 as u8, 128, 0, 0];
        v6.extend(1u32.to_ne_bytes());
        v6.extend(attribute(IFA_ADDRESS, &Ipv6Addr::LOCALHOST.octets()));
        assert_eq!(
            parse_address(&v6).unwrap().address,
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        );
    }

    /// The live host: the loopback device is there with its address, and
    /// every attribute the netclass collector takes from netlink is what
    /// sysfs says (the sysfs this namespace sees: `/sys/class/net`).
    #[test]
    fn the_live_host_says_in_netlink_what_sysfs_says() {
        let links = read_links().unwrap();
        let lo = links.iter().find(|l| l.name == "lo").unwrap();
        assert!(
            read_addresses()
                .unwrap()
                .iter()
                .any(|a| a.index == lo.index && a.address == IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        for l in &links {
            let dir = std::path::Path::new("/sys/class/net").join(&l.name);
            if !dir.exists() {
                continue;
            }
            let sysfs = |f: &str| {
                std::fs::read_to_string(dir.join(f))
                    .ok()
                    .map(|s| s.trim_end().to_owned())
            };
            let n = |v: Option<u32>| v.map(|v| v.to_string());
            assert_eq!(
                Some(l.operstate_name().to_owned()),
                sysfs("operstate"),
                "{l:?}"
            );
            assert_eq!(n(l.mtu), sysfs("mtu"), "{}", l.name);
            assert_eq!(Some(l.index.to_string()), sysfs("ifindex"), "{}", l.name);
            assert_eq!(
                Some(l.iflink.unwrap_or(l.index).to_string()),
                sysfs("iflink")
            );
            assert_eq!(n(l.tx_queue_len), sysfs("tx_queue_len"), "{}", l.name);
            assert_eq!(Some(l.link_type.to_string()), sysfs("type"), "{}", l.name);
            assert_eq!(l.link_mode.map(|m| m.to_string()), sysfs("link_mode"));
            assert_eq!(n(l.group), sysfs("netdev_group"), "{}", l.name);
            assert_eq!(n(l.carrier_changes), sysfs("carrier_changes"), "{}", l.name);
            assert_eq!(n(l.carrier_up_count), sysfs("carrier_up_count"));
            assert_eq!(n(l.carrier_down_count), sysfs("carrier_down_count"));
            let bool01 = |b: Option<bool>| b.map(|b| u8::from(b).to_string());
            assert_eq!(bool01(l.carrier()), sysfs("carrier"), "{}", l.name);
            assert_eq!(bool01(l.dormant()), sysfs("dormant"), "{}", l.name);
            assert_eq!(
                l.address
                    .as_deref()
                    .map(hardware_address)
                    .unwrap_or_default(),
                sysfs("address").unwrap_or_default(),
                "{}",
                l.name
            );
            assert_eq!(
                l.broadcast
                    .as_deref()
                    .map(hardware_address)
                    .unwrap_or_default(),
                sysfs("broadcast").unwrap_or_default()
            );
            assert_eq!(
                l.ifalias.clone().unwrap_or_default(),
                sysfs("ifalias").unwrap_or_default()
            );
            if let Some(flags) = l.device_flags() {
                assert_eq!(Some(format!("{flags:#x}")), sysfs("flags"), "{}", l.name);
            }
        }
    }
}
