//! The host's IP addresses per interface, from routing netlink (what
//! `getifaddrs` asks too, without its second dump of every device's
//! statistics: the names come from the links' dump).

use serde::Serialize;

use super::links::{IpOf, Link};

/// One address of one interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    /// The interface, e.g. `eth0`.
    pub interface: String,
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    /// The address, e.g. `192.0.2.7` or `fe80::1`.
    pub address: String,
    /// Prefix length, e.g. 24.
    pub prefix: u8,
}

/// Every address of every interface, loopback included, in the kernel's
/// order. A failure (no netlink, a sandbox) is an error for the caller to
/// report.
pub fn read() -> std::io::Result<Vec<Address>> {
    Ok(of(
        &super::links::read_links()?,
        super::links::read_addresses()?,
    ))
}

/// The addresses named by their devices in `links` (an IPv4 address by
/// its label, `eth0:1`, where it has one, as `getifaddrs` names it); one
/// whose device is not in `links` (gone between the two dumps) is left
/// out.
pub fn of(links: &[Link], ips: Vec<IpOf>) -> Vec<Address> {
    ips.into_iter()
        .filter_map(|a| {
            let interface = match a.label {
                Some(label) => label,
                None => links.iter().find(|l| l.index == a.index)?.name.clone(),
            };
            Some(Address {
                interface,
                family: if a.address.is_ipv4() { "ipv4" } else { "ipv6" },
                address: a.address.to_string(),
                prefix: a.prefix,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_loopback_address_is_there() {
        let all = super::read().unwrap();
        assert!(
            all.iter()
                .any(|a| a.interface == "lo" && a.address == "127.0.0.1" && a.prefix == 8),
            "{all:?}"
        );
    }

    /// The same addresses, names and prefixes as iproute2 lists (`ip -o
    /// addr`: its own netlink reader; it orders them by device).
    #[test]
    fn the_addresses_are_those_iproute2_lists() {
        let Ok(out) = std::process::Command::new("ip")
            .args(["-o", "addr", "show"])
            .output()
        else {
            eprintln!("skipped: no `ip` here to compare with");
            return;
        };
        let mut theirs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let (family, cidr) = (f.get(2)?, f.get(3)?);
                // An IPv4 line ends with its label before the lifetimes.
                let name = if *family == "inet" {
                    f.iter()
                        .take_while(|w| **w != "valid_lft")
                        .last()?
                        .trim_end_matches('\\')
                } else {
                    f.get(1)?
                };
                Some(format!("{name} {family} {cidr}"))
            })
            .collect();
        let mut ours: Vec<String> = super::read()
            .unwrap()
            .iter()
            .map(|a| {
                let family = if a.family == "ipv4" { "inet" } else { "inet6" };
                format!("{} {family} {}/{}", a.interface, a.address, a.prefix)
            })
            .collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs);
    }
}
