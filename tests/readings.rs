//! The readings beside socktop's against the live server on port 0: the
//! `disk_io`, `interfaces`, `pressure` and `sockets` kinds over the
//! WebSocket (both request forms) and `/api`, their rates checked against
//! real traffic; the host's addresses; and `/metrics`'s collector
//! selection and textfile collector.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::io::Write;
use std::time::Duration;

use common::prom::scrape;
use common::{Server, ask, json};
use serde_json::Value;

async fn api(server: &Server, kind: &str) -> Value {
    let (status, body) = scrape(server.addr, &format!("/api/{kind}")).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn each_new_kind_answers_in_both_forms_and_on_the_api() {
    let server = Server::start(&[]).await;
    let mut ws = server.ws().await;
    for kind in ["disk_io", "interfaces", "pressure", "sockets"] {
        let by_json = json(&ask(&mut ws, &format!("{{\"type\":\"{kind}\"}}")).await);
        let by_text = json(&ask(&mut ws, &format!("get_{kind}")).await);
        assert!(
            by_json.is_object() && by_json.get("error").is_none(),
            "{kind}: {by_json}"
        );
        assert_eq!(
            by_json.as_object().unwrap().keys().collect::<Vec<_>>(),
            by_text.as_object().unwrap().keys().collect::<Vec<_>>(),
            "{kind}"
        );
        let over_http = api(&server, kind).await;
        assert_eq!(
            over_http.as_object().unwrap().keys().collect::<Vec<_>>(),
            by_json.as_object().unwrap().keys().collect::<Vec<_>>(),
            "{kind}"
        );
    }
    // The kind that serves only /metrics cannot be asked for: an error
    // reply, and the connection stays usable.
    let refused = json(&ask(&mut ws, r#"{"type":"node"}"#).await);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("unknown request type"),
        "{refused}"
    );
    let metrics = json(&ask(&mut ws, "get_metrics").await);
    assert!(metrics["cpu_total"].is_number(), "{metrics}");
}

#[tokio::test]
async fn sockets_count_a_listener_and_its_connections() {
    let server = Server::start(&["--metrics-ttl-ms", "0"]).await;
    let before = api(&server, "sockets").await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let clients: Vec<_> = (0..5)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    let accepted: Vec<_> = (0..5).map(|_| listener.accept().unwrap()).collect();
    let after = api(&server, "sockets").await;
    let n = |v: &Value, s: &str| v["tcp_states"][s].as_u64().unwrap();
    assert!(
        n(&after, "listen") > n(&before, "listen"),
        "{before} → {after}"
    );
    // Both ends of each connection are established sockets on this host.
    assert!(
        n(&after, "established") >= n(&before, "established") + 10,
        "{before} → {after}"
    );
    assert!(after["protocols"]["TCP"]["inuse"].as_u64().unwrap() >= 11);
    drop((clients, accepted));
}

#[tokio::test]
async fn interface_rates_follow_the_traffic_sent_over_loopback() {
    let server = Server::start(&["--metrics-ttl-ms", "0"]).await;
    let lo = |v: &Value| {
        v["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "lo")
            .cloned()
            .unwrap()
    };
    let first = lo(&api(&server, "interfaces").await);
    assert!(
        first["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["address"] == "127.0.0.1" && a["prefix"] == 8),
        "{first}"
    );
    assert_eq!(first["up"], true, "loopback is up: {first}");
    // A window of at least a second, with 8 MiB sent over loopback in it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let sender = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(&vec![7u8; 8 << 20]).unwrap();
    });
    let (mut conn, _) = listener.accept().unwrap();
    let mut sink = Vec::new();
    std::io::Read::read_to_end(&mut conn, &mut sink).unwrap();
    sender.join().unwrap();
    assert_eq!(sink.len(), 8 << 20);
    let second = api(&server, "interfaces").await;
    let window = second["window_ms"].as_f64().unwrap() / 1000.0;
    let second = lo(&second);
    let sent = second["rx_bytes"].as_f64().unwrap() - first["rx_bytes"].as_f64().unwrap();
    assert!(sent >= f64::from(8u32 << 20), "lo received {sent} bytes");
    let rate = second["rx_bytes_per_sec"].as_f64().unwrap();
    // The rate covers the window since the first reading (the only one at
    // least a second old), so it is the counters' difference over it.
    assert!(
        (rate * window - sent).abs() <= 0.01 * sent,
        "rate {rate} over {window} s is not the {sent} bytes received"
    );
}

#[tokio::test]
async fn disk_io_lists_whole_disks_with_rates_and_counters() {
    let server = Server::start(&[]).await;
    let v = api(&server, "disk_io").await;
    assert!(v["window_ms"].as_u64().unwrap() > 0, "{v}");
    for d in v["devices"].as_array().unwrap() {
        let name = d["name"].as_str().unwrap();
        assert!(
            !name.starts_with("loop") && !name.starts_with("ram"),
            "{name}"
        );
        let busy = d["busy_percent"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&busy), "{d}");
        assert!(d["read_bytes"].as_u64().is_some() && d["reads_per_sec"].as_f64().is_some());
    }
}

#[tokio::test]
async fn the_host_lists_its_addresses() {
    let server = Server::start(&[]).await;
    let host = api(&server, "host").await;
    let addrs = host["addresses"].as_array().unwrap();
    assert!(
        addrs.iter().any(|a| a["interface"] == "lo"
            && a["address"] == "127.0.0.1"
            && a["family"] == "ipv4"),
        "{host}"
    );
}

#[tokio::test]
async fn collect_selects_collectors_and_refuses_unknown_or_disabled_ones() {
    let server = Server::start(&["--no-collector", "vmstat"]).await;
    let (status, only) = scrape(
        server.addr,
        "/metrics?collect[]=meminfo&collect%5B%5D=uname",
    )
    .await;
    assert_eq!(status, 200);
    assert!(only.contains("node_memory_MemTotal_bytes "), "{only}");
    assert!(only.contains("node_uname_info{"), "{only}");
    assert!(!only.contains("node_cpu_seconds_total"), "{only}");
    assert!(
        !only.contains("sonde_processes "),
        "sonde's own series are not asked for"
    );
    assert!(
        only.contains("node_scrape_collector_success{collector=\"meminfo\"} 1"),
        "{only}"
    );
    let (_, with_sonde) = scrape(server.addr, "/metrics?collect[]=uname&collect[]=sonde").await;
    assert!(with_sonde.contains("sonde_processes "), "{with_sonde}");
    let (status, body) = scrape(server.addr, "/metrics?collect[]=bogus").await;
    assert_eq!(status, 400);
    assert!(body.contains("bogus"), "{body}");
    let (status, body) = scrape(server.addr, "/metrics?collect[]=vmstat").await;
    assert_eq!(status, 400);
    assert!(body.contains("turned off"), "{body}");
    let (_, all) = scrape(server.addr, "/metrics").await;
    assert!(!all.contains("node_vmstat_"), "vmstat is off");
    assert!(all.contains("node_cpu_seconds_total"), "the rest is on");
}

/// node_exporter 1.9 takes `exclude[]`; sonde ignored it and served
/// everything (`?exclude[]=cpu` still returned every
/// `node_cpu_seconds_total`).
#[tokio::test]
async fn regression_exclude_was_ignored() {
    let server = Server::start(&[]).await;
    let (status, text) = scrape(server.addr, "/metrics?exclude[]=cpu&exclude[]=sonde").await;
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains("node_cpu_seconds_total{"), "{text}");
    assert!(!text.contains("sonde_processes "), "{text}");
    assert!(text.contains("node_memory_MemTotal_bytes "), "{text}");
    assert!(
        !text.contains("node_scrape_collector_success{collector=\"cpu\"}"),
        "{text}"
    );
    // A misspelt name is refused, naming it, rather than silently serving
    // what it meant to leave out; a node_exporter collector sonde does not
    // have is taken (nothing of it is served); and the two filters
    // together are refused with node_exporter's words.
    let (status, body) = scrape(server.addr, "/metrics?exclude[]=cpuu").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"cpuu\""), "{body}");
    let (status, body) = scrape(server.addr, "/metrics?exclude[]=systemd").await;
    assert_eq!(status, 200);
    assert!(body.contains("node_cpu_seconds_total{"), "nothing excluded");
    let (status, body) = scrape(server.addr, "/metrics?collect[]=cpu&exclude[]=meminfo").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("Combined collect and exclude queries are not allowed."),
        "{body}"
    );
}

