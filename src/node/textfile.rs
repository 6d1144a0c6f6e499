//! `textfile`: series from the `*.prom` files of `--textfile-dir`, with
//! node_exporter's semantics: a file that does not parse (or carries
//! timestamps, or a HELP text with an escape other than `\\` and `\n`) is
//! left out whole, logged, and turns `node_textfile_scrape_error` to 1; the
//! others and the rest of the scrape are served;
//! `node_textfile_mtime_seconds` says when each good file was written. A
//! family found in several files is written once; a family sonde serves
//! itself is dropped from the files, logged ([`crate::exposition::without_served`]).
//!
//! The directory is the operator's, and whatever lands in it must not take
//! a surface down:
//! - only regular files are read: each is opened non-blocking and checked
//!   before a byte is read, so a FIFO, socket or device named `*.prom`
//!   is an error, never a read that blocks;
//! - the reading runs on its own blocking thread under [`READ_DEADLINE`]:
//!   files not read by then are left out (an error), and the scrape goes
//!   on without waiting; at most one reading of a directory is in flight,
//!   so a stuck filesystem holds one thread, not one per scrape;
//! - at most [`READ_BYTES_MAX`] bytes are read a scrape, all files together:
//!   a file that would go past it is left out (an error);
//! - series are checked for duplicates in a set (linear in series);
//! - logs name the file and the line number, never the line: a symlink to
//!   a secret puts no secret in the journal;
//! - after a large directory is read, the allocator gives the memory back.
//!
//! The parser is a small validating one written here: the crates that
//! read the text format are either unmaintained or parse into a model that
//! would have to be written back out, and all this needs is to check each
//! line and group the lines by family.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "textfile",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

/// How long one reading of the directory may take: files not read by then
/// are left out, and the scrape is answered without them.
pub const READ_DEADLINE: Duration = Duration::from_secs(5);

/// Bytes one reading takes from all the files together: a file that would
/// go past it is left out (an error), so a huge file (or one that keeps
/// growing) costs a bounded amount of memory, not its size many times over.
pub const READ_BYTES_MAX: usize = 16 << 20;

/// Files read in all above which the allocator is asked to give memory
/// back once they are gone.
const TRIM_ABOVE_BYTES: usize = 1 << 20;

/// The families this collector writes itself, which no file may define.
const OWN_FAMILIES: [&str; 2] = ["node_textfile_mtime_seconds", "node_textfile_scrape_error"];

/// Whether the last reading (of any directory) read over
/// [`TRIM_ABOVE_BYTES`].
static LAST_LARGE: AtomicBool = AtomicBool::new(false);

/// The directories being read now.
static IN_FLIGHT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// One family read from the files.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TextFamily {
    /// `# HELP` text as the file escapes it, if a file gave one.
    pub help: Option<String>,
    /// `# TYPE`, `untyped` if none.
    pub kind: Option<String>,
    /// Sample lines.
    pub samples: Vec<String>,
    /// As parsed from one file: each sample's series key (name and sorted
    /// labels), in `samples`' order; moved into [`Merged`]'s set when merged.
    keys: Vec<String>,
    /// The files it came from.
    pub files: Vec<String>,
}

/// The files' families merged, and every series key given so far (one set
/// for all families: a key names its sample, so it is unique across them).
#[derive(Debug, Default)]
struct Merged {
    families: BTreeMap<String, TextFamily>,
    seen: HashSet<String>,
}

/// What one reading of the directory found.
#[derive(Debug, Default)]
struct Reading {
    merged: Merged,
    mtimes: Vec<(String, f64)>,
    errored: bool,
    /// Bytes read from the files.
    bytes: usize,
}

impl Reading {
    /// A reading that could not be made: no files, and the error gauge at 1.
    fn failed() -> Reading {
        Reading {
            errored: true,
            ..Reading::default()
        }
    }
}

/// A directory's reading in flight; it ends when this is dropped.
struct InFlight(PathBuf);

