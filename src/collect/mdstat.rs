//! Linux software RAID (`/proc/mdstat`, `/sys/block/md*/md`): each array's
//! level, state, member disks and any resync, recovery or check in
//! progress. One reading serves node_exporter's mdadm collector and the
//! `arrays` kind.

use super::sysfs::{Kept, entries, is_dir, value};
use super::{ParseError, Roots};

/// One md array as `/proc/mdstat` and sysfs describe it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MdArray {
    /// `md0`.
    pub name: String,
    /// The RAID level (`raid1`), `unknown` where mdstat does not say.
    pub level: String,
    /// `active`, `inactive`, or what it is doing: `recovering`,
    /// `resyncing`, `checking`, `reshaping`.
    pub state: String,
    /// Members in sync.
    pub disks_active: u64,
    /// Members the array is made of.
    pub disks_total: u64,
    /// Members marked failed (`(F)`).
    pub disks_failed: u64,
    /// Members missing (`_` in `[U_]`).
    pub disks_down: u64,
    /// Spares (`(S)`).
    pub disks_spare: u64,
    /// Size in 1 KiB blocks.
    pub blocks: u64,
    /// Blocks in sync (all of them unless a sync runs; 0 while one waits).
    pub blocks_synced: u64,
    /// Blocks the running sync covers.
    pub blocks_to_sync: u64,
    /// The sync's progress, percent.
    pub sync_percent: Option<f64>,
    /// The kernel's estimate of the minutes left.
    pub sync_finish_minutes: Option<f64>,
    /// The sync's speed, KiB/s.
    pub sync_speed_kib: Option<f64>,
    /// Member devices (`sda1`).
    pub members: Vec<String>,
    /// sysfs: members the array lacks (`degraded`), for redundant levels.
    pub degraded: Option<u64>,
    /// sysfs: `raid_disks`.
    pub raid_disks: Option<u64>,
}

/// A member field (`sdb2[2](F)`): its device name.
fn member(field: &str) -> Option<&str> {
    let field = match field.find("](") {
        Some(i) => &field[..=i],
        None => field,
    };
    let (name, index) = field.strip_suffix(']')?.rsplit_once('[')?;
    (!index.is_empty() && index.bytes().all(|b| b.is_ascii_digit())).then_some(name)
}

/// `[4/3] [U_UU]` at the end of a status line: (total, active, down).
fn member_counts(status: &str) -> Option<(u64, u64, u64)> {
    let mut words = status.split_whitespace().rev();
    let map = words.next()?.strip_prefix('[')?.strip_suffix(']')?;
    let (total, active) = words
        .next()?
        .strip_prefix('[')?
        .strip_suffix(']')?
        .split_once('/')?;
    if map.is_empty() || !map.bytes().all(|b| b == b'U' || b == b'_') {
        return None;
    }
    Some((
        total.parse().ok()?,
        active.parse().ok()?,
        map.matches('_').count() as u64,
    ))
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &text[text.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

fn bad(what: String) -> ParseError {
    ParseError::new("/proc/mdstat", what)
}

/// Parses `/proc/mdstat` as node_exporter's procfs library does.
pub fn parse(text: &str) -> Result<Vec<MdArray>, ParseError> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut known: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() || line.starts_with(' ') || line.starts_with("unused") {
            continue;
        }
        if let Some(list) = line.strip_prefix("Personalities : ") {
            known = list
                .split_whitespace()
                .map(|w| w.trim_start_matches('[').trim_end_matches(']'))
                .collect();
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 {
            return Err(bad(format!("expected 3+ fields: {line:?}")));
        }
        let is_level = |f: &str| known.contains(&f) && !f.contains(['(', '[']);
        let (level, first_member) = match (fields.get(3), fields.get(4)) {
            (Some(f), _) if is_level(f) => (*f, 4),
            (_, Some(f)) if is_level(f) => (*f, 5),
            _ => ("unknown", 3),
        };
        let (Some(status), Some(third)) = (lines.get(i + 1), lines.get(i + 2)) else {
            return Err(bad(format!("too few lines for {}", fields[0])));
        };
        let mut a = MdArray {
            name: fields[0].to_owned(),
            level: level.to_owned(),
            state: fields[2].to_owned(),
            disks_failed: line.matches("(F)").count() as u64,
            disks_spare: line.matches("(S)").count() as u64,
            ..MdArray::default()
        };
        status_line(line, status, &mut a)?;
        let sync = if third.contains("bitmap") {
            lines.get(i + 3).copied().unwrap_or("")
        } else {
            third
        };
        sync_line(sync, &mut a)?;
        a.members = fields[first_member.min(fields.len())..]
            .iter()
            .filter_map(|f| member(f).map(str::to_owned))
            .collect();
        out.push(a);
    }
    Ok(out)
}

/// The size and member counts from an array's second line.
fn status_line(line: &str, status: &str, a: &mut MdArray) -> Result<(), ParseError> {
    a.blocks = status
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("no size in {status:?}")))?;
    a.blocks_synced = a.blocks;
    a.blocks_to_sync = a.blocks;
    if line.contains("raid0") || line.contains("linear") {
        a.disks_total = line.matches('[').count() as u64;
        a.disks_active = a.disks_total;
        return Ok(());
    }
    if line.contains("inactive") {
        return Ok(());
    }
    (a.disks_total, a.disks_active, a.disks_down) =
        member_counts(status).ok_or_else(|| bad(format!("no member counts in {status:?}")))?;
    Ok(())
}