/// A directory holding `files` (name, content), for `--textfile-dir`.
fn textfile_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// sonde reading `dir` as its textfile directory, with `args` beside.
async fn textfile_server(dir: &tempfile::TempDir, args: &[&str]) -> Server {
    let path = dir.path().to_str().unwrap();
    Server::start(&[&["--textfile-dir", path][..], args].concat()).await
}

#[tokio::test]
async fn a_malformed_textfile_is_reported_and_the_rest_is_served() {
    let dir = textfile_dir(&[
        (
            "backup.prom",
            "# HELP backup_age_seconds Age of the last backup.\n# TYPE backup_age_seconds gauge\nbackup_age_seconds{job=\"db\"} 3600\n",
        ),
        ("broken.prom", "half_written{job=\"x\" 1\n"),
        ("stamped.prom", "stamped 1 1700000000000\n"),
        ("notes.txt", "not a metric file\n"),
    ]);
    let server = textfile_server(&dir, &[]).await;
    let (status, text) = scrape(server.addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(text.contains("# HELP backup_age_seconds Age of the last backup.\n# TYPE backup_age_seconds gauge\nbackup_age_seconds{job=\"db\"} 3600\n"), "{text}");
    assert!(text.contains("node_textfile_scrape_error 1"), "{text}");
    let good = dir.path().join("backup.prom");
    assert!(
        text.contains(&format!(
            "node_textfile_mtime_seconds{{file=\"{}\"}}",
            good.display()
        )),
        "{text}"
    );
    assert!(
        !text.contains("half_written") && !text.contains("stamped "),
        "{text}"
    );
    assert!(text.contains("node_uname_info{") && text.contains("node_cpu_seconds_total{"));
    // Fixed, the next scrape has no error.
    std::fs::remove_file(dir.path().join("broken.prom")).unwrap();
    std::fs::remove_file(dir.path().join("stamped.prom")).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, text) = scrape(server.addr, "/metrics").await;
    assert!(text.contains("node_textfile_scrape_error 0"), "{text}");
}

