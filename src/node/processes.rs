//! `processes`: processes per state, threads and the PID limits, from the
//! process scan the `processes` kind does. Off by default, as in
//! node_exporter: at a scrape interval the kind's cache is cold, so each
//! scrape is a walk of every PID (about 2 µs a process: 20 ms on a host of
//! 10,000).

use std::collections::BTreeMap;

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "processes",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let sample = scrape.sample(crate::kinds::processes::sample).await?;
    let state = scrape.state;
    let table = sample.value();
    let mut states: BTreeMap<char, u64> = BTreeMap::new();
    let mut threads = 0u64;
    for row in &table.rows {
        *states.entry(row.state).or_default() += 1;
        threads += u64::from(row.threads);
    }
    // Two sysctls: a few microseconds, read here rather than sent to the
    // blocking pool.
    let limit = |file: &str| {
        std::fs::read_to_string(state.roots().proc.join("sys/kernel").join(file))
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok())
    };
    let mut f = Families::default();
    f.gauge(
        "node_processes_threads",
        "Allocated threads in system",
        threads as f64,
    );
    if let Some(max) = limit("threads-max") {
        f.gauge(
            "node_processes_max_threads",
            "Limit of threads in the system",
            max,
        );
    }
    let by_state = f.gauge_family("node_processes_state", "Number of processes in each state.");
    for (s, n) in states {
        by_state.push([("state", s.to_string())], n as f64);
    }
    f.gauge(
        "node_processes_pids",
        "Number of PIDs",
        table.rows.len() as f64,
    );
    if let Some(max) = limit("pid_max") {
        f.gauge(
            "node_processes_max_processes",
            "Number of max PIDs limit",
            max,
        );
    }
    Ok(Some(f))
}
