//! Mounted filesystems from `/proc/self/mountinfo`, sizes from `statvfs`.
//!
//! One entry per real filesystem: pseudo filesystems (proc, sysfs, tmpfs,
//! cgroup, devpts, overlay layers…) are left out, and a device mounted twice
//! (bind mounts, btrfs subvolumes) is counted once. Network filesystems
//! (NFS, CIFS, sshfs…) are reported like local ones.
//!
//! `statvfs` on a dead NFS server or a hung FUSE daemon can block for
//! minutes, so each such mount is measured on a thread of its own and
//! waited for up to the mount timeout ([`MountProbe`]). One that has not
//! answered by then is reported unavailable, and skipped — no new thread
//! piles up behind it — until its statvfs returns. A local filesystem
//! answers statvfs from counters in memory (it reads nothing from its
//! device), so it is measured inline, without a thread per sample.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{CollectError, ParseError, Roots};

const FILE: &str = "/proc/self/mountinfo";

/// One line of `mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `major:minor` of the device: equal for every mount of one filesystem.
    pub device: String,
    /// The directory of the filesystem that is mounted (`/` unless a bind).
    pub root: String,
    /// Where it is mounted.
    pub mount_point: String,
    /// Filesystem type, e.g. `ext4`.
    pub fs_type: String,
    /// The mount source, e.g. `/dev/nvme0n1p2`.
    pub source: String,
    /// Mounted read-only (`ro` in the mount or superblock options).
    pub read_only: bool,
}

/// Parses `/proc/self/mountinfo` (see proc(5)); octal escapes such as
/// `\040` (space) in paths are decoded.
pub fn parse_mountinfo(text: &str) -> Result<Vec<Mount>, ParseError> {
    let mut out = Vec::new();
    for line in super::lines(text).filter(|l| !l.trim().is_empty()) {
        let (left, right) = line
            .split_once(" - ")
            .ok_or_else(|| ParseError::new(FILE, "no ' - ' separator"))?;
        let mut l = left.split(' ');
        let mut r = right.split(' ');
        let missing = |what: &str| ParseError::new(FILE, format!("{what} missing"));
        let device = l.nth(2).ok_or_else(|| missing("major:minor"))?;
        let root = l.next().ok_or_else(|| missing("root"))?;
        let mount_point = l.next().ok_or_else(|| missing("mount point"))?;
        let options = l.next().unwrap_or_default();
        let fs_type = r.next().ok_or_else(|| missing("fs type"))?;
        let source = r.next().ok_or_else(|| missing("source"))?;
        let super_options = r.next().unwrap_or_default();
        let read_only = options.split(',').any(|o| o == "ro")
            || super_options
                .split(',')
                .any(|o| o == "ro" || o == "emergency_ro");
        out.push(Mount {
            device: device.to_owned(),
            root: unescape(root),
            mount_point: unescape(mount_point),
            fs_type: fs_type.to_owned(),
            source: unescape(source),
            read_only,
        });
    }
    Ok(out)
}

/// Decodes the `\ooo` octal escapes the kernel writes for space, tab,
/// newline and backslash.
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // An escape the kernel would write is at most \377; a larger one
        // (only a corrupt or forged table has it) is kept as it is.
        let escaped = bytes.get(i + 1..=i + 3).and_then(|d| {
            d.iter()
                .all(|b| (b'0'..=b'7').contains(b))
                .then(|| d.iter().fold(0u32, |v, b| v * 8 + u32::from(b - b'0')))
        });
        if bytes[i] == b'\\'
            && let Some(v) = escaped.and_then(|v| u8::try_from(v).ok())
        {
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Filesystem types that hold no user data.
const PSEUDO: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nsfs",
    "proc",
    "pstore",
    "ramfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
];

/// Network filesystems: their source is `server:/export` or `//server/share`,
/// not a device path.
const NETWORK: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "ceph",
    "9p",
    "glusterfs",
    "sshfs",
];

