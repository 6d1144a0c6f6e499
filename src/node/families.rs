//! A collector's output: metric families built up as a file is parsed, then
//! written as Prometheus text with the `prometheus-client` crate.

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;

use crate::server::exposition::{encode, family};

/// One label set.
pub type Labels = Vec<(String, String)>;

/// One metric family: name, help, type and its series.
#[derive(Debug)]
pub struct Family {
    name: String,
    help: String,
    kind: MetricType,
    series: Vec<(Labels, f64)>,
}

impl Family {
    /// Adds one series.
    pub fn push<K, V>(&mut self, labels: impl IntoIterator<Item = (K, V)>, value: f64) -> &mut Self
    where
        K: Into<String>,
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
    /// Starts a family. A counter's `name` may end in `_total`: the
    /// encoder appends it, so it is taken off here.
    pub fn family(
        &mut self,
        name: impl Into<String>,
        help: impl Into<String>,
        kind: MetricType,
    ) -> &mut Family {
        let mut name: String = name.into();
        if matches!(kind, MetricType::Counter) && name.ends_with("_total") {
            name.truncate(name.len() - "_total".len());
        }
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
    pub fn named(&mut self, name: &str, help: impl Into<String>, kind: MetricType) -> &mut Family {
        let key = match kind {
            MetricType::Counter => name.strip_suffix("_total").unwrap_or(name),
            _ => name,
        };
        match self.families.iter().position(|f| f.name == key) {
            Some(i) => &mut self.families[i],
            None => self.family(name, help, kind),
        }
    }

    /// Starts a gauge family.
    pub fn gauge_family(
        &mut self,
        name: impl Into<String>,
        help: impl Into<String>,
    ) -> &mut Family {
        self.family(name, help, MetricType::Gauge)
    }

    /// Starts a counter family.
    pub fn counter_family(
        &mut self,
        name: impl Into<String>,
        help: impl Into<String>,
    ) -> &mut Family {
        self.family(name, help, MetricType::Counter)
    }

    /// One gauge without labels.
    pub fn gauge(&mut self, name: impl Into<String>, help: impl Into<String>, value: f64) {
        self.gauge_family(name, help).value(value);
    }

    /// One counter without labels.
    pub fn counter(&mut self, name: impl Into<String>, help: impl Into<String>, value: f64) {
        self.counter_family(name, help).value(value);
    }

    /// One untyped value without labels (node_exporter's type for raw
    /// kernel fields such as vmstat's and netstat's).
    pub fn untyped(&mut self, name: impl Into<String>, help: impl Into<String>, value: f64) {
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
            family(
                &mut enc,
                &f.name,
                &f.help,
                f.kind,
                f.series.iter().map(|(l, v)| (l.clone(), *v)),
            )?;
        }
        Ok(())
    }
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
        let text = f.encode();
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
}
