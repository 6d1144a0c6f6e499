//! OpenMetrics 1.0 for the clients that ask for it (Prometheus 2 and 3
//! negotiate it by default; the OpenTelemetry collector and Alloy take
//! counters' start times from it), made from the Prometheus text the
//! kinds and collectors write ([`crate::exposition`]): one writer, two
//! formats.
//!
//! What differs: a counter family is named without `_total` (its samples
//! keep it) and has `_created` samples where its start is known and the
//! client takes them (`--openmetrics-created`: Prometheus itself would
//! store each as a series of its own); `untyped`
//! is `unknown`; a family whose name ends in a base unit says so in
//! `# UNIT`; a double quote in HELP is escaped; the text ends with `# EOF`.

/// The content type of OpenMetrics text 1.0.0.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The format a client asked for in its `Accept` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text 0.0.4 (also what a client that says nothing gets).
    Text,
    /// OpenMetrics text 1.0.0 (0.0.1 asked for is served as 1.0.0, its
    /// successor: Prometheus accepts either).
    OpenMetrics,
}

/// The format `accept` prefers among those served: the highest `q`, text
/// on a tie or where none is acceptable (node_exporter's fallback too).
pub fn negotiate(accept: Option<&str>) -> Format {
    let mut best = (0.0_f64, Format::Text);
    for range in accept.unwrap_or_default().split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut q = 1.0;
        let mut version = None;
        for p in parts {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            match k.trim().to_ascii_lowercase().as_str() {
                "q" => q = v.trim().parse().unwrap_or(0.0),
                "version" => version = Some(v.trim().to_owned()),
                _ => {}
            }
        }
        let format = match (media.as_str(), version.as_deref()) {
            ("application/openmetrics-text", None | Some("1.0.0" | "0.0.1")) => Format::OpenMetrics,
            ("text/plain", None | Some("0.0.4" | "1.0.0")) | ("text/*" | "*/*", _) => Format::Text,
            _ => continue,
        };
        if q > best.0 {
            best = (q, format);
        }
    }
    best.1
}

/// When counters started, Unix seconds: the kernel's at boot, sonde's own
/// at its start. A family of neither (a textfile's) has no `_created`.
#[derive(Debug, Clone, Copy)]
pub struct Starts {
    /// Boot time, for `node_*` counters (the kernel's, counting since
    /// boot); `None` where unknown.
    pub boot: Option<f64>,
    /// sonde's start, for `sonde_*` and `process_*` counters.
    pub agent: f64,
}

/// Base units a family name may end in (OpenMetrics' `# UNIT`).
const UNITS: &[&str] = &[
    "seconds", "bytes", "celsius", "joules", "volts", "amperes", "watts", "hertz", "ratio",
    "meters", "grams",
];

/// The family a sample line belongs to while converting.
struct Current<'t, 'c> {
    /// The name on its `# TYPE` line as written in Prometheus text.
    name: &'t str,
    /// Its start time, written, where its samples take `_created`.
    created: Option<&'c str>,
}

/// `text` (Prometheus text 0.0.4, one family's lines together, as the
/// exposition writes it) as OpenMetrics 1.0; counters take `_created`
/// where `starts` is given and knows theirs.
pub fn convert(text: &str, starts: Option<Starts>) -> String {
    // Each start written once, not once a sample.
    let written = starts.map(|s| (s.boot.map(|b| b.to_string()), s.agent.to_string()));
    let start_of = |family: &str| -> Option<&str> {
        let (boot, agent) = written.as_ref()?;
        if family.starts_with("node_") {
            boot.as_deref()
        } else if family.starts_with("sonde_") || family.starts_with("process_") {
            Some(agent.as_str())
        } else {
            None
        }
    };
    let mut out = String::with_capacity(text.len() + text.len() / 3);
    let mut help: Option<&str> = None;
    let mut current: Option<Current<'_, '_>> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            flush_help(&mut out, help.take());
            help = Some(rest);
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            current = Some(family(&mut out, help.take(), name, kind.trim(), &start_of));
        } else if line.starts_with('#') || line.is_empty() {
            // Comments other than HELP and TYPE have no place in
            // OpenMetrics.
        } else {
            flush_help(&mut out, help.take());
            out.push_str(line);
            out.push('\n');
            if let Some(Current {
                name,
                created: Some(at),
            }) = current
                && let Some((labels, _)) = sample(line, name)
            {
                out.push_str(name.strip_suffix("_total").unwrap_or(name));
                out.push_str("_created");
                out.push_str(labels);
                out.push(' ');
                out.push_str(at);
                out.push('\n');
            }
        }
    }
    flush_help(&mut out, help);
    out.push_str("# EOF\n");
    out
}

/// Writes a family's HELP, TYPE and UNIT lines; what its samples take.
fn family<'t, 'c>(
    out: &mut String,
    help: Option<&str>,
    name: &'t str,
    kind: &str,
    start_of: &dyn Fn(&str) -> Option<&'c str>,
) -> Current<'t, 'c> {
    let (family, kind, created) = match kind {
        "counter" => match name.strip_suffix("_total") {
            Some(base) => (base, "counter", start_of(name)),
            // A counter whose samples lack `_total` (a textfile's) is no
            // OpenMetrics counter: served as what it is, unknown.
            None => (name, "unknown", None),
        },
        "untyped" => (name, "unknown", None),
        other => (name, other, None),
    };
    if let Some(help) = help {
        let text = help
            .split_once(' ')
            .map_or("", |(_, text)| text)
            .trim_start();
        write_help(out, family, text);
    }
    for part in ["# TYPE ", family, " ", kind, "\n"] {
        out.push_str(part);
    }
    if matches!(kind, "counter" | "gauge")
        && let Some(unit) = UNITS
            .iter()
            .find(|u| family.strip_suffix(**u).is_some_and(|f| f.ends_with('_')))
    {
        for part in ["# UNIT ", family, " ", unit, "\n"] {
            out.push_str(part);
        }
    }
    Current { name, created }
}

