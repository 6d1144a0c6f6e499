//! The server state: the samplers, one TTL cache of typed samples per
//! request kind, and dispatch. Built from the [`Config`]; no statics, so
//! every test builds its own.
//!
//! Every surface asks the same typed accessors ([`AppState::metrics`],
//! [`AppState::processes`], …) and encodes the sample it gets in its own
//! shape, once per sample ([`crate::cache::Sample`]). [`AppState::reply`]
//! is the WebSocket's shape.
//!
//! Locks: the metrics sampler's mutex is held only for its inline reads
//! (microseconds; its directory walks run on the blocking pool outside the
//! lock); the process sampler's mutex is only ever taken on blocking
//! threads, so a scan, however long, never stalls an async worker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cache::{KeyedTtl, Sample, Ttl};
use crate::collect::disks::Disk;
use crate::collect::host::HostFacts;
use crate::collect::journal::{self, Journal};
use crate::collect::metrics::{self, Metrics, MetricsSampler};
use crate::collect::process_detail::{self, NotFound, ProcessDetail};
use crate::collect::processes::{ProcessSampler, ProcessTable};
use crate::collect::{CollectError, CollectorErrors, HostClock, Roots, disks, host};
use crate::config::Config;
use crate::protocol::{self, Frame, Request, frames};

/// Locks a sampler mutex; a panic in another collection must not take
/// every later request down with it, so poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long a process_metrics answer is reused.
const PROCESS_METRICS_TTL: Duration = Duration::from_millis(250);
/// How long a journal_entries answer is reused.
const JOURNAL_TTL: Duration = Duration::from_secs(1);
/// How long journalctl may take before the reply says so.
const JOURNAL_TIMEOUT: Duration = Duration::from_secs(2);
/// PIDs each per-PID cache holds.
const PER_PID_ENTRIES: usize = 64;

/// A shared sample of one kind.
pub type Shared<T> = Arc<Sample<T>>;

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
    /// The metrics sampler (CPU window, kept files).
    metrics_sampler: Arc<Mutex<MetricsSampler>>,
    /// The process sampler (kept descriptors, CPU% history).
    process_sampler: Arc<Mutex<ProcessSampler>>,
    /// Metrics samples.
    metrics: Ttl<Metrics>,
    /// Disks samples.
    disks: Ttl<Vec<Disk>>,
    /// Process tables.
    processes: Ttl<Arc<ProcessTable>>,
    /// Host facts: collected once, kept for the server's life.
    host: Ttl<HostFacts>,
    /// Per-PID process details, briefly.
    process_details: KeyedTtl<u32, Result<ProcessDetail, NotFound>>,
    /// Per-PID journal entries, briefly.
    journals: KeyedTtl<u32, Journal>,
    /// How journal entries are read.
    journal: journal::Source,
    /// WebSocket frames encoded, per request kind: one per sample, however
    /// many clients read it.
    frames_encoded: [AtomicU64; Request::KINDS],
    /// Cancelled on shutdown: every connection closes with 1001.
    pub shutdown: CancellationToken,
    /// Open connections (HTTP and WebSocket), awaited on shutdown.
    pub connections: TaskTracker,
}

/// How many `/proc/<pid>/stat` descriptors the process sampler may keep:
/// the soft `RLIMIT_NOFILE` less a reserve for sockets and other files.
pub fn fd_budget() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let soft = limit.current.unwrap_or(1 << 20);
    usize::try_from(soft.saturating_sub(512).min(1 << 20)).unwrap_or(1 << 20)
}

impl AppState {
    /// Builds the state; collects nothing yet but the boot time.
    pub fn new(config: Config) -> Arc<AppState> {
        let roots = config.roots();
        let errors = Arc::new(CollectorErrors::default());
        let clock = HostClock::read(&roots, &errors);
        let ttl = &config.ttl;
        Arc::new(AppState {
            metrics_sampler: Arc::new(Mutex::new(MetricsSampler::new(
                &roots,
                config.collection.temp,
                clock,
                errors.clone(),
            ))),
            process_sampler: Arc::new(Mutex::new(ProcessSampler::new(
                &roots,
                fd_budget(),
                clock.page_size,
            ))),
            metrics: Ttl::new(ttl.metrics()),
            disks: Ttl::new(ttl.disks()),
            processes: Ttl::new(ttl.processes()),
            host: Ttl::new(Duration::MAX),
            process_details: KeyedTtl::new(PROCESS_METRICS_TTL, PER_PID_ENTRIES),
            journals: KeyedTtl::new(JOURNAL_TTL, PER_PID_ENTRIES),
            journal: journal::Source {
                journalctl: config.collection.journalctl.clone(),
                journal_dirs: config.collection.journal_dirs.clone(),
                timeout: JOURNAL_TIMEOUT,
            },
            frames_encoded: Default::default(),
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
            started: Instant::now(),
            clock,
            errors,
            roots,
            config,
        })
    }

