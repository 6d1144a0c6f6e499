//! `sockstat`: sockets in use per protocol, IPv4 and IPv6.

use super::util::read_optional;
use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::sockstat::{Sockstat, parse_sockstat};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "sockstat",
    read: Read::Files(read),
};

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let v4 = read_optional(&src.roots.proc.join("net/sockstat"))?;
    let v6 = read_optional(&src.roots.proc.join("net/sockstat6"))?;
    if v4.is_none() && v6.is_none() {
        return Ok(None);
    }
    let page = rustix::param::page_size() as u64;
    let mut f = Families::default();
    for text in [v4, v6].into_iter().flatten() {
        families(&mut f, &parse_sockstat(&text)?, page);
    }
    Ok(Some(f))
}

/// node_exporter's series for one file (`mem` is in pages, so
/// `mem_bytes` beside it).
pub fn families(f: &mut Families, s: &Sockstat, page: u64) {
    if let Some(used) = s.used {
        f.gauge("node_sockstat_sockets_used", "Number of IPv4 sockets in use.", used as f64);
    }
    for p in &s.protocols {
        let mut fields: Vec<(&str, u64)> = p.fields.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        if let Some(mem) = p.get("mem") {
            fields.push(("mem_bytes", mem.saturating_mul(page)));
        }
        for (field, value) in fields {
            f.gauge(
                format!("node_sockstat_{}_{field}", p.name),
                format!("Number of {} sockets in state {field}.", p.name),
                value as f64,
            );
        }
    }
}
