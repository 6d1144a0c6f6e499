//! A zoo of real processes against the real server: a zombie, a stopped
//! process, one with 1,000 threads, a name with spaces, parentheses and a
//! newline, and one whose executable was deleted while it runs. The list
//! (`/api/processes`) and the drill-down (`/api/processes/N`) must agree
//! with `/proc` for each.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use common::prom::scrape;
use common::{Killed, Server};
use serde_json::Value;

/// Run by the zoo test as a child of its own: with `SONDE_ZOO_THREADS` set
/// it holds 1,000 sleeping threads for a minute; otherwise it does nothing.
#[test]
fn zoo_thread_helper() {
    if std::env::var_os("SONDE_ZOO_THREADS").is_none() {
        return;
    }
    let threads: Vec<_> = (0..1000)
        .map(|_| std::thread::spawn(|| std::thread::sleep(Duration::from_secs(60))))
        .collect();
    println!("READY");
    drop(threads);
    std::thread::sleep(Duration::from_secs(60));
}

fn proc_field(pid: u32, file: &str, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{key}:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap()
}

/// The state letter of `/proc/PID/stat` (after the name's last `)`).
fn state_letter(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat[stat.rfind(')').unwrap() + 2..].chars().next().unwrap()
}

fn comm(pid: u32) -> String {
    let c = std::fs::read(format!("/proc/{pid}/comm")).unwrap();
    String::from_utf8_lossy(c.strip_suffix(b"\n").unwrap_or(&c)).into_owned()
}

fn spawn(cmd: &mut Command) -> Killed {
    Killed(cmd.spawn().unwrap())
}

fn copy_of_sleep(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::copy("/bin/sleep", &path).unwrap();
    path
}

async fn api(server: &Server, path: &str) -> Value {
    let (status, body) = scrape(server.addr, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The zombie child of `parent`, once it has exited.
fn zombie_of(parent: u32) -> u32 {
    for _ in 0..100 {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let rest: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
            if rest[1] == parent.to_string() && rest[0] == "Z" {
                return pid;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no zombie child of {parent}");
}

#[tokio::test]
async fn the_process_zoo_agrees_with_proc() {
    let dir = tempfile::tempdir().unwrap();
    // A zombie: the shell forks `true`, then becomes `sleep`, which never
    // reaps it.
    let parent = spawn(Command::new("sh").args(["-c", "true & exec sleep 60"]));
    let zombie = zombie_of(parent.0.id());
    // A stopped process.
    let stopped = spawn(Command::new("sleep").arg("60"));
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(stopped.0.id() as i32).unwrap(),
        rustix::process::Signal::STOP,
    )
    .unwrap();
    // A name with spaces, parentheses and a newline.
    let weird = spawn(Command::new(copy_of_sleep(dir.path(), "a (b) c\nd")).arg("60"));
    // An executable deleted while it runs.
    let doomed = copy_of_sleep(dir.path(), "vanishing");
    let deleted = spawn(Command::new(&doomed).arg("60"));
    std::fs::remove_file(&doomed).unwrap();
    // 1,000 threads.
    let mut threaded: Child = Command::new(std::env::current_exe().unwrap())
        .args([
            "zoo_thread_helper",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SONDE_ZOO_THREADS", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ready = std::io::BufRead::lines(std::io::BufReader::new(threaded.stdout.take().unwrap()))
        .map_while(Result::ok)
        .any(|l| l.contains("READY"));
    assert!(ready);
    let threaded = Killed(threaded);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let server = Server::start(&["--redact", "off", "--processes-ttl-ms", "0"]).await;
    let list = api(&server, "/api/processes").await;
    let listed = |pid: u32| -> Value {
        list["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"] == pid)
            .cloned()
            .unwrap_or_else(|| panic!("{pid} not in the list"))
    };
    let zoo = [
        ("zombie", zombie, "Zombie"),
        ("stopped", stopped.0.id(), "Stopped"),
        ("weird name", weird.0.id(), "Sleeping"),
        ("deleted executable", deleted.0.id(), "Sleeping"),
        ("1,000 threads", threaded.0.id(), "Sleeping"),
    ];
    for (what, pid, status) in zoo {
        let letter = state_letter(pid);
        assert_eq!(
            listed(pid)["name"],
            comm(pid),
            "{what}: the list's name is /proc's comm"
        );
        let detail = api(&server, &format!("/api/processes/{pid}")).await;
        let p = &detail["process"];
        assert_eq!(p["name"], comm(pid), "{what}: {p}");
        assert_eq!(p["status"], status, "{what} ({letter} in /proc): {p}");
        if letter != 'Z' {
            let threads: u64 = proc_field(pid, "status", "Threads").parse().unwrap();
            assert_eq!(p["thread_count"], threads, "{what}: {p}");
        }
    }
    assert!(
        comm(weird.0.id()).contains('\n'),
        "the name keeps its newline"
    );
    let threads = api(&server, &format!("/api/processes/{}", threaded.0.id())).await;
    assert!(
        threads["process"]["thread_count"].as_u64().unwrap() >= 1000,
        "{threads}"
    );
    let gone = api(&server, &format!("/api/processes/{}", deleted.0.id())).await;
    let exe = std::fs::read_link(format!("/proc/{}/exe", deleted.0.id())).unwrap();
    assert!(exe.to_string_lossy().ends_with(" (deleted)"));
    assert_eq!(
        gone["process"]["executable_path"],
        exe.to_string_lossy().as_ref(),
        "{gone}"
    );
    drop(parent);
}

/// Processes that exec and exit while sonde scans: a process re-exec'ing
/// itself under new names and a shell forking short-lived children. Every
/// list and every drill-down answers (200 or, for a process gone, 404),
/// never an error, and no listed name is empty.
#[tokio::test]
async fn processes_execing_and_exiting_mid_scan_never_break_a_reply() {
    let churn = Killed(
        Command::new("bash")
            .args(["-c", "for i in $(seq 100000); do /bin/true; done"])
            .spawn()
            .unwrap(),
    );
    // Each step execs the next program: bash → sh → sleep → …, the name
    // changing under the scan.
    let execer = Killed(
        Command::new("bash")
            .args([
                "-c",
                "for i in $(seq 20000); do bash -c 'exec sh -c \"exec /bin/true\"'; done",
            ])
            .spawn()
            .unwrap(),
    );
    let server = Server::start(&["--redact", "off", "--processes-ttl-ms", "0"]).await;
    for _ in 0..30 {
        let list = api(&server, "/api/processes").await;
        let processes = list["processes"].as_array().unwrap();
        assert!(!processes.is_empty());
        for p in processes {
            assert!(
                p["name"].as_str().is_some_and(|n| !n.is_empty()),
                "a listed process without a name: {p}"
            );
        }
        // Drill into the newest ones: likely gone by now.
        let mut pids: Vec<u64> = processes
            .iter()
            .map(|p| p["pid"].as_u64().unwrap())
            .collect();
        pids.sort_unstable();
        for pid in pids.iter().rev().take(3) {
            let (status, body) = scrape(server.addr, &format!("/api/processes/{pid}")).await;
            assert!(status == 200 || status == 404, "{pid}: {status} {body}");
        }
    }
    drop((churn, execer));
}
