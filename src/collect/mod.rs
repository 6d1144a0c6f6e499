//! Collectors: one module per source of host facts.
//!
//! Every module splits parsing (a pure function over `&str`, unit-tested on
//! literal file contents) from reading (I/O under a [`Roots`] directory that
//! tests point at a fixture tree). A collector that cannot read its source
//! degrades to `None`/empty; it never fails the reply it is part of.
//!
//! Nothing here runs unless a request asks for it: there is no sampler thread.
//!
//! - [`metrics`]: the metrics sampler, over [`cpu`], [`memory`],
//!   [`network`] and [`system`] (load);
//! - [`thermal`]: every temperature source (hwmon over [`hwmon`], thermal
//!   zones), one reading for every surface;
//! - [`gpu`]: GPUs (NVML for NVIDIA, sysfs for AMD and Intel), sleeping
//!   ones left asleep;
//! - [`processes`]: the process table (parser, listing, watch, sampler);
//! - [`process_detail`] and [`journal`]: one process in depth;
//! - [`disks`], [`host`]: mounted filesystems, static host facts;
//! - [`containers`]: containers and systemd services, from cgroups;
//! - [`errors`]: collector errors, logged once and counted;
//! - [`clock`]: the samplers' time, real or moved by tests.

pub mod addresses;
pub mod clock;
pub mod containers;
pub mod cpu;
pub mod cpufreq;
pub mod disks;
pub mod diskstats;
pub mod errors;
pub mod files;
pub mod gpu;
pub mod host;
pub mod hwmon;
pub mod journal;
pub mod links;
pub mod mdstat;
pub mod memory;
pub mod metrics;
pub mod netclass;
pub mod netlink;
pub mod network;
pub mod os_release;
pub mod pattern;
pub mod power_supply;
pub mod pressure;
pub mod process_detail;
pub mod process_io;
pub mod process_net;
pub mod processes;
pub mod rapl;
pub mod sockstat;
pub mod sysfs;
pub mod system;
pub mod tcp_states;
pub mod thermal;
pub mod zfs;

pub use errors::{CollectError, CollectorErrors, ParseError};

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `used` as a percentage of `capacity` (jiffies of jiffies, µs of µs),
/// clamped to 0–100: the one CPU-share computation of processes and
/// cgroups.
pub fn share_percent(used: u64, capacity: u64) -> f32 {
    if capacity == 0 {
        return 0.0;
    }
    ((used as f64 * 100.0 / capacity as f64) as f32).clamp(0.0, 100.0)
}

/// Locks a sampler's mutex; a panic in another collection must not take
/// every later request down with it, so poisoning is ignored.
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

