//! The server state: the collectors and one TTL cache per request kind,
//! built from the [`Config`]. No statics: every test builds its own.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cache::{KeyedTtl, Ttl};
use crate::collect::cpu::CpuSampler;
use crate::collect::processes::{ProcessSampler, count_processes};
use crate::collect::temperature::CpuTemperature;
use crate::collect::{Kept, Roots, disks, host, journal, memory, network, process_detail, system};
use crate::config::Config;
use crate::model::{self, DiskEntry, Metrics, Network};
use crate::protocol::{self, Frame, Request};

/// Locks a collector mutex; a panic in another collection must not take
/// every later request down with it, so poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The small files behind a metrics reply, kept open between requests.
#[derive(Debug)]
struct FastFiles {
    /// `/proc/meminfo`.
    meminfo: Kept,
    /// `/proc/net/dev`.
    net_dev: Kept,
    /// `/proc/sys/kernel/hostname` (it can change while sonde runs, but
    /// rarely, and procfs takes as long to produce it as `/proc/meminfo`).
    hostname: Kept,
    /// The last hostname read and when, reused up to [`REUSE_MAX_AGE`].
    hostname_read: Option<(Instant, String)>,
    /// `/proc/loadavg`.
    loadavg: Kept,
    /// The CPU sensor; `None` when temperature collection is off.
    temperature: Option<CpuTemperature>,
    /// The last known process count and when it was taken: counting means
    /// listing all of `/proc`, so a metrics reply reuses a count up to
    /// [`REUSE_MAX_AGE`] old (the process list refreshes it too).
    process_count: Option<(Instant, u64)>,
}

/// How old a reused process count or hostname may be.
const REUSE_MAX_AGE: Duration = Duration::from_secs(1);

/// The value in `slot` if it is younger than [`REUSE_MAX_AGE`], else a fresh
/// one from `read`, stored for the next caller.
fn reuse<T: Clone>(slot: &mut Option<(Instant, T)>, read: impl FnOnce() -> T) -> T {
    match slot {
        Some((at, value)) if at.elapsed() < REUSE_MAX_AGE => value.clone(),
        _ => {
            let value = read();
            *slot = Some((Instant::now(), value.clone()));
            value
        }
    }
}

/// Everything a connection needs to answer requests.
#[derive(Debug)]
pub struct AppState {
    /// The configuration the server was started with.
    pub config: Config,
    /// Where collectors read the host from.
    roots: Roots,
    /// When the server started, for `/healthz`.
    started: Instant,
    /// `/proc/stat` sampler behind `cpu_total` / `cpu_per_core`.
    cpu: Arc<Mutex<CpuSampler>>,
    /// The process table sampler (kept descriptors, CPU% history).
    processes: Arc<Mutex<ProcessSampler>>,
    /// The rest of the metrics reply.
    fast: Arc<Mutex<FastFiles>>,
    /// Encoded metrics replies.
    metrics_reply: Ttl<Frame>,
    /// Encoded disks replies.
    disks_reply: Ttl<Frame>,
    /// Encoded processes replies.
    processes_reply: Ttl<Frame>,
    /// The host reply: collected once, kept for the server's life.
    host_reply: Ttl<Frame>,
    /// Per-PID process details, briefly.
    process_metrics_replies: KeyedTtl<u32, Frame>,
    /// Per-PID journal entries, briefly.
    journal_replies: KeyedTtl<u32, Frame>,
    /// How journal entries are read.
    journal: journal::Source,
    /// Cancelled on shutdown: every connection closes with 1001.
    pub shutdown: CancellationToken,
    /// Open WebSocket connections, awaited on shutdown.
    pub connections: TaskTracker,
}

/// How long a process_metrics answer is reused.
const PROCESS_METRICS_TTL: Duration = Duration::from_millis(250);
/// How long a journal_entries answer is reused.
const JOURNAL_TTL: Duration = Duration::from_secs(1);
/// How long journalctl may take before the reply says so.
const JOURNAL_TIMEOUT: Duration = Duration::from_secs(2);
/// PIDs each per-PID cache holds.
const PER_PID_ENTRIES: usize = 64;

