//! One scrape's file collectors, run against its deadline.
//!
//! They run one after another on a blocking thread: one trip to the pool
//! for the lot, as most take microseconds. A read that stalls (a sysfs
//! attribute whose driver hangs, a file on a hung FUSE mount) must not
//! hold up the rest, so when no collector has finished for [`STALL`]
//! another thread takes the next ones (up to [`THREADS`]). At the deadline
//! the scrape is served with what has finished: a collector still reading
//! is served as failed with the time it had, and is not started again,
//! its later scrapes failing it at once, until that read returns (a
//! thread left in a stuck read is one thread, not one per scrape).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{FilesFn, NodeCollector, Outcome, Source, Status};
use crate::collect::files::FileCache;
use crate::collect::{CollectError, CollectorErrors, Roots, lock};
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

/// What the threads share: the jobs, the next one to take, and where the
/// outcomes go.
struct Shared {
    jobs: Vec<Job>,
    returned: Vec<Arc<AtomicBool>>,
    next: AtomicUsize,
    roots: Roots,
    options: Arc<Exporter>,
    errors: Arc<CollectorErrors>,
    done: tokio::sync::mpsc::UnboundedSender<(usize, Outcome)>,
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
        // The scrape may have been served already: nobody to tell.
        let _ = shared.done.send((i, outcome));
    }
}

/// Runs `jobs` until each has finished or `deadline` passes; outcomes in
/// the jobs' order.
pub async fn run(
    jobs: Vec<Job>,
    roots: Roots,
    options: Arc<Exporter>,
    errors: Arc<CollectorErrors>,
    deadline: Instant,
    stuck: &Stuck,
) -> Vec<Outcome> {
    let n = jobs.len();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        returned: (0..n).map(|_| Arc::new(AtomicBool::new(false))).collect(),
        jobs,
        next: AtomicUsize::new(0),
        roots,
        options,
        errors,
        done: tx,
    });
    let started = Instant::now();
    let spawn = || {
        let shared = shared.clone();
        drop(tokio::task::spawn_blocking(move || work(&shared)));
    };
    let mut outcomes: Vec<Option<Outcome>> = vec![None; n];
    let (mut left, mut threads, mut last) = (n, 0, started);
    while left > 0 {
        if threads == 0 {
            spawn();
            threads += 1;
        }
        match tokio::time::timeout_at((last + STALL).min(deadline), rx.recv()).await {
            Ok(Some((i, outcome))) => {
                outcomes[i] = Some(outcome);
                left -= 1;
                last = Instant::now();
            }
            Ok(None) => break,
            Err(_) if Instant::now() >= deadline => break,
            Err(_) => {
                if shared.next.load(Ordering::Acquire) < n && threads < THREADS {
                    spawn();
                    threads += 1;
                }
                last = Instant::now();
            }
        }
    }
    // Nothing more is taken: what was taken and has not finished missed
    // the deadline.
    let taken = shared.next.swap(n, Ordering::AcqRel).min(n);
    let seconds = started.elapsed().as_secs_f64();
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
                missed(job.collector, why, seconds, &shared.errors)
            })
        })
        .collect()
}

/// A collector served as failed for the deadline.
pub fn missed(
    collector: &'static NodeCollector,
    why: &str,
    seconds: f64,
    errors: &CollectorErrors,
) -> Outcome {
    let e = CollectError::Aborted(why.to_owned());
    errors.report(collector.name, &e);
    Outcome {
        name: collector.name,
        text: String::new(),
        status: Status::Failed(e.to_string()),
        seconds,
    }
}
