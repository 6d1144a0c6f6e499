//! The Glances plugins of the metrics and host samples: `cpu`, `percpu`,
//! `load`, `mem`, `memswap`, `uptime`, `system`, `core`, and the parts of
//! `quicklook`. Key names, types and units are Glances 4's; what sonde does
//! not read is null, never made up.

use serde_json::{Value, json};

use crate::collect::cpu::CpuUsage;
use crate::collect::host::HostFacts;
use crate::collect::metrics::Metrics;

/// One decimal, as Glances rounds its percentages.
pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// `used` of `total` in percent, one decimal; 0 for an empty total.
pub fn percent(used: u64, total: u64) -> f64 {
    round1(f64::from(crate::collect::share_percent(used, total)))
}

/// Per-mode shares in Glances' names (`MODES` order: user, nice, system,
/// idle, iowait, irq, softirq, steal).
fn modes(m: &[f32; 8]) -> [(&'static str, f64); 8] {
    let names = [
        "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
    ];
    let mut out = [("", 0.0); 8];
    for (i, name) in names.iter().enumerate() {
        out[i] = (name, round1(f64::from(m[i])));
    }
    out
}

/// `/api/4/cpu`.
pub fn cpu(m: &Metrics) -> Value {
    let c = &m.cpu;
    let mut v = json!({
        "total": round1(f64::from(c.total_percent)),
        "guest": null,
        "cpucore": c.per_core_percent.len(),
        "time_since_update": c.window_secs,
        "soft_interrupts": null,
        "soft_interrupts_gauge": null,
        "soft_interrupts_rate_per_sec": null,
        "syscalls": null,
        "syscalls_gauge": null,
        "syscalls_rate_per_sec": null,
    });
    for (name, share) in modes(&c.modes_percent) {
        v[name] = json!(share);
    }
    let counters = [
        (
            "ctx_switches",
            c.times.system.context_switches,
            c.switches_per_sec,
        ),
        (
            "interrupts",
            c.times.system.interrupts,
            c.interrupts_per_sec,
        ),
    ];
    for (name, gauge, rate) in counters {
        v[name] = json!(rate.map(|r| (r * c.window_secs).round() as u64));
        v[format!("{name}_gauge")] = json!(gauge);
        v[format!("{name}_rate_per_sec")] = json!(rate.map(|r| r.round() as u64));
    }
    v
}

/// `/api/4/percpu`.
pub fn percpu(c: &CpuUsage) -> Value {
    let list: Vec<Value> = c
        .per_core_percent
        .iter()
        .enumerate()
        .map(|(i, total)| {
            let mut v = json!({
                "key": "cpu_number",
                "cpu_number": c.times.cores.get(i).map_or(i as u32, |(id, _)| *id),
                "total": round1(f64::from(*total)),
                "guest": null,
                "guest_nice": null,
                "dpc": null,
                "interrupt": null,
            });
            if let Some(m) = c.per_core_modes_percent.get(i) {
                for (name, share) in modes(m) {
                    v[name] = json!(share);
                }
            }
            v
        })
        .collect();
    Value::Array(list)
}

/// `/api/4/load`.
pub fn load(m: &Metrics) -> Value {
    match m.load_avg {
        Some([a, b, c]) => json!({
            "min1": a,
            "min5": b,
            "min15": c,
            "cpucore": m.cpu.per_core_percent.len(),
        }),
        None => Value::Null,
    }
}

/// A `/proc/meminfo` field in bytes.
fn meminfo(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kb.saturating_mul(1024))
    })
}

/// `/api/4/mem`, as psutil defines it: `used` is total − available.
pub fn mem(m: &Metrics) -> Value {
    let (Some(mem), Some(text)) = (m.memory, m.meminfo.as_deref()) else {
        return Value::Null;
    };
    let field = |k: &str| meminfo(text, k);
    let cached = field("Cached").map(|c| c + field("SReclaimable").unwrap_or(0));
    json!({
        "total": mem.total_bytes,
        "available": mem.available_bytes,
        "percent": percent(mem.used_bytes(), mem.total_bytes),
        "used": mem.used_bytes(),
        "free": field("MemFree"),
        "active": field("Active"),
        "inactive": field("Inactive"),
        "buffers": field("Buffers"),
        "cached": cached,
        "shared": field("Shmem"),
        "percent_min": null,
        "percent_max": null,
        "percent_mean": null,
    })
}

/// `/api/4/memswap` (`sin`/`sout` would need `/proc/vmstat`, which the
/// metrics sample does not read: null).
pub fn memswap(m: &Metrics) -> Value {
    let Some(mem) = m.memory else {
        return Value::Null;
    };
    json!({
        "total": mem.swap_total_bytes,
        "used": mem.swap_used_bytes(),
        "free": mem.swap_free_bytes,
        "percent": percent(mem.swap_used_bytes(), mem.swap_total_bytes),
        "sin": null,
        "sout": null,
        "time_since_update": m.cpu.window_secs,
    })
}

/// `/api/4/uptime`: Python's `str(timedelta)`, as Glances serves it
/// (`1:46:58`, `3 days, 4:05:06`).
pub fn uptime(m: &Metrics) -> Value {
    match m.uptime_secs {
        Some(s) => Value::String(timedelta(s)),
        None => Value::Null,
    }
}

/// Seconds as Python's `str(timedelta(seconds=s))`.
pub fn timedelta(s: u64) -> String {
    let (days, rest) = (s / 86_400, s % 86_400);
    let hms = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        d => format!("{d} days, {hms}"),
    }
}

/// `/api/4/system`.
pub fn system(h: &HostFacts) -> Value {
    let platform = if h.arch.contains("64") {
        "64bit"
    } else {
        "32bit"
    };
    let distro = h.os.clone();
    let kernel = h.kernel_version.clone();
    let hr_name = format!(
        "{} {platform} / Linux {}",
        distro.as_deref().unwrap_or("Linux"),
        kernel.as_deref().unwrap_or("")
    );
    json!({
        "os_name": "Linux",
        "hostname": h.hostname,
        "platform": platform,
        "os_version": kernel,
        "linux_distro": distro,
        "hr_name": hr_name,
    })
}

/// `/api/4/core`.
pub fn core(h: &HostFacts) -> Value {
    json!({
        "phys": h.cpu_physical_cores,
        "log": h.cpu_cores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_reads_as_pythons_timedelta() {
        assert_eq!(timedelta(6418), "1:46:58");
        assert_eq!(timedelta(86_400 + 5), "1 day, 0:00:05");
        assert_eq!(
            timedelta(3 * 86_400 + 4 * 3600 + 5 * 60 + 6),
            "3 days, 4:05:06"
        );
    }

    #[test]
    fn meminfo_fields_in_bytes() {
        let text = "MemTotal: 100 kB\nMemFree:  7 kB\nCached: 3 kB\n";
        assert_eq!(meminfo(text, "MemFree"), Some(7 * 1024));
        assert_eq!(meminfo(text, "Mem"), None, "a whole key, not a prefix");
        assert_eq!(meminfo(text, "Shmem"), None);
    }

    #[test]
    fn percentages_round_to_one_decimal() {
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(0, 0), 0.0);
    }
}
