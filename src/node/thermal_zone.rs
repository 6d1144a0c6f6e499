//! `thermal_zone`: ACPI and SoC thermal zones and cooling devices
//! (`/sys/class/thermal`).

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::sysfs::{entries, number, value};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "thermal_zone",
    read: Read::Files(read),
};

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let files = src.files;
    let Some(class) = entries(files, &src.roots.sys.join("class/thermal")) else {
        return Ok(None);
    };
    let numbered = |prefix: &str| {
        class
            .iter()
            .filter_map(|(name, path)| {
                let n = name.strip_prefix(prefix)?;
                n.bytes().all(|b| b.is_ascii_digit()).then_some((n, path))
            })
            .filter(|(n, _)| !n.is_empty())
            .collect::<Vec<_>>()
    };
    let mut f = Families::default();
    // A zone whose temperature cannot be read (a disabled zone answers
    // ENODATA) is left out rather than served as 0 °C.
    let zones = f.gauge_family("node_thermal_zone_temp", "Zone temperature in Celsius");
    for (n, path) in numbered("thermal_zone") {
        if let Some(t) = number(files, &path.join("temp")) {
            let kind = value(files, &path.join("type")).unwrap_or_default();
            zones.push([("zone", n), ("type", &kind)], t / 1000.0);
        }
    }
    let devices: Vec<(&str, String, f64, f64)> = numbered("cooling_device")
        .into_iter()
        .filter_map(|(n, path)| {
            let kind = value(files, &path.join("type"))?;
            Some((
                n,
                kind,
                number(files, &path.join("cur_state"))?,
                number(files, &path.join("max_state"))?,
            ))
        })
        .collect();
    let cur = f.gauge_family(
        "node_cooling_device_cur_state",
        "Current throttle state of the cooling device",
    );
    for (n, kind, c, _) in &devices {
        cur.push([("name", *n), ("type", kind)], *c);
    }
    let max = f.gauge_family(
        "node_cooling_device_max_state",
        "Maximum throttle state of the cooling device",
    );
    for (n, kind, _, m) in &devices {
        max.push([("name", *n), ("type", kind)], *m);
    }
    Ok(Some(f))
}
