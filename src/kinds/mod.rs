//! The reply kinds: one module each, and the one table of them.
//!
//! A kind module holds everything about one kind of reading: its request
//! names in both forms, its TTL, its part of the state (caches and sampler,
//! built from the configuration), its loader (calling into [`crate::collect`]),
//! its wire types, and its encoders for every surface (the WebSocket frame,
//! `/api` JSON, Prometheus series, `sonde check` lines). It exports one
//! [`Kind`] named `KIND`.
//!
//! [`TABLE`] lists them. Request parsing and its unknown-request hint,
//! the `/api` routes, `/metrics`, `sonde check` and the frame counters all
//! iterate it, so adding a kind is one new file here plus one line in the
//! `kinds!` list below (see "Adding a kind" in `docs/architecture.md`).
//!
//! Where one kind needs another's reading it calls that kind's public
//! loader, documented at the call: `host` takes the disk total from
//! `disks::sample`, `process_metrics` the CPU% from `processes::sample`,
//! and a process scan hands its count to `metrics::note_process_count`.

use std::sync::Arc;

use crate::state::{AppState, Kind};

/// Declares the kind modules and lists them in [`TABLE`], in one place.
macro_rules! kinds {
    ($($(#[$doc:meta])* $module:ident),* $(,)?) => {
        $($(#[$doc])* pub mod $module;)*

        /// Every kind the server answers, in the order `sonde check` and
        /// `/metrics` go through them.
        pub static TABLE: &[&Kind] = &[$(&$module::KIND),*];
    };
}

kinds! {
    /// CPU, memory, network, load, sensors, GPUs.
    metrics,
    /// Mounted filesystems.
    disks,
    /// The process list.
    processes,
    /// One process in detail.
    process_metrics,
    /// What one process wrote to the journal.
    journal_entries,
    /// Static host facts.
    host,
    /// Containers and systemd services.
    containers,
    /// Block device I/O rates.
    disk_io,
    /// Network interfaces: state, addresses, rates.
    interfaces,
    /// Pressure stall information.
    pressure,
    /// Sockets per protocol and TCP states.
    sockets,
    /// Hardware monitoring chips: temperatures, fans, voltages, power.
    sensors,
    /// Batteries, AC adapters and RAPL power.
    power,
    /// CPU frequency per logical CPU.
    cpu_frequency,
    /// Software RAID arrays and ZFS pools.
    arrays,
    /// node_exporter's collectors, on /metrics only.
    node,
}

pub mod loaded;

/// Takes one baseline of CPU and process counters, counts processes and
/// looks for the temperature sensor and the GPUs, in the background, so the
/// first request's CPU% needs no extra wait and the first metrics reply is
/// read inline. One-shot: after it, nothing runs until a request comes.
pub fn warm_up(state: &Arc<AppState>) {
    let state = state.clone();
    tokio::spawn(async move {
        // The process baseline lists /proc anyway: its count serves the
        // first metrics replies, so the metrics warm-up need not list it
        // again.
        let count = processes::warm_up(&state).await;
        if let Some(count) = count {
            metrics::note_process_count(&state, count);
        }
        metrics::warm_up(&state).await;
    });
}
