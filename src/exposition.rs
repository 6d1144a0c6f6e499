//! Prometheus text, written one way for every kind and collector: metric
//! families are written as a sample is read ([`Families`]), each series
//! straight into one text buffer, never held as label vectors and value
//! strings first (a scrape writes thousands of series: built as values,
//! then encoded with prometheus-client, they cost 1.16× the user-space
//! instructions of this, docs/performance.md). The output is byte for
//! byte prometheus-client 0.26's text encoder's: a differential test below
//! holds it to that, with prometheus-client as a dev-dependency. The
//! `_total` rule is in one place ([`family_key`]); each module names its
//! metrics as constants.

use std::borrow::Cow;
use std::collections::HashSet;

/// The content type of the Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A family's type, as the text format names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    /// `name_info{…} 1`, typed gauge in text 0.0.4.
    Info,
    /// `untyped`: node_exporter's type for raw kernel fields.
    Unknown,
}

impl MetricType {
    /// What the format appends to a family's name.
    fn suffix(self) -> &'static str {
        match self {
            MetricType::Counter => "_total",
            MetricType::Info => "_info",
            MetricType::Gauge | MetricType::Unknown => "",
        }
    }

    fn type_line(self) -> &'static str {
        match self {
            MetricType::Counter => " counter\n",
            MetricType::Gauge | MetricType::Info => " gauge\n",
            MetricType::Unknown => " untyped\n",
        }
    }
}

/// One family's name, help and type, and where its text is: a run of the
/// shared text (its header and series, in the order families were
/// started), then its own overflow for series that came after a later
/// family had written (for [`Families::named`], whose series of one
/// family come in no order of families).
#[derive(Debug)]
struct Meta {
    name: Cow<'static, str>,
    help: Cow<'static, str>,
    kind: MetricType,
    start: usize,
    end: usize,
    overflow: String,
}

impl Meta {
    fn is_empty(&self) -> bool {
        self.start == self.end && self.overflow.is_empty()
    }
}

/// The scrape's text and the families' places in it, with the family
/// being written: [`Family::push`] and [`Family::value`] add its series.
#[derive(Debug, Default)]
pub struct Family {
    text: String,
    families: Vec<Meta>,
    index: usize,
}

impl Family {
    /// Adds one series.
    pub fn push<K, V>(&mut self, labels: impl IntoIterator<Item = (K, V)>, value: f64) -> &mut Self
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let Family {
            text,
            families,
            index,
        } = self;
        let at = (*index + 1).min(families.len());
        let (this, later) = families.split_at_mut(at);
        let Some(meta) = this.last_mut() else {
            return self;
        };
        let first = meta.is_empty();
        // A family not yet written may take the end of the text if no
        // family started after it has text there: the order of families
        // in the text stays the order they were started.
        if first && later.iter().all(|m| m.start == m.end) {
            meta.start = text.len();
            meta.end = text.len();
        }
        let contiguous = meta.end == text.len();
        let Meta {
            name,
            help,
            kind,
            end,
            overflow,
            ..
        } = meta;
        let out = if contiguous { &mut *text } else { overflow };
        let suffix = kind.suffix();
        if first {
            out.push_str("# HELP ");
            out.push_str(name);
            out.push_str(suffix);
            out.push(' ');
            escaped(out, help, |b| matches!(b, b'\\' | b'\n'));
            out.push_str("\n# TYPE ");
            out.push_str(name);
            out.push_str(suffix);
            out.push_str(kind.type_line());
        }
        out.push_str(name);
        out.push_str(suffix);
        let mut open = '{';
        for (k, v) in labels {
            out.push(open);
            open = ',';
            out.push_str(k.as_ref());
            out.push_str("=\"");
            escaped(out, v.as_ref(), |b| matches!(b, b'\\' | b'"' | b'\n'));
            out.push('"');
        }
        if open == ',' {
            out.push('}');
        }
        out.push(' ');
        if *kind == MetricType::Info {
            out.push('1');
        } else {
            write_value(out, value);
        }
        out.push('\n');
        if contiguous {
            *end = text.len();
        }
        self
    }

    /// Adds the one series of a family without labels.
    pub fn value(&mut self, value: f64) -> &mut Self {
        self.push(std::iter::empty::<(&str, &str)>(), value)
    }
}

