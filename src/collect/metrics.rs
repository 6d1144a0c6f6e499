//! The metrics sampler: owns every file behind a metrics reply (CPU,
//! memory, network, load, hostname, process count) and turns them into one
//! typed [`Metrics`] sample. The temperatures are the `sensors` kind's
//! reading ([`super::thermal`]), merged in by the kind.
//!
//! A sample is a few `pread`s of kept descriptors: kernel counters generated
//! in microseconds that never wait on storage or on another process, so
//! [`MetricsSampler::sample`] runs inline on the async worker (a hand-off to
//! a blocking thread cost more CPU than the reads). What does walk
//! directories — counting processes — is asked for by
//! [`MetricsSampler::refresh_needed`] and done by [`refresh`] on the
//! blocking pool, at most once a second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cpu::{CpuSampler, CpuUsage};
use super::gpu::Gpu;
use super::memory::{Memory, parse_meminfo};
use super::network::{Interface, parse_net_dev};
use super::processes::count_processes;
use super::system::parse_loadavg;
use super::thermal::{Temperature, Thermal};
use super::{CollectError, CollectorErrors, HostClock, Kept, Roots};

/// One metrics sample.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// CPU busy %, whole machine and per core.
    pub cpu: CpuUsage,
    /// Memory and swap; `None` when `/proc/meminfo` could not be read.
    pub memory: Option<Memory>,
    /// The `/proc/meminfo` text those came from, for the exporters that
    /// serve every line (one reading for every surface).
    pub meminfo: Option<Arc<str>>,
    /// Per-interface byte counters.
    pub networks: Vec<Interface>,
    /// Host name (empty when unreadable).
    pub hostname: String,
    /// 1, 5, 15 minute load averages.
    pub load_avg: Option<[f64; 3]>,
    /// Seconds since boot.
    pub uptime_secs: Option<u64>,
    /// CPU package temperature, °C.
    pub cpu_temp_celsius: Option<f32>,
    /// Every temperature sensor but the GPUs'.
    pub temps: Vec<Temperature>,
    /// The reading those came from (`None` with `--temp off`), the one
    /// node_exporter's `hwmon` and `thermal_zone` series of the same
    /// scrape are made from.
    pub thermal: Option<Arc<crate::cache::Sample<Thermal>>>,
    /// The GPU sample merged in; `None` when there is no GPU or GPU
    /// collection is off.
    pub gpus: Option<Arc<Vec<Gpu>>>,
    /// Processes on the host, at most a second old.
    pub process_count: u64,
    /// Unix epoch ms of the sample.
    pub sampled_at_ms: u64,
}

/// How old a reused process count or hostname may be.
pub const REUSE_MAX_AGE: Duration = Duration::from_secs(1);

/// What must be read off the async workers before the next sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refresh {
    /// The process count is missing or older than [`REUSE_MAX_AGE`].
    pub count_processes: bool,
}

/// What [`refresh`] found.
#[derive(Debug)]
pub struct Refreshed {
    /// A fresh process count, when one was asked for.
    process_count: Option<Result<u64, CollectError>>,
}

/// Does the directory walks a [`Refresh`] asks for. Blocks: run it on the
/// blocking pool.
pub fn refresh(roots: &Roots, wanted: Refresh) -> Refreshed {
    Refreshed {
        process_count: wanted
            .count_processes
            .then(|| count_processes(&roots.proc).map_err(|e| CollectError::read(&roots.proc, e))),
    }
}

/// The sampler behind every metrics reply.
#[derive(Debug)]
pub struct MetricsSampler {
    /// `/proc/stat` and its history.
    cpu: CpuSampler,
    /// `/proc/meminfo`.
    meminfo: Kept,
    /// `/proc/net/dev`.
    net_dev: Kept,
    /// `/proc/sys/kernel/hostname` (it can change while sonde runs, but
    /// rarely, and procfs takes as long to produce it as `/proc/meminfo`).
    hostname: Kept,
    /// The last hostname read and when, reused up to [`REUSE_MAX_AGE`].
    hostname_read: Option<(Instant, String)>,
    /// `/proc/loadavg`.
    loadavg: Kept,
    /// The last process count and when it was taken (by [`refresh`] or by a
    /// process scan): counting means listing all of `/proc`.
    process_count: Option<(Instant, u64)>,
    /// Boot time, for the uptime.
    clock: HostClock,
    /// Where read and parse errors are reported.
    errors: Arc<CollectorErrors>,
}

impl MetricsSampler {
    /// A sampler under `roots`; reads nothing yet.
    pub fn new(roots: &Roots, clock: HostClock, errors: Arc<CollectorErrors>) -> MetricsSampler {
        let proc = &roots.proc;
        MetricsSampler {
            cpu: CpuSampler::new(roots),
            meminfo: Kept::new(proc.join("meminfo")),
            net_dev: Kept::new(proc.join("net/dev")),
            hostname: Kept::new(proc.join("sys/kernel/hostname")),
            hostname_read: None,
            loadavg: Kept::new(proc.join("loadavg")),
            process_count: None,
            clock,
            errors,
        }
    }

    /// Takes the CPU baseline (startup warm-up).
    pub fn warm_up(&mut self) {
        self.cpu.warm_up();
    }

