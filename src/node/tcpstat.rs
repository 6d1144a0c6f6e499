//! `tcpstat`: TCP connections per state, from the `sockets` kind's
//! reading. Off by default, as in node_exporter: any `sock_diag` dump
//! walks the kernel's whole established-connection hash table however few
//! sockets there are (262,144 buckets on a 24 GiB host: 1.4 ms, 98 % of it
//! in `tcp_diag_dump`), then fills a message per socket.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::collect::tcp_states::{STATES, TcpStates};
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "tcpstat",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let sample = scrape.sample(crate::kinds::sockets::tcp).await?;
    Ok(sample.value().map(|t| families(&t)))
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
