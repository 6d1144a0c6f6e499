//! How long each kind of sample is reused.

use super::*;

/// How long each kind of sample is reused.
#[derive(Debug, Clone, clap::Args)]
pub struct CacheTtls {
    /// How long a metrics reply is reused, ms (0: collect on every request).
    #[arg(global = true, long, env = "SONDE_METRICS_TTL_MS", default_value_t = 250, value_parser = parse_ttl)]
    pub metrics_ttl_ms: u64,

    /// How long a processes reply is reused, ms (0: collect on every request).
    #[arg(global = true, long, env = "SONDE_PROCESSES_TTL_MS", default_value_t = 1000, value_parser = parse_ttl)]
    pub processes_ttl_ms: u64,

    /// How long a disks reply is reused, ms (0: collect on every request).
    #[arg(global = true, long, env = "SONDE_DISKS_TTL_MS", default_value_t = 1000, value_parser = parse_ttl)]
    pub disks_ttl_ms: u64,

    /// How long a containers reply is reused, ms (0: measure on every
    /// request).
    #[arg(global = true, long, env = "SONDE_CONTAINERS_TTL_MS", default_value_t = 1000, value_parser = parse_ttl)]
    pub containers_ttl_ms: u64,

    /// How long GPU readings are reused, ms, whatever the metrics TTL (0:
    /// ask the driver on every metrics request).
    #[arg(global = true, long, env = "SONDE_GPU_TTL_MS", default_value_t = 1000, value_parser = parse_ttl)]
    pub gpu_ttl_ms: u64,

    /// How long temperature and hwmon readings are reused, ms, whatever the
    /// metrics TTL (0: read sysfs on every request): sensors change on a
    /// scale of seconds, and reading them is a trip to the blocking pool.
    #[arg(global = true, long, env = "SONDE_SENSORS_TTL_MS", default_value_t = 1000, value_parser = parse_ttl)]
    pub sensors_ttl_ms: u64,
}

impl CacheTtls {
    /// TTL of the metrics cache.
    pub fn metrics(&self) -> Duration {
        Duration::from_millis(self.metrics_ttl_ms)
    }

    /// TTL of the processes cache.
    pub fn processes(&self) -> Duration {
        Duration::from_millis(self.processes_ttl_ms)
    }

    /// TTL of the disks cache.
    pub fn disks(&self) -> Duration {
        Duration::from_millis(self.disks_ttl_ms)
    }

    /// TTL of the containers cache.
    pub fn containers(&self) -> Duration {
        Duration::from_millis(self.containers_ttl_ms)
    }

    /// TTL of the GPU readings.
    pub fn gpu(&self) -> Duration {
        Duration::from_millis(self.gpu_ttl_ms)
    }

    /// TTL of the temperature and hwmon readings (the `sensors` kind).
    pub fn sensors(&self) -> Duration {
        Duration::from_millis(self.sensors_ttl_ms)
    }
}

pub(super) fn parse_ttl(v: &str) -> Result<u64, String> {
    let ms: u64 = v
        .trim()
        .parse()
        .map_err(|_| "expected a whole number of milliseconds, 0 or more".to_owned())?;
    if ms > 3_600_000 {
        return Err("more than an hour: metrics that old mislead".to_owned());
    }
    Ok(ms)
}
