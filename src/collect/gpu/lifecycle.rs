//! The GPU driver's lifecycle around the sampler: what is known of the
//! host's GPUs (looked once, then a GPU-less host skips everything without
//! a lock), the readings' own TTL cache, and the task that releases NVML
//! once no reading has been taken for [`GPU_IDLE_RELEASE`], so an idle GPU
//! may suspend.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::sampler::GpuSampler;
use super::types::Gpu;
use crate::cache::{Sample, Ttl};
use crate::collect::{CollectError, CollectorErrors, blocking, lock};

/// NVML is released this long after the last GPU reading, so an idle GPU
/// may suspend.
pub const GPU_IDLE_RELEASE: Duration = Duration::from_secs(30);

/// What is known of the host's GPUs, readable without a lock.
const GPUS_UNKNOWN: u8 = 0;
const GPUS_NONE: u8 = 1;
const GPUS_FOUND: u8 = 2;

/// The host's GPUs as the server reads them: the sampler, its cache and
/// the driver's release.
#[derive(Debug)]
pub struct GpuSource {
    /// The sampler; `None` with `--gpu off`. Only locked on blocking
    /// threads (driver calls).
    sampler: Option<Arc<Mutex<GpuSampler>>>,
    /// `GPUS_UNKNOWN`, `GPUS_NONE` or `GPUS_FOUND`.
    known: AtomicU8,
    /// A task is waiting to release the driver when it goes idle.
    release_armed: Arc<AtomicBool>,
    /// The readings, with their own TTL.
    cache: Ttl<Arc<Vec<Gpu>>>,
    /// Where failures are reported.
    errors: Arc<CollectorErrors>,
}

impl GpuSource {
    /// A source over `sampler` (`None`: GPU collection is off), its
    /// readings reused for `ttl`.
    pub fn new(
        sampler: Option<GpuSampler>,
        ttl: Duration,
        errors: Arc<CollectorErrors>,
    ) -> GpuSource {
        GpuSource {
            sampler: sampler.map(|s| Arc::new(Mutex::new(s))),
            known: AtomicU8::new(GPUS_UNKNOWN),
            release_armed: Arc::new(AtomicBool::new(false)),
            cache: Ttl::new(ttl),
            errors,
        }
    }

    /// Looks for GPUs on the PCI bus (sysfs only: the driver is not opened
    /// until someone asks). Blocks: call it on the blocking pool.
    pub fn discover(&self) {
        if let Some(sampler) = &self.sampler {
            let present = lock(sampler).discover();
            self.note(present);
        }
    }

    /// The readings: from their cache, or read now on the blocking pool.
    /// `None` with GPU collection off or on a host without GPUs (known
    /// after the first look, and then free).
    pub async fn readings(&self) -> Result<Option<Arc<Sample<Arc<Vec<Gpu>>>>>, CollectError> {
        let Some(sampler) = &self.sampler else {
            return Ok(None);
        };
        if self.known.load(Ordering::Relaxed) == GPUS_NONE {
            return Ok(None);
        }
        let sample = self
            .cache
            .get_or_load(|| async {
                let sampler = sampler.clone();
                let (gpus, held) = blocking(&self.errors, "gpu", move || {
                    let mut sampler = lock(&sampler);
                    (sampler.sample(), sampler.driver_held())
                })
                .await?;
                self.note(!gpus.is_empty());
                if held {
                    self.arm_release();
                }
                Ok::<_, CollectError>(Arc::new(gpus))
            })
            .await?;
        Ok((!sample.value().is_empty()).then_some(sample))
    }

    /// Records whether the host has GPUs.
    fn note(&self, present: bool) {
        let known = if present { GPUS_FOUND } else { GPUS_NONE };
        self.known.store(known, Ordering::Relaxed);
    }

    /// Starts, unless one runs, the task that releases the driver once no
    /// reading has been taken for [`GPU_IDLE_RELEASE`]. It wakes once per
    /// period while the driver is held, and ends when it is released.
    fn arm_release(&self) {
        let Some(sampler) = &self.sampler else {
            return;
        };
        if self.release_armed.swap(true, Ordering::AcqRel) {
            return;
        }
        let (sampler, armed) = (sampler.clone(), self.release_armed.clone());
        let errors = self.errors.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(GPU_IDLE_RELEASE).await;
                let s = sampler.clone();
                let released = blocking(&errors, "gpu", move || {
                    lock(&s).release_if_idle(GPU_IDLE_RELEASE)
                })
                .await;
                if released.unwrap_or(true) {
                    armed.store(false, Ordering::Release);
                    // A reading between the release and the store found the
                    // task still armed and did not start another: look again.
                    let s = sampler.clone();
                    let held = blocking(&errors, "gpu", move || lock(&s).driver_held()).await;
                    if !held.unwrap_or(false) || armed.swap(true, Ordering::AcqRel) {
                        break;
                    }
                }
            }
        });
    }
}
