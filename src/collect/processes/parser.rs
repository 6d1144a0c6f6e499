//! Pure parsers of the per-process files the scan reads: `stat`,
//! `schedstat`, `/proc/vmstat`'s reclaim counters, `/proc/loadavg`'s last
//! created pid, and pid directory names. Also used by `process_detail`.

use crate::collect::{ParseError, num};

const FILE: &str = "/proc/[pid]/stat";

/// The fields of `/proc/[pid]/stat` sonde uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidStat<'a> {
    /// Process id.
    pub pid: u32,
    /// `comm`: the name, at most 15 bytes, may contain spaces and parentheses.
    pub comm: &'a str,
    /// One-letter state (`R`, `S`, `D`, `Z`, `T`, `I`…).
    pub state: char,
    /// Parent process id (0 for the roots).
    pub ppid: u32,
    /// User-mode CPU time, clock ticks.
    pub utime_ticks: u64,
    /// Kernel-mode CPU time, clock ticks.
    pub stime_ticks: u64,
    /// Threads in the process.
    pub num_threads: u32,
    /// Start time after boot, clock ticks: with the pid, the process identity.
    pub start_ticks: u64,
    /// Virtual memory size, bytes.
    pub vsize_bytes: u64,
    /// Resident set size, pages.
    pub rss_pages: u64,
}

/// Parses one `/proc/[pid]/stat` line. The name is everything between the
/// first `(` and the last `)`, since `comm` may itself contain `)`.
///
/// This runs once per process per scan, so it scans bytes by hand instead
/// of splitting into strings; it is long for that speed (one pass, no
/// allocation), not for want of splitting.
pub fn parse_pid_stat(text: &str) -> Result<PidStat<'_>, ParseError> {
    let bytes = text.as_bytes();
    let open =
        memchr::memchr(b'(', bytes).ok_or_else(|| ParseError::new(FILE, "no '(' before comm"))?;
    let close = memchr::memrchr(b')', bytes)
        .filter(|&c| c > open)
        .ok_or_else(|| ParseError::new(FILE, "no ')' after comm"))?;
    let pid = num(FILE, "pid", Some(text[..open].trim()))?;
    let comm = &text[open + 1..close];
    // One pass over the fields after comm. Field n of proc(5) is index
    // n - 3 here: 0 state, 1 ppid, 11 utime, 12 stime, 17 num_threads,
    // 19 starttime, 20 vsize, 21 rss.
    const WANTED: [usize; 7] = [1, 11, 12, 17, 19, 20, 21];
    let mut values = [0u64; 7];
    let mut seen = 0usize;
    let mut state = None;
    let mut index = 0usize;
    let mut value: Option<u64> = Some(0);
    let mut in_field = false;
    let mut negative = false;
    for &b in &bytes[close + 1..] {
        if b == b' ' || b == b'\n' {
            if in_field {
                if let Some(slot) = WANTED.iter().position(|&w| w == index) {
                    let v = value.ok_or_else(|| {
                        ParseError::new(FILE, format!("field {} is not a number", index + 3))
                    })?;
                    values[slot] = if negative { 0 } else { v };
                    seen += 1;
                    if seen == WANTED.len() {
                        break;
                    }
                }
                index += 1;
                in_field = false;
                negative = false;
                value = Some(0);
            }
            continue;
        }
        if !in_field {
            in_field = true;
            if index == 0 {
                state = Some(char::from(b));
            }
        }
        value = match (value, b) {
            (Some(v), b'0'..=b'9') => v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0'))),
            // rss is a signed long; a negative value (never seen) counts as 0.
            (Some(0), b'-') if index == 21 && !negative => {
                negative = true;
                Some(0)
            }
            _ => None,
        };
    }
    if in_field
        && seen < WANTED.len()
        && let Some(slot) = WANTED.iter().position(|&w| w == index)
    {
        let v = value
            .ok_or_else(|| ParseError::new(FILE, format!("field {} is not a number", index + 3)))?;
        values[slot] = if negative { 0 } else { v };
        seen += 1;
    }
    let state = state.ok_or_else(|| ParseError::new(FILE, "state missing"))?;
    if seen < WANTED.len() {
        return Err(ParseError::new(FILE, format!("only {} fields", index + 3)));
    }
    let [
        ppid,
        utime_ticks,
        stime_ticks,
        num_threads,
        start_ticks,
        vsize_bytes,
        rss_pages,
    ] = values;
    Ok(PidStat {
        pid,
        comm,
        state,
        ppid: u32::try_from(ppid).map_err(|_| ParseError::new(FILE, "ppid out of range"))?,
        utime_ticks,
        stime_ticks,
        num_threads: u32::try_from(num_threads).unwrap_or(u32::MAX),
        start_ticks,
        vsize_bytes,
        rss_pages,
    })
}

/// `/proc/[pid]/schedstat`: nanoseconds on CPU and times scheduled, of the
/// main thread. `None` when the line is not two numbers and a third.
pub fn parse_schedstat(text: &str) -> Option<(u64, u64)> {
    let mut fields = text.split_ascii_whitespace();
    let run_ns = fields.next()?.parse().ok()?;
    let _wait_ns: u64 = fields.next()?.parse().ok()?;
    let timeslices = fields.next()?.parse().ok()?;
    Some((run_ns, timeslices))
}

