//! sonde: a small, fast, on-demand host metrics server speaking the socktop
//! agent's WebSocket protocol.
//!
//! # Layout
//!
//! Data flows one way: a request (socket frame or HTTP GET) → [`protocol`]
//! or an `/api` route (parse) → a kind of [`kinds`] (its cache of typed
//! samples in [`state`]) → [`collect`] (read the host) → a typed sample →
//! the kind's encoding for the surface that asked (WebSocket frame, JSON
//! bytes, Prometheus text), made once per sample → the wire.
//!
//! The modules are layers: no module, and no folder, imports one that
//! imports it back (`tests/layout.rs` walks `src/` to keep it so, and keeps
//! this list naming every module). From the bottom:
//!
//! - [`wire`] (the encoded frame, the 768-byte gzip rule, error frames),
//!   [`budget`] (how the open-file limit is shared out), [`model`] (the
//!   protobuf types generated from `proto/`), [`cache`] (the one generic
//!   single-flight TTL cache of typed samples, each encoding memoized),
//!   [`history`] (the charted kinds' recent samples, kept as columns while
//!   anyone asks, from what their caches take anyway).
//! - [`collect`]: one module per source, each a pure parser over `&str`
//!   and a reader under the configured roots. `metrics` (the metrics
//!   sampler over `cpu`, `memory`, `network`, `system`), `thermal` (every
//!   temperature: `hwmon` chips, thermal zones), `os_release`, `host`,
//!   `disks` (each mount measured with a timeout), `diskstats`, `netclass`,
//!   `links` (devices and addresses from routing netlink), `addresses`,
//!   `pressure`, `sockstat`, `tcp_states`, `cpufreq`,
//!   `power_supply`, `rapl`, `mdstat`, `zfs`, `journal`, `process_detail`,
//!   `process_io` (each process's disk I/O, read only when asked),
//!   `process_net` (each process's TCP traffic, the same way);
//!   `processes/` (`parser`, `listing`, `table`, `watch`, `sampler`),
//!   `containers/` (`walk`, `files`, `parser`, `names`, `runtime`, `types`,
//!   `sampler`), `gpu/` (`discovery`, `sampler`, `lifecycle`, `types`,
//!   `nvidia`: NVML behind a trait, `amd`, `intel`, `clients`); shared
//!   helpers `files` (kept descriptors), `netlink` (dumps), `sysfs`,
//!   `pattern`, `clock` and `errors` (collector errors, logged once and
//!   counted).
//! - [`config`]: flags and environment parsed once into typed groups
//!   (`listen`, `ttl`, `collection`, `http`, `limits`, `tls`, `exporter`,
//!   `history`),
//!   the socktop names in one table (`aliases`). Panics (`unwrap`,
//!   `expect`, `panic!`) are denied in the library and the binary by
//!   `Cargo.toml`'s `[lints]`.
//! - [`state`]: what a kind is ([`state::Kind`]), the kinds' parts of one
//!   server, dispatch, and one `/metrics` scrape's samples
//!   ([`state::Scrape`]); it names no kind.
//! - [`exposition`] (Prometheus text, written one way), [`openmetrics`]
//!   (the same text as OpenMetrics, for clients asking for it), [`auth`] (the
//!   token extractor), [`api`] (JSON with cache headers, the `/api` index
//!   and its 404).
//! - [`kinds`]: one module per reply kind: `metrics`, `disks`,
//!   `processes`, `process_metrics`, `journal_entries`, `host`,
//!   `containers`, `disk_io`, `interfaces`, `pressure`, `sockets`,
//!   `sensors`, `power`, `cpu_frequency`, `arrays`, `history` (the
//!   charted kinds' recent samples); with `plain` (the
//!   reply and `/api` handler every JSON kind shares) and `loaded` (a
//!   sample that is one read of files on the blocking pool).
//! - [`node`]: node_exporter's collectors for `/metrics`, one module each
//!   (`node::TABLE`), reading their own files or a kind's sample through
//!   the scrape, and `kind` (their entry in the table of kinds), `batch`
//!   (the file collectors run against the scrape's deadline), `util`:
//!   `arp`, `bcache`, `bcachefs`, `bonding`, `btrfs`, `conntrack`, `cpu`, `cpufreq`,
//!   `diskstats`, `dmi`, `dmmultipath`, `edac`, `entropy`, `fibrechannel`, `filefd`,
//!   `filesystem`,
//!   `hwmon`, `infiniband`, `ipvs`, `kernel_hung`, `loadavg`, `mdadm`, `meminfo`, `netclass`,
//!   `netdev`, `netstat`, `nfs`, `nfsd`, `nvme`, `os`,
//!   `powersupplyclass`, `pressure`, `processes`, `rapl`, `schedstat`,
//!   `selinux`, `sockstat`, `softnet`, `stat`, `tapestats`, `tcpstat`,
//!   `textfile`,
//!   `thermal_zone`, `time`, `timex`, `udp_queues`, `uname`, `vmstat`,
//!   `watchdog`, `xfs`, `zfs`.
//! - [`table`]: the one table of every kind, above both folders;
//!   [`prefetch`]: a scrape's samples read ahead on one thread, also above
//!   both.
//! - [`glances`]: the Glances REST API v4, read-only, from the kinds'
//!   samples: `system` (`cpu`, `percpu`, `load`, `mem`, `memswap`,
//!   `uptime`, `system`, `core`), `io` (`network`, `diskio`, `fs`),
//!   `hardware` (`sensors`, `gpu`, `raid`, `processcount`, `processlist`,
//!   `containers`), `history` (Glances' history endpoints, from sonde's).
//! - [`protocol`]: request parsing (both forms) over the table.
//! - [`server`]: the router, the one listener for plain and TLS with
//!   admission (`listener`), the browser guard (`guard`), the WebSocket
//!   loop (`ws`), `/metrics` (`prometheus`), the live page (`page`,
//!   `assets/index.html` embedded), certificates (`tls`), shutdown.
//! - [`ops`]: operator commands: `check`, `healthcheck`, `completions`,
//!   `man`; `main` is the thin binary over them.

