//! sonde: a small, fast, on-demand host metrics server speaking the socktop
//! agent's WebSocket protocol.
//!
//! # Layout
//!
//! Data flows one way: socket frame → [`protocol`] (parse) → [`state`]
//! (cache) → [`collect`] (read the host) → encoded bytes → socket.
//!
//! - [`config`]: flags and environment (with the socktop names), parsed once.
//! - [`protocol`]: request parsing, the 768-byte gzip rule, error replies.
//! - [`model`]: the reply types as they go on the wire, and the protobuf.
//! - [`cache`]: the one generic single-flight TTL cache.
//! - [`state`]: the collectors and caches of one server; no statics.
//! - [`server`]: the router, the WebSocket loop, auth, shutdown.
//! - [`collect`]: one module per source (`cpu`, `memory`, `network`,
//!   `disks`, `processes`, `temperature`, `system`, `host`).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cache;
pub mod collect;
pub mod config;
pub mod model;
pub mod protocol;
pub mod server;
pub mod state;

/// sonde's version, as reported by `/healthz` and the host reply.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Raises the soft open-file limit to the hard limit, so the process sampler
/// can keep one descriptor per process (it stays within what it finds).
pub fn raise_fd_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!(error = %e, "could not raise RLIMIT_NOFILE");
        }
    }
}
