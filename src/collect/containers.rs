//! Containers and systemd services, from the cgroups the kernel keeps for
//! them: no container runtime is asked. Every Docker, Podman, containerd or
//! Kubernetes container and every systemd service or scope has a cgroup in
//! the unified (v2) hierarchy under `<sys>/fs/cgroup`, whose `cpu.stat`,
//! `memory.current`, `memory.max`, `io.stat` and `pids.current` count what
//! it costs.
//!
//! The walk descends through slices and plain directories and stops at the
//! first cgroup that belongs to a container or unit (what is below it is
//! its own, already counted in its files), except `user@UID.service`, whose
//! tree holds that user's services and rootless containers. A host without
//! the unified hierarchy (cgroup v1 only, or hybrid) gets an empty list and
//! a notice: v1's per-controller trees do not give these numbers
//! consistently, and none is invented.
//!
//! Names: a systemd unit's name is its cgroup's; a container's name is
//! known only to its runtime, so it is null rather than guessed — unless
//! the operator gives sonde a Docker-compatible API socket to ask
//! (`--container-socket`, Docker's or Podman's), whose `/containers/json`
//! maps ids to names ([`runtime_names`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{ParseError, ProcFile, num};

/// How deep the walk goes below the cgroup root (Kubernetes containers sit
/// at depth 4 to 5; user containers at about 6).
const MAX_DEPTH: usize = 10;

/// At most this many cgroups are reported (a bound on one reply's work).
pub const MAX_ENTRIES: usize = 4096;

/// What a first sample waits for CPU% to cover a real window.
pub const FIRST_WINDOW: Duration = Duration::from_millis(200);

/// The counters of `cpu.stat` sonde reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuStat {
    /// `usage_usec`: CPU time, µs, cumulative.
    pub usage_usec: u64,
    /// `throttled_usec`, where the CPU controller is enabled.
    pub throttled_usec: Option<u64>,
}

/// Parses `cpu.stat` (`key value` lines; `usage_usec` is always there).
pub fn parse_cpu_stat(text: &str) -> Result<CpuStat, ParseError> {
    const FILE: &str = "cpu.stat";
    let mut usage = None;
    let mut throttled = None;
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        match parts.next() {
            Some("usage_usec") => usage = Some(num(FILE, "usage_usec", parts.next())?),
            Some("throttled_usec") => {
                throttled = Some(num(FILE, "throttled_usec", parts.next())?);
            }
            _ => {}
        }
    }
    Ok(CpuStat {
        usage_usec: usage.ok_or_else(|| ParseError::new(FILE, "no usage_usec"))?,
        throttled_usec: throttled,
    })
}

/// Parses a one-number file (`memory.current`, `pids.current`).
pub fn parse_counter(file: &'static str, text: &str) -> Result<u64, ParseError> {
    num(file, "value", Some(text.trim()))
}

/// Parses `memory.max`: `max` (no limit) or bytes.
pub fn parse_memory_max(text: &str) -> Result<Option<u64>, ParseError> {
    match text.trim() {
        "max" => Ok(None),
        v => num("memory.max", "limit", Some(v)).map(Some),
    }
}

/// Parses `io.stat` (`MAJ:MIN rbytes=… wbytes=… …` per device): bytes
/// read and written, summed over devices.
pub fn parse_io_stat(text: &str) -> (u64, u64) {
    let (mut read, mut written) = (0u64, 0u64);
    for field in text.split_whitespace() {
        let value = |prefix: &str| {
            field
                .strip_prefix(prefix)
                .and_then(|v| v.parse::<u64>().ok())
        };
        if let Some(v) = value("rbytes=") {
            read = read.saturating_add(v);
        } else if let Some(v) = value("wbytes=") {
            written = written.saturating_add(v);
        }
    }
    (read, written)
}

/// Who a cgroup belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// `docker`, `podman`, `containerd`, `kubepods`, `cri-o`,
    /// `systemd-service` or `systemd-scope`.
    pub kind: &'static str,
    /// The container id, or the unit name.
    pub id: String,
    /// The unit name for systemd units; null for containers.
    pub name: Option<String>,
}

impl Owner {
    /// True for a container (not a systemd unit).
    pub fn is_container(&self) -> bool {
        !self.kind.starts_with("systemd")
    }
}

