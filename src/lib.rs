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
//! No two modules import each other (a test walks `src/` to keep it so):
//! [`wire`] and [`budget`] are leaves, [`cache`] uses only [`wire`],
//! [`state`] names no kind, the kinds use the state and the collectors,
//! and only [`protocol`], [`server`] and [`ops`] go through the table of
//! kinds.
//!
//! - [`config`]: flags and environment in groups (listen, cache TTLs,
//!   collection, TLS, HTTP, limits), the socktop names in one alias table;
//!   parsed once. Panics (`unwrap`, `expect`, `panic!`) are denied in the
//!   library and the binary by `Cargo.toml`'s `[lints]`.
//! - [`wire`]: the encoded frame, the 768-byte gzip rule, error frames.
//! - [`protocol`]: request parsing (both forms) over the table of kinds.
//! - [`kinds`]: one module per reply kind (`metrics`, `disks`, `processes`,
//!   `process_metrics`, `journal_entries`, `host`, `containers`, `disk_io`,
//!   `interfaces`, `pressure`, `sockets`, and `node`, on `/metrics` only): its
//!   names, part of the state, loader, wire types and encoders for every
//!   surface; and `crate::table::KINDS`, the one list of them.
//! - [`node`]: node_exporter's collectors for `/metrics`, one module each
//!   (`node::TABLE`), reading their own files or a kind's sample
//!   (`node::Scrape`: each kind's sample once per scrape); served by the
//!   `node` kind.
//! - [`model`]: the protobuf types generated from `proto/`.
//! - [`cache`]: the one generic single-flight TTL cache of typed samples,
//!   each with its encodings memoized.
//! - [`state`]: what a kind is, the kinds' parts of one server (caches and
//!   samplers), and dispatch; no statics.
//! - [`budget`]: how the open-file limit is shared out.
//! - [`ops`]: operator commands: `check`, `healthcheck`, `completions`,
//!   `man`.
//! - [`server`]: the router, the one listener for plain and TLS with
//!   admission (`server::listener`), the WebSocket loop (`server::ws`),
//!   JSON helpers (`server::http`), Prometheus text (`server::prometheus`,
//!   `server::exposition`), the
//!   live page (`assets/index.html`, embedded), auth (`server::auth`),
//!   certificates (`server::tls`), shutdown.
//! - [`collect`]: one module per source: `metrics` (the metrics sampler
//!   over `cpu`, `memory`, `network`, `system`, `temperature`),
//!   `gpu/` (`mod`: discovery, sleep state and the sampler; `lifecycle`:
//!   the readings' cache and the driver's release; `nvidia`: NVML
//!   behind a trait; `amd`, `intel`: sysfs), `processes/` (`parser`,
//!   `listing`, `watch`, `sampler`), `process_detail`, `journal`, `disks`
//!   (each mount measured with a timeout), `containers` (cgroup v2),
//!   `host`, and `errors` (collector errors, logged once and counted).

pub mod api;
pub mod auth;
pub mod budget;
pub mod cache;
pub mod collect;
pub mod config;
pub mod exposition;
pub mod kinds;
pub mod model;
pub mod node;
pub mod ops;
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
