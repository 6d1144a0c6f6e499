//! The binary's command line: bad values stop startup naming the option;
//! SIGTERM shuts down cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Killed, listening, sonde};

mod common;

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
    fails_with(sonde().args(["--history", "15x"]), "--history");
    fails_with(
        sonde().env("SONDE_HISTORY_MAX_MIB", "0"),
        "--history-max-mib",
    );
    fails_with(
        sonde().args(["--history-always", "sometimes"]),
        "--history-always",
    );
    fails_with(sonde().args(["--log", "info,[[["]), "--log");
    fails_with(sonde().args(["--frobnicate"]), "--frobnicate");
    fails_with(
        sonde().args(["--max-connections", "0"]),
        "--max-connections",
    );
    fails_with(
        sonde().env("SONDE_IDLE_TIMEOUT_MS", "never"),
        "--idle-timeout-ms",
    );
    fails_with(
        sonde().args(["--max-journal-reads", "1000"]),
        "--max-journal-reads",
    );
    fails_with(
        sonde().env("SONDE_ALLOWED_HOSTS", "ok.lan,bad name"),
        "--allowed-host",
    );
    fails_with(sonde().args(["--allowed-host", "*."]), "--allowed-host");
    fails_with(sonde().env("SONDE_REDACT", "maybe"), "--redact");
    fails_with(
        sonde().args(["--collector", "meminfo,bogus"]),
        "--collector",
    );
    fails_with(
        sonde().env("SONDE_NO_COLLECTORS", "hwmonn"),
        "--no-collector",
    );
    fails_with(
        sonde().args(["--netstat-fields", "^(Tcp"]),
        "--netstat-fields",
    );
    fails_with(
        sonde().env("SONDE_COLLECTORS_DEFAULT", "some"),
        "--collectors-default",
    );
}

#[test]
fn turning_the_host_check_off_is_warned_about_at_startup() {
    let mut cmd = sonde();
    cmd.args(["--port", "0", "--bind", "127.0.0.1", "--allowed-host", "*"])
        .stderr(Stdio::piped());
    let mut child = Killed(cmd.spawn().unwrap());
    let lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let warned = lines
        .map_while(Result::ok)
        .take(14)
        .find(|l| l.contains("WARN") && l.contains("DNS-rebinding"));
    assert!(warned.is_some(), "no warning about --allowed-host '*'");
}

#[test]
fn a_short_token_is_warned_about_at_startup() {
    let mut cmd = sonde();
    cmd.args(["--port", "0", "--bind", "127.0.0.1", "--token", "hunter2"])
        .stderr(Stdio::piped());
    let mut child = Killed(cmd.spawn().unwrap());
    let lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let warned = lines
        .map_while(Result::ok)
        .take(14)
        .find(|l| l.contains("WARN") && l.contains("7 characters"));
    assert!(warned.is_some(), "no warning about a 7-character token");
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
    assert!(listening.contains("listening on 127.0.0.1:"), "{listening}");
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

/// The README's configuration table rows, as (flag, environment, socktop
/// name) cells with the backticks removed.
fn readme_config_rows() -> Vec<[String; 3]> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## Configuration")
        .nth(1)
        .expect("README has a Configuration section");
    section
        .lines()
        .skip_while(|l| !l.starts_with("| flag"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<String> = l
                .split('|')
                .skip(1)
                .map(|c| c.trim().replace('`', ""))
                .collect();
            [cells[0].clone(), cells[1].clone(), cells[2].clone()]
        })
        .collect()
}

#[test]
fn the_readme_configuration_table_lists_the_socktop_names_of_the_alias_table() {
    let rows = readme_config_rows();
    assert!(rows.len() > 10, "parsed {} rows", rows.len());
    for alias in sonde::config::ALIASES {
        let row = rows
            .iter()
            .find(|r| {
                r[0].split(", ")
                    .any(|f| f.split(' ').next() == Some(alias.flag))
            })
            .unwrap_or_else(|| panic!("no README row for {}", alias.flag));
        assert!(row[1].contains(alias.sonde_env), "{row:?}");
        assert_eq!(row[2], alias.socktop_shown, "{row:?}");
    }
    let listed: Vec<&str> = rows
        .iter()
        .map(|r| r[2].as_str())
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        listed.len(),
        sonde::config::ALIASES.len(),
        "the README names a socktop variable the alias table lacks: {listed:?}"
    );
    let help = succeeds(sonde().arg("--help"));
    for alias in sonde::config::ALIASES {
        assert!(
            help.contains(alias.socktop_shown),
            "--help lacks {}",
            alias.socktop_env
        );
    }
}

