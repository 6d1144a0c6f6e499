//! The process sampler: one pass over every process, and CPU% from the
//! ticks each used since a snapshot at least [`MIN_WINDOW`] old.
//!
//! Descriptors are kept between scans (within a budget below
//! `RLIMIT_NOFILE`), sorted by pid like the listing and the previous rows,
//! so one merge walk pairs each pid with its descriptor and its last row.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::listing::PidLister;
use super::parser::parse_reclaim_epoch;
use super::table::{ProcRow, ProcessTable};
use super::watch::{Reader, ScanContext, Tracked};
use crate::collect::clock::{Clock, RealClock};
use crate::collect::cpu::parse_stat;
use crate::collect::share_percent;
use crate::collect::{CollectError, History, Kept, MIN_WINDOW, Roots};

/// Per-process cumulative ticks at one instant, sorted by pid.
#[derive(Debug, Default)]
struct Snapshot {
    /// Sum of all CPUs' jiffies from `/proc/stat`.
    total_jiffies: u64,
    /// (pid, start_ticks, utime+stime), ascending pid.
    ticks: Vec<(u32, u64, u64)>,
}

/// What one pass read: the snapshot for later windows, and the rows
/// (without CPU%).
struct Pass {
    snapshot: Snapshot,
    rows: Vec<ProcRow>,
}

/// Scans the process table; keeps descriptors and recent history.
#[derive(Debug)]
pub struct ProcessSampler {
    /// The procfs root, for errors.
    proc_root: PathBuf,
    /// `/proc/stat`, for the machine's total jiffies.
    stat: Kept,
    /// `/proc/vmstat`, for the reclaim epoch.
    vmstat: Kept,
    /// Which pids to read.
    lister: PidLister,
    /// Reads (or reuses) each process.
    reader: Reader,
    /// Kept descriptors, ascending pid.
    open: Vec<Tracked>,
    /// How many descriptors may be kept (the rest are opened per scan).
    fd_budget: usize,
    /// Recent snapshots, for CPU% over at least `MIN_WINDOW`.
    history: History<Snapshot>,
    /// The table of the last pass (the warm-up's too, without CPU%): its
    /// rows are reused for processes that have not run, and its pids are
    /// the listing while no process is created. Shared with the table
    /// handed out, not copied.
    last: Option<Arc<ProcessTable>>,
    /// The time the CPU% window is measured and waited on.
    clock: Arc<dyn Clock>,
}

impl ProcessSampler {
    /// A sampler over `roots.proc` keeping at most `fd_budget` descriptors;
    /// `page_size` converts RSS pages to bytes.
    pub fn new(roots: &Roots, fd_budget: usize, page_size: u64) -> ProcessSampler {
        ProcessSampler {
            proc_root: roots.proc.clone(),
            stat: Kept::new(roots.proc.join("stat")),
            vmstat: Kept::new(roots.proc.join("vmstat")),
            lister: PidLister::new(&roots.proc),
            reader: Reader::new(&roots.proc, page_size),
            open: Vec::new(),
            fd_budget,
            history: History::default(),
            last: None,
            clock: Arc::new(RealClock),
        }
    }

