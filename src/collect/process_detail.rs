//! One process in detail, straight from `/proc/<pid>/`: `stat`, `status`,
//! `statm`, `cmdline`, `io`, `fd/`, `cwd`, `exe` and `task/*/stat`.
//!
//! Each field degrades to `None` on its own when unreadable (permissions,
//! `hidepid`, kernel threads); only a process that does not exist, or exits
//! while being read, makes the whole answer "not found".
//!
//! The children are read at the time of the answer, from the kernel's
//! `task/<tid>/children` lists (falling back to a parent walk of a fresh
//! listing where the kernel has none), never from a cached process list: a
//! child started a moment ago is listed. Only CPU% comes from the process
//! list, since it needs a window.
//!
//! Everything here reads files and walks directories: call it from the
//! blocking pool.

use std::path::{Path, PathBuf};

use super::processes::{PidStat, ProcessTable, list_pids, parse_pid_stat};
use super::{CollectorErrors, HostClock, ParseError, ProcFile, containers, num};

/// The fields of `/proc/<pid>/status` sonde uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    /// Real user id.
    pub uid: Option<u32>,
    /// Real group id.
    pub gid: Option<u32>,
}

/// Parses `/proc/<pid>/status` (`Uid:`/`Gid:` lines: real, effective, saved, fs).
pub fn parse_status(text: &str) -> Status {
    let first = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_ascii_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    Status {
        uid: first("Uid:"),
        gid: first("Gid:"),
    }
}

/// `/proc/<pid>/statm`: (size, resident, shared) in pages.
pub fn parse_statm(text: &str) -> Result<(u64, u64, u64), ParseError> {
    const FILE: &str = "/proc/[pid]/statm";
    let mut f = text.split_ascii_whitespace();
    Ok((
        num(FILE, "size", f.next())?,
        num(FILE, "resident", f.next())?,
        num(FILE, "shared", f.next())?,
    ))
}

/// `/proc/<pid>/io`: (read_bytes, write_bytes), the bytes that hit storage.
pub fn parse_io(text: &str) -> Result<(u64, u64), ParseError> {
    const FILE: &str = "/proc/[pid]/io";
    let get = |key: &str| {
        num(
            FILE,
            key,
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
                .map(str::trim),
        )
    };
    Ok((get("read_bytes")?, get("write_bytes")?))
}

/// `/proc/<pid>/cmdline`: NUL-separated arguments, space-joined.
pub fn parse_cmdline(text: &str) -> String {
    text.split('\0')
        .filter(|a| !a.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The state letter of `stat` as a word.
pub fn status_name(state: char) -> &'static str {
    match state {
        'R' => "Running",
        'S' => "Sleeping",
        'D' => "Disk Sleep",
        'T' => "Stopped",
        't' => "Tracing",
        'Z' => "Zombie",
        'X' | 'x' => "Dead",
        'I' => "Idle",
        'P' => "Parked",
        'W' => "Waking",
        'K' => "Wakekill",
        _ => "Unknown",
    }
}

/// One thread of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadDetail {
    /// Thread id.
    pub tid: u32,
    /// Thread name (`comm`).
    pub name: String,
    /// User CPU time, µs.
    pub cpu_time_user_us: u64,
    /// System CPU time, µs.
    pub cpu_time_system_us: u64,
    /// State word.
    pub status: &'static str,
}

/// A process in detail.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessDetail {
    /// Process id.
    pub pid: u32,
    /// `comm` name.
    pub name: String,
    /// Full command line, space-joined (empty for kernel threads).
    pub command: String,
    /// Share of the whole machine over the process list's window, 0–100.
    pub cpu_percent: f32,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
    /// Virtual size, bytes.
    pub virtual_bytes: u64,
    /// Resident shared pages, bytes.
    pub shared_bytes: Option<u64>,
    /// Threads.
    pub thread_count: u32,
    /// Open descriptors (unreadable for other users' processes).
    pub fd_count: Option<u32>,
    /// State word.
    pub status: &'static str,
    /// Parent pid; `None` for the roots (pid 1, kthreadd).
    pub parent_pid: Option<u32>,
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// Start time, Unix seconds.
    pub start_time_secs: u64,
    /// User CPU time, µs.
    pub cpu_time_user_us: u64,
    /// System CPU time, µs.
    pub cpu_time_system_us: u64,
    /// Bytes read from storage.
    pub read_bytes: Option<u64>,
    /// Bytes written to storage.
    pub write_bytes: Option<u64>,
    /// Bytes read from storage per second since the previous answer about
    /// this process (set by the kind that keeps the previous one).
    pub read_bytes_per_sec: Option<f64>,
    /// Bytes written per second, the same way.
    pub write_bytes_per_sec: Option<f64>,
    /// Each GPU it holds, set by the kind from the GPU readings.
    pub gpus: Vec<super::gpu::GpuShare>,
    /// Its TCP connections (`None`: its descriptors cannot be read, or for
    /// children), set by the kind with their rates since the previous
    /// answer.
    pub connections: Option<Vec<super::process_net::Connection>>,
    /// Withheld by `--redact`: the command line, directories and the
    /// connections' remote addresses.
    pub redacted: bool,
    /// Current directory.
    pub working_directory: Option<String>,
    /// Executable.
    pub executable_path: Option<String>,
    /// Its cgroup (`/proc/<pid>/cgroup`), e.g. `/system.slice/nginx.service`.
    pub cgroup: Option<String>,
    /// The container it runs in, when its cgroup is a container's.
    pub container_id: Option<String>,
    /// Direct children (their own children and threads left empty).
    pub children: Vec<ProcessDetail>,
    /// Threads.
    pub threads: Vec<ThreadDetail>,
}

