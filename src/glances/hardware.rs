//! The Glances plugins of the hardware readings and the process scan:
//! `sensors`, `gpu`, `raid`, `processcount`, `processlist`, `containers`.

use serde_json::{Value, json};

use super::system::{percent, round1};
use crate::collect::containers::ContainerTable;
use crate::collect::gpu::{Gpu, GpuState};
use crate::collect::hwmon::explode;
use crate::collect::processes::ProcessTable;
use crate::collect::thermal::Thermal;
use crate::kinds::arrays::Arrays;

/// `/api/4/sensors`: every temperature (`temperature_core`, °C) and fan
/// (`fan_speed`, rpm), labelled as psutil labels them for Glances (the
/// sensor's label, `Package id 0`, `Core 0`, `Tctl`, else the chip's or
/// zone's name, `cpu_thermal`), which is what Homepage matches its CPU
/// sensor on; a label two chips share (two sockets' `Core 0`) gets the
/// chip's id after it, so each stays its own sensor in Home Assistant.
pub fn sensors(t: &Thermal) -> Value {
    let mut found: Vec<(String, String, Value)> = Vec::new();
    for c in t.candidates() {
        let Ok(value) = crate::collect::thermal::parse_millidegrees(c.text) else {
            continue;
        };
        let chip = t.chips.iter().flatten().find(|ch| ch.id == c.id);
        let threshold = |p: &str| {
            chip.and_then(|ch| ch.number(c.input, p))
                .map(|v| v / 1000.0)
        };
        let entry = json!({
            "key": "label",
            "unit": "C",
            "value": round1(f64::from(value)),
            "warning": threshold("max"),
            "critical": threshold("crit"),
            "type": "temperature_core",
        });
        found.push((c.label.unwrap_or(c.chip).to_owned(), c.id, entry));
    }
    for chip in t.chips.iter().flatten() {
        let name = chip.name.as_deref().unwrap_or(&chip.id);
        for (id, props) in &chip.sensors {
            if !explode(id).is_some_and(|(k, _, p)| k == "fan" && p.is_empty()) {
                continue;
            }
            let Some(rpm) = props
                .get("input")
                .and_then(|v| v.trim().parse::<f64>().ok())
            else {
                continue;
            };
            let label = props
                .get("label")
                .cloned()
                .unwrap_or_else(|| format!("{name} {id}"));
            let entry = json!({
                "key": "label",
                "unit": "R",
                "value": rpm,
                "warning": null,
                "critical": null,
                "type": "fan_speed",
            });
            found.push((label, chip.id.clone(), entry));
        }
    }
    let list = found
        .iter()
        .map(|(label, chip, entry)| {
            let shared = found.iter().filter(|(l, _, _)| l == label).count() > 1;
            let mut entry = entry.clone();
            entry["label"] = json!(if shared {
                format!("{label} ({chip})")
            } else {
                label.clone()
            });
            entry
        })
        .collect();
    Value::Array(list)
}

/// `/api/4/gpu`: each GPU's memory in use (%), busy share (%),
/// temperature and fan; a sleeping one is listed with nulls (sonde never
/// wakes it to ask).
pub fn gpu(gpus: &[Gpu]) -> Value {
    let list = gpus
        .iter()
        .map(|g| {
            let r = &g.reading;
            let mem = match (r.memory_used_bytes, r.memory_total_bytes) {
                (Some(u), Some(t)) if t > 0 => Some(percent(u, t)),
                _ => None,
            };
            let awake = g.state == GpuState::Active;
            json!({
                "key": "gpu_id",
                "gpu_id": format!("{}{}", g.vendor.name(), g.index),
                "name": g.name,
                "mem": mem.filter(|_| awake),
                "proc": r.utilization_percent.filter(|_| awake).map(f64::from),
                "temperature": r.temperature_celsius.filter(|_| awake).map(f64::from),
                "fan_speed": r.fan_percent.filter(|_| awake).map(f64::from),
            })
        })
        .collect();
    Value::Array(list)
}

