//! The `power` kind (`{"type":"power"}` / `get_power`): batteries, AC
//! adapters and USB supplies (charge, state, time to empty or full where
//! the kernel gives it, power draw) and the RAPL energy zones with their
//! power in watts (computed here between samples, as CPU% is);
//! `/api/power`; its `sonde check` line. The same readings serve
//! node_exporter's powersupplyclass and rapl collectors.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use futures_util::FutureExt;
use serde::Serialize;

use super::plain;
use crate::cache::{Sample, Ttl};
use crate::collect::power_supply::{self, PowerSupply};
use crate::collect::rapl::{self, RaplZone};
use crate::collect::{CollectError, History, blocking, lock};
use crate::history::{Of, Row};
use crate::state::{AppState, Args, CheckLine, Context, Kind, Part, Shared};
use crate::wire::to_json;

/// The request's name.
pub const NAME: &str = "power";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_power",
    args: Args::None,
    summary: "batteries, AC adapters and RAPL power draw",
    ttl: |c| c.ttl.metrics(),
    part,
    reply: Some(plain::reply::<Json>),
    path: "/api/power",
    api: Some(plain::api::<Json>),
    series: None,
    select: None,
    check: Some(|state| check(state).boxed()),
};

/// One sample.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Power {
    /// Every power supply (`None` without `/sys/class/power_supply`).
    pub supplies: Option<Vec<PowerSupply>>,
    /// Every readable RAPL zone with its watts over the window (`None`
    /// before there are two readings a second apart).
    pub rapl: Option<Vec<(RaplZone, Option<f64>)>>,
    /// Seconds the watts cover.
    pub window_secs: Option<f64>,
}

/// Power samples and the RAPL counters' recent readings.
#[derive(Debug)]
pub struct PowerPart {
    cache: Ttl<Power>,
    history: Mutex<History<Vec<RaplZone>>>,
    files: Arc<crate::collect::sysfs::Kept>,
}

/// This kind as a plain JSON kind ([`plain::Plain`]): its reply and
/// `/api` handler are the shared ones.
pub struct Json;

impl plain::Plain for Json {
    type Value = Power;
    const KIND: &'static Kind = &KIND;
    fn sample(
        state: &AppState,
    ) -> impl std::future::Future<Output = Result<Shared<Power>, CollectError>> + Send {
        sample(state)
    }
    fn json(s: &Sample<Power>) -> Bytes {
        json(s)
    }
}

fn part(cx: &Context<'_>) -> Part {
    Box::new(PowerPart {
        cache: Ttl::new((KIND.ttl)(cx.config)).recording(cx.history.recorder(NAME, rows)),
        history: Mutex::new(History::default()),
        files: cx.hardware_files.clone(),
    })
}

/// Watts between two readings of a zone's counter, which wraps at its
/// `max_energy_range_uj`.
pub fn watts(now: &RaplZone, then: &RaplZone, secs: f64) -> Option<f64> {
    if secs <= 0.0 {
        return None;
    }
    let used = if now.energy_uj >= then.energy_uj {
        now.energy_uj - then.energy_uj
    } else {
        now.max_energy_range_uj.checked_sub(then.energy_uj)? + now.energy_uj
    };
    Some(used as f64 / 1e6 / secs)
}

/// The power sample, read on the blocking pool; the watts against the
/// newest earlier reading at least a second old.
pub async fn sample(state: &AppState) -> Result<Shared<Power>, CollectError> {
    let part = state.part::<PowerPart>()?;
    let errors = state.errors();
    part.cache
        .get_or_load(|| async {
            let (roots, files) = (state.roots().clone(), part.files.clone());
            let (supplies, zones) = blocking(errors, NAME, move || {
                (
                    power_supply::read(&roots, &files),
                    rapl::read(&roots, &files),
                )
            })
            .await?;
            let now = Instant::now();
            let mut history = lock(&part.history);
            let base = history
                .baseline(now)
                .map(|(at, z)| (now.duration_since(at).as_secs_f64(), z.clone()));
            let rapl = zones.map(|zones| {
                let with_watts = zones
                    .iter()
                    .map(|z| {
                        let then = base
                            .as_ref()
                            .and_then(|(_, b)| b.iter().find(|t| t.path == z.path));
                        let w =
                            then.and_then(|t| watts(z, t, base.as_ref().map_or(0.0, |(s, _)| *s)));
                        (z.clone(), w)
                    })
                    .collect();
                history.push(now, zones);
                with_watts
            });
            Ok(Power {
                supplies,
                rapl,
                window_secs: base.map(|(s, _)| s),
            })
        })
        .await
}

/// One supply of the reply, in %, Wh, W, V and s.
#[derive(Debug, Serialize)]
struct Supply<'a> {
    name: &'a str,
    /// `Battery`, `Mains`, `USB`, `UPS`.
    kind: Option<&'a str>,
    /// `Charging`, `Discharging`, `Full`, `Not charging`.
    status: Option<&'a str>,
    /// Whether an adapter supplies power.
    online: Option<bool>,
    present: Option<bool>,
    percent: Option<f64>,
    capacity_level: Option<&'a str>,
    energy_wh: Option<f64>,
    energy_full_wh: Option<f64>,
    energy_full_design_wh: Option<f64>,
    /// What is left of the design capacity.
    health_percent: Option<f64>,
    /// Power drawn or charged: `power_now`, else current × voltage.
    power_w: Option<f64>,
    voltage_v: Option<f64>,
    time_to_empty_s: Option<f64>,
    time_to_full_s: Option<f64>,
    cycle_count: Option<f64>,
    technology: Option<&'a str>,
    manufacturer: Option<&'a str>,
    model: Option<&'a str>,
}

