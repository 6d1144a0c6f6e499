//! CPU% is real from the first processes reply, and never computed over a
//! window too short to mean anything. A test binary of its own, so nothing
//! else competes for the CPUs while it measures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use common::{Server, Spinner, ask, processes};

fn spinner_share(p: &sonde::model::pb::Processes, pid: u32) -> f32 {
    p.rows
        .iter()
        .find(|r| r.pid == pid)
        .map(|r| r.cpu_usage)
        .expect("the spinner is listed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_child_shows_one_core_share_from_the_first_reply() {
    let spinner = Spinner::start();
    let server = Server::start(&["--processes-ttl-ms", "0"]).await;
    let mut ws = server.ws().await;
    let one_core = 100.0 / common::ncpu() as f32;

    let first = processes(&ask(&mut ws, "get_processes").await);
    let share = spinner_share(&first, spinner.pid());
    assert!(
        share > one_core * 0.6 && share <= one_core * 1.1,
        "first reply: spinner at {share} %, expected about {one_core} %"
    );

    // Back to back at TTL 0: every reply still covers a real window.
    for i in 0..5 {
        let p = processes(&ask(&mut ws, "get_processes").await);
        let share = spinner_share(&p, spinner.pid());
        assert!(
            share > one_core * 0.5,
            "back-to-back reply {i}: spinner at {share} %, expected about {one_core} %"
        );
    }
    // Per-core CPU% too: the cores together carry about one core's worth
    // (the scheduler may split the spinner over several, so no single core
    // need read busy).
    let m = common::json(&ask(&mut ws, "get_metrics").await);
    let cores: f64 = m["cpu_per_core"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_f64().unwrap())
        .sum();
    assert!(cores > 60.0, "one core's worth over the cores: {m}");
}
