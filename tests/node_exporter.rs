//! sonde against node_exporter on the same host: Debian's
//! `prometheus-node-exporter` (installed by `.ci/run`; skipped with a
//! message where it is missing) is scraped, then sonde, then
//! node_exporter again. For every series name both serve, sonde must have
//! node_exporter's label sets, each gauge within a tolerance of node_exporter's
//! and each counter between node_exporter's two readings — so a wrong unit
//! (sectors for bytes, jiffies for seconds, KiB for bytes) cannot pass.
//! node_exporter is started with sonde's filters (Debian builds its own
//! defaults in, such as leaving out `lo`), so both look at the same
//! devices and mounts.
//!
//! A second test puts a real Prometheus in front of sonde and asks it what
//! node_exporter's dashboards and the node-mixin alerts ask.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::prom::{Prometheus, parse, query, scrape};
use common::{Killed, Server, free_port};

/// How far a gauge may be from node_exporter's reading taken a moment
/// apart.
fn tolerance(name: &str) -> Option<f64> {
    let abs = |prefix: &str| name.starts_with(prefix);
    Some(match () {
        _ if abs("node_procs_") || abs("node_processes_") => return None,
        _ if abs("node_scrape_collector_duration_seconds") => return None,
        _ if abs("node_time_seconds") => 5.0,
        _ if abs("node_memory_") && name.ends_with("_bytes") => 256.0 * 1024.0 * 1024.0,
        _ if abs("node_load") => 1.0,
        _ if abs("node_sockstat_") || abs("node_tcp_connection_states") => 64.0 * 4096.0,
        _ if abs("node_filefd_allocated") => 500.0,
        _ if abs("node_entropy_available_bits") => 256.0,
        _ if abs("node_filesystem_free_bytes") || abs("node_filesystem_avail_bytes") => {
            512.0 * 1024.0 * 1024.0
        }
        _ if abs("node_filesystem_files_free") => 10_000.0,
        _ if abs("node_disk_io_now") || abs("node_softnet_backlog_len") => 64.0,
        _ if abs("node_nf_conntrack_entries") || abs("node_arp_entries") => 64.0,
        _ if abs("node_timex_offset") || abs("node_timex_frequency") => 0.01,
        _ if abs("node_timex_") && name.contains("error") => 1.0,
        _ if abs("node_udp_queues") => 1e6,
        _ if abs("node_netstat_Tcp_CurrEstab") => 64.0,
        _ => 1e-9,
    })
}

/// Names only node_exporter serves, and why.
const NOT_SERVED: &[(&str, &str)] = &[
    ("go_", "node_exporter's Go runtime"),
    ("promhttp_", "node_exporter's HTTP handler"),
    (
        "process_",
        "node_exporter's own process (sonde serves its own cpu and memory)",
    ),
    (
        "node_exporter_build_info",
        "node_exporter's version (sonde_build_info is sonde's)",
    ),
    (
        "node_processes_threads_state",
        "a read of every thread's stat per scrape",
    ),
];

fn exporter() -> Option<&'static str> {
    ["prometheus-node-exporter", "node_exporter"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok()
        })
}