/// A scrape of `server` that must answer within 10 s.
async fn scrape_within(server: &Server, path: &str) -> (u16, String) {
    tokio::time::timeout(Duration::from_secs(10), scrape(server.addr, path))
        .await
        .unwrap_or_else(|_| panic!("{path} answered within 10 s"))
}

/// A FIFO named `*.prom` made `/metrics` wait forever (each retried scrape
/// left a thread stuck in `open(2)`), and after some 500 of them the other
/// surfaces hung too. Only regular files are opened now, non-blocking.
#[tokio::test]
async fn regression_a_fifo_named_prom_hung_every_scrape() {
    let dir = textfile_dir(&[("good.prom", "backup_ok 1\n")]);
    let fifo = dir.path().join("pipe.prom");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let server = textfile_server(&dir, &["--metrics-ttl-ms", "0"]).await;
    for _ in 0..3 {
        let (status, text) = scrape_within(&server, "/metrics").await;
        assert_eq!(status, 200);
        assert!(text.contains("\nbackup_ok 1\n"), "{text}");
        assert!(text.contains("node_textfile_scrape_error 1"), "{text}");
        let (status, _) = scrape_within(&server, "/api/metrics").await;
        assert_eq!(status, 200);
    }
}

/// A file named `x\ninjected 1337\n# .prom` was written raw into the
/// default HELP text, and a real Prometheus ingested `injected 1337`; a
/// name holding a newline can no longer break a line of the exposition.
#[tokio::test]
async fn regression_a_file_name_with_a_newline_injected_a_series() {
    let dir = textfile_dir(&[
        ("x\ninjected 1337\n# .prom", "from_odd_name 1\n"),
        ("broken\n.prom", "from_broken_name 2\n"),
    ]);
    let server = textfile_server(&dir, &[]).await;
    let (_, text) = scrape_within(&server, "/metrics").await;
    assert!(
        text.contains("\nfrom_odd_name 1\n") && text.contains("\nfrom_broken_name 2\n"),
        "{text}"
    );
    for line in text.lines() {
        assert!(
            !line.starts_with("injected") && !line.starts_with(".prom"),
            "a line was injected: {line:?}"
        );
    }
    assert!(
        text.contains("x\\ninjected 1337\\n# .prom"),
        "the name escaped: {text}"
    );
    assert!(!common::prom::parse(&text).series.contains_key("injected"));
}

