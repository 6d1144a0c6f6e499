//! Prometheus text, written one way for every kind and collector: metric
//! families built up as a sample is read ([`Families`]), then written with
//! the `prometheus-client` crate. The `_total` rule is in one place
//! ([`family_key`]); each module names its metrics as constants.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
pub use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// The content type of the Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Encodes a collector's series as Prometheus text.
fn encode(collector: impl Collector) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(collector));
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry) {
        tracing::warn!(error = %e, "Prometheus text could not be written");
    }
    out
}

/// One label set: the names are nearly always literals, borrowed rather
/// than copied (a scrape writes thousands of labels).
pub type Labels = Vec<(Cow<'static, str>, String)>;

/// One metric family: name, help, type and its series.
#[derive(Debug)]
pub struct Family {
    name: Cow<'static, str>,
    help: Cow<'static, str>,
    kind: MetricType,
    series: Vec<(Labels, f64)>,
}

impl Family {
    /// Adds one series.
    pub fn push<K, V>(&mut self, labels: impl IntoIterator<Item = (K, V)>, value: f64) -> &mut Self
    where
        K: Into<Cow<'static, str>>,
        V: Into<String>,
    {
        let labels = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.series.push((labels, value));
        self
    }

    /// Adds the one series of a family without labels.
    pub fn value(&mut self, value: f64) -> &mut Self {
        self.series.push((Vec::new(), value));
        self
    }
}

/// Metric families in the order they were added, and text already in the
/// exposition format to follow them (the textfile collector's).
#[derive(Debug, Default)]
pub struct Families {
    families: Vec<Family>,
    raw: String,
}

impl Families {
    /// Starts a family. A counter's `name` may end in `_total` or not:
    /// it is written with it either way ([`family_key`]).
    pub fn family(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
        kind: MetricType,
    ) -> &mut Family {
        let name = match name.into() {
            Cow::Borrowed(n) => Cow::Borrowed(family_key(n, kind)),
            Cow::Owned(n) if family_key(&n, kind).len() == n.len() => Cow::Owned(n),
            Cow::Owned(n) => Cow::Owned(family_key(&n, kind).to_owned()),
        };
        self.families.push(Family {
            name,
            help: help.into(),
            kind,
            series: Vec::new(),
        });
        let last = self.families.len() - 1;
        &mut self.families[last]
    }

    /// The family called `name`: the one already started, or a new one
    /// with `help` and `kind` (for collectors whose series of one family
    /// come from many files, in no order of families).
    pub fn named(
        &mut self,
        name: &str,
        help: impl Into<Cow<'static, str>>,
        kind: MetricType,
    ) -> &mut Family {
        let key = family_key(name, kind);
        match self.families.iter().position(|f| f.name == key) {
            Some(i) => &mut self.families[i],
            None => self.family(key.to_owned(), help, kind),
        }
    }

    /// Starts a gauge family.
    pub fn gauge_family(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
    ) -> &mut Family {
        self.family(name, help, MetricType::Gauge)
    }

    /// Starts a counter family.
    pub fn counter_family(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
    ) -> &mut Family {
        self.family(name, help, MetricType::Counter)
    }

    /// One gauge without labels.
    pub fn gauge(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
        value: f64,
    ) {
        self.gauge_family(name, help).value(value);
    }

    /// One counter without labels.
    pub fn counter(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
        value: f64,
    ) {
        self.counter_family(name, help).value(value);
    }

    /// An info family's one series: `name_info{labels} 1` (`name` without
    /// `_info`).
    pub fn info<K, V>(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: impl IntoIterator<Item = (K, V)>,
    ) where
        K: Into<Cow<'static, str>>,
        V: Into<String>,
    {
        self.family(name, help, MetricType::Info).push(labels, 1.0);
    }

    /// One untyped value without labels (node_exporter's type for raw
    /// kernel fields such as vmstat's and netstat's).
    pub fn untyped(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
        value: f64,
    ) {
        self.family(name, help, MetricType::Unknown).value(value);
    }

    /// Appends text already in the exposition format, checked by its
    /// reader.
    pub fn append_text(&mut self, text: String) {
        self.raw.push_str(&text);
    }

    /// The Prometheus text; families without series are left out.
    pub fn encode(mut self) -> String {
        let raw = std::mem::take(&mut self.raw);
        let mut out = encode(self);
        out.push_str(&raw);
        out
    }
}

impl Collector for Families {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        for f in self.families.iter().filter(|f| !f.series.is_empty()) {
            let mut metric = enc.encode_descriptor(&f.name, &f.help, None, f.kind)?;
            for (labels, value) in &f.series {
                match f.kind {
                    MetricType::Info => metric.encode_info(labels)?,
                    MetricType::Counter => metric
                        .encode_family(labels)?
                        .encode_counter::<NoLabelSet, f64, f64>(value, None)?,
                    _ => metric.encode_family(labels)?.encode_gauge(value)?,
                }
            }
        }
        Ok(())
    }
}