/// Whether a mount is a real filesystem worth reporting.
pub fn is_real(m: &Mount) -> bool {
    if PSEUDO.contains(&m.fs_type.as_str()) {
        return false;
    }
    if is_network_type(&m.fs_type) {
        return true;
    }
    if m.fs_type.starts_with("fuse.") && m.fs_type != "fuse.zfs" {
        // Other FUSE helpers (gvfs, lxcfs, portals) are views, not storage.
        return false;
    }
    if m.fs_type == "overlay" || m.fs_type == "aufs" {
        // A container's root is an overlay: the only place its storage shows.
        return m.mount_point == "/";
    }
    m.source.starts_with('/') || matches!(m.fs_type.as_str(), "zfs" | "btrfs" | "bcachefs")
}

/// The real filesystems, each device once (its first mount, preferring one
/// that mounts the filesystem's own root rather than a bind of a subdirectory).
pub fn select_real(mounts: &[Mount]) -> Vec<&Mount> {
    let mut chosen: Vec<&Mount> = Vec::new();
    for m in mounts.iter().filter(|m| is_real(m)) {
        match chosen.iter_mut().find(|c| c.device == m.device) {
            Some(c) => {
                if c.root != "/" && m.root == "/" {
                    *c = m;
                }
            }
            None => chosen.push(m),
        }
    }
    chosen
}

/// One reported filesystem.
#[derive(Debug, Clone, PartialEq)]
pub struct Disk {
    /// Device name, e.g. `nvme0n1p2` (the source's file name).
    pub name: String,
    /// The mount source, e.g. `/dev/nvme0n1p2` or `nas:/export`.
    pub source: String,
    /// Where it is mounted.
    pub mount_point: String,
    /// Filesystem type.
    pub fs_type: String,
    /// Size, bytes.
    pub total_bytes: u64,
    /// Free space an unprivileged user may use, bytes.
    pub available_bytes: u64,
    /// Space in use, bytes.
    pub used_bytes: u64,
    /// The drive's own sensor, °C, where one exists: the `sensors` kind's
    /// reading of the chip measuring [`Disk::drive`], filled by the kind
    /// (a `drivetemp` disk's is never read: it would wake the disk).
    pub temperature_celsius: Option<f32>,
    /// The whole disk's device, resolved (its SCSI device or NVMe
    /// controller): what its temperature chip measures.
    pub drive: Option<PathBuf>,
    /// True for a partition of a whole disk.
    pub is_partition: bool,
}

/// The host's mount table: that of pid 1 under the proc root (the host's
/// init, also when sonde runs in a container with the host's /proc), else
/// sonde's own where pid 1's is not readable (`hidepid`).
fn mount_table(roots: &Roots) -> Result<String, CollectError> {
    let host = roots.proc.join("1/mountinfo");
    std::fs::read_to_string(&host).or_else(|_| {
        let own = roots.proc.join("self/mountinfo");
        std::fs::read_to_string(&own).map_err(|e| CollectError::read(&own, e))
    })
}

impl Disk {
    /// True for a network filesystem (its size is a server's, not this
    /// host's).
    pub fn is_network(&self) -> bool {
        is_network_type(&self.fs_type)
    }
}

fn is_network_type(fs_type: &str) -> bool {
    NETWORK.contains(&fs_type) || fs_type == "fuse.sshfs"
}

/// Whether statvfs of this filesystem type asks something that may not
/// answer: a server, or a FUSE daemon.
fn may_hang(fs_type: &str) -> bool {
    is_network_type(fs_type) || fs_type.starts_with("fuse")
}

/// A mounted filesystem whose size did not come back in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// Where it is mounted.
    pub mount_point: String,
    /// Filesystem type.
    pub fs_type: String,
    /// The mount source.
    pub source: String,
}

/// The host's filesystems: those measured, and those that did not answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiskTable {
    /// Measured filesystems.
    pub disks: Vec<Disk>,
    /// Filesystems whose statvfs is still outstanding.
    pub unavailable: Vec<Unavailable>,
    /// Every mount node_exporter's filesystem collector would serve (empty
    /// unless asked for), measured by the same statvfs calls.
    pub exported: Vec<Exported>,
}

