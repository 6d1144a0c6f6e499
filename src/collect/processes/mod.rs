//! The process table: one pass over `/proc/[pid]/stat`, CPU% from jiffies
//! deltas.
//!
//! - [`parser`]: pure parsers of the per-process files;
//! - [`listing`]: which pids a scan reads;
//! - [`watch`]: how one process is read, or found unchanged;
//! - [`sampler`]: the scan and the CPU% window.
//!
//! One read per process gives name, state, parent, utime+stime, start time
//! and RSS. Descriptors are kept between scans (within a budget below
//! `RLIMIT_NOFILE`), so a steady process table costs one `pread` per process.
//! History is keyed by (pid, start time): a reused PID starts from zero
//! instead of being charged the previous owner's time.
//!
//! Most processes sleep between two scans; [`watch`] says how one that has
//! not run is recognised without reading its `stat`.

pub mod listing;
pub mod parser;
pub mod sampler;
pub mod table;
pub mod watch;

pub use listing::{count_processes, list_pids};
pub use parser::{PidStat, parse_pid_stat};
pub use sampler::ProcessSampler;
pub use table::{ProcRow, ProcessTable};

pub use super::share_percent;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::Roots;
    use crate::collect::clock::ManualClock;

    fn page() -> u64 {
        rustix::param::page_size() as u64
    }

    #[test]
    fn the_live_table_sees_new_and_exited_processes() {
        let mut sampler = ProcessSampler::new(&Roots::default(), 4096, page());
        assert!(sampler.same_pid_namespace(), "/proc is ours");
        sampler.sample().unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let table = sampler.sample().unwrap();
        assert!(
            table.rows.iter().any(|r| r.pid == pid),
            "a new process is listed"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        let table = sampler.sample().unwrap();
        assert!(
            !table.rows.iter().any(|r| r.pid == pid),
            "an exited process is gone"
        );
        assert_eq!(table.process_count as usize, table.rows.len());
    }

    #[test]
    fn share_is_clamped() {
        assert_eq!(share_percent(50, 200), 25.0);
        assert_eq!(share_percent(500, 200), 100.0);
        assert_eq!(share_percent(5, 0), 0.0);
    }

    fn write_stat(proc: &std::path::Path, pid: u32, start: u64, utime: u64) {
        let dir = proc.join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("stat"),
            format!(
                "{pid} (p{pid}) S 1 1 1 0 -1 0 0 0 0 0 {utime} 0 0 0 20 0 1 0 {start} 1000 10 0"
            ),
        )
        .unwrap();
    }

    /// A one-CPU `/proc/stat` that has only idled, `idle` jiffies so far.
    fn write_cpu(proc: &std::path::Path, idle: u64) {
        std::fs::write(
            proc.join("stat"),
            format!("cpu 0 0 0 {idle} 0 0 0 0\ncpu0 0 0 0 {idle}\n"),
        )
        .unwrap();
    }

    /// A fixture process: `threads` threads, `rss` pages, on CPU `run_ns`.
    fn write_proc(
        proc: &std::path::Path,
        pid: u32,
        ppid: u32,
        threads: u32,
        rss: u64,
        run_ns: u64,
    ) {
        let dir = proc.join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("stat"),
            format!("{pid} (p{pid}) S {ppid} 1 1 0 -1 0 0 0 0 0 7 0 0 0 20 0 {threads} 0 50 1000 {rss} 0"),
        )
        .unwrap();
        std::fs::write(
            dir.join("schedstat"),
            format!("{run_ns} 0 {}\n", run_ns / 1000),
        )
        .unwrap();
    }

    /// A fixture procfs whose own thread's schedstat reads `own_schedstat`,
    /// with a quiet `vmstat` and an idle CPU.
    fn schedstat_fixture(own_schedstat: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path().join("proc");
        std::fs::create_dir_all(proc.join("thread-self")).unwrap();
        std::fs::write(proc.join("thread-self/schedstat"), own_schedstat).unwrap();
        std::fs::write(proc.join("vmstat"), "pgsteal_kswapd 0\npswpout 0\n").unwrap();
        write_cpu(&proc, 1000);
        (dir, proc)
    }

    #[test]
    fn a_process_that_has_not_run_keeps_its_row_until_memory_may_have_moved() {
        let (dir, proc) = schedstat_fixture("5000 0 1\n");
        write_proc(&proc, 11, 1, 4, 100, 1000); // multi-threaded
        write_proc(&proc, 12, 11, 1, 100, 1000);
        write_proc(&proc, 13, 1, 1, 100, 1000);
        let mut sampler = ProcessSampler::new(&Roots::under(dir.path()), 16, page())
            .with_clock(ManualClock::new());
        assert!(sampler.schedstat_usable());
        sampler.warm_up().unwrap(); // reads stat: one thread, so…
        sampler.sample().unwrap(); // …moves 12 and 13 to their schedstat
        assert_eq!(sampler.schedstat_watched(), [12, 13]);
        let rss = |t: &ProcessTable, pid| {
            t.rows.iter().find(|r| r.pid == pid).unwrap().rss_bytes
                / rustix::param::page_size() as u64
        };

        // Everything's stat changes; only 13 and the multi-threaded 11 ran.
        write_proc(&proc, 11, 1, 4, 200, 2000);
        write_proc(&proc, 12, 11, 1, 200, 1000);
        write_proc(&proc, 13, 1, 1, 200, 3000);
        let t = sampler.sample().unwrap();
        assert_eq!((rss(&t, 11), rss(&t, 12), rss(&t, 13)), (200, 100, 200));

        // The kernel reclaimed memory: every row is read again.
        std::fs::write(proc.join("vmstat"), "pgsteal_kswapd 40\npswpout 0\n").unwrap();
        let t = sampler.sample().unwrap();
        assert_eq!(rss(&t, 12), 200);

        // 12's parent exits and 12 is reparented without running.
        std::fs::remove_dir_all(proc.join("11")).unwrap();
        write_proc(&proc, 12, 1, 1, 200, 1000);
        let t = sampler.sample().unwrap();
        let row = t.rows.iter().find(|r| r.pid == 12).unwrap();
        assert_eq!(row.ppid, 1, "a reparented process is read again");
        assert_eq!(t.process_count, 2);
    }

    #[test]
    fn without_schedstat_every_process_is_read_every_scan() {
        // A kernel without scheduler statistics reads zeros.
        let (dir, proc) = schedstat_fixture("0 0 0\n");
        write_proc(&proc, 12, 1, 1, 100, 0);
        let mut sampler = ProcessSampler::new(&Roots::under(dir.path()), 16, page())
            .with_clock(ManualClock::new());
        assert!(!sampler.schedstat_usable());
        sampler.warm_up().unwrap();
        sampler.sample().unwrap();
        write_proc(&proc, 12, 1, 1, 300, 0);
        let t = sampler.sample().unwrap();
        assert_eq!(t.rows[0].rss_bytes, 300 * rustix::param::page_size() as u64);
    }

    #[test]
    fn live_sleepers_are_watched_through_schedstat() {
        let mut sampler = ProcessSampler::new(&Roots::default(), 4096, page());
        let mut sleeper = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = sleeper.id();
        sampler.warm_up().unwrap();
        sampler.sample().unwrap();
        let t = sampler.sample().unwrap();
        assert!(t.rows.iter().any(|r| r.pid == pid));
        if sampler.schedstat_usable() {
            assert!(sampler.schedstat_watched().contains(&pid));
        } else {
            eprintln!("SKIPPED schedstat check: this kernel has no schedstat");
        }
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
        let t = sampler.sample().unwrap();
        assert!(
            !t.rows.iter().any(|r| r.pid == pid),
            "an exited sleeper is gone"
        );
    }

    #[test]
    fn fixture_scan_and_a_reused_pid_is_not_charged_the_previous_owner_time() {
        let dir = std::env::temp_dir().join(format!("sonde-scan-{}", std::process::id()));
        let proc = dir.join("proc");
        std::fs::create_dir_all(&proc).unwrap();
        write_cpu(&proc, 1000);
        write_stat(&proc, 10, 100, 5000);
        write_stat(&proc, 11, 100, 100);
        let mut sampler =
            ProcessSampler::new(&Roots::under(&dir), 16, page()).with_clock(ManualClock::new());
        sampler.warm_up().unwrap();
        assert_eq!(sampler.kept_descriptors(), 2);
        // 100 jiffies pass; pid 11 uses 25 of them; pid 10 is a new process
        // (other start time) that used 40 since it started.
        write_cpu(&proc, 1100);
        write_stat(&proc, 10, 900, 40);
        write_stat(&proc, 11, 100, 125);
        let table = sampler.sample().unwrap();
        assert_eq!(table.process_count, 2);
        let share = |pid| {
            table
                .rows
                .iter()
                .find(|r| r.pid == pid)
                .unwrap()
                .cpu_percent
        };
        assert_eq!(share(11), 25.0);
        assert_eq!(share(10), 40.0, "not (40 - 5000) nor 5040 ticks");
        assert!(table.window >= crate::collect::MIN_WINDOW);
        assert_eq!(
            table.rows[0].rss_bytes,
            10 * rustix::param::page_size() as u64
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
