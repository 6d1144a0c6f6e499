//! Compiles `proto/*.proto` with prost-build, using the protoc binary vendored by
//! `protoc-bin-vendored` so a fresh machine needs nothing installed by hand.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    long_version();
    text_order();
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

/// The order of the binary's code: `build/text-order.txt` (made by
/// `scripts/text-order.sh`) names the functions a start and the common
/// requests run, and rust-lld puts them together at the front of the text.
/// Spread across all of it, a start maps most of the binary's code, since
/// the kernel maps whole page-cache folios on a fault
/// (docs/performance.md, "The code a start touches").
///
/// Only where the linker is rust-lld, rustc's own for x86_64 Linux since
/// 1.90: GNU ld has no ordering file, and a linker chosen by hand keeps
/// its own layout. Names the file does not find (another toolchain, a
/// changed Cargo.lock) are skipped without a word: the layout is then
/// the usual one, never a failed link. `SONDE_TEXT_MAP` (the script's)
/// asks for a link map beside it.
fn text_order() {
    let var = |key: &str| std::env::var(key).unwrap_or_default();
    let file = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("build/text-order.txt");
    // Only where it exists: a missing path makes cargo rerun every build.
    if !file.exists() {
        return;
    }
    println!("cargo:rerun-if-changed={}", file.display());
    println!("cargo:rerun-if-env-changed=SONDE_TEXT_MAP");
    let chosen_linker = std::env::var_os("RUSTC_LINKER").is_some()
        || ["linker", "fuse-ld", "link-self-contained"]
            .iter()
            .any(|flag| var("CARGO_ENCODED_RUSTFLAGS").contains(flag));
    if var("PROFILE") != "release"
        || var("TARGET") != "x86_64-unknown-linux-gnu"
        || chosen_linker
        || !rustc_links_with_lld(&var("RUSTC"))
    {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        file.display()
    );
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    let map = var("SONDE_TEXT_MAP");
    if !map.is_empty() {
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map}");
    }
}

/// Whether this rustc is 1.90 or later, which links x86_64 Linux programs
/// with its own rust-lld.
fn rustc_links_with_lld(rustc: &str) -> bool {
    let Ok(out) = std::process::Command::new(if rustc.is_empty() { "rustc" } else { rustc })
        .arg("--version")
        .output()
    else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split(['.', '-'])
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}