thread_local! {
    /// Set while a thread of the blocking pool runs a scrape's reads
    /// itself ([`inline`]).
    static INLINE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` on this thread (one of the blocking pool's) with every
/// [`blocking`] call made under it run here too, not handed to another
/// thread: a scrape reads a dozen kinds' files, and each hand-off costs
/// two thread wake-ups.
pub fn inline<T>(f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            INLINE.set(false);
        }
    }
    INLINE.set(true);
    let _reset = Reset;
    f()
}

/// Runs a collection on the blocking pool, off the async workers (or here,
/// under [`inline`]); a collection that panics is reported against
/// `collector`.
pub async fn blocking<T, F>(
    errors: &CollectorErrors,
    collector: &'static str,
    f: F,
) -> Result<T, CollectError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    if INLINE.get() {
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| {
            let e = CollectError::Aborted("the collection panicked".to_owned());
            errors.report(collector, &e);
            e
        });
    }
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        let e = CollectError::Aborted(e.to_string());
        errors.report(collector, &e);
        e
    })
}

/// Where the collectors read the host from. Production uses `/proc`, `/sys`,
/// `/etc` and `/`; a container points them at the host's trees mounted
/// elsewhere, and tests at fixture trees.
#[derive(Debug, Clone)]
pub struct Roots {
    /// The procfs mount (`/proc`).
    pub proc: PathBuf,
    /// The sysfs mount (`/sys`).
    pub sys: PathBuf,
    /// Configuration files such as `os-release` (`/etc`).
    pub etc: PathBuf,
    /// The host's root filesystem (`/`): its mount points are reached
    /// under it.
    pub rootfs: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            proc: PathBuf::from("/proc"),
            sys: PathBuf::from("/sys"),
            etc: PathBuf::from("/etc"),
            rootfs: PathBuf::from("/"),
        }
    }
}

impl Roots {
    /// `path` (absolute, as the host sees it) under the host's root
    /// filesystem.
    pub fn host_path(&self, path: &str) -> PathBuf {
        self.rootfs.join(path.trim_start_matches('/'))
    }

    /// Roots laid out under one directory (`DIR/proc`, `DIR/sys`, `DIR/etc`,
    /// `DIR/rootfs`), the shape of the fixture trees tests build.
    pub fn under(dir: impl AsRef<Path>) -> Roots {
        let dir = dir.as_ref();
        Roots {
            proc: dir.join("proc"),
            sys: dir.join("sys"),
            etc: dir.join("etc"),
            rootfs: dir.join("rootfs"),
        }
    }
}

/// Parses one whitespace-separated number of a `/proc` file.
pub(crate) fn num<T: std::str::FromStr>(
    file: &'static str,
    field: &str,
    value: Option<&str>,
) -> Result<T, ParseError> {
    let value = value.ok_or_else(|| ParseError::new(file, format!("{field} missing")))?;
    value
        .parse()
        .map_err(|_| ParseError::new(file, format!("{field} is not a number: {value:?}")))
}

/// The lines of a file's text, as `str::lines` gives them (without the
/// `\n`, or a `\r\n`). `str::lines` sets up a search for each newline,
/// which over the scrape's short lines (vmstat, meminfo, mountinfo,
/// snmp6…) made the char searcher, with the splits within lines, the
/// largest user-space cost of a scrape (8 % of its instructions);
/// memchr's iterator finds every newline in one vectorised pass (2.6 %
/// fewer instructions per scrape).
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b'\n', text.as_bytes());
    std::iter::from_fn(move || match ends.next() {
        Some(end) => {
            let line = text.get(start..end)?;
            start = end + 1;
            Some(line.strip_suffix('\r').unwrap_or(line))
        }
        None if start < text.len() => {
            let line = text.get(start..)?;
            start = text.len();
            Some(line)
        }
        None => None,
    })
}

/// A `/proc` or sysfs file kept open and re-read with `pread` at offset 0.
///
/// The kernel regenerates such files on every read, so keeping the descriptor
/// saves an `open` and a `close` per sample. For `/proc/<pid>/*` it also pins
/// the process: once that process exits the read fails with `ESRCH`, even if
/// its PID has been reused, so a kept file can never describe another process.
#[derive(Debug)]
pub struct ProcFile {
    fd: OwnedFd,
}

impl ProcFile {
    /// Opens `path` read-only (close-on-exec).
    pub fn open(path: &Path) -> io::Result<ProcFile> {
        let fd = rustix::fs::open(
            path,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        Ok(ProcFile { fd })
    }

    /// The descriptor.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Reads the whole file into `buf` (reused between calls) and returns the
    /// number of bytes read. Usually one syscall: procfs generates the file in
    /// one go, so a read shorter than the buffer is the end of it.
    pub fn read_into(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        pread_all(self.fd.as_fd(), buf)
    }

    /// Reads the whole file as text (lossy on invalid UTF-8, which procfs
    /// only produces inside process names).
    pub fn read_string(&self, buf: &mut Vec<u8>) -> io::Result<String> {
        let n = self.read_into(buf)?;
        // The strict check has an ASCII fast path that the lossy walk
        // lacks; nearly every file is valid.
        Ok(match std::str::from_utf8(&buf[..n]) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        })
    }
}

/// `pread` from offset 0 until a short read, growing `buf` as needed.
pub(crate) fn pread_all(fd: std::os::fd::BorrowedFd<'_>, buf: &mut Vec<u8>) -> io::Result<usize> {
    if buf.len() < 1024 {
        buf.resize(1024, 0);
    }
    let mut filled = 0;
    loop {
        let n = rustix::io::pread(fd, &mut buf[filled..], filled as u64)?;
        filled += n;
        if n == 0 || filled < buf.len() {
            return Ok(filled);
        }
        let grown = buf.len() * 2;
        buf.resize(grown, 0);
    }
}

/// A lazily opened, kept [`ProcFile`]: opened on first use, dropped (and
/// reopened next time) when a read fails, so a file that appears later
/// (a hot-plugged sensor) is picked up.
#[derive(Debug)]
pub struct Kept {
    path: PathBuf,
    file: Option<ProcFile>,
    buf: Vec<u8>,
}

impl Kept {
    /// A kept file for `path`; nothing is opened until the first read.
    pub fn new(path: PathBuf) -> Kept {
        Kept {
            path,
            file: None,
            buf: Vec::new(),
        }
    }

    /// The file this reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// [`Kept::read`], its error naming the file.
    pub fn read_checked(&mut self) -> Result<&str, CollectError> {
        let Kept { path, file, buf } = self;
        read_kept(path, file, buf).map_err(|source| CollectError::read(path, source))
    }

    /// The file's whole contents as text, or the I/O error that stopped it.
    pub fn read(&mut self) -> io::Result<&str> {
        let Kept { path, file, buf } = self;
        read_kept(path, file, buf)
    }
}

/// Reads a kept file, opening it first if it is not open; a failed read
/// drops the descriptor so the next read reopens the path.
fn read_kept<'a>(
    path: &Path,
    slot: &mut Option<ProcFile>,
    buf: &'a mut Vec<u8>,
) -> io::Result<&'a str> {
    let file = match slot.take() {
        Some(file) => file,
        None => ProcFile::open(path)?,
    };
    let n = file.read_into(buf)?;
    *slot = Some(file);
    std::str::from_utf8(&buf[..n]).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A small sysfs or procfs file's text, trimmed; `None` when unreadable.
pub(crate) fn read_trimmed(path: &Path) -> Option<String> {
    Some(std::fs::read_to_string(path).ok()?.trim().to_owned())
}

/// Process-independent facts read once at startup: they convert ticks and
/// pages, and date process start times.
#[derive(Debug, Clone, Copy)]
pub struct HostClock {
    /// Clock ticks per second (`USER_HZ`).
    pub ticks_per_sec: u64,
    /// Boot time, Unix seconds (`btime` of `/proc/stat`); 0 when unknown.
    pub boot_time_secs: u64,
    /// Bytes per page.
    pub page_size: u64,
    /// Logical CPUs in `/proc/stat` (at least 1): the whole machine that
    /// cgroup CPU shares are of.
    pub cpus: usize,
}

impl HostClock {
    /// Seconds since boot now (0 when the boot time is unknown).
    pub fn secs_since_boot(&self) -> f64 {
        (clock::unix_seconds() - self.boot_time_secs as f64).max(0.0)
    }

    /// Clock ticks as microseconds.
    pub fn micros(&self, ticks: u64) -> u64 {
        ticks.saturating_mul(1_000_000) / self.ticks_per_sec.max(1)
    }
}

/// The shortest window a CPU% may be computed over. Shorter windows hold so
/// few jiffies (10 ms each) that most processes round to 0 %.
pub const MIN_WINDOW: Duration = Duration::from_millis(200);

/// A counter's rate over `secs`: `None` without a window; a counter that
/// went backwards (a reset, a reused id) moved 0.
pub fn per_sec(now: u64, then: u64, secs: f64) -> Option<f64> {
    (secs > 0.0).then(|| now.saturating_sub(then) as f64 / secs)
}

/// Snapshots closer together than this replace each other, which bounds the
/// history to about `MIN_WINDOW / MIN_SPACING + 1` entries however fast
/// requests arrive.
const MIN_SPACING: Duration = Duration::from_millis(50);

/// Recent snapshots of a cumulative counter set (CPU jiffies), so that a rate
/// is always computed against the most recent snapshot at least
/// [`MIN_WINDOW`] old, even when requests arrive back to back.
#[derive(Debug)]
pub struct History<S> {
    snaps: VecDeque<(Instant, S)>,
}

impl<S> Default for History<S> {
    fn default() -> Self {
        History {
            snaps: VecDeque::new(),
        }
    }
}

impl<S> History<S> {
    /// The newest snapshot taken at least [`MIN_WINDOW`] before `now`.
    pub fn baseline(&self, now: Instant) -> Option<(Instant, &S)> {
        self.snaps
            .iter()
            .rev()
            .find(|(at, _)| now.saturating_duration_since(*at) >= MIN_WINDOW)
            .map(|(at, s)| (*at, s))
    }

    /// What a rate at `now` covers: the seconds since the baseline and the
    /// baseline, or, before there is one, `since_boot` seconds and no
    /// snapshot (every counter was zero at boot: a since-boot average, real
    /// and never a too-short window).
    pub fn window(&self, now: Instant, since_boot: f64) -> (f64, Option<&S>) {
        match self.baseline(now) {
            Some((at, base)) => (now.duration_since(at).as_secs_f64(), Some(base)),
            None => (since_boot, None),
        }
    }

    /// How long to wait before a baseline exists: zero when one does, the
    /// rest of the window when only younger snapshots exist, `None` when
    /// there is no snapshot at all (take one first).
    pub fn wait_for_baseline(&self, now: Instant) -> Option<Duration> {
        let (oldest, _) = self.snaps.front()?;
        Some(MIN_WINDOW.saturating_sub(now.saturating_duration_since(*oldest)))
    }

    /// Records a snapshot taken at `at` and forgets those no longer needed.
    pub fn push(&mut self, at: Instant, snap: S) {
        // The newest snapshot is replaced while it sits closer than
        // MIN_SPACING to the one before it, so kept snapshots stay spaced.
        let len = self.snaps.len();
        if len > 1
            && let Some((before_last, _)) = self.snaps.get(len - 2)
            && at.saturating_duration_since(*before_last) < MIN_SPACING
        {
            self.snaps.pop_back();
        }
        self.snaps.push_back((at, snap));
        // Keep only the newest snapshot old enough to be a baseline, plus the
        // younger ones that will become baselines later.
        while self.snaps.len() > 1 {
            let second_old_enough = self
                .snaps
                .get(1)
                .is_some_and(|(t, _)| at.saturating_duration_since(*t) >= MIN_WINDOW);
            if second_old_enough {
                self.snaps.pop_front();
            } else {
                break;
            }
        }
    }

    /// Number of snapshots held (for tests of the bound).
    pub fn len(&self) -> usize {
        self.snaps.len()
    }

    /// True when no snapshot has been taken yet.
    pub fn is_empty(&self) -> bool {
        self.snaps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn lines_are_str_lines(text in "[a-z\\r\\n ]{0,40}") {
            proptest::prop_assert_eq!(lines(&text).collect::<Vec<_>>(), text.lines().collect::<Vec<_>>());
        }
    }

    #[test]
    fn lines_end_as_str_lines_do() {
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\n\nb",
            "a\r\nb\r\n",
            "\r\n",
            "a\r",
            "é\nü",
        ] {
            assert_eq!(
                lines(text).collect::<Vec<_>>(),
                text.lines().collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn history_baseline_is_at_least_min_window_old() {
        let t0 = Instant::now();
        let mut h = History::default();
        h.push(t0, 1);
        assert!(h.baseline(t0 + Duration::from_millis(100)).is_none());
        assert_eq!(
            h.wait_for_baseline(t0 + Duration::from_millis(150)),
            Some(Duration::from_millis(50))
        );
        h.push(t0 + Duration::from_millis(120), 2);
        let (_, base) = h.baseline(t0 + Duration::from_millis(250)).unwrap();
        assert_eq!(*base, 1);
        let (_, base) = h.baseline(t0 + Duration::from_millis(330)).unwrap();
        assert_eq!(*base, 2);
    }

    #[test]
    fn history_stays_bounded_under_back_to_back_samples() {
        let t0 = Instant::now();
        let mut h = History::default();
        for i in 0..10_000u64 {
            h.push(t0 + Duration::from_millis(i), i);
            let base = h.baseline(t0 + Duration::from_millis(i));
            if i >= 200 {
                let (at, _) = base.expect("a baseline exists after the window");
                let age = (t0 + Duration::from_millis(i)).duration_since(at);
                assert!(age >= MIN_WINDOW && age <= MIN_WINDOW + 2 * MIN_SPACING);
            }
        }
        assert!(h.len() <= 7, "history grew to {}", h.len());
    }

    #[test]
    fn pread_all_reads_files_larger_than_the_first_buffer() {
        let dir = std::env::temp_dir().join(format!("sonde-pread-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big");
        let text = "x".repeat(5000);
        std::fs::write(&path, &text).unwrap();
        let file = ProcFile::open(&path).unwrap();
        let mut buf = Vec::new();
        assert_eq!(file.read_string(&mut buf).unwrap(), text);
        assert_eq!(
            file.read_string(&mut buf).unwrap(),
            text,
            "re-read from offset 0"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