/// A HELP line left without its TYPE line (Prometheus text allows it;
/// OpenMetrics takes it as an unknown family's).
fn flush_help(out: &mut String, help: Option<&str>) {
    if let Some(help) = help {
        let (name, text) = help.split_once(' ').unwrap_or((help, ""));
        write_help(out, name, text);
    }
}

/// `# HELP name text`, the text escaped as OpenMetrics wants: Prometheus
/// text already escapes backslashes and newlines; OpenMetrics escapes
/// double quotes too.
fn write_help(out: &mut String, name: &str, help: &str) {
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    let mut chars = help.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('\n');
}

/// A sample line of family `name`: its label set (with the braces, empty
/// where it has none) and its value, or `None` where the line's metric is
/// not `name` itself.
fn sample<'l>(line: &'l str, name: &str) -> Option<(&'l str, &'l str)> {
    let rest = line.strip_prefix(name)?;
    if let Some(labels) = rest.strip_prefix('{') {
        // Bytes: the delimiters are ASCII, and a byte of a multi-byte
        // character is never one of them.
        let mut quoted = false;
        let mut escaped = false;
        for (i, b) in labels.bytes().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quoted = !quoted,
                b'}' if !quoted => {
                    let end = name.len() + 1 + i + 1;
                    return Some((line.get(name.len()..end)?, line.get(end..)?.trim()));
                }
                _ => {}
            }
        }
        None
    } else {
        rest.starts_with(' ').then(|| ("", rest.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STARTS: Starts = Starts {
        boot: Some(1_700_000_000.0),
        agent: 1_700_000_500.5,
    };

    #[test]
    fn counters_lose_total_on_the_family_and_gain_their_start() {
        let text = "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n\
# TYPE node_cpu_seconds_total counter\n\
node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 10.5\n\
# HELP sonde_auth_failures_total Wrong \"tokens\".\n\
# TYPE sonde_auth_failures_total counter\n\
sonde_auth_failures_total 3\n";
        assert_eq!(
            convert(text, Some(STARTS)),
            "# HELP node_cpu_seconds Seconds the CPUs spent in each mode.\n\
# TYPE node_cpu_seconds counter\n\
# UNIT node_cpu_seconds seconds\n\
node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 10.5\n\
node_cpu_seconds_created{cpu=\"0\",mode=\"user\"} 1700000000\n\
# HELP sonde_auth_failures Wrong \\\"tokens\\\".\n\
# TYPE sonde_auth_failures counter\n\
sonde_auth_failures_total 3\n\
sonde_auth_failures_created 1700000500.5\n\
# EOF\n"
        );
    }

    #[test]
    fn untyped_is_unknown_and_a_counter_without_total_is_not_a_counter() {
        let text = "# HELP node_vmstat_pgpgin /proc/vmstat information field pgpgin.\n\
# TYPE node_vmstat_pgpgin untyped\n\
node_vmstat_pgpgin 5\n\
# TYPE job_runs counter\n\
job_runs{job=\"a}b\"} 2\n\
# HELP orphan A help without a type.\n";
        assert_eq!(
            convert(text, Some(STARTS)),
            "# HELP node_vmstat_pgpgin /proc/vmstat information field pgpgin.\n\
# TYPE node_vmstat_pgpgin unknown\n\
node_vmstat_pgpgin 5\n\
# TYPE job_runs unknown\n\
job_runs{job=\"a}b\"} 2\n\
# HELP orphan A help without a type.\n\
# EOF\n"
        );
    }

    #[test]
    fn a_textfile_counter_has_no_start_and_labels_with_braces_are_kept_whole() {
        let text = "# TYPE backup_bytes_total counter\n\
backup_bytes_total{path=\"/a}{\\\"b\"} 7\n";
        assert_eq!(
            convert(text, Some(STARTS)),
            "# TYPE backup_bytes counter\n# UNIT backup_bytes bytes\nbackup_bytes_total{path=\"/a}{\\\"b\"} 7\n# EOF\n"
        );
        let starts = Starts {
            boot: None,
            ..STARTS
        };
        let text = "# TYPE node_intr_total counter\nnode_intr_total 1\n";
        assert!(!convert(text, Some(starts)).contains("_created"));
        let text = "# TYPE node_intr_total counter\nnode_intr_total 1\n";
        assert!(!convert(text, None).contains("_created"), "not asked for");
    }

    #[test]
    fn the_preferred_format_is_negotiated() {
        let prometheus_2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
        let protobuf_first = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4";
        for accept in [prometheus_2, prometheus_3, protobuf_first] {
            assert_eq!(negotiate(Some(accept)), Format::OpenMetrics, "{accept}");
        }
        for accept in [
            None,
            Some(""),
            Some("*/*"),
            Some("text/plain"),
            Some("application/json"),
            Some("application/openmetrics-text;version=2.0.0"),
            Some("text/plain;version=0.0.4,application/openmetrics-text;q=0.5"),
            Some("application/openmetrics-text;q=0"),
        ] {
            assert_eq!(negotiate(accept), Format::Text, "{accept:?}");
        }
    }
}
