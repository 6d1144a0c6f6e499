//! Which processes use an AMD or Intel GPU, and how much of its memory:
//! the kernel's DRM usage statistics (`Documentation/gpu/drm-usage-stats`),
//! printed in `/proc/PID/fdinfo/FD` for every open DRM file.
//!
//! NVML lists an NVIDIA GPU's processes itself; amdgpu, i915 and xe have no
//! such list, so this is how `nvtop` and `intel_gpu_top` find them too:
//! every process's `fd` directory is listed, and only descriptors whose link
//! points under `/dev/dri/` have their fdinfo read. One DRM client may sit
//! behind several descriptors (dup, fork, SCM_RIGHTS); it is counted once,
//! for the lowest pid holding it, by its `drm-client-id`.
//!
//! The walk costs one `readlink` per open descriptor on the host, so the
//! sampler runs it only while an AMD or Intel GPU is awake, and at most
//! every [`WALK_EVERY`] ([`DrmClients`]).
//!
//! Each client's `drm-engine-NAME` busy time (ns, cumulative; divided by
//! its `drm-engine-capacity-NAME` where the driver prints one) gives its
//! utilisation between two samples: the busiest engine's share of the time
//! between them, as nvtop shows it. A counter that went backwards (a
//! driver reset) gives no reading for that sample, never a made-up one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::types::{GpuProcess, add_known};
use crate::collect::processes::list_pids;
use crate::collect::read_trimmed;

/// One DRM client, as its fdinfo describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrmClient {
    /// The device's PCI address (`drm-pdev`).
    pub pdev: String,
    /// The client's id, unique per device (`drm-client-id`).
    pub id: u64,
    /// Memory it holds on the device, bytes; `None` when the driver prints
    /// no memory lines.
    pub memory_bytes: Option<u64>,
    /// Each engine's busy time, ns, cumulative (`drm-engine-NAME`).
    pub engines: Vec<(String, u64)>,
    /// Each engine's capacity, where more than one (`drm-engine-capacity-NAME`).
    pub capacities: Vec<(String, u64)>,
    /// Each engine's busy cycles and the GPU's cycles meanwhile, both
    /// cumulative (xe: `drm-cycles-NAME`, `drm-total-cycles-NAME`).
    pub cycles: Vec<(String, u64, u64)>,
}

/// A `drm-memory-*` style value: a number with an optional `KiB`, `MiB` or
/// `GiB` (bytes without one).
fn parse_size(value: &str) -> Option<u64> {
    let mut parts = value.split_whitespace();
    let number: u64 = parts.next()?.parse().ok()?;
    let scale = match parts.next() {
        None => 1,
        Some("KiB") => 1 << 10,
        Some("MiB") => 1 << 20,
        Some("GiB") => 1 << 30,
        Some(_) => return None,
    };
    number.checked_mul(scale)
}

/// How sure a memory line is of what the client holds: resident beats the
/// older `drm-memory-` (which amdgpu prints as resident), which beats the
/// allocated total.
fn memory_rank(key: &str) -> Option<(u8, &str)> {
    [("drm-resident-", 3), ("drm-memory-", 2), ("drm-total-", 1)]
        .into_iter()
        .find_map(|(prefix, rank)| key.strip_prefix(prefix).map(|region| (rank, region)))
}

/// Whether a memory region is the device's own (`vram`, `vram0`, i915's
/// `local0`) rather than system memory the GPU maps.
fn device_local(region: &str) -> bool {
    region.starts_with("vram") || region.starts_with("local")
}