    /// What [`refresh`] must read before the next sample, if anything.
    pub fn refresh_needed(&self) -> Option<Refresh> {
        let wanted = Refresh {
            count_processes: self
                .process_count
                .is_none_or(|(at, _)| at.elapsed() >= REUSE_MAX_AGE),
        };
        wanted.count_processes.then_some(wanted)
    }

    /// Takes in what [`refresh`] found.
    pub fn apply(&mut self, found: Refreshed) {
        if let Some(count) = found.process_count
            && let Some(n) = self.errors.ok("processes", count)
        {
            self.note_process_count(n);
        }
    }

    /// A process count just taken (a process scan gives one).
    pub fn note_process_count(&mut self, count: u64) {
        self.process_count = Some((Instant::now(), count));
    }

    /// One sample. Each part degrades on its own: an unreadable or garbled
    /// file is reported to the error counters and leaves its part empty.
    pub fn sample(&mut self) -> Metrics {
        let errors = &*self.errors;
        let cpu = errors.ok("cpu", self.cpu.sample()).unwrap_or_default();
        let sampled_at_ms = super::clock::unix_millis();
        let (memory, meminfo) = errors
            .ok(
                "memory",
                self.meminfo
                    .read_checked()
                    .and_then(|t| Ok((parse_meminfo(t)?, Arc::<str>::from(t)))),
            )
            .unzip();
        let networks = errors
            .ok(
                "network",
                self.net_dev
                    .read_checked()
                    .and_then(|t| Ok(parse_net_dev(t)?)),
            )
            .unwrap_or_default();
        let load_avg = errors.ok(
            "load",
            self.loadavg
                .read_checked()
                .and_then(|t| Ok(parse_loadavg(t)?)),
        );
        let hostname = match &self.hostname_read {
            Some((at, name)) if at.elapsed() < REUSE_MAX_AGE => name.clone(),
            _ => {
                let name = errors
                    .ok(
                        "hostname",
                        self.hostname.read_checked().map(|h| h.trim().to_owned()),
                    )
                    .unwrap_or_default();
                self.hostname_read = Some((Instant::now(), name.clone()));
                name
            }
        };
        let boot = self.clock.boot_time_secs;
        Metrics {
            cpu,
            memory,
            meminfo,
            networks,
            hostname,
            load_avg,
            uptime_secs: (boot > 0).then(|| (sampled_at_ms / 1000).saturating_sub(boot)),
            cpu_temp_celsius: None,
            temps: Vec::new(),
            thermal: None,
            gpus: None,
            process_count: self.process_count.map_or(0, |(_, n)| n),
            sampled_at_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(meminfo: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path().join("proc");
        std::fs::create_dir_all(proc.join("net")).unwrap();
        std::fs::create_dir_all(proc.join("sys/kernel")).unwrap();
        std::fs::create_dir_all(proc.join("1")).unwrap();
        std::fs::create_dir_all(proc.join("2")).unwrap();
        std::fs::write(
            proc.join("stat"),
            "cpu 10 0 10 80 0 0 0 0\ncpu0 10 0 10 80\nbtime 1000\n",
        )
        .unwrap();
        std::fs::write(proc.join("meminfo"), meminfo).unwrap();
        std::fs::write(
            proc.join("net/dev"),
            "h\nh\n  eth0: 5 0 0 0 0 0 0 0 7 0 0 0 0 0 0 0\n",
        )
        .unwrap();
        std::fs::write(proc.join("sys/kernel/hostname"), "box\n").unwrap();
        std::fs::write(proc.join("loadavg"), "0.50 0.25 0.10 1/80 99\n").unwrap();
        dir
    }

    fn sampler(dir: &tempfile::TempDir, errors: &Arc<CollectorErrors>) -> MetricsSampler {
        let roots = Roots::under(dir.path());
        let clock = HostClock::read(&roots, errors);
        let mut s = MetricsSampler::new(&roots, clock, errors.clone());
        let wanted = s.refresh_needed().unwrap();
        assert_eq!(
            wanted,
            Refresh {
                count_processes: true
            }
        );
        s.apply(refresh(&roots, wanted));
        assert_eq!(s.refresh_needed(), None, "counted: nothing due");
        s
    }

    #[test]
    fn a_fixture_host_in_one_sample() {
        let dir =
            fixture("MemTotal: 1000 kB\nMemAvailable: 600 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n");
        let errors = Arc::new(CollectorErrors::default());
        let m = sampler(&dir, &errors).sample();
        assert_eq!(m.cpu.total_percent, 20.0, "since boot before any baseline");
        assert_eq!(m.memory.unwrap().used_bytes(), 400 * 1024);
        assert_eq!(m.networks[0].transmitted_bytes(), 7);
        assert_eq!(m.hostname, "box");
        assert_eq!(m.load_avg, Some([0.5, 0.25, 0.1]));
        assert_eq!(m.process_count, 2);
        assert_eq!(m.uptime_secs, Some(m.sampled_at_ms / 1000 - 1000));
        assert!(errors.snapshot().is_empty(), "{:?}", errors.snapshot());
    }

    #[test]
    fn a_malformed_meminfo_is_counted_and_the_rest_goes_on() {
        let dir = fixture("MemFree: lots\n");
        let errors = Arc::new(CollectorErrors::default());
        let mut s = sampler(&dir, &errors);
        for _ in 0..3 {
            let m = s.sample();
            assert_eq!(m.memory, None);
            assert_eq!(m.hostname, "box", "the rest of the sample goes on");
        }
        assert_eq!(errors.count("memory"), 3);
    }
}