impl ProcessDetail {
    /// Withholds what may hold secrets (`--redact`): the command line, the
    /// working directory and the executable path, the children's too.
    /// Names and numbers stay.
    pub fn redact(&mut self) {
        self.command.clear();
        self.redacted = true;
        self.working_directory = None;
        self.executable_path = None;
        for child in &mut self.children {
            child.redact();
        }
    }
}

/// The process is gone (or never was).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("process {0} not found")]
pub struct NotFound(pub u32);

/// At most this many children are described (pid 1 may have hundreds).
const MAX_CHILDREN: usize = 256;

fn read_text(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn link(path: &Path) -> Option<String> {
    Some(
        std::fs::read_link(path)
            .ok()?
            .to_string_lossy()
            .into_owned(),
    )
}

/// `task/<tid>/children`: the pids of a thread's children, space-separated.
pub fn parse_children(text: &str) -> Vec<u32> {
    text.split_ascii_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Reads the details of `pid` and its direct children now; `table` (the
/// latest process list) gives CPU%, so no second scan is made.
pub fn read(
    proc_root: &Path,
    pid: u32,
    table: Option<&ProcessTable>,
    clock: HostClock,
    errors: &CollectorErrors,
) -> Result<ProcessDetail, NotFound> {
    let mut detail = read_one(proc_root, pid, table, clock, Some(errors))?;
    let mut children = children_of(proc_root, pid, &detail.threads);
    children.sort_unstable();
    children.dedup();
    detail.children = children
        .into_iter()
        .filter(|&child| child != pid)
        .take(MAX_CHILDREN)
        // A child that exited meanwhile is simply not listed.
        .filter_map(|child| read_one(proc_root, child, table, clock, None).ok())
        .collect();
    Ok(detail)
}

/// The pids of `pid`'s children: every thread's `children` list, or, where
/// the kernel does not provide them (`CONFIG_PROC_CHILDREN` off), the
/// processes whose parent is `pid` in a fresh listing.
fn children_of(proc_root: &Path, pid: u32, threads: &[ThreadDetail]) -> Vec<u32> {
    let dir = proc_root.join(pid.to_string()).join("task");
    let main = dir.join(pid.to_string()).join("children");
    if main.exists() {
        // Every thread, not only the main one: a child belongs to the
        // thread that forked it.
        let tids = std::iter::once(pid).chain(threads.iter().map(|t| t.tid).filter(|&t| t != pid));
        return tids
            .filter_map(|tid| read_text(&dir.join(tid.to_string()).join("children")))
            .flat_map(|text| parse_children(&text))
            .collect();
    }
    let Ok(pids) = list_pids(proc_root) else {
        return Vec::new();
    };
    pids.into_iter()
        .filter(|&p| {
            read_text(&proc_root.join(p.to_string()).join("stat"))
                .is_some_and(|t| parse_pid_stat(&t).is_ok_and(|st| st.ppid == pid))
        })
        .collect()
}

/// A parsed value of the process asked about, its parse error reported:
/// a file that is there but not understood is counted, and the value left
/// unknown. (Files that cannot be read, another user's or a process gone,
/// are not errors.) A child's values are taken as they parse.
fn parsed<T>(asked: Option<&CollectorErrors>, r: Result<T, ParseError>) -> Option<T> {
    match asked {
        Some(errors) => errors.parsed("process_metrics", r),
        None => r.ok(),
    }
}

/// What the detail of one process is read with: its threads too, and
/// parse errors reported, for the process asked about (`Some`); a child's
/// detail has neither.
fn read_one(
    proc_root: &Path,
    pid: u32,
    table: Option<&ProcessTable>,
    clock: HostClock,
    asked: Option<&CollectorErrors>,
) -> Result<ProcessDetail, NotFound> {
    let dir: PathBuf = proc_root.join(pid.to_string());
    // The kept stat descriptor pins this process: if it exits while the
    // other files are read, the final re-read fails and the answer is
    // "not found" rather than a mix of two processes.
    let stat_file = ProcFile::open(&dir.join("stat")).map_err(|_| NotFound(pid))?;
    let mut buf = Vec::new();
    let stat_text = stat_file.read_string(&mut buf).map_err(|_| NotFound(pid))?;
    let st: PidStat<'_> = parsed(asked, parse_pid_stat(&stat_text)).ok_or(NotFound(pid))?;
    let status = read_text(&dir.join("status"))
        .map(|t| parse_status(&t))
        .unwrap_or_default();
    let statm = read_text(&dir.join("statm")).and_then(|t| parsed(asked, parse_statm(&t)));
    let io = read_text(&dir.join("io")).and_then(|t| parsed(asked, parse_io(&t)));
    let fd_count = std::fs::read_dir(dir.join("fd"))
        .ok()
        .map(|d| d.flatten().count() as u32);
    let threads = if let Some(errors) = asked {
        read_threads(&dir, clock, errors)
    } else {
        Vec::new()
    };
    let cgroup = read_text(&dir.join("cgroup")).and_then(|t| containers::parse_proc_cgroup(&t));
    let cpu_percent = table
        .and_then(|t| {
            t.rows
                .iter()
                .find(|r| r.pid == pid && r.start_ticks == st.start_ticks)
        })
        .map_or(0.0, |r| r.cpu_percent);
    let detail = ProcessDetail {
        pid,
        name: st.comm.to_owned(),
        command: read_text(&dir.join("cmdline"))
            .map(|t| parse_cmdline(&t))
            .unwrap_or_default(),
        cpu_percent,
        rss_bytes: st.rss_pages.saturating_mul(clock.page_size),
        virtual_bytes: st.vsize_bytes,
        shared_bytes: statm.map(|(_, _, shared)| shared.saturating_mul(clock.page_size)),
        thread_count: st.num_threads,
        fd_count,
        status: status_name(st.state),
        parent_pid: (st.ppid != 0).then_some(st.ppid),
        uid: status.uid.unwrap_or(0),
        gid: status.gid.unwrap_or(0),
        start_time_secs: clock
            .boot_time_secs
            .saturating_add(st.start_ticks / clock.ticks_per_sec.max(1)),
        cpu_time_user_us: clock.micros(st.utime_ticks),
        cpu_time_system_us: clock.micros(st.stime_ticks),
        read_bytes: io.map(|(r, _)| r),
        write_bytes: io.map(|(_, w)| w),
        read_bytes_per_sec: None,
        write_bytes_per_sec: None,
        gpus: Vec::new(),
        connections: None,
        redacted: false,
        working_directory: link(&dir.join("cwd")),
        executable_path: link(&dir.join("exe")),
        container_id: cgroup
            .as_deref()
            .and_then(containers::classify)
            .filter(containers::Owner::is_container)
            .map(|o| o.id),
        cgroup,
        children: Vec::new(),
        threads,
    };
    stat_file.read_into(&mut buf).map_err(|_| NotFound(pid))?;
    Ok(detail)
}

fn read_threads(dir: &Path, clock: HostClock, errors: &CollectorErrors) -> Vec<ThreadDetail> {
    let Ok(tasks) = std::fs::read_dir(dir.join("task")) else {
        return Vec::new();
    };
    let mut threads: Vec<ThreadDetail> = tasks
        .flatten()
        .filter_map(|t| {
            let text = read_text(&t.path().join("stat"))?;
            let st = errors.parsed("process_metrics", parse_pid_stat(&text))?;
            Some(ThreadDetail {
                tid: st.pid,
                name: st.comm.to_owned(),
                cpu_time_user_us: clock.micros(st.utime_ticks),
                cpu_time_system_us: clock.micros(st.stime_ticks),
                status: status_name(st.state),
            })
        })
        .collect();
    threads.sort_by_key(|t| t.tid);
    threads
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ids() {
        let text = "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nPid:\t4242\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t101\t100\t100\nThreads:\t1\n";
        assert_eq!(
            parse_status(text),
            Status {
                uid: Some(1000),
                gid: Some(100)
            }
        );
        assert_eq!(parse_status("Name: x\n"), Status::default());
    }

    #[test]
    fn statm() {
        assert_eq!(
            parse_statm("6803 2463 1600 239 0 1068 0\n").unwrap(),
            (6803, 2463, 1600)
        );
        assert!(parse_statm("1 2\n").is_err());
    }

    #[test]
    fn io() {
        let text = "rchar: 323934931\nwchar: 323929600\nsyscr: 632687\nsyscw: 632675\nread_bytes: 4096\nwrite_bytes: 323932160\ncancelled_write_bytes: 0\n";
        assert_eq!(parse_io(text).unwrap(), (4096, 323_932_160));
        assert!(parse_io("rchar: 1\n").is_err());
    }

    #[test]
    fn cmdline() {
        assert_eq!(parse_cmdline("sleep\u{0}30\u{0}"), "sleep 30");
        assert_eq!(
            parse_cmdline("/usr/bin/python3\0-c\0print('a b')\0"),
            "/usr/bin/python3 -c print('a b')"
        );
        assert_eq!(parse_cmdline(""), "");
    }

    #[test]
    fn children_lists() {
        assert_eq!(parse_children("812 813 9000 "), [812, 813, 9000]);
        assert_eq!(parse_children(""), Vec::<u32>::new());
    }

    #[test]
    fn children_by_parent_walk_where_the_kernel_lists_none() {
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path();
        for (pid, ppid) in [(1, 0), (10, 1), (11, 10), (12, 10), (13, 1)] {
            let d = proc.join(pid.to_string());
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join("stat"),
                format!("{pid} (p{pid}) S {ppid} 1 1 0 -1 0 0 0 0 0 7 0 0 0 20 0 1 0 50 1000 10 0"),
            )
            .unwrap();
        }
        let clock = HostClock {
            ticks_per_sec: 100,
            boot_time_secs: 0,
            page_size: 4096,
            cpus: 1,
        };
        let d = read(proc, 10, None, clock, &CollectorErrors::default()).unwrap();
        let kids: Vec<u32> = d.children.iter().map(|c| c.pid).collect();
        assert_eq!(kids, [11, 12]);
    }

    #[test]
    fn a_malformed_file_is_counted_and_its_values_left_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("10");
        std::fs::create_dir_all(&d).unwrap();
        let stat = "10 (p10) S 1 1 1 0 -1 0 0 0 0 0 7 0 0 0 20 0 1 0 50 1000 10 0";
        std::fs::write(d.join("stat"), stat).unwrap();
        std::fs::write(d.join("statm"), "lots of pages\n").unwrap();
        std::fs::write(d.join("io"), "rchar: 1\n").unwrap();
        let clock = HostClock {
            ticks_per_sec: 100,
            boot_time_secs: 0,
            page_size: 4096,
            cpus: 1,
        };
        let errors = CollectorErrors::default();
        let detail = read(dir.path(), 10, None, clock, &errors).unwrap();
        assert_eq!((detail.shared_bytes, detail.read_bytes), (None, None));
        assert_eq!(errors.count("process_metrics"), 2, "statm and io");
        // A stat that does not parse: not found, and counted.
        std::fs::write(d.join("stat"), "10 p10 S").unwrap();
        assert_eq!(
            read(dir.path(), 10, None, clock, &errors),
            Err(NotFound(10))
        );
        assert_eq!(errors.count("process_metrics"), 3);
    }

    #[test]
    fn states() {
        assert_eq!(status_name('R'), "Running");
        assert_eq!(status_name('S'), "Sleeping");
        assert_eq!(status_name('Z'), "Zombie");
        assert_eq!(status_name('?'), "Unknown");
    }

    #[test]
    fn reads_this_process() {
        let clock = HostClock {
            ticks_per_sec: 100,
            boot_time_secs: 0,
            page_size: 4096,
            cpus: 1,
        };
        let me = std::process::id();
        let errors = CollectorErrors::default();
        let d = read(Path::new("/proc"), me, None, clock, &errors).unwrap();
        assert_eq!(d.pid, me);
        assert!(d.thread_count >= 1);
        // Other tests start and end threads meanwhile: the main thread is
        // the stable one.
        assert!(d.threads.iter().any(|t| t.tid == me), "{:?}", d.threads);
        assert!(d.fd_count.is_some_and(|n| n >= 3));
        assert_eq!(
            d.working_directory.as_deref(),
            std::env::current_dir()
                .ok()
                .as_deref()
                .and_then(Path::to_str)
        );
        assert_eq!(
            read(Path::new("/proc"), u32::MAX, None, clock, &errors),
            Err(NotFound(u32::MAX))
        );
        assert!(errors.snapshot().is_empty(), "{:?}", errors.snapshot());
    }
}
