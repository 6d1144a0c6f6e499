//! The HTTP surfaces against the live server on port 0, with a real HTTP
//! client (hyper): `/api/*` JSON with its cache headers, compression, auth
//! and CORS, and `/metrics` checked by `promtool` and scraped by a real
//! Prometheus where Debian's `prometheus` package is installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::Server;
use common::prom::{Prometheus, query};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A GET's status, headers and (decoded) body.
struct Got {
    status: u16,
    headers: hyper::HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Got {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let mut req = hyper::Request::get(format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = tokio::time::timeout(
        Duration::from_secs(10),
        client.request(req.body(Empty::new()).unwrap()),
    )
    .await
    .expect("an answer within 10 s")
    .expect("HTTP works");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let raw = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    let body = match headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
    {
        Some("gzip") => common::gunzip(&raw),
        Some("br") => {
            let mut out = Vec::new();
            brotli_decompressor::Decompressor::new(&raw[..], 4096)
                .read_to_end(&mut out)
                .unwrap();
            out
        }
        Some("zstd") => zstd::decode_all(&raw[..]).unwrap(),
        _ => raw,
    };
    Got {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn the_json_api_answers_from_the_samples_with_cache_headers() {
    let server = Server::start(&["--metrics-ttl-ms", "60000"]).await;
    let a = get(server.addr, "/api/metrics", &[]).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/json"));
    let m = a.json();
    assert!(m["cpu_total"].is_number() && m["disks"].is_array() && m["top_processes"].is_array());
    let etag = a.header("etag").expect("an ETag").to_owned();
    let max_age: u64 = a
        .header("cache-control")
        .and_then(|c| c.strip_prefix("max-age="))
        .and_then(|n| n.parse().ok())
        .expect("max-age");
    assert!(
        (58..=60).contains(&max_age),
        "what is left of a 60 s TTL: {max_age}"
    );
    // The WebSocket reads the same sample.
    let mut ws = server.ws().await;
    let over_ws = common::json(&common::ask(&mut ws, "get_metrics").await);
    assert_eq!(over_ws["sampled_at_ms"], m["sampled_at_ms"]);
    let again = get(server.addr, "/api/metrics", &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status, 304, "an unchanged sample is not sent again");
    assert!(again.body.is_empty());

    for path in ["/api/disks", "/api/host"] {
        let got = get(server.addr, path, &[]).await;
        assert_eq!(got.status, 200, "{path}");
        assert!(got.header("etag").is_some(), "{path}");
    }
    assert_eq!(
        get(server.addr, "/api/host", &[]).await.json()["version"],
        sonde::VERSION
    );
}

#[tokio::test]
async fn the_process_list_sorts_limits_and_refuses_bad_parameters() {
    let server = Server::start(&[]).await;
    let all = get(server.addr, "/api/processes", &[]).await.json();
    let rows = all["processes"].as_array().unwrap();
    assert!(rows.len() > 2);
    assert_eq!(all["process_count"].as_u64(), Some(rows.len() as u64));
    for key in ["pid", "name", "cpu_usage", "mem_bytes"] {
        assert!(!rows[0][key].is_null(), "{key} in {}", rows[0]);
    }
    let pids: Vec<u64> = rows.iter().map(|r| r["pid"].as_u64().unwrap()).collect();
    assert!(pids.is_sorted(), "pid order by default");
    let by_mem = get(server.addr, "/api/processes?sort=mem&limit=3", &[])
        .await
        .json();
    let mem: Vec<u64> = by_mem["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["mem_bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(mem.len(), 3);
    assert!(
        mem.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {mem:?}"
    );
    let by_name = get(server.addr, "/api/processes?sort=name&order=desc", &[])
        .await
        .json();
    let names: Vec<&str> = by_name["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.windows(2).all(|w| w[0] >= w[1]));
    for (query, parameter) in [
        ("sort=size", "sort"),
        ("order=up", "order"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
    ] {
        let bad = get(server.addr, &format!("/api/processes?{query}"), &[]).await;
        assert_eq!(bad.status, 400, "{query}");
        assert_eq!(bad.json()["parameter"], parameter, "{query}");
        assert!(bad.json()["error"].as_str().unwrap().contains(parameter));
    }

    let me = std::process::id();
    let detail = get(server.addr, &format!("/api/processes/{me}"), &[]).await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.json()["process"]["pid"], me);
    let missing = get(server.addr, "/api/processes/4294967295", &[]).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["pid"], 4_294_967_295u64);
    assert_eq!(
        get(server.addr, "/api/processes/abc", &[]).await.status,
        400
    );
    let journal = get(server.addr, &format!("/api/processes/{me}/journal"), &[]).await;
    assert_eq!(journal.status, 200);
    assert!(journal.json()["entries"].is_array());
}

#[tokio::test]
async fn compression_follows_accept_encoding() {
    let server = Server::start(&[]).await;
    for encoding in ["gzip", "br", "zstd"] {
        let got = get(
            server.addr,
            "/api/processes",
            &[("Accept-Encoding", encoding)],
        )
        .await;
        assert_eq!(got.header("content-encoding"), Some(encoding));
        assert!(got.json()["processes"].is_array(), "{encoding} decodes");
    }
    let plain = get(server.addr, "/api/processes", &[]).await;
    assert_eq!(plain.header("content-encoding"), None);
    // The live page too, whole, with its policy, in every encoding.
    let page = get(server.addr, "/", &[]).await;
    assert_eq!(page.header("content-encoding"), None);
    for encoding in ["gzip", "br", "zstd"] {
        let got = get(server.addr, "/", &[("Accept-Encoding", encoding)]).await;
        assert_eq!(got.header("content-encoding"), Some(encoding));
        assert_eq!(got.body, page.body, "{encoding} decodes to the page");
        assert!(got.body.len() > 40_000 && got.header("content-security-policy").is_some());
    }
    let refused = get(server.addr, "/", &[("Accept-Encoding", "gzip;q=0")]).await;
    assert_eq!(refused.header("content-encoding"), None, "q=0 refuses");
}

#[tokio::test]
async fn the_http_surfaces_need_the_token_and_cors_is_off_unless_asked() {
    let server = Server::start(&["--token", "s3cret"]).await;
    for path in ["/api/metrics", "/api/processes", "/metrics"] {
        assert_eq!(get(server.addr, path, &[]).await.status, 401, "{path}");
        let bearer = get(server.addr, path, &[("Authorization", "Bearer s3cret")]).await;
        assert_eq!(bearer.status, 200, "{path}");
        let query = if path.contains('?') { "&" } else { "?" };
        let by_query = get(server.addr, &format!("{path}{query}token=s3cret"), &[]).await;
        assert_eq!(by_query.status, 200, "{path}");
    }
    assert_eq!(
        get(server.addr, "/healthz", &[]).await.status,
        200,
        "no token for health"
    );
    let origin = [
        ("Origin", "http://dash.local:8080"),
        ("Authorization", "Bearer s3cret"),
    ];
    let got = get(server.addr, "/api/metrics", &origin).await;
    assert_eq!(
        got.header("access-control-allow-origin"),
        None,
        "CORS off by default"
    );

    let server = Server::start(&["--cors-origin", "http://dash.local:8080"]).await;
    let got = get(
        server.addr,
        "/api/metrics",
        &[("Origin", "http://dash.local:8080")],
    )
    .await;
    assert_eq!(
        got.header("access-control-allow-origin"),
        Some("http://dash.local:8080")
    );
    let other = get(
        server.addr,
        "/api/metrics",
        &[("Origin", "http://evil.example")],
    )
    .await;
    assert_eq!(other.header("access-control-allow-origin"), None);
}

fn meminfo_total_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap()
        * 1024
}

#[tokio::test]
async fn prometheus_text_with_node_exporter_names_passes_promtool() {
    let server = Server::start(&["--prometheus-processes", "3"]).await;
    let got = get(server.addr, "/metrics", &[]).await;
    assert_eq!(got.status, 200);
    assert!(
        got.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(got.body).unwrap();
    for series in [
        "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}",
        "node_memory_MemTotal_bytes ",
        "node_network_receive_bytes_total{device=\"lo\"}",
        "node_load1 ",
        "node_filesystem_size_bytes{",
        "node_filesystem_device_error{",
        "node_boot_time_seconds ",
        "sonde_build_info{",
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "sonde_process_cpu_ratio{",
        "sonde_process_disk_read_bytes_per_second{",
        "sonde_process_disk_write_bytes_per_second{",
        "sonde_process_network_receive_bytes_per_second{",
        "sonde_process_network_transmit_bytes_per_second{",
    ] {
        assert!(text.contains(series), "no {series} in:\n{text}");
    }
    // What the node-mixin's dashboards pick hosts and chart the agent by:
    // sonde answers in node_exporter's place.
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
    };
    assert!(
        text.contains("node_exporter_build_info{version=\""),
        "{text}"
    );
    let (open, max) = (value("process_open_fds"), value("process_max_fds"));
    assert!(open >= 3.0 && open < max, "{open} of {max}");
    assert!(value("process_start_time_seconds") > 1.7e9);
    let mem: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("node_memory_MemTotal_bytes "))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert_eq!(mem as u64, meminfo_total_bytes());
    let Some(out) = common::piped(
        std::path::Path::new("promtool"),
        &["check", "metrics"],
        &text,
    ) else {
        return common::skipped(
            "SKIPPED promtool check: promtool is not installed (.ci/run installs Debian's prometheus)",
        );
    };
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // node_exporter's own names (node_memory_MemTotal_bytes,
    // node_netstat_Tcp_InSegs, node_entropy_available_bits…) draw
    // promtool's lint on node_exporter too, and are kept for its
    // dashboards; any finding about sonde's own names is a finding.
    let findings: Vec<&str> = said
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.starts_with("node_"))
        .collect();
    assert!(findings.is_empty(), "promtool: {findings:#?}");
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "promtool failed to parse: {said}"
    );
}

#[tokio::test]
async fn a_real_prometheus_scrapes_sonde_with_a_token() {
    if std::process::Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        return common::skipped(
            "SKIPPED a_real_prometheus_scrapes_sonde: prometheus is not installed (.ci/run installs Debian's prometheus)",
        );
    }
    let server = Server::start(&["--token", "fleet-token"]).await;
    let Some(mut prometheus) = Prometheus::start(&format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: sonde\n    authorization:\n      credentials: fleet-token\n    static_configs:\n      - targets: ['{}']\n",
        server.addr
    )) else {
        return common::skipped(
            "SKIPPED a_real_prometheus_scrapes_sonde: prometheus did not start",
        );
    };
    let prom = prometheus.addr;
    // Four scrapes: a rate over the first two alone is at the mercy of
    // Prometheus's extrapolation and of sonde's 250 ms metrics cache.
    prometheus.scraped("sonde", 4.0).await;
    let mem = query(prom, "node_memory_MemTotal_bytes").await;
    let value: f64 = mem[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert_eq!(value as u64, meminfo_total_bytes());
    // It negotiated OpenMetrics (its default) and stored no `_created`
    // line as a series of its own.
    let created = query(prom, "count({__name__=~\".+_created\"})").await;
    assert!(created.is_empty(), "{created:?}");
    // irate: the last two scrapes (rate() would divide a few seconds of
    // data by the whole range).
    let rate = query(prom, "sum(irate(node_cpu_seconds_total[1m]))").await;
    let cores: f64 = rate
        .first()
        .and_then(|r| r["value"][1].as_str())
        .and_then(|v| v.parse().ok())
        .expect("a CPU rate");
    // All modes together: one second per second per CPU.
    let ncpu = common::ncpu() as f64;
    assert!(
        (cores - ncpu).abs() < 0.25 * ncpu,
        "{cores} CPU-seconds per second on {ncpu} CPUs"
    );
}

