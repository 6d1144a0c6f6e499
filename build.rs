//! Compiles `proto/*.proto` with prost-build, using the protoc binary vendored by
//! `protoc-bin-vendored` so a fresh machine needs nothing installed by hand.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    prost_build::Config::new()
        .protoc_executable(protoc)
        .compile_protos(&["proto/processes.proto"], &["proto"])?;
    Ok(())
}
