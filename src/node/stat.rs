//! `stat`: boot time, context switches, forks, interrupts and runnable or
//! blocked processes, from the metrics sample's reading of `/proc/stat`.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::kinds::metrics;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "stat",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let sample = scrape.sample(crate::kinds::metrics::sample).await?;
    let times = &sample.value().cpu.times;
    let s = times.system;
    let mut f = Families::default();
    if let Some(boot) = times.boot_time_secs {
        f.gauge(
            metrics::BOOT_TIME_SECONDS,
            "Node boot time, in unixtime.",
            boot as f64,
        );
    }
    if let Some(v) = s.context_switches {
        f.counter(
            "node_context_switches_total",
            "Total number of context switches.",
            v as f64,
        );
    }
    if let Some(v) = s.forks {
        f.counter("node_forks_total", "Total number of forks.", v as f64);
    }
    if let Some(v) = s.interrupts {
        f.counter(
            "node_intr_total",
            "Total number of interrupts serviced.",
            v as f64,
        );
    }
    if let Some(v) = s.procs_blocked {
        f.gauge(
            "node_procs_blocked",
            "Number of processes blocked waiting for I/O to complete.",
            v as f64,
        );
    }
    if let Some(v) = s.procs_running {
        f.gauge(
            "node_procs_running",
            "Number of processes in runnable state.",
            v as f64,
        );
    }
    Ok(Some(f))
}
