//! The hardware and storage collectors on node_exporter's own fixture host
//! (`tests/fixtures/node_exporter`: sysfs and procfs trees from real
//! machines, and what node_exporter serves on them): sonde is started on
//! the same trees and each collector's families must be node_exporter's,
//! with the same HELP, TYPE, label sets and values. These layouts are the
//! strongest check there is without the hardware: Apple SMC and Nuvoton
//! fans, coretemp, an AMD GPU's hwmon, batteries, RAPL zones, md arrays
//! in every state, ZFS pools, btrfs, XFS, NFS, bonds, watchdogs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;
#[path = "common/ttar.rs"]
mod ttar;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::Server;
use common::prom::{Exposition, parse};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/node_exporter");

/// The fixture host, unpacked once per run.
fn host() -> &'static Path {
    static HOST: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOST.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        ttar::unpack(&Path::new(FIXTURES).join("sys.ttar"), dir.path());
        std::fs::create_dir(dir.path().join("run")).unwrap();
        ttar::unpack(
            &Path::new(FIXTURES).join("udev.ttar"),
            &dir.path().join("run"),
        );
        let copied = std::process::Command::new("cp")
            .args(["-a", &format!("{FIXTURES}/proc"), "."])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(copied.success());
        dir
    })
    .path()
}

/// node_exporter's expected output.
fn expected() -> &'static Exposition {
    static EXPECTED: OnceLock<Exposition> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        parse(&std::fs::read_to_string(PathBuf::from(FIXTURES).join("e2e-output.txt")).unwrap())
    })
}

/// sonde's `/metrics?collect[]=collector` on the fixture host.
async fn served(collector: &str) -> Exposition {
    let root = host();
    let proc_root = root.join("proc");
    let sys_root = root.join("sys");
    let server = Server::start(&[
        "--proc-root",
        proc_root.to_str().unwrap(),
        "--sys-root",
        sys_root.to_str().unwrap(),
        "--rootfs",
        root.to_str().unwrap(),
        // node_exporter's end-to-end run turns this on.
        "--bcache-priority-stats",
        "on",
    ])
    .await;
    let (status, text) =
        common::prom::scrape(server.addr, &format!("/metrics?collect[]={collector}")).await;
    assert_eq!(status, 200, "{text}");
    // node_exporter's run shows its sysfs path as it was given.
    let text = text.replace(
        &format!("{}/", sys_root.display()),
        "collector/fixtures/sys/",
    );
    parse(&text)
}