/// Which mounts node_exporter's filesystem collector serves: all but the
/// excluded mount points and types (tmpfs stays, unlike [`Disk`]s).
#[derive(Debug, Clone)]
pub struct ExportFilter {
    /// Mount points left out.
    pub mount_points_exclude: crate::collect::pattern::Pattern,
    /// Filesystem types left out.
    pub fs_types_exclude: crate::collect::pattern::Pattern,
}

/// One mount as node_exporter's filesystem collector serves it.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    /// The mount source (node_exporter's `device` label).
    pub source: String,
    /// Where it is mounted.
    pub mount_point: String,
    /// Filesystem type.
    pub fs_type: String,
    /// `major:minor`.
    pub device: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// Its statvfs, or why there is none (`mountpoint timeout` for one
    /// that did not answer in time, else the error).
    pub stats: Result<FsStats, String>,
}

/// The statvfs figures node_exporter serves.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FsStats {
    /// Bytes in all.
    pub size: u64,
    /// Free bytes.
    pub free: u64,
    /// Bytes free to unprivileged users.
    pub avail: u64,
    /// Inodes in all.
    pub files: u64,
    /// Free inodes.
    pub files_free: u64,
}

/// How a filesystem is measured: `statvfs`, or a stand-in in tests.
pub type Statvfs = fn(&Path) -> std::io::Result<rustix::fs::StatVfs>;

fn real_statvfs(path: &Path) -> std::io::Result<rustix::fs::StatVfs> {
    rustix::fs::statvfs(path).map_err(std::io::Error::from)
}

/// Measures mounts each on its own thread with a deadline, remembering
/// those whose statvfs is still outstanding.
#[derive(Debug, Clone)]
pub struct MountProbe {
    timeout: Duration,
    statvfs: Statvfs,
    /// Paths with a statvfs in flight (a thread still blocked in it).
    outstanding: Arc<Mutex<HashSet<PathBuf>>>,
}

impl MountProbe {
    /// A probe with the real `statvfs`.
    pub fn new(timeout: Duration) -> MountProbe {
        MountProbe::with(timeout, real_statvfs)
    }

    /// A probe measuring with `statvfs`.
    pub fn with(timeout: Duration, statvfs: Statvfs) -> MountProbe {
        MountProbe {
            timeout,
            statvfs,
            outstanding: Arc::default(),
        }
    }

    fn outstanding(&self) -> std::sync::MutexGuard<'_, HashSet<PathBuf>> {
        self.outstanding
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// statvfs of every path: those that may hang (`true`) at once on
    /// threads, each waited for until one shared deadline, the others
    /// inline. `None` for a path that did not answer (or is still blocked
    /// from an earlier call), `Some(Err)` for one that failed.
    fn measure(
        &self,
        paths: &[(PathBuf, bool)],
    ) -> Vec<Option<std::io::Result<rustix::fs::StatVfs>>> {
        let mut results: Vec<_> = paths.iter().map(|_| None).collect();
        let (tx, rx) = mpsc::channel();
        let mut waiting = 0;
        for (i, (path, may_hang)) in paths.iter().enumerate() {
            if !may_hang {
                results[i] = Some((self.statvfs)(path));
                continue;
            }
            if !self.outstanding().insert(path.clone()) {
                continue;
            }
            let (tx, owned, probe) = (tx.clone(), path.clone(), self.clone());
            let spawned = std::thread::Builder::new()
                .name("sonde-statvfs".into())
                .spawn(move || {
                    let result = (probe.statvfs)(&owned);
                    probe.outstanding().remove(&owned);
                    // The reader may have given up on this one: no one to tell.
                    let _ = tx.send((i, result));
                });
            match spawned {
                Ok(_) => waiting += 1,
                Err(e) => {
                    self.outstanding().remove(path);
                    results[i] = Some(Err(e));
                }
            }
        }
        let deadline = Instant::now() + self.timeout;
        while waiting > 0 {
            let Ok((i, result)) =
                rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            else {
                break;
            };
            results[i] = Some(result);
            waiting -= 1;
        }
        results
    }
}