/// A `.prom` redefining a family sonde serves was served twice (a second
/// HELP line), and an invalid escape in HELP was served as is; both are
/// dropped as node_exporter drops them.
#[tokio::test]
async fn regression_a_textfile_redefining_a_served_family_was_served_twice() {
    let dir = textfile_dir(&[
        (
            "clash.prom",
            "# HELP node_load1 fake\nnode_load1 99\nsonde_websocket_sessions 42\nnode_textfile_scrape_error 0\nmine 7\n",
        ),
        ("escape.prom", "# HELP bad_help a \\q escape\nbad_help 1\n"),
    ]);
    let server = textfile_server(&dir, &[]).await;
    let (_, text) = scrape_within(&server, "/metrics").await;
    for family in [
        "node_load1",
        "sonde_websocket_sessions",
        "node_textfile_scrape_error",
    ] {
        assert_eq!(
            text.matches(&format!("# HELP {family} ")).count(),
            1,
            "{family}: {text}"
        );
    }
    assert!(
        !text.contains("node_load1 99") && !text.contains("sonde_websocket_sessions 42"),
        "{text}"
    );
    assert!(
        text.contains("\nmine 7\n"),
        "the rest of the file is served: {text}"
    );
    assert!(!text.contains("bad_help"), "{text}");
    assert!(text.contains("node_textfile_scrape_error 1"), "{text}");
}

/// A huge file in the directory (here 17 MiB of good series, a runaway
/// exporter's output) was read whole, its size many times over in memory;
/// it is now left out past the 16 MiB a scrape reads, and the other files
/// are served.
#[tokio::test]
async fn a_huge_textfile_is_left_out_and_the_rest_is_served() {
    let dir = textfile_dir(&[("good.prom", "backup_ok 1\n")]);
    let pad = "x".repeat(100);
    let mut huge = String::with_capacity(18 << 20);
    for i in 0u64.. {
        if huge.len() >= 17 << 20 {
            break;
        }
        huge.push_str(&format!("huge_series{{i=\"{i}\",pad=\"{pad}\"}} {i}\n"));
    }
    std::fs::write(dir.path().join("huge.prom"), huge).unwrap();
    let server = textfile_server(&dir, &[]).await;
    let (status, text) = scrape_within(&server, "/metrics").await;
    assert_eq!(status, 200);
    assert!(text.contains("\nbackup_ok 1\n"), "{text}");
    assert!(!text.contains("huge_series"), "the huge file is left out");
    assert!(text.contains("node_textfile_scrape_error 1"), "{text}");
}
