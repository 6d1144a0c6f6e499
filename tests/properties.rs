//! Properties of every parser of client or host input: none panics on any
//! input, and those with a written form read back what was written. The
//! bounded fuzz runs (`scripts/fuzz.sh`) search the same functions further.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

use proptest::prelude::*;
use sonde::collect::{
    containers, cpu, disks, gpu, host, journal, memory, network, os_release, process_detail,
    processes, system, thermal,
};
use sonde::protocol::Request;

/// Text that looks like a kernel file: digits, names, separators, and now
/// and then anything at all.
fn procfs_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_:()./ \t\n-]{0,400}",
        "(cpu[0-9]? ( [0-9]{1,20}){0,12}\n){0,6}(btime [0-9]{1,12}\n)?",
        "([A-Za-z_()]{1,16}: {1,8}[0-9]{1,22}( kB)?\n){0,12}",
        any::<String>(),
    ]
}

fn stat_line() -> impl Strategy<Value = String> {
    (
        any::<u32>(),
        "[^\n]{0,20}",
        "[RSDZTtWXxKWPI]",
        proptest::collection::vec(any::<i64>(), 0..50),
    )
        .prop_map(|(pid, comm, state, fields)| {
            let rest: Vec<String> = fields.iter().map(i64::to_string).collect();
            format!("{pid} ({comm}) {state} {}\n", rest.join(" "))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn request_parsing_never_panics(text in any::<String>()) {
        if let Err(bad) = Request::parse(&text) {
            prop_assert!(!bad.reason.is_empty());
            prop_assert!(bad.received.chars().count() <= 64);
        }
    }

    #[test]
    fn json_shaped_requests_never_panic(kind in "[a-z_]{0,20}", pid in any::<i64>(), extra in "[^\"]{0,20}") {
        let text = format!("{{\"type\":\"{kind}\",\"pid\":{pid},\"x\":\"{extra}\"}}");
        let _ = Request::parse(&text);
    }

    #[test]
    fn both_request_forms_read_back(pid in any::<u32>(), pad in "[ \t\n]{0,3}") {
        for (text, want) in [
            (format!("{pad}get_process_metrics:{pid}{pad}"), "process_metrics"),
            (format!("get_journal_entries:{pid}"), "journal_entries"),
            (format!("{{\"type\":\"process_metrics\",\"pid\":{pid}}}"), "process_metrics"),
            (format!("{pad}{{\"type\":\"journal_entries\",\"pid\":{pid}}}"), "journal_entries"),
        ] {
            let got = Request::parse(&text).unwrap();
            prop_assert_eq!((got.name(), got.pid()), (want, pid));
        }
        for name in ["metrics", "disks", "processes", "host", "containers"] {
            let json = Request::parse(&format!("{{\"type\":\"{name}\"}}")).unwrap();
            let text = Request::parse(&format!("{pad}get_{name}")).unwrap();
            prop_assert_eq!(json, text);
            prop_assert_eq!(json.name(), name);
        }
    }

    #[test]
    fn host_file_parsers_never_panic(text in procfs_like()) {
        let _ = cpu::parse_stat(&text);
        let _ = memory::parse_meminfo(&text);
        let _ = network::parse_net_dev(&text);
        let _ = system::parse_loadavg(&text);
        let _ = disks::parse_mountinfo(&text);
        let _ = host::parse_cpuinfo(&text);
        let _ = os_release::pretty_name(&text);
        let _ = thermal::parse_millidegrees(&text);
        let _ = gpu::parse_hex_id(&text);
        let _ = journal::parse_entry(&text);
        let _ = processes::parse_pid_stat(&text);
        let _ = processes::parser::parse_schedstat(&text);
        let _ = processes::parser::parse_reclaim_epoch(&text);
        let _ = processes::parser::parse_last_created_pid(&text);
        let _ = processes::parser::parse_pid_name(text.as_bytes());
        let _ = process_detail::parse_status(&text);
        let _ = process_detail::parse_statm(&text);
        let _ = process_detail::parse_io(&text);
        let _ = process_detail::parse_cmdline(&text);
        let _ = process_detail::parse_children(&text);
        let _ = containers::parse_cpu_stat(&text);
        let _ = containers::parse_counter("memory.current", &text);
        let _ = containers::parse_memory_max(&text);
        let _ = containers::parse_io_stat(&text);
        let _ = containers::parse_proc_cgroup(&text);
        let _ = containers::parse_container_names(&text);
        let _ = containers::classify(&text);
    }

    #[test]
    fn a_container_id_in_any_runtime_layout_is_found(id in "[0-9a-f]{64}", slice in "[a-z]{1,8}") {
        for (path, kind) in [
            (format!("/system.slice/docker-{id}.scope"), "docker"),
            (format!("/docker/{id}"), "docker"),
            (format!("/machine-{slice}.slice/libpod-{id}.scope"), "podman"),
            (format!("/kubepods.slice/kubepods-{slice}.slice/cri-containerd-{id}.scope"), "kubepods"),
        ] {
            let owner = containers::classify(&path).unwrap();
            prop_assert_eq!((owner.kind.name(), owner.id.as_str()), (kind, id.as_str()));
            prop_assert!(owner.is_container());
        }
    }

    #[test]
    fn pid_stat_reads_back_the_fields_it_was_given(line in stat_line()) {
        // Whatever it makes of the line, a success carries the pid and comm
        // that were written.
        if let Ok(stat) = processes::parse_pid_stat(&line) {
            let open = line.find('(').unwrap();
            let close = line.rfind(')').unwrap();
            prop_assert_eq!(stat.pid.to_string(), line[..open].trim());
            prop_assert_eq!(stat.comm, &line[open + 1..close]);
        }
    }

    #[test]
    fn mountinfo_round_trips_escaped_paths(point in "/[a-z \\\\\t]{1,20}", source in "/dev/[a-z]{1,8}") {
        let escaped: String = point
            .chars()
            .map(|c| match c {
                ' ' => "\\040".to_owned(),
                '\t' => "\\011".to_owned(),
                '\\' => "\\134".to_owned(),
                c => c.to_string(),
            })
            .collect();
        let line = format!("36 35 98:0 / {escaped} rw,noatime - ext4 {source} rw\n");
        let mounts = disks::parse_mountinfo(&line).unwrap();
        prop_assert_eq!(&mounts[0].mount_point, &point);
        prop_assert_eq!(&mounts[0].source, &source);
    }

    #[test]
    fn cpu_usage_stays_within_0_and_100(a in proptest::collection::vec(any::<u32>(), 10), b in proptest::collection::vec(any::<u32>(), 10)) {
        let line = |v: &[u32]| {
            let fields: Vec<String> = v.iter().map(u32::to_string).collect();
            format!("cpu {}\ncpu0 {}\n", fields.join(" "), fields.join(" "))
        };
        let (first, second) = (cpu::parse_stat(&line(&a)).unwrap(), cpu::parse_stat(&line(&b)).unwrap());
        let usage = cpu::usage_between(&second, Some(&first));
        prop_assert!((0.0..=100.0).contains(&usage.total_percent), "{usage:?}");
        for core in &usage.per_core_percent {
            prop_assert!((0.0..=100.0).contains(core), "{usage:?}");
        }
    }
}