/// The DRM client in one fdinfo file; `None` for a file without
/// `drm-pdev` and `drm-client-id` (not DRM, or a kernel before 5.19).
///
/// Memory is the device-local regions' sum where the client reports any;
/// an integrated GPU has none, and its memory is every region's sum.
pub fn parse_fdinfo(text: &str) -> Option<DrmClient> {
    let (mut pdev, mut id) = (None, None);
    let (mut engines, mut capacities) = (Vec::new(), Vec::new());
    let mut cycles: Vec<(String, u64, u64)> = Vec::new();
    let mut regions: BTreeMap<&str, (u8, u64)> = BTreeMap::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "drm-pdev" => pdev = Some(value.to_owned()),
            "drm-client-id" => id = value.parse().ok(),
            // Before the memory lines: `drm-total-cycles-` is no size.
            _ if key.starts_with("drm-cycles-") || key.starts_with("drm-total-cycles-") => {
                let Some(n) = value.split_whitespace().next().and_then(|v| v.parse().ok()) else {
                    continue;
                };
                let (engine, total) = match key.strip_prefix("drm-cycles-") {
                    Some(engine) => (engine, false),
                    None => (&key["drm-total-cycles-".len()..], true),
                };
                let at = match cycles.iter().position(|c| c.0 == engine) {
                    Some(at) => at,
                    None => {
                        cycles.push((engine.to_owned(), 0, 0));
                        cycles.len() - 1
                    }
                };
                if total {
                    cycles[at].2 = n;
                } else {
                    cycles[at].1 = n;
                }
            }
            _ if key.starts_with("drm-engine-") => {
                let number = value.split_whitespace().next().and_then(|v| v.parse().ok());
                if let Some(n) = number {
                    match key.strip_prefix("drm-engine-capacity-") {
                        Some(engine) => capacities.push((engine.to_owned(), n)),
                        None => engines.push((key["drm-engine-".len()..].to_owned(), n)),
                    }
                }
            }
            _ => {
                let Some((rank, region)) = memory_rank(key) else {
                    continue;
                };
                let Some(bytes) = parse_size(value) else {
                    continue;
                };
                let best = regions.entry(region).or_insert((rank, bytes));
                if rank > best.0 {
                    *best = (rank, bytes);
                }
            }
        }
    }
    let local: Vec<u64> = regions
        .iter()
        .filter(|(region, _)| device_local(region))
        .map(|(_, (_, bytes))| *bytes)
        .collect();
    let memory_bytes = if !local.is_empty() {
        Some(local.iter().sum())
    } else if !regions.is_empty() {
        Some(regions.values().map(|(_, bytes)| bytes).sum())
    } else {
        None
    };
    Some(DrmClient {
        pdev: pdev?,
        id: id?,
        memory_bytes,
        engines,
        capacities,
        cycles,
    })
}

/// How often every process's descriptors are walked for new DRM clients;
/// between walks only the descriptors found are read again.
pub const WALK_EVERY: Duration = Duration::from_secs(10);

/// A process's open descriptor: its pid and its name in `fd/`.
type Descriptor = (u32, OsString);

/// The DRM clients on the host, found by a walk every [`WALK_EVERY`] and
/// read again at every sample in between: a new GPU process shows within
/// that period, and each sample costs a read per DRM descriptor, not a
/// `readlink` per descriptor on the host (1.3 ms with 370 of them here,
/// ten times the process scan).
#[derive(Debug)]
pub struct DrmClients {
    /// The procfs root.
    proc_root: PathBuf,
    /// The descriptors that pointed under `/dev/dri/` at the last walk.
    found: Vec<Descriptor>,
    /// When the last walk was.
    walked_at: Option<Instant>,
    /// Each client's engine busy times at the last sample, and when.
    previous: Busy,
}

/// Each client's (device, id) engine busy times, and when they were read.
type Busy = HashMap<(String, u64), (DrmClient, Instant)>;

/// A client's utilisation, %, between two readings of its engines `dt`
/// apart: the busiest engine's share (over its capacity; for xe, its busy
/// cycles over the GPU's cycles meanwhile); `None` for a client first
/// seen, or with a counter that went backwards.
pub fn utilization(before: &DrmClient, now: &DrmClient, dt: Duration) -> Option<f32> {
    let wall = dt.as_nanos() as f64;
    if wall <= 0.0 {
        return None;
    }
    let capacity = |engine: &str| {
        now.capacities
            .iter()
            .find(|(e, _)| e == engine)
            .map_or(1, |(_, c)| (*c).max(1)) as f64
    };
    let mut busiest: Option<f64> = None;
    for (engine, busy, total) in &now.cycles {
        let Some((_, busy0, total0)) = before.cycles.iter().find(|(e, ..)| e == engine) else {
            continue;
        };
        let (delta, elapsed) = (busy.checked_sub(*busy0)?, total.checked_sub(*total0)?);
        if elapsed > 0 {
            let share = delta as f64 / elapsed as f64 / capacity(engine);
            busiest = Some(busiest.map_or(share, |b| b.max(share)));
        }
    }
    for (engine, ns) in &now.engines {
        let Some((_, then)) = before.engines.iter().find(|(e, _)| e == engine) else {
            continue;
        };
        let delta = ns.checked_sub(*then)?;
        let share = delta as f64 / wall / capacity(engine);
        busiest = Some(busiest.map_or(share, |b| b.max(share)));
    }
    busiest.map(|b| (b * 100.0).clamp(0.0, 100.0) as f32)
}

