//! The reply kinds: one module each, and the one table of them.
//!
//! A kind module holds everything about one kind of reading: its request
//! names in both forms, its TTL, its part of the state (caches and sampler,
//! built from the configuration), its loader (calling into [`crate::collect`]),
//! its wire types, and its encoders for every surface (the WebSocket frame,
//! `/api` JSON, Prometheus series, `sonde check` lines). It exports one
//! [`crate::state::Kind`] named `KIND`.
//!
//! [`crate::table::KINDS`] lists them (with node_exporter's collectors,
//! [`crate::node::KIND`]). Request parsing and its unknown-request hint,
//! the `/api` routes and index, `/metrics`, `sonde check` and the frame
//! counters all iterate it, so adding a kind is one new file here plus its
//! `pub mod` line and its entry in that table (see "Adding a kind" in
//! `docs/architecture.md`).
//!
//! Where one kind needs another's reading it calls that kind's public
//! loader, documented at the call: `host` takes the disk total from
//! `disks::sample`, `process_metrics` the CPU% from `processes::sample`,
//! and a process scan hands its count to `metrics::note_process_count`.

use std::sync::Arc;

use crate::state::AppState;

// The kind modules, declared plainly (a macro would hide them from
// rustfmt); a test checks each module is in the table.
/// Software RAID arrays and ZFS pools.
pub mod arrays;
/// Containers and systemd services.
pub mod containers;
/// CPU frequency per logical CPU.
pub mod cpu_frequency;
/// Block device I/O rates.
pub mod disk_io;
/// Mounted filesystems.
pub mod disks;
/// The charted kinds' recent samples.
pub mod history;
/// Static host facts.
pub mod host;
/// Network interfaces: state, addresses, rates.
pub mod interfaces;
/// What one process wrote to the journal.
pub mod journal_entries;
/// CPU, memory, network, load, sensors, GPUs.
pub mod metrics;
/// Batteries, AC adapters and RAPL power.
pub mod power;
/// Pressure stall information.
pub mod pressure;
/// One process in detail.
pub mod process_metrics;
/// The process list.
pub mod processes;
/// Hardware monitoring chips: temperatures, fans, voltages, power.
pub mod sensors;
/// Sockets per protocol and TCP states.
pub mod sockets;

pub mod loaded;
pub mod plain;

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