impl InFlight {
    fn start(dir: &Path) -> Option<InFlight> {
        let mut dirs = crate::collect::lock(&IN_FLIGHT);
        if dirs.iter().any(|d| d == dir) {
            return None;
        }
        dirs.push(dir.to_path_buf());
        Some(InFlight(dir.to_path_buf()))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        crate::collect::lock(&IN_FLIGHT).retain(|d| *d != self.0);
    }
}

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    // Off unless a directory is given; node_exporter still serves the
    // error gauge then, so does this.
    let Some(dir) = scrape.state.config.exporter.textfile_dir.clone() else {
        return Ok(Some(families(Reading::default())));
    };
    let Some(in_flight) = InFlight::start(&dir) else {
        tracing::warn!(dir = %dir.display(), "textfile directory: the previous reading has not finished; left out of this scrape");
        return Ok(Some(families(Reading::failed())));
    };
    // The families are made on the thread too: the reading is dropped
    // there, and then the allocator can be asked to give its memory back
    // (also on the reading after a large one, once that one's text has
    // been replaced), all off the async workers.
    let made = tokio::task::spawn_blocking(move || {
        let reading = read_dir(&dir);
        drop(in_flight);
        let large = reading.bytes > TRIM_ABOVE_BYTES;
        let f = families(reading);
        if large | LAST_LARGE.swap(large, Ordering::Relaxed) {
            crate::give_memory_back();
        }
        f
    });
    match tokio::time::timeout(READ_DEADLINE + Duration::from_secs(1), made).await {
        Ok(Ok(f)) => Ok(Some(f)),
        Ok(Err(e)) => Err(CollectError::Aborted(e.to_string())),
        Err(_) => {
            tracing::warn!(
                "textfile directory: a file is still being read after {} s; left out of this scrape",
                READ_DEADLINE.as_secs()
            );
            Ok(Some(families(Reading::failed())))
        }
    }
}

/// The collector's families for `reading`.
fn families(reading: Reading) -> Families {
    let mut f = Families::default();
    let m = f.gauge_family(
        OWN_FAMILIES[0],
        "Unixtime mtime of textfiles successfully read.",
    );
    for (file, mtime) in &reading.mtimes {
        m.push([("file", file.as_str())], *mtime);
    }
    f.gauge(
        OWN_FAMILIES[1],
        "1 if there was an error opening or reading a file, 0 otherwise",
        if reading.errored { 1.0 } else { 0.0 },
    );
    f.append_text(write(&reading.merged.families));
    f
}

/// Reads the directory's `*.prom` files in name order until the deadline.
fn read_dir(dir: &Path) -> Reading {
    let started = Instant::now();
    let mut reading = Reading::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "textfile directory cannot be read");
            reading.errored = true;
            return reading;
        }
    };
    let mut paths: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "prom"))
        .collect();
    paths.sort();
    for (i, path) in paths.iter().enumerate() {
        if started.elapsed() > READ_DEADLINE {
            tracing::warn!(dir = %dir.display(), left_out = paths.len() - i, "textfile directory: reading took over {} s; the remaining files are left out", READ_DEADLINE.as_secs());
            reading.errored = true;
            break;
        }
        match read_file(path, READ_BYTES_MAX.saturating_sub(reading.bytes)) {
            Ok((families, mtime, size)) => {
                reading.bytes = reading.bytes.saturating_add(size);
                let name = path.display().to_string();
                if !reading.merged.merge(families, &name) {
                    reading.errored = true;
                }
                reading.mtimes.push((name, mtime));
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "textfile left out");
                reading.errored = true;
            }
        }
    }
    reading
}

/// Reads and checks one regular file of at most `budget` bytes: its
/// families, its mtime and its size. Opened non-blocking and checked before
/// it is read: a FIFO (which would block in `open` until a writer came), a
/// socket or a device is refused.
fn read_file(
    path: &Path,
    budget: usize,
) -> Result<(BTreeMap<String, TextFamily>, f64, usize), String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.file_type().is_file() {
        return Err("not a regular file (a FIFO, socket or device is never read)".to_owned());
    }
    let mut text = String::new();
    let limit = u64::try_from(budget).unwrap_or(u64::MAX).saturating_add(1);
    file.take(limit)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() > budget {
        return Err(format!(
            "over the {} MiB the textfile collector reads per scrape",
            READ_BYTES_MAX >> 20
        ));
    }
    let families = parse(&text)?;
    let mtime = meta
        .modified()
        .map_err(|e| e.to_string())?
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs() as f64);
    Ok((families, mtime, text.len()))
}

impl Merged {
    /// Adds one file's families; false when a series was already there (it is
    /// left out), help texts disagree, or the file defines one of this
    /// collector's own families (left out).
    fn merge(&mut self, from: BTreeMap<String, TextFamily>, file: &str) -> bool {
        let into = &mut self.families;
        let mut clean = true;
        for (name, fam) in from {
            if OWN_FAMILIES.contains(&name.as_str()) {
                tracing::warn!(metric = %name, file, "a textfile defines one of the collector's own families; left out");
                clean = false;
                continue;
            }
            let entry = into.entry(name.clone()).or_default();
            match (&entry.help, &fam.help) {
                (Some(a), Some(b)) if a != b => {
                    tracing::warn!(metric = %name, file, "inconsistent help text; the first is kept");
                    clean = false;
                }
                (None, Some(b)) => entry.help = Some(b.clone()),
                _ => {}
            }
            if entry.kind.is_none() {
                entry.kind = fam.kind;
            }
            let mut duplicates = 0usize;
            for (key, line) in fam.keys.into_iter().zip(fam.samples) {
                if self.seen.insert(key) {
                    entry.samples.push(line);
                } else {
                    duplicates += 1;
                }
            }
            if duplicates > 0 {
                tracing::warn!(metric = %name, file, duplicates, "series given twice; the first of each is kept");
                clean = false;
            }
            entry.files.push(file.to_owned());
        }
        clean
    }
}