/// A resync, recovery, check or reshape line, where there is one.
fn sync_line(sync: &str, a: &mut MdArray) -> Result<(), ParseError> {
    let state = if sync.contains("recovery") {
        "recovering"
    } else if sync.contains("reshape") {
        "reshaping"
    } else if sync.contains("check") {
        "checking"
    } else if sync.contains("resync") {
        "resyncing"
    } else {
        return Ok(());
    };
    a.state = state.to_owned();
    if sync.contains("PENDING") || sync.contains("DELAYED") {
        a.blocks_synced = 0;
        return Ok(());
    }
    let (done, total) = between(sync, "(", ")")
        .and_then(|p| p.split_once('/'))
        .and_then(|(d, t)| Some((d.parse().ok()?, t.parse().ok()?)))
        .ok_or_else(|| bad(format!("no progress in {sync:?}")))?;
    (a.blocks_synced, a.blocks_to_sync) = (done, total);
    a.sync_percent = between(sync, "= ", "%").and_then(|p| p.trim().parse().ok());
    a.sync_finish_minutes = between(sync, "finish=", "min").and_then(|p| p.parse().ok());
    // "speed=259783K/sec": the number before the unit's capital.
    a.sync_speed_kib = sync.split_once("speed=").and_then(|(_, rest)| {
        let unit = rest.rfind(|c: char| c.is_ascii_uppercase())?;
        rest[..unit].parse().ok()
    });
    Ok(())
}

/// The arrays of `/proc/mdstat` with their sysfs facts; `None` without
/// the file (no md driver loaded).
pub fn read(roots: &Roots, files: &Kept) -> Result<Option<Vec<MdArray>>, super::CollectError> {
    let path = roots.proc.join("mdstat");
    let text = match super::lock(files).read_optional(&path) {
        Ok(Some(t)) => t,
        Ok(None) => return Ok(None),
        Err(e) => return Err(super::CollectError::read(&path, e)),
    };
    let mut arrays = parse(&text)?;
    for a in &mut arrays {
        let md = roots.sys.join("block").join(&a.name).join("md");
        let redundant = matches!(
            a.level.as_str(),
            "raid1" | "raid4" | "raid5" | "raid6" | "raid10"
        );
        a.degraded = redundant
            .then(|| value(files, &md.join("degraded"))?.parse().ok())
            .flatten();
        a.raid_disks = raid_disks(value(files, &md.join("raid_disks")).as_deref());
    }
    Ok(Some(arrays))
}

/// `raid_disks`: `2`, or `4 (3)` during a reshape.
fn raid_disks(text: Option<&str>) -> Option<u64> {
    text?.split_whitespace().next()?.parse().ok()
}

/// An md array as sysfs lists it: name, `raid_disks` (none for
/// containers), `degraded` (0 for levels without redundancy).
pub type SysfsArray = (String, Option<u64>, u64);