#[test]
fn out_of_descriptors_is_logged_at_warn_and_the_server_recovers() {
    use std::os::unix::process::CommandExt;
    const LIMIT: u64 = 48;
    let mut cmd = sonde();
    // The flood comes from one address: its share is lifted so that the
    // descriptors run out first.
    cmd.args(["--port", "0", "--bind", "127.0.0.1", "--log", "info"])
        .args(["--max-connections-per-address", "65536"])
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is a single system call, safe between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = rustix::process::Rlimit {
                current: Some(LIMIT),
                maximum: Some(LIMIT),
            };
            rustix::process::setrlimit(rustix::process::Resource::Nofile, limit)
                .map_err(std::io::Error::from)
        });
    }
    let mut child = Killed(cmd.spawn().unwrap());
    let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let listening = lines.next().unwrap().unwrap();
    let addr: std::net::SocketAddr = listening
        .split_once("listening on ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {listening:?}"));
    // More connections than the server has descriptors for.
    let flood: Vec<_> = (0..2 * LIMIT)
        .filter_map(|_| std::net::TcpStream::connect(addr).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    drop(flood);
    let t0 = Instant::now();
    loop {
        let answered = std::net::TcpStream::connect(addr).ok().and_then(|mut s| {
            use std::io::{Read, Write};
            s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .ok()?;
            let mut out = String::new();
            s.read_to_string(&mut out).ok()?;
            Some(out.starts_with("HTTP/1.1 200"))
        });
        if answered == Some(true) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "never recovered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = rustix::process::Pid::from_raw(child.0.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let log: Vec<String> = lines.map_while(Result::ok).collect();
    child.0.wait().unwrap();
    let warned = log.iter().filter(|l| l.contains("accept failed")).count();
    assert!(
        (1..=4).contains(&warned),
        "{warned} accept warnings (one per run of failures, not one per try): {log:#?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("WARN") && l.contains("accept failed"))
    );
}

#[test]
fn check_summarises_this_host_and_fails_on_a_broken_source() {
    let text = succeeds(sonde().arg("check"));
    for line in [
        "CPU ",
        "memory ",
        "processes ",
        "disks ",
        "GPUs ",
        "CPU sensor ",
        "sensors ",
        "power ",
        "cpu_frequency ",
        "arrays ",
        "journal ",
        "disk_io ",
        "interfaces ",
        "pressure ",
        "sockets ",
        "node.meminfo ",
        "node.netstat ",
        "node.hwmon ",
        "node.zfs ",
        "errors ",
    ] {
        assert!(text.contains(line), "no {line:?} line in:\n{text}");
    }
    let out = sonde()
        .args(["--proc-root", "/nonexistent-proc", "check"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a missing /proc is a broken source");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("errors "), "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn healthcheck_answers_for_a_running_server_and_fails_without_one() {
    let idle = common::free_port().to_string();
    let out = sonde()
        .args(["--port", &idle, "healthcheck"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "nothing listens yet");
    assert!(String::from_utf8_lossy(&out.stderr).contains("/healthz"));
    let (_server, port) = listening(&[]);
    succeeds(sonde().args(["--port", &port, "healthcheck"]));
}

#[test]
fn healthcheck_over_tls_completes_a_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let tls = ["--tls", "--tls-dir", dir.path().to_str().unwrap()];
    let idle = common::free_port().to_string();
    let out = sonde()
        .args(tls)
        .args(["--port", &idle, "healthcheck"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "nothing listens yet");
    assert!(String::from_utf8_lossy(&out.stderr).contains("https://127.0.0.1:"));
    let (_server, port) = listening(&tls);
    succeeds(sonde().args(tls).args(["--port", &port, "healthcheck"]));
}

#[test]
fn completions_man_page_and_version() {
    let bash = succeeds(sonde().args(["completions", "bash"]));
    assert!(bash.contains("_sonde") && bash.contains("--metrics-ttl-ms"));
    for shell in ["zsh", "fish"] {
        assert!(succeeds(sonde().args(["completions", shell])).contains("sonde"));
    }
    let man = succeeds(sonde().arg("man"));
    assert!(
        man.contains(".TH sonde 1") && man.contains("SOCKTOP_AGENT_GPU"),
        "{}",
        &man[..200.min(man.len())]
    );
    // It pointed at sonde-tls(1) pages that are not installed, and named
    // no SONDE_* variable.
    assert!(!man.contains("(1)"), "no pages it does not ship");
    for needed in [
        "sonde tls show|rotate",
        "SONDE_TOKEN",
        "SONDE_REDACT",
        "SONDE_TLS_DIR",
    ] {
        assert!(man.contains(needed), "{needed} in the man page");
    }
    let version = succeeds(sonde().arg("--version"));
    assert!(
        version.starts_with(&format!("sonde {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
}

/// The startup log named only the `ws://` URL: a newcomer was not told
/// where the page, `/api` and `/metrics` are.
#[test]
fn regression_the_startup_log_named_only_the_websocket_url() {
    let mut cmd = sonde();
    cmd.args(["--port", "0", "--bind", "127.0.0.1"])
        .stderr(Stdio::piped());
    let mut child = Killed(cmd.spawn().unwrap());
    let lines: Vec<String> = BufReader::new(child.0.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .take(6)
        .collect();
    let port = lines[0]
        .split("listening on 127.0.0.1:")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>();
    let text = lines.join("\n");
    for url in [
        "ws://{}/ws",
        "http://{}/",
        "http://{}/api",
        "http://{}/metrics",
        "http://{}/api/4/all",
    ] {
        let url = url.replace("{}", &format!("127.0.0.1:{port}"));
        assert!(text.contains(&url), "{url} not in:\n{text}");
    }
}

/// `sonde healthcheck --tls` and `sonde tls show --tls-dir X` were
/// refused ("unexpected argument"): only flags before the subcommand were
/// read.
#[test]
fn regression_flags_after_the_subcommand_were_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().to_str().unwrap();
    succeeds(sonde().args(["tls", "rotate", "--tls-dir", tls_dir]));
    let shown = succeeds(sonde().args(["tls", "show", "--tls-dir", tls_dir]));
    assert!(shown.contains("SHA-256:"), "{shown}");
    let tls = ["--tls", "--tls-dir", tls_dir];
    let (_server, port) = listening(&tls);
    succeeds(sonde().args(["healthcheck", "--port", &port]).args(tls));
    let out = sonde()
        .args(["check", "--proc-root", "/nonexistent-proc"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("unexpected argument"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// With `RUST_BACKTRACE=1` set, every operator's mistake printed a stack
/// backtrace after its one line.
#[test]
fn regression_a_user_error_printed_a_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let out = sonde()
        .env("RUST_BACKTRACE", "1")
        .args(["tls", "show", "--tls-dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("sonde: no certificate at "), "{err}");
    assert!(!err.contains("backtrace"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// `sonde tls rotate` on a running agent wrote a new pair that `tls show`
/// printed, while the server kept serving the old one until restarted:
/// re-pinning then broke every client.
#[test]
fn regression_a_rotated_certificate_was_not_served_until_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().to_str().unwrap();
    let tls = ["--tls", "--tls-dir", tls_dir];
    let (_server, port) = listening(&tls);
    let served = || common::served_fingerprint(&format!("127.0.0.1:{port}"));
    let fingerprint = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("SHA-256:"))
            .unwrap()
            .trim()
            .to_owned()
    };
    let before = fingerprint(&succeeds(sonde().args(["tls", "show"]).args(tls)));
    assert_eq!(served(), before);
    let rotated = fingerprint(&succeeds(sonde().args(["tls", "rotate"]).args(tls)));
    assert_ne!(rotated, before);
    let t0 = Instant::now();
    while served() != rotated {
        assert!(
            t0.elapsed() < Duration::from_secs(6),
            "still serving the old certificate"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
