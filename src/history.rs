//! The history of the charted kinds: the samples sonde takes anyway while
//! someone asks, kept for a window and handed to the next client, so a page
//! opened now shows the last minutes.
//!
//! - Nothing is sampled for it: a kind's cache gives each new sample to a
//!   [`Recorder`] (see [`crate::cache::Record`]), which keeps the numbers the
//!   charts draw (columns of `f64`), not the sample.
//! - Rows older than the window are dropped as rows come. When no row has
//!   come for a whole window, one timer drops everything and ends: an agent
//!   nobody asks holds no history and does no work.
//! - Memory is bounded by `--history-max-mib`: past it, a kind's oldest rows
//!   go first (its window shortens; nothing fails).
//!
//! The reply is columnar: the timestamps (Unix ms, the samples' own), then
//! one array per series, `null` where a sample lacked it.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::cache::{Record, Sample};
use crate::collect::clock::unix_millis;

/// What a sample gives its kind's history: one value per series.
#[derive(Debug, Default)]
pub struct Row<'a> {
    /// When the sample was taken, Unix ms; the sample's own time unless the
    /// kind names another (the metrics reply's `sampled_at_ms`).
    at_ms: Option<u64>,
    /// The series' values, in the kind's usual order.
    cells: Vec<(&'static str, Of<'a>, f64)>,
}

/// Which one of a field's series: the host's, a numbered one (a core), or
/// a named one (an interface, a disk, a container).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Of<'a> {
    /// The host's one.
    Host,
    /// By number.
    Index(u32),
    /// By name.
    Name(Cow<'a, str>),
}

impl<'a> Row<'a> {
    /// The row's time, when it is not the sample's.
    pub fn at(&mut self, ms: u64) {
        self.at_ms = Some(ms);
    }

    /// A host-wide value; `None` is kept as a gap.
    pub fn put(&mut self, field: &'static str, value: Option<f64>) {
        self.cells
            .push((field, Of::Host, value.unwrap_or(f64::NAN)));
    }

    /// The value of series `of` of `field`.
    pub fn put_of(&mut self, field: &'static str, of: Of<'a>, value: Option<f64>) {
        self.cells.push((field, of, value.unwrap_or(f64::NAN)));
    }

    /// True when the sample gave nothing to keep (a rate over the time
    /// since boot is not kept as if it were now).
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
}

/// A copy of some of a kind's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Each row's time, Unix ms, oldest first.
    pub t: Vec<u64>,
    /// One per series.
    pub columns: Vec<Series>,
}

/// One series of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The field, as the kind's reply names it.
    pub field: &'static str,
    /// Which one.
    pub of: Of<'static>,
    /// One per row; NaN where the row lacked it.
    pub values: Vec<f64>,
}

impl Table {
    /// The values of `field` of `of`, if kept.
    pub fn values(&self, field: &str, of: &Of<'_>) -> Option<&[f64]> {
        self.columns
            .iter()
            .find(|c| c.field == field && &c.of == of)
            .map(|c| c.values.as_slice())
    }
}

/// How the history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How far back rows are kept; zero keeps none.
    pub window: Duration,
    /// The most bytes all kinds' rows may take.
    pub max_bytes: usize,
}

/// The history of every charted kind.
#[derive(Debug)]
pub struct History {
    limits: Limits,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// One store per kind, in the order kinds registered.
    stores: Vec<Store>,
    /// Bytes all stores hold.
    bytes: usize,
    /// When the last row came (the timer's reference).
    newest: Option<tokio::time::Instant>,
    /// True while the timer that drops an unwatched history runs.
    reaping: bool,
}

/// One kind's rows.
#[derive(Debug)]
struct Store {
    kind: &'static str,
    /// Each row's time, Unix ms, oldest first.
    t: VecDeque<u64>,
    columns: Vec<Column>,
}

#[derive(Debug)]
struct Column {
    field: &'static str,
    of: Of<'static>,
    /// One per row; NaN where the row lacked it.
    values: VecDeque<f64>,
    /// How many of `values` are numbers: a column with none is dropped.
    present: usize,
}

/// Bytes a row of `columns` values takes (its time and one `f64` each).
fn row_bytes(columns: usize) -> usize {
    8 * (1 + columns)
}

impl Store {
    fn bytes(&self) -> usize {
        self.t.len() * row_bytes(self.columns.len())
    }

