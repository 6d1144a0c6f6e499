//! How one process is read, or found unchanged, during a scan.
//!
//! A kept process is watched through one descriptor: its `stat`, read in
//! full every scan, or — for a single-threaded process where the kernel
//! keeps scheduler statistics — its `schedstat` (run time and times
//! scheduled). When neither number moved, the process has not run: its CPU
//! time, state, name and thread count cannot have changed, and its previous
//! row is reused. Its memory can shrink without it running (reclaim, swap),
//! so a row is only reused while the reclaim epoch of `/proc/vmstat` stands
//! still, and never for longer than [`REUSE_MAX_AGE`]. Multi-threaded
//! processes are read in full every scan (`schedstat` covers the main
//! thread only).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::parser::{parse_pid_stat, parse_schedstat};
use super::table::ProcRow;
use crate::collect::ProcFile;

/// The longest a row is reused without reading the process's `stat`: a
/// backstop for the rare changes no counter shows (a mapped file truncated
/// by another process, a parent that exited between two reads).
pub const REUSE_MAX_AGE: Duration = Duration::from_secs(30);

/// How a kept process is watched between scans; each holds one descriptor.
#[derive(Debug)]
pub enum Watch {
    /// `/proc/<pid>/stat`, read in full every scan. `single`: the last read
    /// showed one thread, so the next scan moves the process to its
    /// `schedstat`.
    Stat {
        /// The kept `stat`.
        file: ProcFile,
        /// One thread at the last read.
        single: bool,
    },
    /// `/proc/<pid>/schedstat` of a single-threaded process, with what it
    /// said before the row was last read in full, the reclaim epoch then,
    /// and when.
    Schedstat {
        /// The kept `schedstat`.
        file: ProcFile,
        /// (run ns, times scheduled) at the last full read.
        seen: (u64, u64),
        /// The reclaim epoch at the last full read.
        epoch: Option<u64>,
        /// When the row was last read in full.
        read_at: Instant,
    },
}

/// One process's kept descriptor.
#[derive(Debug)]
pub struct Tracked {
    /// The process.
    pub pid: u32,
    /// How it is watched.
    pub watch: Watch,
}

/// What one scan knows before it reads any process.
pub struct ScanContext {
    /// The reclaim epoch now (`None`: unknown, reuse nothing).
    pub epoch: Option<u64>,
    /// When the scan started.
    pub now: Instant,
}

/// What a full read says beyond the row.
#[derive(Debug, Clone, Copy)]
struct RowFacts {
    threads: u32,
    zombie: bool,
}

/// One process read (or reused) by a scan.
pub struct Observed {
    /// Its row, without CPU%.
    pub row: ProcRow,
    /// The descriptor to keep, if any.
    pub watch: Option<Watch>,
    /// The process is a zombie: its children were just reparented.
    pub zombie: bool,
    /// The row is the previous scan's, not a fresh read.
    pub reused: bool,
}

/// Reads processes for the scan: a reused buffer and what it needs to turn
/// a `stat` line into a row.
#[derive(Debug)]
pub struct Reader {
    /// The procfs root.
    proc_root: PathBuf,
    /// Reused read buffer.
    buf: Vec<u8>,
    /// Bytes per page, for RSS.
    page_size: u64,
    /// Whether `schedstat` can be trusted here (it reads zeros on kernels
    /// without scheduler statistics, and a fixture tree may not have it).
    schedstat_usable: bool,
}

impl Reader {
    /// A reader over `proc_root`; checks once whether `schedstat` works.
    pub fn new(proc_root: &Path, page_size: u64) -> Reader {
        Reader {
            proc_root: proc_root.to_path_buf(),
            buf: vec![0; 1024],
            page_size,
            // This thread has run, so a working schedstat says so.
            schedstat_usable: std::fs::read_to_string(proc_root.join("thread-self/schedstat"))
                .ok()
                .and_then(|t| parse_schedstat(&t))
                .is_some_and(|(run_ns, _)| run_ns > 0),
        }
    }

    /// Whether processes are watched through `schedstat` here.
    pub fn schedstat_usable(&self) -> bool {
        self.schedstat_usable
    }

    /// Reads one process, or reuses its previous row (`prior`) when its
    /// watch shows it has not run; returns the descriptor to keep.
    pub fn observe(
        &mut self,
        pid: u32,
        watch: Option<Watch>,
        prior: Option<&ProcRow>,
        ctx: &ScanContext,
    ) -> Option<Observed> {
        match watch {
            Some(Watch::Schedstat {
                file,
                seen,
                epoch,
                read_at,
            }) => {
                let before = Before {
                    seen,
                    epoch,
                    read_at,
                };
                self.observe_schedstat(pid, file, before, prior, ctx)
            }
            Some(Watch::Stat { file, single }) => self.observe_stat(pid, file, single, ctx),
            None => self.observe_fresh(pid),
        }
    }