/// How many `/proc/<pid>/stat` descriptors the process sampler may keep:
/// the soft `RLIMIT_NOFILE` less a reserve for sockets and other files.
pub fn fd_budget() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let soft = limit.current.unwrap_or(1 << 20);
    soft.saturating_sub(512).min(1 << 20) as usize
}

impl AppState {
    /// Builds the state; collects nothing yet.
    pub fn new(config: Config) -> Arc<AppState> {
        let roots = config.roots();
        let proc = &roots.proc;
        let fast = FastFiles {
            meminfo: Kept::new(proc.join("meminfo")),
            net_dev: Kept::new(proc.join("net/dev")),
            hostname: Kept::new(proc.join("sys/kernel/hostname")),
            hostname_read: None,
            loadavg: Kept::new(proc.join("loadavg")),
            temperature: config.temp.then(|| CpuTemperature::new(&roots)),
            process_count: None,
        };
        Arc::new(AppState {
            cpu: Arc::new(Mutex::new(CpuSampler::new(&roots))),
            processes: Arc::new(Mutex::new(ProcessSampler::new(&roots, fd_budget()))),
            fast: Arc::new(Mutex::new(fast)),
            metrics_reply: Ttl::new(config.metrics_ttl()),
            disks_reply: Ttl::new(config.disks_ttl()),
            processes_reply: Ttl::new(config.processes_ttl()),
            host_reply: Ttl::new(std::time::Duration::MAX),
            process_metrics_replies: KeyedTtl::new(PROCESS_METRICS_TTL, PER_PID_ENTRIES),
            journal_replies: KeyedTtl::new(JOURNAL_TTL, PER_PID_ENTRIES),
            journal: journal::Source {
                journalctl: config.journalctl.clone(),
                journal_dirs: config.journal_dirs.clone(),
                timeout: JOURNAL_TIMEOUT,
            },
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
            started: Instant::now(),
            roots,
            config,
        })
    }

    /// Takes one baseline sample of CPU and process counters in the
    /// background, so the first request's CPU% needs no extra wait. One-shot:
    /// after it, nothing runs until a request comes.
    pub fn warm_up(self: &Arc<Self>) {
        let (cpu, processes) = (self.cpu.clone(), self.processes.clone());
        tokio::task::spawn_blocking(move || {
            lock(&cpu).warm_up();
            lock(&processes).warm_up();
        });
    }

    /// Seconds since the server started.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// The reply to one request: from the cache, or collected now.
    pub async fn reply(&self, request: Request) -> Frame {
        let result = match request {
            Request::Metrics => {
                self.metrics_reply
                    .get_or_load(|| async {
                        // Inline, not on the blocking pool: these are kernel
                        // counters (/proc/stat, meminfo, net/dev, loadavg,
                        // uptime, a sysfs sensor) generated in a few µs that
                        // never wait on storage or on another process, and
                        // the hand-off to a blocking thread cost more CPU
                        // than the reads themselves.
                        Ok::<_, String>(metrics_frame(&self.cpu, &self.fast, &self.roots.proc))
                    })
                    .await
            }
            Request::Disks => {
                let roots = self.roots.clone();
                self.disks_reply
                    .get_or_load(|| blocking(move || disks_frame(&roots)))
                    .await
            }
            Request::Processes => self.processes_frame().await,
            Request::Host => {
                let roots = self.roots.clone();
                self.host_reply
                    .get_or_load(|| {
                        blocking(move || {
                            protocol::json_reply(&model::Host::from(host::collect(&roots)))
                        })
                    })
                    .await
            }
            Request::ProcessMetrics(pid) => {
                self.process_metrics_replies
                    .get_or_load(pid, || self.process_metrics_frame(pid))
                    .await
            }
            Request::JournalEntries(pid) => {
                self.journal_replies
                    .get_or_load(pid, || async {
                        let read = journal::read(&self.journal, pid).await;
                        let reply = model::JournalReply::new(read, now_ms() / 1000);
                        Ok::<_, String>(protocol::json_reply(&reply))
                    })
                    .await
            }
        };
        result.unwrap_or_else(|e| protocol::error_frame(&e, request.name()))
    }
}

impl AppState {
    /// The processes reply, from its cache or a fresh scan.
    async fn processes_frame(&self) -> Result<Frame, String> {
        let (processes, fast) = (self.processes.clone(), self.fast.clone());
        self.processes_reply
            .get_or_load(|| blocking(move || processes_frame(&processes, &fast)))
            .await
    }

