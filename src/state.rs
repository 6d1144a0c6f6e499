//! The server state: what every kind shares (configuration, roots, clock,
//! error counters), each kind's own part (its caches and sampler), and
//! dispatch. Built from the [`Config`] and a table of kinds
//! ([`crate::table::KINDS`]); no statics, so every test builds its own.
//!
//! This module defines what a kind is ([`Kind`]) but names none: the kinds
//! depend on the state, never the other way round. Each kind's part is
//! built by the kind itself ([`Kind::part`]) and found again by its type
//! ([`AppState::part`]), so a new kind adds no field here.
//!
//! Locks: the samplers' mutexes live in the kinds' parts; the metrics
//! sampler's is held only for its inline reads (microseconds), the others
//! are only ever taken on blocking threads, so a scan, however long, never
//! stalls an async worker.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::routing::MethodRouter;
use bytes::Bytes;
use futures_util::future::BoxFuture;

use crate::budget::FdBudget;
use crate::cache::Sample;
use crate::collect::{CollectError, CollectorErrors, HostClock, Roots};
use crate::config::Config;
use crate::history::History;
use crate::wire::{self, Frame};

/// A shared sample of one kind.
pub type Shared<T> = Arc<Sample<T>>;

/// A kind's part of the state: its caches and sampler.
pub type Part = Box<dyn Any + Send + Sync>;

/// What a kind's part is built from.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// Where collectors read the host from.
    pub roots: &'a Roots,
    /// Ticks, pages and boot time.
    pub clock: HostClock,
    /// Where collector errors are reported.
    pub errors: &'a Arc<CollectorErrors>,
    /// The descriptors each sampler may keep.
    pub fd_budget: FdBudget,
    /// The kept files the hardware kinds share (half the readings' share).
    pub hardware_files: &'a Arc<crate::collect::sysfs::Kept>,
    /// Where the charted kinds' caches note their samples.
    pub history: &'a Arc<History>,
}

/// One line of `sonde check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    /// What it is about, e.g. `disks` (padded to a column by the caller).
    pub label: std::borrow::Cow<'static, str>,
    /// What was found, with its timing where it took any.
    pub text: String,
    /// True when a source this configuration reads is broken.
    pub broken: bool,
}

impl CheckLine {
    /// A line saying what works.
    pub fn ok(label: impl Into<std::borrow::Cow<'static, str>>, text: String) -> CheckLine {
        CheckLine {
            label: label.into(),
            text,
            broken: false,
        }
    }

    /// A line saying what is broken.
    pub fn broken(label: impl Into<std::borrow::Cow<'static, str>>, text: String) -> CheckLine {
        CheckLine {
            label: label.into(),
            text,
            broken: true,
        }
    }
}

/// Milliseconds since `since`, for `sonde check`'s timings.
pub fn elapsed_ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Bytes as GiB with one decimal, for `sonde check`.
pub fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// What a request of a kind names besides the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Args {
    /// Nothing.
    None,
    /// A process (`pid`; `:PID` in the text form): a keyed kind.
    Pid,
    /// Another kind and a time (`kind`, `since_ms`; `:KIND:SINCE_MS`):
    /// the history.
    History,
}

impl Kind {
    /// True when a request names a process.
    pub fn keyed(&self) -> bool {
        self.args == Args::Pid
    }
}

/// What a request names besides its kind ([`Args`]): defaults where it
/// names nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asked {
    /// The process, for a keyed kind; 0 otherwise.
    pub pid: u32,
    /// The kind whose history is asked for; empty when none is named (the
    /// history kind says which it then answers).
    pub of: &'static str,
    /// Only what was taken after this, Unix ms (0: all that is kept).
    pub since_ms: u64,
    /// With the process's TCP connections (`"connections": true`; a TCP
    /// dump each answer, so only when asked).
    pub connections: bool,
}

impl Asked {
    /// A request about process `pid`.
    pub fn pid(pid: u32) -> Asked {
        Asked {
            pid,
            ..Asked::default()
        }
    }
}

/// A kind's WebSocket reply to a request.
pub type ReplyFn = for<'a> fn(&'a AppState, Asked) -> BoxFuture<'a, Result<Frame, CollectError>>;
/// A kind's part of `/metrics` (empty when it has nothing to say), from
/// the samples this scrape takes.
pub type SeriesFn = for<'a, 's> fn(&'a Scrape<'s>) -> BoxFuture<'a, Result<Bytes, CollectError>>;
/// Whether a `collect[]` name is one of a kind's (`None`: not its), and
/// whether it is turned on (`Err`: why it cannot be served).
pub type SelectFn = fn(&AppState, &str) -> Option<Result<(), String>>;
/// A kind's lines of `sonde check`.
pub type CheckFn = for<'a> fn(&'a AppState) -> BoxFuture<'a, Vec<CheckLine>>;
/// A kind's `/api` handler, routed at its [`Kind::path`].
pub type ApiFn = fn() -> MethodRouter<Arc<AppState>>;