/// A kind whose series always fail, as a kind whose source broke.
static BROKEN: sonde::state::Kind = sonde::state::Kind {
    name: "broken",
    text: "get_broken",
    args: sonde::state::Args::None,
    summary: "nothing: its source is broken",
    ttl: |_| Duration::ZERO,
    part: |_| Box::new(()),
    reply: None,
    path: "",
    api: None,
    series: Some(|_| {
        Box::pin(async {
            Err(sonde::collect::CollectError::Aborted(
                "the source broke".to_owned(),
            ))
        })
    }),
    select: None,
    check: None,
};

/// One kind's `series` error turned the whole scrape into a 500: every
/// other kind's series and node_exporter's were lost with it.
#[tokio::test]
async fn regression_one_failing_kind_failed_the_whole_scrape() {
    static TABLE: &[&sonde::state::Kind] =
        &[&sonde::kinds::metrics::KIND, &BROKEN, &sonde::node::KIND];
    let server = Server::start_serving("127.0.0.1:0", &[], TABLE).await;
    let got = get(server.addr, "/metrics", &[]).await;
    assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
    let text = String::from_utf8_lossy(&got.body);
    for kept in [
        "sonde_build_info{",
        "node_cpu_seconds_total{",
        "sonde_processes ",
    ] {
        assert!(text.contains(kept), "{kept} kept: {text}");
    }
    assert!(
        text.contains("sonde_collector_errors_total{collector=\"broken\",kind=\"aborted\"} 1"),
        "the failure is counted: {text}"
    );
}