    /// The same sampler on another clock (tests move a manual one).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> ProcessSampler {
        self.clock = clock;
        self
    }

    /// Number of descriptors currently kept (for tests and benches).
    pub fn kept_descriptors(&self) -> usize {
        self.open.len()
    }

    /// Pids watched through `schedstat` (for tests).
    pub fn schedstat_watched(&self) -> Vec<u32> {
        self.open
            .iter()
            .filter(|t| matches!(t.watch, super::watch::Watch::Schedstat { .. }))
            .map(|t| t.pid)
            .collect()
    }

    /// Whether `schedstat` works on this kernel (for tests).
    pub fn schedstat_usable(&self) -> bool {
        self.reader.schedstat_usable()
    }

    /// Whether the procfs root is sonde's own pid namespace (for tests).
    pub fn same_pid_namespace(&self) -> bool {
        self.lister.same_pid_namespace()
    }

    /// Takes a baseline snapshot (startup warm-up), so the first request
    /// needs no wait once `MIN_WINDOW` has passed.
    /// Returns the processes the baseline found, when it took one.
    pub fn warm_up(&mut self) -> Result<Option<u64>, CollectError> {
        if !self.history.is_empty() {
            return Ok(None);
        }
        self.baseline(self.clock.now())?;
        Ok(self.last.as_ref().map(|t| t.process_count))
    }

    /// One pass kept as a baseline: its snapshot, and its rows for reuse.
    fn baseline(&mut self, at: Instant) -> Result<(), CollectError> {
        let pass = self.pass()?;
        self.history.push(at, pass.snapshot);
        self.last = Some(Arc::new(ProcessTable {
            process_count: pass.rows.len() as u64,
            rows: pass.rows,
            window: Duration::ZERO,
            sampled_at: None,
        }));
        Ok(())
    }

    /// A fresh table with CPU% over the window since the newest snapshot at
    /// least [`MIN_WINDOW`] old. Before any such snapshot exists (the first
    /// call), it takes one and sleeps out the window, so even the first
    /// table carries real CPU%. Blocks: run it on a blocking thread.
    pub fn sample(&mut self) -> Result<Arc<ProcessTable>, CollectError> {
        let now = self.clock.now();
        match self.history.wait_for_baseline(now) {
            None => {
                self.baseline(now)?;
                self.clock.sleep(MIN_WINDOW);
            }
            Some(wait) if !wait.is_zero() => self.clock.sleep(wait),
            Some(_) => {}
        }
        let at = self.clock.now();
        let Pass { snapshot, mut rows } = self.pass()?;
        let base = self.history.baseline(at);
        let window = base.map_or(Duration::ZERO, |(then, _)| {
            at.saturating_duration_since(then)
        });
        let total = base.map_or(snapshot.total_jiffies, |(_, b)| {
            snapshot.total_jiffies.saturating_sub(b.total_jiffies)
        });
        set_cpu_percent(
            &mut rows,
            base.map_or(&[][..], |(_, b)| &b.ticks[..]),
            total,
        );
        self.history.push(at, snapshot);
        let table = Arc::new(ProcessTable {
            process_count: rows.len() as u64,
            rows,
            window,
            sampled_at: Some(at),
        });
        self.last = Some(table.clone());
        Ok(table)
    }

    /// One pass over every process: rows without CPU%, and the snapshot.
    fn pass(&mut self) -> Result<Pass, CollectError> {
        let total_jiffies = parse_stat(self.stat.read_checked()?)?.all.total;
        let last = self.last.clone();
        let previous = last.as_deref().map_or(&[][..], |t| &t.rows[..]);
        let pids = self
            .lister
            .pids(previous.iter().map(|r| r.pid))
            .map_err(|source| CollectError::read(&self.proc_root, source))?;
        let ctx = ScanContext {
            epoch: if self.reader.schedstat_usable() {
                self.vmstat.read().ok().and_then(parse_reclaim_epoch)
            } else {
                None
            },
            now: self.clock.now(),
        };
        let rows = self.read_all(&pids, previous, &ctx);
        let snapshot = Snapshot {
            total_jiffies,
            ticks: rows
                .iter()
                .map(|r| (r.pid, r.start_ticks, r.cpu_ticks))
                .collect(),
        };
        Ok(Pass { snapshot, rows })
    }

    /// Reads every listed pid, pairing it with its kept descriptor and its
    /// previous row in one merge walk (all three ascending); descriptors of
    /// vanished pids are dropped.
    fn read_all(&mut self, pids: &[u32], previous: &[ProcRow], ctx: &ScanContext) -> Vec<ProcRow> {
        let mut before = previous.iter().peekable();
        let mut kept = std::mem::take(&mut self.open).into_iter().peekable();
        let mut still_open = Vec::with_capacity(pids.len().min(self.fd_budget));
        let mut rows = Vec::with_capacity(pids.len());
        // Pids whose children may just have been reparented, and the rows
        // that were reused (their parent may be among those).
        let mut orphaning = Vec::new();
        let mut reused = Vec::new();
        for &pid in pids {
            while kept.next_if(|t| t.pid < pid).is_some() {}
            let watch = kept.next_if(|t| t.pid == pid).map(|t| t.watch);
            while let Some(gone) = before.next_if(|r| r.pid < pid) {
                orphaning.push(gone.pid);
            }
            let prior = before.next_if(|r| r.pid == pid);
            let Some(seen) = self.reader.observe(pid, watch, prior, ctx) else {
                if prior.is_some() {
                    orphaning.push(pid);
                }
                continue; // exited mid-scan, or unreadable: skipped
            };
            if let Some(watch) = seen.watch
                && still_open.len() < self.fd_budget
            {
                still_open.push(Tracked { pid, watch });
            }
            if seen.zombie {
                orphaning.push(pid);
            }
            if seen.reused {
                reused.push(rows.len());
            }
            rows.push(seen.row);
        }
        orphaning.extend(before.map(|r| r.pid));
        self.open = still_open;
        self.reread_orphans(&mut rows, &reused, orphaning);
        rows
    }

    /// A process whose parent exited has a new parent without having run:
    /// the reused rows whose parent is among `orphaning` are read again.
    fn reread_orphans(&mut self, rows: &mut [ProcRow], reused: &[usize], mut orphaning: Vec<u32>) {
        if orphaning.is_empty() || reused.is_empty() {
            return;
        }
        orphaning.sort_unstable();
        for &i in reused {
            if orphaning.binary_search(&rows[i].ppid).is_ok()
                && let Some(row) = self.reader.reread(rows[i].pid)
            {
                rows[i] = row;
            }
        }
    }
}

/// Sets each row's CPU% from its ticks since `earlier` (ascending pid, like
/// the rows; one merge walk). A row without an earlier entry of the same
/// identity (pid and start time) started inside the window: all its ticks
/// count, and a reused pid is never charged its previous owner's time.
fn set_cpu_percent(rows: &mut [ProcRow], earlier: &[(u32, u64, u64)], total_jiffies: u64) {
    let mut i = 0;
    for row in rows {
        while i < earlier.len() && earlier[i].0 < row.pid {
            i += 1;
        }
        let before = earlier
            .get(i)
            .filter(|(pid, start, _)| *pid == row.pid && *start == row.start_ticks)
            .map_or(0, |t| t.2);
        row.cpu_percent = share_percent(row.cpu_ticks.saturating_sub(before), total_jiffies);
    }
}
