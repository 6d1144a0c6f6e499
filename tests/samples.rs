//! Typed samples end to end: one collection and one encoding per sample,
//! however many clients read it, and collector errors that are seen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::path::Path;

use common::{Server, ask, json, processes};

/// A minimal fixture host: `stat`, `meminfo` as given, the rest sane.
fn fixture_proc(dir: &Path, meminfo: &str) -> String {
    let proc = dir.join("proc");
    std::fs::create_dir_all(proc.join("net")).unwrap();
    std::fs::create_dir_all(proc.join("sys/kernel")).unwrap();
    std::fs::write(
        proc.join("stat"),
        "cpu 100 0 100 1000 0 0 0 0 0 0\ncpu0 100 0 100 1000 0 0 0 0 0 0\nbtime 1700000000\n",
    )
    .unwrap();
    std::fs::write(proc.join("meminfo"), meminfo).unwrap();
    std::fs::write(
        proc.join("net/dev"),
        "h\nh\n  lo: 1 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0\n",
    )
    .unwrap();
    std::fs::write(proc.join("sys/kernel/hostname"), "fixture\n").unwrap();
    std::fs::write(proc.join("loadavg"), "0.10 0.20 0.30 1/50 77\n").unwrap();
    proc.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn many_concurrent_clients_share_one_encoding_per_sample() {
    const CLIENTS: usize = 24;
    let server = Server::start(&["--processes-ttl-ms", "60000", "--metrics-ttl-ms", "60000"]).await;
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let mut ws = server.ws().await;
        tasks.push(tokio::spawn(async move {
            let table = processes(&ask(&mut ws, "get_processes").await);
            let metrics = json(&ask(&mut ws, r#"{"type":"metrics"}"#).await);
            (table, metrics)
        }));
    }
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.unwrap());
    }
    assert!(replies[0].0.rows.len() > 1, "a real process list");
    for (table, metrics) in &replies {
        assert_eq!(table, &replies[0].0, "every client got the same sample");
        assert_eq!(metrics["sampled_at_ms"], replies[0].1["sampled_at_ms"]);
    }
    assert_eq!(server.state.frames_encoded("processes"), 1);
    assert_eq!(server.state.frames_encoded("metrics"), 1);
    assert_eq!(server.state.frames_encoded("disks"), 0, "nobody asked");
}

#[tokio::test]
async fn ttl_zero_encodes_each_new_sample_once() {
    let server = Server::start(&["--metrics-ttl-ms", "0"]).await;
    let mut ws = server.ws().await;
    for _ in 0..5 {
        json(&ask(&mut ws, "get_metrics").await);
    }
    assert_eq!(server.state.frames_encoded("metrics"), 5);
}

#[tokio::test]
async fn a_malformed_meminfo_is_counted_and_the_rest_of_the_reply_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = fixture_proc(dir.path(), "MemTotal: lots\n");
    let server = Server::start(&["--proc-root", &root, "--metrics-ttl-ms", "0"]).await;
    let mut ws = server.ws().await;
    for _ in 0..3 {
        let m = json(&ask(&mut ws, "get_metrics").await);
        assert_eq!(m["hostname"], "fixture");
        assert_eq!(m["load_avg"][2], 0.3);
        assert_eq!(m["mem_total"], 0, "no invented number");
    }
    let counted = server
        .state
        .errors()
        .snapshot()
        .into_iter()
        .find(|c| c.collector == "memory")
        .expect("the memory error is counted");
    assert_eq!((counted.kind, counted.count), ("parse", 3));
}

#[tokio::test]
async fn regression_a_collector_error_was_counted_per_surface_not_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = fixture_proc(dir.path(), "MemTotal: 1000 kB\nMemAvailable: 500 kB\n");
    let server = Server::start(&["--proc-root", &root, "--disks-ttl-ms", "0"]).await;
    let mut ws = server.ws().await;
    let reply = json(&ask(&mut ws, "get_disks").await);
    assert!(
        reply["error"].as_str().unwrap().contains("mountinfo"),
        "{reply}"
    );
    assert_eq!(
        server.state.errors().count("disks"),
        1,
        "reported once, not per surface"
    );
    let again = json(&ask(&mut ws, "get_metrics").await);
    assert_eq!(again["hostname"], "fixture", "the connection stays usable");
}