/// `/api/4/raid`: md arrays by name, Glances' keys.
pub fn raid(a: &Arrays) -> Value {
    let mut out = serde_json::Map::new();
    for md in a.md.iter().flatten() {
        out.insert(
            md.name.clone(),
            json!({
                "status": if md.state == "inactive" { "inactive" } else { "active" },
                "type": md.level,
                "available": md.disks_active,
                "used": md.disks_total,
                "components": {},
                "config": null,
            }),
        );
    }
    Value::Object(out)
}

/// `/api/4/processcount`. `running` is the kernel's count of runnable
/// tasks (`/proc/stat`'s `procs_running`, from the metrics sample) where
/// given: the scan keeps each process's state from its last full read, and
/// a process seldom reads as running between two of its own time slices.
pub fn processcount(t: &ProcessTable, procs_running: Option<u64>) -> Value {
    let count = |s: char| t.rows.iter().filter(|r| r.state == s).count() as u64;
    json!({
        "total": t.process_count,
        "running": procs_running.unwrap_or_else(|| count('R')),
        "sleeping": count('S'),
        "thread": t.rows.iter().map(|r| u64::from(r.threads)).sum::<u64>(),
        "pid_max": null,
    })
}

/// `/api/4/processlist`: the busiest first, as Glances sorts it. Glances'
/// `cpu_percent` is of one core (psutil's), sonde's of the whole machine:
/// multiplied by the CPU count here. Command lines and user names are not
/// part of the scan: null (never served on this unauthenticated-by-habit
/// API, unlike Glances' advisory).
pub fn processlist(t: &ProcessTable, cpus: usize, mem_total: u64) -> Value {
    let mut rows: Vec<_> = t.rows.iter().collect();
    rows.sort_by(|a, b| {
        b.cpu_percent
            .total_cmp(&a.cpu_percent)
            .then(a.pid.cmp(&b.pid))
    });
    let window = t.window.as_secs_f64();
    let list = rows
        .into_iter()
        .map(|r| {
            json!({
                "key": "pid",
                "pid": r.pid,
                "name": r.name,
                "status": r.state.to_string(),
                "cpu_percent": round1(f64::from(r.cpu_percent) * cpus as f64),
                "memory_percent": if mem_total > 0 { r.rss_bytes as f64 * 100.0 / mem_total as f64 } else { 0.0 },
                "memory_info": { "rss": r.rss_bytes, "vms": null },
                "num_threads": r.threads,
                "cmdline": null,
                "username": null,
                "nice": null,
                "cpu_times": null,
                "gids": null,
                "io_counters": null,
                "time_since_update": window,
            })
        })
        .collect();
    Value::Array(list)
}

/// `/api/4/containers`: the containers among sonde's cgroups (systemd
/// units left out), named by their runtime where sonde knows it, else by
/// their id's first 12 characters, as `docker ps` shows it.
pub fn containers(t: &ContainerTable) -> Value {
    let list = t
        .containers
        .iter()
        .filter(|c| c.owner.is_container())
        .map(|c| {
            let short: String = c.owner.id.chars().take(12).collect();
            let name = c.owner.name.clone().unwrap_or(short);
            let cpu = c.cpu_percent.map(|p| round1(f64::from(p)));
            json!({
                "key": "name",
                "name": name,
                "id": c.owner.id,
                "engine": c.owner.kind.name(),
                "status": "running",
                "cpu": { "total": cpu },
                "cpu_percent": cpu,
                "memory": {
                    "usage": c.mem_bytes,
                    "limit": c.mem_limit_bytes,
                    "inactive_file": null,
                },
                "memory_usage": c.mem_bytes,
                "io": {
                    "ior": c.io_read_bytes,
                    "iow": c.io_write_bytes,
                },
                "image": null,
                "command": null,
                "uptime": null,
            })
        })
        .collect();
    Value::Array(list)
}
