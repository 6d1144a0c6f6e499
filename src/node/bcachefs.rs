//! `bcachefs`: bcachefs filesystems (`/sys/fs/bcachefs/<uuid>`): the btree
//! cache, compression per algorithm, errors, btree writes, every counter
//! the kernel keeps since the filesystem was created, and each member
//! device's size, state, I/O and errors, with node_exporter's names (its
//! collector since 1.11, on by default). bcachefs writes sizes for people
//! (`2.05G`, `28.2k`): they are read back as node_exporter's procfs reads
//! them ([`bytes`]).

use std::path::Path;

use super::{Families, NodeCollector, Read, Source};
use crate::collect::sysfs::{Kept, entries, is_dir, value};
use crate::collect::{CollectError, ParseError};
use crate::exposition::MetricType;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "bcachefs",
    read: Read::Files(read),
};

/// A bcachefs size back to bytes: the number times 1024 to the power of its
/// unit letter, truncated (`2.05G` is 2,201,170,739).
pub fn bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let power = match t.chars().last()?.to_ascii_lowercase() {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        'e' => 6,
        _ => 0,
    };
    let number = if power > 0 { &t[..t.len() - 1] } else { t };
    let v: f64 = number.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then(|| (v * 1024f64.powi(power)) as u64)
}

fn bad(file: &'static str, what: &str) -> ParseError {
    ParseError::new(file, format!("not a size or count: {what:?}"))
}

/// A table with a header line and rows `name: a b …`
/// (`compression_stats`, `btree_write_stats`): each row's name and its
/// first two values.
pub fn table(text: &str) -> Vec<(&str, &str, &str)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let name = fields.next()?.trim_end_matches(':');
            Some((name, fields.next()?, fields.next()?))
        })
        .collect()
}

/// `errors`: each error type's count (then the time it last happened).
pub fn errors(text: &str) -> Result<Vec<(&str, u64)>, ParseError> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            Some((fields.next()?, fields.next()?))
        })
        .map(|(name, n)| Ok((name, n.parse().map_err(|_| bad("errors", n))?)))
        .collect()
}

/// A `counters/<name>` file: its count since the filesystem was created (0
/// where only the count since mount is there, as node_exporter reads it).
pub fn counter(text: &str) -> Result<u64, ParseError> {
    let mut seen = false;
    let mut since_creation = 0;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("since filesystem creation:") {
            since_creation = bytes(v).ok_or_else(|| bad("counters", v))?;
            seen = true;
        } else if line.starts_with("since mount:") {
            seen = true;
        }
    }
    if seen {
        Ok(since_creation)
    } else {
        Err(ParseError::new("counters", "neither count is there"))
    }
}

/// A device's `io_done`: bytes per operation (`read`, `write`) and data
/// type.
pub fn io_done(text: &str) -> Result<Vec<(&str, &str, u64)>, ParseError> {
    let mut op = None;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(name) = line
            .strip_suffix(':')
            .filter(|n| *n == "read" || *n == "write")
        {
            op = Some(name);
            continue;
        }
        let (Some(op), Some((kind, n))) = (op, line.split_once(':')) else {
            continue;
        };
        let n = n.trim();
        out.push((op, kind.trim(), n.parse().map_err(|_| bad("io_done", n))?));
    }
    Ok(out)
}

/// A device's `io_errors`: errors per type since the filesystem was
/// created (the section since mount follows and is not served).
pub fn io_errors(text: &str) -> Result<Vec<(&str, u64)>, ParseError> {
    let mut out = Vec::new();
    let mut in_creation = false;
    for line in text.lines() {
        if line.starts_with("IO errors since filesystem creation") {
            in_creation = true;
            continue;
        }
        if line.starts_with("IO errors since ") {
            break;
        }
        let Some((kind, n)) = line.trim().split_once(':').filter(|_| in_creation) else {
            continue;
        };
        let n = n.trim();
        out.push((kind.trim(), n.parse().map_err(|_| bad("io_errors", n))?));
    }
    Ok(out)
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let files = src.files;
    let Some(filesystems) = entries(files, &src.roots.sys.join("fs/bcachefs")) else {
        return Ok(None);
    };
    let mut f = Families::default();
    let mut any = false;
    for (uuid, dir) in &filesystems {
        if !is_dir(files, dir) {
            continue;
        }
        any = true;
        filesystem(&mut f, src, uuid, dir)?;
    }
    Ok(any.then_some(f))
}