async fn text(addr: SocketAddr) -> String {
    let (status, body) = scrape(addr, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn every_series_both_serve_agrees_with_node_exporter() {
    let Some(exporter) = exporter() else {
        return common::skipped(
            "SKIPPED every_series_both_serve_agrees_with_node_exporter: prometheus-node-exporter is not installed (.ci/run installs it)",
        );
    };
    let server = Server::start(&[
        "--metrics-ttl-ms",
        "0",
        "--disks-ttl-ms",
        "0",
        "--processes-ttl-ms",
        "0",
        // node_exporter's opt-ins, turned on in both to compare them.
        "--collector",
        "tcpstat",
        "--collector",
        "processes",
    ])
    .await;
    let ours = &server.state.config.exporter;
    let ne: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let _child = Killed(
        std::process::Command::new(exporter)
            .arg(format!("--web.listen-address={ne}"))
            .arg(format!(
                "--collector.diskstats.device-exclude={}",
                ours.diskstats_device_exclude
            ))
            .arg(format!(
                "--collector.filesystem.mount-points-exclude={}",
                ours.filesystem_mount_points_exclude
            ))
            .arg(format!(
                "--collector.filesystem.fs-types-exclude={}",
                ours.filesystem_fs_types_exclude
            ))
            .arg("--collector.netdev.device-exclude=")
            .arg(format!(
                "--collector.netstat.fields={}",
                ours.netstat_fields
            ))
            .arg(format!("--collector.vmstat.fields={}", ours.vmstat_fields))
            .args(["--collector.tcpstat", "--collector.processes"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let t0 = Instant::now();
    while tokio::net::TcpStream::connect(ne).await.is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "node_exporter did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A first round warms both up (sonde's CPU baseline, node_exporter's
    // lazily built collectors).
    text(ne).await;
    text(server.addr).await;
    let before = parse(&text(ne).await);
    let sonde = parse(&text(server.addr).await);
    let after = parse(&text(ne).await);

    let mut problems = Vec::new();
    let mut compared = 0;
    for (name, theirs) in &before.series {
        if NOT_SERVED.iter().any(|(p, _)| name.starts_with(p)) {
            continue;
        }
        let Some(ours) = sonde.series.get(name) else {
            problems.push(format!("{name}: not served"));
            continue;
        };
        let (kind, our_kind) = (before.types.get(name), sonde.types.get(name));
        if kind != our_kind {
            problems.push(format!(
                "{name}: type {our_kind:?}, node_exporter's {kind:?}"
            ));
        }
        let tol = tolerance(name);
        for (labels, a) in theirs {
            let matches =
                |l: &BTreeMap<String, String>| labels.iter().all(|(k, v)| l.get(k) == Some(v));
            let Some((_, b)) = after
                .series
                .get(name)
                .and_then(|s| s.iter().find(|(l, _)| matches(l)))
            else {
                continue; // gone between node_exporter's two scrapes
            };
            let Some((_, got)) = ours.iter().find(|(l, _)| matches(l)) else {
                // The hardware and storage collectors are another issue's.
                let hardware = name.starts_with("node_scrape_collector_");
                if tol.is_some() && !hardware {
                    problems.push(format!("{name}{labels:?}: no such series"));
                }
                continue;
            };
            compared += 1;
            let (lo, hi) = (a.min(*b), a.max(*b));
            let counter = kind.is_some_and(|k| k == "counter")
                || (kind.is_some_and(|k| k == "untyped")
                    && !name.ends_with("CurrEstab")
                    && !name.ends_with("Forwarding"));
            let ok = match tol {
                None => true,
                Some(_) if counter => *got >= lo - 1e-6 * lo.abs() && *got <= hi + 1e-6 * hi.abs(),
                Some(t) => {
                    let slack = t.max(1e-9 * hi.abs());
                    *got >= lo - slack && *got <= hi + slack
                }
            };
            if !ok {
                problems.push(format!(
                    "{name}{labels:?}: sonde {got}, node_exporter {a} then {b}"
                ));
            }
        }
    }
    let shared: BTreeSet<_> = before
        .series
        .keys()
        .filter(|n| sonde.series.contains_key(*n))
        .collect();
    assert!(
        problems.is_empty(),
        "{} problems over {} series of {} names:\n{}",
        problems.len(),
        compared,
        shared.len(),
        problems.join("\n")
    );
    assert!(shared.len() > 200, "only {} names in common", shared.len());
}

#[tokio::test]
async fn dashboards_and_node_mixin_alerts_find_their_series_in_a_real_prometheus() {
    if std::process::Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        return common::skipped(
            "SKIPPED dashboards_and_node_mixin_alerts_find_their_series: prometheus is not installed (.ci/run installs Debian's prometheus)",
        );
    }
    // The TCP-state panel needs tcpstat, opt-in as in node_exporter.
    let server = Server::start(&["--collector", "tcpstat"]).await;
    let Some(mut prometheus) = Prometheus::start(&format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['{0}']\n  - job_name: trimmed\n    params:\n      'exclude[]': [cpu, meminfo]\n    static_configs:\n      - targets: ['{0}']\n",
        server.addr
    )) else {
        return common::skipped(
            "SKIPPED dashboards_and_node_mixin_alerts: prometheus did not start",
        );
    };
    let prom = prometheus.addr;
    prometheus.scraped("node", 4.0).await;
    // A scrape configuration's `exclude[]`, as node_exporter 1.9 takes it.
    prometheus.scraped("trimmed", 2.0).await;
    assert!(
        query(prom, "node_cpu_seconds_total{job=\"trimmed\"}")
            .await
            .is_empty()
            && query(prom, "node_memory_MemTotal_bytes{job=\"trimmed\"}")
                .await
                .is_empty()
    );
    assert!(!query(prom, "node_load1{job=\"trimmed\"}").await.is_empty());
    // "Node Exporter Full" fills its host drop-down from node_uname_info.
    let hosts = query(prom, "node_uname_info{job=\"node\"}").await;
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    assert!(
        hosts[0]["metric"]["nodename"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );
    // The expressions of node-mixin's alerts and the dashboard's main
    // panels, without their thresholds: each must have data.
    for q in [
        "100 - (node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes * 100)",
        "sum without(mode) (avg without (cpu) (rate(node_cpu_seconds_total{mode!=\"idle\"}[1m])))",
        "node_load1 / count without (cpu, mode) (node_cpu_seconds_total{mode=\"idle\"})",
        "node_filesystem_avail_bytes{fstype!=\"\"} / node_filesystem_size_bytes{fstype!=\"\"} * 100 and node_filesystem_readonly == 0",
        "predict_linear(node_filesystem_avail_bytes{fstype!=\"\"}[1m], 4*60*60)",
        "node_filesystem_files_free / node_filesystem_files * 100",
        "rate(node_network_receive_errs_total[1m]) / rate(node_network_receive_packets_total[1m]) >= 0",
        "rate(node_network_transmit_drop_total[1m])",
        "node_nf_conntrack_entries / node_nf_conntrack_entries_limit",
        "min_over_time(node_timex_sync_status[1m]) >= 0 and node_timex_maxerror_seconds >= 0",
        "node_filefd_allocated * 100 / node_filefd_maximum",
        "rate(node_vmstat_pgmajfault[1m])",
        "rate(node_disk_io_time_weighted_seconds_total[1m])",
        "rate(node_disk_read_bytes_total[1m]) + rate(node_disk_written_bytes_total[1m])",
        "rate(node_pressure_cpu_waiting_seconds_total[1m])",
        "rate(node_context_switches_total[1m])",
        "node_sockstat_TCP_inuse",
        "rate(node_netstat_Tcp_RetransSegs[1m])",
        "node_tcp_connection_states{state=\"established\"}",
        "node_network_up",
        "time() - node_boot_time_seconds",
        "node_time_seconds - time()",
        "node_os_info",
    ] {
        let got = query(prom, q).await;
        assert!(!got.is_empty(), "no data for {q}");
    }
}