/// One reply kind, as every surface finds it: the request's names in both
/// forms, its part of the state, and what it gives each surface. Each kind
/// module has one, and [`crate::table::KINDS`] lists them; request parsing,
/// the unknown-request hint, `/api`, `/metrics`, `sonde check` and the frame
/// counters all iterate that table.
pub struct Kind {
    /// The JSON form's `type`, and the name in logs, counters and errors.
    pub name: &'static str,
    /// The text form (`get_metrics`); a keyed kind takes `:PID` after it.
    pub text: &'static str,
    /// What a request names besides the kind.
    pub args: Args,
    /// What it answers, in a few words (the `/api` index, the unknown
    /// request hint).
    pub summary: &'static str,
    /// How long its sample is kept: named here once, for its cache and
    /// for its replies' `Cache-Control`.
    pub ttl: fn(&Config) -> std::time::Duration,
    /// Builds this kind's part of the state; reads nothing yet.
    pub part: fn(&Context<'_>) -> Part,
    /// The WebSocket reply; `None` for a kind that only serves other
    /// surfaces (node_exporter's collectors, on `/metrics`), which requests
    /// cannot name.
    pub reply: Option<ReplyFn>,
    /// Its `/api` path (`/api/processes/{pid}` for a keyed kind); empty
    /// for none.
    pub path: &'static str,
    /// Its `/api` handler, if it has one.
    pub api: Option<ApiFn>,
    /// Its series on `/metrics`, if it has any.
    pub series: Option<SeriesFn>,
    /// The `collect[]` names it answers to on `/metrics`, if any (sonde's
    /// own series answer to `sonde`).
    pub select: Option<SelectFn>,
    /// Its lines in `sonde check`, if it has any.
    pub check: Option<CheckFn>,
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kind").field("name", &self.name).finish()
    }
}

/// Everything a connection needs to answer requests.
#[derive(Debug)]
pub struct AppState {
    /// The configuration the server was started with.
    pub config: Config,
    /// Where collectors read the host from.
    roots: Roots,
    /// Ticks, pages and boot time, read once.
    clock: HostClock,
    /// When the server started, for `/healthz`.
    started: Instant,
    /// Collector errors, logged once per kind and counted.
    errors: Arc<CollectorErrors>,
    /// How descriptors are shared out.
    fd_budget: FdBudget,
    /// The charted kinds' recent samples.
    history: Arc<History>,
    /// The kinds this state serves, in table order.
    kinds: &'static [&'static Kind],
    /// Each kind's part, in table order.
    parts: Vec<Part>,
    /// WebSocket frames encoded per kind, in table order: one per sample,
    /// however many clients read it.
    frames_encoded: Vec<AtomicU64>,
}