    /// A process watched through its `schedstat`.
    fn observe_schedstat(
        &mut self,
        pid: u32,
        file: ProcFile,
        before: Before,
        prior: Option<&ProcRow>,
        ctx: &ScanContext,
    ) -> Option<Observed> {
        let Some(now_seen) = self.read_schedstat(&file) else {
            // Exited: the pid may have a new owner.
            return self.observe_fresh(pid);
        };
        if let Some(prior) = prior
            && before.unchanged(now_seen, ctx)
        {
            return Some(Observed {
                row: prior.clone(),
                watch: Some(before.into_watch(file)),
                zombie: false,
                reused: true,
            });
        }
        // It ran (or its memory may have moved): read it in full. The
        // schedstat was read first, so a run after this read shows as a
        // change next time.
        let (row, stat, facts) = self.read_fresh(pid)?;
        let watch = if facts.threads == 1 {
            Watch::Schedstat {
                file,
                seen: now_seen,
                epoch: ctx.epoch,
                read_at: ctx.now,
            }
        } else {
            Watch::Stat {
                file: stat,
                single: false,
            }
        };
        Some(Observed {
            row,
            watch: Some(watch),
            zombie: facts.zombie,
            reused: false,
        })
    }

    /// A process watched through its kept `stat`.
    fn observe_stat(
        &mut self,
        pid: u32,
        file: ProcFile,
        single: bool,
        ctx: &ScanContext,
    ) -> Option<Observed> {
        // Moving to schedstat: open and read it before stat.
        let schedstat = if single && self.schedstat_usable {
            self.open_schedstat(pid)
        } else {
            None
        };
        let Ok(n) = file.read_into(&mut self.buf) else {
            return self.observe_fresh(pid);
        };
        let (row, facts) = self.parse_row(pid, n)?;
        let watch = match schedstat {
            Some((sched, seen)) if facts.threads == 1 => Watch::Schedstat {
                file: sched,
                seen,
                epoch: ctx.epoch,
                read_at: ctx.now,
            },
            _ => Watch::Stat {
                file,
                single: facts.threads == 1,
            },
        };
        Some(Observed {
            row,
            watch: Some(watch),
            zombie: facts.zombie,
            reused: false,
        })
    }

    /// A process without a usable kept descriptor: opened by path.
    fn observe_fresh(&mut self, pid: u32) -> Option<Observed> {
        let (row, file, facts) = self.read_fresh(pid)?;
        Some(Observed {
            row,
            watch: Some(Watch::Stat {
                file,
                single: facts.threads == 1,
            }),
            zombie: facts.zombie,
            reused: false,
        })
    }

    /// The row of `pid`, read by path now (a reused row whose parent may
    /// have changed).
    pub fn reread(&mut self, pid: u32) -> Option<ProcRow> {
        self.read_fresh(pid).map(|(row, _, _)| row)
    }

    /// Opens and reads `/proc/<pid>/stat` by path.
    fn read_fresh(&mut self, pid: u32) -> Option<(ProcRow, ProcFile, RowFacts)> {
        let file = ProcFile::open(&self.pid_path(pid, "stat")).ok()?;
        let n = file.read_into(&mut self.buf).ok()?;
        let (row, facts) = self.parse_row(pid, n)?;
        Some((row, file, facts))
    }

    /// Opens `/proc/<pid>/schedstat` and reads it once.
    fn open_schedstat(&mut self, pid: u32) -> Option<(ProcFile, (u64, u64))> {
        let file = ProcFile::open(&self.pid_path(pid, "schedstat")).ok()?;
        let seen = self.read_schedstat(&file)?;
        Some((file, seen))
    }

    fn read_schedstat(&mut self, file: &ProcFile) -> Option<(u64, u64)> {
        let n = file.read_into(&mut self.buf).ok()?;
        parse_schedstat(std::str::from_utf8(&self.buf[..n]).ok()?)
    }

    fn pid_path(&self, pid: u32, file: &str) -> PathBuf {
        let mut path = self.proc_root.clone();
        path.push(pid.to_string());
        path.push(file);
        path
    }

    /// The row in the first `n` bytes of `self.buf` (a stat line).
    fn parse_row(&self, pid: u32, n: usize) -> Option<(ProcRow, RowFacts)> {
        let bytes = &self.buf[..n];
        // procfs text is ASCII but for names; only a non-UTF-8 name takes
        // the slow, lossy path.
        let lossy;
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                lossy = String::from_utf8_lossy(bytes).into_owned();
                &lossy
            }
        };
        let st = parse_pid_stat(text).ok()?;
        let cpu_ticks = st.utime_ticks.saturating_add(st.stime_ticks);
        Some((
            ProcRow {
                pid,
                ppid: st.ppid,
                start_ticks: st.start_ticks,
                name: st.comm.to_owned(),
                cpu_percent: 0.0,
                rss_bytes: st.rss_pages.saturating_mul(self.page_size),
                cpu_ticks,
                state: st.state,
                threads: st.num_threads,
            },
            RowFacts {
                threads: st.num_threads,
                zombie: st.state == 'Z',
            },
        ))
    }
}

/// What a `schedstat` watch remembers of the last full read.
struct Before {
    seen: (u64, u64),
    epoch: Option<u64>,
    read_at: Instant,
}

impl Before {
    /// The process has not run and its memory cannot have moved since.
    fn unchanged(&self, now_seen: (u64, u64), ctx: &ScanContext) -> bool {
        now_seen == self.seen
            && self.epoch.is_some()
            && self.epoch == ctx.epoch
            && ctx.now.saturating_duration_since(self.read_at) < REUSE_MAX_AGE
    }

    fn into_watch(self, file: ProcFile) -> Watch {
        Watch::Schedstat {
            file,
            seen: self.seen,
            epoch: self.epoch,
            read_at: self.read_at,
        }
    }
}
