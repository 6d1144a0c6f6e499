//! The containers request against the real server: a cgroup v2 fixture
//! host (Docker on systemd) over the WebSocket in both forms, /api and
//! /metrics; this machine as it is; the owner of a process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::path::Path;

use common::{DOCKER_ID as ID, Server, ask, docker_host, json};

#[tokio::test]
async fn a_docker_host_over_the_socket_api_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    docker_host(dir.path());
    let sys = dir.path().to_str().unwrap();
    let server = Server::start(&["--sys-root", sys, "--temp", "off", "--gpu", "off"]).await;
    let mut ws = server.ws().await;
    let v = json(&ask(&mut ws, "get_containers").await);
    assert_eq!(v["cgroup_version"], 2);
    assert!(v["notice"].is_null(), "{v}");
    let list = v["containers"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{v}");
    let docker = &list[0];
    assert_eq!(docker["kind"], "docker");
    assert_eq!(docker["id"], ID);
    assert!(docker["name"].is_null(), "only the runtime knows its name");
    assert_eq!(docker["cgroup"], format!("/system.slice/docker-{ID}.scope"));
    assert_eq!(
        docker["cpu_usage"], 0.0,
        "no CPU used over the first window"
    );
    assert_eq!(docker["cpu_time_us"], 2_500_000);
    assert_eq!(docker["mem_bytes"], 50u64 << 20);
    assert_eq!(docker["mem_limit_bytes"], 512u64 << 20);
    assert_eq!(docker["pids"], 4);
    assert_eq!(docker["io_read_bytes"], 4096);
    assert_eq!(docker["io_write_bytes"], 8192);
    assert_eq!(docker["throttled_us"], 1500);
    let nginx = &list[1];
    assert_eq!(
        (&nginx["kind"], &nginx["name"]),
        (&"systemd-service".into(), &"nginx.service".into())
    );
    assert!(nginx["mem_limit_bytes"].is_null());
    assert!(
        nginx["io_read_bytes"].is_null(),
        "no io.stat: unknown, not 0"
    );

    // The JSON form, /api and /metrics read the same sample.
    let again = json(&ask(&mut ws, r#"{"type":"containers"}"#).await);
    assert_eq!(again, v);
    let (status, body) = server.http_get("/api/containers", &[]).await;
    assert_eq!(status, 200);
    let api: serde_json::Value =
        serde_json::from_str(body.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(api, v);
    let (_, metrics) = server.http_get("/metrics", &[]).await;
    let docker_labels = format!("id=\"/system.slice/docker-{ID}.scope\",name=\"\",kind=\"docker\"");
    for series in [
        format!("container_cpu_usage_seconds_total{{{docker_labels}}} 2.5"),
        format!("container_memory_usage_bytes{{{docker_labels}}} 52428800"),
        format!("container_spec_memory_limit_bytes{{{docker_labels}}} 536870912"),
        format!("container_processes{{{docker_labels}}} 4"),
        format!("container_fs_reads_bytes_total{{{docker_labels}}} 4096"),
        format!("container_cpu_cfs_throttled_seconds_total{{{docker_labels}}} 0.0015"),
        "container_spec_memory_limit_bytes{id=\"/system.slice/nginx.service\",name=\"nginx.service\",kind=\"systemd-service\"} 0".to_owned(),
    ] {
        assert!(metrics.contains(&series), "no {series} in:\n{metrics}");
    }

    // Without them, for fleets that count series.
    let quiet = Server::start(&["--sys-root", sys, "--prometheus-containers", "off"]).await;
    let (_, metrics) = quiet.http_get("/metrics", &[]).await;
    assert!(!metrics.contains("container_"), "{metrics}");
    assert!(metrics.contains("node_load1 "));
}

#[tokio::test]
async fn this_machine_answers_with_its_cgroups_or_a_notice() {
    let server = Server::start(&[]).await;
    let mut ws = server.ws().await;
    let v = json(&ask(&mut ws, "get_containers").await);
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        assert_eq!(v["cgroup_version"], 2, "{v}");
        assert!(v["notice"].is_null(), "{v}");
    } else {
        common::skipped("this machine has no cgroup v2: checking the notice instead");
        assert!(v["cgroup_version"].is_null(), "{v}");
        assert!(v["containers"].as_array().unwrap().is_empty());
        assert!(
            v["notice"].as_str().unwrap().contains("no cgroup v2"),
            "{v}"
        );
    }
    // The connection carries on, and socktop's requests are unaffected.
    assert!(json(&ask(&mut ws, "get_metrics").await)["cpu_total"].is_number());
}

#[tokio::test]
async fn process_metrics_names_its_cgroup() {
    let server = Server::start(&[]).await;
    let mut ws = server.ws().await;
    let me = std::process::id();
    let v = json(&ask(&mut ws, &format!("get_process_metrics:{me}")).await);
    let own = std::fs::read_to_string(format!("/proc/{me}/cgroup")).unwrap();
    let cgroup = v["process"]["cgroup"].as_str().unwrap();
    assert!(own.contains(cgroup), "{cgroup:?} is not in {own:?}");
    assert!(v["process"].get("container_id").is_some(), "{v}");
}

/// A Docker-compatible API on a Unix socket, listing the fixture's
/// container as `web` (the runtime sonde may be given to ask).
async fn fake_runtime(socket: &Path) -> tokio::task::JoinHandle<()> {
    let listing = serde_json::json!([{ "Id": ID, "Names": ["/web"], "Image": "nginx:1.27" }]);
    let app = axum::Router::new().route(
        "/containers/json",
        axum::routing::get(move || {
            let listing = listing.clone();
            async move { axum::Json(listing) }
        }),
    );
    let listener = tokio::net::UnixListener::bind(socket).unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    })
}

#[tokio::test]
async fn names_come_from_the_runtime_socket_only_when_given() {
    let dir = tempfile::tempdir().unwrap();
    docker_host(dir.path());
    let socket = dir.path().join("docker.sock");
    let _runtime = fake_runtime(&socket).await;
    let sys = dir.path().to_str().unwrap();
    let with = Server::start(&[
        "--sys-root",
        sys,
        "--container-socket",
        socket.to_str().unwrap(),
    ])
    .await;
    let mut ws = with.ws().await;
    let v = json(&ask(&mut ws, "get_containers").await);
    assert_eq!(v["containers"][0]["name"], "web", "{v}");
    assert_eq!(v["containers"][1]["name"], "nginx.service");
    let (_, metrics) = with.http_get("/metrics", &[]).await;
    assert!(
        metrics.contains("name=\"web\",kind=\"docker\""),
        "{metrics}"
    );

    // Without the flag the runtime is not asked; a socket that is not there
    // leaves names null and the reply whole.
    for extra in [
        &[][..],
        &["--container-socket", "/nonexistent/docker.sock"][..],
    ] {
        let mut args = vec!["--sys-root", sys];
        args.extend_from_slice(extra);
        let server = Server::start(&args).await;
        let mut ws = server.ws().await;
        let v = json(&ask(&mut ws, "get_containers").await);
        assert!(v["containers"][0]["name"].is_null(), "{v}");
        assert_eq!(v["containers"].as_array().unwrap().len(), 2);
    }
}
