//! Who is using the disk: each process's `/proc/<pid>/io` (`read_bytes`,
//! `write_bytes`: the bytes it made storage read or will make it write),
//! and their rates between samples, as CPU% is computed. Read only while a
//! client asks for the column (a walk of every process's file: one open
//! and read each); a process whose file cannot be read (another user's,
//! without the capability) is absent, never 0.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use std::sync::Arc;

use super::ProcFile;
use super::clock::{Clock, RealClock};
use super::process_detail::parse_io;
use super::processes::ProcessTable;

/// How long the first sample waits between its two readings, as the
/// process list's first CPU% does.
pub const FIRST_WINDOW: Duration = Duration::from_millis(200);

/// One process's disk I/O.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessIo {
    /// `read_bytes`, cumulative.
    pub read_bytes: u64,
    /// `write_bytes`, cumulative.
    pub write_bytes: u64,
    /// Bytes read per second over the window (`None`: first seen now).
    pub read_bytes_per_sec: Option<f64>,
    /// Bytes written per second over the window.
    pub write_bytes_per_sec: Option<f64>,
}

/// Every readable process's disk I/O, by pid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IoTable {
    /// By pid.
    pub by_pid: HashMap<u32, ProcessIo>,
    /// Seconds the rates cover.
    pub window_secs: f64,
}

/// The sampler: each process's previous counters, by (pid, start time) so
/// a reused pid is never charged another process's bytes, and its `io`
/// file kept open (up to its share of descriptors) and re-read with
/// `pread`, as the process scan keeps `stat`: one syscall a process.
#[derive(Debug)]
pub struct IoSampler {
    proc_root: PathBuf,
    previous: HashMap<(u32, u64), (u64, u64)>,
    previous_at: Option<Instant>,
    clock: Arc<dyn Clock>,
    files: HashMap<(u32, u64), ProcFile>,
    keep: usize,
    buf: Vec<u8>,
}

impl IoSampler {
    /// A sampler of the processes under `proc_root`, keeping at most
    /// `keep` files open.
    pub fn new(proc_root: PathBuf, keep: usize) -> IoSampler {
        IoSampler {
            proc_root,
            previous: HashMap::new(),
            previous_at: None,
            clock: Arc::new(RealClock),
            files: HashMap::new(),
            keep,
            buf: Vec::new(),
        }
    }

    /// Files kept open now.
    pub fn kept_files(&self) -> usize {
        self.files.len()
    }

    /// The same sampler on another clock (tests move a manual one).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> IoSampler {
        self.clock = clock;
        self
    }

    /// Each readable process of `table`'s counters now; the files of
    /// processes gone from it are closed.
    fn read_all(&mut self, table: &ProcessTable) -> HashMap<(u32, u64), (u64, u64)> {
        let mut out = HashMap::with_capacity(table.rows.len());
        let mut kept = std::mem::take(&mut self.files);
        let mut path = self.proc_root.clone();
        for r in &table.rows {
            let id = (r.pid, r.start_ticks);
            // A kept file of an exited process fails (ESRCH): it is
            // dropped, and the path opened again for a new one.
            let read = kept
                .remove(&id)
                .and_then(|f| f.read_into(&mut self.buf).ok().map(|n| (f, n)))
                .or_else(|| {
                    path.push(r.pid.to_string());
                    path.push("io");
                    let opened = ProcFile::open(&path).ok();
                    path.pop();
                    path.pop();
                    let f = opened?;
                    let n = f.read_into(&mut self.buf).ok()?;
                    Some((f, n))
                });
            let Some((file, n)) = read else {
                continue;
            };
            let counters = std::str::from_utf8(&self.buf[..n])
                .ok()
                .and_then(|t| parse_io(t).ok());
            if let Some(counters) = counters {
                out.insert(id, counters);
                if self.files.len() < self.keep {
                    self.files.insert(id, file);
                }
            }
        }
        out
    }

    /// The I/O of `table`'s processes, with rates since the previous
    /// sample; the first sample takes two readings [`FIRST_WINDOW`] apart.
    /// Blocks (a file per process, the first wait): run it on the
    /// blocking pool.
    pub fn sample(&mut self, table: &ProcessTable) -> IoTable {
        if self.previous_at.is_none() {
            self.previous = self.read_all(table);
            self.previous_at = Some(self.clock.now());
            self.clock.sleep(FIRST_WINDOW);
        }
        let now_read = self.read_all(table);
        let now = self.clock.now();
        let secs = self
            .previous_at
            .map_or(0.0, |at| now.saturating_duration_since(at).as_secs_f64());
        let rate = |now: u64, then: u64| super::per_sec(now, then, secs);
        let by_pid = now_read
            .iter()
            .map(|(&(pid, start), &(read, write))| {
                let before = self.previous.get(&(pid, start));
                let io = ProcessIo {
                    read_bytes: read,
                    write_bytes: write,
                    read_bytes_per_sec: before.and_then(|b| rate(read, b.0)),
                    write_bytes_per_sec: before.and_then(|b| rate(write, b.1)),
                };
                (pid, io)
            })
            .collect();
        self.previous = now_read;
        self.previous_at = Some(now);
        IoTable {
            by_pid,
            window_secs: secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::processes::ProcRow;

    fn row(pid: u32, start_ticks: u64) -> ProcRow {
        ProcRow {
            pid,
            ppid: 1,
            start_ticks,
            name: format!("p{pid}"),
            cpu_percent: 0.0,
            rss_bytes: 0,
            cpu_ticks: 0,
            state: 'S',
            threads: 1,
        }
    }

    fn io(root: &std::path::Path, pid: u32, read: u64, write: u64) {
        let dir = root.join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("io"),
            format!("rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: {read}\nwrite_bytes: {write}\ncancelled_write_bytes: 0\n"),
        )
        .unwrap();
    }

    #[test]
    fn rates_between_samples_and_null_for_the_unreadable_and_the_new() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        io(root, 10, 0, 4096);
        io(root, 11, 100, 0);
        let clock = crate::collect::clock::ManualClock::new();
        let mut s = IoSampler::new(root.to_path_buf(), 2).with_clock(clock.clone());
        let mut table = ProcessTable {
            rows: vec![row(10, 5), row(11, 5), row(12, 5)],
            ..ProcessTable::default()
        };
        let first = s.sample(&table);
        assert_eq!(first.window_secs, 0.2, "the first sample waits its window");
        assert_eq!(first.by_pid[&10].write_bytes_per_sec, Some(0.0));
        assert!(!first.by_pid.contains_key(&12), "no io file: absent, not 0");
        // In the next second pid 10 writes 1 MiB; pid 11 is replaced by a
        // new process with the same pid.
        io(root, 10, 0, 4096 + (1 << 20));
        io(root, 11, 200, 0);
        table.rows[1] = row(11, 99);
        clock.advance(Duration::from_secs(1));
        let next = s.sample(&table);
        assert_eq!(next.window_secs, 1.0);
        assert_eq!(next.by_pid[&10].write_bytes_per_sec, Some(1_048_576.0));
        assert_eq!(next.by_pid[&10].write_bytes, 4096 + (1 << 20));
        assert_eq!(
            next.by_pid[&11].read_bytes_per_sec, None,
            "a reused pid is not charged the old process's bytes"
        );
        assert_eq!(s.kept_files(), 2, "kept within its share");
        // A process gone from the table closes its file.
        table.rows.truncate(1);
        s.sample(&table);
        assert_eq!(s.kept_files(), 1);
    }
}