/// One filesystem's series.
fn filesystem(
    f: &mut Families,
    src: &Source<'_>,
    uuid: &str,
    dir: &Path,
) -> Result<(), CollectError> {
    let files = src.files;
    let read = |name: &str| src.read_optional(&dir.join(name));
    let gauge = MetricType::Gauge;
    let counter = MetricType::Counter;
    f.named("node_bcachefs_info", "Filesystem information.", gauge)
        .push([("uuid", uuid)], 1.0);
    let cache = match read("btree_cache_size")? {
        Some(t) => bytes(&t).ok_or_else(|| bad("btree_cache_size", &t))?,
        None => 0,
    };
    f.named(
        "node_bcachefs_btree_cache_size_bytes",
        "Btree cache memory usage in bytes.",
        gauge,
    )
    .push([("uuid", uuid)], cache as f64);
    let compression = read("compression_stats")?.unwrap_or_default();
    for (algorithm, compressed, uncompressed) in table(&compression) {
        for (name, help, v) in [
            ("compressed", "Compressed size by algorithm.", compressed),
            (
                "uncompressed",
                "Uncompressed size by algorithm.",
                uncompressed,
            ),
        ] {
            let v = bytes(v).ok_or_else(|| bad("compression_stats", v))?;
            f.named(
                &format!("node_bcachefs_compression_{name}_bytes"),
                help,
                gauge,
            )
            .push([("uuid", uuid), ("algorithm", algorithm)], v as f64);
        }
    }
    for (kind, n) in errors(&read("errors")?.unwrap_or_default())? {
        f.named(
            "node_bcachefs_errors_total",
            "Error count by error type.",
            counter,
        )
        .push([("uuid", uuid), ("error_type", kind)], n as f64);
    }
    for (name, path) in entries(files, &dir.join("counters")).unwrap_or_default() {
        let Some(text) = src.read_optional(&path)? else {
            continue;
        };
        let family = format!("node_bcachefs_{}_total", super::util::sanitize(&name));
        let help = format!("Bcachefs counter {name} since filesystem creation.");
        f.named(&family, help, counter)
            .push([("uuid", uuid)], self::counter(&text)? as f64);
    }
    let writes = read("btree_write_stats")?.unwrap_or_default();
    for (kind, n, size) in table(&writes) {
        let n: u64 = n.parse().map_err(|_| bad("btree_write_stats", n))?;
        let size = bytes(size).ok_or_else(|| bad("btree_write_stats", size))?;
        f.named(
            "node_bcachefs_btree_writes_total",
            "Number of btree writes by type.",
            counter,
        )
        .push([("uuid", uuid), ("type", kind)], n as f64);
        f.named(
            "node_bcachefs_btree_write_average_size_bytes",
            "Average btree write size by type.",
            gauge,
        )
        .push([("uuid", uuid), ("type", kind)], size as f64);
    }
    for (name, path) in entries(files, dir).unwrap_or_default() {
        if let Some(device) = name.strip_prefix("dev-").filter(|_| is_dir(files, &path)) {
            member(f, src, files, uuid, device, &path)?;
        }
    }
    Ok(())
}

/// One member device's series.
fn member(
    f: &mut Families,
    src: &Source<'_>,
    files: &Kept,
    uuid: &str,
    device: &str,
    dir: &Path,
) -> Result<(), CollectError> {
    let (gauge, counter) = (MetricType::Gauge, MetricType::Counter);
    let text = |name: &str| value(files, &dir.join(name)).unwrap_or_default();
    let labels = [("uuid", uuid), ("device", device)];
    f.named("node_bcachefs_device_info", "Device information.", gauge)
        .push(
            [
                ("uuid", uuid),
                ("device", device),
                ("label", text("label").as_str()),
                ("state", text("state").as_str()),
            ],
            1.0,
        );
    let bucket = match text("bucket_size") {
        t if t.is_empty() => 0,
        t => bytes(&t).ok_or_else(|| bad("bucket_size", &t))?,
    };
    let number = |name: &'static str| -> Result<u64, ParseError> {
        let t = text(name);
        if t.is_empty() {
            return Ok(0);
        }
        t.parse().map_err(|_| bad(name, &t))
    };
    for (name, help, v) in [
        ("bucket_size_bytes", "Bucket size in bytes.", bucket),
        ("buckets", "Total number of buckets.", number("nbuckets")?),
        (
            "durability",
            "Device durability setting.",
            number("durability")?,
        ),
    ] {
        f.named(&format!("node_bcachefs_device_{name}"), help, gauge)
            .push(labels, v as f64);
    }
    let done = src.read_optional(&dir.join("io_done"))?.unwrap_or_default();
    for (op, kind, n) in io_done(&done)? {
        f.named(
            "node_bcachefs_device_io_done_bytes_total",
            "IO bytes by operation type and data type.",
            counter,
        )
        .push(
            [
                ("uuid", uuid),
                ("device", device),
                ("operation", op),
                ("data_type", kind),
            ],
            n as f64,
        );
    }
    let errors = src
        .read_optional(&dir.join("io_errors"))?
        .unwrap_or_default();
    for (kind, n) in io_errors(&errors)? {
        f.named(
            "node_bcachefs_device_io_errors_total",
            "IO errors by error type.",
            counter,
        )
        .push(
            [("uuid", uuid), ("device", device), ("type", kind)],
            n as f64,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_back_as_node_exporter_reads_them() {
        assert_eq!(bytes("2.05G"), Some(2_201_170_739));
        assert_eq!(bytes("28.2k"), Some(28_876));
        assert_eq!(bytes("720"), Some(720));
        assert_eq!(bytes("10.8T"), Some(11_874_725_579_980));
        assert_eq!(bytes("lots"), None);
        assert_eq!(bytes("-1k"), None);
    }

    #[test]
    fn files_are_parsed() {
        let stats = "typetype          compressed    uncompressed     average extent size\n\
lz4                    48.9G           71.2G                   62.5k\n";
        assert_eq!(table(stats), [("lz4", "48.9G", "71.2G")]);
        assert_eq!(
            errors("bset_bad_csum  2  1767112063\n").unwrap(),
            [("bset_bad_csum", 2)]
        );
        assert_eq!(
            counter("since mount:   3\nsince filesystem creation:     2.05G\n").unwrap(),
            2_201_170_739
        );
        assert_eq!(counter("since mount: 3\n").unwrap(), 0);
        assert!(counter("nonsense\n").is_err());
        let done = "read:\nsb          :       86016\nuser        :102313054208\nwrite:\nsb          :      645120\n";
        assert_eq!(
            io_done(done).unwrap(),
            [
                ("read", "sb", 86016),
                ("read", "user", 102_313_054_208),
                ("write", "sb", 645_120)
            ]
        );
        let errors = "IO errors since filesystem creation\n  read:    7\n  checksum:0\nIO errors since 8 y ago\n  read:    1\n";
        assert_eq!(io_errors(errors).unwrap(), [("read", 7), ("checksum", 0)]);
        assert!(io_done("read:\nsb: many\n").is_err());
    }
}
