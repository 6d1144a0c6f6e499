//! NVIDIA readings through NVML, loaded at run time: sonde builds and runs
//! where no NVIDIA driver exists, and only opens NVML when an awake NVIDIA
//! GPU is asked about. A missing library or driver is logged once at info
//! and remembered, so later samples do not retry the load.

use std::ffi::OsStr;

use nvml_wrapper::Nvml;
use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;

use super::types::{GpuProcess, Reading};

/// Why an NVIDIA GPU could not be read.
#[derive(Debug, thiserror::Error)]
pub enum NvidiaError {
    /// NVML (the library or the driver) is not there.
    #[error("NVML is not available: {0}")]
    Unavailable(String),
    /// NVML answered, but not for this device.
    #[error("NVML could not read {address}: {detail}")]
    Device {
        /// The device's PCI address.
        address: String,
        /// What NVML said.
        detail: String,
    },
}

/// Where NVIDIA readings come from: NVML on a real host, canned readings in
/// tests.
pub trait NvidiaReader: Send {
    /// The readings of the awake device at `pci_address`.
    fn read(&mut self, pci_address: &str) -> Result<Reading, NvidiaError>;
    /// Lets go of the driver, so that its GPUs may suspend.
    fn release(&mut self);
    /// Whether a driver handle is held now.
    fn held(&self) -> bool;
}

/// The library names tried, in order: the versioned name every driver
/// installs, then the development symlink.
const LIBRARIES: [&str; 2] = ["libnvidia-ml.so.1", "libnvidia-ml.so"];

/// NVML, opened on first use and released on request.
#[derive(Default)]
pub struct NvmlReader {
    /// The open handle.
    nvml: Option<Nvml>,
    /// Set once loading failed: the reason, not retried.
    missing: Option<String>,
    /// Each device's newest per-process utilisation sample read (NVML's
    /// CPU timestamp, µs): the next read asks for those after it.
    last_seen: std::collections::HashMap<String, u64>,
}

/// Each process's SM utilisation, %, from NVML's samples since the last
/// read: the mean of its samples, 0 for a process NVML has none of (it
/// lists only those that used the GPU in the period); `None` where the
/// device does not say (the call is not supported there).
fn per_process(
    samples: &Result<
        Vec<nvml_wrapper::struct_wrappers::device::ProcessUtilizationSample>,
        NvmlError,
    >,
    pid: u32,
) -> Option<f32> {
    let samples = match samples {
        Ok(s) => s.as_slice(),
        Err(NvmlError::NotFound) => &[],
        Err(_) => return None,
    };
    let mine: Vec<u32> = samples
        .iter()
        .filter(|s| s.pid == pid)
        .map(|s| s.sm_util)
        .collect();
    if mine.is_empty() {
        return Some(0.0);
    }
    Some(mine.iter().sum::<u32>() as f32 / mine.len() as f32)
}

impl NvmlReader {
    fn open(&mut self) -> Result<&Nvml, NvidiaError> {
        if let Some(why) = &self.missing {
            return Err(NvidiaError::Unavailable(why.clone()));
        }
        if self.nvml.is_none() {
            let mut last = String::new();
            for lib in LIBRARIES {
                match Nvml::builder().lib_path(OsStr::new(lib)).init() {
                    Ok(nvml) => {
                        self.nvml = Some(nvml);
                        break;
                    }
                    Err(e) => last = format!("{lib}: {e}"),
                }
            }
            if self.nvml.is_none() {
                tracing::info!(
                    "NVIDIA GPU found but NVML is not available ({last}); its readings stay null"
                );
                self.missing = Some(last.clone());
                return Err(NvidiaError::Unavailable(last));
            }
        }
        self.nvml
            .as_ref()
            .ok_or_else(|| NvidiaError::Unavailable("not opened".to_owned()))
    }
}