    /// Adds a row taken at `at_ms` (ignored unless newer than the last).
    fn push(&mut self, at_ms: u64, cells: Vec<(&'static str, Of<'_>, f64)>) {
        if self.t.back().is_some_and(|&last| at_ms <= last) {
            return;
        }
        let n = self.t.len();
        self.t.push_back(at_ms);
        let mut next = 0;
        for (field, of, value) in cells {
            // Samples list their series in the same order nearly always:
            // the next column is tried first.
            let found = (next < self.columns.len()
                && self.columns[next].field == field
                && self.columns[next].of == of)
                .then_some(next)
                .or_else(|| {
                    self.columns
                        .iter()
                        .position(|c| c.field == field && c.of == of)
                });
            let i = found.unwrap_or_else(|| {
                let owned = match of {
                    Of::Host => Of::Host,
                    Of::Index(i) => Of::Index(i),
                    Of::Name(name) => Of::Name(Cow::Owned(name.into_owned())),
                };
                self.columns.push(Column {
                    field,
                    of: owned,
                    values: std::iter::repeat_n(f64::NAN, n).collect(),
                    present: 0,
                });
                self.columns.len() - 1
            });
            let column = &mut self.columns[i];
            // A series named twice in one sample keeps its first value.
            if column.values.len() == n {
                column.values.push_back(value);
                column.present += usize::from(!value.is_nan());
            }
            next = i + 1;
        }
        for column in &mut self.columns {
            if column.values.len() == n {
                column.values.push_back(f64::NAN);
            }
        }
    }

    /// Drops the oldest row.
    fn pop(&mut self) {
        self.t.pop_front();
        for column in &mut self.columns {
            if let Some(v) = column.values.pop_front() {
                column.present -= usize::from(!v.is_nan());
            }
        }
    }

    /// Drops the oldest rows while `more` says so, keeping `keep` rows at
    /// least, then the series left without a value.
    fn drop_oldest(&mut self, keep: usize, more: impl Fn(&Store) -> bool) {
        let before = self.t.len();
        while self.t.len() > keep && more(self) {
            self.pop();
        }
        if self.t.len() != before {
            self.columns.retain(|c| c.present > 0);
        }
    }
}

impl History {
    /// An empty history.
    pub fn new(limits: Limits) -> History {
        History {
            limits,
            inner: Arc::new(Mutex::new(Inner::default())),
        }
    }

    /// How it is kept.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The recorder `kind`'s cache gives its new samples to: `rows` takes
    /// what is charted from a sample. `None` when history is off.
    pub fn recorder<T>(
        self: &Arc<Self>,
        kind: &'static str,
        rows: for<'a> fn(&'a T, &mut Row<'a>),
    ) -> Option<Arc<dyn Record<T>>>
    where
        T: Send + Sync + 'static,
    {
        if self.limits.window.is_zero() {
            return None;
        }
        let mut inner = self.lock();
        if !inner.stores.iter().any(|s| s.kind == kind) {
            inner.stores.push(Store {
                kind,
                t: VecDeque::new(),
                columns: Vec::new(),
            });
        }
        Some(Arc::new(Recorder {
            history: self.clone(),
            kind,
            rows,
        }))
    }