/// A container id: 64 lowercase hex digits.
fn is_container_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The owner of the cgroup at `path` (as `/proc/<pid>/cgroup` writes it,
/// e.g. `/system.slice/docker-<id>.scope`), from the path patterns of
/// systemd and of the container runtimes' systemd and cgroupfs drivers.
pub fn classify(path: &str) -> Option<Owner> {
    let mut parts = path.trim_end_matches('/').rsplit('/');
    let last = parts.next()?;
    let parent = parts.next().unwrap_or("");
    let in_kubepods = path.contains("/kubepods");
    let container = |kind: &'static str, id: &str| {
        Some(Owner {
            kind,
            id: id.to_owned(),
            name: None,
        })
    };
    if let Some(scope) = last.strip_suffix(".scope") {
        for (prefix, kind) in [
            ("docker-", "docker"),
            ("libpod-", "podman"),
            ("cri-containerd-", "containerd"),
            ("crio-", "cri-o"),
        ] {
            if let Some(id) = scope.strip_prefix(prefix)
                && is_container_id(id)
            {
                return container(if in_kubepods { "kubepods" } else { kind }, id);
            }
        }
    }
    // The cgroupfs drivers: /docker/<id>, /libpod_parent/libpod-<id>,
    // /kubepods/<qos>/pod<uid>/<id>.
    if is_container_id(last) {
        match parent {
            "docker" => return container("docker", last),
            _ if in_kubepods => return container("kubepods", last),
            _ => {}
        }
    }
    if parent == "libpod_parent"
        && let Some(id) = last.strip_prefix("libpod-")
        && is_container_id(id)
    {
        return container("podman", id);
    }
    let unit = |kind: &'static str| {
        Some(Owner {
            kind,
            id: last.to_owned(),
            name: Some(last.to_owned()),
        })
    };
    if last.ends_with(".service") {
        return unit("systemd-service");
    }
    if last.ends_with(".scope") && !last.starts_with("libpod-conmon-") {
        return unit("systemd-scope");
    }
    None
}

/// The cgroup path of a process from `/proc/<pid>/cgroup`: the unified
/// hierarchy's `0::` line, else systemd's named v1 hierarchy, else the
/// first hierarchy with a path.
pub fn parse_proc_cgroup(text: &str) -> Option<String> {
    let paths: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let (id, controllers, path) = (f.next()?, f.next()?, f.next()?);
            Some((if id == "0" { "" } else { controllers }, path))
        })
        .collect();
    paths
        .iter()
        .find(|(c, _)| c.is_empty())
        .or_else(|| paths.iter().find(|(c, _)| *c == "name=systemd"))
        .or_else(|| paths.first())
        .map(|(_, p)| (*p).to_owned())
}

/// One container or unit, measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    /// Who it is.
    pub owner: Owner,
    /// Its cgroup, from the hierarchy's root (`/system.slice/…`).
    pub cgroup: String,
    /// Share of the whole machine since the previous sample, 0–100; `None`
    /// for a cgroup first seen in this sample.
    pub cpu_percent: Option<f32>,
    /// CPU time, µs, cumulative.
    pub cpu_time_us: u64,
    /// `memory.current`, bytes (`None` without the memory controller).
    pub mem_bytes: Option<u64>,
    /// `memory.max`, bytes; `None` when unlimited or unknown.
    pub mem_limit_bytes: Option<u64>,
    /// `pids.current`.
    pub pids: Option<u64>,
    /// Bytes read, summed over devices (`None` without the io controller).
    pub io_read_bytes: Option<u64>,
    /// Bytes written.
    pub io_write_bytes: Option<u64>,
    /// `throttled_usec`, where the CPU controller reports it.
    pub throttled_us: Option<u64>,
}

/// One containers sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerTable {
    /// In cgroup path order.
    pub containers: Vec<Container>,
    /// 2 with the unified hierarchy, else `None`.
    pub cgroup_version: Option<u8>,
    /// Why the list is empty or partial, in one sentence.
    pub notice: Option<String>,
}

/// A cgroup found by the walk: its directory, path and owner.
#[derive(Debug, Clone)]
pub struct Found {
    /// The cgroup's directory.
    pub dir: PathBuf,
    /// Its path from the hierarchy's root.
    pub cgroup: String,
    /// Who it belongs to.
    pub owner: Owner,
}

