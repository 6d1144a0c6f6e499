//! Bounds on what clients may hold or cause.

use super::*;

/// Bounds on what clients may hold or cause: every one has a default that
/// serves a fleet and a flag to change it.
#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// WebSocket sessions at once; a further upgrade is answered 503 before
    /// it upgrades (open sessions and /healthz are unaffected).
    #[arg(global = true, long, env = "SONDE_MAX_CONNECTIONS", default_value_t = 256, value_parser = parse_max_connections, help_heading = "Limits")]
    pub max_connections: usize,

    /// TCP connections one client address may hold at once (an IPv6
    /// client's whole /64 counts as one address); of them a quarter may
    /// still be sending their first request's headers. One more is closed
    /// at accept, so one address cannot take the slots every other client
    /// needs.
    #[arg(global = true, long, env = "SONDE_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 32, value_parser = parse_max_connections, help_heading = "Limits")]
    pub max_connections_per_address: usize,

    /// A WebSocket client that sends nothing this long, ms, is pinged; one
    /// that then stays silent as long again (no pong) is disconnected.
    #[arg(global = true, long, env = "SONDE_IDLE_TIMEOUT_MS", default_value_t = 300_000, value_parser = parse_timeout, help_heading = "Limits")]
    pub idle_timeout_ms: u64,

    /// A reply the client does not take within this long, ms, closes its
    /// connection (a client that stops reading is dropped, not buffered).
    #[arg(global = true, long, env = "SONDE_SEND_TIMEOUT_MS", default_value_t = 10_000, value_parser = parse_timeout, help_heading = "Limits")]
    pub send_timeout_ms: u64,

    /// How long a client may take to send a request's headers, ms
    /// (slow-header attacks); also how long an idle HTTP keep-alive lasts.
    #[arg(global = true, long, env = "SONDE_HEADER_TIMEOUT_MS", default_value_t = 10_000, value_parser = parse_timeout, help_heading = "Limits")]
    pub header_timeout_ms: u64,

    /// A network or FUSE filesystem whose size does not come back within
    /// this long, ms, is reported unavailable and skipped until it answers
    /// (a dead NFS server).
    #[arg(global = true, long, env = "SONDE_MOUNT_TIMEOUT_MS", default_value_t = 1_000, value_parser = parse_timeout, help_heading = "Limits")]
    pub mount_timeout_ms: u64,

    /// journalctl programs running at once, across all clients.
    #[arg(global = true, long, env = "SONDE_MAX_JOURNAL_READS", default_value_t = 2, value_parser = parse_workers, help_heading = "Limits")]
    pub max_journal_reads: usize,

    /// Uncached per-process reads (process_metrics) running at once,
    /// across all clients: walking every PID costs at most this many
    /// threads' time.
    #[arg(global = true, long, env = "SONDE_MAX_PROCESS_READS", default_value_t = 2, value_parser = parse_workers, help_heading = "Limits")]
    pub max_process_reads: usize,
}

impl Limits {
    /// How long a WebSocket client may stay silent before it is pinged.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// How long one reply may take to be taken by the client.
    pub fn send_timeout(&self) -> Duration {
        Duration::from_millis(self.send_timeout_ms)
    }

    /// How long a request's headers may take.
    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }

    /// How long one filesystem's statvfs may take.
    pub fn mount_timeout(&self) -> Duration {
        Duration::from_millis(self.mount_timeout_ms)
    }
}

pub(super) fn parse_timeout(v: &str) -> Result<u64, String> {
    match v.trim().parse::<u64>() {
        Ok(ms) if (1..=600_000).contains(&ms) => Ok(ms),
        _ => Err("expected milliseconds from 1 to 600000".to_owned()),
    }
}

pub(super) fn parse_max_connections(v: &str) -> Result<usize, String> {
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=65_536).contains(&n) => Ok(n),
        _ => Err("expected a number of connections from 1 to 65536".to_owned()),
    }
}

pub(super) fn parse_workers(v: &str) -> Result<usize, String> {
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=64).contains(&n) => Ok(n),
        _ => Err("expected a number from 1 to 64".to_owned()),
    }
}
