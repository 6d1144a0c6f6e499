//! `timex`: the kernel's clock discipline (NTP) state, from `adjtimex`
//! asked without changing anything.

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "timex",
    read: Read::Files(read),
};

const TIME_ERROR: i32 = 5;
const STA_NANO: i32 = 0x2000;
/// Scaled ppm (16-bit fraction) per unit ratio.
const PPM16FRAC: f64 = 1_000_000.0 * 65_536.0;

/// What `adjtimex` reports, as node_exporter reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timex {
    /// The call's return (clock state; `TIME_ERROR` when unsynchronised).
    pub state: i32,
    /// The fields of `struct timex` node_exporter serves.
    pub offset: i64,
    pub freq: i64,
    pub maxerror: i64,
    pub esterror: i64,
    pub status: i32,
    pub constant: i64,
    pub tick: i64,
    pub ppsfreq: i64,
    pub jitter: i64,
    pub shift: i32,
    pub stabil: i64,
    pub jitcnt: i64,
    pub calcnt: i64,
    pub errcnt: i64,
    pub stbcnt: i64,
    pub tai: i32,
}

fn read(_: &Source<'_>) -> Result<Option<Families>, CollectError> {
    // SAFETY: with `modes` 0, adjtimex only fills the struct it is given.
    let t = unsafe {
        let mut buf: libc::timex = std::mem::zeroed();
        let state = libc::adjtimex(&mut buf);
        if state < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                return Ok(None);
            }
            return Err(CollectError::read(std::path::Path::new("adjtimex"), e));
        }
        Timex {
            state,
            offset: buf.offset,
            freq: buf.freq,
            maxerror: buf.maxerror,
            esterror: buf.esterror,
            status: buf.status,
            constant: buf.constant,
            tick: buf.tick,
            ppsfreq: buf.ppsfreq,
            jitter: buf.jitter,
            shift: buf.shift,
            stabil: buf.stabil,
            jitcnt: buf.jitcnt,
            calcnt: buf.calcnt,
            errcnt: buf.errcnt,
            stbcnt: buf.stbcnt,
            tai: buf.tai,
        }
    };
    Ok(Some(families(&t)))
}

/// node_exporter's series and units for one reading.
pub fn families(t: &Timex) -> Families {
    let divisor = if t.status & STA_NANO != 0 { 1e9 } else { 1e6 };
    let mut f = Families::default();
    let gauges: [(&str, &str, f64); 13] = [
        (
            "node_timex_estimated_error_seconds",
            "Estimated error in seconds.",
            t.esterror as f64 / 1e6,
        ),
        (
            "node_timex_frequency_adjustment_ratio",
            "Local clock frequency adjustment.",
            1.0 + t.freq as f64 / PPM16FRAC,
        ),
        (
            "node_timex_loop_time_constant",
            "Phase-locked loop time constant.",
            t.constant as f64,
        ),
        (
            "node_timex_maxerror_seconds",
            "Maximum error in seconds.",
            t.maxerror as f64 / 1e6,
        ),
        (
            "node_timex_offset_seconds",
            "Time offset in between local system and reference clock.",
            t.offset as f64 / divisor,
        ),
        (
            "node_timex_pps_frequency_hertz",
            "Pulse per second frequency.",
            t.ppsfreq as f64 / PPM16FRAC,
        ),
        (
            "node_timex_pps_jitter_seconds",
            "Pulse per second jitter.",
            t.jitter as f64 / divisor,
        ),
        (
            "node_timex_pps_shift_seconds",
            "Pulse per second interval duration.",
            t.shift as f64,
        ),
        (
            "node_timex_pps_stability_hertz",
            "Pulse per second stability, average of recent frequency changes.",
            t.stabil as f64 / PPM16FRAC,
        ),
        (
            "node_timex_status",
            "Value of the status array bits.",
            t.status as f64,
        ),
        (
            "node_timex_sync_status",
            "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
            if t.state == TIME_ERROR { 0.0 } else { 1.0 },
        ),
        (
            "node_timex_tai_offset_seconds",
            "International Atomic Time (TAI) offset.",
            t.tai as f64,
        ),
        (
            "node_timex_tick_seconds",
            "Seconds between clock ticks.",
            t.tick as f64 / 1e6,
        ),
    ];
    for (name, help, value) in gauges {
        f.gauge(name, help, value);
    }
    let counters: [(&str, &str, f64); 4] = [
        (
            "node_timex_pps_calibration_total",
            "Pulse per second count of calibration intervals.",
            t.calcnt as f64,
        ),
        (
            "node_timex_pps_error_total",
            "Pulse per second count of calibration errors.",
            t.errcnt as f64,
        ),
        (
            "node_timex_pps_jitter_total",
            "Pulse per second count of jitter limit exceeded events.",
            t.jitcnt as f64,
        ),
        (
            "node_timex_pps_stability_exceeded_total",
            "Pulse per second count of stability limit exceeded events.",
            t.stbcnt as f64,
        ),
    ];
    for (name, help, value) in counters {
        f.counter(name, help, value);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_units_as_node_exporter_does() {
        let t = Timex {
            state: TIME_ERROR,
            maxerror: 16_000_000,
            tick: 10_000,
            freq: 65_536 * 10,
            status: 0x40,
            ..Timex::default()
        };
        let text = families(&t).encode();
        assert!(text.contains("node_timex_maxerror_seconds 16"), "{text}");
        assert!(text.contains("node_timex_tick_seconds 0.01"), "{text}");
        assert!(
            text.contains("node_timex_frequency_adjustment_ratio 1.00001"),
            "{text}"
        );
        assert!(text.contains("node_timex_sync_status 0"), "{text}");
        assert!(text.contains("node_timex_pps_error_total 0"), "{text}");
    }
}
