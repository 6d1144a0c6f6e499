//! The `sensors` kind (`{"type":"sensors"}` / `get_sensors`): every hwmon
//! chip with its temperatures, fans, voltages, currents and power meters,
//! in °C, rpm, V, A and W; `/api/sensors`; its `sonde check` line. Its
//! sample is every temperature source ([`crate::collect::thermal`]): the
//! same reading serves the metrics reply's temperatures, a disk's
//! temperature and node_exporter's `hwmon` and `thermal_zone` collectors.

use bytes::Bytes;
use futures_util::FutureExt;
use serde::Serialize;

use super::loaded;
use super::plain;
use crate::cache::Sample;
use crate::collect::hwmon::{self, Chip};
use crate::collect::sysfs::Kept;
use crate::collect::thermal::{self, Thermal};
use crate::collect::{CollectError, Roots};
use crate::history::{Of, Row};
use crate::state::{AppState, Args, CheckLine, Context, Kind, Part, Shared};
use crate::wire::to_json;

/// The request's name.
pub const NAME: &str = "sensors";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_sensors",
    args: Args::None,
    summary: "hwmon chips: temperatures, fans, voltages, currents, power",
    ttl: |c| c.ttl.sensors(),
    part,
    reply: Some(plain::reply::<Json>),
    path: "/api/sensors",
    api: Some(plain::api::<Json>),
    series: None,
    select: None,
    check: Some(|state| check(state).boxed()),
};

/// This kind as a plain JSON kind ([`plain::Plain`]): its reply and
/// `/api` handler are the shared ones.
pub struct Json;

impl plain::Plain for Json {
    type Value = Thermal;
    const KIND: &'static Kind = &KIND;
    fn sample(
        state: &AppState,
    ) -> impl std::future::Future<Output = Result<Shared<Thermal>, CollectError>> + Send {
        sample(state)
    }
    fn json(s: &Sample<Thermal>) -> Bytes {
        json(s)
    }
}

fn part(cx: &Context<'_>) -> Part {
    loaded::charted::<Thermal>(cx, (KIND.ttl)(cx.config), NAME, rows)
}

/// What the history keeps of a sample: each fan's speed and each
/// temperature, of `CHIP LABEL` as the page names them (the label, or the
/// sensor where there is none).
fn rows<'a>(t: &'a Thermal, row: &mut Row<'a>) {
    for chip in t.chips.iter().flatten() {
        let c = chip_reply(chip);
        let chip_name = c.name.unwrap_or(c.chip);
        for (field, list) in [("fan", &c.fans), ("temperature", &c.temperatures)] {
            for r in list {
                let of = format!("{chip_name} {}", r.label.unwrap_or(r.sensor));
                row.put_of(field, Of::Name(of.into()), r.value);
            }
        }
    }
}

fn read(roots: &Roots, files: &Kept) -> Result<Thermal, CollectError> {
    Ok(thermal::read(roots, files))
}

/// Every temperature source, from the cache or read now.
pub async fn sample(state: &AppState) -> Result<Shared<Thermal>, CollectError> {
    loaded::sample(state, NAME, read).await
}

/// One reading of a chip; `None` for what it does not give.
#[derive(Debug, Serialize, PartialEq)]
struct Reading<'a> {
    sensor: &'a str,
    label: Option<&'a str>,
    value: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    critical: Option<f64>,
    target: Option<f64>,
    alarm: Option<bool>,
}

/// One chip of the reply.
#[derive(Debug, Serialize)]
struct ChipReply<'a> {
    chip: &'a str,
    name: Option<&'a str>,
    /// Its device sleeps: its readings are not taken, so as not to wake it.
    asleep: bool,
    temperatures: Vec<Reading<'a>>,
    fans: Vec<Reading<'a>>,
    voltages: Vec<Reading<'a>>,
    currents: Vec<Reading<'a>>,
    power: Vec<Reading<'a>>,
}

/// The reply.
#[derive(Debug, Serialize)]
struct Reply<'a> {
    chips: Vec<ChipReply<'a>>,
}

