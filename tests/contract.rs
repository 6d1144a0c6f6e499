//! The wire contract, end to end: the real server on port 0, a real
//! WebSocket client over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::time::Duration;

use common::{Reply, Server, ask, json, next_reply, processes};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// `v[key]`, which must be there: serde_json reads a missing key as null,
/// and a contract test must not take an absent key for a null one.
fn present<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key)
        .unwrap_or_else(|| panic!("{key} is missing from {v}"))
}

fn assert_metrics_shape(m: &Value) {
    for key in [
        "cpu_total",
        "mem_total",
        "mem_used",
        "swap_total",
        "swap_used",
    ] {
        assert!(m[key].is_number(), "{key} in {m}");
    }
    let total = m["cpu_total"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&total), "cpu_total {total}");
    let cores = m["cpu_per_core"].as_array().expect("cpu_per_core array");
    assert_eq!(cores.len(), common::ncpu());
    assert!(
        cores
            .iter()
            .all(|c| (0.0..=100.0).contains(&c.as_f64().unwrap()))
    );
    assert!(m["mem_used"].as_u64().unwrap() <= m["mem_total"].as_u64().unwrap());
    assert!(m["hostname"].is_string());
    assert!(m["sampled_at_ms"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(present(m, "cpu_temp_c").is_null() || m["cpu_temp_c"].is_number());
    let host_gpus = sonde::collect::gpu::discover(&sonde::collect::Roots::default(), &[]);
    if host_gpus.is_empty() {
        assert!(m["gpus"].is_null(), "this host has no GPU: {}", m["gpus"]);
    } else {
        assert_eq!(m["gpus"].as_array().map(Vec::len), Some(host_gpus.len()));
    }
    assert_eq!(
        m["disks"],
        Value::Array(vec![]),
        "disks key must be present"
    );
    assert_eq!(m["top_processes"], Value::Array(vec![]));
    assert!(m["process_count"].as_u64().unwrap() > 1);
    let nets = m["networks"].as_array().expect("networks");
    assert!(nets.iter().any(|n| n["name"] == "lo"), "{nets:?}");
    for n in nets {
        assert!(n["received"].is_u64() && n["transmitted"].is_u64());
    }
    assert_eq!(m["load_avg"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn metrics_in_both_forms() {
    let server = Server::start(&[]).await;
    let mut ws = server.ws().await;
    for form in [
        "get_metrics",
        r#"{"type":"metrics"}"#,
        "  get_metrics \n",
        r#"{"type":"metrics","x":1}"#,
    ] {
        let m = json(&ask(&mut ws, form).await);
        assert_metrics_shape(&m);
    }
}

#[tokio::test]
async fn metrics_decode_as_the_socktop_client_struct() {
    let server = Server::start(&[]).await;
    let mut ws = server.ws().await;
    let reply = ask(&mut ws, "get_metrics").await;
    let m: socktop_connector::Metrics =
        serde_json::from_value(json(&reply)).expect("socktop shape");
    assert!(m.mem_total > 0);
    assert!(m.sampled_at_ms.is_some());
    assert!(m.process_count.unwrap() > 1);
}

#[tokio::test]
async fn the_socktop_connector_library_works_unchanged() {
    let server = Server::start(&[]).await;
    let mut c = socktop_connector::connect_to_socktop_agent(server.url("/ws"))
        .await
        .expect("connector connects");
    use socktop_connector::{AgentRequest, AgentResponse};
    let Ok(AgentResponse::Metrics(m)) = c.request(AgentRequest::Metrics).await else {
        panic!("metrics")
    };
    assert_eq!(m.cpu_per_core.len(), common::ncpu());
    let Ok(AgentResponse::Disks(d)) = c.request(AgentRequest::Disks).await else {
        panic!("disks")
    };
    assert!(d.iter().all(|d| d.total >= d.available));
    let Ok(AgentResponse::Processes(p)) = c.request(AgentRequest::Processes).await else {
        panic!("processes")
    };
    assert!(p.process_count >= p.top_processes.len());
    assert!(p.top_processes.iter().any(|r| r.pid == std::process::id()));
}

#[tokio::test]
async fn disks_in_both_forms() {
    let server = Server::start(&[]).await;
    let mut ws = server.ws().await;
    for form in ["get_disks", r#"{"type":"disks"}"#] {
        let d = json(&ask(&mut ws, form).await);
        let disks = d.as_array().expect("array");
        for disk in disks {
            assert!(disk["name"].is_string());
            assert!(disk["total"].as_u64().unwrap() >= disk["available"].as_u64().unwrap());
            assert!(present(disk, "temperature").is_null() || disk["temperature"].is_number());
            assert!(disk["is_partition"].is_boolean());
            let fs = disk["fs_type"].as_str().unwrap();
            assert!(
                !["proc", "sysfs", "tmpfs", "cgroup2", "devpts"].contains(&fs),
                "{fs}"
            );
        }
        let points: Vec<&str> = disks
            .iter()
            .map(|d| d["mount_point"].as_str().unwrap())
            .collect();
        let mut dedup = points.clone();
        dedup.dedup();
        assert_eq!(points, dedup);
    }
}

#[tokio::test]
async fn processes_in_both_forms() {
    let server = Server::start(&[]).await;
    let mut ws = server.ws().await;
    for form in ["get_processes", r#"{"type":"processes"}"#] {
        let p = processes(&ask(&mut ws, form).await);
        assert!(p.process_count as usize >= p.rows.len());
        assert!(p.rows.len() > 1);
        let me = p
            .rows
            .iter()
            .find(|r| r.pid == std::process::id())
            .expect("the test process is listed");
        assert!(!me.name.is_empty());
        assert!(me.mem_bytes > 0);
        assert!(p.rows.iter().all(|r| (0.0..=100.0).contains(&r.cpu_usage)));
    }
}

#[tokio::test]
async fn host_in_both_forms() {
    let server = Server::start(&[]).await;
    let mut ws = server.ws().await;
    for form in ["get_host", r#"{"type":"host"}"#] {
        let h = json(&ask(&mut ws, form).await);
        assert_eq!(h["arch"], std::env::consts::ARCH);
        assert_eq!(h["version"], sonde::VERSION);
        assert_eq!(h["cpu_cores"].as_u64(), Some(common::ncpu() as u64));
        assert!(h["mem_total"].as_u64().unwrap() > 0);
        assert!(h["boot_time"].as_u64().unwrap() > 1_000_000_000);
        for key in [
            "hostname",
            "os",
            "kernel_version",
            "cpu_name",
            "cpu_physical_cores",
            "swap_total",
            "disk_total",
            "virtualization",
        ] {
            assert!(
                h.get(key).is_some(),
                "{key} must be present (null if unknown)"
            );
        }
    }
}

#[tokio::test]
async fn errors_get_a_reply_and_the_connection_stays_usable() {
    let server = Server::start(&[]).await;
    let mut ws = server.ws().await;
    let long = "z".repeat(300);
    for bad in [
        "hello",
        "{\"type\":",
        "{\"type\":\"nope\"}",
        "get_process_metrics:abc",
        long.as_str(),
    ] {
        let e = json(&ask(&mut ws, bad).await);
        assert!(e["error"].as_str().is_some_and(|s| !s.is_empty()), "{e}");
        let echoed = e["request"].as_str().unwrap();
        assert!(echoed.chars().count() <= 64);
        assert!(bad.trim().starts_with(echoed), "{echoed} vs {bad}");
    }
    ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    let e = json(&next_reply(&mut ws).await);
    assert!(e["error"].as_str().unwrap().contains("binary"));
    assert_metrics_shape(&json(&ask(&mut ws, "get_metrics").await));
}

#[tokio::test]
async fn pipelined_requests_are_answered_once_each_in_order() {
    let server = Server::start(&["--processes-ttl-ms", "0"]).await;
    let mut ws = server.ws().await;
    let kinds = [
        "get_metrics",
        "get_disks",
        "get_processes",
        "get_host",
        "bad",
        r#"{"type":"metrics"}"#,
    ];
    let sequence: Vec<&str> = kinds.iter().cycle().take(35).copied().collect();
    for req in &sequence {
        ws.send(Message::Text((*req).into())).await.unwrap();
    }
    for req in &sequence {
        let reply = next_reply(&mut ws).await;
        match *req {
            "get_processes" => {
                processes(&reply);
            }
            "get_disks" => assert!(json(&reply).is_array()),
            "get_host" => assert!(json(&reply)["arch"].is_string()),
            "bad" => assert!(json(&reply)["error"].is_string()),
            r if r.starts_with("get_process_metrics:") => {
                assert_eq!(json(&reply)["process"]["pid"], std::process::id());
            }
            _ => assert!(json(&reply)["cpu_total"].is_number()),
        }
    }
    ws.send(Message::Text("get_host".into())).await.unwrap();
    assert!(
        json(&next_reply(&mut ws).await)["arch"].is_string(),
        "no extra replies"
    );
}

#[tokio::test]
async fn large_json_replies_go_gzip_binary() {
    // A fixture /proc with 256 CPUs makes the metrics JSON larger than 768 bytes.
    let dir = tempfile::tempdir().unwrap();
    let proc = dir.path().join("proc");
    std::fs::create_dir_all(proc.join("net")).unwrap();
    std::fs::create_dir_all(proc.join("sys/kernel")).unwrap();
    let mut stat = String::from("cpu 100 0 100 1000 0 0 0 0 0 0\n");
    for i in 0..256 {
        stat.push_str(&format!("cpu{i} 1 0 1 10 0 0 0 0 0 0\n"));
    }
    stat.push_str("btime 1700000000\n");
    std::fs::write(proc.join("stat"), stat).unwrap();
    std::fs::write(
        proc.join("meminfo"),
        "MemTotal: 1000 kB\nMemAvailable: 500 kB\n",
    )
    .unwrap();
    std::fs::write(
        proc.join("net/dev"),
        "h\nh\n  lo: 1 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0\n",
    )
    .unwrap();
    std::fs::write(proc.join("sys/kernel/hostname"), "fixture\n").unwrap();
    let root = proc.to_str().unwrap();
    let server = Server::start(&["--proc-root", root]).await;
    let mut ws = server.ws().await;
    let reply = ask(&mut ws, "get_metrics").await;
    assert!(
        matches!(reply, Reply::Binary(_)),
        "large JSON must be binary"
    );
    let m = json(&reply);
    assert_eq!(m["cpu_per_core"].as_array().unwrap().len(), 256);
    assert_eq!(m["hostname"], "fixture");
    assert_eq!(m["mem_used"], 512_000);
    assert_eq!(m["networks"][0]["transmitted"], 2);
}

#[tokio::test]
async fn a_cached_reply_keeps_its_sample_time() {
    let server = Server::start(&["--metrics-ttl-ms", "60000"]).await;
    let mut ws = server.ws().await;
    let a = json(&ask(&mut ws, "get_metrics").await)["sampled_at_ms"].clone();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut other = server.ws().await;
    let b = json(&ask(&mut other, "get_metrics").await)["sampled_at_ms"].clone();
    assert_eq!(a, b, "served from the cache");

    let server = Server::start(&["--metrics-ttl-ms", "0"]).await;
    let mut ws = server.ws().await;
    let a = json(&ask(&mut ws, "get_metrics").await)["sampled_at_ms"]
        .as_u64()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let b = json(&ask(&mut ws, "get_metrics").await)["sampled_at_ms"]
        .as_u64()
        .unwrap();
    assert!(b > a, "TTL 0 collects on every request");
}

#[tokio::test]
async fn ping_gets_pong_and_close_is_answered() {
    let server = Server::start(&[]).await;
    let mut ws = server.ws().await;
    ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong(b"hi".to_vec().into()));
    ws.send(Message::Close(None)).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    assert!(
        matches!(reply, Some(Ok(Message::Close(_))) | None),
        "{reply:?}"
    );
}

#[tokio::test]
async fn a_frame_over_64_kib_closes_with_1009_and_affects_nobody_else() {
    let server = Server::start(&[]).await;
    let mut bystander = server.ws().await;
    let mut ws = server.ws().await;
    assert!(
        json(&ask(&mut ws, &"x".repeat(60 * 1024)).await)["error"].is_string(),
        "60 KiB is fine"
    );
    let big = "x".repeat(65 * 1024);
    ws.send(Message::Text(big.into())).await.unwrap();
    match next_reply(&mut ws).await {
        Reply::Close(code) => assert_eq!(code, Some(1009)),
        other => panic!("expected close 1009, got {other:?}"),
    }
    assert_metrics_shape(&json(&ask(&mut bystander, "get_metrics").await));
}

#[tokio::test]
async fn healthz_needs_no_token_and_collects_nothing() {
    let server = Server::start(&["--token", "s3cret"]).await;
    let (status, text) = server.http_get("/healthz", &[]).await;
    assert_eq!(status, 200);
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["version"], sonde::VERSION);
    assert!(v["uptime_secs"].is_u64());
}

#[tokio::test]
async fn shutdown_closes_sockets_with_1001_within_a_second() {
    let mut server = Server::start(&[]).await;
    let mut ws = server.ws().await;
    json(&ask(&mut ws, "get_metrics").await);
    let t0 = std::time::Instant::now();
    server.signal_stop();
    match next_reply(&mut ws).await {
        Reply::Close(code) => assert_eq!(code, Some(1001)),
        other => panic!("expected close 1001, got {other:?}"),
    }
    server.join().await.unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn shutdown_closes_an_idle_http_keep_alive_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut server = Server::start(&[]).await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    server.signal_stop();
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .expect("the server closes the kept-alive connection")
        .unwrap_or(0);
    assert_eq!(n, 0);
    server.join().await.unwrap();
}
