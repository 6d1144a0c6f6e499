//! The `sockets` kind (`{"type":"sockets"}` / `get_sockets`): sockets in
//! use per protocol (`/proc/net/sockstat{,6}`) and TCP connections per
//! state (netlink sock_diag); `/api/sockets`; its `sonde check` line. The
//! same reading serves node_exporter's sockstat and tcpstat collectors.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt;
use serde::Serialize;

use super::plain;
use crate::cache::{Sample, Ttl};
use crate::collect::sockstat::{self, Sockstat};
use crate::collect::sysfs::Kept;
use crate::collect::tcp_states::{self, STATES, TcpStates};
use crate::collect::{CollectError, blocking};
use crate::state::{AppState, Args, CheckLine, Context, Kind, Part, Shared, elapsed_ms};
use crate::wire::to_json;

/// The request's name.
pub const NAME: &str = "sockets";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_sockets",
    args: Args::None,
    summary: "sockets per protocol and TCP connections per state",
    ttl: |c| c.ttl.metrics(),
    part,
    reply: Some(plain::reply::<Json>),
    path: "/api/sockets",
    api: Some(plain::api::<Json>),
    series: None,
    select: None,
    check: Some(|state| check(state).boxed()),
};

/// One sockets sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sockets {
    /// `/proc/net/sockstat`, if there.
    pub v4: Option<Sockstat>,
    /// `/proc/net/sockstat6`, if there.
    pub v6: Option<Sockstat>,
    /// TCP states; `None` where netlink refused (reported).
    pub tcp: Option<TcpStates>,
}

/// The sockets samples: the whole reply's, and its two halves' (node_exporter's
/// sockstat and tcpstat collectors each take only theirs, so turning
/// tcpstat off spares the TCP dump).
#[derive(Debug)]
pub struct SocketsPart {
    cache: Ttl<Sockets>,
    stat: Ttl<Sockstats>,
    tcp: Ttl<Option<TcpStates>>,
    /// The sockstat files, kept open (the hardware kinds' share).
    files: Arc<Kept>,
}

/// `/proc/net/sockstat` and `/proc/net/sockstat6`, each if there.
pub type Sockstats = (Option<Sockstat>, Option<Sockstat>);

/// This kind as a plain JSON kind ([`plain::Plain`]): its reply and
/// `/api` handler are the shared ones.
pub struct Json;

impl plain::Plain for Json {
    type Value = Sockets;
    const KIND: &'static Kind = &KIND;
    fn sample(
        state: &AppState,
    ) -> impl std::future::Future<Output = Result<Shared<Sockets>, CollectError>> + Send {
        sample(state)
    }
    fn json(s: &Sample<Sockets>) -> Bytes {
        json(s)
    }
}

fn part(cx: &Context<'_>) -> Part {
    let ttl = (KIND.ttl)(cx.config);
    Box::new(SocketsPart {
        cache: Ttl::new(ttl),
        stat: Ttl::new(ttl),
        files: cx.hardware_files.clone(),
        tcp: Ttl::new(ttl),
    })
}

/// The sockets sample, made of the two halves' samples.
pub async fn sample(state: &AppState) -> Result<Shared<Sockets>, CollectError> {
    let part = state.part::<SocketsPart>()?;
    part.cache
        .get_or_load(|| async {
            let (v4, v6) = sockstats(state).await?.value().clone();
            let tcp = *tcp(state).await?.value();
            Ok::<_, CollectError>(Sockets { v4, v6, tcp })
        })
        .await
}

/// The sockstat files, read on the blocking pool.
pub async fn sockstats(state: &AppState) -> Result<Shared<Sockstats>, CollectError> {
    let part = state.part::<SocketsPart>()?;
    let errors = state.errors();
    part.stat
        .get_or_load(|| async {
            let (roots, files) = (state.roots().clone(), part.files.clone());
            blocking(errors, NAME, move || sockstat::read(&roots, &files))
                .await?
                .inspect_err(|e| {
                    errors.report(NAME, e);
                })
        })
        .await
}

/// TCP connections per state, dumped on the blocking pool; a netlink
/// failure is reported and gives `None`.
pub async fn tcp(state: &AppState) -> Result<Shared<Option<TcpStates>>, CollectError> {
    let part = state.part::<SocketsPart>()?;
    let errors = state.errors();
    part.tcp
        .get_or_load(|| async {
            let errs = errors.clone();
            blocking(errors, NAME, move || {
                errs.ok(
                    NAME,
                    tcp_states::read().map_err(|e| {
                        CollectError::read(std::path::Path::new("netlink sock_diag"), e)
                    }),
                )
            })
            .await
        })
        .await
}

/// The `sockets` reply, borrowing from the sample.
#[derive(Debug, Serialize)]
struct Reply<'a> {
    /// IPv4 sockets in use (`sockets: used`).
    sockets_used: Option<u64>,
    /// Per protocol (`TCP`, `UDP`, `TCP6`…), its counters (`inuse`,
    /// `orphan`, `tw`, `alloc`, `mem` in pages, `memory`).
    protocols: BTreeMap<&'a str, BTreeMap<&'a str, u64>>,
    /// TCP connections per state, IPv4 and IPv6 together; null where
    /// netlink is refused.
    tcp_states: Option<BTreeMap<&'static str, u64>>,
    /// Bytes waiting in TCP receive queues.
    tcp_rx_queued_bytes: Option<u64>,
    /// Bytes waiting in TCP send queues.
    tcp_tx_queued_bytes: Option<u64>,
}

/// The reply's JSON, made once per sample.
pub fn json(s: &Sample<Sockets>) -> Bytes {
    s.json(|v| {
        let protocols =
            v.v4.iter()
                .chain(&v.v6)
                .flat_map(|s| &s.protocols)
                .map(|p| {
                    let fields = p.fields.iter().map(|(k, n)| (k.as_str(), *n)).collect();
                    (p.name.as_str(), fields)
                })
                .collect();
        to_json(&Reply {
            sockets_used: v.v4.as_ref().and_then(|s| s.used),
            protocols,
            tcp_states: v
                .tcp
                .map(|t| STATES.iter().copied().zip(t.counts).collect()),
            tcp_rx_queued_bytes: v.tcp.map(|t| t.rx_queued_bytes),
            tcp_tx_queued_bytes: v.tcp.map(|t| t.tx_queued_bytes),
        })
    })
}

/// `sonde check`: sockets in use and TCP connections.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = std::time::Instant::now();
    let line = match sample(state).await {
        Ok(s) => {
            let v = s.value();
            let ms = elapsed_ms(timed);
            let used =
                v.v4.as_ref()
                    .and_then(|s| s.used)
                    .map_or("?".to_owned(), |u| u.to_string());
            let tcp = match v.tcp {
                Some(t) => format!(
                    "TCP {} established, {} listening",
                    t.get("established").unwrap_or(0),
                    t.get("listen").unwrap_or(0)
                ),
                None => "TCP states unavailable (netlink sock_diag refused)".to_owned(),
            };
            CheckLine::ok(NAME, format!("{used} in use, {tcp} … {ms:.1} ms"))
        }
        Err(e) => CheckLine::broken(NAME, format!("BROKEN: {e}")),
    };
    vec![line]
}