impl AppState {
    /// Builds the state serving `kinds`; collects nothing yet but the boot
    /// time.
    pub fn new(config: Config, kinds: &'static [&'static Kind]) -> Arc<AppState> {
        let roots = config.roots();
        let errors = Arc::new(CollectorErrors::default());
        let clock = HostClock::read(&roots, &errors);
        let fd_budget = FdBudget::current(config.limits.max_connections);
        let hardware_files = Arc::new(std::sync::Mutex::new(
            crate::collect::files::FileCache::new(fd_budget.readings_files / 2),
        ));
        let history = Arc::new(History::new(config.history.limits()));
        let context = Context {
            history: &history,
            config: &config,
            roots: &roots,
            clock,
            errors: &errors,
            fd_budget,
            hardware_files: &hardware_files,
        };
        let parts: Vec<Part> = kinds.iter().map(|k| (k.part)(&context)).collect();
        // Parts are found by their type: two kinds with the same part type
        // would silently share one cache. A table that does so is a
        // programming error, caught at the first start of any test.
        let types: Vec<std::any::TypeId> = parts.iter().map(|p| (**p).type_id()).collect();
        for (i, t) in types.iter().enumerate() {
            assert!(
                !types[..i].contains(t),
                "two kinds share a state part: {} and another; give each its own part type",
                kinds[i].name
            );
        }
        Arc::new(AppState {
            parts,
            frames_encoded: kinds.iter().map(|_| AtomicU64::new(0)).collect(),
            kinds,
            fd_budget,
            history,
            started: Instant::now(),
            clock,
            errors,
            roots,
            config,
        })
    }

    /// The kinds served, in table order.
    pub fn kinds(&self) -> &'static [&'static Kind] {
        self.kinds
    }

    /// The part of type `T` (a kind's caches and sampler).
    pub fn part<T: Any>(&self) -> Result<&T, CollectError> {
        self.parts
            .iter()
            .find_map(|p| p.downcast_ref::<T>())
            .ok_or(CollectError::NotServed(std::any::type_name::<T>()))
    }

    /// The charted kinds' recent samples.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Where collectors read the host from.
    pub fn roots(&self) -> &Roots {
        &self.roots
    }

    /// Seconds since the server started.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// When the server started, Unix seconds.
    pub fn started_unix(&self) -> f64 {
        crate::collect::clock::unix_seconds() - self.started.elapsed().as_secs_f64()
    }

    /// Ticks, pages and boot time, read once.
    pub fn clock(&self) -> HostClock {
        self.clock
    }

    /// The collector error counters.
    pub fn errors(&self) -> &Arc<CollectorErrors> {
        &self.errors
    }

    /// How descriptors are shared out.
    pub fn fd_budget(&self) -> FdBudget {
        self.fd_budget
    }

    /// WebSocket frames encoded so far for the kind named `kind`; 0 for an
    /// unknown name.
    pub fn frames_encoded(&self, kind: &str) -> u64 {
        self.kinds
            .iter()
            .position(|k| k.name == kind)
            .map_or(0, |i| self.frames_encoded[i].load(Ordering::Relaxed))
    }

    /// The WebSocket reply to a request of `kind`: the sample from its cache
    /// (or collected now), framed once per sample. A failed collection was
    /// reported where it happened and becomes an error reply.
    pub async fn reply(&self, kind: &'static Kind, asked: Asked) -> Frame {
        let Some(reply) = kind.reply else {
            return wire::error_frame("not a request", kind.name);
        };
        reply(self, asked)
            .await
            .unwrap_or_else(|e| wire::error_frame(&e.to_string(), kind.name))
    }

    /// The sample's frame for the kind named `kind`: `encode` runs once per
    /// sample (and is counted), later readers share the result.
    pub fn framed<T>(
        &self,
        kind: &str,
        sample: &Sample<T>,
        encode: fn(&Sample<T>) -> Frame,
    ) -> Frame {
        sample.frame(|s| {
            if let Some(i) = self.kinds.iter().position(|k| k.name == kind) {
                self.frames_encoded[i].fetch_add(1, Ordering::Relaxed);
            }
            encode(s)
        })
    }
}

/// One `/metrics` scrape: the samples it has taken, each at most once
/// however many series derive from it (so every series of one response
/// comes from the same samples, and at a TTL of 0 a source is read once
/// per scrape, not once per reader); what `collect[]` asked for; and the
/// text to serve after everything else.
///
/// A sample is found by its type, so a kind whose sample a node collector
/// reads registers nothing anywhere: the collector names the kind's
/// loader.
pub struct Scrape<'s> {
    /// The server.
    pub state: &'s AppState,
    /// What `collect[]` and `exclude[]` ask for.
    selection: &'s Selection,
    /// The samples taken so far, by type.
    taken: std::sync::Mutex<Vec<(std::any::TypeId, Arc<Taken>)>>,
    /// Text served after every other series, its families already served
    /// dropped (the textfile collector's: node_exporter drops them too).
    last: std::sync::Mutex<Vec<String>>,
    /// The samples whose reading ahead failed (see [`Scrape::failed`]).
    failed: std::sync::Mutex<Vec<std::any::TypeId>>,
    /// When the scrape is served with what it has.
    deadline: tokio::time::Instant,
    /// How long it had.
    budget: std::time::Duration,
}

/// What a scrape serves: node_exporter's `collect[]` (only these) or
/// `exclude[]` (all but these), never both; neither serves everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// `collect[]`'s names.
    pub collect: Vec<String>,
    /// `exclude[]`'s names.
    pub exclude: Vec<String>,
}

impl Selection {
    /// Whether it serves `name`.
    pub fn selects(&self, name: &str) -> bool {
        if self.collect.is_empty() {
            !self.exclude.iter().any(|e| e == name)
        } else {
            self.collect.iter().any(|c| c == name)
        }
    }
}

/// One sample taken by a scrape, as the cache shared it.
type Taken = tokio::sync::OnceCell<Arc<dyn Any + Send + Sync>>;

impl std::fmt::Debug for Scrape<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrape")
            .field("selection", &self.selection)
            .finish_non_exhaustive()
    }
}