/// Walks the hierarchy under `root` for owned cgroups, in path order. Only
/// slices and plain directories are listed (owned cgroups are leaves of
/// the walk), so a sample lists a handful of directories.
pub fn walk(root: &Path) -> Vec<Found> {
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, String, usize)> = vec![(root.to_path_buf(), String::new(), 0)];
    while let Some((dir, cgroup, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut children: Vec<(PathBuf, String)> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                (e.path(), format!("{cgroup}/{name}"))
            })
            .collect();
        // Reverse order on the stack: popped in path order.
        children.sort_by(|a, b| b.1.cmp(&a.1));
        for (path, child) in children {
            let owner = classify(&child);
            let descend = match &owner {
                None => true,
                Some(o) => o.kind == "systemd-service" && o.id.starts_with("user@"),
            };
            if let Some(owner) = owner
                && out.len() < MAX_ENTRIES
            {
                out.push(Found {
                    dir: path.clone(),
                    cgroup: child.clone(),
                    owner,
                });
            }
            if descend && depth + 1 < MAX_DEPTH {
                stack.push((path, child, depth + 1));
            }
        }
    }
    out.sort_by(|a, b| a.cgroup.cmp(&b.cgroup));
    out
}

/// The files of one cgroup that sonde reads, in [`CgroupFiles::NAMES`]
/// order.
const FILES: usize = 5;

/// One cgroup's files, kept open and re-read with `pread` (cgroupfs
/// regenerates them on every read), as the process scan keeps
/// `/proc/<pid>/stat`: a steady host costs five reads per cgroup. A file
/// that is absent (its controller is not enabled there) is remembered as
/// absent for the cgroup's life in the table.
#[derive(Debug, Default)]
struct CgroupFiles {
    files: [Option<ProcFile>; FILES],
    absent: [bool; FILES],
}

impl CgroupFiles {
    const NAMES: [&'static str; FILES] = [
        "cpu.stat",
        "memory.current",
        "memory.max",
        "pids.current",
        "io.stat",
    ];

    /// Reads file `i` of `dir` into `buf`: through the kept descriptor, or
    /// opening it (and keeping it while `may_keep`).
    fn read<'b>(
        &mut self,
        dir: &Path,
        i: usize,
        buf: &'b mut Vec<u8>,
        may_keep: bool,
    ) -> Option<&'b str> {
        if self.absent[i] {
            return None;
        }
        // A kept file fails once its cgroup is removed (a restarted service
        // gets a new one under the same path): open the path again.
        let kept = self.files[i]
            .take()
            .and_then(|f| f.read_into(buf).ok().map(|n| (f, n)));
        let (file, n) = match kept {
            Some(read) => read,
            None => {
                let Ok(file) = ProcFile::open(&dir.join(Self::NAMES[i])) else {
                    self.absent[i] = true;
                    return None;
                };
                let n = file.read_into(buf).ok()?;
                (file, n)
            }
        };
        if may_keep {
            self.files[i] = Some(file);
        }
        std::str::from_utf8(&buf[..n]).ok()
    }

    fn kept(&self) -> usize {
        self.files.iter().filter(|f| f.is_some()).count()
    }
}

/// Measures one found cgroup; `None` when it has no readable `cpu.stat`
/// (it vanished mid-walk).
fn measure(
    found: Found,
    files: &mut CgroupFiles,
    buf: &mut Vec<u8>,
    may_keep: bool,
) -> Option<Container> {
    let dir = &found.dir;
    let cpu = parse_cpu_stat(files.read(dir, 0, buf, may_keep)?).ok()?;
    let mem_bytes = files
        .read(dir, 1, buf, may_keep)
        .and_then(|t| parse_counter("memory.current", t).ok());
    let mem_limit_bytes = files
        .read(dir, 2, buf, may_keep)
        .and_then(|t| parse_memory_max(t).ok().flatten());
    let pids = files
        .read(dir, 3, buf, may_keep)
        .and_then(|t| parse_counter("pids.current", t).ok());
    let io = files.read(dir, 4, buf, may_keep).map(parse_io_stat);
    Some(Container {
        owner: found.owner,
        cgroup: found.cgroup,
        cpu_percent: None,
        cpu_time_us: cpu.usage_usec,
        mem_bytes,
        mem_limit_bytes,
        pids,
        io_read_bytes: io.map(|(r, _)| r),
        io_write_bytes: io.map(|(_, w)| w),
        throttled_us: cpu.throttled_usec,
    })
}

