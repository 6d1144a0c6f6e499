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

//! Layout: [`types`] (owners, containers, the table), [`parser`] (pure
//! parsers and the owner of a path), [`walk`] (the hierarchy), [`files`]
//! (kept files, one cgroup measured), [`sampler`] (CPU% between samples),
//! [`runtime`] (names from a runtime's socket), [`names`] (naming a table).

pub mod files;
pub mod names;
pub mod parser;
pub mod runtime;
pub mod sampler;
pub mod types;
pub mod walk;

pub use names::name_containers;
pub use parser::{
    CpuStat, classify, parse_container_names, parse_counter, parse_cpu_stat, parse_io_stat,
    parse_memory_events, parse_memory_max, parse_proc_cgroup,
};
pub use runtime::runtime_names;
pub use sampler::ContainerSampler;
pub use types::{
    CgroupPressure, Container, ContainerTable, FIRST_WINDOW, Found, MAX_ENTRIES, MemoryEvents,
    Owner, OwnerKind,
};
pub use walk::walk;

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

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
        let of = |p: &str| classify(p).map(|o| (o.kind.name(), o.id));
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
            (nginx.kind.name(), nginx.name.as_deref()),
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
        // A manual clock: a first sample's window costs the test no wait.
        let sampler = ContainerSampler::new(dir.path(), 4, 1024, Arc::default())
            .with_clock(crate::collect::clock::ManualClock::new());
        (dir, sampler)
    }

    fn summary(t: &ContainerTable) -> Vec<(&'static str, String)> {
        t.containers
            .iter()
            .map(|c| (c.owner.kind.name(), c.cgroup.clone()))
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
                    (
                        "memory.pressure",
                        "some avg10=1.50 avg60=0.40 avg300=0.10 total=123456\nfull avg10=0.75 avg60=0.20 avg300=0.05 total=65432\n",
                    ),
                    (
                        "memory.events",
                        "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n",
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
        assert_eq!(
            (c.io_read_bytes_per_sec, c.io_write_bytes_per_sec),
            (Some(0.0), Some(0.0))
        );
        let memory = c.pressure.memory.unwrap();
        assert_eq!(memory.some.unwrap().avg10, 1.5);
        assert_eq!(memory.full.unwrap().total_us, 65432);
        assert_eq!(c.pressure.cpu, None, "no cpu.pressure: null, not zero");
        assert_eq!(
            c.memory_events,
            Some(MemoryEvents {
                max: 12,
                oom: 2,
                oom_kill: 1
            })
        );
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
            .map(|c| (c.owner.kind.name(), c.owner.id.clone()))
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
        let (dir, s) = host(|root| {
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
        let clock = crate::collect::clock::ManualClock::new();
        let mut s = s.with_clock(clock.clone());
        let first = s.sample();
        assert_eq!(first.containers.len(), 3);
        // nginx uses 400 ms of CPU in the next 500 ms: 20 % of 4 CPUs.
        let root = dir.path().join("fs/cgroup/system.slice/nginx.service");
        clock.advance(Duration::from_millis(500));
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
        let t = ContainerSampler::new(dir.path(), 2, 1024, Arc::default()).sample();
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
        // Room for one cgroup's files and most of another's.
        let budget = 2 * files::FILES - 2;
        let mut s = ContainerSampler::new(dir.path(), 4, budget, Arc::default());
        let t = s.sample();
        assert_eq!(t.containers.len(), 4);
        assert!(t.containers.iter().all(|c| c.mem_bytes == Some(1)));
        assert!(s.kept_files() <= budget, "{}", s.kept_files());
        assert!(s.kept_files() > 0);
        // A cgroup gone from the walk closes its files.
        std::fs::remove_dir_all(dir.path().join("fs/cgroup/system.slice/s0.service")).unwrap();
        assert_eq!(s.sample().containers.len(), 3);
        assert!(s.kept_files() <= budget);
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
