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

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cache::{KeyedTtl, Sample, Ttl};
use crate::collect::containers::{self, ContainerSampler, ContainerTable};
use crate::collect::disks::{DiskTable, MountProbe};
use crate::collect::gpu::{self, Gpu, GpuSampler};
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
/// How long container names from a runtime's socket are reused.
const CONTAINER_NAMES_TTL: Duration = Duration::from_secs(5);
/// How long a runtime's socket may take to list its containers.
const CONTAINER_NAMES_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a journal_entries answer is reused.
const JOURNAL_TTL: Duration = Duration::from_secs(1);
/// How long journalctl may take before the reply says so.
const JOURNAL_TIMEOUT: Duration = Duration::from_secs(2);
/// PIDs each per-PID cache holds.
const PER_PID_ENTRIES: usize = 64;
/// NVML is released this long after the last GPU reading, so an idle GPU
/// may suspend.
pub const GPU_IDLE_RELEASE: Duration = Duration::from_secs(30);

/// What is known of the host's GPUs, readable without a lock.
const GPUS_UNKNOWN: u8 = 0;
const GPUS_NONE: u8 = 1;
const GPUS_FOUND: u8 = 2;

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
    /// The GPU sampler; `None` with `--gpu off`. Only locked on blocking
    /// threads (driver calls).
    gpu_sampler: Option<Arc<Mutex<GpuSampler>>>,
    /// `GPUS_UNKNOWN`, `GPUS_NONE` or `GPUS_FOUND`: a GPU-less host skips
    /// the GPU cache without a lock once it has looked.
    gpus_known: AtomicU8,
    /// A task is waiting to release the GPU driver when it goes idle.
    gpu_release_armed: Arc<AtomicBool>,
    /// Metrics samples.
    metrics: Ttl<Metrics>,
    /// The containers sampler (each cgroup's previous CPU reading); only
    /// locked on blocking threads.
    container_sampler: Arc<Mutex<ContainerSampler>>,
    /// Containers samples.
    containers: Ttl<ContainerTable>,
    /// Container names from the runtimes' sockets (`--container-socket`),
    /// asked at most every few seconds.
    container_names: Ttl<Arc<HashMap<String, String>>>,
    /// Disks samples.
    disks: Ttl<DiskTable>,
    /// Measures mounts with a timeout each, remembering hung ones.
    mount_probe: MountProbe,
    /// Process tables.
    processes: Ttl<Arc<ProcessTable>>,
    /// GPU readings, with their own TTL.
    gpus: Ttl<Arc<Vec<Gpu>>>,
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
    /// How descriptors are shared out.
    pub fd_budget: FdBudget,
    /// One permit per accepted TCP connection.
    pub tcp_slots: Arc<Semaphore>,
    /// One permit per WebSocket session.
    pub sessions: Arc<Semaphore>,
    /// Uncached per-process reads at once.
    process_reads: Semaphore,
    /// Connections refused, per [`Refusal`].
    refused: [AtomicU64; 2],
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A WebSocket upgrade over `--max-connections` (answered 503).
    WebsocketCap,
    /// A TCP connection over the cap plus the HTTP headroom (closed).
    ConnectionLimit,
}

impl Refusal {
    /// Every reason, in counter order.
    pub const ALL: [Refusal; 2] = [Refusal::WebsocketCap, Refusal::ConnectionLimit];

    /// The reason's label.
    pub fn name(self) -> &'static str {
        match self {
            Refusal::WebsocketCap => "websocket_cap",
            Refusal::ConnectionLimit => "connection_limit",
        }
    }
}

/// Descriptors kept for everything but connections and the process
/// sampler: logs, the metrics sampler's open files, sysfs and `/proc` reads
/// in flight, journalctl pipes, the listener.
pub const FILE_RESERVE: u64 = 128;

/// TCP connections beyond the WebSocket cap: room for `/healthz`, `/api`
/// and `/metrics` while every WebSocket slot is taken.
pub const HTTP_HEADROOM: usize = 64;

