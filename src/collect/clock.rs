//! Time as the samplers see it: the real clock in the server, a manual one
//! that tests move, so a sampler's wait for a CPU window (200 ms on a first
//! sample) costs a test nothing and its rates come out exact.

use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Unix epoch seconds now, as a wall clock reads them (0 on a clock set
/// before the epoch).
pub fn unix_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Unix epoch milliseconds now (0 on a clock set before the epoch).
pub fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Where a sampler reads the time and waits.
pub trait Clock: Debug + Send + Sync {
    /// Now.
    fn now(&self) -> Instant;
    /// Waits `d` (blocking: samplers run on the blocking pool).
    fn sleep(&self, d: Duration);
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// A clock that moves only when told to, or when a sampler waits on it.
#[derive(Debug)]
pub struct ManualClock(Mutex<Instant>);

impl ManualClock {
    /// A manual clock starting now.
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock(Mutex::new(Instant::now())))
    }

    /// Moves the clock `d` forward.
    pub fn advance(&self, d: Duration) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sleep(&self, d: Duration) {
        self.advance(d);
    }
}