/// A chip's sensors of one type, each property scaled to the reply's unit
/// (`divisor` from the kernel's: milli-°C, mV, mA, µW; 1 for rpm).
fn readings<'a>(chip: &'a Chip, kind: &str, divisor: f64) -> Vec<Reading<'a>> {
    let mut list: Vec<Reading<'a>> = chip
        .sensors
        .keys()
        .filter(|id| hwmon::explode(id).is_some_and(|(k, _, _)| k == kind))
        .map(|id| {
            let n = |p: &str| chip.number(id, p).map(|v| v / divisor);
            Reading {
                sensor: id,
                label: chip.label(id),
                value: n("input").or_else(|| n("average")),
                min: n("min"),
                max: n("max"),
                critical: n("crit"),
                target: n("target"),
                alarm: alarm(chip, id),
            }
        })
        .filter(|r| r.value.is_some() || r.alarm.is_some())
        .collect();
    // In the chip's order (temp2 before temp10), not the map's.
    list.sort_by_key(|r| hwmon::explode(r.sensor).map_or(0, |(_, n, _)| n));
    list
}

/// Whether any of a sensor's alarms is raised (`alarm`, `min_alarm`,
/// `lcrit_alarm`…): the Raspberry Pi's under-voltage is only this.
fn alarm(chip: &Chip, sensor: &str) -> Option<bool> {
    let flags: Vec<f64> = chip
        .sensors
        .get(sensor)?
        .iter()
        .filter(|(p, _)| p.ends_with("alarm"))
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect();
    (!flags.is_empty()).then(|| flags.iter().any(|f| *f != 0.0))
}

fn chip_reply(chip: &Chip) -> ChipReply<'_> {
    ChipReply {
        chip: &chip.id,
        name: chip.name.as_deref(),
        asleep: chip.suspended,
        temperatures: readings(chip, "temp", 1000.0),
        fans: readings(chip, "fan", 1.0),
        voltages: readings(chip, "in", 1000.0),
        currents: readings(chip, "curr", 1000.0),
        power: readings(chip, "power", 1e6),
    }
}

/// The reply's JSON, made once per sample.
pub fn json(s: &Sample<Thermal>) -> Bytes {
    s.json(|t| {
        let chips: Vec<ChipReply<'_>> = t.chips.iter().flatten().map(chip_reply).collect();
        to_json(&Reply { chips })
    })
}

/// `sonde check`: how many chips, fans and temperatures, and the range.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = std::time::Instant::now();
    plain::check_line(NAME, sample(state).await, timed, |t| {
        let chips: Vec<ChipReply<'_>> = t.chips.iter().flatten().map(chip_reply).collect();
        if chips.is_empty() {
            "no hwmon chips on this host".to_owned()
        } else {
            summary(&chips)
        }
    })
}

fn summary(chips: &[ChipReply<'_>]) -> String {
    let temps: Vec<f64> = chips
        .iter()
        .flat_map(|c| c.temperatures.iter().filter_map(|r| r.value))
        .collect();
    let fans: Vec<f64> = chips
        .iter()
        .flat_map(|c| c.fans.iter().filter_map(|r| r.value))
        .collect();
    let mut parts = vec![counted(chips.len(), "chip")];
    if !temps.is_empty() {
        parts.push(format!(
            "{} ({})",
            counted(temps.len(), "temperature"),
            range(&temps, "°C")
        ));
    }
    if !fans.is_empty() {
        parts.push(format!(
            "{} ({})",
            counted(fans.len(), "fan"),
            range(&fans, "rpm")
        ));
    }
    let asleep = chips.iter().filter(|c| c.asleep).count();
    if asleep > 0 {
        parts.push(format!("{asleep} asleep, not read"));
    }
    parts.join(", ")
}

/// `1 fan`, `3 fans`.
fn counted(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `29–41 °C`, or `2890 rpm` for one value.
fn range(values: &[f64], unit: &str) -> String {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo == hi {
        format!("{lo:.0} {unit}")
    } else {
        format!("{lo:.0}–{hi:.0} {unit}")
    }
}
