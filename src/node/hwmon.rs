//! `hwmon`: every hwmon chip's sensors (`/sys/class/hwmon`), named and
//! scaled as node_exporter does, from the `sensors` kind's reading.

use crate::exposition::MetricType;

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::collect::hwmon::{Chip, clean, explode};
use crate::collect::thermal::Thermal;
use crate::state::Scrape;
use crate::state::Shared;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "hwmon",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let thermal = thermal(scrape).await?;
    Ok(thermal.value().chips.as_deref().map(families))
}

/// The reading a `/metrics` scrape serves: the one its metrics sample's
/// temperatures came from, so `sonde_temperature_celsius` and
/// node_exporter's `hwmon` and `thermal_zone` series of one response agree
/// (and a TTL of 0 reads sysfs once); read now where temperatures are off.
pub async fn thermal(scrape: &Scrape<'_>) -> Result<Shared<Thermal>, CollectError> {
    scrape
        .sample(|state| async move {
            let metrics = scrape.sample(crate::kinds::metrics::sample).await.ok();
            match metrics.and_then(|m| m.value().thermal.clone()) {
                Some(t) => Ok(t),
                None => crate::kinds::sensors::sample(state).await,
            }
        })
        .await
}

/// node_exporter's series for `chips`.
pub fn families(chips: &[Chip]) -> Families {
    let mut f = Families::default();
    for chip in chips {
        if let Some(name) = chip.name.as_deref().map(clean).filter(|n| !n.is_empty()) {
            f.named(
                "node_hwmon_chip_names",
                "Annotation metric for human-readable chip names",
                MetricType::Gauge,
            )
            .push([("chip", chip.id.as_str()), ("chip_name", &name)], 1.0);
        }
        for (sensor, data) in &chip.sensors {
            sensor_series(&mut f, &chip.id, sensor, data);
        }
    }
    f
}

fn sensor_series(
    f: &mut Families,
    chip: &str,
    sensor: &str,
    data: &std::collections::BTreeMap<String, String>,
) {
    let labels = [("chip", chip), ("sensor", sensor)];
    let gauge = |f: &mut Families, name: &str, help: &'static str, value: f64| {
        f.named(name, help, MetricType::Gauge).push(labels, value);
    };
    if let Some(label) = data.get("label") {
        f.named(
            "node_hwmon_sensor_label",
            "Label for given chip and sensor",
            MetricType::Gauge,
        )
        .push([("chip", chip), ("sensor", sensor), ("label", label)], 1.0);
    }
    let kind = explode(sensor).map_or("", |(k, _, _)| k);
    let number = |p: &str| data.get(p).and_then(|v| v.parse::<f64>().ok());
    match kind {
        "beep_enable" => {
            let on = if data.get("").map(String::as_str) == Some("1") {
                1.0
            } else {
                0.0
            };
            return gauge(f, "node_hwmon_beep_enabled", "Hardware beep enabled", on);
        }
        "vrm" => {
            if let Some(v) = number("") {
                gauge(
                    f,
                    "node_hwmon_voltage_regulator_version",
                    "Hardware voltage regulator",
                    v,
                );
            }
            return;
        }
        "update_interval" => {
            if let Some(v) = number("") {
                gauge(
                    f,
                    "node_hwmon_update_interval_seconds",
                    "Hardware monitor update interval",
                    v * 0.001,
                );
            }
            return;
        }
        _ => {}
    }
    let prefix = format!("node_hwmon_{kind}");
    for (element, value) in data {
        if element == "label" {
            continue;
        }
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let name = match element.as_str() {
            "input" if data.contains_key("") => format!("{prefix}_input"),
            "input" | "" => prefix.clone(),
            e => format!("{prefix}_{}", clean(e)),
        };
        element_series(f, kind, element, &name, value, labels, data.get("label"));
    }
}

/// One element's series, by node_exporter's rules for its sensor type.
fn element_series(
    f: &mut Families,
    kind: &str,
    element: &str,
    name: &str,
    value: f64,
    labels: [(&'static str, &str); 2],
    label: Option<&String>,
) {
    let gauge = MetricType::Gauge;
    if (kind, element) == ("freq", "input") {
        // node_exporter names a GPU clock by its label, in the sensor
        // label's place.
        if let Some(label) = label {
            f.named(
                &format!("{name}_freq_mhz"),
                "Hardware monitor for GPU frequency in MHz",
                gauge,
            )
            .push(
                [("chip", labels[0].1), ("sensor", &clean(label))],
                value / 1e6,
            );
        }
        return;
    }
    let (name, help, kind, value) = series_for(kind, element, name, value);
    f.named(&name, help, kind).push(labels, value);
}

/// An element's series name, help, type and value in node_exporter's
/// units, by its sensor type.
fn series_for(
    kind: &str,
    element: &str,
    name: &str,
    value: f64,
) -> (String, String, MetricType, f64) {
    let gauge = MetricType::Gauge;
    match (kind, element) {
        (_, "fault" | "alarm") => (
            name.into(),
            format!("Hardware sensor {element} status ({kind})"),
            gauge,
            value,
        ),
        (_, "beep") => (
            format!("{name}_enabled"),
            "Hardware monitor sensor has beeping enabled".into(),
            gauge,
            value,
        ),
        ("in" | "cpu", _) => (
            format!("{name}_volts"),
            format!("Hardware monitor for voltage ({element})"),
            gauge,
            value * 0.001,
        ),
        ("temp", e) if e != "type" => {
            let e = if e.is_empty() { "input" } else { e };
            (
                format!("{name}_celsius"),
                format!("Hardware monitor for temperature ({e})"),
                gauge,
                value * 0.001,
            )
        }
        ("curr", _) => (
            format!("{name}_amps"),
            format!("Hardware monitor for current ({element})"),
            gauge,
            value * 0.001,
        ),
        ("energy", _) => (
            format!("{name}_joule_total"),
            format!("Hardware monitor for joules used so far ({element})"),
            MetricType::Counter,
            value / 1e6,
        ),
        ("power", "accuracy") => (
            name.into(),
            "Hardware monitor power meter accuracy, as a ratio".into(),
            gauge,
            value / 1e6,
        ),
        ("power", "average_interval" | "average_interval_min" | "average_interval_max") => (
            format!("{name}_seconds"),
            format!("Hardware monitor power usage update interval ({element})"),
            gauge,
            value * 0.001,
        ),
        ("power", _) => (
            format!("{name}_watt"),
            format!("Hardware monitor for power usage in watts ({element})"),
            gauge,
            value / 1e6,
        ),
        ("humidity", _) => (
            name.into(),
            format!(
                "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity as a percentage) ({element})"
            ),
            gauge,
            value / 1e6,
        ),
        ("fan", "input" | "min" | "max" | "target") => (
            format!("{name}_rpm"),
            format!("Hardware monitor for fan revolutions per minute ({element})"),
            gauge,
            value,
        ),
        _ => (
            name.into(),
            format!("Hardware monitor {kind} element {element}"),
            gauge,
            value,
        ),
    }
}
