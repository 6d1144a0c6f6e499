//! `nfs`: the NFS client's RPC counters (`/proc/net/rpc/nfs`).

use super::{Families, NodeCollector, Read, Source};
use crate::collect::{CollectError, ParseError};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "nfs",
    read: Read::Files(read),
};

/// NFSv2 procedures, in the order of the `proc2` line.
pub const V2: &[&str] = &[
    "Null", "GetAttr", "SetAttr", "Root", "Lookup", "ReadLink", "Read", "WrCache", "Write",
    "Create", "Remove", "Rename", "Link", "SymLink", "MkDir", "RmDir", "ReadDir", "FsStat",
];

/// NFSv3 procedures, in the order of the `proc3` line.
pub const V3: &[&str] = &[
    "Null",
    "GetAttr",
    "SetAttr",
    "Lookup",
    "Access",
    "ReadLink",
    "Read",
    "Write",
    "Create",
    "MkDir",
    "SymLink",
    "MkNod",
    "Remove",
    "RmDir",
    "Rename",
    "Link",
    "ReadDir",
    "ReadDirPlus",
    "FsStat",
    "FsInfo",
    "PathConf",
    "Commit",
];

/// NFSv4 client operations, in the order of the `proc4` line.
const V4: &[&str] = &[
    "Null",
    "Read",
    "Write",
    "Commit",
    "Open",
    "OpenConfirm",
    "OpenNoattr",
    "OpenDowngrade",
    "Close",
    "Setattr",
    "FsInfo",
    "Renew",
    "SetClientID",
    "SetClientIDConfirm",
    "Lock",
    "Lockt",
    "Locku",
    "Access",
    "Getattr",
    "Lookup",
    "LookupRoot",
    "Remove",
    "Rename",
    "Link",
    "Symlink",
    "Create",
    "Pathconf",
    "StatFs",
    "ReadLink",
    "ReadDir",
    "ServerCaps",
    "DelegReturn",
    "GetACL",
    "SetACL",
    "FsLocations",
    "ReleaseLockowner",
    "Secinfo",
    "FsidPresent",
    "ExchangeID",
    "CreateSession",
    "DestroySession",
    "Sequence",
    "GetLeaseTime",
    "ReclaimComplete",
    "GetDeviceInfo",
    "LayoutGet",
    "LayoutCommit",
    "LayoutReturn",
    "SecinfoNoName",
    "TestStateID",
    "FreeStateID",
    "GetDeviceList",
    "BindConnToSession",
    "DestroyClientID",
    "Seek",
    "Allocate",
    "DeAllocate",
    "LayoutStats",
    "Clone",
];

/// An RPC statistics file's lines: key and numbers (`th`, whose later
/// fields are decimals, keeps its first two).
pub fn parse_lines(text: &str, file: &'static str) -> Result<Vec<(String, Vec<f64>)>, ParseError> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut parts = line.split_whitespace();
            let key = parts.next().unwrap_or_default();
            let take = if key == "th" { 2 } else { usize::MAX };
            let values = parts
                .take(take)
                .map(|v| v.parse::<u64>().map(|n| n as f64))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| ParseError::new(file, format!("not a counter line: {line:?}")))?;
            if values.is_empty() {
                return Err(ParseError::new(file, format!("no values: {line:?}")));
            }
            Ok((key.to_owned(), values))
        })
        .collect()
}

/// A line's values (none where the line is missing).
pub fn line<'a>(lines: &'a [(String, Vec<f64>)], key: &str) -> &'a [f64] {
    lines.iter().find(|(k, _)| k == key).map_or(&[], |(_, v)| v)
}

/// A `procN` line's counts by procedure: its first number is how many
/// follow; missing procedures (older kernels) count 0.
pub fn procedures<'a>(
    values: &[f64],
    names: &'a [&'a str],
) -> impl Iterator<Item = (&'a str, f64)> {
    let counts = values.get(1..).unwrap_or_default().to_vec();
    names
        .iter()
        .enumerate()
        .map(move |(i, name)| (*name, counts.get(i).copied().unwrap_or(0.0)))
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let Some(text) = src.read_optional(&src.roots.proc.join("net/rpc/nfs"))? else {
        return Ok(None);
    };
    let lines = parse_lines(&text, "/proc/net/rpc/nfs")?;
    let at = |key: &str, i: usize| line(&lines, key).get(i).copied().unwrap_or(0.0);
    let mut f = Families::default();
    f.counter(
        "node_nfs_connections_total",
        "Total number of NFSd TCP connections.",
        at("net", 3),
    );
    f.counter_family(
        "node_nfs_packets_total",
        "Total NFSd network packets (sent+received) by protocol type.",
    )
    .push([("protocol", "udp")], at("net", 1))
    .push([("protocol", "tcp")], at("net", 2));
    f.counter(
        "node_nfs_rpc_authentication_refreshes_total",
        "Number of RPC authentication refreshes performed.",
        at("rpc", 2),
    );
    f.counter(
        "node_nfs_rpc_retransmissions_total",
        "Number of RPC transmissions performed.",
        at("rpc", 1),
    );
    f.counter(
        "node_nfs_rpcs_total",
        "Total number of RPCs performed.",
        at("rpc", 0),
    );
    let requests = f.counter_family(
        "node_nfs_requests_total",
        "Number of NFS procedures invoked.",
    );
    for (proto, key, names) in [("2", "proc2", V2), ("3", "proc3", V3), ("4", "proc4", V4)] {
        for (method, n) in procedures(line(&lines, key), names) {
            requests.push([("proto", proto), ("method", method)], n);
        }
    }
    Ok(Some(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rpc_lines_and_procedures() {
        let lines = parse_lines(
            "net 18628 0 18628 6\nrpc 4329785 0 4338291\nproc2 18 2 69 0\nth 8 0 0.000 0.000\n",
            "t",
        )
        .unwrap();
        assert_eq!(line(&lines, "rpc"), [4329785.0, 0.0, 4338291.0]);
        assert_eq!(line(&lines, "th"), [8.0, 0.0]);
        let p: Vec<_> = procedures(line(&lines, "proc2"), V2).take(4).collect();
        assert_eq!(
            p,
            [
                ("Null", 2.0),
                ("GetAttr", 69.0),
                ("SetAttr", 0.0),
                ("Root", 0.0)
            ]
        );
        assert!(parse_lines("net x\n", "t").is_err());
    }
}