impl<'s> Scrape<'s> {
    /// A scrape that has taken nothing yet, serving what `selection` asks
    /// for within `budget` from now.
    pub fn new(
        state: &'s AppState,
        selection: &'s Selection,
        budget: std::time::Duration,
    ) -> Scrape<'s> {
        Scrape {
            state,
            selection,
            taken: std::sync::Mutex::new(Vec::new()),
            last: std::sync::Mutex::new(Vec::new()),
            failed: std::sync::Mutex::new(Vec::new()),
            deadline: tokio::time::Instant::now() + budget,
            budget,
        }
    }

    /// How long one reading of the scrape may wait from now: a quarter of
    /// its time, and never past its deadline. The readings run one after
    /// another (side by side costs CPU and memory for nothing while all is
    /// well); a reading stuck in the kernel is given up after its slice so
    /// that the rest are still served on time.
    pub fn slice(&self) -> tokio::time::Instant {
        (tokio::time::Instant::now() + self.patience()).min(self.deadline)
    }

    /// A slice's length: a quarter of the scrape's time.
    pub fn patience(&self) -> std::time::Duration {
        self.budget / 4
    }

    /// When the scrape is served with what it has: a collector or kind
    /// still reading then is served as failed.
    pub fn deadline(&self) -> tokio::time::Instant {
        self.deadline
    }

    /// Whether the scrape serves `name` (a collector, or `sonde`).
    pub fn selects(&self, name: &str) -> bool {
        self.selection.selects(name)
    }

    /// The sample of type `T` this scrape took, or `load`'s now (from its
    /// kind's cache, so no older than its TTL). A failed load is not kept:
    /// the next reader tries again.
    pub async fn sample<T, F, Fut>(&self, load: F) -> Result<Shared<T>, CollectError>
    where
        T: Send + Sync + 'static,
        F: FnOnce(&'s AppState) -> Fut,
        Fut: std::future::Future<Output = Result<Shared<T>, CollectError>>,
    {
        let key = std::any::TypeId::of::<T>();
        if crate::collect::lock(&self.failed).contains(&key) {
            return Err(CollectError::Aborted(
                "its reading failed when read ahead (counted there)".to_owned(),
            ));
        }
        let cell = {
            let mut taken = crate::collect::lock(&self.taken);
            match taken.iter().find(|(k, _)| *k == key) {
                Some((_, cell)) => cell.clone(),
                None => {
                    let cell = Arc::new(Taken::new());
                    taken.push((key, cell.clone()));
                    cell
                }
            }
        };
        let any = cell
            .get_or_try_init(|| async {
                let sample: Arc<dyn Any + Send + Sync> = load(self.state).await?;
                Ok::<_, CollectError>(sample)
            })
            .await?
            .clone();
        any.downcast::<Sample<T>>()
            .map_err(|_| CollectError::NotServed(std::any::type_name::<T>()))
    }

    /// Takes `sample` (of the type whose id is `of`) as this scrape's, read
    /// ahead of its readers; a type already taken keeps its sample.
    pub fn preset(&self, of: std::any::TypeId, sample: Arc<dyn Any + Send + Sync>) {
        let mut taken = crate::collect::lock(&self.taken);
        if taken.iter().all(|(k, _)| *k != of) {
            taken.push((of, Arc::new(Taken::new_with(Some(sample)))));
        }
    }

    /// Says the sample of the type whose id is `of` failed when read ahead:
    /// its readers are told so rather than reading it again.
    pub fn failed(&self, of: std::any::TypeId) {
        crate::collect::lock(&self.failed).push(of);
    }

    /// Serves `text` after every other series (see [`Scrape`]).
    pub fn serve_last(&self, text: String) {
        crate::collect::lock(&self.last).push(text);
    }

    /// The text to serve last, taken.
    pub fn take_last(&self) -> Vec<String> {
        std::mem::take(&mut *crate::collect::lock(&self.last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kind whose part is `()`, as a second kind's could be by mistake.
    const fn unit_kind(name: &'static str) -> Kind {
        Kind {
            name,
            text: "",
            args: Args::None,
            summary: "",
            ttl: |_| std::time::Duration::ZERO,
            part: |_| Box::new(()),
            reply: None,
            path: "",
            api: None,
            series: None,
            select: None,
            check: None,
        }
    }

    static A: Kind = unit_kind("a");
    static B: Kind = unit_kind("b");

    #[test]
    #[should_panic(expected = "two kinds share a state part")]
    fn two_kinds_sharing_a_part_type_stop_the_start() {
        static TABLE: &[&Kind] = &[&A, &B];
        let config = Config::parse_with(["sonde"], |_| None).unwrap();
        let _ = AppState::new(config, TABLE);
    }

    #[test]
    fn one_kind_per_part_type_starts() {
        static TABLE: &[&Kind] = &[&A];
        let config = Config::parse_with(["sonde"], |_| None).unwrap();
        assert_eq!(AppState::new(config, TABLE).kinds().len(), 1);
    }
}
