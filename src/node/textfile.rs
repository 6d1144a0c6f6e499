//! `textfile`: series from the `*.prom` files of `--textfile-dir`, with
//! node_exporter's semantics: a file that does not parse (or carries
//! timestamps) is left out whole, logged, and turns
//! `node_textfile_scrape_error` to 1; the others and the rest of the scrape
//! are served; `node_textfile_mtime_seconds` says when each good file was
//! written. A family found in several files is written once.
//!
//! The parser is a small validating one written here: the crates that
//! read the text format are either unmaintained or parse into a model that
//! would have to be written back out, and all this needs is to check each
//! line and group the lines by family.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::UNIX_EPOCH;

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "textfile",
    read: Read::Files(read),
};

/// One family read from the files.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TextFamily {
    /// `# HELP` text, if a file gave one.
    pub help: Option<String>,
    /// `# TYPE`, `untyped` if none.
    pub kind: Option<String>,
    /// Sample lines, as (series key, the line).
    pub samples: Vec<(String, String)>,
    /// The files it came from.
    pub files: Vec<String>,
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    // Off unless a directory is given; node_exporter still serves the
    // error gauge then, so does this.
    let mut errored = false;
    let mut merged: BTreeMap<String, TextFamily> = BTreeMap::new();
    let mut mtimes: Vec<(String, f64)> = Vec::new();
    if let Some(dir) = &src.options.textfile_dir {
        match std::fs::read_dir(dir) {
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "textfile directory cannot be read");
                errored = true;
            }
            Ok(entries) => {
                let mut paths: Vec<_> = entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "prom"))
                    .collect();
                paths.sort();
                for path in paths {
                    match read_file(&path) {
                        Ok((families, mtime)) => {
                            let name = path.display().to_string();
                            if !merge(&mut merged, families, &name) {
                                errored = true;
                            }
                            mtimes.push((name, mtime));
                        }
                        Err(e) => {
                            tracing::warn!(file = %path.display(), error = %e, "textfile left out");
                            errored = true;
                        }
                    }
                }
            }
        }
    }
    let mut f = Families::default();
    let m = f.gauge_family("node_textfile_mtime_seconds", "Unixtime mtime of textfiles successfully read.");
    for (file, mtime) in &mtimes {
        m.push([("file", file.as_str())], *mtime);
    }
    f.gauge(
        "node_textfile_scrape_error",
        "1 if there was an error opening or reading a file, 0 otherwise",
        if errored { 1.0 } else { 0.0 },
    );
    f.append_text(write(&merged));
    Ok(Some(f))
}

/// Reads and checks one file: its families and its mtime.
fn read_file(path: &Path) -> Result<(BTreeMap<String, TextFamily>, f64), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let families = parse(&text)?;
    let mtime = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|e| e.to_string())?
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs() as f64);
    Ok((families, mtime))
}

/// Adds one file's families; false when a series was already there (it is
/// left out) or help texts disagree.
fn merge(into: &mut BTreeMap<String, TextFamily>, from: BTreeMap<String, TextFamily>, file: &str) -> bool {
    let mut clean = true;
    for (name, fam) in from {
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
        for (key, line) in fam.samples {
            if entry.samples.iter().any(|(k, _)| *k == key) {
                tracing::warn!(series = %key, file, "series given twice; the first is kept");
                clean = false;
                continue;
            }
            entry.samples.push((key, line));
        }
        entry.files.push(file.to_owned());
    }
    clean
}

/// The merged families as Prometheus text.
fn write(families: &BTreeMap<String, TextFamily>) -> String {
    let mut out = String::new();
    for (name, fam) in families.iter().filter(|(_, f)| !f.samples.is_empty()) {
        let help = fam
            .help
            .clone()
            .unwrap_or_else(|| format!("Metric read from {}", fam.files.join(", ")));
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {}", fam.kind.as_deref().unwrap_or("untyped"));
        for (_, line) in &fam.samples {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Parses and checks a file in the text format: families by name. An
/// error names the line.
pub fn parse(text: &str) -> Result<BTreeMap<String, TextFamily>, String> {
    let mut families: BTreeMap<String, TextFamily> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        let bad = |why: &str| format!("line {}: {why}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("HELP"), Some(name), help) => {
                    check_name(name).map_err(bad)?;
                    families.entry(name.to_owned()).or_default().help =
                        Some(help.unwrap_or("").to_owned());
                }
                (Some("TYPE"), Some(name), Some(kind)) => {
                    check_name(name).map_err(bad)?;
                    let kind = kind.trim();
                    if !matches!(kind, "counter" | "gauge" | "histogram" | "summary" | "untyped") {
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
        let family = family_of(&families, name);
        families
            .entry(family)
            .or_default()
            .samples
            .push((key, line.to_owned()));
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
        return Err(format!("not a number: {value:?}"));
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
        check_name(label).map_err(|_| format!("not a label name: {label:?}"))?;
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
        assert_eq!(f["backup_age_seconds"].help.as_deref(), Some("Age of the last backup."));
        assert_eq!(f["rt"].samples.len(), 4);
        assert_eq!(f["plain_value"].kind, None);
    }

    #[test]
    fn refuses_what_node_exporter_refuses() {
        assert!(parse("x 1 1700000000000\n").unwrap_err().contains("timestamps"));
        assert!(parse("x{a=\"1} 1\n").is_err());
        assert!(parse("9x 1\n").is_err());
        assert!(parse("x one\n").is_err());
        assert!(parse("# TYPE x colour\n").is_err());
    }

    #[test]
    fn merging_keeps_the_first_of_a_duplicate_and_says_so() {
        let mut into = BTreeMap::new();
        assert!(merge(&mut into, parse("a{x=\"1\"} 1\n").unwrap(), "one.prom"));
        assert!(!merge(&mut into, parse("a{x=\"1\"} 2\na{x=\"2\"} 3\n").unwrap(), "two.prom"));
        let text = write(&into);
        assert!(text.contains("# HELP a Metric read from one.prom, two.prom\n# TYPE a untyped\na{x=\"1\"} 1\na{x=\"2\"} 3\n"), "{text}");
    }
}
