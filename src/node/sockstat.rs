//! `sockstat`: sockets in use per protocol, IPv4 and IPv6, from the
//! `sockets` kind's reading.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::collect::sockstat::Sockstat;
use crate::exposition::Interned;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "sockstat",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let sample = scrape.sample(crate::kinds::sockets::sockstats).await?;
    let (v4, v6) = sample.value();
    if v4.is_none() && v6.is_none() {
        return Ok(None);
    }
    let page = rustix::param::page_size() as u64;
    let mut f = Families::default();
    for s in v4.iter().chain(v6) {
        families(&mut f, s, page);
    }
    Ok(Some(f))
}

static NAMES: Interned = Interned::new();

/// node_exporter's series for one file (`mem` is in pages, so
/// `mem_bytes` beside it).
pub fn families(f: &mut Families, s: &Sockstat, page: u64) {
    if let Some(used) = s.used {
        f.gauge(
            "node_sockstat_sockets_used",
            "Number of IPv4 sockets in use.",
            used as f64,
        );
    }
    let mut key = String::new();
    for p in &s.protocols {
        let mut fields: Vec<(&str, u64)> = p.fields.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        if let Some(mem) = p.get("mem") {
            fields.push(("mem_bytes", mem.saturating_mul(page)));
        }
        for (field, value) in fields {
            key.clear();
            key.push_str(&p.name);
            key.push(' ');
            key.push_str(field);
            let (name, help) = NAMES.get(&key, || {
                (
                    format!("node_sockstat_{}_{field}", p.name),
                    format!("Number of {} sockets in state {field}.", p.name),
                )
            });
            f.gauge(name, help, value as f64);
        }
    }
}