/// `text` escaped for a HELP line, as the text format escapes it
/// (backslash and newline).
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// The merged families as Prometheus text.
fn write(families: &BTreeMap<String, TextFamily>) -> String {
    let mut out = String::new();
    for (name, fam) in families.iter().filter(|(_, f)| !f.samples.is_empty()) {
        let help = fam
            .help
            .clone()
            .unwrap_or_else(|| escape_help(&format!("Metric read from {}", fam.files.join(", "))));
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(
            out,
            "# TYPE {name} {}",
            fam.kind.as_deref().unwrap_or("untyped")
        );
        for line in &fam.samples {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Parses and checks a file in the text format: families by name. An
/// error names the line by its number and says what is wrong with it,
/// never quoting it (the file may not be what it claims to be).
pub fn parse(text: &str) -> Result<BTreeMap<String, TextFamily>, String> {
    let mut families: BTreeMap<String, TextFamily> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        let bad = |why: &str| format!("line {}: {why}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("HELP"), Some(name), help) => {
                    check_name(name).map_err(bad)?;
                    check_help_escapes(help.unwrap_or("")).map_err(bad)?;
                    families.entry(name.to_owned()).or_default().help =
                        Some(help.unwrap_or("").to_owned());
                }
                (Some("TYPE"), Some(name), Some(kind)) => {
                    check_name(name).map_err(bad)?;
                    let kind = kind.trim();
                    if !matches!(
                        kind,
                        "counter" | "gauge" | "histogram" | "summary" | "untyped"
                    ) {
                        return Err(bad("unknown type"));
                    }
                    let fam = families.entry(name.to_owned()).or_default();
                    if !fam.samples.is_empty() {
                        return Err(bad("TYPE after the family's samples"));
                    }
                    fam.kind = Some(kind.to_owned());
                }
                _ => {}
            }
            continue;
        }
        let (name, key) = parse_sample(line).map_err(|e| bad(&e))?;
        let family = families.entry(family_of(&families, name)).or_default();
        family.samples.push(line.to_owned());
        family.keys.push(key);
    }
    Ok(families)
}

/// The family a sample belongs to: a histogram's or summary's `_bucket`,
/// `_sum` and `_count` go with it.
fn family_of(families: &BTreeMap<String, TextFamily>, name: &str) -> String {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && families
                .get(base)
                .and_then(|f| f.kind.as_deref())
                .is_some_and(|k| k == "histogram" || k == "summary")
        {
            return base.to_owned();
        }
    }
    name.to_owned()
}

/// A HELP text may escape only a backslash and a newline (`\\` and `\n`),
/// as the text format's parser requires.
fn check_help_escapes(help: &str) -> Result<(), &'static str> {
    let mut chars = help.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
            return Err("an invalid escape in HELP (only \\\\ and \\n)");
        }
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), &'static str> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        Ok(())
    } else {
        Err("not a metric name")
    }
}

/// Checks `name{labels} value`: the name, and the series key (name and
/// labels, sorted) that tells duplicates apart. A timestamp is refused,
/// as node_exporter refuses it.
fn parse_sample(line: &str) -> Result<(&str, String), String> {
    let end = line
        .find(|c: char| c == '{' || c.is_ascii_whitespace())
        .ok_or("no value")?;
    let name = &line[..end];
    check_name(name)?;
    let mut rest = &line[end..];
    let mut labels: Vec<(String, String)> = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, tail) = parse_labels(after)?;
        labels = parsed;
        rest = tail;
    }
    let mut words = rest.split_ascii_whitespace();
    let value = words.next().ok_or("no value")?;
    if !matches!(value, "NaN" | "+Inf" | "-Inf" | "Inf") && value.parse::<f64>().is_err() {
        return Err("the value is not a number".to_owned());
    }
    if words.next().is_some() {
        return Err("client-side timestamps are not supported".to_owned());
    }
    labels.sort();
    let key = labels
        .iter()
        .fold(name.to_owned(), |k, (l, v)| format!("{k},{l}={v:?}"));
    Ok((name, key))
}

