//! Block device I/O counters from `/proc/diskstats`.

use super::{ParseError, num};

const FILE: &str = "/proc/diskstats";

/// One device's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskStat {
    /// Major and minor device numbers.
    pub major: u32,
    pub minor: u32,
    /// The kernel's name (`sda`, `nvme0n1`, `dm-0`).
    pub name: String,
    /// The counters after the name, as many as the kernel prints (11 before
    /// 4.18, 15 with discards, 17 with flushes): reads, reads merged,
    /// sectors read, ms reading, writes, writes merged, sectors written, ms
    /// writing, I/Os in progress, ms doing I/O, weighted ms, discards,
    /// discards merged, sectors discarded, ms discarding, flushes, ms
    /// flushing.
    pub counters: Vec<u64>,
}

impl DiskStat {
    /// Counter `i`, 0 where the kernel does not print it.
    pub fn get(&self, i: usize) -> u64 {
        self.counters.get(i).copied().unwrap_or(0)
    }
}

/// Parses `/proc/diskstats`.
pub fn parse_diskstats(text: &str) -> Result<Vec<DiskStat>, ParseError> {
    let mut out = Vec::new();
    for line in super::lines(text) {
        let mut fields = line.split_ascii_whitespace();
        let Some(major) = fields.next() else {
            continue;
        };
        let major = num(FILE, "major", Some(major))?;
        let minor = num(FILE, "minor", fields.next())?;
        let name = fields
            .next()
            .ok_or_else(|| ParseError::new(FILE, "no device name"))?
            .to_owned();
        let counters = fields
            .map(|f| num(FILE, "counter", Some(f)))
            .collect::<Result<Vec<u64>, _>>()?;
        if counters.len() < 11 {
            return Err(ParseError::new(
                FILE,
                format!("{name}: fewer than 11 counters"),
            ));
        }
        out.push(DiskStat {
            major,
            minor,
            name,
            counters,
        });
    }
    Ok(out)
}

/// The udev properties of a block device that are served (node_exporter's
/// `node_disk_info`, `_filesystem_info`, `_device_mapper_info`).
pub const UDEV_KEYS: [&str; 20] = [
    "ID_PATH",
    "ID_WWN",
    "ID_MODEL",
    "SCSI_IDENT_SERIAL",
    "ID_SERIAL_SHORT",
    "ID_SERIAL",
    "ID_REVISION",
    "ID_FS_TYPE",
    "ID_FS_USAGE",
    "ID_FS_UUID",
    "ID_FS_VERSION",
    "DM_NAME",
    "DM_UUID",
    "DM_VG_NAME",
    "DM_LV_NAME",
    "DM_LV_LAYER",
    "ID_ATA",
    "ID_ATA_WRITE_CACHE",
    "ID_ATA_WRITE_CACHE_ENABLED",
    "ID_ATA_ROTATION_RATE_RPM",
];

/// What udev and sysfs say of a block device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// udev's properties among [`UDEV_KEYS`] (`/run/udev/data/bM:m`).
    pub udev: Vec<(&'static str, String)>,
    /// `queue/rotational` is 1 (a spinning disk).
    pub rotational: bool,
}

impl Identity {
    /// A udev property, empty where unknown.
    pub fn udev(&self, key: &str) -> &str {
        self.udev
            .iter()
            .find(|(k, _)| *k == key)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// One block device: its counters and, for the devices that are served,
/// its identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDevice {
    /// The `/proc/diskstats` line.
    pub stat: DiskStat,
    /// What udev and sysfs say of it (empty for a device left out).
    pub identity: std::sync::Arc<Identity>,
}

impl BlockDevice {
    /// A udev property, empty where unknown.
    pub fn udev(&self, key: &str) -> &str {
        self.identity.udev(key)
    }