    /// Takes one baseline of CPU and process counters, counts processes and
    /// looks for the temperature sensor, in the background, so the first
    /// request's CPU% needs no extra wait and the first metrics reply is
    /// read inline. One-shot: after it, nothing runs until a request comes.
    pub fn warm_up(self: &Arc<Self>) {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let wanted = {
                let mut sampler = lock(&state.metrics_sampler);
                sampler.warm_up();
                sampler.refresh_needed()
            };
            if let Some(wanted) = wanted {
                let found = metrics::refresh(&state.roots, wanted);
                lock(&state.metrics_sampler).apply(found);
            }
            let warmed = lock(&state.process_sampler).warm_up();
            state.errors.ok("processes", warmed);
        });
    }

    /// Seconds since the server started.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// The collector error counters.
    pub fn errors(&self) -> &CollectorErrors {
        &self.errors
    }

    /// WebSocket frames encoded so far for `kind` (a name of
    /// [`Request::NAMES`]); 0 for an unknown name.
    pub fn frames_encoded(&self, kind: &str) -> u64 {
        Request::NAMES
            .iter()
            .position(|n| *n == kind)
            .map_or(0, |i| self.frames_encoded[i].load(Ordering::Relaxed))
    }

    /// The WebSocket reply to one request: the sample from its cache (or
    /// collected now), framed once per sample.
    pub async fn reply(&self, request: Request) -> Frame {
        let encode = |s: &dyn Fn() -> Frame| {
            self.frames_encoded[request.index()].fetch_add(1, Ordering::Relaxed);
            s()
        };
        let frame = match request {
            Request::Metrics => self
                .metrics()
                .await
                .map(|s| s.frame(|s| encode(&|| frames::metrics(s)))),
            Request::Disks => self
                .disks()
                .await
                .map(|s| s.frame(|s| encode(&|| frames::disks(s)))),
            Request::Processes => self
                .processes()
                .await
                .map(|s| s.frame(|s| encode(&|| frames::processes(s)))),
            Request::Host => self
                .host()
                .await
                .map(|s| s.frame(|s| encode(&|| frames::host(s)))),
            Request::ProcessMetrics(pid) => self
                .process_detail(pid)
                .await
                .map(|s| s.frame(|s| encode(&|| frames::process_metrics(s)))),
            Request::JournalEntries(pid) => self
                .journal(pid)
                .await
                .map(|s| s.frame(|s| encode(&|| frames::journal(s)))),
        };
        frame.unwrap_or_else(|e| {
            self.errors.report(request.name(), &e);
            protocol::error_frame(&e.to_string(), request.name())
        })
    }

    /// The metrics sample: from its cache, or read now. The reads are
    /// inline (microseconds of kernel counters); a process count older than
    /// a second, or the first sensor lookup, runs on the blocking pool
    /// first.
    pub async fn metrics(&self) -> Result<Shared<Metrics>, CollectError> {
        self.metrics
            .get_or_load(|| async {
                let wanted = lock(&self.metrics_sampler).refresh_needed();
                if let Some(wanted) = wanted {
                    let roots = self.roots.clone();
                    let found = blocking(move || metrics::refresh(&roots, wanted)).await?;
                    lock(&self.metrics_sampler).apply(found);
                }
                Ok(lock(&self.metrics_sampler).sample())
            })
            .await
    }

    /// The disks sample.
    pub async fn disks(&self) -> Result<Shared<Vec<Disk>>, CollectError> {
        let roots = self.roots.clone();
        self.disks
            .get_or_load(|| async move { blocking(move || disks::read(&roots)).await? })
            .await
    }

    /// The host facts.
    pub async fn host(&self) -> Result<Shared<HostFacts>, CollectError> {
        let (roots, errors) = (self.roots.clone(), self.errors.clone());
        self.host
            .get_or_load(|| blocking(move || host::collect(&roots, &errors)))
            .await
    }

    /// The process table: from its cache, or a fresh scan on the blocking
    /// pool. A scan that cannot read `/proc` is reported and gives an
    /// empty table (socktop clients expect a process list, not an error).
    pub async fn processes(&self) -> Result<Shared<Arc<ProcessTable>>, CollectError> {
        self.processes
            .get_or_load(|| async {
                let (sampler, errors) = (self.process_sampler.clone(), self.errors.clone());
                let table = blocking(move || {
                    let scanned = lock(&sampler).sample();
                    errors.ok("processes", scanned).unwrap_or_default()
                })
                .await?;
                if table.sampled_at.is_some() {
                    lock(&self.metrics_sampler).note_process_count(table.process_count);
                }
                Ok(table)
            })
            .await
    }

    /// One process in detail, read now; CPU% comes from the process table
    /// (refreshed through its own cache when stale), the children from the
    /// kernel at the time of the answer.
    pub async fn process_detail(
        &self,
        pid: u32,
    ) -> Result<Shared<Result<ProcessDetail, NotFound>>, CollectError> {
        self.process_details
            .get_or_load(pid, || async {
                let table = Arc::clone(self.processes().await?.value());
                let (proc_root, clock) = (self.roots.proc.clone(), self.clock);
                blocking(move || process_detail::read(&proc_root, pid, Some(&table), clock)).await
            })
            .await
    }

    /// What `pid` wrote to the journal.
    pub async fn journal(&self, pid: u32) -> Result<Shared<Journal>, CollectError> {
        self.journals
            .get_or_load(pid, || async {
                Ok::<_, CollectError>(journal::read(&self.journal, pid).await)
            })
            .await
    }
}

/// Runs a collection on the blocking pool, off the async workers.
async fn blocking<T, F>(f: F) -> Result<T, CollectError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CollectError::Aborted(e.to_string()))
}
