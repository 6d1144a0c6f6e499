//! Process drill-down: `process_metrics` and `journal_entries` against the
//! live server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Killed, Server, ask, json};
use serde_json::Value;

const THREAD_CHILD_ENV: &str = "SONDE_TEST_THREAD_CHILD";
const THREADS: usize = 5;

/// Not a test of its own: when re-run as a child with the variable set, it
/// starts `THREADS` named threads and sleeps, as a program with a known
/// thread set.
#[test]
fn thread_child() {
    if std::env::var_os(THREAD_CHILD_ENV).is_none() {
        return;
    }
    for i in 0..THREADS {
        std::thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(|| std::thread::sleep(Duration::from_secs(60)))
            .unwrap();
    }
    std::thread::sleep(Duration::from_secs(60));
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn detail(v: &Value) -> &Value {
    assert!(v.get("error").is_none(), "unexpected error reply {v}");
    assert!(v["cached_at"].as_u64().unwrap() > 1_600_000_000);
    &v["process"]
}

/// Every key of the contract is present.
fn assert_process_keys(p: &Value) {
    for key in [
        "pid",
        "name",
        "command",
        "cpu_usage",
        "mem_bytes",
        "virtual_mem_bytes",
        "shared_mem_bytes",
        "thread_count",
        "fd_count",
        "status",
        "parent_pid",
        "user_id",
        "group_id",
        "start_time",
        "cpu_time_user",
        "cpu_time_system",
        "read_bytes",
        "write_bytes",
        "working_directory",
        "executable_path",
        "child_processes",
        "threads",
    ] {
        assert!(p.get(key).is_some(), "{key} missing in {p}");
    }
}

/// Waits (5 s at most) until `pid` has exec'd into `name`.
async fn wait_for_exec(pid: u32, name: &str) {
    let t0 = Instant::now();
    while std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        != name
    {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "{pid} never became {name}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_child_in_detail_and_as_a_child() {
    let dir = tempfile::tempdir().unwrap();
    let child = Child(
        Command::new("sh")
            .args([
                "-c",
                "exec 3</dev/null 4</dev/null 5</dev/null; exec sleep 60",
            ])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    wait_for_exec(pid, "sleep").await;
    let server = Server::start(&["--redact", "off", "--processes-ttl-ms", "0"]).await;
    let mut ws = server.ws().await;

    let reply = json(&ask(&mut ws, &format!("get_process_metrics:{pid}")).await);
    let p = detail(&reply);
    assert_process_keys(p);
    assert_eq!(p["pid"], pid);
    assert_eq!(p["name"], "sleep");
    assert_eq!(p["command"], "sleep 60");
    assert_eq!(p["parent_pid"], std::process::id());
    // stdin/out/err, the three files it opened, and whatever the test
    // harness let it inherit: count them the same way the kernel lists them.
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    assert!(fds >= 6);
    assert_eq!(p["fd_count"], fds);
    assert_eq!(
        p["working_directory"],
        dir.path().canonicalize().unwrap().to_str().unwrap()
    );
    assert!(p["executable_path"].as_str().unwrap().ends_with("sleep"));
    assert_eq!(p["status"], "Sleeping");
    assert_eq!(p["thread_count"], 1);
    assert_eq!(p["threads"].as_array().unwrap().len(), 1);
    assert_eq!(p["threads"][0]["tid"], pid);
    assert!(p["mem_bytes"].as_u64().unwrap() > 0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let started = p["start_time"].as_u64().unwrap();
    assert!(
        started <= now && now - started < 120,
        "start_time {started} vs now {now}"
    );

    // The JSON form, and the test process itself with the child listed.
    let me = std::process::id();
    let reply = json(
        &ask(
            &mut ws,
            &format!(r#"{{"type":"process_metrics","pid":{me}}}"#),
        )
        .await,
    );
    let p = detail(&reply);
    assert_process_keys(p);
    let children = p["child_processes"].as_array().unwrap();
    let c = children
        .iter()
        .find(|c| c["pid"] == pid)
        .expect("the child is listed");
    assert_process_keys(c);
    assert_eq!(
        c["threads"],
        Value::Array(vec![]),
        "one level: children carry no threads"
    );
    assert_eq!(c["child_processes"], Value::Array(vec![]));
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(p["working_directory"], cwd.to_str().unwrap());
    let exe = std::env::current_exe().unwrap();
    assert!(
        p["command"]
            .as_str()
            .unwrap()
            .starts_with(exe.to_str().unwrap()),
        "{}",
        p["command"]
    );
}

/// The bug: `child_processes` came from the cached process list, so a
/// child started less than a processes TTL before the request was missing.
#[tokio::test]
async fn regression_child_started_after_the_cached_process_list_is_listed() {
    // A parent that starts a child when told to, on its stdin.
    let mut parent = Child(
        Command::new("sh")
            .args(["-c", "read go; sleep 60 & wait"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let ppid = parent.0.id();
    // A process list cached for a minute, taken before the child exists.
    let server = Server::start(&["--redact", "off", "--processes-ttl-ms", "60000"]).await;
    let mut ws = server.ws().await;
    common::processes(&ask(&mut ws, "get_processes").await);
    {
        use std::io::Write;
        let stdin = parent.0.stdin.as_mut().unwrap();
        writeln!(stdin, "go").unwrap();
        stdin.flush().unwrap();
    }
    let kid = wait_for_child(ppid).await;
    let reply = json(&ask(&mut ws, &format!("get_process_metrics:{ppid}")).await);
    let children = detail(&reply)["child_processes"].as_array().unwrap();
    assert!(
        children
            .iter()
            .any(|c| c["pid"] == kid && c["name"] == "sleep"),
        "child {kid} of {ppid} missing: {children:?}"
    );
}

/// The pid of `ppid`'s first child, as the kernel lists it.
async fn wait_for_child(ppid: u32) -> u32 {
    let t0 = Instant::now();
    loop {
        let pids = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok());
        for pid in pids {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if let Ok(st) = sonde::collect::processes::parse_pid_stat(&stat)
                && st.ppid == ppid
                && st.comm == "sleep"
            {
                return pid;
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "no child appeared");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn threads_of_a_program_with_n_threads() {
    let child = Child(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "thread_child", "--nocapture", "--test-threads=1"])
            .env(THREAD_CHILD_ENV, "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    let count_workers = || {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|d| {
                d.flatten()
                    .filter(|t| {
                        std::fs::read_to_string(t.path().join("comm"))
                            .is_ok_and(|c| c.starts_with("worker-"))
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    let t0 = Instant::now();
    while count_workers() < THREADS {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "child threads did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server = Server::start(&["--redact", "off"]).await;
    let mut ws = server.ws().await;
    let reply = json(&ask(&mut ws, &format!("get_process_metrics:{pid}")).await);
    let p = detail(&reply);
    let threads = p["threads"].as_array().unwrap();
    assert_eq!(p["thread_count"].as_u64().unwrap() as usize, threads.len());
    let workers: Vec<&str> = threads
        .iter()
        .filter_map(|t| t["name"].as_str())
        .filter(|n| n.starts_with("worker-"))
        .collect();
    assert_eq!(workers.len(), THREADS, "{threads:?}");
    for t in threads {
        assert!(t["tid"].is_u64() && t["cpu_time_user"].is_u64() && t["cpu_time_system"].is_u64());
        assert!(t["status"].is_string());
    }
}

#[tokio::test]
async fn a_vanished_pid_and_bad_requests_get_error_replies() {
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let server = Server::start(&["--redact", "off"]).await;
    let mut ws = server.ws().await;
    for req in [
        format!("get_process_metrics:{pid}"),
        format!(r#"{{"type":"process_metrics","pid":{pid}}}"#),
    ] {
        let v = json(&ask(&mut ws, &req).await);
        assert_eq!(
            v,
            serde_json::json!({"error": format!("process {pid} not found"), "request": "process_metrics", "pid": pid})
        );
    }
    for bad in [
        "get_process_metrics:abc",
        "get_process_metrics:",
        "get_journal_entries:-1",
        r#"{"type":"process_metrics"}"#,
        r#"{"type":"process_metrics","pid":-4}"#,
        r#"{"type":"journal_entries","pid":4294967296}"#,
        r#"{"type":"journal_entries","pid":"12"}"#,
        r#"{"type":"process_metrics","pid":1,"connections":"yes"}"#,
    ] {
        let v = json(&ask(&mut ws, bad).await);
        assert!(v["error"].is_string(), "{bad}: {v}");
    }
    assert!(
        json(&ask(&mut ws, "get_metrics").await)["cpu_total"].is_number(),
        "still usable"
    );
}

#[tokio::test]
async fn connections_come_only_when_asked_for() {
    let server = Server::start(&["--redact", "off"]).await;
    let mut ws = server.ws().await;
    // This test's process holds the WebSocket it asks on.
    let me = std::process::id();
    let plain = json(&ask(&mut ws, &format!("get_process_metrics:{me}")).await);
    assert!(
        plain["process"]["connections"].is_null(),
        "not asked: no dump"
    );
    let asked = format!(r#"{{"type":"process_metrics","pid":{me},"connections":true}}"#);
    let v = json(&ask(&mut ws, &asked).await);
    let connections = v["process"]["connections"].as_array().unwrap();
    let port = server.addr.port();
    assert!(
        connections.iter().any(|c| c["state"] == "established"
            && c["remote"].as_str().unwrap().ends_with(&format!(":{port}"))),
        "{v}"
    );
}

#[tokio::test]
async fn replies_decode_as_socktop_connector_types() {
    let server = Server::start(&["--redact", "off"]).await;
    let mut ws = server.ws().await;
    let me = std::process::id();
    let v = json(&ask(&mut ws, &format!("get_process_metrics:{me}")).await);
    let r: socktop_connector::ProcessMetricsResponse = serde_json::from_value(v).expect("shape");
    assert_eq!(r.process.pid, me);
    assert!(!r.process.threads.is_empty());
    let v = json(&ask(&mut ws, &format!("get_journal_entries:{me}")).await);
    let j: socktop_connector::JournalResponse = serde_json::from_value(v).expect("shape");
    assert_eq!(j.total_count as usize, j.entries.len());

    let mut c = socktop_connector::connect_to_socktop_agent(server.url("/ws"))
        .await
        .unwrap();
    use socktop_connector::{AgentRequest, AgentResponse};
    let Ok(AgentResponse::ProcessMetrics(r)) =
        c.request(AgentRequest::ProcessMetrics { pid: me }).await
    else {
        panic!("the connector reads process_metrics")
    };
    assert_eq!(r.process.pid, me);
    let Ok(AgentResponse::JournalEntries(_)) =
        c.request(AgentRequest::JournalEntries { pid: me }).await
    else {
        panic!("the connector reads journal_entries")
    };
}

/// A server reading the journal with `journalctl` from `journal_dir`,
/// messages served (`--redact off`: these tests read them), and `extra`.
async fn journal_server(journalctl: &str, journal_dir: &str, extra: &[&str]) -> Server {
    let mut args = vec![
        "--redact",
        "off",
        "--journalctl",
        journalctl,
        "--journal-dir",
        journal_dir,
    ];
    args.extend_from_slice(extra);
    Server::start(&args).await
}

fn fake_journal(dir: &Path, script_body: &str) -> (String, String) {
    let journal_dir = dir.join("journal/abc123");
    std::fs::create_dir_all(&journal_dir).unwrap();
    std::fs::write(journal_dir.join("system.journal"), "").unwrap();
    let script = dir.join("journalctl");
    std::fs::write(&script, format!("#!/bin/sh\n{script_body}\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (
        script.to_str().unwrap().to_owned(),
        dir.join("journal").to_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn journal_entries_from_journalctl_json() {
    let dir = tempfile::tempdir().unwrap();
    // The fake journalctl checks it was asked for the right PID and limit.
    let (journalctl, journal_dir) = fake_journal(
        dir.path(),
        r#"case "$*" in *"-n 101"*"_PID=4242"*) ;; *) echo "bad args: $*" >&2; exit 1;; esac
echo '{"__REALTIME_TIMESTAMP":"1700000000000000","PRIORITY":"6","MESSAGE":"started","_PID":"4242","_COMM":"app","_UID":"1000","_GID":"1000","_SYSTEMD_UNIT":"app.service"}'
echo '{"__REALTIME_TIMESTAMP":"1700000001000000","PRIORITY":"3","MESSAGE":"failed","_PID":"4242","_COMM":"app"}'"#,
    );
    let server = journal_server(&journalctl, &journal_dir, &[]).await;
    let mut ws = server.ws().await;
    let v = json(&ask(&mut ws, r#"{"type":"journal_entries","pid":4242}"#).await);
    assert_eq!(v["total_count"], 2);
    assert_eq!(v["truncated"], false);
    assert!(v["notice"].is_null(), "{v}");
    assert_eq!(v["entries"][0]["message"], "started");
    assert_eq!(v["entries"][0]["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(v["entries"][0]["unit"], "app.service");
    assert_eq!(v["entries"][1]["priority"], "Error");
    assert!(v["entries"][1]["unit"].is_null());
    let j: socktop_connector::JournalResponse = serde_json::from_value(v).unwrap();
    assert_eq!(j.entries.len(), 2);
}

#[tokio::test]
async fn journal_reads_run_one_at_a_time_with_max_journal_reads_1() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let (journalctl, journal_dir) = fake_journal(
        dir.path(),
        &format!("echo run >> {}; sleep 30", started.display()),
    );
    let server = journal_server(&journalctl, &journal_dir, &["--max-journal-reads", "1"]).await;
    let mut pending = Vec::new();
    for pid in 1..=4 {
        let mut ws = server.ws().await;
        pending.push(tokio::spawn(async move {
            json(&ask(&mut ws, &format!("get_journal_entries:{pid}")).await)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let runs = std::fs::read_to_string(&started).unwrap_or_default();
    assert_eq!(runs.lines().count(), 1, "journalctl programs at once");
    let mut busy = 0;
    for p in pending {
        let v = p.await.unwrap();
        assert_eq!(v["entries"], Value::Array(vec![]));
        if v["notice"].as_str().unwrap().contains("slot busy") {
            busy += 1;
        }
    }
    assert!(busy >= 2, "the others were told the journal was busy");
}

#[tokio::test]
async fn a_slow_journal_is_cut_off_and_stalls_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (journalctl, journal_dir) = fake_journal(dir.path(), "sleep 30");
    let server = journal_server(&journalctl, &journal_dir, &[]).await;
    let mut slow = server.ws().await;
    let mut other = server.ws().await;
    let t0 = Instant::now();
    let pending = tokio::spawn(async move { json(&ask(&mut slow, "get_journal_entries:1").await) });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(json(&ask(&mut other, "get_metrics").await)["cpu_total"].is_number());
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "metrics were not held up by the journal"
    );
    let v = pending.await.unwrap();
    assert!(
        v["notice"].as_str().unwrap().contains("did not answer"),
        "{v}"
    );
    assert_eq!(v["entries"], Value::Array(vec![]));
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
}

#[tokio::test]
async fn no_journal_or_no_journalctl_gives_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().to_str().unwrap();
    let server = Server::start(&["--redact", "off", "--journal-dir", empty]).await;
    let mut ws = server.ws().await;
    let v = json(&ask(&mut ws, "get_journal_entries:1").await);
    assert_eq!(v["entries"], Value::Array(vec![]));
    assert!(
        v["notice"].as_str().unwrap().contains("no systemd journal"),
        "{v}"
    );

    let (_, journal_dir) = fake_journal(dir.path(), "");
    let server = journal_server("/nonexistent/journalctl", &journal_dir, &[]).await;
    let mut ws = server.ws().await;
    let v = json(&ask(&mut ws, "get_journal_entries:1").await);
    assert!(
        v["notice"].as_str().unwrap().contains("not installed"),
        "{v}"
    );
}

#[tokio::test]
async fn the_real_journal_when_this_host_has_one() {
    let has_journal = ["/var/log/journal", "/run/log/journal"]
        .iter()
        .any(|d| std::fs::read_dir(d).is_ok_and(|mut e| e.next().is_some()));
    let server = Server::start(&["--redact", "off"]).await;
    let mut ws = server.ws().await;
    let v = json(&ask(&mut ws, "get_journal_entries:1").await);
    if !has_journal {
        common::skipped(
            "SKIPPED the_real_journal_when_this_host_has_one: this host keeps no systemd journal",
        );
        assert!(v["notice"].is_string(), "{v}");
        return;
    }
    // With a journal, PID 1 (init) has written entries, or the notice says why not.
    assert!(
        v["total_count"].as_u64().unwrap() > 0 || v["notice"].is_string(),
        "{v}"
    );
}

/// `cargo run --release` served every process's command line to anyone
/// who could reach port 3000: a token-less agent now withholds command
/// lines until a token is set (or `--redact off` says otherwise).
#[tokio::test]
async fn regression_a_token_less_first_run_served_every_command_line() {
    let child = Killed(
        std::process::Command::new("sleep")
            .arg("61")
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    wait_for_exec(pid, "sleep").await;
    let command = |args: &'static [&'static str]| async move {
        let server = Server::start(args).await;
        let path = format!("/api/processes/{pid}?token=first-run-token-0123");
        let (status, body) = server.http_get(&path, &[]).await;
        assert!(status == 200, "{body}");
        let body = body.split("\r\n\r\n").nth(1).unwrap().to_owned();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["process"]["command"].clone()
    };
    assert_ne!(command(&[]).await, "sleep 61", "withheld without a token");
    assert_eq!(
        command(&["--token", "first-run-token-0123"]).await,
        "sleep 61",
        "served to a token holder"
    );
    assert_eq!(command(&["--redact", "off"]).await, "sleep 61");
}

/// The drill-down's disk rates: a child that writes 8 MiB from its own
/// process between two answers about it shows them as its write rate, and
/// nothing before; it holds no GPU.
#[tokio::test]
async fn a_writing_process_in_detail_shows_its_write_rate() {
    let writer = common::DiskWriter::start();
    let server = Server::start(&[]).await;
    let mut ws = server.ws().await;
    let ask_detail = format!(r#"{{"type":"process_metrics","pid":{}}}"#, writer.pid());
    let first = json(&ask(&mut ws, &ask_detail).await);
    let p = detail(&first);
    assert!(
        p["write_bytes_per_sec"].is_null(),
        "the first answer has no window: {p}"
    );
    assert_eq!(p["gpus"], serde_json::json!([]));
    let t0 = Instant::now();
    writer.write().await;
    // Past the answer's cache, a second after the write began.
    tokio::time::sleep(Duration::from_millis(1100).saturating_sub(t0.elapsed())).await;
    let second = json(&ask(&mut ws, &ask_detail).await);
    let elapsed = t0.elapsed().as_secs_f64() + 0.2;
    let rate = detail(&second)["write_bytes_per_sec"].as_f64().unwrap();
    let want = common::DiskWriter::BYTES;
    assert!(
        rate * elapsed >= 0.95 * want && rate <= 1.05 * want,
        "{rate} B/s over about {elapsed:.2} s for {want} bytes"
    );
}