/// Reads the mounted real filesystems of the host, each measured at its
/// mount point under the root filesystem root: one whose `statvfs` fails
/// is skipped, one that does not answer within the probe's timeout is
/// listed unavailable. With `export`, also every mount node_exporter's
/// filesystem collector serves, measured by the same calls. An error only
/// when the mount table cannot be read or parsed. Blocks up to the mount
/// timeout: run it on the blocking pool.
pub fn read(
    roots: &Roots,
    probe: &MountProbe,
    export: Option<&ExportFilter>,
) -> Result<DiskTable, CollectError> {
    let text = mount_table(roots)?;
    let mounts = parse_mountinfo(&text)?;
    let chosen = select_real(&mounts);
    let exported = export
        .map(|f| select_exported(&mounts, f))
        .unwrap_or_default();
    let mut paths: Vec<(PathBuf, bool)> = Vec::new();
    for m in chosen.iter().chain(&exported) {
        let path = roots.host_path(&m.mount_point);
        if !paths.iter().any(|(p, _)| *p == path) {
            paths.push((path, may_hang(&m.fs_type)));
        }
    }
    let measured: Vec<Option<Result<Vfs, String>>> = probe
        .measure(&paths)
        .into_iter()
        .map(|m| m.map(|r| r.map(|st| Vfs::of(&st)).map_err(|e| error_text(&e))))
        .collect();
    let of = |m: &Mount| {
        let path = roots.host_path(&m.mount_point);
        paths
            .iter()
            .position(|(p, _)| *p == path)
            .and_then(|i| measured[i].clone())
    };
    let mut table = DiskTable::default();
    for m in chosen {
        let Some(measured) = of(m) else {
            table.unavailable.push(Unavailable {
                mount_point: m.mount_point.clone(),
                fs_type: m.fs_type.clone(),
                source: m.source.clone(),
            });
            continue;
        };
        let Ok(st) = measured else {
            continue;
        };
        if let Some(disk) = disk(roots, m, &st) {
            table.disks.push(disk);
        }
    }
    table.exported = exported
        .into_iter()
        .map(|m| Exported {
            source: m.source.clone(),
            mount_point: m.mount_point.clone(),
            fs_type: m.fs_type.clone(),
            device: m.device.clone(),
            read_only: m.read_only,
            stats: match of(m) {
                None => Err("mountpoint timeout".to_owned()),
                Some(Err(e)) => Err(e),
                Some(Ok(st)) => Ok(FsStats {
                    size: st.blocks.saturating_mul(st.bsize),
                    free: st.bfree.saturating_mul(st.bsize),
                    avail: st.bavail.saturating_mul(st.bsize),
                    files: st.files,
                    files_free: st.ffree,
                }),
            },
        })
        .collect();
    Ok(table)
}

/// The mounts node_exporter's filesystem collector serves, each (source,
/// mount point, type) once.
pub fn select_exported<'a>(mounts: &'a [Mount], filter: &ExportFilter) -> Vec<&'a Mount> {
    let mut out: Vec<&Mount> = Vec::new();
    for m in mounts {
        if filter.mount_points_exclude.is_match(&m.mount_point)
            || filter.fs_types_exclude.is_match(&m.fs_type)
        {
            continue;
        }
        if !out.iter().any(|o| {
            o.source == m.source && o.mount_point == m.mount_point && o.fs_type == m.fs_type
        }) {
            out.push(m);
        }
    }
    out
}

/// An error as node_exporter's labels write it (`permission denied`).
fn error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The statvfs figures used here.
#[derive(Debug, Clone, Copy)]
struct Vfs {
    blocks: u64,
    bfree: u64,
    bavail: u64,
    bsize: u64,
    frsize: u64,
    files: u64,
    ffree: u64,
}

