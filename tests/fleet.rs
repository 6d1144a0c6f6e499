//! The fleet kit in `packaging/prometheus`: the alert and recording rules
//! pass `promtool check rules` and their unit tests (each alert fires for a
//! host that should and not for one beside it), and the example scrape
//! configuration — file_sd targets, the token, each host's certificate
//! pinned — is loaded by a real Prometheus that scrapes real sonde servers
//! over TLS. Skipped, saying so, where promtool or prometheus is missing
//! (`.ci/run` installs both).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::Server;
use common::prom::{Prometheus, query, scrape};

fn kit(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("packaging/prometheus")
        .join(path)
}

/// `promtool ARGS`: its output, or `None` where promtool is not installed.
fn promtool(args: &[&str]) -> Option<(bool, String)> {
    let out = Command::new("promtool").args(args).output().ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

#[test]
fn the_rules_pass_promtool_and_their_unit_tests() {
    let rules = kit("sonde-rules.yml");
    let Some((ok, text)) = promtool(&["check", "rules", rules.to_str().unwrap()]) else {
        return common::skipped(
            "SKIPPED the_rules_pass_promtool: promtool is not installed (Debian: prometheus)",
        );
    };
    assert!(ok && text.contains("SUCCESS"), "{text}");
    let tests = kit("tests/sonde-rules.test.yml");
    let (ok, text) = promtool(&["test", "rules", tests.to_str().unwrap()]).unwrap();
    assert!(ok && text.contains("SUCCESS"), "{text}");
    // Every alert of the rules has a unit test.
    let rules_text = std::fs::read_to_string(&rules).unwrap();
    let tests_text = std::fs::read_to_string(&tests).unwrap();
    for alert in rules_text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
    {
        assert!(
            tests_text.contains(&format!("alertname: {alert}")),
            "no unit test for {alert}"
        );
    }
}

#[tokio::test]
async fn prometheus_scrapes_file_sd_targets_with_the_token_and_pinned_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let token = "fleet-token-0123456789abcdef";
    let pinned_dir = dir.path().join("pinned");
    let other_dir = dir.path().join("other");
    let tls = |d: &Path| {
        vec![
            "--tls".to_owned(),
            "--tls-dir".to_owned(),
            d.to_str().unwrap().to_owned(),
        ]
    };
    let start = |d: PathBuf| async move {
        let mut args = tls(&d);
        args.extend(["--token".to_owned(), token.to_owned()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Server::start(&args).await
    };
    let pinned = start(pinned_dir.clone()).await;
    let unpinned = start(other_dir).await;

    // The example configuration with this test's paths and a short interval.
    let targets = dir.path().join("targets");
    std::fs::create_dir(&targets).unwrap();
    std::fs::write(
        targets.join("sonde-test.json"),
        format!(
            r#"[{{"targets": ["{}"], "labels": {{"team": "web"}}}}, {{"targets": ["{}"], "labels": {{"team": "unpinned"}}}}]"#,
            pinned.addr, unpinned.addr
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("sonde.token"), token).unwrap();
    let config = std::fs::read_to_string(kit("prometheus.yml"))
        .unwrap()
        .replace("15s", "1s")
        .replace(
            "/etc/prometheus/sonde.token",
            dir.path().join("sonde.token").to_str().unwrap(),
        )
        .replace(
            "/etc/prometheus/sonde-certs.pem",
            pinned_dir.join("cert.pem").to_str().unwrap(),
        )
        .replace("/etc/prometheus/targets", targets.to_str().unwrap())
        .replace(
            "/etc/prometheus/sonde-rules.yml",
            kit("sonde-rules.yml").to_str().unwrap(),
        );
    // The example's own target file is valid file_sd JSON.
    let example: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(kit("targets/sonde-web.json")).unwrap())
            .unwrap();
    assert!(example[0]["targets"].is_array() && example[0]["labels"]["team"] == "web");
    // Its hosts run --tls, so its targets name the port --tls listens on:
    // a target copied from it with :3000 failed ("server gave HTTP
    // response to HTTPS client").
    let tls_port = sonde::config::Config::parse_with(["sonde", "--tls"], |_| None)
        .unwrap()
        .port();
    for group in example.as_array().unwrap() {
        for target in group["targets"].as_array().unwrap() {
            let port = target.as_str().unwrap().rsplit(':').next().unwrap();
            assert_eq!(
                port,
                tls_port.to_string(),
                "{target} in the example targets"
            );
        }
    }

    let Some(mut prometheus) = Prometheus::start(&config) else {
        return common::skipped(
            "SKIPPED prometheus_scrapes_file_sd_targets: prometheus is not installed",
        );
    };
    let prom = prometheus.addr;
    let t0 = Instant::now();
    let up = |team: &str| format!("up{{job=\"sonde\", team=\"{team}\"}}");
    loop {
        let pinned_up = query(prom, &up("web")).await;
        let unpinned_up = query(prom, &up("unpinned")).await;
        if !pinned_up.is_empty() && !unpinned_up.is_empty() && pinned_up[0]["value"][1] == "1" {
            assert_eq!(
                unpinned_up[0]["value"][1], "0",
                "a host whose certificate is not pinned is not scraped"
            );
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60) && prometheus.running(),
            "Prometheus did not scrape the pinned host: {pinned_up:?} {unpinned_up:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let uname = query(prom, "node_uname_info{team=\"web\"}").await;
    assert_eq!(uname.len(), 1, "{uname:?}");
    let (status, targets) = scrape(prom, "/api/v1/targets").await;
    assert_eq!(status, 200);
    assert!(
        targets.contains("certificate"),
        "the unpinned host's error names its certificate: {targets}"
    );
    let (status, rules) = scrape(prom, "/api/v1/rules").await;
    assert_eq!(status, 200);
    for group in ["sonde-recording", "sonde-host", "sonde-agent"] {
        assert!(
            rules.contains(&format!("\"name\":\"{group}\"")),
            "rule group {group} not loaded: {rules}"
        );
    }
    // The token came from credentials_file: sonde answers /metrics only
    // with it, so the pinned host being up says it was sent.
    let failures = query(prom, "sonde_auth_failures_total{team=\"web\"}").await;
    assert_eq!(failures[0]["value"][1], "0", "{failures:?}");
}

/// A process using the fixture's Radeon: a pid above any kernel's
/// `pid_max`, so it is never one of this machine's.
const GPU_USER_PID: u32 = 4_194_305;

/// This machine's procfs seen through links, plus one process holding a
/// DRM client on the AMD desktop fixture's GPU (the kernel's fdinfo lines
/// for an amdgpu client): this machine has no GPU to open.
fn proc_with_gpu_user(dir: &Path) -> PathBuf {
    let proc = dir.join("proc");
    std::fs::create_dir(&proc).unwrap();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        std::os::unix::fs::symlink(entry.path(), proc.join(entry.file_name())).unwrap();
    }
    let process = proc.join(GPU_USER_PID.to_string());
    std::fs::create_dir_all(process.join("fd")).unwrap();
    std::fs::create_dir_all(process.join("fdinfo")).unwrap();
    std::fs::write(process.join("comm"), "blender\n").unwrap();
    std::os::unix::fs::symlink("/dev/dri/renderD128", process.join("fd/9")).unwrap();
    std::fs::write(
        process.join("fdinfo/9"),
        "pos:\t0\nflags:\t02100002\ndrm-driver:\tamdgpu\ndrm-client-id:\t12\ndrm-pdev:\t0000:0c:00.0\ndrm-memory-vram:\t1048576 KiB\n",
    )
    .unwrap();
    proc
}

#[tokio::test]
async fn every_dashboard_panel_has_data_from_a_real_prometheus() {
    // A host with a GPU, fans and temperatures (the AMD desktop fixture),
    // Docker and nginx cgroups, and this machine's processes.
    let dir = tempfile::tempdir().unwrap();
    let sys = common::amd_desktop_with_containers(dir.path());
    let proc = proc_with_gpu_user(dir.path());
    let server = Server::start(&[
        "--sys-root",
        sys.to_str().unwrap(),
        "--proc-root",
        proc.to_str().unwrap(),
        "--prometheus-processes",
        "5",
    ])
    .await;
    let Some(mut prometheus) = Prometheus::start(&format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: sonde\n    static_configs:\n      - targets: ['{}']\n",
        server.addr
    )) else {
        return common::skipped(
            "SKIPPED every_dashboard_panel_has_data: prometheus is not installed",
        );
    };
    let prom = prometheus.addr;
    prometheus.scraped("sonde", 4.0).await;
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(kit("../grafana/sonde-dashboard.json")).unwrap(),
    )
    .unwrap();
    // The host selector, as Grafana fills it.
    let variable = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "instance")
        .unwrap();
    assert_eq!(
        variable["definition"],
        "label_values(sonde_build_info{job=\"$job\"}, instance)"
    );
    let (status, hosts) = scrape(
        prom,
        "/api/v1/label/instance/values?match[]=sonde_build_info%7Bjob%3D%22sonde%22%7D",
    )
    .await;
    assert_eq!(status, 200);
    let instance = server.addr.to_string();
    assert!(hosts.contains(&instance), "{hosts}");
    let mut empty = Vec::new();
    let mut count = 0;
    for panel in dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] != "row")
    {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$instance", &instance)
                .replace("$job", "sonde")
                .replace("$__rate_interval", "1m");
            count += 1;
            if query(prom, &expr).await.is_empty() {
                empty.push(format!("{}: {expr}", panel["title"]));
            }
        }
    }
    assert!(count >= 20, "{count} queries");
    let used = query(
        prom,
        &format!("sonde_gpu_process_memory_bytes{{pid=\"{GPU_USER_PID}\",process=\"blender\"}}"),
    )
    .await;
    assert_eq!(used.len(), 1, "{used:?}");
    assert_eq!(used[0]["value"][1], "1073741824", "{used:?}");
    assert!(
        empty.is_empty(),
        "panels without data:\n{}",
        empty.join("\n")
    );
}
