//! The process table: one pass over `/proc/[pid]/stat`, CPU% from jiffies
//! deltas.
//!
//! One read per process gives name, state, parent, utime+stime, start time
//! and RSS. Descriptors are kept between scans (within a budget below
//! `RLIMIT_NOFILE`), so a steady process table costs one `pread` per process.
//! History is keyed by (pid, start time): a reused PID starts from zero
//! instead of being charged the previous owner's time.

use std::collections::HashMap;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::cpu::parse_stat;
use super::{History, Kept, ParseError, ProcFile, Roots, num, sample_with_history};

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
pub fn parse_pid_stat(text: &str) -> Result<PidStat<'_>, ParseError> {
    let open = text
        .find('(')
        .ok_or_else(|| ParseError::new(FILE, "no '(' before comm"))?;
    let close = text
        .rfind(')')
        .filter(|&c| c > open)
        .ok_or_else(|| ParseError::new(FILE, "no ')' after comm"))?;
    let pid = num(FILE, "pid", Some(text[..open].trim()))?;
    let comm = &text[open + 1..close];
    let mut f = text[close + 1..].split_ascii_whitespace();
    // Field n of proc(5) is at index n - 3 of the part after comm.
    let state = f
        .next()
        .and_then(|s| s.chars().next())
        .ok_or_else(|| ParseError::new(FILE, "state missing"))?;
    let ppid = num(FILE, "ppid", f.next())?;
    let utime_ticks = num(FILE, "utime", f.nth(9))?;
    let stime_ticks = num(FILE, "stime", f.next())?;
    let num_threads = num(FILE, "num_threads", f.nth(4))?;
    let start_ticks = num(FILE, "starttime", f.nth(1))?;
    let vsize_bytes = num(FILE, "vsize", f.next())?;
    let rss_pages: i64 = num(FILE, "rss", f.next())?;
    Ok(PidStat {
        pid,
        comm,
        state,
        ppid,
        utime_ticks,
        stime_ticks,
        num_threads,
        start_ticks,
        vsize_bytes,
        rss_pages: rss_pages.max(0) as u64,
    })
}

/// One row of the process list.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcRow {
    /// Process id.
    pub pid: u32,
    /// Parent process id, for one-level child lookups.
    pub ppid: u32,
    /// Start time after boot in clock ticks (identity together with `pid`).
    pub start_ticks: u64,
    /// `comm` name.
    pub name: String,
    /// Share of the whole machine over the sample window, 0–100.
    pub cpu_percent: f32,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
}

/// The process list of one scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessTable {
    /// Every process that could be read, in PID order.
    pub rows: Vec<ProcRow>,
    /// Processes listed in `/proc` (rows may be fewer: some exit mid-scan).
    pub process_count: u64,
    /// Length of the CPU% window, for diagnostics.
    pub window: Duration,
}

/// Per-process cumulative ticks at one instant, sorted by pid.
#[derive(Debug, Default)]
struct Snapshot {
    /// Sum of all CPUs' jiffies from `/proc/stat`.
    total_jiffies: u64,
    /// (pid, start_ticks, utime+stime), ascending pid.
    ticks: Vec<(u32, u64, u64)>,
}

impl Snapshot {
    fn ticks_of(&self, pid: u32, start_ticks: u64) -> Option<u64> {
        let i = self.ticks.binary_search_by_key(&pid, |t| t.0).ok()?;
        let (_, start, ticks) = self.ticks[i];
        (start == start_ticks).then_some(ticks)
    }
}

/// A kept `/proc/<pid>/stat` descriptor and the scan that last saw it.
#[derive(Debug)]
struct Open {
    file: ProcFile,
    seen_in_scan: u64,
}

/// Scans the process table; keeps descriptors and recent history.
#[derive(Debug)]
pub struct ProcessSampler {
    /// The procfs root (`/proc` or a fixture).
    proc_root: PathBuf,
    /// The procfs root directory, rewound for every listing.
    proc_dir: Option<OwnedFd>,
    /// `/proc/stat`, for the machine's total jiffies.
    stat: Kept,
    /// Kept `/proc/<pid>/stat` descriptors.
    open: HashMap<u32, Open>,
    /// How many descriptors may be kept (the rest are opened per scan).
    fd_budget: usize,
    /// Scan counter, to drop descriptors of processes that disappeared.
    scan: u64,
    /// Reused read buffer.
    buf: Vec<u8>,
    /// Reused getdents buffer.
    dir_buf: Vec<MaybeUninit<u8>>,
    /// Recent snapshots, for CPU% over at least `MIN_WINDOW`.
    history: History<Snapshot>,
    /// Bytes per page, for RSS.
    page_size: u64,
    /// The most recent table, for lookups that need no fresh scan.
    latest: Option<Arc<ProcessTable>>,
}

