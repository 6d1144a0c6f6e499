//! The containers sampler: the walk, each cgroup's kept files, and CPU%
//! between samples.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::files::{CgroupFiles, FILES, measure};
use super::types::{Container, ContainerTable, FIRST_WINDOW};
use super::walk::walk;
use crate::collect::clock::{Clock, RealClock};
use crate::collect::{CollectorErrors, per_sec, share_percent};

/// CPU% between two readings of one cgroup (µs of CPU, and when), as a
/// share of all `cpus` over the time between them.
fn share(before: (u64, Instant), now: (u64, Instant), cpus: usize) -> f32 {
    let elapsed_us = now.1.saturating_duration_since(before.1).as_micros();
    let capacity_us = u64::try_from(elapsed_us)
        .unwrap_or(u64::MAX)
        .saturating_mul(cpus.max(1) as u64);
    share_percent(now.0.saturating_sub(before.0), capacity_us)
}

/// What a cgroup's rates are measured from: its CPU µs and I/O bytes at
/// the previous sample, and when.
#[derive(Debug, Clone, Copy)]
struct Previous {
    cpu_us: u64,
    io: Option<(u64, u64)>,
    at: Instant,
}

/// The containers sampler: the hierarchy's root, each cgroup's kept files
/// and previous CPU reading, for CPU% between samples.
#[derive(Debug)]
pub struct ContainerSampler {
    root: PathBuf,
    cpus: usize,
    /// Descriptors it may keep open at once (its share of the budget).
    fd_budget: usize,
    files: HashMap<String, CgroupFiles>,
    previous: HashMap<String, Previous>,
    buf: Vec<u8>,
    /// Where a cgroup file that could not be read or parsed is reported.
    errors: Arc<CollectorErrors>,
    /// The time the CPU% window is measured and waited on.
    clock: Arc<dyn Clock>,
}

impl ContainerSampler {
    /// A sampler of the hierarchy under `sys/fs/cgroup`, with CPU% as a
    /// share of `cpus` logical CPUs, keeping at most `fd_budget` files open.
    pub fn new(
        sys: &Path,
        cpus: usize,
        fd_budget: usize,
        errors: Arc<CollectorErrors>,
    ) -> ContainerSampler {
        ContainerSampler {
            errors,
            clock: Arc::new(RealClock),
            root: sys.join("fs/cgroup"),
            cpus,
            fd_budget,
            files: HashMap::new(),
            previous: HashMap::new(),
            buf: Vec::new(),
        }
    }

    /// The same sampler on another clock (tests move a manual one).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> ContainerSampler {
        self.clock = clock;
        self
    }

    /// True when the unified hierarchy is mounted at the root.
    fn unified(&self) -> bool {
        self.root.join("cgroup.controllers").is_file()
    }

    /// Every owned cgroup, measured now; the table of kept files follows
    /// the walk (a cgroup gone from it closes its files).
    fn measure_all(&mut self) -> Vec<Container> {
        let found = walk(&self.root);
        let mut files = std::mem::take(&mut self.files);
        let mut kept: usize = files.values().map(CgroupFiles::kept).sum();
        let mut next = HashMap::with_capacity(found.len());
        let mut out = Vec::with_capacity(found.len());
        for f in found {
            let mut mine = files.remove(&f.cgroup).unwrap_or_default();
            let before = mine.kept();
            let may_keep = kept.saturating_add(FILES) <= self.fd_budget;
            let cgroup = f.cgroup.clone();
            if let Some(c) = measure(f, &mut mine, &mut self.buf, may_keep, &self.errors) {
                out.push(c);
            }
            kept = kept.saturating_add(mine.kept()).saturating_sub(before);
            next.insert(cgroup, mine);
        }
        self.files = next;
        out
    }

    /// Walks and measures now. The first sample takes two readings
    /// [`FIRST_WINDOW`] apart, so its CPU% covers a real window. Blocks
    /// (directory walk, file reads, the first wait): run it on the
    /// blocking pool.
    pub fn sample(&mut self) -> ContainerTable {
        if !self.unified() {
            self.files.clear();
            return ContainerTable {
                notice: Some(format!(
                    "This host has no cgroup v2 (unified) hierarchy at {}, so containers and services cannot be measured from their cgroups.",
                    self.root.display()
                )),
                ..ContainerTable::default()
            };
        }
        if self.previous.is_empty() {
            let baseline = self.measure_all();
            self.remember(&baseline, self.clock.now());
            self.clock.sleep(FIRST_WINDOW);
        }
        let mut containers = self.measure_all();
        let now = self.clock.now();
        for c in &mut containers {
            let Some(before) = self.previous.get(&c.cgroup) else {
                continue;
            };
            c.cpu_percent = Some(share(
                (before.cpu_us, before.at),
                (c.cpu_time_us, now),
                self.cpus,
            ));
            let secs = now.saturating_duration_since(before.at).as_secs_f64();
            if let (Some((r0, w0)), Some(r1), Some(w1)) =
                (before.io, c.io_read_bytes, c.io_write_bytes)
            {
                c.io_read_bytes_per_sec = per_sec(r1, r0, secs);
                c.io_write_bytes_per_sec = per_sec(w1, w0, secs);
            }
        }
        self.remember(&containers, now);
        let controllers =
            std::fs::read_to_string(self.root.join("cgroup.controllers")).unwrap_or_default();
        ContainerTable {
            containers,
            cgroup_version: Some(2),
            notice: missing_controllers_notice(&controllers),
        }
    }

    fn remember(&mut self, containers: &[Container], at: Instant) {
        self.previous = containers
            .iter()
            .map(|c| {
                let io = c.io_read_bytes.zip(c.io_write_bytes);
                let previous = Previous {
                    cpu_us: c.cpu_time_us,
                    io,
                    at,
                };
                (c.cgroup.clone(), previous)
            })
            .collect();
    }

    /// Files kept open now.
    pub fn kept_files(&self) -> usize {
        self.files.values().map(CgroupFiles::kept).sum()
    }
}

/// Why some readings are null on a unified hierarchy: the controllers its
/// root does not offer (bound to a cgroup v1 hierarchy, or not built in),
/// named, so a null is never taken for 0. `None` where memory, pids and
/// io are all there.
pub fn missing_controllers_notice(root_controllers: &str) -> Option<String> {
    let offered: Vec<&str> = root_controllers.split_whitespace().collect();
    let missing: Vec<&str> = [("memory", "memory"), ("pids", "pids"), ("io", "I/O")]
        .iter()
        .filter(|(c, _)| !offered.contains(c))
        .map(|(_, what)| *what)
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "This host's cgroup v2 hierarchy does not offer the {} controller{} (bound to a cgroup v1 hierarchy, or not enabled), so those readings are null.",
            missing.join(", "),
            if missing.len() == 1 { "" } else { "s" }
        )
    })
}

#[cfg(test)]
mod notice_tests {
    use super::missing_controllers_notice;

    #[test]
    fn controllers_bound_elsewhere_are_named_in_the_notice() {
        assert_eq!(
            missing_controllers_notice("cpuset cpu io memory hugetlb pids rdma\n"),
            None
        );
        let notice = missing_controllers_notice("hugetlb\n").unwrap();
        assert!(
            notice.contains("the memory, pids, I/O controllers"),
            "{notice}"
        );
        let one = missing_controllers_notice("cpu io memory").unwrap();
        assert!(one.contains("the pids controller ("), "{one}");
    }
}
