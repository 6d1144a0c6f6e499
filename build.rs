//! Compiles `proto/*.proto` with prost-build, using the protoc binary vendored by
//! `protoc-bin-vendored` so a fresh machine needs nothing installed by hand.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    long_version();
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    prost_build::Config::new()
        .protoc_executable(protoc)
        .compile_protos(&["proto/processes.proto"], &["proto"])?;
    Ok(())
}

/// `SONDE_LONG_VERSION`: the package version, with the short commit when
/// built from a git checkout (and `-dirty` for uncommitted changes).
fn long_version() {
    // Only where they exist: a missing path makes cargo rerun every build.
    for path in [".git/HEAD", ".git/index"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let long = match git(&["rev-parse", "--short=10", "HEAD"]) {
        Some(commit) if !commit.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            format!("{version} ({commit}{})", if dirty { "-dirty" } else { "" })
        }
        _ => version,
    };
    println!("cargo:rustc-env=SONDE_LONG_VERSION={long}");
}