    /// A spinning disk.
    pub fn rotational(&self) -> bool {
        self.identity.rotational
    }
}

/// udev's database entry: its `E:KEY=value` properties among [`UDEV_KEYS`].
pub fn parse_udev(text: &str) -> Vec<(&'static str, String)> {
    super::lines(text)
        .filter_map(|l| l.strip_prefix("E:")?.split_once('='))
        .filter_map(|(k, v)| {
            UDEV_KEYS
                .iter()
                .find(|key| **key == k)
                .map(|key| (*key, v.to_owned()))
        })
        .collect()
}

/// Reads `/proc/diskstats` (a small file, kept open in `files`: run it
/// on the blocking pool).
pub fn read_stats(
    roots: &super::Roots,
    files: &super::sysfs::Kept,
) -> Result<Vec<DiskStat>, super::CollectError> {
    let path = roots.proc.join("diskstats");
    let text = super::lock(files)
        .read(&path)
        .map_err(|e| super::CollectError::read(&path, e))?;
    Ok(parse_diskstats(&text)?)
}

/// Reads a device's udev entry (under the root filesystem's
/// `/run/udev/data`) and its `queue/rotational`. Nothing here touches the
/// device itself.
pub fn read_identity(roots: &super::Roots, stat: &DiskStat) -> Identity {
    let udev_file = roots
        .rootfs
        .join("run/udev/data")
        .join(format!("b{}:{}", stat.major, stat.minor));
    let rotational = roots
        .sys
        .join("block")
        .join(&stat.name)
        .join("queue/rotational");
    Identity {
        udev: std::fs::read_to_string(udev_file)
            .map(|t| parse_udev(&t))
            .unwrap_or_default(),
        rotational: std::fs::read_to_string(rotational).is_ok_and(|r| r.trim() == "1"),
    }
}

/// One device's activity over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct IoRates {
    /// Bytes read per second.
    pub read_bytes_per_sec: f64,
    /// Bytes written per second.
    pub write_bytes_per_sec: f64,
    /// Reads completed per second.
    pub reads_per_sec: f64,
    /// Writes completed per second.
    pub writes_per_sec: f64,
    /// Share of the window the device had I/O in flight, 0–100.
    pub busy_percent: f64,
}

/// The rates between two readings of one device `secs` apart (a counter
/// that went backwards, as after a device was replaced, counts as 0).
pub fn rates(now: &DiskStat, then: Option<&DiskStat>, secs: f64) -> IoRates {
    if secs <= 0.0 {
        return IoRates::default();
    }
    let delta = |i: usize| now.get(i).saturating_sub(then.map_or(0, |t| t.get(i))) as f64;
    IoRates {
        read_bytes_per_sec: delta(2) * 512.0 / secs,
        write_bytes_per_sec: delta(6) * 512.0 / secs,
        reads_per_sec: delta(0) / secs,
        writes_per_sec: delta(4) / secs,
        busy_percent: (delta(9) / 1000.0 / secs * 100.0).min(100.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_old_and_new_lines() {
        let text = " 254       0 vda 1331345 18408 37531682 45484377 182658 191980 146562544 1592740 0 748288 47218269 100943 90 90366088 138127 28108 3023
   7       0 loop0 10 0 20 1 0 0 0 0 0 4 1
";
        let d = parse_diskstats(text).unwrap();
        assert_eq!(d[0].name, "vda");
        assert_eq!((d[0].major, d[0].minor), (254, 0));
        assert_eq!(d[0].get(2), 37_531_682);
        assert_eq!(d[0].get(16), 3023);
        assert_eq!(d[1].counters.len(), 11);
        assert_eq!(d[1].get(15), 0);
        assert!(parse_diskstats(" 8 0 sda 1 2 3\n").is_err());
    }
}

#[cfg(test)]
mod rate_tests {
    use super::*;

    #[test]
    fn rates_over_a_window_in_bytes_and_percent() {
        let then = parse_diskstats(" 8 0 sda 100 0 2000 0 50 0 4000 0 0 1000 0\n").unwrap();
        let now = parse_diskstats(" 8 0 sda 300 0 6000 0 60 0 8096 0 1 1500 0\n").unwrap();
        let r = rates(&now[0], Some(&then[0]), 2.0);
        assert_eq!(r.reads_per_sec, 100.0);
        assert_eq!(r.read_bytes_per_sec, 4000.0 * 512.0 / 2.0);
        assert_eq!(r.write_bytes_per_sec, 4096.0 * 512.0 / 2.0);
        assert_eq!(r.busy_percent, 25.0);
        let back = rates(&then[0], Some(&now[0]), 2.0);
        assert_eq!(
            back.reads_per_sec, 0.0,
            "a counter going back is no activity"
        );
    }

    #[test]
    fn keeps_only_the_udev_properties_it_serves() {
        let p = parse_udev(
            "S:disk/by-id/x\nE:ID_MODEL=Samsung_SSD\nE:ID_FS_TYPE=ext4\nE:DEVLINKS=/dev/a /dev/b\nG:systemd\n",
        );
        assert_eq!(
            p,
            vec![
                ("ID_MODEL", "Samsung_SSD".to_owned()),
                ("ID_FS_TYPE", "ext4".to_owned())
            ]
        );
    }
}