/// A value as prometheus-client writes it: the shortest text that reads
/// back to the same float, `NaN`, `+Inf`, `-Inf`.
fn write_value(out: &mut String, value: f64) {
    if value.is_finite() {
        out.push_str(dtoa::Buffer::new().format_finite(value));
    } else if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_sign_positive() {
        out.push_str("+Inf");
    } else {
        out.push_str("-Inf");
    }
}

/// `s` with a backslash before each byte `special` picks (a newline as
/// `\n`).
fn escaped(out: &mut String, s: &str, special: impl Fn(u8) -> bool) {
    if !s.bytes().any(&special) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            c if c.is_ascii() && special(c as u8) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

/// Metric families in the order they were started, and text already in
/// the exposition format to follow them (the textfile collector's).
#[derive(Debug, Default)]
pub struct Families {
    writer: Family,
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
        let w = &mut self.writer;
        if w.text.capacity() == 0 {
            // Grown from nothing by doubling among the reads' own
            // allocations, the text left holes the heap kept (RssAnon
            // 1.08× after 300 scrapes); a page first, the text trimmed
            // at the end, it is the same as before.
            w.text.reserve(4096);
        }
        let at = w.text.len();
        w.families.push(Meta {
            name,
            help: help.into(),
            kind,
            start: at,
            end: at,
            overflow: String::new(),
        });
        w.index = w.families.len() - 1;
        w
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
        match self.writer.families.iter().position(|f| f.name == key) {
            Some(index) => {
                self.writer.index = index;
                &mut self.writer
            }
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
        K: AsRef<str>,
        V: AsRef<str>,
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
    pub fn encode(self) -> String {
        let Family {
            mut text, families, ..
        } = self.writer;
        if families.iter().any(|f| !f.overflow.is_empty()) {
            let mut out = String::with_capacity(
                text.len() + families.iter().map(|f| f.overflow.len()).sum::<usize>(),
            );
            for f in &families {
                out.push_str(text.get(f.start..f.end).unwrap_or_default());
                out.push_str(&f.overflow);
            }
            text = out;
        }
        text.push_str(&self.raw);
        text.shrink_to_fit();
        text
    }
}

/// Family names and help texts made from what the host's files say
/// (meminfo's keys, sockstat's fields): the same few dozen every scrape,
/// each made once and kept for the agent's life rather than formatted
/// twice a series per scrape. At most [`Interned::MAX`] are kept per
/// table; past that (a host whose files keep naming new fields) they are
/// made each time, as before.
#[derive(Debug, Default)]
pub struct Interned {
    table: std::sync::Mutex<Table>,
}

/// A key, and the name and help made for it.
type Table =
    std::collections::HashMap<Box<str>, (&'static str, &'static str), foldhash::fast::FixedState>;

impl Interned {
    /// How many names one table keeps.
    pub const MAX: usize = 1024;

    /// An empty table, for a `static`.
    pub const fn new() -> Self {
        Interned {
            table: std::sync::Mutex::new(Table::with_hasher(
                foldhash::fast::FixedState::with_seed(0),
            )),
        }
    }

    /// The name and help for `key`, made by `make` the first time.
    pub fn get(
        &self,
        key: &str,
        make: impl FnOnce() -> (String, String),
    ) -> (Cow<'static, str>, Cow<'static, str>) {
        let mut table = self
            .table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((name, help)) = table.get(key) {
            return (Cow::Borrowed(name), Cow::Borrowed(help));
        }
        let (name, help) = make();
        if table.len() >= Self::MAX {
            return (Cow::Owned(name), Cow::Owned(help));
        }
        // Leaked on purpose: kept for the agent's life, bounded by MAX.
        let kept: (&'static str, &'static str) = (
            Box::leak(name.into_boxed_str()),
            Box::leak(help.into_boxed_str()),
        );
        table.insert(key.into(), kept);
        (Cow::Borrowed(kept.0), Cow::Borrowed(kept.1))
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
pub fn without_served(text: &str, served: &Names<'_>) -> String {
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

/// A set of family names.
pub type Names<'a> = HashSet<&'a str, foldhash::fast::RandomState>;

/// The family names (`# TYPE` lines) of a Prometheus text.
pub fn family_names(text: &str) -> Names<'_> {
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

    /// prometheus-client 0.26's text encoder, fed what the families were
    /// given: the writer above must match it byte for byte.
    mod reference {
        use std::borrow::Cow;
        use std::fmt;

        use prometheus_client::collector::Collector;
        use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
        use prometheus_client::metrics::MetricType;
        use prometheus_client::registry::Registry;

        pub type Series = (Vec<(Cow<'static, str>, String)>, f64);

        #[derive(Debug)]
        pub struct Family {
            pub name: String,
            pub help: String,
            pub kind: MetricType,
            pub series: Vec<Series>,
        }

        #[derive(Debug)]
        pub struct All(pub Vec<Family>);

        impl Collector for All {
            fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
                for f in self.0.iter().filter(|f| !f.series.is_empty()) {
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

        pub fn encode(all: All) -> String {
            let mut registry = Registry::default();
            registry.register_collector(Box::new(all));
            let mut out = String::new();
            prometheus_client::encoding::prometheus_text::encode(&mut out, &registry).unwrap();
            out
        }
    }

    fn value() -> impl proptest::strategy::Strategy<Value = f64> {
        use proptest::prelude::*;
        prop_oneof![
            any::<f64>(),
            (0u64..1 << 40).prop_map(|v| v as f64),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
        ]
    }

    proptest::proptest! {
        /// Families started in any order, some empty, series added to
        /// earlier families by name after others were written, help and
        /// label values with every character the format escapes.
        #[test]
        fn the_text_is_prometheus_clients_byte_for_byte(
            plan in proptest::collection::vec(
                (
                    0usize..6,
                    0usize..4,
                    "[a-z\\\\\"\n é]{0,12}",
                    proptest::collection::vec(("[a-z_]{1,6}", "[a-z\\\\\"\n é.]{0,10}"), 0..3),
                    value(),
                    proptest::bool::weighted(0.3),
                ),
                0..40,
            )
        ) {
            use prometheus_client::metrics::MetricType as Theirs;
            let kinds = [
                (MetricType::Counter, Theirs::Counter),
                (MetricType::Gauge, Theirs::Gauge),
                (MetricType::Info, Theirs::Info),
                (MetricType::Unknown, Theirs::Unknown),
            ];
            let mut ours = Families::default();
            let mut theirs: Vec<reference::Family> = Vec::new();
            for (name, kind, help, labels, value, empty) in plan {
                let name = format!("family_{name}");
                let (kind, their_kind) = kinds[kind];
                let at = theirs.iter().position(|f| f.name == name);
                let i = match at {
                    Some(i) => i,
                    None => {
                        theirs.push(reference::Family {
                            name: name.clone(),
                            help: help.clone(),
                            kind: their_kind,
                            series: Vec::new(),
                        });
                        theirs.len() - 1
                    }
                };
                let family = if at.is_some() {
                    ours.named(&name, help, kind)
                } else {
                    ours.family(name, help, kind)
                };
                if empty {
                    // Started and left without series (for now): left
                    // out by both unless written later.
                    continue;
                }
                family.push(labels.iter().map(|(k, v)| (k, v)), value);
                theirs[i].series.push((
                    labels.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect(),
                    value,
                ));
            }
            proptest::prop_assert_eq!(ours.encode(), reference::encode(reference::All(theirs)));
        }
    }

    #[test]
    fn an_interned_name_is_made_once_and_a_full_table_makes_them_each_time() {
        let table = Interned::new();
        let made = std::cell::Cell::new(0);
        let make = |key: &str| {
            made.set(made.get() + 1);
            (format!("node_{key}"), format!("Help for {key}."))
        };
        let first = table.get("a", || make("a"));
        let again = table.get("a", || make("a"));
        assert_eq!(first, again);
        assert_eq!(first.0, "node_a");
        assert_eq!(made.get(), 1);
        for i in 1..Interned::MAX {
            table.get(&i.to_string(), || make("x"));
        }
        made.set(0);
        let past = table.get("past", || make("past"));
        assert!(matches!(past.0, Cow::Owned(_)), "{past:?}");
        table.get("past", || make("past"));
        assert_eq!(made.get(), 2);
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
