//! Which pids a scan reads: the procfs root listed through a kept directory
//! descriptor, or, while no process has been created since the last scan,
//! the previous scan's pids (the set can only have shrunk, and a read of an
//! exited process fails with `ESRCH`).

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::parser::{parse_last_created_pid, parse_pid_name};
use crate::collect::Kept;

/// Lists the pids of a procfs root, reusing the last listing when it can.
#[derive(Debug)]
pub struct PidLister {
    /// The procfs root (`/proc` or a fixture).
    proc_root: PathBuf,
    /// The procfs root directory, rewound for every listing.
    dir: Option<OwnedFd>,
    /// Reused getdents buffer.
    dir_buf: Vec<MaybeUninit<u8>>,
    /// `/proc/loadavg`, whose last field is the most recently created pid.
    loadavg: Kept,
    /// The last created pid at the last listing.
    last_created_pid: Option<u64>,
    /// Whether `loadavg` speaks of the procfs root's pid namespace (it
    /// speaks of ours; a host /proc mounted in a container is another).
    same_pid_namespace: bool,
}

impl PidLister {
    /// A lister over `proc_root`; opens nothing yet.
    pub fn new(proc_root: &Path) -> PidLister {
        PidLister {
            proc_root: proc_root.to_path_buf(),
            dir: None,
            dir_buf: vec![MaybeUninit::uninit(); 32 * 1024],
            loadavg: Kept::new(proc_root.join("loadavg")),
            last_created_pid: None,
            same_pid_namespace: std::fs::read_link(proc_root.join("self"))
                .is_ok_and(|p| p.as_os_str() == std::process::id().to_string().as_str()),
        }
    }

    /// Whether the procfs root is the one of sonde's own pid namespace.
    pub fn same_pid_namespace(&self) -> bool {
        self.same_pid_namespace
    }

    /// The pids to read, ascending. `previous` are the last scan's pids
    /// (ascending), reused when no process was created since that scan.
    pub fn pids(&mut self, previous: impl ExactSizeIterator<Item = u32>) -> io::Result<Vec<u32>> {
        // Read before listing: a process created after this read changes it,
        // so the next scan lists again.
        let created = if self.same_pid_namespace {
            self.loadavg.read().ok().and_then(parse_last_created_pid)
        } else {
            None
        };
        let mut pids =
            if created.is_some() && created == self.last_created_pid && previous.len() > 0 {
                previous.collect()
            } else {
                self.list()?
            };
        self.last_created_pid = created;
        if !pids.is_sorted() {
            // procfs lists in pid order; a fixture or another kernel may not.
            pids.sort_unstable();
        }
        Ok(pids)
    }

    /// Every pid in the procfs root, via the kept directory descriptor.
    fn list(&mut self) -> io::Result<Vec<u32>> {
        let dir = match self.dir.take() {
            Some(fd) => fd,
            None => open_dir(&self.proc_root)?,
        };
        let pids = list_pids_in(dir.as_fd(), &mut self.dir_buf)?;
        self.dir = Some(dir);
        Ok(pids)
    }
}

fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        path,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?)
}

/// Counts the processes in a procfs root without reading any of them.
/// Lists a directory: call it from the blocking pool.
pub fn count_processes(proc_root: &Path) -> io::Result<u64> {
    Ok(list_pids(proc_root)?.len() as u64)
}

/// Every pid of a procfs root, in directory order. Used by `process_detail`
/// too, for the parent walk where `children` files are missing.
pub fn list_pids(proc_root: &Path) -> io::Result<Vec<u32>> {
    let dir = open_dir(proc_root)?;
    let mut buf = vec![MaybeUninit::uninit(); 32 * 1024];
    list_pids_in(dir.as_fd(), &mut buf)
}

fn list_pids_in(dir: BorrowedFd<'_>, buf: &mut [MaybeUninit<u8>]) -> io::Result<Vec<u32>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixture_listing_is_sorted_and_reused_only_in_our_namespace() {
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path().join("proc");
        for pid in ["30", "4", "200", "self-not-a-pid"] {
            std::fs::create_dir_all(proc.join(pid)).unwrap();
        }
        let mut lister = PidLister::new(&proc);
        assert!(
            !lister.same_pid_namespace(),
            "a fixture is another namespace"
        );
        assert_eq!(lister.pids([].into_iter()).unwrap(), [4, 30, 200]);
        std::fs::create_dir_all(proc.join("7")).unwrap();
        assert_eq!(
            lister.pids([4, 30, 200].into_iter()).unwrap(),
            [4, 7, 30, 200],
            "without our loadavg every scan lists"
        );
        assert_eq!(count_processes(&proc).unwrap(), 4);
    }
}
