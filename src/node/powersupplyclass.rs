//! `powersupplyclass`: batteries and AC adapters
//! (`/sys/class/power_supply`), from the `power` kind's reading.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::collect::power_supply::PowerSupply;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "powersupplyclass",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

/// Numeric attributes: file, node_exporter's series suffix, the divisor to its unit.
const NUMBERS: &[(&str, &str, f64)] = &[
    ("authentic", "authentic", 1.0),
    ("calibrate", "calibrate", 1.0),
    ("capacity", "capacity", 1.0),
    ("capacity_alert_max", "capacity_alert_max", 1.0),
    ("capacity_alert_min", "capacity_alert_min", 1.0),
    ("cycle_count", "cyclecount", 1.0),
    ("online", "online", 1.0),
    ("present", "present", 1.0),
    ("time_to_empty_now", "time_to_empty_seconds", 1.0),
    ("time_to_full_now", "time_to_full_seconds", 1.0),
    ("current_boot", "current_boot", 1e6),
    ("current_max", "current_max", 1e6),
    ("current_now", "current_ampere", 1e6),
    ("energy_empty", "energy_empty", 1e6),
    ("energy_empty_design", "energy_empty_design", 1e6),
    ("energy_full", "energy_full", 1e6),
    ("energy_full_design", "energy_full_design", 1e6),
    ("energy_now", "energy_watthour", 1e6),
    ("voltage_boot", "voltage_boot", 1e6),
    ("voltage_max", "voltage_max", 1e6),
    ("voltage_max_design", "voltage_max_design", 1e6),
    ("voltage_min", "voltage_min", 1e6),
    ("voltage_min_design", "voltage_min_design", 1e6),
    ("voltage_now", "voltage_volt", 1e6),
    ("voltage_ocv", "voltage_ocv", 1e6),
    ("charge_control_limit", "charge_control_limit", 1e6),
    ("charge_control_limit_max", "charge_control_limit_max", 1e6),
    ("charge_counter", "charge_counter", 1e6),
    ("charge_empty", "charge_empty", 1e6),
    ("charge_empty_design", "charge_empty_design", 1e6),
    ("charge_full", "charge_full", 1e6),
    ("charge_full_design", "charge_full_design", 1e6),
    ("charge_now", "charge_ampere", 1e6),
    ("charge_term_current", "charge_term_current", 1e6),
    ("constant_charge_current", "constant_charge_current", 1e6),
    (
        "constant_charge_current_max",
        "constant_charge_current_max",
        1e6,
    ),
    ("constant_charge_voltage", "constant_charge_voltage", 1e6),
    (
        "constant_charge_voltage_max",
        "constant_charge_voltage_max",
        1e6,
    ),
    ("precharge_current", "precharge_current", 1e6),
    ("input_current_limit", "input_current_limit", 1e6),
    ("power_now", "power_watt", 1e6),
    ("temp", "temp_celsius", 10.0),
    ("temp_alert_max", "temp_alert_max_celsius", 10.0),
    ("temp_alert_min", "temp_alert_min_celsius", 10.0),
    ("temp_ambient", "temp_ambient_celsius", 10.0),
    ("temp_ambient_max", "temp_ambient_max_celsius", 10.0),
    ("temp_ambient_min", "temp_ambient_min_celsius", 10.0),
    ("temp_max", "temp_max_celsius", 10.0),
    ("temp_min", "temp_min_celsius", 10.0),
];

/// Text attributes, as labels of the info series.
const TEXTS: &[&str] = &[
    "capacity_level",
    "charge_type",
    "health",
    "manufacturer",
    "model_name",
    "serial_number",
    "status",
    "technology",
    "type",
    "usb_type",
    "scope",
];

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    Ok(scrape
        .sample(crate::kinds::power::sample)
        .await?
        .value()
        .supplies
        .as_deref()
        .map(families))
}

/// node_exporter's series for `supplies`.
pub fn families(supplies: &[PowerSupply]) -> Families {
    let mut f = Families::default();
    if supplies.is_empty() {
        // No series to write: not fifty family names formatted for nothing.
        return f;
    }
    for (file, suffix, divisor) in NUMBERS {
        let family = f.gauge_family(
            format!("node_power_supply_{suffix}"),
            format!("{suffix} value of /sys/class/power_supply/<power_supply>."),
        );
        for s in supplies {
            if let Some(v) = integer(s, file) {
                family.push([("power_supply", s.name.as_str())], v / divisor);
            }
        }
    }
    let info = f.gauge_family(
        "node_power_supply_info",
        "info of /sys/class/power_supply/<power_supply>.",
    );
    for s in supplies {
        let mut labels = vec![("power_supply", s.name.as_str())];
        labels.extend(TEXTS.iter().filter_map(|t| Some((*t, s.text(t)?))));
        info.push(labels, 1.0);
    }
    f
}

/// node_exporter takes these attributes as integers: anything else (an
/// empty file, `N/A`) is left out.
fn integer(s: &PowerSupply, file: &str) -> Option<f64> {
    s.attributes
        .get(file)?
        .parse::<i64>()
        .ok()
        .map(|v| v as f64)
}
