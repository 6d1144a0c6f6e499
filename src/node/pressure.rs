//! `pressure`: total stall time per resource, from the `pressure` kind's
//! reading of `/proc/pressure`.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::collect::pressure::Pressure;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "pressure",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let sample = scrape.sample(crate::kinds::pressure::sample).await?;
    let found = sample.value().present();
    if found.is_empty() {
        return Ok(None);
    }
    Ok(Some(families(&found)))
}

/// node_exporter's series: `some` is "waiting", `full` is "stalled"; CPU
/// has only waiting, IRQ only stalled.
pub fn families(found: &[(&str, Pressure)]) -> Families {
    let mut f = Families::default();
    let seconds = |s: Option<crate::collect::pressure::Stall>| s.map(|s| s.total_us as f64 / 1e6);
    for (resource, p) in found {
        let (waiting, stalled) = match *resource {
            "cpu" => (seconds(p.some), None),
            "irq" => (None, seconds(p.full)),
            _ => (seconds(p.some), seconds(p.full)),
        };
        let what = match *resource {
            "cpu" => "for CPU time",
            "io" => "due to IO congestion",
            "memory" => "for memory",
            _ => "due to IRQ",
        };
        if let Some(v) = waiting {
            f.counter(
                format!("node_pressure_{resource}_waiting_seconds_total"),
                format!("Total time in seconds that processes have waited {what}"),
                v,
            );
        }
        if let Some(v) = stalled {
            let what = match *resource {
                "io" => "due to IO congestion",
                "memory" => "due to memory congestion",
                _ => "due to IRQ congestion",
            };
            f.counter(
                format!("node_pressure_{resource}_stalled_seconds_total"),
                format!("Total time in seconds no process could make progress {what}"),
                v,
            );
        }
    }
    f
}
