//! The process table a scan produces: its rows and what it covers.

use std::time::Duration;

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
    /// utime + stime, clock ticks, cumulative.
    pub cpu_ticks: u64,
    /// One-letter state (`R`, `S`, `D`, `Z`…) at its last full read (a
    /// process that has not run since keeps it).
    pub state: char,
    /// Threads, at its last full read.
    pub threads: u32,
}

/// The process list of one scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessTable {
    /// Every process that could be read, in PID order.
    pub rows: Vec<ProcRow>,
    /// Processes on the host (those that could be read: one that exits
    /// mid-scan is not counted).
    pub process_count: u64,
    /// Length of the CPU% window, for diagnostics.
    pub window: Duration,
    /// When the scan was taken.
    pub sampled_at: Option<std::time::Instant>,
}