pub mod api;
pub mod auth;
pub mod budget;
pub mod cache;
pub mod collect;
pub mod config;
pub mod exposition;
pub mod glances;
pub mod history;
pub mod kinds;
pub mod model;
pub mod node;
pub mod openmetrics;
pub mod ops;
pub mod prefetch;
pub mod protocol;
pub mod server;
pub mod state;
pub mod table;
pub mod wire;

/// sonde's version, as reported by `/healthz` and the host reply.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The version with the git commit it was built from, when built from a
/// git checkout (`sonde --version`).
pub const LONG_VERSION: &str = env!("SONDE_LONG_VERSION");

/// Keeps glibc's allocator from holding on to freed memory. A process scan
/// allocates a few large, short-lived buffers (rows, protobuf, gzip state);
/// with glibc's defaults those are served from per-thread arenas and a
/// self-raising mmap threshold, and the freed memory stays in the RSS
/// (measured: 11.8 MB instead of 6.7 MB at 3,000 processes). Fixed
/// thresholds return buffers over 128 KiB to the kernel, and two arenas
/// are enough for two worker threads.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        for (param, value) in [
            (libc::M_ARENA_MAX, 2),
            (libc::M_MMAP_THRESHOLD, 128 * 1024),
            (libc::M_TRIM_THRESHOLD, 128 * 1024),
        ] {
            // SAFETY: mallopt only sets allocator tunables; it is called from
            // main before any other thread exists.
            unsafe {
                libc::mallopt(param, value);
            }
        }
    }
}

/// Asks the allocator to return the free memory it holds to the kernel,
/// after a large short-lived working set (a big textfile directory): small
/// allocations freed in the middle of an arena stay in the RSS otherwise,
/// whatever the trim threshold.
pub fn give_memory_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages back to the kernel; it is
    // safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Raises the soft open-file limit to the hard limit, so the process sampler
/// can keep one descriptor per process (it stays within what it finds).
pub fn raise_fd_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!(error = %e, "could not raise RLIMIT_NOFILE");
        }
    }
}
