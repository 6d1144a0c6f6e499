//! `tcpstat`: TCP connections per state (node_exporter's opt-in
//! collector; on here because netlink makes it cheap at any count).

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::tcp_states::{self, STATES, TcpStates};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "tcpstat",
    read: Read::Files(read),
};

fn read(_: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let states = tcp_states::read()
        .map_err(|e| CollectError::read(std::path::Path::new("netlink sock_diag"), e))?;
    Ok(Some(families(&states)))
}

/// Every state (zero included, so a dashboard's line does not break) and
/// the queued bytes.
pub fn families(s: &TcpStates) -> Families {
    let mut f = Families::default();
    let family = f.gauge_family("node_tcp_connection_states", "Number of connection states.");
    for (state, n) in STATES.iter().zip(s.counts) {
        family.push([("state", *state)], n as f64);
    }
    family.push([("state", "rx_queued_bytes")], s.rx_queued_bytes as f64);
    family.push([("state", "tx_queued_bytes")], s.tx_queued_bytes as f64);
    f
}
