//! The systemd unit in `packaging/`: it verifies, it is as tight as
//! documented, and sonde keeps its TLS pair in the unit's state directory.

use std::path::Path;
use std::process::Command;

const UNIT: &str = include_str!("../packaging/sonde.service");

/// Says that a test skipped part of itself, on the real stderr.
fn skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{why}");
}

/// The unit with `ExecStart` pointing at the binary this test built.
fn unit_for_this_build(dir: &Path) -> std::path::PathBuf {
    let unit = UNIT.replace(
        "ExecStart=/usr/bin/sonde",
        &format!("ExecStart={}", env!("CARGO_BIN_EXE_sonde")),
    );
    let path = dir.join("sonde.service");
    std::fs::write(&path, unit).unwrap();
    path
}

#[test]
fn the_unit_has_the_documented_sandbox() {
    for line in [
        "DynamicUser=yes",
        "StateDirectory=sonde",
        "ProtectSystem=strict",
        "ProtectHome=read-only",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "Restart=on-failure",
        "EnvironmentFile=-/etc/sonde/sonde.env",
        "ExecStart=/usr/bin/sonde\n",
    ] {
        assert!(UNIT.contains(line), "the unit lacks {line:?}");
    }
    assert!(!UNIT.contains("WantedBy=default"), "a system service");
}

#[test]
fn systemd_analyze_verifies_the_unit_and_rates_it_ok() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        return skipped(
            "SKIPPED systemd_analyze_verifies_the_unit: systemd-analyze is not installed",
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path());
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "systemd-analyze verify: {said}");
    assert!(
        !said.contains(unit.to_str().unwrap()),
        "warnings about the unit: {said}"
    );
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(&unit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(level) = text.lines().find(|l| l.contains("Overall exposure level")) else {
        return skipped("SKIPPED the exposure check: this systemd-analyze has no offline security");
    };
    let score: f32 = level
        .split(':')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no score in {level:?}"));
    assert!(score <= 2.0, "exposure {score}: {level}");
}

#[test]
fn the_tls_pair_lives_in_the_state_directory_under_systemd() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["tls", "rotate"])
        .env_remove("SONDE_TLS_DIR")
        .env("STATE_DIRECTORY", &state)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(state.join("tls/cert.pem").exists() && state.join("tls/key.pem").exists());
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        shown.contains(state.join("tls/cert.pem").to_str().unwrap()),
        "{shown}"
    );
}
