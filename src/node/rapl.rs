//! `rapl`: energy counters of the CPU packages and their parts, from the
//! `power` kind's reading.

use futures_util::FutureExt;

use super::util::sanitize;
use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "rapl",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let sample = scrape.sample(crate::kinds::power::sample).await?;
    let Some(zones) = &sample.value().rapl else {
        return Ok(None);
    };
    let mut f = Families::default();
    for (z, _) in zones {
        f.named(
            &format!("node_rapl_{}_joules_total", sanitize(&z.name)),
            format!("Current RAPL {} value in joules", z.name),
            crate::exposition::MetricType::Counter,
        )
        .push(
            [("index", z.index.to_string()), ("path", z.path.clone())],
            z.energy_uj as f64 / 1e6,
        );
    }
    Ok(Some(f))
}
