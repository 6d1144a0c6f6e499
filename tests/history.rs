//! The history of the charted kinds, through real clients: what one client
//! was served, the next gets back (same timestamps, same values), on the
//! WebSocket in both forms and over `/api`; an unwatched history is
//! dropped; an idle agent does no work; a large host stays in its bound.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Server, ask, json};
use serde_json::Value;

/// The column of `field` (of `of`, if given) in a history reply.
fn column<'a>(h: &'a Value, field: &str, of: Option<Value>) -> &'a Vec<Value> {
    h["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["field"] == field && s.get("of").cloned() == of)
        .unwrap_or_else(|| panic!("no series {field} {of:?} in {h}"))["values"]
        .as_array()
        .unwrap()
}

#[tokio::test]
async fn a_second_client_gets_the_samples_the_first_was_served() {
    let server = Server::start(&[]).await;
    let mut watcher = server.ws().await;
    let mut served = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        let m = json(&ask(&mut watcher, r#"{"type":"metrics"}"#).await);
        let at = m["sampled_at_ms"].as_u64().unwrap();
        if served.last().is_none_or(|(last, _)| *last != at) {
            served.push((at, m["cpu_total"].as_f64().unwrap()));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(served.len() >= 50, "{} samples served", served.len());

    let mut late = server.ws().await;
    let h = json(&ask(&mut late, r#"{"type":"history","kind":"metrics"}"#).await);
    assert_eq!(h["kind"], "metrics");
    assert_eq!(h["window_ms"], 900_000);
    let times: Vec<u64> = h["t"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    let cpu = column(&h, "cpu_total", None);
    assert_eq!(cpu.len(), times.len());
    for (at, total) in &served {
        let i = times
            .iter()
            .position(|t| t == at)
            .unwrap_or_else(|| panic!("the sample of {at} served live is not in {times:?}"));
        assert_eq!(
            cpu[i].as_f64().unwrap(),
            *total,
            "the value served live at {at}"
        );
    }
    let cores = (0..common::ncpu())
        .map(|i| column(&h, "cpu_per_core", Some(Value::from(i))).len())
        .collect::<Vec<_>>();
    assert!(cores.iter().all(|n| *n == times.len()), "{cores:?}");

    // since_ms: only what came after, in the text form and over /api.
    let (mid, _) = served[served.len() / 2];
    let after = json(&ask(&mut late, &format!("get_history:metrics:{mid}")).await);
    let later: Vec<u64> = times.iter().copied().filter(|t| *t > mid).collect();
    assert_eq!(after["t"], Value::from(later.clone()));
    let (status, text) = server
        .http_get(&format!("/api/history/metrics?since_ms={mid}"), &[])
        .await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(text.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(body["t"], Value::from(later));

    // Bad requests are answered, and the connection stays usable.
    for (bad, needle) in [
        (
            r#"{"type":"history","kind":"cpu"}"#,
            "history needs \"kind\"",
        ),
        (r#"{"type":"history","kind":7}"#, "history needs \"kind\""),
        (
            r#"{"type":"history","kind":"metrics","since_ms":-1}"#,
            "since_ms must be",
        ),
        ("get_history:metrics:soon", "since_ms must be"),
        (
            r#"{"type":"history","kind":"disks"}"#,
            "no history is kept of",
        ),
    ] {
        let e = json(&ask(&mut late, bad).await);
        assert!(e["error"].as_str().unwrap().contains(needle), "{bad}: {e}");
    }
    let (status, text) = server.http_get("/api/history/disks", &[]).await;
    assert_eq!(status, 404, "{text}");
    let (status, _) = server
        .http_get("/api/history/metrics?since_ms=later", &[])
        .await;
    assert_eq!(status, 400);
    assert!(json(&ask(&mut late, "get_metrics").await)["cpu_total"].is_number());
}

#[tokio::test]
async fn nothing_is_kept_once_nobody_asked_for_a_whole_window() {
    let server = Server::start(&["--history", "2s"]).await;
    let mut ws = server.ws().await;
    for _ in 0..4 {
        ask(&mut ws, "get_metrics").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let h = json(&ask(&mut ws, "get_history").await);
    assert!(h["t"].as_array().unwrap().len() >= 3, "{h}");
    assert!(server.state.history().bytes() > 0);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let h = json(&ask(&mut ws, "get_history").await);
    assert_eq!(h["t"], Value::Array(Vec::new()), "{h}");
    assert_eq!(h["series"], Value::Array(Vec::new()), "{h}");
    assert_eq!(server.state.history().bytes(), 0, "the memory was let go");

    // --history 0 keeps nothing, and says so.
    let off = Server::start(&["--history", "0"]).await;
    let mut ws = off.ws().await;
    ask(&mut ws, "get_metrics").await;
    let e = json(&ask(&mut ws, "get_history").await);
    assert!(e["error"].as_str().unwrap().contains("--history 0"), "{e}");
}

/// CPU ticks (user + system) the process has used, from its stat line.
fn ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[tokio::test]
async fn an_agent_nobody_asks_does_no_work_with_history_on() {
    let (server, port) = common::listening(&["--history", "2s"]);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    for _ in 0..5 {
        let (status, _) = common::http_get(addr, "/api/metrics", &[]).await;
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The history's one timer ends a window after the last sample. On a
    // loaded machine (the whole suite at once) the start-up's one-shot
    // work can still be finishing: the agent is given up to 20 s to be
    // still for 2 s, which a periodic task never is.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pid = server.0.id();
    for _ in 0..10 {
        let settled = ticks(pid);
        tokio::time::sleep(Duration::from_secs(2)).await;
        if ticks(pid) == settled {
            break;
        }
    }
    let before = ticks(pid);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(ticks(pid) - before, 0, "CPU ticks while nobody asked");
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A host of 128 CPUs, 32 disks and 32 interfaces, its counters moving
/// between samples.
fn big_host(root: &Path, step: u64) {
    let mut stat = format!("cpu {} 0 0 {} 0 0 0 0 0 0\n", 128 * step, 128 * 2 * step);
    for i in 0..128u64 {
        stat += &format!("cpu{i} {} 0 0 {} 0 0 0 0 0 0\n", step + i, 2 * step);
    }
    stat += "btime 1700000000\n";
    write(root, "proc/stat", &stat);
    let mut dev = "h\nh\n".to_owned();
    for i in 0..32u64 {
        dev += &format!(
            "  eth{i}: {} 1 0 0 0 0 0 0 {} 2 0 0 0 0 0 0\n",
            step * 1000 + i,
            step * 10
        );
    }
    write(root, "proc/net/dev", &dev);
    let mut disks = String::new();
    for i in 0..32u64 {
        disks += &format!(
            "   8 {} sd{} {} 0 {} 10 {} 0 {} 10 0 {} 20\n",
            i * 16,
            char::from(b'a' + (i % 26) as u8).to_string() + if i >= 26 { "a" } else { "" },
            step,
            step * 8,
            step,
            step * 8,
            step
        );
    }
    write(root, "proc/diskstats", &disks);
}

#[tokio::test]
async fn a_128_cpu_host_at_the_full_window_stays_in_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    big_host(root, 1);
    write(
        root,
        "proc/meminfo",
        "MemTotal: 536870912 kB\nMemFree: 1048576 kB\nMemAvailable: 268435456 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n",
    );
    write(root, "proc/loadavg", "0.25 0.50 0.75 1/2 42\n");
    write(root, "proc/sys/kernel/hostname", "big\n");
    let (proc, sys) = (root.join("proc"), root.join("sys"));
    let roots = [
        "--proc-root",
        proc.to_str().unwrap(),
        "--sys-root",
        sys.to_str().unwrap(),
        "--metrics-ttl-ms",
        "0",
    ];
    let server = Server::start(&roots).await;
    let mut ws = server.ws().await;
    // 3,600 samples: a whole 15-minute window at the metrics TTL (250 ms),
    // the most a window can hold of them; each kind's at a ms of its own.
    for step in 2..3602u64 {
        if step % 60 == 0 {
            big_host(root, step);
        }
        ask(&mut ws, "get_metrics").await;
        ask(&mut ws, r#"{"type":"disk_io"}"#).await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let h = json(&ask(&mut ws, "get_history").await);
    let rows = h["t"].as_array().unwrap().len();
    assert!(rows > 3000, "{rows} rows of metrics kept");
    assert_eq!(
        h["series"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["field"] == "cpu_per_core")
            .count(),
        128
    );
    let disk_io = json(&ask(&mut ws, r#"{"type":"history","kind":"disk_io"}"#).await);
    assert_eq!(
        disk_io["series"].as_array().unwrap().len(),
        32 * 3,
        "{}",
        &disk_io.to_string()[..300]
    );
    let bytes = server.state.history().bytes();
    // The bound docs/performance.md states for this host at 15 minutes
    // (metrics and disk I/O at their TTL): 8 bytes a value, 3,600 rows of
    // a time and 1 + 2 + 128 + 4 + 3 + 1 + 64 values, and of a time and 96.
    let bound = 3600 * 8 * ((1 + 1 + 2 + 128 + 4 + 3 + 1 + 64) + (1 + 96));
    assert!(bytes <= bound, "{bytes} bytes held, over {bound}");
    assert!(
        bytes > bound / 2,
        "{bytes} bytes held: the rows were not all kept"
    );

    // Past its cap the history shortens, and nothing fails.
    let capped = Server::start(&[&roots[..], &["--history-max-mib", "1"]].concat()).await;
    let mut ws = capped.ws().await;
    for _ in 0..1000 {
        assert!(json(&ask(&mut ws, "get_metrics").await)["cpu_total"].is_number());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let bytes = capped.state.history().bytes();
    assert!(bytes <= 1 << 20, "{bytes} bytes over the 1 MiB cap");
    let kept = json(&ask(&mut ws, "get_history").await)["t"]
        .as_array()
        .unwrap()
        .len();
    assert!((300..1000).contains(&kept), "{kept} of 1000 rows kept");
}

/// `--history-always on` samples the charted kinds with no client asking:
/// a history is there before anyone asked for a reading.
#[tokio::test]
async fn history_always_keeps_samples_nobody_asked_for() {
    let server = Server::start(&["--history-always", "on"]).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(server.state.history().bytes() > 0, "nothing sampled");
    let mut ws = server.ws().await;
    let h = json(&ask(&mut ws, "get_history").await);
    assert!(h["t"].as_array().unwrap().len() >= 2, "{h}");
    // Without it, nothing is taken while nobody asks.
    let idle = Server::start(&[]).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(idle.state.history().bytes(), 0);
}