/// Label pairs, and the text after them.
type LabelsAndRest<'a> = (Vec<(String, String)>, &'a str);

/// `a="x",b="y"}` → the pairs and what follows the `}`.
fn parse_labels(mut s: &str) -> Result<LabelsAndRest<'_>, String> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start();
        if let Some(tail) = s.strip_prefix('}') {
            return Ok((out, tail));
        }
        let eq = s.find('=').ok_or("a label without '='")?;
        let label = s[..eq].trim();
        check_name(label).map_err(|_| "not a label name".to_owned())?;
        s = s[eq + 1..].trim_start();
        s = s.strip_prefix('"').ok_or("a label value without quotes")?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let close = loop {
            match chars.next() {
                None => return Err("an unterminated label value".to_owned()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    _ => return Err("a bad escape in a label value".to_owned()),
                },
                Some((_, c)) => value.push(c),
            }
        };
        out.push((label.to_owned(), value));
        s = s[close + 1..].trim_start();
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_families_and_groups_histogram_samples() {
        let text = r#"# HELP backup_age_seconds Age of the last backup.
# TYPE backup_age_seconds gauge
backup_age_seconds{job="db",host="a b"} 3600
backup_age_seconds{job="web"} 7.5e3
# TYPE rt histogram
rt_bucket{le="0.1"} 1
rt_bucket{le="+Inf"} 2
rt_sum 0.3
rt_count 2
plain_value NaN
"#;
        let f = parse(text).unwrap();
        assert_eq!(f["backup_age_seconds"].samples.len(), 2);
        assert_eq!(
            f["backup_age_seconds"].help.as_deref(),
            Some("Age of the last backup.")
        );
        assert_eq!(f["rt"].samples.len(), 4);
        assert_eq!(f["plain_value"].kind, None);
    }

    #[test]
    fn refuses_what_node_exporter_refuses() {
        assert!(
            parse("x 1 1700000000000\n")
                .unwrap_err()
                .contains("timestamps")
        );
        assert!(parse("x{a=\"1} 1\n").is_err());
        assert!(parse("9x 1\n").is_err());
        assert!(parse("x one\n").is_err());
        assert!(parse("# TYPE x colour\n").is_err());
    }

    #[test]
    fn merging_keeps_the_first_of_a_duplicate_and_says_so() {
        let mut into = Merged::default();
        assert!(into.merge(parse("a{x=\"1\"} 1\n").unwrap(), "one.prom"));
        assert!(!into.merge(parse("a{x=\"1\"} 2\na{x=\"2\"} 3\n").unwrap(), "two.prom"));
        let text = write(&into.families);
        assert!(text.contains("# HELP a Metric read from one.prom, two.prom\n# TYPE a untyped\na{x=\"1\"} 1\na{x=\"2\"} 3\n"), "{text}");
    }

    /// A file that failed to parse had its first line quoted in the log: a
    /// symlink to `/etc/shadow` put root's hash line in the journal.
    #[test]
    fn regression_a_parse_error_quoted_the_file_s_content() {
        let shadow = "root:$6$saltsalt$secrethashsecrethash:19000:0:99999:7:::\n";
        let e = parse(shadow).unwrap_err();
        assert!(!e.contains("secret") && !e.contains("root"), "{e}");
        assert!(e.starts_with("line 1: "), "{e}");
        for bad in ["x{a=\"1\"} secretvalue\n", "x{secret-label=\"1\"} 1\n"] {
            let e = parse(bad).unwrap_err();
            assert!(!e.contains("secret"), "{e}");
        }
    }

    #[test]
    fn help_escapes_other_than_backslash_and_newline_are_refused() {
        assert!(parse("# HELP a one\\\\two\\nthree\na 1\n").is_ok());
        assert!(
            parse("# HELP a a \\q escape\na 1\n")
                .unwrap_err()
                .contains("escape")
        );
        assert!(parse("# HELP a trailing \\\na 1\n").is_err());
    }

    #[test]
    fn the_collector_s_own_families_are_not_taken_from_a_file() {
        let mut into = Merged::default();
        assert!(!into.merge(
            parse("node_textfile_scrape_error 0\nmine 1\n").unwrap(),
            "f.prom"
        ));
        assert!(!into.families.contains_key("node_textfile_scrape_error"));
        assert!(into.families.contains_key("mine"));
    }

    #[test]
    fn a_default_help_escapes_the_file_name() {
        let mut into = Merged::default();
        into.merge(parse("a 1\n").unwrap(), "/d/x\ninjected 1 \\ .prom");
        let text = write(&into.families);
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            text.starts_with("# HELP a Metric read from /d/x\\ninjected 1 \\\\ .prom\n"),
            "{text}"
        );
    }
}
