//! `cpufreq`: each CPU's frequencies and governor, from
//! the `cpu_frequency` kind's reading.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::collect::cpufreq::CpuFreq;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "cpufreq",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

type Field = fn(&CpuFreq) -> Option<f64>;

/// The frequencies: series, help, field (kHz).
const FREQUENCIES: &[(&str, &str, Field)] = &[
    (
        "node_cpu_frequency_hertz",
        "Current CPU thread frequency in hertz.",
        |c| c.cpuinfo_cur_khz,
    ),
    (
        "node_cpu_frequency_avg_hertz",
        "Average CPU thread frequency in hertz.",
        |c| c.cpuinfo_avg_khz,
    ),
    (
        "node_cpu_frequency_min_hertz",
        "Minimum CPU thread frequency in hertz.",
        |c| c.cpuinfo_min_khz,
    ),
    (
        "node_cpu_frequency_max_hertz",
        "Maximum CPU thread frequency in hertz.",
        |c| c.cpuinfo_max_khz,
    ),
    (
        "node_cpu_scaling_frequency_hertz",
        "Current scaled CPU thread frequency in hertz.",
        |c| c.scaling_cur_khz,
    ),
    (
        "node_cpu_scaling_frequency_min_hertz",
        "Minimum scaled CPU thread frequency in hertz.",
        |c| c.scaling_min_khz,
    ),
    (
        "node_cpu_scaling_frequency_max_hertz",
        "Maximum scaled CPU thread frequency in hertz.",
        |c| c.scaling_max_khz,
    ),
];

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    Ok(scrape
        .sample(crate::kinds::cpu_frequency::sample)
        .await?
        .value()
        .as_deref()
        .map(families))
}

/// node_exporter's series for `cpus`.
pub fn families(cpus: &[CpuFreq]) -> Families {
    let mut f = Families::default();
    for (name, help, field) in FREQUENCIES {
        let family = f.gauge_family(*name, *help);
        for c in cpus {
            if let Some(khz) = field(c) {
                family.push([("cpu", c.cpu.as_str())], khz * 1000.0);
            }
        }
    }
    let governors = f.gauge_family(
        "node_cpu_scaling_governor",
        "Current enabled CPU frequency governor.",
    );
    for c in cpus.iter().filter(|c| !c.governor.is_empty()) {
        for g in c.available_governors.split(' ') {
            let on = if g == c.governor { 1.0 } else { 0.0 };
            governors.push([("cpu", c.cpu.as_str()), ("governor", g)], on);
        }
    }
    f
}
