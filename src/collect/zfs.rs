//! OpenZFS statistics (`/proc/spl/kstat/zfs`, present where the module is
//! loaded): the ARC and the other kstat tables, and per pool its state,
//! I/O counters and datasets. One reading serves node_exporter's zfs
//! collector and the `arrays` kind.

use std::path::Path;

use super::Roots;
use super::sysfs::{Kept, entries, is_dir};

/// The kstat tables node_exporter reads: its subsystem, the file.
pub const TABLES: &[(&str, &str)] = &[
    ("zfs_abd", "abdstats"),
    ("zfs_arc", "arcstats"),
    ("zfs_dbuf", "dbufstats"),
    ("zfs_dmu_tx", "dmu_tx"),
    ("zfs_dnode", "dnodestats"),
    ("zfs_fm", "fm"),
    ("zfs_vdev_cache", "vdev_cache_stats"),
    ("zfs_vdev_mirror", "vdev_mirror_stats"),
    ("zfs_xuio", "xuio_stats"),
    ("zfs_zfetch", "zfetchstats"),
    ("zfs_zil", "zil"),
];

/// A kstat table's numeric rows.
pub type Table = Vec<(String, f64)>;

/// One pool.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pool {
    /// Its name.
    pub name: String,
    /// `ONLINE`, `DEGRADED`, `FAULTED`, `OFFLINE`, `REMOVED`, `UNAVAIL`,
    /// `SUSPENDED`, as the module writes it.
    pub state: Option<String>,
    /// The `io` kstat's columns.
    pub io: Vec<(String, u64)>,
    /// Each dataset's name and numeric `objset-*` rows.
    pub datasets: Vec<(String, Vec<(String, u64)>)>,
}

/// What the module reports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Zfs {
    /// Each kstat table found, by its file name (`arcstats`).
    pub tables: Vec<(&'static str, Table)>,
    /// The pools, by name.
    pub pools: Vec<Pool>,
}

impl Zfs {
    /// A row of a table (`arcstats`, `size`).
    pub fn stat(&self, table: &str, row: &str) -> Option<f64> {
        let (_, rows) = self.tables.iter().find(|(t, _)| *t == table)?;
        rows.iter().find(|(n, _)| n == row).map(|(_, v)| *v)
    }
}

/// The numeric rows of a kstat table (after its `name type data` header:
/// types 3 and 4, signed and unsigned 64-bit); `None` without the header.
pub fn parse_table(text: &str) -> Option<Table> {
    let mut lines = text.lines();
    lines.find(|l| l.split_whitespace().eq(["name", "type", "data"]))?;
    Some(
        lines
            .filter_map(|l| {
                let mut parts = l.split_whitespace();
                let (name, kind, data) = (parts.next()?, parts.next()?, parts.next()?);
                let value = match kind {
                    "3" => data.parse::<i64>().ok()? as f64,
                    "4" => data.parse::<u64>().ok()? as f64,
                    _ => return None,
                };
                Some((name.to_owned(), value))
            })
            .collect(),
    )
}

/// A pool's `io` kstat: a header row of column names (`nread`…) and a row
/// of values.
pub fn parse_pool_io(text: &str) -> Vec<(String, u64)> {
    let mut lines = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>());
    let Some(header) = lines.find(|l| l.len() >= 12 && l[0] == "nread") else {
        return Vec::new();
    };
    let Some(values) = lines.next() else {
        return Vec::new();
    };
    header
        .iter()
        .zip(values)
        .filter_map(|(h, v)| Some(((*h).to_owned(), v.parse().ok()?)))
        .collect()
}

/// A dataset's `objset-*` kstat: its name (which may hold spaces) and its
/// unsigned rows.
pub fn parse_objset(text: &str) -> Option<(String, Vec<(String, u64)>)> {
    let mut lines = text.lines();
    lines.find(|l| l.split_whitespace().eq(["name", "type", "data"]))?;
    let mut name = None;
    let mut rows = Vec::new();
    for line in lines {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() < 3 {
            continue;
        }
        if parts[0] == "dataset_name" {
            let start = line.find(parts[1]).map_or(0, |i| i + parts[1].len());
            name = Some(line[start..].trim_start().to_owned());
        } else if parts[1] == "4"
            && let Ok(v) = parts[2].parse()
        {
            rows.push((parts[0].to_owned(), v));
        }
    }
    Some((name?, rows))
}

/// Everything the module reports; `None` where it is not loaded.
pub fn read(roots: &Roots, files: &Kept) -> Option<Zfs> {
    let base = roots.proc.join("spl/kstat/zfs");
    if !is_dir(files, &base) {
        return None;
    }
    let tables = TABLES
        .iter()
        .filter_map(|(_, file)| {
            let text = super::lock(files).read(&base.join(file)).ok()?;
            Some((*file, parse_table(&text)?))
        })
        .collect();
    let pools = entries(files, &base)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, p)| is_dir(files, p))
        .map(|(name, dir)| read_pool(files, name, &dir))
        .collect();
    Some(Zfs { tables, pools })
}

fn read_pool(files: &Kept, name: String, dir: &Path) -> Pool {
    let text = |f: &str| super::lock(files).read(&dir.join(f)).ok();
    let datasets = entries(files, dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|(f, _)| f.starts_with("objset-"))
        .filter_map(|(f, _)| parse_objset(&text(&f)?))
        .collect();
    Pool {
        state: text("state").and_then(|s| s.lines().next().map(str::to_owned)),
        io: text("io").map(|t| parse_pool_io(&t)).unwrap_or_default(),
        datasets,
        name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kstat_tables_after_their_header() {
        let t = parse_table("6 1 0x01 91 4368 5266997922 97951858082072\nname type data\nhits 4 8772612\nc_min 4 33554432\nweird 7 text\nneg 3 -5\n").unwrap();
        assert_eq!(
            t,
            [
                ("hits".into(), 8772612.0),
                ("c_min".into(), 33554432.0),
                ("neg".into(), -5.0)
            ]
        );
        assert_eq!(parse_table("no header\n"), None);
    }

    #[test]
    fn reads_pool_io_and_a_dataset_with_spaces() {
        let io = parse_pool_io(
            "12 3 0x00 1 80 1 2\nnread nwritten reads writes wtime wlentime wupdate rtime rlentime rupdate wcnt rcnt\n1884160 3206144 22 132 7155162 104112268 79210489694949 24168078 104112268 79210489849220 0 0\n",
        );
        assert_eq!(io[0], ("nread".into(), 1884160));
        assert_eq!(io.len(), 12);
        let (name, rows) = parse_objset("23 1 0x01 7 2160 1 2\nname type data\ndataset_name 7 pool3/dataset with  space\nnread 4 28\n").unwrap();
        assert_eq!(name, "pool3/dataset with  space");
        assert_eq!(rows, [("nread".into(), 28)]);
    }
}