    /// The kinds whose history is kept.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.lock().stores.iter().map(|s| s.kind).collect()
    }

    /// Bytes all kinds' rows take now.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Keeps one row of `kind`, taken at `at_ms`.
    fn keep(&self, kind: &'static str, at_ms: u64, row: Row<'_>) {
        let from_ms = unix_millis().saturating_sub(window_ms(self.limits.window));
        let mut inner = self.lock();
        let inner = &mut *inner;
        let Some(store) = inner.stores.iter_mut().find(|s| s.kind == kind) else {
            return;
        };
        let before = store.bytes();
        store.push(at_ms, row.cells);
        store.drop_oldest(0, |s| s.t.front().is_some_and(|&t| t < from_ms));
        // Over the bound, this kind's oldest rows go first: its window
        // shortens, the others' do not.
        let others = inner.bytes - before;
        let max = self.limits.max_bytes;
        store.drop_oldest(1, |s| others + s.bytes() > max);
        inner.bytes = others + store.bytes();
        inner.newest = Some(tokio::time::Instant::now());
        if !inner.reaping
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            inner.reaping = true;
            runtime.spawn(reap(self.inner.clone(), self.limits.window));
        }
    }

    /// The last `last` rows of `kind` (all with 0) within the window, as
    /// a copy: for the surfaces that reshape them (Glances' history).
    pub fn table(&self, kind: &str, last: usize) -> Option<Table> {
        let from_ms = unix_millis().saturating_sub(window_ms(self.limits.window));
        let inner = self.lock();
        let store = inner.stores.iter().find(|s| s.kind == kind)?;
        let first = store.t.partition_point(|&t| t < from_ms);
        let first = if last == 0 {
            first
        } else {
            first.max(store.t.len().saturating_sub(last))
        };
        Some(Table {
            t: store.t.range(first..).copied().collect(),
            columns: store
                .columns
                .iter()
                .map(|c| Series {
                    field: c.field,
                    of: c.of.clone(),
                    values: c.values.range(first..).copied().collect(),
                })
                .collect(),
        })
    }

    /// The JSON reply: `kind`'s rows taken after `since_ms` (Unix ms),
    /// within the window. `None` for a kind whose history is not kept.
    pub fn json(&self, kind: &str, since_ms: u64) -> Option<Vec<u8>> {
        let from_ms = unix_millis().saturating_sub(window_ms(self.limits.window));
        let after = since_ms.max(from_ms.saturating_sub(1));
        let inner = self.lock();
        let store = inner.stores.iter().find(|s| s.kind == kind)?;
        let first = store.t.partition_point(|&t| t <= after);
        let mut out = String::with_capacity(64 + (store.t.len() - first) * 16);
        let _ = write!(
            out,
            "{{\"kind\":{},\"window_ms\":{},\"now_ms\":{},\"t\":[",
            json_string(kind),
            window_ms(self.limits.window),
            unix_millis()
        );
        for (i, t) in store.t.range(first..).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{t}");
        }
        out.push_str("],\"series\":[");
        let mut listed = 0;
        for column in &store.columns {
            if !column.values.range(first..).any(|v| v.is_finite()) {
                continue;
            }
            if listed > 0 {
                out.push(',');
            }
            listed += 1;
            let _ = write!(out, "{{\"field\":{}", json_string(column.field));
            match &column.of {
                Of::Host => {}
                Of::Index(i) => {
                    let _ = write!(out, ",\"of\":{i}");
                }
                Of::Name(name) => {
                    let _ = write!(out, ",\"of\":{}", json_string(name));
                }
            }
            out.push_str(",\"values\":[");
            for (i, v) in column.values.range(first..).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if v.is_finite() {
                    let _ = write!(out, "{}", Tidy(*v));
                } else {
                    out.push_str("null");
                }
            }
            out.push_str("]}");
        }
        out.push_str("]}");
        Some(out.into_bytes())
    }
}

/// Waits until no row has come for a whole window, then drops them all.
async fn reap(inner: Arc<Mutex<Inner>>, window: Duration) {
    loop {
        let newest = {
            let mut guard = inner.lock().unwrap_or_else(PoisonError::into_inner);
            match guard.newest {
                Some(newest) if newest.elapsed() < window => newest,
                _ => {
                    for store in &mut guard.stores {
                        store.t = VecDeque::new();
                        store.columns = Vec::new();
                    }
                    guard.bytes = 0;
                    guard.newest = None;
                    guard.reaping = false;
                    return;
                }
            }
        };
        tokio::time::sleep_until(newest + window).await;
    }
}

/// A kind's recorder: what its cache calls with each new sample.
struct Recorder<T> {
    history: Arc<History>,
    kind: &'static str,
    rows: for<'a> fn(&'a T, &mut Row<'a>),
}

impl<T> std::fmt::Debug for Recorder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("kind", &self.kind)
            .finish()
    }
}

impl<T: Send + Sync + 'static> Record<T> for Recorder<T> {
    fn record(&self, sample: &Sample<T>) {
        let mut row = Row::default();
        (self.rows)(sample.value(), &mut row);
        if row.is_empty() {
            return;
        }
        let at_ms = row
            .at_ms
            .unwrap_or_else(|| u64::try_from(sample.since_epoch().as_millis()).unwrap_or(0));
        self.history.keep(self.kind, at_ms, row);
    }
}

/// A value written as its reading was: one taken as f32 (CPU %) as the
/// live reply writes it, not with the f64's false digits (a whole number
/// is exact either way, and f32's shortest form of a large one would
/// round it).
#[derive(Debug, Clone, Copy)]
pub struct Tidy(pub f64);