/// The one `_total` rule: a counter family is named without it here (the
/// encoder appends it, as the format wants), whether or not the caller's
/// name has it; other types are named as given.
pub fn family_key(name: &str, kind: MetricType) -> &str {
    match kind {
        MetricType::Counter => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    }
}

/// The families of `text` that `served` (the rest of the scrape's) does
/// not have, as node_exporter drops a textfile family another collector
/// already gave; each dropped one is logged. A counter counts as served
/// under its name with or without `_total`.
pub fn without_served(text: &str, served: &HashSet<&str>) -> String {
    let is_served = |name: &str| {
        served.contains(name)
            || name
                .strip_suffix("_total")
                .is_some_and(|n| served.contains(n))
            || served.contains(format!("{name}_total").as_str())
    };
    let mut out = String::with_capacity(text.len());
    let mut keep = true;
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or_default().trim_end();
            keep = !is_served(name);
            if !keep {
                tracing::warn!(metric = %name, "a textfile defines a family sonde serves itself; left out");
            }
        }
        if keep {
            out.push_str(line);
        }
    }
    out
}

/// The family names (`# TYPE` lines) of a Prometheus text.
pub fn family_names(text: &str) -> HashSet<&str> {
    memchr::memmem::find_iter(text.as_bytes(), b"# TYPE ")
        .filter(|&at| at == 0 || text.as_bytes().get(at - 1) == Some(&b'\n'))
        .filter_map(|at| text.get(at + 7..)?.split([' ', '\n']).next())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_counters_gauges_and_untyped_as_node_exporter_does() {
        let mut f = Families::default();
        f.counter("node_forks_total", "Total number of forks.", 3.0);
        f.gauge_family("node_arp_entries", "ARP entries by device")
            .push([("device", "eth0")], 2.0);
        f.untyped(
            "node_vmstat_pgfault",
            "/proc/vmstat information field pgfault.",
            7.0,
        );
        f.gauge_family("node_empty", "left out");
        f.counter("sonde_errors", "Counted without the suffix.", 1.0);
        f.info("sonde_build", "Version.", [("version", "1")]);
        let text = f.encode();
        assert!(text.contains("sonde_errors_total 1"), "{text}");
        assert!(text.contains("sonde_build_info{version=\"1\"} 1"), "{text}");
        assert!(
            text.contains("# TYPE node_forks_total counter\nnode_forks_total 3"),
            "{text}"
        );
        assert!(
            text.contains("node_arp_entries{device=\"eth0\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE node_vmstat_pgfault untyped\n"),
            "{text}"
        );
        assert!(!text.contains("node_empty"), "{text}");
    }

    #[test]
    fn families_served_elsewhere_are_dropped_counters_with_or_without_total() {
        let rest = "# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.5\n# TYPE node_cpu_seconds counter\n";
        let served = family_names(rest);
        assert!(served.contains("node_load1") && served.contains("node_cpu_seconds"));
        let files = "# HELP node_load1 x\n# TYPE node_load1 untyped\nnode_load1 9\n# HELP node_cpu_seconds_total y\n# TYPE node_cpu_seconds_total counter\nnode_cpu_seconds_total 1\n# HELP mine z\n# TYPE mine untyped\nmine 7\n";
        assert_eq!(
            without_served(files, &served),
            "# HELP mine z\n# TYPE mine untyped\nmine 7\n"
        );
    }
}
