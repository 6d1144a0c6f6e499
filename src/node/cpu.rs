//! `cpu`: seconds per CPU and mode, and guest seconds, from the metrics
//! sample's reading of `/proc/stat`.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::collect::cpu::MODES;
use crate::kinds::metrics;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "cpu",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let sample = scrape.sample(crate::kinds::metrics::sample).await?;
    let state = scrape.state;
    let m = sample.value();
    let ticks = state.clock().ticks_per_sec.max(1) as f64;
    let mut f = Families::default();
    let guest = f.counter_family(
        "node_cpu_guest_seconds_total",
        "Seconds the CPUs spent in guests (VMs) for each mode.",
    );
    for (cpu, j) in &m.cpu.times.cores {
        for (mode, jiffies) in ["nice", "user"].iter().zip([j.guest[1], j.guest[0]]) {
            guest.push(
                [("cpu", cpu.to_string()), ("mode", (*mode).to_owned())],
                jiffies as f64 / ticks,
            );
        }
    }
    let seconds = f.counter_family(metrics::CPU_SECONDS, "Seconds the CPUs spent in each mode.");
    for (cpu, j) in &m.cpu.times.cores {
        for (mode, jiffies) in MODES.iter().zip(j.modes) {
            seconds.push(
                [("cpu", cpu.to_string()), ("mode", (*mode).to_owned())],
                jiffies as f64 / ticks,
            );
        }
    }
    Ok(Some(f))
}
