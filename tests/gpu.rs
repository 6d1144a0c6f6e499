//! GPUs end to end: a fixture sysfs tree behind the live server, and the
//! GPU object in the socktop client's own type.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use common::gpu_fixture::{fixture_sys, gpu_client, proc_with_a_gpu_client};
use common::{Server, ask, json};
use sonde::collect::gpu::{Gpu, GpuProcess, GpuState, Reading, Vendor};

#[tokio::test]
async fn gpus_of_a_fixture_host_and_a_sleeping_one_left_asleep() {
    let dir = tempfile::tempdir().unwrap();
    let sys = fixture_sys(dir.path());
    let server = Server::start(&["--sys-root", &sys]).await;
    let mut ws = server.ws().await;
    let m = json(&ask(&mut ws, "get_metrics").await);
    let gpus = m["gpus"].as_array().expect("gpus listed");
    assert_eq!(gpus.len(), 2, "{gpus:?}");
    let (nvidia, amd) = (&gpus[0], &gpus[1]);
    assert_eq!(nvidia["vendor"], "nvidia");
    assert_eq!(nvidia["state"], "suspended");
    assert!(nvidia["utilization_gpu_pct"].is_null() && nvidia["temp_c"].is_null());
    assert_eq!(amd["vendor"], "amd");
    assert_eq!(amd["index"], 1);
    assert_eq!(amd["state"], "active");
    assert_eq!(amd["usage"], 12.0);
    assert_eq!(amd["utilization_gpu_pct"], 12.0);
    assert_eq!(amd["mem_used_bytes"], 536_870_912);
    assert_eq!(amd["memory_total"], 17_163_091_968u64);
    assert_eq!(amd["temp_c"], 47.0);
    assert!(amd["power_w"].is_null(), "not in the fixture: null");

    let off = Server::start(&["--sys-root", &sys, "--gpu", "off"]).await;
    let mut ws = off.ws().await;
    assert!(json(&ask(&mut ws, "get_metrics").await)["gpus"].is_null());
}

#[test]
fn a_gpu_decodes_as_the_socktop_client_gpu_without_a_duplicate_field() {
    let gpu = Gpu {
        index: 0,
        vendor: Vendor::Nvidia,
        pci_address: "0000:18:00.0".into(),
        name: "NVIDIA H100 80GB HBM3".into(),
        state: GpuState::Active,
        reading: Reading {
            name: None,
            utilization_percent: Some(3.0),
            memory_used_bytes: Some(503_316_480),
            memory_total_bytes: Some(85_520_809_984),
            temperature_celsius: Some(36.0),
            power_watts: Some(71.67),
            fan_percent: None,
            clock_mhz: Some(345),
            processes: vec![GpuProcess {
                pid: 7,
                used_memory_bytes: Some(503_316_480),
                utilization_percent: None,
                name: None,
            }],
        },
    };
    let text = serde_json::to_string(&sonde::kinds::metrics::Gpu::from(&gpu)).unwrap();
    let theirs: socktop_connector::types::GpuInfo =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(theirs.name.as_deref(), Some("NVIDIA H100 80GB HBM3"));
    assert_eq!(theirs.utilization, Some(3.0));
    assert_eq!(theirs.mem_used, Some(503_316_480));
    assert_eq!(theirs.mem_total, Some(85_520_809_984));
    assert_eq!(theirs.temp, Some(36.0));
    let ours: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ours["power_w"].as_f64().map(|w| w as f32), Some(71.67));
    assert!(ours["fan_pct"].is_null());
    assert_eq!(ours["processes"][0]["pid"], 7);
}

#[tokio::test]
async fn who_uses_the_gpu_is_in_the_process_list_and_the_gpu_reply() {
    let dir = tempfile::tempdir().unwrap();
    let sys = fixture_sys(dir.path());
    let proc = proc_with_a_gpu_client(dir.path(), 1_000_000_000);
    let server = Server::start(&[
        "--sys-root",
        &sys,
        "--proc-root",
        &proc,
        "--gpu-ttl-ms",
        "0",
        "--processes-ttl-ms",
        "0",
    ])
    .await;
    let game = |list: &serde_json::Value| {
        list["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"] == 500)
            .cloned()
            .unwrap_or_else(|| panic!("no pid 500 in {list}"))
    };
    let (_, body) = server.http_get("/api/processes?columns=gpu", &[]).await;
    let first: serde_json::Value =
        serde_json::from_str(body.split_once("\r\n\r\n").unwrap().1).unwrap();
    let row = game(&first);
    assert_eq!(row["gpu_memory_bytes"], 4096 * 1024, "{row}");
    assert_eq!(row["gpus"][0]["index"], 1, "the AMD GPU: {row}");
    assert!(
        row["gpu_utilization_percent"].is_null(),
        "first seen: no window yet, not 0: {row}"
    );
    // In the next second its gfx engine is busy 250 ms.
    let t0 = std::time::Instant::now();
    gpu_client(dir.path(), 1_250_000_000);
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let (_, body) = server
        .http_get("/api/processes?sort=gpu&limit=1", &[])
        .await;
    let elapsed = t0.elapsed().as_secs_f64();
    let next: serde_json::Value =
        serde_json::from_str(body.split_once("\r\n\r\n").unwrap().1).unwrap();
    let row = game(&next);
    let percent = row["gpu_utilization_percent"].as_f64().unwrap();
    assert!(
        percent > 25.0 / elapsed - 2.0 && percent <= 25.0 + 0.5,
        "{percent} % over about {elapsed:.2} s: {row}"
    );
    // The metrics reply's GPU lists it the same way.
    let mut ws = server.ws().await;
    let m = json(&ask(&mut ws, "get_metrics").await);
    let amd = &m["gpus"][1];
    assert_eq!(amd["processes"][0]["pid"], 500, "{amd}");
    assert!(
        amd["processes"][0]["utilization_percent"].is_number(),
        "{amd}"
    );
    // And /metrics has its share beside its memory.
    let (_, text) = server.http_get("/metrics", &[]).await;
    let share = text
        .lines()
        .find(|l| {
            l.starts_with("sonde_gpu_process_utilization_ratio{") && l.contains("pid=\"500\"")
        })
        .unwrap_or_else(|| panic!("no share of pid 500 in:\n{text}"));
    let ratio: f64 = share.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((0.0..=0.255).contains(&ratio), "{share}");
    // The sleeping NVIDIA GPU was not woken to ask.
    assert_eq!(m["gpus"][0]["state"], "suspended");
}