/// Compares the families whose names start with one of `prefixes`, after
/// `keep` has chosen the series node_exporter's run kept (its end-to-end
/// test filters some devices).
async fn matches_node_exporter(
    collector: &str,
    prefixes: &[&str],
    keep: impl Fn(&common::prom::Labels) -> bool,
) {
    let ours = served(collector).await;
    let theirs = expected();
    let owned = |e: &Exposition| -> BTreeSet<String> {
        e.series
            .keys()
            .filter(|n| prefixes.iter().any(|p| n.starts_with(p)))
            .filter(|n| e.series[*n].iter().any(|(l, _)| keep(l)))
            .cloned()
            .collect()
    };
    let (names, expected_names) = (owned(&ours), owned(theirs));
    assert!(
        !expected_names.is_empty(),
        "node_exporter's fixture has no {prefixes:?} series"
    );
    let mut problems = Vec::new();
    for name in expected_names.difference(&names) {
        problems.push(format!("missing: {name}"));
    }
    for name in names.difference(&expected_names) {
        problems.push(format!("not node_exporter's: {name}"));
    }
    for name in names.intersection(&expected_names) {
        let family = |e: &Exposition| {
            let base = name.strip_suffix("_total").unwrap_or(name);
            let help = e.helps.get(name).or_else(|| e.helps.get(base)).cloned();
            let kind = e.types.get(name).or_else(|| e.types.get(base)).cloned();
            (help, kind)
        };
        if family(&ours) != family(theirs) {
            problems.push(format!(
                "{name}: ours {:?}, node_exporter's {:?}",
                family(&ours),
                family(theirs)
            ));
        }
        let series = |e: &Exposition| -> Vec<(common::prom::Labels, f64)> {
            let mut s: Vec<_> = e.series[name]
                .iter()
                .filter(|(l, _)| keep(l))
                .cloned()
                .collect();
            s.sort_by(|a, b| a.0.cmp(&b.0));
            s
        };
        let (a, b) = (series(&ours), series(theirs));
        let same = a.len() == b.len()
            && a.iter().zip(&b).all(|((la, va), (lb, vb))| {
                la == lb
                    && ((va - vb).abs() <= 1e-9 * vb.abs().max(1.0) || (va.is_nan() && vb.is_nan()))
            });
        if !same {
            problems.push(format!(
                "{name}:\n  ours            {a:?}\n  node_exporter's {b:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{collector}:\n{}", problems.join("\n"));
}

fn all(_: &common::prom::Labels) -> bool {
    true
}

/// One test per collector, so a failure names it.
macro_rules! same_as_node_exporter {
    ($($test:ident: $collector:literal, $prefixes:expr;)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                matches_node_exporter($collector, &$prefixes, all).await;
            }
        )*
    };
}

same_as_node_exporter! {
    bonding_matches_node_exporter_on_its_fixture: "bonding", ["node_bonding_"];
    btrfs_matches_node_exporter_on_its_fixture: "btrfs", ["node_btrfs_"];
    cpufreq_matches_node_exporter_on_its_fixture: "cpufreq", ["node_cpu_scaling_", "node_cpu_frequency_min", "node_cpu_frequency_max", "node_cpu_frequency_avg"];
    dmi_matches_node_exporter_on_its_fixture: "dmi", ["node_dmi_"];
    edac_matches_node_exporter_on_its_fixture: "edac", ["node_edac_"];
    mdadm_matches_node_exporter_on_its_fixture: "mdadm", ["node_md_"];
    nfs_matches_node_exporter_on_its_fixture: "nfs", ["node_nfs_"];
    nfsd_matches_node_exporter_on_its_fixture: "nfsd", ["node_nfsd_"];
    nvme_matches_node_exporter_on_its_fixture: "nvme", ["node_nvme_"];
    powersupplyclass_matches_node_exporter_on_its_fixture: "powersupplyclass", ["node_power_supply_"];
    rapl_matches_node_exporter_on_its_fixture: "rapl", ["node_rapl_"];
    thermal_zone_matches_node_exporter_on_its_fixture: "thermal_zone", ["node_thermal_zone_", "node_cooling_device_"];
    xfs_matches_node_exporter_on_its_fixture: "xfs", ["node_xfs_"];
    zfs_matches_node_exporter_on_its_fixture: "zfs", ["node_zfs_"];
    watchdog_matches_node_exporter_on_its_fixture: "watchdog", ["node_watchdog_"];
    tapestats_matches_node_exporter_on_its_fixture: "tapestats", ["node_tape_"];
    fibrechannel_matches_node_exporter_on_its_fixture: "fibrechannel", ["node_fibrechannel_"];
    dmmultipath_matches_node_exporter_on_its_fixture: "dmmultipath", ["node_dmmultipath_"];
    ipvs_matches_node_exporter_on_its_fixture: "ipvs", ["node_ipvs_"];
    infiniband_matches_node_exporter_on_its_fixture: "infiniband", ["node_infiniband_"];
    bcache_matches_node_exporter_on_its_fixture: "bcache", ["node_bcache_"];
    bcachefs_matches_node_exporter_on_its_fixture: "bcachefs", ["node_bcachefs_"];
    cpu_sysfs_matches_node_exporter_on_its_fixture: "cpu", ["node_cpu_core_throttles", "node_cpu_package_throttles", "node_cpu_isolated"];
    softnet_matches_node_exporter_on_its_fixture: "softnet", ["node_softnet_"];
    diskstats_matches_node_exporter_on_its_fixture: "diskstats", ["node_disk_"];
}

#[tokio::test]
async fn hwmon_matches_node_exporter_on_its_fixture() {
    // node_exporter's end-to-end run includes these chips only.
    let chips = [
        "applesmc",
        "asus_nb_wmi",
        "coretemp",
        "hwmon4",
        "ieee80211",
        "nct6779",
    ];
    let keep = |l: &common::prom::Labels| {
        l.get("chip")
            .is_none_or(|c| chips.iter().any(|p| c.contains(p)))
    };
    matches_node_exporter("hwmon", &["node_hwmon_"], keep).await;
}

/// node_exporter's fixture has two `coretemp` chips (a two-socket host):
/// `sonde_temperature_celsius{sensor="coretemp Core 0"}` was served twice
/// with different values, and Prometheus silently kept one. The chip is in
/// the labels now; `parse` fails on any series served twice.
#[tokio::test]
async fn regression_two_sockets_served_the_same_temperature_series_twice() {
    let sonde = served("sonde").await;
    let temps = &sonde.series["sonde_temperature_celsius"];
    let core0: Vec<&str> = temps
        .iter()
        .filter(|(l, _)| l["sensor"] == "coretemp Core 0")
        .map(|(l, _)| l["chip"].as_str())
        .collect();
    assert!(core0.len() >= 2, "{temps:?}");
    let all = served("hwmon").await;
    assert!(all.series.contains_key("node_hwmon_temp_celsius"));
}

/// Every file collector ran on one thread with no deadline: one sysfs
/// attribute whose driver stalls (here a FIFO nobody writes, in
/// fibrechannel's tree) held up the whole scrape, so Prometheus missed it
/// and called the host down.
#[tokio::test]
async fn regression_a_stalled_sysfs_read_held_up_the_whole_scrape() {
    let (dir, release) = stalled_host();
    let attribute = dir.path().join("sys/class/fc_host/host0/port_name");
    let sys = dir.path().join("sys");
    let server = Server::start(&["--sys-root", sys.to_str().unwrap()]).await;
    let timeout = [("X-Prometheus-Scrape-Timeout-Seconds", "1")];
    let success = |text: &str, collector: &str| {
        let wanted = format!("node_scrape_collector_success{{collector=\"{collector}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&wanted))
            .unwrap_or_else(|| panic!("no {wanted} in {text}"))
            .parse::<f64>()
            .unwrap()
    };
    for scrape in ["the first, stuck", "the next, not waiting again"] {
        let asked = std::time::Instant::now();
        let (status, text) = server.http_get("/metrics", &timeout).await;
        let took = asked.elapsed();
        assert_eq!(status, 200, "{scrape}: {text}");
        // Within Prometheus's timeout: 90 % of it for the collectors.
        assert!(
            took < std::time::Duration::from_secs(1),
            "{scrape}: {took:?}"
        );
        assert_eq!(success(&text, "fibrechannel"), 0.0, "{scrape}");
        // The collectors after it in the table, on other threads, and
        // those reading kinds' samples, are served.
        for read in ["infiniband", "tapestats", "meminfo", "cpu"] {
            assert_eq!(success(&text, read), 1.0, "{scrape}: {read}");
        }
        assert!(text.contains("node_infiniband_info{"), "{scrape}");
    }
    // The attribute becomes a plain file, then the stuck read returns: the
    // collector runs again and reads it.
    let fresh = dir.path().join("port_name");
    std::fs::write(&fresh, "0x1\n").unwrap();
    std::fs::rename(&fresh, &attribute).unwrap();
    drop(release);
    let mut text = String::new();
    for _ in 0..50 {
        text = server.http_get("/metrics", &timeout).await.1;
        if success(&text, "fibrechannel") == 1.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(success(&text, "fibrechannel"), 1.0, "{text}");
    assert!(text.contains("node_fibrechannel_info{"), "{text}");
}

/// Lets a read stuck opening the FIFO go, when dropped: a writer opens and
/// closes it at once (no data: the read gets an empty file).
struct Release(PathBuf);

impl Drop for Release {
    fn drop(&mut self) {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.0);
    }
}

/// node_exporter's fixture host with fibrechannel's `port_name` a FIFO
/// nobody writes (a sysfs attribute whose driver stalls), and what lets
/// the read go.
fn stalled_host() -> (tempfile::TempDir, Release) {
    let dir = tempfile::tempdir().unwrap();
    ttar::unpack(&Path::new(FIXTURES).join("sys.ttar"), dir.path());
    let attribute = dir.path().join("sys/class/fc_host/host0/port_name");
    let stall = dir.path().join("stall");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&stall)
            .status()
            .unwrap()
            .success()
    );
    std::fs::remove_file(&attribute).unwrap();
    std::fs::hard_link(&stall, &attribute).unwrap();
    (dir, Release(stall))
}