/// A reading NVML may not support on this device (fan speed on a
/// datacenter card, power on some laptops): `None`, not an error.
fn optional<T>(r: Result<T, NvmlError>) -> Option<T> {
    r.ok()
}

impl NvidiaReader for NvmlReader {
    fn read(&mut self, pci_address: &str) -> Result<Reading, NvidiaError> {
        // The first read of a device asks for the last second's samples.
        let since = self.last_seen.get(pci_address).copied().unwrap_or_else(|| {
            (crate::collect::clock::unix_millis().saturating_sub(1000)).saturating_mul(1000)
        });
        let nvml = self.open()?;
        let device = nvml
            .device_by_pci_bus_id(pci_address)
            .map_err(|e| NvidiaError::Device {
                address: pci_address.to_owned(),
                detail: e.to_string(),
            })?;
        let memory = optional(device.memory_info());
        let mut processes: Vec<GpuProcess> = Vec::new();
        for list in [
            device.running_compute_processes(),
            device.running_graphics_processes(),
        ] {
            for p in list.into_iter().flatten() {
                if processes.iter().any(|q| q.pid == p.pid) {
                    continue;
                }
                processes.push(GpuProcess {
                    pid: p.pid,
                    used_memory_bytes: match p.used_gpu_memory {
                        UsedGpuMemory::Used(bytes) => Some(bytes),
                        UsedGpuMemory::Unavailable => None,
                    },
                    utilization_percent: None,
                    name: None,
                });
            }
        }
        processes.sort_by_key(|p| p.pid);
        let samples = device.process_utilization_stats(since);
        for p in &mut processes {
            p.utilization_percent = per_process(&samples, p.pid);
        }
        let newest = samples
            .as_ref()
            .ok()
            .and_then(|s| s.iter().map(|s| s.timestamp).max());
        let reading = Reading {
            name: optional(device.name()),
            utilization_percent: optional(device.utilization_rates()).map(|u| u.gpu as f32),
            memory_used_bytes: memory.as_ref().map(|m| m.used),
            memory_total_bytes: memory.as_ref().map(|m| m.total),
            temperature_celsius: optional(device.temperature(TemperatureSensor::Gpu))
                .map(|t| t as f32),
            power_watts: optional(device.power_usage()).map(|mw| mw as f32 / 1000.0),
            fan_percent: optional(device.fan_speed(0)).map(|p| p as f32),
            clock_mhz: optional(device.clock_info(Clock::Graphics)),
            processes,
        };
        if let Some(newest) = newest {
            self.last_seen.insert(pci_address.to_owned(), newest);
        }
        Ok(reading)
    }

    fn release(&mut self) {
        if let Some(nvml) = self.nvml.take()
            && let Err(e) = nvml.shutdown()
        {
            tracing::debug!(error = %e, "NVML shutdown");
        }
    }

    fn held(&self) -> bool {
        self.nvml.is_some()
    }
}

#[cfg(test)]
mod per_process_tests {
    use super::*;
    use nvml_wrapper::struct_wrappers::device::ProcessUtilizationSample;

    fn sample(pid: u32, sm_util: u32) -> ProcessUtilizationSample {
        ProcessUtilizationSample {
            pid,
            timestamp: 1,
            sm_util,
            mem_util: 0,
            enc_util: 0,
            dec_util: 0,
        }
    }

    #[test]
    fn a_process_is_the_mean_of_its_samples_and_idle_when_nvml_lists_none() {
        let samples = Ok(vec![sample(7, 40), sample(7, 60), sample(8, 5)]);
        assert_eq!(per_process(&samples, 7), Some(50.0));
        assert_eq!(per_process(&samples, 8), Some(5.0));
        assert_eq!(per_process(&samples, 9), Some(0.0), "listed only when busy");
        assert_eq!(per_process(&Err(NvmlError::NotFound), 7), Some(0.0));
        assert_eq!(
            per_process(&Err(NvmlError::NotSupported), 7),
            None,
            "a device that does not say: null, not 0"
        );
    }
}
