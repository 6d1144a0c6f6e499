//! The systemd unit in `packaging/`: it verifies, it is as tight as
//! documented, and sonde keeps its TLS pair in the unit's state directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

use std::path::Path;
use std::process::Command;

use common::skipped;

mod common;

const UNIT: &str = include_str!("../packaging/sonde.service");

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

/// The container image: built from the Dockerfile with this build's binary
/// (the image's configuration does not depend on which binary it carries;
/// `scripts/build-image.sh` puts the static release one in), then inspected.
#[test]
fn the_container_image_runs_unprivileged_with_a_shell_free_health_check() {
    if Command::new("podman").arg("--version").output().is_err() {
        return skipped(
            "SKIPPED the_container_image: podman is not installed (.ci/run installs it with apt-get)",
        );
    }
    let ctx = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile"),
        ctx.path().join("Dockerfile"),
    )
    .unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_sonde"), ctx.path().join("sonde")).unwrap();
    let tag = format!("localhost/sonde-test:{}", std::process::id());
    let built = Command::new("podman")
        .args([
            "build",
            "--format",
            "docker",
            "--build-arg",
            "BINARY=sonde",
            "-t",
            &tag,
        ])
        .arg(ctx.path())
        .output()
        .unwrap();
    if !built.status.success() {
        let why = String::from_utf8_lossy(&built.stderr);
        if why.contains("permission") || why.contains("newuidmap") || why.contains("kernel") {
            return skipped(&format!(
                "SKIPPED the_container_image: podman cannot build here: {why}"
            ));
        }
        panic!("podman build failed: {why}");
    }
    let inspected = Command::new("podman")
        .args(["image", "inspect", &tag])
        .output()
        .unwrap();
    let _ = Command::new("podman").args(["rmi", "-f", &tag]).output();
    assert!(inspected.status.success());
    let image: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    let image = &image[0];
    let config = &image["Config"];
    assert_eq!(config["User"], "65534:65534", "not root");
    assert_eq!(config["Entrypoint"], serde_json::json!(["/bin/sonde"]));
    assert!(config["ExposedPorts"]["3000/tcp"].is_object(), "{config}");
    assert_eq!(
        image["Healthcheck"]["Test"],
        serde_json::json!(["CMD", "/bin/sonde", "healthcheck"]),
        "a health check that needs no shell"
    );
}

/// The Debian package `scripts/build-deb.sh` built (`.ci/run` builds it
/// before the tests): its files and control fields.
#[test]
fn the_debian_package_installs_the_binary_unit_man_page_and_completions() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/target/debian"));
    let version = env!("CARGO_PKG_VERSION");
    let deb = dir.join(format!("sonde_{version}-1_amd64.deb"));
    if !deb.exists() {
        return skipped(&format!(
            "SKIPPED the_debian_package: {} not built (run scripts/build-deb.sh)",
            deb.display()
        ));
    }
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        return skipped("SKIPPED the_debian_package: dpkg-deb is not installed");
    }
    let listing = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    for file in [
        "./usr/bin/sonde",
        "./lib/systemd/system/sonde.service",
        "./usr/share/man/man1/sonde.1.gz",
        "./usr/share/bash-completion/completions/sonde",
        "./usr/share/zsh/vendor-completions/_sonde",
        "./usr/share/fish/vendor_completions.d/sonde.fish",
    ] {
        assert!(
            listing.contains(file),
            "the package lacks {file}:\n{listing}"
        );
    }
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with("./usr/bin/sonde")),
        "the binary is executable"
    );
    let field = |name: &str| {
        let out = Command::new("dpkg-deb")
            .arg("-f")
            .arg(&deb)
            .arg(name)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(field("Package"), "sonde");
    assert_eq!(field("Version"), format!("{version}-1"));
    assert_eq!(field("Architecture"), "amd64");
    assert!(field("Depends").contains("libc6"), "{}", field("Depends"));
    // Installed, not enabled: no maintainer script starts the service.
    let control = tempfile::tempdir().unwrap();
    let extracted = Command::new("dpkg-deb")
        .arg("-e")
        .arg(&deb)
        .arg(control.path().join("DEBIAN"))
        .output()
        .unwrap();
    assert!(extracted.status.success());
    for script in ["postinst", "preinst"] {
        let path = control.path().join("DEBIAN").join(script);
        if let Ok(text) = std::fs::read_to_string(&path) {
            assert!(
                !text.contains("enable"),
                "{script} enables the unit: {text}"
            );
        }
    }
}

/// `build/text-order.txt` names the functions a start runs by their
/// mangled names, whose hashes come from the package's version and
/// Cargo.lock: made for others, it orders nothing (the linker skips names
/// it cannot find) and RSS at start grows back by half (docs/performance.md,
/// "The code a start touches").
#[test]
fn the_code_order_was_made_for_this_version_and_cargo_lock() {
    use sha2::Digest;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let order = std::fs::read_to_string(root.join("build/text-order.txt")).unwrap();
    let lock = std::fs::read(root.join("Cargo.lock")).unwrap();
    let digest: String = sha2::Sha256::digest(&lock)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let made_for = format!(
        "# sonde {}; Cargo.lock sha256 {digest};",
        env!("CARGO_PKG_VERSION")
    );
    let first = order.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&made_for),
        "build/text-order.txt was made for another version or Cargo.lock \
         ({first:?}, this is {made_for:?}): run scripts/text-order.sh"
    );
    let names = order.lines().filter(|l| !l.starts_with('#')).count();
    assert!(names > 500, "build/text-order.txt names {names} functions");
}
