//! `thermal_zone`: ACPI and SoC thermal zones and cooling devices
//! (`/sys/class/thermal`), from the `sensors` kind's reading (one reader
//! of every temperature source).

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::collect::thermal::Thermal;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "thermal_zone",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let thermal = super::hwmon::thermal(scrape).await?;
    Ok(thermal
        .value()
        .zones
        .is_some()
        .then(|| families(thermal.value())))
}

/// node_exporter's series for the zones and cooling devices.
pub fn families(thermal: &Thermal) -> Families {
    let mut f = Families::default();
    // A zone whose temperature cannot be read (a disabled zone answers
    // ENODATA) is left out rather than served as 0 °C.
    let zones = f.gauge_family("node_thermal_zone_temp", "Zone temperature in Celsius");
    for zone in thermal.zones.iter().flatten() {
        if let Some(t) = zone.temp.as_deref().and_then(|t| t.parse::<f64>().ok()) {
            zones.push(
                [("zone", zone.number.as_str()), ("type", &zone.kind)],
                t / 1000.0,
            );
        }
    }
    let cur = f.gauge_family(
        "node_cooling_device_cur_state",
        "Current throttle state of the cooling device",
    );
    for d in &thermal.cooling {
        cur.push([("name", d.number.as_str()), ("type", &d.kind)], d.current);
    }
    let max = f.gauge_family(
        "node_cooling_device_max_state",
        "Maximum throttle state of the cooling device",
    );
    for d in &thermal.cooling {
        max.push([("name", d.number.as_str()), ("type", &d.kind)], d.max);
    }
    f
}
