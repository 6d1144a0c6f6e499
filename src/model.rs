//! The generated protobuf types (`proto/processes.proto`, package
//! `socktop`). The JSON reply types live with their kinds (`crate::kinds`).

/// The generated protobuf types.
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/socktop.rs"));
}