impl Vfs {
    fn of(st: &rustix::fs::StatVfs) -> Vfs {
        Vfs {
            blocks: st.f_blocks,
            bfree: st.f_bfree,
            bavail: st.f_bavail,
            bsize: st.f_bsize,
            frsize: st.f_frsize,
            files: st.f_files,
            ffree: st.f_ffree,
        }
    }
}

/// One real filesystem's entry; `None` for one of size 0.
fn disk(roots: &Roots, m: &Mount, st: &Vfs) -> Option<Disk> {
    let frsize = st.frsize;
    let total_bytes = st.blocks.saturating_mul(frsize);
    if total_bytes == 0 {
        return None;
    }
    let name = device_name(roots, &m.source);
    let block = roots.sys.join("class/block").join(&name);
    Some(Disk {
        temperature_celsius: None,
        drive: drive_device(&block),
        is_partition: block.join("partition").exists(),
        name,
        source: m.source.clone(),
        mount_point: m.mount_point.clone(),
        fs_type: m.fs_type.clone(),
        total_bytes,
        available_bytes: st.bavail.saturating_mul(frsize),
        used_bytes: st.blocks.saturating_sub(st.bfree).saturating_mul(frsize),
    })
}

/// `/dev/mapper/vg-root` → `dm-0` (what sysfs knows it by, resolved in the
/// host's `/dev`), `/dev/sda1` → `sda1`; a source that is no device path is
/// kept as it is.
fn device_name(roots: &Roots, source: &str) -> String {
    let path = roots.host_path(source);
    let resolved = std::fs::canonicalize(&path).unwrap_or(path);
    match resolved.file_name() {
        Some(name) if source.starts_with("/dev/") => name.to_string_lossy().into_owned(),
        _ => source.to_owned(),
    }
}