impl std::fmt::Display for Tidy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let narrow = self.0 as f32;
        if self.0.fract() != 0.0 && f64::from(narrow) == self.0 {
            write!(f, "{narrow}")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl Tidy {
    /// The value as the f64 its written form reads back as.
    pub fn value(self) -> f64 {
        self.to_string().parse().unwrap_or(self.0)
    }
}

fn window_ms(window: Duration) -> u64 {
    u64::try_from(window.as_millis()).unwrap_or(u64::MAX)
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            window: Duration::from_secs(900),
            max_bytes: 1 << 20,
        }
    }

    fn row(cells: &[(&'static str, Of<'static>, f64)]) -> Row<'static> {
        let mut r = Row::default();
        for (field, of, v) in cells {
            r.put_of(field, of.clone(), Some(*v));
        }
        r
    }

    fn parsed(h: &History, kind: &str, since: u64) -> serde_json::Value {
        serde_json::from_slice(&h.json(kind, since).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn rows_come_back_as_columns_with_gaps_as_null() {
        let h = Arc::new(History::new(limits()));
        let _r = h.recorder::<u32>("metrics", |_, _| {});
        let now = unix_millis();
        h.keep(
            "metrics",
            now - 2000,
            row(&[
                ("cpu_total", Of::Host, 10.0),
                ("received", Of::Name("eth0".into()), 5.0),
            ]),
        );
        h.keep(
            "metrics",
            now - 1000,
            row(&[
                ("cpu_total", Of::Host, 20.0),
                ("cpu_per_core", Of::Index(3), 7.5),
            ]),
        );
        // Not newer than the last row: the same sample again.
        h.keep("metrics", now - 1000, row(&[("cpu_total", Of::Host, 99.0)]));
        let v = parsed(&h, "metrics", 0);
        assert_eq!(v["t"], serde_json::json!([now - 2000, now - 1000]));
        assert_eq!(
            v["series"],
            serde_json::json!([
                {"field": "cpu_total", "values": [10, 20]},
                {"field": "received", "of": "eth0", "values": [5, null]},
                {"field": "cpu_per_core", "of": 3, "values": [null, 7.5]},
            ])
        );
        let after = parsed(&h, "metrics", now - 1500);
        assert_eq!(after["t"], serde_json::json!([now - 1000]));
        assert_eq!(after["series"].as_array().unwrap().len(), 2, "{after}");
        assert!(h.json("nothing", 0).is_none());
    }

    #[tokio::test]
    async fn rows_older_than_the_window_are_dropped_with_their_series() {
        let h = Arc::new(History::new(Limits {
            window: Duration::from_secs(10),
            ..limits()
        }));
        let _r = h.recorder::<u32>("disk_io", |_, _| {});
        let now = unix_millis();
        h.keep(
            "disk_io",
            now - 60_000,
            row(&[("busy", Of::Name("sda".into()), 1.0)]),
        );
        h.keep(
            "disk_io",
            now,
            row(&[("busy", Of::Name("sdb".into()), 2.0)]),
        );
        let v = parsed(&h, "disk_io", 0);
        assert_eq!(v["t"], serde_json::json!([now]));
        assert_eq!(
            v["series"],
            serde_json::json!([{"field": "busy", "of": "sdb", "values": [2]}])
        );
        assert_eq!(h.bytes(), row_bytes(1));
    }

    #[tokio::test]
    async fn the_memory_bound_drops_the_oldest_rows_first() {
        let h = Arc::new(History::new(Limits {
            max_bytes: row_bytes(4) * 10,
            ..limits()
        }));
        let _r = h.recorder::<u32>("metrics", |_, _| {});
        let now = unix_millis();
        for i in 0..100u64 {
            let cells: Vec<_> = (0..4u32)
                .map(|c| ("core", Of::Index(c), i as f64))
                .collect();
            h.keep("metrics", now - 100 + i, row(&cells));
            assert!(h.bytes() <= row_bytes(4) * 10, "{} at row {i}", h.bytes());
        }
        let v = parsed(&h, "metrics", 0);
        assert_eq!(v["t"].as_array().unwrap().len(), 10);
        assert_eq!(v["t"][9], now - 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unwatched_history_is_dropped_after_a_window() {
        let h = Arc::new(History::new(Limits {
            window: Duration::from_secs(60),
            ..limits()
        }));
        let _r = h.recorder::<u32>("metrics", |_, _| {});
        h.keep(
            "metrics",
            unix_millis(),
            row(&[("cpu_total", Of::Host, 1.0)]),
        );
        assert!(h.bytes() > 0);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(h.bytes() > 0, "kept within the window");
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert_eq!(h.bytes(), 0, "dropped once nobody asked for a window");
        assert!(!h.lock().reaping, "the timer ended");
    }

    #[test]
    fn history_off_records_nothing() {
        let h = Arc::new(History::new(Limits {
            window: Duration::ZERO,
            ..limits()
        }));
        assert!(h.recorder::<u32>("metrics", |_, _| {}).is_none());
        assert!(h.kinds().is_empty());
    }
}
