//! Pure parsers of the cgroup files, of `/proc/<pid>/cgroup` and of a
//! runtime's container list, and the owner of a cgroup from its path.

use std::collections::HashMap;

use super::types::{MemoryEvents, Owner, OwnerKind};
use crate::collect::{ParseError, num};

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

/// Parses `memory.events` (`low 0`, `high 0`, `max 3`, `oom 1`,
/// `oom_kill 1`, `oom_group_kill 0`: one counter a line); a counter the
/// kernel does not write stays 0.
pub fn parse_memory_events(text: &str) -> Result<MemoryEvents, ParseError> {
    let mut out = MemoryEvents::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        let slot = match key {
            "max" => &mut out.max,
            "oom" => &mut out.oom,
            "oom_kill" => &mut out.oom_kill,
            _ => continue,
        };
        *slot = num("memory.events", key, Some(value.trim()))?;
    }
    Ok(out)
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
    let container = |kind: OwnerKind, id: &str| {
        Some(Owner {
            kind,
            id: id.to_owned(),
            name: None,
        })
    };
    if let Some(scope) = last.strip_suffix(".scope") {
        for (prefix, kind) in [
            ("docker-", OwnerKind::Docker),
            ("libpod-", OwnerKind::Podman),
            ("cri-containerd-", OwnerKind::Containerd),
            ("crio-", OwnerKind::CriO),
        ] {
            if let Some(id) = scope.strip_prefix(prefix)
                && is_container_id(id)
            {
                return container(
                    if in_kubepods {
                        OwnerKind::Kubepods
                    } else {
                        kind
                    },
                    id,
                );
            }
        }
    }
    // The cgroupfs drivers: /docker/<id>, /libpod_parent/libpod-<id>,
    // /kubepods/<qos>/pod<uid>/<id>.
    if is_container_id(last) {
        match parent {
            "docker" => return container(OwnerKind::Docker, last),
            _ if in_kubepods => return container(OwnerKind::Kubepods, last),
            _ => {}
        }
    }
    if parent == "libpod_parent"
        && let Some(id) = last.strip_prefix("libpod-")
        && is_container_id(id)
    {
        return container(OwnerKind::Podman, id);
    }
    let unit = |kind: OwnerKind| {
        Some(Owner {
            kind,
            id: last.to_owned(),
            name: Some(last.to_owned()),
        })
    };
    if last.ends_with(".service") {
        return unit(OwnerKind::SystemdService);
    }
    if last.ends_with(".scope") && !last.starts_with("libpod-conmon-") {
        return unit(OwnerKind::SystemdScope);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_events_are_read_by_name() {
        let e = parse_memory_events("low 0\nhigh 4\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n")
            .unwrap();
        assert_eq!((e.max, e.oom, e.oom_kill), (3, 1, 1));
        assert_eq!(parse_memory_events("").unwrap(), MemoryEvents::default());
        assert!(parse_memory_events("oom_kill many\n").is_err());
    }
}
