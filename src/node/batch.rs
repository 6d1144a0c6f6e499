//! One scrape's file collectors, run against its deadline.
//!
//! They run one after another on a blocking thread: one trip to the pool
//! for the lot, as most take microseconds. A read that stalls (a sysfs
//! attribute whose driver hangs, a file on a hung FUSE mount) must not
//! hold up the rest, so when no collector has finished for [`STALL`]
//! another thread takes the next ones (up to [`THREADS`]). At the deadline,
//! or once only reads that have not moved for the scrape's patience are
//! left, the scrape is served with what has finished: a collector still reading
//! is served as failed with the time it had, and is not started again,
//! its later scrapes failing it at once, until that read returns (a
//! thread left in a stuck read is one thread, not one per scrape).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{FilesFn, NodeCollector, Outcome, Source};
use crate::collect::files::FileCache;
use crate::collect::{CollectorErrors, Roots, lock};
use crate::config::Exporter;

/// How long no collector may finish before another thread takes the next
/// ones.
pub const STALL: Duration = Duration::from_millis(200);
/// The most threads one scrape's file collectors use.
pub const THREADS: usize = 4;

/// One collector of the batch: what it reads with, and whether its read
/// has returned.
#[derive(Debug)]
pub struct Job {
    /// The collector.
    pub collector: &'static NodeCollector,
    /// Its reader.
    pub read: FilesFn,
    /// Its kept files (its own, so a stuck read holds no lock the others
    /// take).
    pub files: Arc<Mutex<FileCache>>,
}

/// The collectors whose read a scrape gave up on, each with the flag its
/// read sets when it returns.
#[derive(Debug, Default)]
pub struct Stuck(Mutex<HashMap<&'static str, Arc<AtomicBool>>>);

impl Stuck {
    /// Whether `name`'s read from an earlier scrape has still not returned
    /// (forgotten once it has).
    pub fn still(&self, name: &str) -> bool {
        let mut stuck = lock(&self.0);
        match stuck.get(name) {
            Some(returned) if !returned.load(Ordering::Acquire) => true,
            Some(_) => {
                stuck.remove(name);
                false
            }
            None => false,
        }
    }

    fn mark(&self, name: &'static str, returned: Arc<AtomicBool>) {
        lock(&self.0).insert(name, returned);
    }
}

/// What the threads share: the jobs, the next one to take, and the
/// outcomes. Only the last outcome wakes the scrape (one wake-up per
/// scrape, not one per collector: each costs a thread hand-off); progress
/// is otherwise looked at every [`STALL`].
struct Shared {
    jobs: Vec<Job>,
    returned: Vec<Arc<AtomicBool>>,
    next: AtomicUsize,
    outcomes: Mutex<Vec<Option<Outcome>>>,
    finished: AtomicUsize,
    all_done: tokio::sync::Notify,
    roots: Roots,
    options: Arc<Exporter>,
    errors: Arc<CollectorErrors>,
}

/// Takes jobs until none is left.
fn work(shared: &Shared) {
    loop {
        let i = shared.next.fetch_add(1, Ordering::AcqRel);
        let Some(job) = shared.jobs.get(i) else {
            return;
        };
        let source = Source {
            roots: &shared.roots,
            options: &shared.options,
            files: &job.files,
        };
        let outcome = super::run_files(job.collector, job.read, &source, &shared.errors);
        shared.returned[i].store(true, Ordering::Release);
        if let Some(slot) = lock(&shared.outcomes).get_mut(i) {
            *slot = Some(outcome);
        }
        if shared.finished.fetch_add(1, Ordering::AcqRel) + 1 == shared.jobs.len() {
            shared.all_done.notify_one();
        }
    }
}

/// Runs `jobs` until each has finished, `deadline` passes, or only reads
/// that have made no progress for `patience` are left; outcomes in the
/// jobs' order.
pub async fn run(
    jobs: Vec<Job>,
    roots: Roots,
    options: Arc<Exporter>,
    errors: Arc<CollectorErrors>,
    deadline: Instant,
    patience: Duration,
    stuck: &Stuck,
) -> Vec<Outcome> {
    let n = jobs.len();
    if n == 0 {
        return Vec::new();
    }
    let shared = Arc::new(Shared {
        returned: (0..n).map(|_| Arc::new(AtomicBool::new(false))).collect(),
        outcomes: Mutex::new(vec![None; n]),
        jobs,
        next: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
        all_done: tokio::sync::Notify::new(),
        roots,
        options,
        errors,
    });
    let started = Instant::now();
    let spawn = || {
        let shared = shared.clone();
        drop(tokio::task::spawn_blocking(move || work(&shared)));
    };
    spawn();
    let (mut threads, mut seen, mut progress) = (1, 0, started);
    while shared.finished.load(Ordering::Acquire) < n {
        let wake = (Instant::now() + STALL).min(deadline);
        if tokio::time::timeout_at(wake, shared.all_done.notified())
            .await
            .is_ok()
        {
            continue;
        }
        let now = Instant::now();
        let finished = shared.finished.load(Ordering::Acquire);
        if finished != seen {
            (seen, progress) = (finished, now);
        }
        let all_taken = shared.next.load(Ordering::Acquire) >= n;
        // Past the deadline, or only stuck reads left for a while: served
        // with what there is.
        if now >= deadline || (all_taken && now.duration_since(progress) >= patience) {
            break;
        }
        // No collector finished since the last look: the thread is stuck
        // in one; another takes the next ones.
        if now.duration_since(progress) >= STALL / 2 && !all_taken && threads < THREADS {
            spawn();
            threads += 1;
        }
    }
    // Nothing more is taken: what was taken and has not finished missed
    // the deadline.
    let taken = shared.next.swap(n, Ordering::AcqRel).min(n);
    let seconds = started.elapsed().as_secs_f64();
    let outcomes = std::mem::take(&mut *lock(&shared.outcomes));
    outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            o.unwrap_or_else(|| {
                let job = &shared.jobs[i];
                let (why, seconds) = if i < taken {
                    stuck.mark(job.collector.name, shared.returned[i].clone());
                    ("still reading at the scrape's deadline", seconds)
                } else {
                    ("not started before the scrape's deadline", 0.0)
                };
                super::failed(job.collector, why, seconds, &shared.errors)
            })
        })
        .collect()
}