impl DrmClients {
    /// Clients under `proc_root`; walks nothing yet.
    pub fn new(proc_root: &Path) -> DrmClients {
        DrmClients {
            proc_root: proc_root.to_path_buf(),
            found: Vec::new(),
            walked_at: None,
            previous: HashMap::new(),
        }
    }

    /// Every process using a DRM device, by the device's PCI address.
    pub fn sample(&mut self) -> BTreeMap<String, Vec<GpuProcess>> {
        self.sample_at(Instant::now())
    }

    /// The same, at `now` (tests give the time).
    pub fn sample_at(&mut self, now: Instant) -> BTreeMap<String, Vec<GpuProcess>> {
        if self
            .walked_at
            .is_none_or(|at| now.saturating_duration_since(at) >= WALK_EVERY)
        {
            self.found = walk(&self.proc_root);
            self.walked_at = Some(now);
        }
        gather(&self.proc_root, &self.found, &mut self.previous, now)
    }
}

/// Every descriptor on the host that points under `/dev/dri/`, pids
/// ascending. A process that exits or whose descriptors are not ours to
/// read has none.
pub fn walk(proc_root: &Path) -> Vec<Descriptor> {
    let Ok(mut pids) = list_pids(proc_root) else {
        return Vec::new();
    };
    pids.sort_unstable();
    let mut found = Vec::new();
    for pid in pids {
        let Ok(fds) = std::fs::read_dir(proc_root.join(pid.to_string()).join("fd")) else {
            continue;
        };
        found.extend(
            fds.flatten()
                .filter(|fd| {
                    std::fs::read_link(fd.path())
                        .is_ok_and(|target| target.starts_with("/dev/dri/"))
                })
                .map(|fd| (pid, fd.file_name())),
        );
    }
    found
}

/// The processes behind `descriptors`, by device, pids ascending, each
/// named from its `comm`; a client behind several descriptors counts once,
/// for the first pid. Utilisation is since `previous`, which becomes this
/// sample's readings.
pub fn gather(
    proc_root: &Path,
    descriptors: &[Descriptor],
    previous: &mut Busy,
    now: Instant,
) -> BTreeMap<String, Vec<GpuProcess>> {
    let mut busy: Busy = HashMap::new();
    let mut seen: HashSet<(String, u64)> = HashSet::new();
    let mut by_device: BTreeMap<String, Vec<GpuProcess>> = BTreeMap::new();
    for (pid, fd) in descriptors {
        let info = proc_root.join(pid.to_string()).join("fdinfo").join(fd);
        let Some(client) = std::fs::read_to_string(info)
            .ok()
            .and_then(|t| parse_fdinfo(&t))
        else {
            continue;
        };
        let key = (client.pdev.clone(), client.id);
        if !seen.insert(key.clone()) {
            continue;
        }
        let percent = previous.get(&key).and_then(|(before, at)| {
            utilization(before, &client, now.saturating_duration_since(*at))
        });
        busy.insert(key, (client.clone(), now));
        let processes = by_device.entry(client.pdev).or_default();
        match processes.iter_mut().find(|p| p.pid == *pid) {
            Some(p) => {
                p.used_memory_bytes = add_known(
                    p.used_memory_bytes,
                    client.memory_bytes,
                    u64::saturating_add,
                );
                // A process's clients on one device add up.
                p.utilization_percent =
                    add_known(p.utilization_percent, percent, |a, b| (a + b).min(100.0));
            }
            None => processes.push(GpuProcess {
                pid: *pid,
                used_memory_bytes: client.memory_bytes,
                utilization_percent: percent,
                name: process_name(proc_root, *pid),
            }),
        }
    }
    *previous = busy;
    by_device
}

