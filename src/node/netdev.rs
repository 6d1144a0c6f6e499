//! `netdev`: every `/proc/net/dev` column per device, from the metrics
//! sample's reading.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::collect::network::COLUMNS;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "netdev",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let sample = scrape.sample(crate::kinds::metrics::sample).await?;
    let state = scrape.state;
    let exclude = state.config.exporter.netdev_device_exclude.as_ref();
    let devices: Vec<_> = sample
        .value()
        .networks
        .iter()
        .filter(|n| exclude.is_none_or(|re| !re.is_match(&n.name)))
        .collect();
    let mut f = Families::default();
    for (i, column) in COLUMNS.iter().enumerate() {
        let family = f.counter_family(
            format!("node_network_{column}_total"),
            format!("Network device statistic {column}."),
        );
        for d in &devices {
            family.push([("device", d.name.as_str())], d.counters[i] as f64);
        }
    }
    Ok(Some(f))
}