/// At most this many cgroup files are kept open (five per cgroup: 512
/// cgroups), and never more than a quarter of what connections leave.
pub const CGROUP_FILES_MAX: usize = 2560;

/// How the soft `RLIMIT_NOFILE` is shared out: the connections first (the
/// WebSocket cap and the HTTP headroom), a fixed reserve, then the kept
/// cgroup files (a quarter of the rest at most), and the rest for the
/// process sampler's kept `/proc/<pid>/stat` descriptors. None starves
/// another: each sampler keeps no more than its share, and reads the rest
/// by path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdBudget {
    /// The soft limit the shares come out of.
    pub soft_limit: u64,
    /// TCP connections accepted at once (WebSocket cap + HTTP headroom).
    pub connections: usize,
    /// Descriptors the containers sampler may keep.
    pub cgroup_files: usize,
    /// Descriptors the process sampler may keep.
    pub process_sampler: usize,
}

impl FdBudget {
    /// The shares of `soft_limit` with `max_connections` WebSocket sessions.
    pub fn split(soft_limit: u64, max_connections: usize) -> FdBudget {
        let connections = max_connections.saturating_add(HTTP_HEADROOM);
        let taken = FILE_RESERVE.saturating_add(connections as u64);
        let left =
            usize::try_from(soft_limit.saturating_sub(taken).min(1 << 20)).unwrap_or(1 << 20);
        let cgroup_files = (left / 4).min(CGROUP_FILES_MAX);
        FdBudget {
            soft_limit,
            connections,
            cgroup_files,
            process_sampler: left - cgroup_files,
        }
    }

    /// The shares of this process's soft limit now.
    pub fn current(max_connections: usize) -> FdBudget {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        FdBudget::split(limit.current.unwrap_or(1 << 20), max_connections)
    }
}

impl AppState {
    /// Builds the state; collects nothing yet but the boot time.
    pub fn new(config: Config) -> Arc<AppState> {
        let roots = config.roots();
        let errors = Arc::new(CollectorErrors::default());
        let clock = HostClock::read(&roots, &errors);
        let ttl = &config.ttl;
        let limits = &config.limits;
        let fd_budget = FdBudget::current(limits.max_connections);
        Arc::new(AppState {
            metrics_sampler: Arc::new(Mutex::new(MetricsSampler::new(
                &roots,
                config.collection.temp,
                clock,
                errors.clone(),
            ))),
            process_sampler: Arc::new(Mutex::new(ProcessSampler::new(
                &roots,
                fd_budget.process_sampler,
                clock.page_size,
            ))),
            gpu_sampler: config.collection.gpu.then(|| {
                Arc::new(Mutex::new(GpuSampler::new(
                    &roots,
                    gpu::default_pci_ids(),
                    Box::new(gpu::nvidia::NvmlReader::default()),
                )))
            }),
            gpus_known: AtomicU8::new(GPUS_UNKNOWN),
            gpu_release_armed: Arc::new(AtomicBool::new(false)),
            gpus: Ttl::new(ttl.gpu()),
            metrics: Ttl::new(ttl.metrics()),
            container_sampler: Arc::new(Mutex::new(ContainerSampler::new(
                &roots.sys,
                clock.cpus,
                fd_budget.cgroup_files,
            ))),
            containers: Ttl::new(ttl.containers()),
            container_names: Ttl::new(CONTAINER_NAMES_TTL),
            disks: Ttl::new(ttl.disks()),
            mount_probe: MountProbe::new(limits.mount_timeout()),
            processes: Ttl::new(ttl.processes()),
            host: Ttl::new(Duration::MAX),
            process_details: KeyedTtl::new(PROCESS_METRICS_TTL, PER_PID_ENTRIES),
            journals: KeyedTtl::new(JOURNAL_TTL, PER_PID_ENTRIES),
            journal: journal::Source {
                journalctl: config.collection.journalctl.clone(),
                journal_dirs: config.collection.journal_dirs.clone(),
                timeout: JOURNAL_TIMEOUT,
                running: Arc::new(Semaphore::new(limits.max_journal_reads)),
            },
            tcp_slots: Arc::new(Semaphore::new(fd_budget.connections)),
            sessions: Arc::new(Semaphore::new(limits.max_connections)),
            process_reads: Semaphore::new(limits.max_process_reads),
            refused: Default::default(),
            fd_budget,
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
            // The process baseline lists /proc anyway: its count serves the
            // first metrics replies, so the refresh below need not list it
            // again.
            let warmed = lock(&state.process_sampler).warm_up();
            let count = state.errors.ok("processes", warmed).flatten();
            let wanted = {
                let mut sampler = lock(&state.metrics_sampler);
                if let Some(count) = count {
                    sampler.note_process_count(count);
                }
                sampler.warm_up();
                sampler.refresh_needed()
            };
            if let Some(wanted) = wanted {
                let found = metrics::refresh(&state.roots, wanted);
                lock(&state.metrics_sampler).apply(found);
            }
            if let Some(gpus) = &state.gpu_sampler {
                // sysfs only: the driver is not opened until someone asks.
                let present = lock(gpus).discover();
                state.note_gpus(present);
            }
        });
    }