/// The md arrays sysfs lists (`/sys/block/md*/md`): node_exporter serves
/// these apart from `/proc/mdstat`.
pub fn sysfs_arrays(roots: &Roots, files: &Kept) -> Vec<SysfsArray> {
    entries(files, &roots.sys.join("block"))
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, path)| name.starts_with("md") && is_dir(files, &path.join("md")))
        .filter_map(|(name, path)| {
            let md = path.join("md");
            let level = value(files, &md.join("level"))?;
            let disks = match level.as_str() {
                "container" | "imsm" | "ddf" | "" => None,
                _ => raid_disks(value(files, &md.join("raid_disks")).as_deref()),
            };
            let degraded = match level.as_str() {
                "raid1" | "raid4" | "raid5" | "raid6" | "raid10" => {
                    value(files, &md.join("degraded"))?.parse().ok()?
                }
                _ => 0,
            };
            Some((name, disks, degraded))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MDSTAT: &str = "Personalities : [raid1] [raid6] [raid5] [raid4] [raid0]
md6 : active raid1 sdb2[2](F) sdc[1](S) sda2[0]
      195310144 blocks [2/1] [U_]
      [=>...................]  recovery =  8.5% (16775552/195310144) finish=17.0min speed=259783K/sec

md7 : active raid6 sdb1[0] sde1[3] sdd1[2] sdc1[1](F)
      7813735424 blocks super 1.2 level 6, 512k chunk, algorithm 2 [4/3] [U_UU]
      bitmap: 0/30 pages [0KB], 65536KB chunk

md9 : active raid1 sdc2[2] sdd2[3]
      523968 blocks super 1.2 [2/2] [UU]
      resync=DELAYED

md10 : active raid0 sda1[0] sdb1[1]
       314159265 blocks 64k chunks

unused devices: <none>
";

    #[test]
    fn reads_a_recovering_array() {
        let a = &parse(MDSTAT).unwrap()[0];
        assert_eq!(
            (a.name.as_str(), a.level.as_str(), a.state.as_str()),
            ("md6", "raid1", "recovering")
        );
        assert_eq!(
            (
                a.disks_total,
                a.disks_active,
                a.disks_down,
                a.disks_failed,
                a.disks_spare
            ),
            (2, 1, 1, 1, 1)
        );
        assert_eq!(
            (a.blocks, a.blocks_synced, a.blocks_to_sync),
            (195310144, 16775552, 195310144)
        );
        assert_eq!(
            (a.sync_percent, a.sync_finish_minutes, a.sync_speed_kib),
            (Some(8.5), Some(17.0), Some(259783.0))
        );
        assert_eq!(a.members, ["sdb2", "sdc", "sda2"]);
    }

    #[test]
    fn reads_a_degraded_array_with_a_bitmap_a_delayed_resync_and_raid0() {
        let arrays = parse(MDSTAT).unwrap();
        let (md7, md9, md10) = (&arrays[1], &arrays[2], &arrays[3]);
        assert_eq!(
            (md7.state.as_str(), md7.disks_down, md7.blocks_synced),
            ("active", 1, 7813735424)
        );
        assert_eq!((md9.state.as_str(), md9.blocks_synced), ("resyncing", 0));
        assert_eq!(
            (md10.disks_total, md10.disks_active, md10.level.as_str()),
            (2, 2, "raid0")
        );
    }

    #[test]
    fn a_truncated_file_is_a_parse_error() {
        assert!(parse("Personalities : [raid1]\nmd0 : active raid1 sda[0]\n").is_err());
    }

    #[test]
    fn member_fields_and_counts() {
        assert_eq!(member("sdb2[2](F)"), Some("sdb2"));
        assert_eq!(member("sda[0]"), Some("sda"));
        assert_eq!(member("(auto-read-only)"), None);
        assert_eq!(
            member_counts("195310144 blocks [2/1] [U_]"),
            Some((2, 1, 1))
        );
        assert_eq!(member_counts("314159265 blocks 64k chunks"), None);
    }

    #[test]
    fn raid_disks_during_a_reshape() {
        assert_eq!(raid_disks(Some("4 (3)")), Some(4));
        assert_eq!(raid_disks(Some("")), None);
    }
}