/// CPU% between two readings of one cgroup.
fn share(before: (u64, Instant), now: (u64, Instant), cpus: usize) -> f32 {
    let elapsed_us = now.1.saturating_duration_since(before.1).as_micros() as f64;
    if elapsed_us <= 0.0 {
        return 0.0;
    }
    let used = now.0.saturating_sub(before.0) as f64;
    ((used * 100.0 / (elapsed_us * cpus.max(1) as f64)) as f32).clamp(0.0, 100.0)
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
    previous: HashMap<String, (u64, Instant)>,
    buf: Vec<u8>,
}

impl ContainerSampler {
    /// A sampler of the hierarchy under `sys/fs/cgroup`, with CPU% as a
    /// share of `cpus` logical CPUs, keeping at most `fd_budget` files open.
    pub fn new(sys: &Path, cpus: usize, fd_budget: usize) -> ContainerSampler {
        ContainerSampler {
            root: sys.join("fs/cgroup"),
            cpus,
            fd_budget,
            files: HashMap::new(),
            previous: HashMap::new(),
            buf: Vec::new(),
        }
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
            if let Some(c) = measure(f, &mut mine, &mut self.buf, may_keep) {
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
            self.remember(&baseline, Instant::now());
            std::thread::sleep(FIRST_WINDOW);
        }
        let mut containers = self.measure_all();
        let now = Instant::now();
        for c in &mut containers {
            c.cpu_percent = self
                .previous
                .get(&c.cgroup)
                .map(|&before| share(before, (c.cpu_time_us, now), self.cpus));
        }
        self.remember(&containers, now);
        ContainerTable {
            containers,
            cgroup_version: Some(2),
            notice: None,
        }
    }

    fn remember(&mut self, containers: &[Container], at: Instant) {
        self.previous = containers
            .iter()
            .map(|c| (c.cgroup.clone(), (c.cpu_time_us, at)))
            .collect();
    }

    /// Files kept open now.
    pub fn kept_files(&self) -> usize {
        self.files.values().map(CgroupFiles::kept).sum()
    }
}

/// Parses a Docker-compatible `/containers/json` reply (Docker, Podman):
/// container id → name (the first of `Names`, without its leading `/`).
pub fn parse_container_names(json: &str) -> Result<HashMap<String, String>, ParseError> {
    #[derive(serde::Deserialize)]
    struct Listed {
        #[serde(rename = "Id")]
        id: String,
        #[serde(rename = "Names", default)]
        names: Vec<String>,
    }
    let listed: Vec<Listed> = serde_json::from_str(json)
        .map_err(|e| ParseError::new("/containers/json", e.to_string()))?;
    Ok(listed
        .into_iter()
        .filter_map(|c| {
            let name = c.names.into_iter().next()?;
            Some((c.id, name.trim_start_matches('/').to_owned()))
        })
        .collect())
}

/// Asks the container runtime listening on `socket` (a Docker-compatible
/// API on a Unix socket) for its containers' names, within `timeout`.
pub async fn runtime_names(
    socket: &Path,
    timeout: Duration,
) -> Result<HashMap<String, String>, super::CollectError> {
    use http_body_util::BodyExt;
    let failed = |detail: String| super::CollectError::read(socket, std::io::Error::other(detail));
    let ask = async {
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| super::CollectError::read(socket, e))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| failed(e.to_string()))?;
        tokio::spawn(async move {
            // The connection ends with the reply; its error is the reply's.
            let _ = conn.await;
        });
        let request = hyper::Request::get("/containers/json")
            .header(hyper::header::HOST, "localhost")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|e| failed(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("answered {}", response.status())));
        }
        let body = http_body_util::Limited::new(response.into_body(), 16 << 20)
            .collect()
            .await
            .map_err(|e| failed(e.to_string()))?
            .to_bytes();
        Ok(parse_container_names(&String::from_utf8_lossy(&body))?)
    };
    tokio::time::timeout(timeout, ask)
        .await
        .map_err(|_| failed(format!("no answer within {} ms", timeout.as_millis())))?
}

