//! `watchdog`: hardware and software watchdogs (`/sys/class/watchdog`).

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::sysfs::{attributes, entries};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "watchdog",
    read: Read::Files(read),
};

/// Numeric attributes: file, series name.
const NUMBERS: &[(&str, &str)] = &[
    ("access_cs0", "node_watchdog_access_cs0"),
    ("bootstatus", "node_watchdog_bootstatus"),
    ("fw_version", "node_watchdog_fw_version"),
    ("nowayout", "node_watchdog_nowayout"),
    ("pretimeout", "node_watchdog_pretimeout_seconds"),
    ("timeleft", "node_watchdog_timeleft_seconds"),
    ("timeout", "node_watchdog_timeout_seconds"),
];

/// Text attributes, as labels of the info series.
const TEXTS: &[&str] = &[
    "options",
    "identity",
    "state",
    "status",
    "pretimeout_governor",
];

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let files = src.files;
    let Some(devices) = entries(files, &src.roots.sys.join("class/watchdog")) else {
        return Ok(None);
    };
    let devices: Vec<_> = devices
        .into_iter()
        .map(|(name, path)| (name, attributes(files, &path)))
        .collect();
    let mut f = Families::default();
    for (file, series) in NUMBERS {
        let family = f.gauge_family(
            *series,
            format!("Value of /sys/class/watchdog/<watchdog>/{file}"),
        );
        for (name, attrs) in &devices {
            if let Some(v) = attrs.get(*file).and_then(|v| v.parse::<f64>().ok()) {
                family.push([("name", name.as_str())], v);
            }
        }
    }
    let info = f.gauge_family(
        "node_watchdog_info",
        "Info of /sys/class/watchdog/<watchdog>",
    );
    for (name, attrs) in &devices {
        let mut labels = vec![("name", name.clone())];
        labels.extend(
            TEXTS
                .iter()
                .map(|t| (*t, attrs.get(*t).cloned().unwrap_or_default())),
        );
        info.push(labels, 1.0);
    }
    Ok(Some(f))
}
