//! A scrape's samples read ahead on one thread of the blocking pool, each
//! kind's reads run there ([`crate::collect::inline`]) rather than handed
//! to the pool one kind at a time: a default scrape made 13 such hand-offs,
//! two thread wake-ups each, and scheduling was about a third of its CPU.
//!
//! Only what the scrape serves is read ahead. What is not ready within the
//! scrape's slice ([`Scrape::slice`]) is read by its readers as before; a
//! read stuck in the kernel keeps the one thread, and no scrape reads ahead
//! again until it returns.

use std::any::{Any, TypeId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;

use crate::collect::{CollectError, inline, lock};
use crate::kinds;
use crate::state::{AppState, Scrape, Shared};

/// A sample, its type erased, as a scrape keeps it.
type Loaded = Arc<dyn Any + Send + Sync>;
/// How one sample is read: its kind's loader (through the kind's cache).
type Load = for<'a> fn(&'a AppState) -> BoxFuture<'a, (TypeId, Result<Loaded, CollectError>)>;

fn erase<T: Send + Sync + 'static>(
    read: Result<Shared<T>, CollectError>,
) -> (TypeId, Result<Loaded, CollectError>) {
    (TypeId::of::<T>(), read.map(|s| s as Loaded))
}

/// Who reads a sample: sonde's own series (`sonde`) or node collectors.
type Readers = &'static [&'static str];
/// Whether the configuration serves a sample's readers at all.
type Served = fn(&AppState) -> bool;

/// Every sample a scrape may read ahead, who reads it, and whether the
/// configuration serves it at all.
static AHEAD: &[(Readers, Served, Load)] = &[
    (
        &[
            "sonde", "cpu", "meminfo", "loadavg", "netdev", "netclass", "stat", "hwmon",
        ],
        |_| true,
        |s| Box::pin(async move { erase(kinds::metrics::sample(s).await) }),
    ),
    (
        &["filesystem"],
        |_| true,
        |s| Box::pin(async move { erase(kinds::disks::sample(s).await) }),
    ),
    (
        &["diskstats"],
        |_| true,
        |s| Box::pin(async move { erase(kinds::disk_io::sample(s).await) }),
    ),
    (
        &["cpufreq"],
        |_| true,
        |s| Box::pin(async move { erase(kinds::cpu_frequency::sample(s).await) }),
    ),
    (
        &["mdadm"],
        |_| true,
        |s| Box::pin(async move { erase(kinds::arrays::sample(s).await) }),
    ),
    (
        &["pressure"],
        |_| true,
        |s| Box::pin(async move { erase(kinds::pressure::sample(s).await) }),
    ),
    (
        &["rapl"],
        |_| true,
        |s| Box::pin(async move { erase(kinds::power::sample(s).await) }),
    ),
    (
        &["sockstat"],
        |_| true,
        |s| Box::pin(async move { erase(kinds::sockets::sockstats(s).await) }),
    ),
    (
        &["tcpstat"],
        |_| true,
        |s| Box::pin(async move { erase(kinds::sockets::tcp(s).await) }),
    ),
    (
        &["sonde"],
        |s| s.config.http.prometheus_containers,
        |s| Box::pin(async move { erase(kinds::containers::sample(s).await) }),
    ),
    (
        &["processes"],
        |_| true,
        |s| Box::pin(async move { erase(kinds::processes::sample(s).await) }),
    ),
];

/// Set while a read-ahead thread is still reading.
static READING: AtomicBool = AtomicBool::new(false);

/// Whether `reader` is served by this scrape.
fn wanted(state: &AppState, scrape: &Scrape<'_>, reader: &str) -> bool {
    scrape.selects(reader) && (reader == "sonde" || state.config.exporter.enabled(reader))
}

/// Reads ahead what `scrape` will serve and hands the samples to it.
pub async fn read_ahead(state: &Arc<AppState>, scrape: &Scrape<'_>) {
    let loads: Vec<Load> = AHEAD
        .iter()
        .filter(|(readers, served, _)| {
            served(state) && readers.iter().any(|r| wanted(state, scrape, r))
        })
        .map(|(_, _, load)| *load)
        .collect();
    // One sample read ahead saves nothing: it is one hand-off either way.
    if loads.len() < 2 || READING.swap(true, Ordering::AcqRel) {
        return;
    }
    // Cleared when the reading ends, however it ends: done, panicked, or
    // never started (the runtime shutting down drops it unrun).
    struct Reading;
    impl Drop for Reading {
        fn drop(&mut self) {
            READING.store(false, Ordering::Release);
        }
    }
    let reading = Reading;
    let done = Arc::new((Mutex::new(Vec::new()), tokio::sync::Notify::new()));
    let (reader_state, reader_done) = (state.clone(), done.clone());
    let runtime = tokio::runtime::Handle::current();
    drop(tokio::task::spawn_blocking(move || {
        let _reading = reading;
        inline(|| {
            for load in loads {
                let read = runtime.block_on(load(&reader_state));
                lock(&reader_done.0).push(read);
            }
        });
        reader_done.1.notify_one();
    }));
    let _ready = tokio::time::timeout_at(scrape.slice(), done.1.notified()).await;
    for (of, read) in std::mem::take(&mut *lock(&done.0)) {
        match read {
            Ok(sample) => scrape.preset(of, sample),
            // Its reader is told it failed, not to read it again: the
            // failure is counted once, where it was read.
            Err(_) => scrape.failed(of),
        }
    }
}