/// `/api` itself and any unknown `/api/...` path were a 404 with an empty
/// body: a newcomer with curl had no index of the kinds, unlike the
/// WebSocket's unknown-request hint.
#[tokio::test]
async fn regression_api_was_an_empty_404_without_an_index() {
    let server = Server::start(&[]).await;
    let index = get(server.addr, "/api", &[]).await;
    assert_eq!(index.status, 200);
    let index = index.json();
    let entries = index["api"].as_array().unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for kind in sonde::table::KINDS.iter().filter(|k| k.api.is_some()) {
        assert!(names.contains(&kind.name), "{} in {names:?}", kind.name);
    }
    let pid = std::process::id().to_string();
    for e in entries {
        assert!(e["returns"].as_str().is_some_and(|r| !r.is_empty()), "{e}");
        assert!(e["ttl_ms"].is_u64(), "{e}");
        let path = e["path"]
            .as_str()
            .unwrap()
            .replace("{pid}", &pid)
            .replace("{kind}", "metrics");
        let got = get(server.addr, &path, &[]).await;
        assert!(
            got.status == 200 || (got.status == 404 && path.ends_with("/journal")),
            "{path}: {}",
            got.status
        );
    }
    assert_eq!(
        entries.iter().find(|e| e["name"] == "metrics").unwrap()["websocket"]["text"],
        "get_metrics"
    );
    // The Glances API answers the way Glances' clients read errors.
    let got = get(server.addr, "/api/4/nope", &[]).await;
    assert_eq!(got.status, 400);
    assert!(
        got.json()["detail"]
            .as_str()
            .unwrap()
            .contains("Unknown plugin nope")
    );
    let got = get(server.addr, "/api/4/load/min1/limits", &[]).await;
    assert_eq!(got.status, 404);
    assert!(got.json()["detail"].is_string());
    // Glances' history: a bad count is named, a plugin without one says so.
    let got = get(server.addr, "/api/4/load/history/many", &[]).await;
    assert_eq!(got.status, 400);
    assert!(got.json()["detail"].as_str().unwrap().contains("\"many\""));
    let got = get(server.addr, "/api/4/percpu/history", &[]).await;
    assert_eq!(got.status, 404);
    assert!(
        got.json()["detail"]
            .as_str()
            .unwrap()
            .contains("Cannot get plugin history")
    );
    assert_eq!(
        get(server.addr, "/api/4/load/history/3", &[]).await.status,
        200
    );
    for unknown in ["/api/nope", "/api/metrics/extra/deep"] {
        let got = get(server.addr, unknown, &[]).await;
        assert_eq!(got.status, 404, "{unknown}");
        let body = got.json();
        assert!(body["error"].as_str().unwrap().contains(unknown), "{body}");
        assert!(
            body["known"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == "/api/metrics"),
            "{body}"
        );
    }
}

