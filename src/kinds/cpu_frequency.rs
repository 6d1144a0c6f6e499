//! The `cpu_frequency` kind (`{"type":"cpu_frequency"}` /
//! `get_cpu_frequency`): each logical CPU's current, minimum and maximum
//! frequency in MHz with its governor and driver; `/api/cpu_frequency`;
//! its `sonde check` line. The same reading serves node_exporter's cpufreq
//! collector.

use bytes::Bytes;
use futures_util::FutureExt;
use serde::Serialize;

use super::loaded;
use super::plain;
use crate::cache::Sample;
use crate::collect::cpufreq::{self, CpuFreq};
use crate::collect::sysfs::Kept;
use crate::collect::{CollectError, Roots};
use crate::state::{AppState, Args, CheckLine, Context, Kind, Part, Shared};
use crate::wire::to_json;

/// The request's name.
pub const NAME: &str = "cpu_frequency";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_cpu_frequency",
    args: Args::None,
    summary: "CPU frequency and governor per logical CPU",
    ttl: |c| c.ttl.metrics(),
    part,
    reply: Some(plain::reply::<Json>),
    path: "/api/cpu_frequency",
    api: Some(plain::api::<Json>),
    series: None,
    select: None,
    check: Some(|state| check(state).boxed()),
};

/// One sample: each CPU with cpufreq (`None` without
/// `/sys/devices/system/cpu`; empty in most VMs).
pub type Frequencies = Option<Vec<CpuFreq>>;

/// This kind as a plain JSON kind ([`plain::Plain`]): its reply and
/// `/api` handler are the shared ones.
pub struct Json;

impl plain::Plain for Json {
    type Value = Frequencies;
    const KIND: &'static Kind = &KIND;
    fn sample(
        state: &AppState,
    ) -> impl std::future::Future<Output = Result<Shared<Frequencies>, CollectError>> + Send {
        sample(state)
    }
    fn json(s: &Sample<Frequencies>) -> Bytes {
        json(s)
    }
}

fn part(cx: &Context<'_>) -> Part {
    loaded::part::<Frequencies>(cx, (KIND.ttl)(cx.config))
}

fn read(roots: &Roots, files: &Kept) -> Result<Frequencies, CollectError> {
    Ok(cpufreq::read(roots, files))
}

/// The frequencies, from the cache or read now.
pub async fn sample(state: &AppState) -> Result<Shared<Frequencies>, CollectError> {
    loaded::sample(state, NAME, read).await
}

/// One CPU of the reply.
#[derive(Debug, Serialize)]
struct Cpu<'a> {
    cpu: &'a str,
    /// The current frequency: the governor's view, else the hardware's.
    mhz: Option<f64>,
    min_mhz: Option<f64>,
    max_mhz: Option<f64>,
    governor: Option<&'a str>,
    driver: Option<&'a str>,
}

/// The reply.
#[derive(Debug, Serialize)]
struct Reply<'a> {
    cpus: Vec<Cpu<'a>>,
}

fn non_empty(t: &str) -> Option<&str> {
    Some(t).filter(|t| !t.is_empty())
}

fn cpus(freqs: &[CpuFreq]) -> Vec<Cpu<'_>> {
    let mhz = |khz: Option<f64>| khz.map(|k| k / 1000.0);
    freqs
        .iter()
        .map(|c| Cpu {
            cpu: &c.cpu,
            mhz: mhz(c.current_khz()),
            min_mhz: mhz(c.scaling_min_khz.or(c.cpuinfo_min_khz)),
            max_mhz: mhz(c.scaling_max_khz.or(c.cpuinfo_max_khz)),
            governor: non_empty(&c.governor),
            driver: non_empty(&c.driver),
        })
        .collect()
}

/// The reply's JSON, made once per sample.
pub fn json(s: &Sample<Frequencies>) -> Bytes {
    s.json(|f| {
        to_json(&Reply {
            cpus: cpus(f.as_deref().unwrap_or_default()),
        })
    })
}

/// `sonde check`: the CPUs' frequency range and governors.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = std::time::Instant::now();
    plain::check_line(NAME, sample(state).await, timed, |f| {
        let list = cpus(f.as_deref().unwrap_or_default());
        let now: Vec<f64> = list.iter().filter_map(|c| c.mhz).collect();
        if now.is_empty() {
            return "not reported (no cpufreq on this host)".to_owned();
        }
        let lo = now.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = now.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut governors: Vec<&str> = list.iter().filter_map(|c| c.governor).collect();
        governors.sort_unstable();
        governors.dedup();
        format!(
            "{} CPUs at {lo:.0}–{hi:.0} MHz, {}",
            list.len(),
            governors.join("/")
        )
    })
}
