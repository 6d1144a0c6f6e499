//! The Glances plugins of the interfaces, disk I/O and disks samples:
//! `network`, `diskio`, `fs`. Glances 4 gives each counter three ways:
//! the change since its last update (clients divide it by
//! `time_since_update`), the cumulative `*_gauge`, and `*_rate_per_sec`;
//! sonde's rates are over its sample window, so the change is the rate
//! times that window and the three agree.

use serde_json::{Value, json};

use super::system::percent;
use crate::collect::disks::DiskTable;
use crate::kinds::disk_io::DiskIo;
use crate::kinds::interfaces::Interfaces;

/// One counter the Glances way: `name` (the change over the window),
/// `name_gauge`, `name_rate_per_sec`.
fn counter(v: &mut Value, name: &str, cumulative: u64, per_sec: f64, window: f64) {
    v[name] = json!((per_sec * window).round() as u64);
    v[format!("{name}_gauge")] = json!(cumulative);
    v[format!("{name}_rate_per_sec")] = json!(per_sec);
}

/// `/api/4/network`: every interface that is up, loopback aside (Glances'
/// defaults hide `lo` and interfaces that are not up).
pub fn network(s: &Interfaces) -> Value {
    let window = s.window_secs;
    let class_of = |name: &str| s.classes.iter().flatten().find(|c| c.name == name);
    let list = s
        .counters
        .iter()
        .filter(|(i, _)| i.name != "lo")
        .filter(|(i, _)| class_of(&i.name).is_none_or(|c| c.operstate != "down"))
        .map(|(i, r)| {
            let class = class_of(&i.name);
            // Glances: psutil's speed (Mbit/s) times 1048576; 0 unknown.
            let speed = class
                .and_then(|c| c.speed)
                .filter(|s| *s > 0)
                .map_or(0, |mbit| mbit.saturating_mul(1_048_576));
            let mut v = json!({
                "key": "interface_name",
                "interface_name": i.name,
                "alias": class.map(|c| c.ifalias.as_str()).filter(|a| !a.is_empty()),
                "is_up": class.map(|c| c.operstate == "up"),
                "speed": speed,
                "time_since_update": window,
            });
            let (rx, tx) = (i.received_bytes(), i.transmitted_bytes());
            counter(&mut v, "bytes_recv", rx, r.rx_bytes_per_sec, window);
            counter(&mut v, "bytes_sent", tx, r.tx_bytes_per_sec, window);
            let all = r.rx_bytes_per_sec + r.tx_bytes_per_sec;
            counter(&mut v, "bytes_all", rx.saturating_add(tx), all, window);
            v
        })
        .collect();
    Value::Array(list)
}

/// `/api/4/diskio`: the devices sonde's `disk_io` reply lists (whole
/// disks: partitions, loop and RAM disks left out).
pub fn diskio(s: &DiskIo) -> Value {
    let window = s.window_secs;
    let list = s
        .listed()
        .map(|(d, r)| {
            let c = |i| d.stat.get(i);
            let mut v = json!({
                "key": "disk_name",
                "disk_name": d.stat.name,
                "time_since_update": window,
                "read_time": null,
                "write_time": null,
                "read_time_gauge": c(3),
                "write_time_gauge": c(7),
                "read_time_rate_per_sec": null,
                "write_time_rate_per_sec": null,
                "read_latency": null,
                "write_latency": null,
            });
            counter(&mut v, "read_count", c(0), r.reads_per_sec, window);
            counter(&mut v, "write_count", c(4), r.writes_per_sec, window);
            counter(
                &mut v,
                "read_bytes",
                c(2).saturating_mul(512),
                r.read_bytes_per_sec,
                window,
            );
            counter(
                &mut v,
                "write_bytes",
                c(6).saturating_mul(512),
                r.write_bytes_per_sec,
                window,
            );
            v
        })
        .collect();
    Value::Array(list)
}

/// `/api/4/fs`: psutil's `disk_usage`: `used` is blocks − free, `free`
/// what an unprivileged user may still write, `percent` of the two.
pub fn fs(t: &DiskTable) -> Value {
    let list = t
        .disks
        .iter()
        .map(|d| {
            json!({
                "key": "mnt_point",
                "device_name": d.source,
                "fs_type": d.fs_type,
                "mnt_point": d.mount_point,
                "options": null,
                "size": d.total_bytes,
                "used": d.used_bytes,
                "free": d.available_bytes,
                "percent": percent(d.used_bytes, d.used_bytes.saturating_add(d.available_bytes)),
            })
        })
        .collect();
    Value::Array(list)
}
