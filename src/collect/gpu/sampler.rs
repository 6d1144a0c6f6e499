//! The GPU sampler: every GPU read, sleeping ones left asleep, the driver
//! held only while used.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::discovery::{discover, is_asleep};
use super::types::{Gpu, GpuState, PciGpu, Reading, Vendor};
use super::{amd, clients, intel, nvidia};
use crate::collect::{CollectError, CollectorErrors, Roots, read_trimmed};

/// Reads every GPU, leaving sleeping ones asleep.
pub struct GpuSampler {
    /// Where sysfs is.
    roots: Roots,
    /// `pci.ids` files for names.
    pci_ids: Vec<PathBuf>,
    /// The GPUs found; `None` until the first sample looks.
    found: Option<Vec<PciGpu>>,
    /// NVIDIA readings (NVML, or canned in tests).
    nvidia: Box<dyn nvidia::NvidiaReader>,
    /// When a driver handle was last used, for the idle release.
    last_driver_use: Option<Instant>,
    /// Where a GPU the driver could not read is reported.
    errors: Arc<CollectorErrors>,
    /// The AMD and Intel GPUs' processes.
    drm_clients: clients::DrmClients,
}

impl std::fmt::Debug for GpuSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuSampler")
            .field("found", &self.found)
            .field("nvidia_held", &self.nvidia.held())
            .finish_non_exhaustive()
    }
}

impl GpuSampler {
    /// A sampler over `roots.sys` reading NVIDIA GPUs through `nvidia`.
    pub fn new(
        roots: &Roots,
        pci_ids: Vec<PathBuf>,
        nvidia: Box<dyn nvidia::NvidiaReader>,
        errors: Arc<CollectorErrors>,
    ) -> GpuSampler {
        GpuSampler {
            roots: roots.clone(),
            pci_ids,
            found: None,
            nvidia,
            last_driver_use: None,
            errors,
            drm_clients: clients::DrmClients::new(&roots.proc),
        }
    }

    /// Whether the host has GPUs: `None` before the first look.
    pub fn present(&self) -> Option<bool> {
        self.found.as_ref().map(|f| !f.is_empty())
    }

    /// Looks for GPUs on the PCI bus now (sysfs only; the driver is not
    /// opened); returns whether there are any.
    pub fn discover(&mut self) -> bool {
        self.look_once();
        self.present().unwrap_or(false)
    }

    /// Discovers the GPUs the first time it is called.
    fn look_once(&mut self) {
        if self.found.is_none() {
            let found = discover(&self.roots, &self.pci_ids);
            if found.is_empty() {
                tracing::info!("no NVIDIA, AMD or Intel GPU on the PCI bus; not looking again");
            }
            self.found = Some(found);
        }
    }

    /// Whether a driver handle (NVML) is held now.
    pub fn driver_held(&self) -> bool {
        self.nvidia.held()
    }

    /// Every GPU, read now (discovering them the first time).
    pub fn sample(&mut self) -> Vec<Gpu> {
        self.look_once();
        let found = self.found.as_deref().unwrap_or_default();
        let mut gpus = Vec::with_capacity(found.len());
        for (i, pci) in found.iter().enumerate() {
            let asleep = is_asleep(
                read_trimmed(&pci.dir.join("power/runtime_status")).as_deref(),
                read_trimmed(&pci.dir.join("power_state")).as_deref(),
            );
            let (state, reading) = if asleep {
                (GpuState::Suspended, Reading::default())
            } else {
                let read = match pci.vendor {
                    Vendor::Nvidia => {
                        self.last_driver_use = Some(Instant::now());
                        self.nvidia.read(&pci.address)
                    }
                    Vendor::Amd => Ok(amd::read(&pci.dir)),
                    Vendor::Intel => Ok(intel::read(&pci.dir)),
                };
                match read {
                    Ok(reading) => (GpuState::Active, reading),
                    Err(e) => {
                        self.errors
                            .report("gpu", &CollectError::Driver(e.to_string()));
                        (GpuState::Unavailable, Reading::default())
                    }
                }
            };
            gpus.push(Gpu {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                vendor: pci.vendor,
                pci_address: pci.address.clone(),
                name: reading.name.clone().unwrap_or_else(|| pci.name.clone()),
                state,
                reading,
            });
        }
        self.attach_processes(&mut gpus);
        gpus
    }

    /// Fills in the processes of the awake AMD and Intel GPUs (one walk of
    /// the DRM clients, only when there is such a GPU) and every process's
    /// name.
    fn attach_processes(&mut self, gpus: &mut [Gpu]) {
        let drm = gpus
            .iter()
            .any(|g| g.state == GpuState::Active && g.vendor != Vendor::Nvidia);
        let mut clients = if drm {
            self.drm_clients.sample()
        } else {
            Default::default()
        };
        for gpu in gpus.iter_mut().filter(|g| g.state == GpuState::Active) {
            if gpu.vendor != Vendor::Nvidia {
                gpu.reading.processes = clients.remove(&gpu.pci_address).unwrap_or_default();
            }
            for p in gpu
                .reading
                .processes
                .iter_mut()
                .filter(|p| p.name.is_none())
            {
                p.name = clients::process_name(&self.roots.proc, p.pid);
            }
        }
    }

    /// Releases the driver handle when it has not been used for `idle`;
    /// returns whether none is held afterwards.
    pub fn release_if_idle(&mut self, idle: Duration) -> bool {
        if self.nvidia.held() && self.last_driver_use.is_none_or(|at| at.elapsed() >= idle) {
            self.nvidia.release();
            tracing::debug!(
                "NVML released after {} s without a GPU reading",
                idle.as_secs()
            );
        }
        !self.nvidia.held()
    }
}