    /// Counts a refused connection.
    pub fn note_refused(&self, why: Refusal) {
        self.refused[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Connections refused for `why` since start.
    pub fn refused(&self, why: Refusal) -> u64 {
        self.refused[why as usize].load(Ordering::Relaxed)
    }

    /// WebSocket sessions open now.
    pub fn sessions_open(&self) -> usize {
        self.config
            .limits
            .max_connections
            .saturating_sub(self.sessions.available_permits())
    }

    /// Seconds since the server started.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Ticks, pages and boot time, read once.
    pub fn clock(&self) -> HostClock {
        self.clock
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
        let frame = match request {
            Request::Metrics => self
                .metrics()
                .await
                .map(|s| self.framed(request, &s, frames::metrics)),
            Request::Disks => self
                .disks()
                .await
                .map(|s| self.framed(request, &s, frames::disks)),
            Request::Processes => self
                .processes()
                .await
                .map(|s| self.framed(request, &s, frames::processes)),
            Request::Host => self
                .host()
                .await
                .map(|s| self.framed(request, &s, frames::host)),
            Request::Containers => self
                .containers()
                .await
                .map(|s| self.framed(request, &s, frames::containers)),
            Request::ProcessMetrics(pid) => self
                .process_detail(pid)
                .await
                .map(|s| self.framed(request, &s, frames::process_metrics)),
            Request::JournalEntries(pid) => self
                .journal(pid)
                .await
                .map(|s| self.framed(request, &s, frames::journal)),
        };
        // Collection errors were reported where they happened.
        frame.unwrap_or_else(|e| protocol::error_frame(&e.to_string(), request.name()))
    }

    /// The sample's frame: `encode` runs once per sample (and is counted),
    /// later readers share the result.
    fn framed<T>(
        &self,
        request: Request,
        sample: &Sample<T>,
        encode: fn(&Sample<T>) -> Frame,
    ) -> Frame {
        sample.frame(|s| {
            self.frames_encoded[request.index()].fetch_add(1, Ordering::Relaxed);
            encode(s)
        })
    }

    /// The metrics sample: from its cache, or read now. The reads are
    /// inline (microseconds of kernel counters); a process count older than
    /// a second, or the first sensor lookup, runs on the blocking pool
    /// first. GPU readings come from their own cache.
    pub async fn metrics(&self) -> Result<Shared<Metrics>, CollectError> {
        self.metrics
            .get_or_load(|| async {
                let wanted = lock(&self.metrics_sampler).refresh_needed();
                if let Some(wanted) = wanted {
                    let roots = self.roots.clone();
                    let found = blocking(&self.errors, "metrics", move || {
                        metrics::refresh(&roots, wanted)
                    })
                    .await?;
                    lock(&self.metrics_sampler).apply(found);
                }
                // A GPU failure (reported where it happened) leaves `gpus`
                // null; the rest goes on.
                let gpus = self.gpus().await.ok().flatten();
                let mut sample = lock(&self.metrics_sampler).sample();
                sample.gpus = gpus.map(|s| Arc::clone(s.value()));
                Ok(sample)
            })
            .await
    }

    /// The GPU readings: from their cache, or read now on the blocking
    /// pool. `None` with GPU collection off or on a host without GPUs
    /// (known after the first look, and then free).
    pub async fn gpus(&self) -> Result<Option<Shared<Arc<Vec<Gpu>>>>, CollectError> {
        let Some(sampler) = &self.gpu_sampler else {
            return Ok(None);
        };
        if self.gpus_known.load(Ordering::Relaxed) == GPUS_NONE {
            return Ok(None);
        }
        let sample = self
            .gpus
            .get_or_load(|| async {
                let sampler = sampler.clone();
                let (gpus, held) = blocking(&self.errors, "gpu", move || {
                    let mut sampler = lock(&sampler);
                    (sampler.sample(), sampler.driver_held())
                })
                .await?;
                self.note_gpus(!gpus.is_empty());
                if held {
                    self.arm_gpu_release();
                }
                Ok::<_, CollectError>(Arc::new(gpus))
            })
            .await?;
        Ok((!sample.value().is_empty()).then_some(sample))
    }

    /// Records whether the host has GPUs.
    fn note_gpus(&self, present: bool) {
        let known = if present { GPUS_FOUND } else { GPUS_NONE };
        self.gpus_known.store(known, Ordering::Relaxed);
    }

    /// Starts, unless one runs, the task that releases the GPU driver once
    /// no reading has been taken for [`GPU_IDLE_RELEASE`]. It wakes once
    /// per period while the driver is held, and ends when it is released.
    fn arm_gpu_release(&self) {
        let Some(sampler) = &self.gpu_sampler else {
            return;
        };
        if self.gpu_release_armed.swap(true, Ordering::AcqRel) {
            return;
        }
        let (sampler, armed) = (sampler.clone(), self.gpu_release_armed.clone());
        let errors = self.errors.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(GPU_IDLE_RELEASE).await;
                let s = sampler.clone();
                let released = blocking(&errors, "gpu", move || {
                    lock(&s).release_if_idle(GPU_IDLE_RELEASE)
                })
                .await;
                if released.unwrap_or(true) {
                    armed.store(false, Ordering::Release);
                    // A reading between the release and the store found the
                    // task still armed and did not start another: look again.
                    let s = sampler.clone();
                    let held = blocking(&errors, "gpu", move || lock(&s).driver_held()).await;
                    if !held.unwrap_or(false) || armed.swap(true, Ordering::AcqRel) {
                        break;
                    }
                }
            }
        });
    }

    /// The disks sample; an unreadable mount table is reported and is an
    /// error (there is no honest empty answer to give instead). A mount that
    /// did not answer in time is reported as a timeout.
    pub async fn disks(&self) -> Result<Shared<DiskTable>, CollectError> {
        let (roots, probe) = (self.roots.clone(), self.mount_probe.clone());
        self.disks
            .get_or_load(|| async move {
                let table = blocking(&self.errors, "disks", move || disks::read(&roots, &probe))
                    .await?
                    .inspect_err(|e| {
                        self.errors.report("disks", e);
                    })?;
                for hung in &table.unavailable {
                    let e = CollectError::TimedOut {
                        what: format!("statvfs of {} ({})", hung.mount_point, hung.source),
                        after: self.config.limits.mount_timeout(),
                    };
                    self.errors.report("disks", &e);
                }
                Ok(table)
            })
            .await
    }

    /// The containers and services: from their cache, or measured now on
    /// the blocking pool.
    pub async fn containers(&self) -> Result<Shared<ContainerTable>, CollectError> {
        let sampler = self.container_sampler.clone();
        self.containers
            .get_or_load(|| async {
                let mut table =
                    blocking(&self.errors, "containers", move || lock(&sampler).sample()).await?;
                if !table.containers.is_empty()
                    && !self.config.collection.container_sockets.is_empty()
                    && let Ok(names) = self.container_names().await
                {
                    containers::name_containers(&mut table, names.value());
                }
                Ok::<_, CollectError>(table)
            })
            .await
    }

    /// Container names from every configured runtime socket; one that
    /// cannot be asked is reported and adds none.
    async fn container_names(&self) -> Result<Shared<Arc<HashMap<String, String>>>, CollectError> {
        self.container_names
            .get_or_load(|| async {
                let mut all = HashMap::new();
                for socket in &self.config.collection.container_sockets {
                    match containers::runtime_names(socket, CONTAINER_NAMES_TIMEOUT).await {
                        Ok(names) => all.extend(names),
                        Err(e) => {
                            self.errors.report("containers", &e);
                        }
                    }
                }
                Ok::<_, CollectError>(Arc::new(all))
            })
            .await
    }

    /// The host facts; the disk total comes from the disks sample (whose
    /// failure was reported where it happened, and leaves the total
    /// unknown).
    pub async fn host(&self) -> Result<Shared<HostFacts>, CollectError> {
        let (roots, errors) = (self.roots.clone(), self.errors.clone());
        self.host
            .get_or_load(|| async {
                let disks = self.disks().await.map(|t| t.value().disks.clone());
                let disks = disks.unwrap_or_default();
                blocking(&self.errors, "host", move || {
                    host::collect(&roots, &disks, &errors)
                })
                .await
            })
            .await
    }

    /// The process table: from its cache, or a fresh scan on the blocking
    /// pool. A scan that cannot read `/proc` is reported and gives an
    /// empty table (socktop clients expect a process list, not an error).
    pub async fn processes(&self) -> Result<Shared<Arc<ProcessTable>>, CollectError> {
        self.processes
            .get_or_load(|| async {
                let (sampler, errors) = (self.process_sampler.clone(), self.errors.clone());
                let table = blocking(&self.errors, "processes", move || {
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
                // Closed only with the state, which outlives this borrow.
                let _permit = self.process_reads.acquire().await;
                let (proc_root, clock) = (self.roots.proc.clone(), self.clock);
                blocking(&self.errors, "process_metrics", move || {
                    process_detail::read(&proc_root, pid, Some(&table), clock)
                })
                .await
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

/// Runs a collection on the blocking pool, off the async workers; a
/// collection that panics is reported against `collector`.
async fn blocking<T, F>(
    errors: &CollectorErrors,
    collector: &'static str,
    f: F,
) -> Result<T, CollectError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        let e = CollectError::Aborted(e.to_string());
        errors.report(collector, &e);
        e
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_are_shared_out_without_overlap() {
        let b = FdBudget::split(1 << 20, 256);
        assert_eq!(b.connections, 256 + HTTP_HEADROOM);
        assert_eq!(b.cgroup_files, CGROUP_FILES_MAX);
        let total = FILE_RESERVE as usize + b.connections + b.cgroup_files + b.process_sampler;
        assert_eq!(total, 1 << 20);
        // A small limit: the connections and reserve first, a quarter of the
        // rest for cgroups, none of it negative.
        let small = FdBudget::split(1024, 256);
        assert_eq!(small.cgroup_files, (1024 - 128 - 320) / 4);
        assert_eq!(small.process_sampler, 1024 - 128 - 320 - small.cgroup_files);
        let starved = FdBudget::split(48, 256);
        assert_eq!((starved.cgroup_files, starved.process_sampler), (0, 0));
    }
}
