//! Collector errors, seen: each is logged at warn the first time its
//! collector meets its kind of error (not on every request), and counted
//! every time, per collector and kind, for an operator to read. The reply
//! it was part of goes on with that part empty.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// A file that could not be parsed: names the file kind and what was wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed {file}: {detail}")]
pub struct ParseError {
    /// Which file kind, e.g. `/proc/[pid]/stat`.
    pub file: &'static str,
    /// What was wrong, in a few words.
    pub detail: String,
}

impl ParseError {
    pub(crate) fn new(file: &'static str, detail: impl Into<String>) -> Self {
        ParseError {
            file,
            detail: detail.into(),
        }
    }
}

/// Why a collector could not produce its part of a reply.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// What was read.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
    /// A file was read but not understood.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A collection on the blocking pool did not finish (it panicked).
    #[error("collection did not finish: {0}")]
    Aborted(String),
    /// A driver (NVML) could not be asked for a device it should know.
    #[error("{0}")]
    Driver(String),
    /// The server was built without the part this collection needs (a
    /// kind missing from the table it was started with).
    #[error("{0} is not served by this server")]
    NotServed(&'static str),
    /// A read did not come back in time (a hung mount).
    #[error("{what} did not answer within {} ms; skipped until it does", after.as_millis())]
    TimedOut {
        /// What was waited for.
        what: String,
        /// How long.
        after: std::time::Duration,
    },
}

impl CollectError {
    /// A read error of `path`.
    pub fn read(path: &Path, source: io::Error) -> Self {
        CollectError::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The kind, as counted: `read`, `parse`, `aborted` or `timeout`.
    pub fn kind(&self) -> &'static str {
        match self {
            CollectError::Read { .. } => "read",
            CollectError::Parse(_) => "parse",
            CollectError::Aborted(_) => "aborted",
            CollectError::NotServed(_) => "not_served",
            CollectError::Driver(_) => "driver",
            CollectError::TimedOut { .. } => "timeout",
        }
    }
}

/// How many errors of one kind one collector met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCount {
    /// The collector, e.g. `memory`.
    pub collector: &'static str,
    /// The kind, e.g. `parse`.
    pub kind: &'static str,
    /// Errors since the server started.
    pub count: u64,
}

/// The error counters of one server (no statics: every test has its own).
#[derive(Debug, Default)]
pub struct CollectorErrors {
    /// One entry per (collector, kind) met so far; a handful at most.
    counts: Mutex<Vec<ErrorCount>>,
}

impl CollectorErrors {
    /// Counts `error` against `collector`, and logs it at warn when it is
    /// the first of its kind there. Returns whether it was logged.
    pub fn report(&self, collector: &'static str, error: &CollectError) -> bool {
        let kind = error.kind();
        let first = {
            let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
            match counts
                .iter_mut()
                .find(|c| c.collector == collector && c.kind == kind)
            {
                Some(c) => {
                    c.count = c.count.saturating_add(1);
                    false
                }
                None => {
                    counts.push(ErrorCount {
                        collector,
                        kind,
                        count: 1,
                    });
                    true
                }
            }
        };
        if first {
            tracing::warn!(
                collector,
                kind,
                "{error} (reported once; later errors of this kind are only counted)"
            );
        } else {
            tracing::debug!(collector, kind, "{error}");
        }
        first
    }

    /// The value of `result`, or `None` after reporting its error.
    pub fn ok<T>(&self, collector: &'static str, result: Result<T, CollectError>) -> Option<T> {
        result.map_err(|e| self.report(collector, &e)).ok()
    }

    /// A parsed value, or `None` with the parse error reported against
    /// `collector`: a file that is there but not understood is counted,
    /// never silently dropped.
    pub fn parsed<T>(&self, collector: &'static str, parsed: Result<T, ParseError>) -> Option<T> {
        self.ok(collector, parsed.map_err(CollectError::from))
    }

    /// Every counter, in the order first met.
    pub fn snapshot(&self) -> Vec<ErrorCount> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Errors `collector` met, of every kind.
    pub fn count(&self, collector: &str) -> u64 {
        self.snapshot()
            .iter()
            .filter(|c| c.collector == collector)
            .map(|c| c.count)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_once_per_collector_and_kind_counted_every_time() {
        let errors = CollectorErrors::default();
        let parse = || CollectError::Parse(ParseError::new("/proc/meminfo", "MemTotal missing"));
        let read = || CollectError::read(Path::new("/proc/x"), io::ErrorKind::NotFound.into());
        assert!(errors.report("memory", &parse()));
        assert!(!errors.report("memory", &parse()));
        assert!(errors.report("memory", &read()), "another kind");
        assert!(errors.report("network", &parse()), "another collector");
        assert_eq!(errors.count("memory"), 3);
        assert_eq!(
            errors.snapshot()[0],
            ErrorCount {
                collector: "memory",
                kind: "parse",
                count: 2
            }
        );
        assert_eq!(errors.ok::<u8>("network", Err(parse())), None);
        assert_eq!(errors.count("network"), 2);
    }
}