/// Gives each container in `table` the name its runtime knows it by.
pub fn name_containers(table: &mut ContainerTable, names: &HashMap<String, String>) {
    for c in &mut table.containers {
        if c.owner.is_container()
            && let Some(name) = names.get(&c.owner.id)
        {
            c.owner.name = Some(name.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER_ID: &str = "4f3c2b1a09e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2";
    const POD_ID: &str = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b";

    #[test]
    fn cpu_stat_with_and_without_the_cpu_controller() {
        let full = "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\nnr_periods 10\nnr_throttled 2\nthrottled_usec 5000\nnr_bursts 0\nburst_usec 0\n";
        assert_eq!(
            parse_cpu_stat(full).unwrap(),
            CpuStat {
                usage_usec: 123_456,
                throttled_usec: Some(5000)
            }
        );
        let bare = "usage_usec 42\nuser_usec 40\nsystem_usec 2\n";
        assert_eq!(parse_cpu_stat(bare).unwrap().throttled_usec, None);
        assert!(parse_cpu_stat("user_usec 1\n").is_err());
        assert!(parse_cpu_stat("usage_usec lots\n").is_err());
    }

    #[test]
    fn memory_pids_and_io() {
        assert_eq!(
            parse_counter("memory.current", "52428800\n").unwrap(),
            52_428_800
        );
        assert_eq!(parse_memory_max("max\n").unwrap(), None);
        assert_eq!(parse_memory_max("536870912\n").unwrap(), Some(512 << 20));
        assert!(parse_memory_max("lots\n").is_err());
        let io = "8:0 rbytes=1048576 wbytes=4096 rios=10 wios=1 dbytes=0 dios=0\n259:0 rbytes=1024 wbytes=2048 rios=1 wios=1 dbytes=0 dios=0\n";
        assert_eq!(parse_io_stat(io), (1_049_600, 6144));
        assert_eq!(parse_io_stat(""), (0, 0));
    }

    #[test]
    fn owners_from_the_runtimes_path_patterns() {
        let of = |p: &str| classify(p).map(|o| (o.kind, o.id));
        assert_eq!(
            of(&format!("/system.slice/docker-{DOCKER_ID}.scope")),
            Some(("docker", DOCKER_ID.to_owned()))
        );
        assert_eq!(
            of(&format!("/docker/{DOCKER_ID}")),
            Some(("docker", DOCKER_ID.to_owned()))
        );
        assert_eq!(
            of(&format!("/machine.slice/libpod-{DOCKER_ID}.scope")),
            Some(("podman", DOCKER_ID.to_owned()))
        );
        assert_eq!(
            of(&format!("/machine.slice/libpod-conmon-{DOCKER_ID}.scope")),
            None
        );
        assert_eq!(
            of(&format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/cri-containerd-{POD_ID}.scope"
            )),
            Some(("kubepods", POD_ID.to_owned()))
        );
        assert_eq!(
            of(&format!("/kubepods/besteffort/pod1234-5678/{POD_ID}")),
            Some(("kubepods", POD_ID.to_owned()))
        );
        assert_eq!(
            of(&format!("/system.slice/cri-containerd-{POD_ID}.scope")),
            Some(("containerd", POD_ID.to_owned()))
        );
        let nginx = classify("/system.slice/nginx.service").unwrap();
        assert_eq!(
            (nginx.kind, nginx.name.as_deref()),
            ("systemd-service", Some("nginx.service"))
        );
        assert!(!nginx.is_container());
        assert_eq!(
            of("/user.slice/user-1000.slice/session-3.scope"),
            Some(("systemd-scope", "session-3.scope".to_owned()))
        );
        assert_eq!(of("/system.slice"), None);
        assert_eq!(of("/docker/not-an-id"), None);
    }

    #[test]
    fn a_process_cgroup_in_v2_v1_and_hybrid_layouts() {
        assert_eq!(
            parse_proc_cgroup("0::/system.slice/nginx.service\n").as_deref(),
            Some("/system.slice/nginx.service")
        );
        let v1 = format!("12:pids:/docker/{DOCKER_ID}\n1:name=systemd:/docker/{DOCKER_ID}\n");
        assert_eq!(parse_proc_cgroup(&v1), Some(format!("/docker/{DOCKER_ID}")));
        let hybrid = "1:name=systemd:/user.slice/x.scope\n0::/user.slice/y.scope\n";
        assert_eq!(
            parse_proc_cgroup(hybrid).as_deref(),
            Some("/user.slice/y.scope")
        );
        assert_eq!(parse_proc_cgroup(""), None);
    }

    /// A cgroup directory with its files.
    fn cg(root: &Path, path: &str, usage: u64, mem: &str, extra: &[(&str, &str)]) {
        let dir = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("cpu.stat"),
            format!("usage_usec {usage}\nuser_usec 1\nsystem_usec 1\n"),
        )
        .unwrap();
        std::fs::write(dir.join("memory.current"), mem).unwrap();
        std::fs::write(dir.join("memory.max"), "max\n").unwrap();
        std::fs::write(dir.join("pids.current"), "3\n").unwrap();
        for (file, text) in extra {
            std::fs::write(dir.join(file), text).unwrap();
        }
    }

    fn host(layout: impl FnOnce(&Path)) -> (tempfile::TempDir, ContainerSampler) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("fs/cgroup");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(
            root.join("cgroup.controllers"),
            "cpuset cpu io memory pids\n",
        )
        .unwrap();
        layout(&root);
        let sampler = ContainerSampler::new(dir.path(), 4, 1024);
        (dir, sampler)
    }

    fn summary(t: &ContainerTable) -> Vec<(&'static str, String)> {
        t.containers
            .iter()
            .map(|c| (c.owner.kind, c.cgroup.clone()))
            .collect()
    }

    #[test]
    fn docker_on_systemd() {
        let (_dir, mut s) = host(|root| {
            cg(root, "/init.scope", 10, "1000\n", &[]);
            cg(root, "/system.slice/docker.service", 500, "80000000\n", &[]);
            cg(
                root,
                "/system.slice/containerd.service",
                300,
                "40000000\n",
                &[],
            );
            cg(
                root,
                &format!("/system.slice/docker-{DOCKER_ID}.scope"),
                9000,
                "52428800\n",
                &[
                    ("memory.max", "536870912\n"),
                    (
                        "io.stat",
                        "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
                    ),
                    (
                        "cpu.stat",
                        "usage_usec 9000\nuser_usec 8000\nsystem_usec 1000\nnr_periods 5\nnr_throttled 1\nthrottled_usec 250\n",
                    ),
                ],
            );
            // A cgroup inside the container belongs to it: not listed.
            cg(
                root,
                &format!("/system.slice/docker-{DOCKER_ID}.scope/init.scope"),
                1,
                "1\n",
                &[],
            );
        });
        let t = s.sample();
        assert_eq!(t.cgroup_version, Some(2));
        assert_eq!(
            summary(&t),
            [
                ("systemd-scope", "/init.scope".to_owned()),
                (
                    "systemd-service",
                    "/system.slice/containerd.service".to_owned()
                ),
                ("docker", format!("/system.slice/docker-{DOCKER_ID}.scope")),
                ("systemd-service", "/system.slice/docker.service".to_owned()),
            ]
        );
        let c = &t.containers[2];
        assert_eq!(c.owner.id, DOCKER_ID);
        assert_eq!(c.owner.name, None);
        assert_eq!(c.cpu_time_us, 9000);
        assert_eq!(c.mem_bytes, Some(50 << 20));
        assert_eq!(c.mem_limit_bytes, Some(512 << 20));
        assert_eq!(c.pids, Some(3));
        assert_eq!(
            (c.io_read_bytes, c.io_write_bytes),
            (Some(4096), Some(8192))
        );
        assert_eq!(c.throttled_us, Some(250));
        assert_eq!(c.cpu_percent, Some(0.0), "nothing ran in the first window");
        assert_eq!(t.containers[0].mem_limit_bytes, None, "max is no limit");
    }

    #[test]
    fn podman_rootful_and_rootless() {
        let (_dir, mut s) = host(|root| {
            cg(
                root,
                &format!("/machine.slice/libpod-{DOCKER_ID}.scope"),
                5,
                "1\n",
                &[],
            );
            cg(
                root,
                &format!("/machine.slice/libpod-conmon-{DOCKER_ID}.scope"),
                5,
                "1\n",
                &[],
            );
            cg(
                root,
                "/user.slice/user-1000.slice/user@1000.service",
                50,
                "1\n",
                &[],
            );
            cg(
                root,
                &format!(
                    "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{POD_ID}.scope"
                ),
                7,
                "1\n",
                &[],
            );
            cg(
                root,
                "/user.slice/user-1000.slice/user@1000.service/app.slice/syncthing.service",
                7,
                "1\n",
                &[],
            );
        });
        let kinds: Vec<(&str, String)> = s
            .sample()
            .containers
            .iter()
            .map(|c| (c.owner.kind, c.owner.id.clone()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("podman", DOCKER_ID.to_owned()),
                ("systemd-service", "user@1000.service".to_owned()),
                ("systemd-service", "syncthing.service".to_owned()),
                ("podman", POD_ID.to_owned()),
            ]
        );
    }

    #[test]
    fn a_kubernetes_node() {
        let pod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0e1f_2a3b.slice";
        let (_dir, mut s) = host(|root| {
            cg(root, "/kubepods.slice", 100, "1\n", &[]);
            cg(root, pod, 100, "1\n", &[]);
            cg(
                root,
                &format!("{pod}/cri-containerd-{POD_ID}.scope"),
                60,
                "1\n",
                &[],
            );
            cg(
                root,
                &format!("{pod}/cri-containerd-{DOCKER_ID}.scope"),
                40,
                "1\n",
                &[],
            );
            cg(root, "/system.slice/kubelet.service", 10, "1\n", &[]);
        });
        let t = s.sample();
        assert_eq!(
            summary(&t),
            [
                (
                    "kubepods",
                    format!("{pod}/cri-containerd-{DOCKER_ID}.scope")
                ),
                ("kubepods", format!("{pod}/cri-containerd-{POD_ID}.scope")),
                (
                    "systemd-service",
                    "/system.slice/kubelet.service".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_plain_systemd_server_and_cpu_between_samples() {
        let (dir, mut s) = host(|root| {
            cg(root, "/system.slice/nginx.service", 1_000_000, "1\n", &[]);
            cg(root, "/system.slice/postgresql.service", 0, "1\n", &[]);
            cg(
                root,
                "/user.slice/user-1000.slice/session-3.scope",
                0,
                "1\n",
                &[],
            );
        });
        let first = s.sample();
        assert_eq!(first.containers.len(), 3);
        // nginx uses 400 ms of CPU in the next ~500 ms: up to 20 % of 4 CPUs.
        let root = dir.path().join("fs/cgroup/system.slice/nginx.service");
        std::thread::sleep(Duration::from_millis(500));
        std::fs::write(root.join("cpu.stat"), "usage_usec 1400000\n").unwrap();
        cg(
            dir.path(),
            "/fs/cgroup/system.slice/redis.service",
            5,
            "1\n",
            &[],
        );
        let t = s.sample();
        let nginx = &t.containers[0];
        let share = nginx.cpu_percent.unwrap();
        assert!(share > 5.0 && share <= 20.0, "{share}");
        let redis = t
            .containers
            .iter()
            .find(|c| c.owner.id == "redis.service")
            .unwrap();
        assert_eq!(redis.cpu_percent, None, "first seen now: no window yet");
        // Counters going backwards (a restarted service) read 0, not garbage.
        std::fs::write(root.join("cpu.stat"), "usage_usec 10\n").unwrap();
        assert_eq!(s.sample().containers[0].cpu_percent, Some(0.0));
    }

    #[test]
    fn a_cgroup_v1_host_gets_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("fs/cgroup/memory")).unwrap();
        let t = ContainerSampler::new(dir.path(), 2, 1024).sample();
        assert!(t.containers.is_empty());
        assert_eq!(t.cgroup_version, None);
        assert!(t.notice.unwrap().contains("no cgroup v2"));
    }

    #[test]
    fn kept_files_stay_within_the_budget_and_every_cgroup_is_measured() {
        let (dir, _) = host(|root| {
            for i in 0..4 {
                cg(root, &format!("/system.slice/s{i}.service"), 1, "1\n", &[]);
            }
        });
        let mut s = ContainerSampler::new(dir.path(), 4, 7);
        let t = s.sample();
        assert_eq!(t.containers.len(), 4);
        assert!(t.containers.iter().all(|c| c.mem_bytes == Some(1)));
        assert!(s.kept_files() <= 7, "{}", s.kept_files());
        assert!(s.kept_files() > 0);
        // A cgroup gone from the walk closes its files.
        std::fs::remove_dir_all(dir.path().join("fs/cgroup/system.slice/s0.service")).unwrap();
        assert_eq!(s.sample().containers.len(), 3);
        assert!(s.kept_files() <= 7);
    }

    #[test]
    fn names_from_a_docker_compatible_listing() {
        let json = format!(
            r#"[{{"Id":"{DOCKER_ID}","Names":["/web"],"Image":"nginx"}},{{"Id":"{POD_ID}","Names":[]}}]"#
        );
        let names = parse_container_names(&json).unwrap();
        assert_eq!(names.get(DOCKER_ID).map(String::as_str), Some("web"));
        assert_eq!(names.len(), 1, "a container without names is left out");
        assert!(parse_container_names("{\"message\":\"denied\"}").is_err());
    }
}
