//! The binary's command line: bad values stop startup naming the option;
//! SIGTERM shuts down cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

fn sonde() -> Command {
    let mut cmd = Command::cargo_bin("sonde").unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("SONDE_") || k.starts_with("SOCKTOP_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Runs `cmd`, asserts it succeeded, returns its stdout.
fn succeeds(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails_with(cmd: &mut Command, needle: &str) {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "should fail: {cmd:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
}

#[test]
fn bad_flags_and_env_values_name_the_option() {
    fails_with(sonde().args(["--port", "abc"]), "--port");
    fails_with(sonde().args(["-p", "70000"]), "--port");
    fails_with(
        sonde().env("SOCKTOP_AGENT_METRICS_TTL_MS", "-5"),
        "SOCKTOP_AGENT_METRICS_TTL_MS",
    );
    fails_with(sonde().env("SOCKTOP_PORT", "http"), "SOCKTOP_PORT");
    fails_with(
        sonde().env("SONDE_PROCESSES_TTL_MS", "soon"),
        "--processes-ttl-ms",
    );
    fails_with(
        sonde().env("SOCKTOP_AGENT_TEMP", "maybe"),
        "SOCKTOP_AGENT_TEMP",
    );
    fails_with(sonde().args(["--bind", "nowhere"]), "--bind");
    fails_with(sonde().args(["--log", "info,[[["]), "--log");
    fails_with(sonde().args(["--frobnicate"]), "--frobnicate");
}

#[test]
fn help_lists_every_option_with_both_names() {
    let help = succeeds(sonde().arg("--help"));
    for name in [
        "--port",
        "SONDE_PORT",
        "SOCKTOP_PORT",
        "--bind",
        "--token",
        "SONDE_TOKEN",
        "SOCKTOP_TOKEN",
        "--metrics-ttl-ms",
        "SOCKTOP_AGENT_METRICS_TTL_MS",
        "SOCKTOP_AGENT_PROCESSES_TTL_MS",
        "SOCKTOP_AGENT_DISKS_TTL_MS",
        "--gpu",
        "SOCKTOP_AGENT_GPU",
        "--temp",
        "SOCKTOP_AGENT_TEMP",
        "--log",
    ] {
        assert!(help.contains(name), "--help lacks {name}");
    }
}

#[test]
fn sigterm_exits_zero_within_a_second() {
    let mut child = sonde()
        .args(["--port", "0", "--bind", "127.0.0.1", "--log", "info"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = lines.next().unwrap().unwrap();
    assert!(
        listening.contains("listening on ws://127.0.0.1:"),
        "{listening}"
    );
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    let t0 = Instant::now();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "still running after 1 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_busy_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    fails_with(
        sonde().args(["--bind", "127.0.0.1", "--port", &port]),
        "cannot listen on 127.0.0.1:",
    );
}

#[test]
fn a_corrupt_key_stops_startup_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().to_str().unwrap();
    succeeds(sonde().args(["--tls-dir", tls_dir, "tls", "rotate"]));
    std::fs::write(dir.path().join("key.pem"), "garbage").unwrap();
    fails_with(
        sonde().args([
            "--tls",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--tls-dir",
            tls_dir,
        ]),
        &dir.path().join("key.pem").display().to_string(),
    );
}

#[test]
fn tls_show_and_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().to_str().unwrap();
    fails_with(
        sonde().args(["--tls-dir", tls_dir, "tls", "show"]),
        "no certificate",
    );
    let run = |args: &[&str]| succeeds(sonde().args(["--tls-dir", tls_dir]).args(args));
    let rotated = run(&["tls", "rotate"]);
    let shown = run(&["tls", "show"]);
    assert_eq!(rotated, shown);
    assert!(
        shown.contains("SHA-256:") && shown.contains("localhost") && shown.contains("expires:")
    );
    let fingerprint = shown
        .lines()
        .find(|l| l.starts_with("SHA-256:"))
        .unwrap()
        .to_owned();
    let pem = run(&["tls", "show", "--pem"]);
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(
        pem,
        std::fs::read_to_string(dir.path().join("cert.pem")).unwrap()
    );
    let again = run(&["tls", "rotate"]);
    assert!(!again.contains(&fingerprint), "rotate makes a new pair");
}