/// A process's `comm`, when it is still there.
pub fn process_name(proc_root: &Path, pid: u32) -> Option<String> {
    read_trimmed(&proc_root.join(pid.to_string()).join("comm")).filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// amdgpu on 6.8: the legacy `drm-memory-` lines beside the newer ones.
    const AMDGPU: &str = "pos:\t0\nflags:\t02100002\nmnt_id:\t26\nino:\t1140\ndrm-driver:\tamdgpu\ndrm-client-id:\t1037\ndrm-pdev:\t0000:0c:00.0\npasid:\t32789\ndrm-memory-vram:\t188412 KiB\ndrm-memory-gtt: \t6132 KiB\ndrm-memory-cpu: \t0 KiB\ndrm-total-vram:\t196604 KiB\ndrm-resident-vram:\t188416 KiB\ndrm-engine-gfx:\t5914728932 ns\namd-memory-visible-vram:\t4 KiB\n";

    /// i915 on an integrated GPU: system memory only.
    const I915: &str = "pos:\t0\nflags:\t02100002\nmnt_id:\t24\nino:\t553\ndrm-driver:\ti915\ndrm-client-id:\t71\ndrm-pdev:\t0000:00:02.0\ndrm-total-system0:\t12 MiB\ndrm-shared-system0:\t0\ndrm-active-system0:\t0\ndrm-resident-system0:\t12 MiB\ndrm-purgeable-system0:\t0\ndrm-total-stolen-system0:\t0\ndrm-engine-render:\t3384000 ns\n";

    #[test]
    fn amdgpu_counts_resident_vram() {
        let c = parse_fdinfo(AMDGPU).unwrap();
        assert_eq!(c.pdev, "0000:0c:00.0");
        assert_eq!(c.id, 1037);
        assert_eq!(c.memory_bytes, Some(188_416 << 10), "resident beats memory");
    }

    #[test]
    fn integrated_gpu_counts_system_memory() {
        let c = parse_fdinfo(I915).unwrap();
        assert_eq!((c.pdev.as_str(), c.id), ("0000:00:02.0", 71));
        assert_eq!(c.memory_bytes, Some(12 << 20));
    }

    #[test]
    fn files_that_are_not_drm_clients() {
        assert_eq!(parse_fdinfo("pos:\t0\nflags:\t02\nmnt_id:\t26\n"), None);
        assert_eq!(
            parse_fdinfo("drm-driver:\tamdgpu\ndrm-pdev:\t0000:0c:00.0\n"),
            None,
            "no client id"
        );
        let bare = parse_fdinfo("drm-pdev:\t0000:03:00.0\ndrm-client-id:\t5\n").unwrap();
        assert_eq!(bare.memory_bytes, None, "no memory lines: unknown, not 0");
    }

    #[test]
    fn sizes_and_their_units() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("3 KiB"), Some(3072));
        assert_eq!(parse_size("2 GiB"), Some(2 << 30));
        assert_eq!(parse_size("2 parsecs"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn one_client_behind_many_descriptors_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path();
        for (pid, fds) in [(300u32, &[3u32, 9][..]), (301, &[4])] {
            let p = proc.join(pid.to_string());
            std::fs::create_dir_all(p.join("fd")).unwrap();
            std::fs::create_dir_all(p.join("fdinfo")).unwrap();
            std::fs::write(p.join("comm"), format!("game{pid}\n")).unwrap();
            for fd in fds {
                std::os::unix::fs::symlink(
                    "/dev/dri/renderD128",
                    p.join("fd").join(fd.to_string()),
                )
                .unwrap();
                std::fs::write(p.join("fdinfo").join(fd.to_string()), AMDGPU).unwrap();
            }
            std::os::unix::fs::symlink("/tmp/log", p.join("fd/1")).unwrap();
            std::fs::write(p.join("fdinfo/1"), "pos:\t0\n").unwrap();
        }
        let mut clients = DrmClients::new(proc);
        let found = clients.sample();
        let on_card = &found["0000:0c:00.0"];
        assert_eq!(
            on_card.len(),
            1,
            "the forked child shares the parent's client: {on_card:?}"
        );
        assert_eq!(on_card[0].pid, 300);
        assert_eq!(on_card[0].used_memory_bytes, Some(188_416 << 10));
        assert_eq!(on_card[0].name.as_deref(), Some("game300"));
        // Between walks the descriptors found are read again: the memory
        // follows, a descriptor opened since waits for the next walk.
        std::fs::write(
            proc.join("300/fdinfo/3"),
            AMDGPU.replace("188416 KiB", "1 MiB").replace("1037", "2"),
        )
        .unwrap();
        std::os::unix::fs::symlink("/dev/dri/card0", proc.join("301/fd/8")).unwrap();
        std::fs::write(proc.join("301/fdinfo/8"), AMDGPU.replace("1037", "9")).unwrap();
        let again = clients.sample();
        let on_card = &again["0000:0c:00.0"];
        assert_eq!(on_card.len(), 1, "{on_card:?}");
        assert_eq!(
            on_card[0].used_memory_bytes,
            Some((1 << 20) + (188_416 << 10))
        );
        assert_eq!(walk(proc).len(), 4, "the next walk finds the new one");
    }

    /// One client's fdinfo on the card with two engines' busy times.
    fn engines(id: u64, gfx_ns: u64, compute_ns: u64) -> String {
        format!(
            "drm-driver:\tamdgpu\ndrm-client-id:\t{id}\ndrm-pdev:\t0000:0c:00.0\ndrm-resident-vram:\t4 KiB\ndrm-engine-gfx:\t{gfx_ns} ns\ndrm-engine-compute:\t{compute_ns} ns\ndrm-engine-capacity-compute:\t2\n"
        )
    }

    /// An xe client's fdinfo: engines counted in GPU cycles.
    fn xe(rcs: u64, vcs: u64, total: u64) -> String {
        format!(
            "drm-driver:\txe\ndrm-client-id:\t33\ndrm-pdev:\t0000:00:02.0\ndrm-total-gtt:\t124 MiB\ndrm-shared-gtt:\t0\ndrm-resident-gtt:\t124 MiB\n\
             drm-cycles-rcs:\t{rcs}\ndrm-total-cycles-rcs:\t{total}\ndrm-cycles-vcs:\t{vcs}\ndrm-total-cycles-vcs:\t{total}\ndrm-engine-capacity-vcs:\t2\n"
        )
    }

    #[test]
    fn xe_engines_are_as_busy_as_their_cycles_and_total_cycles_are_no_memory() {
        let before = parse_fdinfo(&xe(28_257_900, 0, 7_655_183_225)).unwrap();
        assert_eq!(
            before.memory_bytes,
            Some(124 << 20),
            "drm-total-cycles-* is not a memory line"
        );
        assert_eq!(before.cycles.len(), 2);
        // 1,000,000 GPU cycles later: rcs was busy 400,000 of them, and
        // the two vcs engines 1,200,000 together (60 % of their two).
        let now = parse_fdinfo(&xe(28_657_900, 1_200_000, 7_656_183_225)).unwrap();
        let u = utilization(&before, &now, Duration::from_secs(1)).unwrap();
        assert!((u - 60.0).abs() < 0.01, "{u}");
        let reset = parse_fdinfo(&xe(5, 0, 7_656_183_225)).unwrap();
        assert_eq!(utilization(&before, &reset, Duration::from_secs(1)), None);
    }

    #[test]
    fn each_client_is_as_busy_as_its_busiest_engine_and_a_reset_reads_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path();
        for pid in [400u32, 401] {
            let p = proc.join(pid.to_string());
            std::fs::create_dir_all(p.join("fd")).unwrap();
            std::fs::create_dir_all(p.join("fdinfo")).unwrap();
            std::os::unix::fs::symlink("/dev/dri/renderD128", p.join("fd/5")).unwrap();
        }
        let write = |pid: u32, text: String| {
            std::fs::write(proc.join(format!("{pid}/fdinfo/5")), text).unwrap();
        };
        write(400, engines(1, 1_000_000_000, 0));
        write(401, engines(2, 9_000_000_000, 4_000_000_000));
        let mut clients = DrmClients::new(proc);
        let t0 = Instant::now();
        let first = clients.sample_at(t0);
        let card = &first["0000:0c:00.0"];
        assert_eq!(card.len(), 2);
        assert!(
            card.iter().all(|p| p.utilization_percent.is_none()),
            "first seen: no window yet, {card:?}"
        );
        // One second later: 400's gfx was busy 500 ms and its compute
        // 600 ms of its two units (30 %); 401's counters went backwards.
        write(400, engines(1, 1_500_000_000, 600_000_000));
        write(401, engines(2, 1_000, 4_000_000_000));
        let next = clients.sample_at(t0 + Duration::from_secs(1));
        let card = &next["0000:0c:00.0"];
        let of = |pid: u32| {
            card.iter()
                .find(|p| p.pid == pid)
                .unwrap()
                .utilization_percent
        };
        assert_eq!(of(400), Some(50.0), "the busiest engine: {card:?}");
        assert_eq!(of(401), None, "a counter reset reads nothing, not 0 or 100");
        // And from there on 401 is measured again.
        write(401, engines(2, 251_000, 4_000_000_000));
        let after = clients.sample_at(t0 + Duration::from_secs(2));
        let p401 = after["0000:0c:00.0"].iter().find(|p| p.pid == 401).unwrap();
        assert!(
            p401.utilization_percent.is_some_and(|u| u < 0.1),
            "{p401:?}"
        );
    }
}