/// The device of a block device's whole disk, resolved (a partition's is
/// its disk's): the device a drive's hwmon chip names.
fn drive_device(block: &Path) -> Option<PathBuf> {
    let disk = if block.join("partition").exists() {
        std::fs::canonicalize(block).ok()?.parent()?.to_path_buf()
    } else {
        block.to_path_buf()
    };
    std::fs::canonicalize(disk.join("device")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = r"22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684092k
27 1 259:2 / / rw,relatime - ext4 /dev/nvme0n1p2 rw
28 27 259:1 / /boot/efi rw,relatime - vfat /dev/nvme0n1p1 rw
29 27 259:2 /home /home rw,relatime - ext4 /dev/nvme0n1p2 rw
30 27 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
31 27 0:41 / /mnt/my\040disk rw - xfs /dev/sdb1 rw
32 27 0:42 / /mnt/nas rw - nfs4 server:/export rw
33 27 0:43 / /run/user/1000/gvfs rw - fuse.gvfsd-fuse gvfsd-fuse rw
34 27 0:44 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw
35 27 7:0 / /snap/core/1 ro - squashfs /dev/loop0 ro
36 27 0:45 / /tank rw - zfs tank rw
";

    #[test]
    fn parses_and_unescapes() {
        let m = parse_mountinfo(MOUNTINFO).unwrap();
        assert_eq!(m.len(), 13);
        let root = &m[3];
        assert_eq!(root.mount_point, "/");
        assert_eq!(root.fs_type, "ext4");
        assert_eq!(root.source, "/dev/nvme0n1p2");
        assert_eq!(root.device, "259:2");
        assert!(m.iter().any(|m| m.mount_point == "/mnt/my disk"));
    }

    #[test]
    fn keeps_real_filesystems_each_device_once() {
        let m = parse_mountinfo(MOUNTINFO).unwrap();
        let points: Vec<&str> = select_real(&m)
            .iter()
            .map(|m| m.mount_point.as_str())
            .collect();
        assert_eq!(
            points,
            ["/", "/boot/efi", "/mnt/my disk", "/mnt/nas", "/tank"]
        );
    }

    #[test]
    fn a_container_overlay_root_counts() {
        let m = parse_mountinfo("1 0 0:50 / / rw - overlay overlay rw,lowerdir=/a\n").unwrap();
        assert_eq!(select_real(&m).len(), 1);
    }

    #[test]
    fn prefers_the_mount_of_the_filesystem_root() {
        let m = parse_mountinfo(
            "1 0 8:1 /data /srv rw - ext4 /dev/sda1 rw\n2 0 8:1 / /mnt rw - ext4 /dev/sda1 rw\n",
        )
        .unwrap();
        let chosen = select_real(&m);
        assert_eq!(chosen.len(), 1);
        assert_eq!(chosen[0].mount_point, "/mnt");
    }

    #[test]
    fn regression_mountinfo_octal_escape_over_255_overflowed_a_u8() {
        // Found by the mountinfo fuzz target: \777 overflowed a u8.
        let m = parse_mountinfo("1 0 8:1 / /mnt/\\777x rw - ext4 /dev/sda1 rw\n").unwrap();
        assert_eq!(m[0].mount_point, "/mnt/\\777x");
        let m = parse_mountinfo("1 0 8:1 / /mnt/a\\134b\\040 rw - ext4 /dev/sda1 rw\n").unwrap();
        assert_eq!(m[0].mount_point, "/mnt/a\\b ");
    }

    #[test]
    fn rejects_lines_without_separator() {
        assert!(parse_mountinfo("27 1 259:2 / / rw\n").is_err());
    }

    #[test]
    fn reads_the_live_root_filesystem() {
        let table = read(
            &Roots::default(),
            &MountProbe::new(Duration::from_secs(5)),
            None,
        )
        .unwrap();
        for d in &table.disks {
            assert!(d.total_bytes >= d.available_bytes, "{d:?}");
            assert!(!d.name.is_empty());
        }
    }

    /// A stand-in statvfs that blocks on any path ending in `nas` until
    /// [`release_nas`] (a dead NFS server that comes back).
    static NAS_BACK: (Mutex<bool>, std::sync::Condvar) =
        (Mutex::new(false), std::sync::Condvar::new());

    fn hanging_nas(path: &Path) -> std::io::Result<rustix::fs::StatVfs> {
        if path.ends_with("nas") {
            let (back, changed) = &NAS_BACK;
            let mut back = back.lock().unwrap();
            while !*back {
                back = changed.wait(back).unwrap();
            }
        }
        real_statvfs(Path::new("/"))
    }

    fn release_nas() {
        *NAS_BACK.0.lock().unwrap() = true;
        NAS_BACK.1.notify_all();
    }

    #[test]
    fn a_hung_network_mount_is_unavailable_until_it_answers() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        std::fs::create_dir_all(roots.proc.join("1")).unwrap();
        std::fs::write(
            roots.proc.join("1/mountinfo"),
            "27 1 8:1 / / rw - ext4 /dev/sda1 rw\n32 27 0:42 / /mnt/nas rw - nfs4 nas:/export rw\n",
        )
        .unwrap();
        let probe = MountProbe::with(Duration::from_millis(100), hanging_nas);

        let first = read(&roots, &probe, None).unwrap();
        assert_eq!(first.disks.len(), 1, "{first:?}");
        assert_eq!(first.disks[0].mount_point, "/");
        let nas = Unavailable {
            mount_point: "/mnt/nas".into(),
            fs_type: "nfs4".into(),
            source: "nas:/export".into(),
        };
        assert_eq!(first.unavailable, std::slice::from_ref(&nas));
        // Still blocked: skipped at once, no second thread stuck behind it.
        let second = read(&roots, &probe, None).unwrap();
        assert_eq!(second.unavailable, [nas]);
        assert_eq!(probe.outstanding().len(), 1);

        release_nas();
        let t0 = Instant::now();
        while !probe.outstanding().is_empty() && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let back = read(&roots, &probe, None).unwrap();
        assert!(back.unavailable.is_empty(), "{back:?}");
        let nas = back
            .disks
            .iter()
            .find(|d| d.mount_point == "/mnt/nas")
            .unwrap();
        assert_eq!(
            (nas.source.as_str(), nas.name.as_str()),
            ("nas:/export", "nas:/export")
        );
    }
}
