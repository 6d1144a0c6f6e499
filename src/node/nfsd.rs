//! `nfsd`: the NFS server's counters (`/proc/net/rpc/nfsd`).

use super::nfs::{V2, V3, line, parse_lines, procedures};
use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "nfsd",
    read: Read::Files(read),
};

/// The NFSv4 operations node_exporter serves, with their column in the
/// `proc4ops` line.
const V4_OPS: &[(&str, usize)] = &[
    ("Access", 4),
    ("Close", 5),
    ("Commit", 6),
    ("Create", 7),
    ("DelegPurge", 8),
    ("DelegReturn", 9),
    ("GetAttr", 10),
    ("GetFH", 11),
    ("Link", 12),
    ("Lock", 13),
    ("Lockt", 14),
    ("Locku", 15),
    ("Lookup", 16),
    ("LookupRoot", 17),
    ("Nverify", 18),
    ("Open", 19),
    ("OpenAttr", 20),
    ("OpenConfirm", 21),
    ("OpenDgrd", 22),
    ("PutFH", 23),
    ("Read", 26),
    ("ReadDir", 27),
    ("ReadLink", 28),
    ("Remove", 29),
    ("Rename", 30),
    ("Renew", 31),
    ("RestoreFH", 32),
    ("SaveFH", 33),
    ("SecInfo", 34),
    ("SetAttr", 35),
    ("SetClientID", 36),
    ("SetClientIDConfirm", 37),
    ("Verify", 38),
    ("Write", 39),
    ("RelLockOwner", 40),
];

/// Plain counters: series, help, line, column.
const COUNTERS: &[(&str, &str, &str, usize)] = &[
    (
        "node_nfsd_connections_total",
        "Total number of NFSd TCP connections.",
        "net",
        3,
    ),
    (
        "node_nfsd_disk_bytes_read_total",
        "Total NFSd bytes read.",
        "io",
        0,
    ),
    (
        "node_nfsd_disk_bytes_written_total",
        "Total NFSd bytes written.",
        "io",
        1,
    ),
    (
        "node_nfsd_file_handles_stale_total",
        "Total number of NFSd stale file handles",
        "fh",
        0,
    ),
    (
        "node_nfsd_read_ahead_cache_not_found_total",
        "Total number of NFSd read ahead cache not found.",
        "ra",
        11,
    ),
    (
        "node_nfsd_reply_cache_hits_total",
        "Total number of NFSd Reply Cache hits (client lost server response).",
        "rc",
        0,
    ),
    (
        "node_nfsd_reply_cache_misses_total",
        "Total number of NFSd Reply Cache an operation that requires caching (idempotent).",
        "rc",
        1,
    ),
    (
        "node_nfsd_reply_cache_nocache_total",
        "Total number of NFSd Reply Cache non-idempotent operations (rename/delete/…).",
        "rc",
        2,
    ),
    (
        "node_nfsd_server_rpcs_total",
        "Total number of NFSd RPCs.",
        "rpc",
        0,
    ),
];

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let Some(text) = src.read_optional(&src.roots.proc.join("net/rpc/nfsd"))? else {
        return Ok(None);
    };
    let lines = parse_lines(&text, "/proc/net/rpc/nfsd")?;
    let at = |key: &str, i: usize| line(&lines, key).get(i).copied().unwrap_or(0.0);
    let mut f = Families::default();
    for (name, help, key, i) in COUNTERS {
        f.counter(*name, *help, at(key, *i));
    }
    f.counter_family(
        "node_nfsd_packets_total",
        "Total NFSd network packets (sent+received) by protocol type.",
    )
    .push([("proto", "udp")], at("net", 1))
    .push([("proto", "tcp")], at("net", 2));
    f.gauge(
        "node_nfsd_read_ahead_cache_size_blocks",
        "How large the read ahead cache is in blocks.",
        at("ra", 0),
    );
    f.counter_family(
        "node_nfsd_rpc_errors_total",
        "Total number of NFSd RPC errors by error type.",
    )
    .push([("error", "fmt")], at("rpc", 2))
    .push([("error", "auth")], at("rpc", 3))
    .push([("error", "cInt")], at("rpc", 4));
    f.gauge(
        "node_nfsd_server_threads",
        "Total number of NFSd kernel threads that are running.",
        at("th", 0),
    );
    let requests = f.counter_family(
        "node_nfsd_requests_total",
        "Total number NFSd Requests by method and protocol.",
    );
    for (proto, key, names) in [("2", "proc2", V2), ("3", "proc3", V3)] {
        for (method, n) in procedures(line(&lines, key), names).skip(1) {
            requests.push([("proto", proto), ("method", method)], n);
        }
    }
    for (method, i) in V4_OPS {
        requests.push([("proto", "4"), ("method", *method)], at("proc4ops", *i));
    }
    requests.push(
        [("proto", "4"), ("method", "WdelegGetattr")],
        at("wdeleg_getattr", 0),
    );
    Ok(Some(f))
}