/// The `/proc/vmstat` counters that move when memory is taken from (or given
/// back to) a process that is not running: reclaim, swap, demotion,
/// migration, huge-page collapse. Their sum only matters for whether it
/// changed; `None` when none of them is there.
pub fn parse_reclaim_epoch(vmstat: &str) -> Option<u64> {
    const MOVERS: [&str; 6] = [
        "pgsteal_",
        "pswpin",
        "pswpout",
        "pgdemote_",
        "pgmigrate_success",
        "thp_collapse_alloc",
    ];
    let mut sum: Option<u64> = None;
    for line in vmstat.lines() {
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        if MOVERS.iter().any(|m| key.starts_with(m))
            && let Ok(v) = value.trim().parse::<u64>()
        {
            sum = Some(sum.unwrap_or(0).wrapping_add(v));
        }
    }
    sum
}

/// The most recently created pid, the last field of `/proc/loadavg`.
pub fn parse_last_created_pid(loadavg: &str) -> Option<u64> {
    loadavg.split_ascii_whitespace().nth(4)?.parse().ok()
}

/// A directory name that is a PID (all digits, fits u32).
pub fn parse_pid_name(name: &[u8]) -> Option<u32> {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat_line(pid: u32, comm: &str) -> String {
        format!(
            "{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194560 1089 0 0 0 120 30 0 0 20 0 3 0 4242 27865088 2463 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0"
        )
    }

    #[test]
    fn parses_a_plain_line() {
        let line = stat_line(1234, "bash");
        let st = parse_pid_stat(&line).unwrap();
        assert_eq!(st.pid, 1234);
        assert_eq!(st.comm, "bash");
        assert_eq!(st.state, 'S');
        assert_eq!(st.ppid, 1);
        assert_eq!((st.utime_ticks, st.stime_ticks), (120, 30));
        assert_eq!(st.num_threads, 3);
        assert_eq!(st.start_ticks, 4242);
        assert_eq!(st.vsize_bytes, 27_865_088);
        assert_eq!(st.rss_pages, 2463);
    }

    #[test]
    fn nasty_comm_values() {
        for comm in ["(sd-pam)", "a) b", "with space", ") R 1 2 3", "((", "x)"] {
            let line = stat_line(7, comm);
            let st = parse_pid_stat(&line).unwrap();
            assert_eq!(st.comm, comm, "{line}");
            assert_eq!(st.utime_ticks, 120, "{comm}");
            assert_eq!(st.rss_pages, 2463, "{comm}");
        }
    }

    #[test]
    fn fifteen_char_truncated_name_and_kernel_thread() {
        let st = parse_pid_stat(
            "812 (kworker/u16:3-) I 2 0 0 0 -1 69238880 0 0 0 0 0 52 0 0 20 0 1 0 1500 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 3 0 0 0 0 0",
        )
        .unwrap();
        assert_eq!(st.comm, "kworker/u16:3-");
        assert_eq!(st.comm.len(), 14);
        assert_eq!(st.ppid, 2);
        assert_eq!(st.rss_pages, 0);
        let line = stat_line(9, "systemd-journal");
        assert_eq!(parse_pid_stat(&line).unwrap().comm.len(), 15);
    }

    #[test]
    fn rejects_truncated_or_garbled_lines() {
        assert!(parse_pid_stat("").is_err());
        assert!(parse_pid_stat("12 (x S 1").is_err());
        assert!(parse_pid_stat("12 (x) S 1 2 3").is_err());
        assert!(parse_pid_stat("abc (x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 0 0").is_err());
    }

    #[test]
    fn last_created_pid() {
        assert_eq!(
            parse_last_created_pid("0.52 0.58 0.59 2/612 12345\n"),
            Some(12345)
        );
        assert_eq!(parse_last_created_pid("0.52 0.58\n"), None);
    }

    #[test]
    fn negative_rss_is_zero_and_a_line_may_end_at_rss() {
        let st =
            parse_pid_stat("5 (x) S 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 2 0 99 4096 -3").unwrap();
        assert_eq!((st.utime_ticks, st.stime_ticks, st.num_threads), (7, 8, 2));
        assert_eq!(
            (st.start_ticks, st.vsize_bytes, st.rss_pages),
            (99, 4096, 0)
        );
    }

    #[test]
    fn pid_names() {
        assert_eq!(parse_pid_name(b"123"), Some(123));
        assert_eq!(parse_pid_name(b"self"), None);
        assert_eq!(parse_pid_name(b""), None);
        assert_eq!(parse_pid_name(b"99999999999"), None);
    }

    #[test]
    fn schedstat_and_reclaim_epoch() {
        assert_eq!(parse_schedstat("1579153 2048 3\n"), Some((1_579_153, 3)));
        assert_eq!(parse_schedstat("0 0 0\n"), Some((0, 0)));
        assert_eq!(parse_schedstat("12 x 3"), None);
        assert_eq!(parse_schedstat("12 4"), None);
        let vmstat = "nr_free_pages 12\npgsteal_kswapd 5\npgsteal_direct 7\npswpin 1\npswpout 2\npgfault 99999\nthp_collapse_alloc 3\n";
        assert_eq!(parse_reclaim_epoch(vmstat), Some(18));
        assert_eq!(parse_reclaim_epoch("pgfault 1\nnr_dirty 3\n"), None);
        assert_eq!(parse_reclaim_epoch(""), None);
    }
}