impl ProcessSampler {
    /// A sampler over `roots.proc` keeping at most `fd_budget` descriptors.
    pub fn new(roots: &Roots, fd_budget: usize) -> ProcessSampler {
        ProcessSampler {
            proc_root: roots.proc.clone(),
            proc_dir: None,
            stat: Kept::new(roots.proc.join("stat")),
            open: HashMap::new(),
            fd_budget,
            scan: 0,
            buf: vec![0; 1024],
            dir_buf: vec![MaybeUninit::uninit(); 32 * 1024],
            history: History::default(),
            page_size: rustix::param::page_size() as u64,
            latest: None,
        }
    }

    /// Number of descriptors currently kept (for tests and benches).
    pub fn kept_descriptors(&self) -> usize {
        self.open.len()
    }

    /// The table of the most recent scan, if any.
    pub fn latest(&self) -> Option<Arc<ProcessTable>> {
        self.latest.clone()
    }

    /// Takes a baseline snapshot (startup warm-up), so the first request
    /// needs no wait once `MIN_WINDOW` has passed.
    pub fn warm_up(&mut self) {
        if self.history.is_empty()
            && let Some((snap, _, _)) = self.take()
        {
            self.history.push(std::time::Instant::now(), snap);
        }
    }

    /// A fresh table with CPU% over at least `MIN_WINDOW`; `None` when
    /// `/proc` cannot be listed. Blocks on the very first call (see
    /// [`super::sample_with_history`]).
    pub fn sample(&mut self) -> Option<Arc<ProcessTable>> {
        // Both closures below need the rows of the scan: one fills, one reads.
        let scanned = std::cell::Cell::new(None);
        let mut history = std::mem::take(&mut self.history);
        let table = sample_with_history(
            &mut history,
            || {
                let (snap, rows, count) = self.take()?;
                scanned.set(Some((rows, count)));
                Some(snap)
            },
            |now, base| {
                let (mut rows, process_count) = scanned.take().unwrap_or_default();
                let (window, base) = match base {
                    Some((window, base)) => (window, Some(base)),
                    None => (Duration::ZERO, None),
                };
                let total = base.map_or(now.total_jiffies, |b| {
                    now.total_jiffies.saturating_sub(b.total_jiffies)
                });
                for row in &mut rows {
                    let Some(ticks) = now.ticks_of(row.pid, row.start_ticks) else {
                        continue;
                    };
                    let before = base
                        .and_then(|b| b.ticks_of(row.pid, row.start_ticks))
                        .unwrap_or(0);
                    row.cpu_percent = share_percent(ticks.saturating_sub(before), total);
                }
                ProcessTable {
                    rows,
                    process_count,
                    window,
                }
            },
        );
        self.history = history;
        let table = Arc::new(table?);
        self.latest = Some(table.clone());
        Some(table)
    }

    /// One pass: (snapshot, rows without CPU%, processes listed).
    fn take(&mut self) -> Option<(Snapshot, Vec<ProcRow>, u64)> {
        let total_jiffies = parse_stat(self.stat.read().ok()?).ok()?.all.total;
        let pids = self.list_pids().ok()?;
        self.scan += 1;
        let mut snap = Snapshot {
            total_jiffies,
            ticks: Vec::with_capacity(pids.len()),
        };
        let mut rows = Vec::with_capacity(pids.len());
        for &pid in &pids {
            let Some(n) = self.read_pid_stat(pid) else {
                continue; // exited mid-scan, or unreadable: skipped
            };
            let text = String::from_utf8_lossy(&self.buf[..n]);
            let Ok(st) = parse_pid_stat(&text) else {
                continue;
            };
            snap.ticks
                .push((pid, st.start_ticks, st.utime_ticks + st.stime_ticks));
            rows.push(ProcRow {
                pid,
                ppid: st.ppid,
                start_ticks: st.start_ticks,
                name: st.comm.to_owned(),
                cpu_percent: 0.0,
                rss_bytes: st.rss_pages * self.page_size,
            });
        }
        let scan = self.scan;
        self.open.retain(|_, o| o.seen_in_scan == scan);
        if !snap.ticks.is_sorted_by_key(|t| t.0) {
            snap.ticks.sort_unstable_by_key(|t| t.0);
        }
        Some((snap, rows, pids.len() as u64))
    }