fn supply(s: &PowerSupply) -> Supply<'_> {
    let micro = |a: &str| s.number(a).map(|v| v / 1e6);
    let pair = |a: &str, b: &str| Some((s.number(a)?, s.number(b)?)).filter(|(_, b)| *b > 0.0);
    let percent = s.number("capacity").or_else(|| {
        pair("energy_now", "energy_full")
            .or_else(|| pair("charge_now", "charge_full"))
            .map(|(n, f)| n / f * 100.0)
    });
    let power_w = micro("power_now").or_else(|| {
        let (i, v) = (s.number("current_now")?, s.number("voltage_now")?);
        Some((i * v).abs() / 1e12)
    });
    let health = pair("energy_full", "energy_full_design")
        .or_else(|| pair("charge_full", "charge_full_design"))
        .map(|(n, d)| n / d * 100.0);
    Supply {
        name: &s.name,
        kind: s.text("type"),
        status: s.text("status"),
        online: s.number("online").map(|v| v != 0.0),
        present: s.number("present").map(|v| v != 0.0),
        percent,
        capacity_level: s.text("capacity_level"),
        energy_wh: micro("energy_now"),
        energy_full_wh: micro("energy_full"),
        energy_full_design_wh: micro("energy_full_design"),
        health_percent: health,
        power_w,
        voltage_v: micro("voltage_now"),
        time_to_empty_s: s.number("time_to_empty_now"),
        time_to_full_s: s.number("time_to_full_now"),
        cycle_count: s.number("cycle_count"),
        technology: s.text("technology"),
        manufacturer: s.text("manufacturer"),
        model: s.text("model_name"),
    }
}

/// One RAPL zone of the reply.
#[derive(Debug, Serialize)]
struct Zone<'a> {
    zone: &'a str,
    index: u32,
    joules: f64,
    watts: Option<f64>,
}

/// The reply.
#[derive(Debug, Serialize)]
struct Reply<'a> {
    supplies: Vec<Supply<'a>>,
    rapl: Vec<Zone<'a>>,
    /// Milliseconds the watts cover (`null` until two readings a second
    /// apart exist).
    window_ms: Option<u64>,
}

/// What the history keeps of a sample: each RAPL zone's watts and each
/// supply's power draw and charge.
fn rows<'a>(p: &'a Power, row: &mut Row<'a>) {
    for (zone, watts) in p.rapl.iter().flatten() {
        row.put_of("watts", Of::Name(zone.name.as_str().into()), *watts);
    }
    for s in p.supplies.iter().flatten() {
        let of = || Of::Name(s.name.as_str().into());
        row.put_of("power_w", of(), s.number("power_now").map(|uw| uw / 1e6));
        row.put_of("capacity_percent", of(), s.number("capacity"));
    }
}

fn reply(p: &Power) -> Reply<'_> {
    Reply {
        supplies: p.supplies.iter().flatten().map(supply).collect(),
        rapl: p
            .rapl
            .iter()
            .flatten()
            .map(|(z, w)| Zone {
                zone: &z.name,
                index: z.index,
                joules: z.energy_uj as f64 / 1e6,
                watts: *w,
            })
            .collect(),
        window_ms: p.window_secs.map(|s| (s * 1000.0) as u64),
    }
}

/// The reply's JSON, made once per sample.
pub fn json(s: &Sample<Power>) -> Bytes {
    s.json(|p| to_json(&reply(p)))
}

/// `sonde check`: each supply's charge and state, each RAPL zone.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = std::time::Instant::now();
    plain::check_line(NAME, sample(state).await, timed, |p| {
        let r = reply(p);
        let mut items: Vec<String> = r
            .supplies
            .iter()
            .map(|s| match (s.percent, s.online) {
                (Some(p), _) => format!("{} {p:.0}% {}", s.name, s.status.unwrap_or(""))
                    .trim_end()
                    .to_owned(),
                (None, Some(on)) => format!("{} {}", s.name, if on { "online" } else { "offline" }),
                (None, None) => s.name.to_owned(),
            })
            .collect();
        if !r.rapl.is_empty() {
            let zones: Vec<String> = r
                .rapl
                .iter()
                .map(|z| format!("{}-{}", z.zone, z.index))
                .collect();
            items.push(format!("RAPL {}", zones.join(", ")));
        }
        if items.is_empty() {
            "no batteries, adapters or readable RAPL zones".to_owned()
        } else {
            items.join("; ")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(energy_uj: u64) -> RaplZone {
        RaplZone {
            energy_uj,
            max_energy_range_uj: 262_143_328_850,
            ..RaplZone::default()
        }
    }

    #[test]
    fn watts_across_a_counter_wrap() {
        assert_eq!(watts(&zone(12_000_000), &zone(2_000_000), 2.0), Some(5.0));
        assert_eq!(
            watts(&zone(1_000_000), &zone(262_142_328_850), 1.0),
            Some(2.0)
        );
        assert_eq!(watts(&zone(1), &zone(0), 0.0), None);
    }
}
