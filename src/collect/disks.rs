//! Mounted filesystems from `/proc/self/mountinfo`, sizes from `statvfs`.
//!
//! One entry per real filesystem: pseudo filesystems (proc, sysfs, tmpfs,
//! cgroup, devpts, overlay layers…) are left out, and a device mounted twice
//! (bind mounts, btrfs subvolumes) is counted once. Network filesystems are
//! left out too: `statvfs` on a dead server blocks for minutes.

use std::path::Path;

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
}

/// Parses `/proc/self/mountinfo` (see proc(5)); octal escapes such as
/// `\040` (space) in paths are decoded.
pub fn parse_mountinfo(text: &str) -> Result<Vec<Mount>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (left, right) = line
            .split_once(" - ")
            .ok_or_else(|| ParseError::new(FILE, "no ' - ' separator"))?;
        let mut l = left.split(' ');
        let mut r = right.split(' ');
        let missing = |what: &str| ParseError::new(FILE, format!("{what} missing"));
        let device = l.nth(2).ok_or_else(|| missing("major:minor"))?;
        let root = l.next().ok_or_else(|| missing("root"))?;
        let mount_point = l.next().ok_or_else(|| missing("mount point"))?;
        let fs_type = r.next().ok_or_else(|| missing("fs type"))?;
        let source = r.next().ok_or_else(|| missing("source"))?;
        out.push(Mount {
            device: device.to_owned(),
            root: unescape(root),
            mount_point: unescape(mount_point),
            fs_type: fs_type.to_owned(),
            source: unescape(source),
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
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..=i + 3]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
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

/// Network filesystems: skipped (see the module doc).
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
    let base_type = m.fs_type.split('.').next().unwrap_or_default();
    if PSEUDO.contains(&m.fs_type.as_str()) || NETWORK.contains(&base_type) {
        return false;
    }
    if m.fs_type.starts_with("fuse.") && m.fs_type != "fuse.zfs" {
        // FUSE helpers (gvfs, lxcfs, portals, sshfs) are views, not storage.
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
    /// The drive's own sensor, °C, where one exists.
    pub temperature_celsius: Option<f32>,
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

/// Reads the mounted real filesystems of the host, each measured at its
/// mount point under the root filesystem root; one whose `statvfs` fails is
/// skipped. An error only when the mount table cannot be read or parsed.
/// Blocks (`statvfs` of every mount): run it on the blocking pool.
pub fn read(roots: &Roots) -> Result<Vec<Disk>, CollectError> {
    let text = mount_table(roots)?;
    let mounts = parse_mountinfo(&text)?;
    Ok(select_real(&mounts)
        .into_iter()
        .filter_map(|m| {
            let st = rustix::fs::statvfs(roots.host_path(&m.mount_point)).ok()?;
            let frsize = st.f_frsize;
            let total_bytes = st.f_blocks.saturating_mul(frsize);
            if total_bytes == 0 {
                return None;
            }
            let name = device_name(roots, &m.source);
            let block = roots.sys.join("class/block").join(&name);
            Some(Disk {
                temperature_celsius: drive_temperature(&block),
                is_partition: block.join("partition").exists(),
                name,
                mount_point: m.mount_point.clone(),
                fs_type: m.fs_type.clone(),
                total_bytes,
                available_bytes: st.f_bavail.saturating_mul(frsize),
                used_bytes: st
                    .f_blocks
                    .saturating_sub(st.f_bfree)
                    .saturating_mul(frsize),
            })
        })
        .collect())
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

/// The drive sensor of a block device (NVMe and `drivetemp` expose one as a
/// hwmon under the device); for a partition, its whole disk's.
fn drive_temperature(block: &Path) -> Option<f32> {
    let disk = if block.join("partition").exists() {
        std::fs::canonicalize(block).ok()?.parent()?.to_path_buf()
    } else {
        block.to_path_buf()
    };
    for dir in [disk.join("device"), disk.join("device/hwmon")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("hwmon")
                && let Ok(text) = std::fs::read_to_string(entry.path().join("temp1_input"))
                && let Ok(c) = super::temperature::parse_millidegrees(&text)
            {
                return Some(c);
            }
        }
    }
    None
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
        assert_eq!(points, ["/", "/boot/efi", "/mnt/my disk", "/tank"]);
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
    fn rejects_lines_without_separator() {
        assert!(parse_mountinfo("27 1 259:2 / / rw\n").is_err());
    }

    #[test]
    fn reads_the_live_root_filesystem() {
        let disks = read(&Roots::default()).unwrap();
        for d in &disks {
            assert!(d.total_bytes >= d.available_bytes, "{d:?}");
            assert!(!d.name.is_empty());
        }
    }
}