    /// One process in detail. CPU% and children come from the process list
    /// (refreshed through its own cache when stale), not a second scan.
    async fn process_metrics_frame(&self, pid: u32) -> Result<Frame, String> {
        self.processes_frame().await?;
        let table = lock(&self.processes).latest();
        let proc_root = self.roots.proc.clone();
        blocking(move || {
            let boot_time_secs = std::fs::read_to_string(proc_root.join("stat"))
                .ok()
                .and_then(|t| crate::collect::cpu::parse_stat(&t).ok())
                .and_then(|s| s.boot_time_secs)
                .unwrap_or(0);
            let clock = process_detail::Clock {
                ticks_per_sec: rustix::param::clock_ticks_per_second(),
                boot_time_secs,
                page_size: rustix::param::page_size() as u64,
            };
            match process_detail::read(&proc_root, pid, table.as_deref(), clock) {
                Ok(detail) => protocol::json_reply(&model::ProcessMetricsReply {
                    process: detail.into(),
                    cached_at: now_ms() / 1000,
                }),
                Err(process_detail::NotFound(pid)) => protocol::not_found_frame(pid),
            }
        })
        .await
    }
}

/// Runs a collection on the blocking pool, off the async workers.
async fn blocking<F>(f: F) -> Result<Frame, String>
where
    F: FnOnce() -> Frame + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("collection failed: {e}"))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Collects and encodes a metrics reply. Each part degrades on its own.
fn metrics_frame(
    cpu: &Mutex<CpuSampler>,
    fast: &Mutex<FastFiles>,
    proc_root: &std::path::Path,
) -> Frame {
    let usage = lock(cpu).sample().unwrap_or_default();
    let sampled_at_ms = now_ms();
    let mut f = lock(fast);
    let mem = f
        .meminfo
        .read()
        .ok()
        .and_then(|t| memory::parse_meminfo(t).ok())
        .unwrap_or_default();
    let networks = f
        .net_dev
        .read()
        .ok()
        .and_then(|t| network::parse_net_dev(t).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|i| Network {
            name: i.name,
            received: i.received_bytes,
            transmitted: i.transmitted_bytes,
        })
        .collect();
    let FastFiles {
        hostname: hostname_file,
        hostname_read,
        ..
    } = &mut *f;
    let hostname = reuse(hostname_read, || {
        hostname_file
            .read()
            .map(|h| h.trim().to_owned())
            .unwrap_or_default()
    });
    let load_avg = f
        .loadavg
        .read()
        .ok()
        .and_then(|t| system::parse_loadavg(t).ok());
    // From the boot time /proc/stat already gave: one file fewer to read.
    let uptime_secs = usage
        .boot_time_secs
        .map(|boot| (sampled_at_ms / 1000).saturating_sub(boot));
    let cpu_temp_c = f.temperature.as_mut().and_then(CpuTemperature::read);
    let process_count = reuse(&mut f.process_count, || {
        count_processes(proc_root).unwrap_or(0)
    });
    drop(f);
    let metrics = Metrics {
        cpu_total: usage.total_percent,
        cpu_per_core: usage.per_core_percent,
        mem_total: mem.total_bytes,
        mem_used: mem.used_bytes(),
        swap_total: mem.swap_total_bytes,
        swap_used: mem.swap_used_bytes(),
        hostname,
        sampled_at_ms,
        cpu_temp_c,
        networks,
        gpus: None,
        disks: Vec::new(),
        top_processes: Vec::new(),
        process_count,
        load_avg,
        uptime_secs,
        mem_available: mem.available_bytes,
    };
    protocol::json_reply(&metrics)
}

fn disks_frame(roots: &Roots) -> Frame {
    let entries: Vec<DiskEntry> = disks::read(roots).iter().map(DiskEntry::from).collect();
    protocol::json_reply(&entries)
}

fn processes_frame(processes: &Mutex<ProcessSampler>, fast: &Mutex<FastFiles>) -> Frame {
    let table = lock(processes).sample().unwrap_or_default();
    lock(fast).process_count = Some((Instant::now(), table.process_count));
    protocol::binary_frame(model::encode_processes(&table))
}
