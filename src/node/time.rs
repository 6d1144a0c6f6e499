//! `time`: the system clock, its time zone and the clock sources.

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "time",
    read: Read::Files(read),
};

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let now = crate::collect::clock::unix_seconds();
    let mut f = Families::default();
    f.gauge(
        "node_time_seconds",
        "System time in seconds since epoch (1970).",
        now,
    );
    let (zone, offset) = local_zone(now as i64);
    f.gauge_family(
        "node_time_zone_offset_seconds",
        "System time zone offset in seconds.",
    )
    .push([("time_zone", zone)], offset as f64);
    let dir = src.roots.sys.join("devices/system/clocksource");
    let mut sources: Vec<(u32, String, String)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(n) = name
                .to_str()
                .and_then(|n| n.strip_prefix("clocksource"))
                .and_then(|n| n.parse().ok())
            else {
                continue;
            };
            let path = entry.path();
            let available = src
                .attribute(&path.join("available_clocksource"))
                .unwrap_or_default();
            let current = src
                .attribute(&path.join("current_clocksource"))
                .unwrap_or_default();
            sources.push((n, available, current));
        }
    }
    sources.sort();
    let a = f.gauge_family(
        "node_time_clocksource_available_info",
        "Available clocksources read from '/sys/devices/system/clocksource'.",
    );
    for (n, available, _) in &sources {
        for name in available.split_ascii_whitespace() {
            a.push(
                [("clocksource", name.to_owned()), ("device", n.to_string())],
                1.0,
            );
        }
    }
    let c = f.gauge_family(
        "node_time_clocksource_current_info",
        "Current clocksource read from '/sys/devices/system/clocksource'.",
    );
    for (n, _, current) in &sources {
        c.push(
            [("clocksource", current.clone()), ("device", n.to_string())],
            1.0,
        );
    }
    Ok(Some(f))
}

/// The local time zone's abbreviation and offset east of UTC at `now`
/// (from the C library's `localtime_r`, as Go's `time.Now().Zone()`).
fn local_zone(now: i64) -> (String, i64) {
    // SAFETY: localtime_r writes only the `tm` it is given; `tm_zone`
    // points at the C library's static zone names, read before returning.
    unsafe {
        let t: libc::time_t = now;
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() || tm.tm_zone.is_null() {
            return ("UTC".to_owned(), 0);
        }
        let zone = std::ffi::CStr::from_ptr(tm.tm_zone)
            .to_string_lossy()
            .into_owned();
        (zone, tm.tm_gmtoff)
    }
}
