//! `ipvs`: the IP Virtual Server's totals (`/proc/net/ip_vs_stats`) and
//! each backend's connections and weight (`/proc/net/ip_vs`), backends
//! with the same labels summed, as node_exporter serves them.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Families, NodeCollector, Read, Source};
use crate::collect::{CollectError, ParseError};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "ipvs",
    read: Read::Files(read),
};

/// `/proc/net/ip_vs_stats`'s totals: connections, incoming and outgoing
/// packets, incoming and outgoing bytes.
pub fn parse_stats(text: &str) -> Result<[u64; 5], ParseError> {
    let bad = |why: &str| ParseError::new("/proc/net/ip_vs_stats", why.to_owned());
    let line = text.lines().nth(2).ok_or_else(|| bad("no totals line"))?;
    let mut out = [0u64; 5];
    let mut fields = line.split_whitespace();
    for slot in &mut out {
        let f = fields.next().ok_or_else(|| bad("fewer than 5 totals"))?;
        *slot = u64::from_str_radix(f, 16).map_err(|_| bad("a total is not hex"))?;
    }
    Ok(out)
}

/// One backend of `/proc/net/ip_vs`, as node_exporter labels it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The service's address (empty for a firewall-mark service).
    pub local_address: String,
    /// Its port (0 for a firewall-mark service).
    pub local_port: u16,
    /// `TCP`, `UDP`, `SCTP` or `FWM`.
    pub proto: String,
    /// The firewall mark, hex as the kernel writes it (empty otherwise).
    pub local_mark: String,
    /// The backend's address.
    pub remote_address: String,
    /// Its port.
    pub remote_port: u16,
    /// Its weight.
    pub weight: u64,
    /// Active connections.
    pub active: u64,
    /// Inactive connections.
    pub inactive: u64,
}

/// `C0A80016:0CEA` (IPv4) or `[2620:0000:...]:0050` (IPv6) as an address
/// and a port.
fn address(text: &str) -> Option<(String, u16)> {
    let (addr, port) = text.rsplit_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let addr = if let Some(v6) = addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')) {
        v6.parse::<Ipv6Addr>().ok()?.to_string()
    } else {
        Ipv4Addr::from(u32::from_str_radix(addr, 16).ok()?).to_string()
    };
    Some((addr, port))
}

/// `/proc/net/ip_vs`'s backends, each with its service.
pub fn parse_backends(text: &str) -> Result<Vec<Backend>, ParseError> {
    let bad =
        |n: usize, why: &str| ParseError::new("/proc/net/ip_vs", format!("line {}: {why}", n + 1));
    let mut out = Vec::new();
    let mut service: Option<(String, u16, String, String)> = None;
    for (n, line) in text.lines().enumerate().skip(3) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["->", remote, _forward, weight, active, inactive, ..] => {
                let (local_address, local_port, proto, local_mark) = service
                    .clone()
                    .ok_or_else(|| bad(n, "a backend before any service"))?;
                let (remote_address, remote_port) =
                    address(remote).ok_or_else(|| bad(n, "not an address"))?;
                let num = |f: &str| f.parse::<u64>().map_err(|_| bad(n, "not a number"));
                out.push(Backend {
                    local_address,
                    local_port,
                    proto,
                    local_mark,
                    remote_address,
                    remote_port,
                    weight: num(weight)?,
                    active: num(active)?,
                    inactive: num(inactive)?,
                });
            }
            ["FWM", mark, ..] => {
                service = Some((String::new(), 0, "FWM".to_owned(), (*mark).to_owned()));
            }
            [proto, local, ..] => {
                let (addr, port) = address(local).ok_or_else(|| bad(n, "not an address"))?;
                service = Some((addr, port, (*proto).to_owned(), String::new()));
            }
            _ => {}
        }
    }
    Ok(out)
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let net = src.roots.proc.join("net");
    let Some(stats) = src.read_optional(&net.join("ip_vs_stats"))? else {
        return Ok(None);
    };
    let totals = parse_stats(&stats)?;
    let backends = parse_backends(&src.read(&net.join("ip_vs"))?)?;
    Ok(Some(families(totals, &backends)))
}

