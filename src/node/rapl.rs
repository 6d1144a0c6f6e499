//! `rapl`: energy counters of the CPU packages and their parts, from
//! [`crate::collect::rapl`].

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use super::util::sanitize;
use crate::collect::rapl;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "rapl",
    read: Read::Files(read),
};

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let Some(zones) = rapl::read(src.roots) else {
        return Ok(None);
    };
    let mut f = Families::default();
    for z in &zones {
        f.named(
            &format!("node_rapl_{}_joules_total", sanitize(&z.name)),
            format!("Current RAPL {} value in joules", z.name),
            prometheus_client::metrics::MetricType::Counter,
        )
        .push(
            [("index", z.index.to_string()), ("path", z.path.clone())],
            z.energy_uj as f64 / 1e6,
        );
    }
    Ok(Some(f))
}
