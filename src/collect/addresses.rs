//! The host's IP addresses per interface (`getifaddrs`, through the
//! `if-addrs` crate).

use serde::Serialize;

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
    Ok(if_addrs::get_if_addrs()?
        .into_iter()
        .map(|i| {
            let (family, address, prefix) = match &i.addr {
                if_addrs::IfAddr::V4(a) => ("ipv4", a.ip.to_string(), a.prefixlen),
                if_addrs::IfAddr::V6(a) => ("ipv6", a.ip.to_string(), a.prefixlen),
            };
            Address {
                interface: i.name,
                family,
                address,
                prefix,
            }
        })
        .collect())
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
}