fn families(totals: [u64; 5], backends: &[Backend]) -> Families {
    let mut f = Families::default();
    let names = [
        (
            "node_ipvs_connections_total",
            "The total number of connections made.",
        ),
        (
            "node_ipvs_incoming_packets_total",
            "The total number of incoming packets.",
        ),
        (
            "node_ipvs_outgoing_packets_total",
            "The total number of outgoing packets.",
        ),
        (
            "node_ipvs_incoming_bytes_total",
            "The total amount of incoming data.",
        ),
        (
            "node_ipvs_outgoing_bytes_total",
            "The total amount of outgoing data.",
        ),
    ];
    for ((name, help), v) in names.into_iter().zip(totals) {
        f.counter(name, help, v as f64);
    }
    // Backends whose labels are the same are one series, summed.
    let mut sums: BTreeMap<[String; 6], [u64; 3]> = BTreeMap::new();
    for b in backends {
        let key = [
            b.local_address.clone(),
            b.local_port.to_string(),
            b.remote_address.clone(),
            b.remote_port.to_string(),
            b.proto.clone(),
            b.local_mark.clone(),
        ];
        let sum = sums.entry(key).or_default();
        sum[0] += b.active;
        sum[1] += b.inactive;
        sum[2] += b.weight;
    }
    let label_names = [
        "local_address",
        "local_port",
        "remote_address",
        "remote_port",
        "proto",
        "local_mark",
    ];
    let per_backend = [
        (
            "node_ipvs_backend_connections_active",
            "The current active connections by local and remote address.",
        ),
        (
            "node_ipvs_backend_connections_inactive",
            "The current inactive connections by local and remote address.",
        ),
        (
            "node_ipvs_backend_weight",
            "The current backend weight by local and remote address.",
        ),
    ];
    for (i, (name, help)) in per_backend.into_iter().enumerate() {
        let family = f.gauge_family(name, help);
        for (key, sum) in &sums {
            let labels = label_names
                .iter()
                .copied()
                .zip(key.iter().map(String::as_str));
            family.push(labels, sum[i] as f64);
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP_VS: &str = "IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  C0A80016:0CEA wlc
  -> C0A85216:0CEA      Tunnel  100    248        2
FWM  10001000 wlc
  -> C0A8321A:0CEA      Tunnel  20     64         1
UDP  [2620:0000:0000:0000:0000:0000:0000:0001]:0035 rr
  -> [2620:0000:0000:0000:0000:0000:0000:0002]:0035      Masq    1      0          0
";

    #[test]
    fn backends_with_their_services() {
        let b = parse_backends(IP_VS).unwrap();
        assert_eq!(b.len(), 3);
        assert_eq!(
            (
                b[0].local_address.as_str(),
                b[0].local_port,
                b[0].remote_address.as_str(),
                b[0].active
            ),
            ("192.168.0.22", 3306, "192.168.82.22", 248)
        );
        assert_eq!(
            (
                b[1].proto.as_str(),
                b[1].local_mark.as_str(),
                b[1].local_address.as_str(),
                b[1].weight
            ),
            ("FWM", "10001000", "", 20)
        );
        assert_eq!(
            (b[2].local_address.as_str(), b[2].remote_port),
            ("2620::1", 53)
        );
        assert!(
            parse_backends("a\nb\nc\n  -> C0A8:0001 x 1 2 3\n").is_err(),
            "a backend before a service"
        );
    }

    #[test]
    fn totals_are_hex() {
        let text = "   Total Incoming Outgoing         Incoming         Outgoing\n   Conns  Packets  Packets            Bytes            Bytes\n 16AA370 E33656E5        0     51D8C8883AB3                0\n";
        assert_eq!(
            parse_stats(text).unwrap(),
            [0x16AA370, 0xE33656E5, 0, 0x51D8C8883AB3, 0]
        );
        assert!(parse_stats("x\ny\nzz\n").is_err());
    }
}