    /// Reads `/proc/<pid>/stat` into `self.buf` through a kept descriptor,
    /// reopening once when the kept one belongs to a process that exited.
    fn read_pid_stat(&mut self, pid: u32) -> Option<usize> {
        if let Some(o) = self.open.get_mut(&pid) {
            match o.file.read_into(&mut self.buf) {
                Ok(n) => {
                    o.seen_in_scan = self.scan;
                    return Some(n);
                }
                // ESRCH: that process is gone; the PID may have a new owner.
                Err(_) => {
                    self.open.remove(&pid);
                }
            }
        }
        let mut path = self.proc_root.clone();
        path.push(pid.to_string());
        path.push("stat");
        let file = ProcFile::open(&path).ok()?;
        let n = file.read_into(&mut self.buf).ok()?;
        if self.open.len() < self.fd_budget {
            self.open.insert(
                pid,
                Open {
                    file,
                    seen_in_scan: self.scan,
                },
            );
        }
        Some(n)
    }

    /// PIDs listed in the procfs root, via a kept directory descriptor.
    fn list_pids(&mut self) -> io::Result<Vec<u32>> {
        let dir = match self.proc_dir.take() {
            Some(fd) => fd,
            None => rustix::fs::open(
                &self.proc_root,
                rustix::fs::OFlags::RDONLY
                    | rustix::fs::OFlags::DIRECTORY
                    | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )?,
        };
        let pids = list_pids_in(dir.as_fd(), &mut self.dir_buf)?;
        self.proc_dir = Some(dir);
        Ok(pids)
    }
}

/// Counts the processes in a procfs root without reading any of them.
pub fn count_processes(proc_root: &std::path::Path) -> io::Result<u64> {
    let dir = rustix::fs::open(
        proc_root,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    let mut buf = vec![MaybeUninit::uninit(); 32 * 1024];
    Ok(list_pids_in(dir.as_fd(), &mut buf)?.len() as u64)
}

fn list_pids_in(
    dir: std::os::fd::BorrowedFd<'_>,
    buf: &mut [MaybeUninit<u8>],
) -> io::Result<Vec<u32>> {
    rustix::fs::seek(dir, rustix::fs::SeekFrom::Start(0))?;
    let mut raw = rustix::fs::RawDir::new(dir, buf);
    let mut pids = Vec::with_capacity(512);
    while let Some(entry) = raw.next() {
        if let Some(pid) = parse_pid_name(entry?.file_name().to_bytes()) {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// A directory name that is a PID (all digits, fits u32).
fn parse_pid_name(name: &[u8]) -> Option<u32> {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// `ticks` as a percentage of `total` jiffies, clamped to 0–100.
pub fn share_percent(ticks: u64, total: u64) -> f32 {
    if total == 0 {
        return 0.0;
    }
    ((ticks as f64 * 100.0 / total as f64) as f32).clamp(0.0, 100.0)
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
    fn pid_names() {
        assert_eq!(parse_pid_name(b"123"), Some(123));
        assert_eq!(parse_pid_name(b"self"), None);
        assert_eq!(parse_pid_name(b""), None);
        assert_eq!(parse_pid_name(b"99999999999"), None);
    }

    #[test]
    fn share_is_clamped() {
        assert_eq!(share_percent(50, 200), 25.0);
        assert_eq!(share_percent(500, 200), 100.0);
        assert_eq!(share_percent(5, 0), 0.0);
    }

    #[test]
    fn reused_pid_is_not_charged_the_previous_owner_time() {
        let snap = Snapshot {
            total_jiffies: 0,
            ticks: vec![(10, 100, 5000)],
        };
        assert_eq!(snap.ticks_of(10, 100), Some(5000));
        assert_eq!(snap.ticks_of(10, 999), None, "same pid, other start time");
        assert_eq!(snap.ticks_of(11, 100), None);
    }
}