/// A child that writes 8 MiB to a file on disk, from its own process
/// (bash's `printf`), shows them: in its row's `disk_write_bytes`, and in
/// its write rate over the window the rates cover; the list without the
/// column reads no process's `io` file and has no such field.
/// Process `pid`'s drill-down with its connections.
async fn detail_with_connections(addr: SocketAddr, pid: u64) -> Value {
    let path = format!("/api/processes/{pid}?connections=true");
    get(addr, &path, &[]).await.json()
}

/// Process `pid`'s row of a `/api/processes` list.
fn row_of(list: &Value, pid: u64) -> Value {
    list["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["pid"] == pid)
        .cloned()
        .unwrap_or_else(|| panic!("no row of {pid} in {list}"))
}

#[tokio::test]
async fn a_process_writing_to_disk_shows_its_bytes_and_its_rate() {
    let writer = common::DiskWriter::start();
    let pid = u64::from(writer.pid());
    let server = Server::start(&["--processes-ttl-ms", "0"]).await;
    let row = |list: &Value| row_of(list, pid);
    let plain = get(server.addr, "/api/processes", &[]).await.json();
    assert!(
        row(&plain).get("disk_write_bytes").is_none(),
        "{}",
        row(&plain)
    );
    let before = get(server.addr, "/api/processes?columns=io", &[])
        .await
        .json();
    let written_before = row(&before)["disk_write_bytes"].as_f64().unwrap();
    writer.write().await;
    let after = get(server.addr, "/api/processes?sort=io&limit=5", &[])
        .await
        .json();
    let mine = row(&after);
    let written = mine["disk_write_bytes"].as_f64().unwrap() - written_before;
    let want = common::DiskWriter::BYTES;
    assert!(
        (written - want).abs() <= 0.05 * want,
        "{written} bytes written, {want} expected: {mine}"
    );
    let window_s = after["io_window_ms"].as_f64().unwrap() / 1000.0;
    let by_rate = mine["disk_write_bytes_per_sec"].as_f64().unwrap() * window_s;
    assert!(
        (by_rate - want).abs() <= 0.05 * want,
        "{by_rate} bytes by its rate over {window_s} s: {mine}"
    );
    assert!(mine["disk_read_bytes_per_sec"].is_number(), "{mine}");
    let got = get(server.addr, "/api/processes?columns=udp", &[]).await;
    assert_eq!(got.status, 400);
    assert_eq!(got.json()["parameter"], "columns");
}

#[tokio::test]
async fn a_process_sending_over_tcp_shows_its_bytes_its_rate_and_its_connection() {
    let sender = common::NetSender::start();
    let pid = u64::from(sender.pid());
    let server = Server::start(&["--processes-ttl-ms", "0", "--redact", "off"]).await;
    let row = |list: &Value| row_of(list, pid);
    let plain = get(server.addr, "/api/processes", &[]).await.json();
    assert!(
        row(&plain).get("net_sent_bytes").is_none(),
        "only when asked"
    );
    let before = get(server.addr, "/api/processes?columns=net", &[])
        .await
        .json();
    let sent_before = row(&before)["net_sent_bytes"].as_f64().unwrap();
    assert_eq!(row(&before)["tcp_connections"], 1, "{}", row(&before));
    let detail_before = detail_with_connections(server.addr, pid).await;
    sender.send().await;
    let after = get(server.addr, "/api/processes?sort=net&limit=5", &[])
        .await
        .json();
    let mine = row(&after);
    let want = common::NetSender::BYTES;
    let sent = mine["net_sent_bytes"].as_f64().unwrap() - sent_before;
    assert!(
        (sent - want).abs() <= 0.05 * want,
        "{sent} bytes sent, {want} expected: {mine}"
    );
    let window_s = after["net_window_ms"].as_f64().unwrap() / 1000.0;
    let by_rate = mine["net_sent_bytes_per_sec"].as_f64().unwrap() * window_s;
    assert!(
        (by_rate - want).abs() <= 0.05 * want,
        "{by_rate} bytes by its rate over {window_s} s: {mine}"
    );
    assert_eq!(mine["net_received_bytes_per_sec"], 0.0, "{mine}");
    // The drill-down lists the connection, like `ss -tinp` for the pid
    // (once its own answer's short reuse is past).
    tokio::time::sleep(sonde::kinds::process_metrics::TTL).await;
    let detail = detail_with_connections(server.addr, pid).await;
    let connections = detail["process"]["connections"].as_array().unwrap();
    let listener = sender.listener.to_string();
    let c = connections
        .iter()
        .find(|c| c["remote"] == listener.as_str())
        .unwrap_or_else(|| panic!("no connection to {listener}: {detail}"));
    assert_eq!(c["state"], "established");
    let before_c = &detail_before["process"]["connections"][0];
    let sent = c["sent_bytes"].as_f64().unwrap() - before_c["sent_bytes"].as_f64().unwrap();
    assert!((sent - want).abs() <= 0.05 * want, "{c}");
    assert!(c["sent_bytes_per_sec"].as_f64().unwrap() > 0.0, "{c}");
    assert!(c["rtt_ms"].is_number(), "{c}");
    // Whom it talks to is withheld where command lines are (the default
    // without a token); its bytes are not.
    let redacting = Server::start(&[]).await;
    let detail = detail_with_connections(redacting.addr, pid).await;
    let c = &detail["process"]["connections"][0];
    assert!(c["remote"].is_null() && c["local"].is_string(), "{c}");
    assert!(c["sent_bytes"].as_f64().unwrap() >= want, "{c}");
    // Not asked for, none (and no dump); a bad value names the parameter.
    let plain = get(server.addr, &format!("/api/processes/{pid}"), &[]).await;
    assert!(plain.json()["process"]["connections"].is_null());
    let bad = get(
        server.addr,
        &format!("/api/processes/{pid}?connections=yes"),
        &[],
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["parameter"], "connections");
}

#[tokio::test]
async fn a_process_in_another_network_namespace_is_null_not_0() {
    let Ok(child) = std::process::Command::new("unshare")
        .args(["-n", "sleep", "30"])
        .spawn()
    else {
        common::skipped(
            "SKIPPED a_process_in_another_network_namespace_is_null_not_0: unshare(1) is not installed",
        );
        return;
    };
    let child = common::Killed(child);
    let server = Server::start(&["--processes-ttl-ms", "0"]).await;
    // unshare execs sleep once the namespace is made.
    let pid = u64::from(child.0.id());
    let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
    let t0 = std::time::Instant::now();
    while std::fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|n| n == ours) {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "unshare -n did not take"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let list = get(server.addr, "/api/processes?columns=net", &[])
        .await
        .json();
    let row = row_of(&list, pid);
    assert!(row["tcp_connections"].is_null(), "{row}");
    assert!(row["net_sent_bytes_per_sec"].is_null(), "{row}");
    let me = row_of(&list, u64::from(std::process::id()));
    assert!(me["tcp_connections"].as_u64().unwrap() >= 1, "{me}");
    let detail = detail_with_connections(server.addr, pid).await;
    assert!(detail["process"]["connections"].is_null(), "{detail}");
}

#[tokio::test]
async fn connections_opened_and_closed_between_samples_do_not_break_the_list() {
    let server = Server::start(&["--processes-ttl-ms", "0"]).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = listener.local_addr().unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            listener.set_nonblocking(true).unwrap();
            let mut made = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let c = std::net::TcpStream::connect(at).unwrap();
                let accepted = listener.accept();
                drop((c, accepted));
                made += 1;
            }
            made
        })
    };
    let me = u64::from(std::process::id());
    for _ in 0..20 {
        let got = get(server.addr, "/api/processes?columns=net&sort=net", &[]).await;
        assert_eq!(got.status, 200);
        let mine = row_of(&got.json(), me);
        assert!(mine["tcp_connections"].is_u64(), "{mine}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(churn.join().unwrap() > 20, "connections came and went");
}