/// The runtime waited for its blocking threads on the way out, and a
/// thread stuck in a read never comes back: SIGTERM left the agent
/// running until systemd killed it.
#[tokio::test]
async fn regression_a_stuck_read_kept_the_agent_from_exiting() {
    let (dir, release) = stalled_host();
    let sys = dir.path().join("sys");
    let (mut server, port) = common::listening(&["--sys-root", sys.to_str().unwrap()]);
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let timeout = [("X-Prometheus-Scrape-Timeout-Seconds", "1")];
    let (status, _) = common::http_get(addr, "/metrics", &timeout).await;
    assert_eq!(status, 200);
    let pid = rustix::process::Pid::from_raw(server.0.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let asked = std::time::Instant::now();
    let exited = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            asked.elapsed() < std::time::Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(exited.success(), "{exited}");
    drop(release);
}

/// Prometheus 2 and 3 ask for OpenMetrics first; sonde answered text
/// 0.0.4 whatever was asked, so counters' start times never reached the
/// OpenTelemetry collector or Alloy. On node_exporter's fixture host
/// (every collector's families) with a textfile of the awkward kinds
/// (a counter without `_total`, a histogram, quotes in HELP).
#[tokio::test]
async fn regression_openmetrics_was_never_served_when_asked() {
    let root = host();
    let textfiles = tempfile::tempdir().unwrap();
    std::fs::write(
        textfiles.path().join("jobs.prom"),
        "# HELP job_runs Runs of the \"nightly\" job.\n# TYPE job_runs counter\njob_runs{job=\"a\"} 2\n\
# TYPE job_seconds histogram\njob_seconds_bucket{le=\"1\"} 1\njob_seconds_bucket{le=\"+Inf\"} 2\njob_seconds_sum 3.5\njob_seconds_count 2\n",
    )
    .unwrap();
    let server = Server::start(&[
        "--proc-root",
        root.join("proc").to_str().unwrap(),
        "--sys-root",
        root.join("sys").to_str().unwrap(),
        "--rootfs",
        root.to_str().unwrap(),
        "--textfile-dir",
        textfiles.path().to_str().unwrap(),
    ])
    .await;
    // Prometheus 3's default Accept.
    let accept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
    let (status, reply) = server.http_get("/metrics", &[("Accept", accept)]).await;
    assert_eq!(status, 200);
    let (head, om) = reply.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text; version=1.0.0; charset=utf-8"),
        "{head}"
    );
    assert!(om.ends_with("\n# EOF\n"), "{}", &om[om.len() - 200..]);
    for line in [
        "# TYPE node_cpu_seconds counter",
        "# UNIT node_cpu_seconds seconds",
        // The fixture's boot time, from its /proc/stat.
        "node_cpu_seconds_created{cpu=\"0\",mode=\"user\"} 1418183276",
        "# TYPE node_vmstat_pgpgin unknown",
        "# HELP job_runs Runs of the \\\"nightly\\\" job.",
        "# TYPE job_runs unknown",
        "# TYPE job_seconds histogram",
    ] {
        assert!(om.lines().any(|l| l == line), "no {line:?} in:\n{om}");
    }
    assert!(
        !om.contains("job_runs_created"),
        "a textfile's start is unknown"
    );
    // Prometheus would store each `_created` line as a series of its own:
    // it gets none unless --openmetrics-created on says it takes them.
    let prometheus = [("Accept", accept), ("User-Agent", "Prometheus/3.5.0")];
    let (_, for_prometheus) = server.http_get("/metrics", &prometheus).await;
    assert!(for_prometheus.contains("# TYPE node_cpu_seconds counter"));
    assert!(!for_prometheus.contains("_created"), "{for_prometheus}");
    // Without asking: text 0.0.4, as before.
    let (_, text) = server.http_get("/metrics", &[]).await;
    assert!(text.contains("version=0.0.4"), "{}", &text[..300]);
    assert!(text.contains("# TYPE node_cpu_seconds_total counter"));
    assert!(!text.contains("# EOF"));
    // A strict OpenMetrics parser reads it all.
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/glances-venv/bin/python");
    let parser = "import sys\nfrom prometheus_client.openmetrics.parser import text_string_to_metric_families as p\nprint(sum(len(f.samples) for f in p(sys.stdin.read())))";
    let Some(out) = common::piped(&python, &["-c", parser], om) else {
        return common::skipped(
            "SKIPPED regression_openmetrics_was_never_served_when_asked: the strict parser part (no target/glances-venv; .ci/run installs it)",
        );
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'prometheus_client'") {
        return common::skipped(
            "SKIPPED regression_openmetrics_was_never_served_when_asked: the strict parser part (prometheus-client is not in target/glances-venv; .ci/run installs it)",
        );
    }
    assert!(out.status.success(), "{stderr}");
    let samples: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(samples > 1000, "{samples} samples");
}
