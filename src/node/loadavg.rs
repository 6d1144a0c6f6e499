//! `loadavg`: the load averages, from the metrics sample.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "loadavg",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let sample = scrape.sample(crate::kinds::metrics::sample).await?;
    let Some([one, five, fifteen]) = sample.value().load_avg else {
        return Ok(None);
    };
    let mut f = Families::default();
    f.gauge("node_load1", "1m load average.", one);
    f.gauge("node_load15", "15m load average.", fifteen);
    f.gauge("node_load5", "5m load average.", five);
    Ok(Some(f))
}
