//! The one listener: a single accept loop for plain and TLS connections.
//!
//! Every connection — a plain TCP stream, or one that finished its TLS
//! handshake within the configured time — is served by the same HTTP/1.1
//! connection code with upgrades, carries its peer address as
//! `ConnectInfo`, and is spawned on the state's task tracker, so shutdown
//! waits for all of them. WebSocket sessions are tracked the same way once
//! upgraded (`ws::handler`). Per-connection limits (a connection cap as one
//! semaphore acquired before the upgrade, idle timeouts) go where the
//! connection is accepted or upgraded, in one place each.
//!
//! Admission lives here ([`Admission`]): the TCP slots, the WebSocket
//! sessions, the refusals and the shutdown of connections. Each accepted
//! connection holds one of the TCP slots (the WebSocket cap plus HTTP
//! headroom, see [`crate::budget::FdBudget`]) for its
//! whole life: an upgrade hands the slot to the WebSocket session
//! ([`ConnectionSlot`]). A connection over the cap is closed at once, so
//! descriptors stay within the budget whatever clients do; a client that
//! sends its headers too slowly is dropped after the header timeout. One
//! client address ([`PerAddress`]) holds at most
//! `--max-connections-per-address` of the slots, and at most a quarter of
//! that ([`PENDING_SHARE`]) still sending their first headers:
//! a client that opens slow connections as fast as it can (the header
//! timeout only makes it reconnect) takes its own share, never the slots
//! of `/healthz` probes and other clients.
//!
//! An accept error (out of descriptors, `EMFILE`, and the like) is logged at
//! warn at the start of a run of them and the loop backs off briefly
//! instead of spinning on a listener that cannot make progress.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tracing::{debug, warn};

use crate::budget::FdBudget;
use crate::config::Limits;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A WebSocket upgrade over `--max-connections` (answered 503).
    WebsocketCap,
    /// A TCP connection over the cap plus the HTTP headroom (closed).
    ConnectionLimit,
    /// A TCP connection over its address's share (closed).
    AddressLimit,
}

impl Refusal {
    /// Every reason, in counter order.
    pub const ALL: [Refusal; 3] = [
        Refusal::WebsocketCap,
        Refusal::ConnectionLimit,
        Refusal::AddressLimit,
    ];

    /// The reason's label.
    pub fn name(self) -> &'static str {
        match self {
            Refusal::WebsocketCap => "websocket_cap",
            Refusal::ConnectionLimit => "connection_limit",
            Refusal::AddressLimit => "address_limit",
        }
    }
}

/// The part of an address's share that may still be sending its first
/// request's headers: a quarter (8 of the default 32).
pub const PENDING_SHARE: usize = 4;

/// The address connections are counted under: an IPv4 address (also when
/// it arrives IPv4-mapped), or an IPv6 client's /64, the block one host is
/// usually given, so a client cannot mint addresses to get around its share.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::V6(octets.into())
        }
        v4 => v4,
    }
}

/// One address's connections: open, and of them still sending headers.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    open: usize,
    pending: usize,
}

/// The connections each client address holds. An address is remembered
/// only while it holds one, so the table is never larger than the TCP slots.
#[derive(Debug)]
pub struct PerAddress {
    max_open: usize,
    max_pending: usize,
    held: Mutex<HashMap<IpAddr, Counts>>,
}

impl PerAddress {
    /// Shares of `max_open` connections each, a quarter of them (one at
    /// least) still sending headers.
    pub fn new(max_open: usize) -> Arc<PerAddress> {
        Arc::new(PerAddress {
            max_open,
            max_pending: (max_open / PENDING_SHARE).max(1),
            held: Mutex::new(HashMap::new()),
        })
    }

    /// A new connection from `ip`, when its address has room for one.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<AddressHold> {
        let key = address_key(ip);
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let counts = held.entry(key).or_default();
        if counts.open >= self.max_open || counts.pending >= self.max_pending {
            return None;
        }
        counts.open += 1;
        counts.pending += 1;
        Some(AddressHold {
            table: Arc::clone(self),
            key,
            pending: true,
        })
    }

    /// Connections `ip`'s address holds now: (open, still sending headers).
    pub fn held(&self, ip: IpAddr) -> (usize, usize) {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.get(&address_key(ip))
            .map_or((0, 0), |c| (c.open, c.pending))
    }

    fn release(&self, key: IpAddr, open: bool, pending: bool) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(counts) = held.get_mut(&key) {
            counts.open = counts.open.saturating_sub(usize::from(open));
            counts.pending = counts.pending.saturating_sub(usize::from(pending));
            if counts.open == 0 {
                held.remove(&key);
            }
        }
    }
}

/// One connection's place in its address's share, given back on drop.
#[derive(Debug)]
pub struct AddressHold {
    table: Arc<PerAddress>,
    key: IpAddr,
    pending: bool,
}

impl AddressHold {
    /// The connection has sent a whole request's headers.
    fn headers_in(&mut self) {
        if self.pending {
            self.pending = false;
            self.table.release(self.key, false, true);
        }
    }
}

impl Drop for AddressHold {
    fn drop(&mut self) {
        self.table.release(self.key, true, self.pending);
    }
}

/// Who may connect, and the connections open: TCP slots, WebSocket
/// sessions, refusals, and the shutdown every connection watches.
#[derive(Debug)]
pub struct Admission {
    /// How descriptors are shared out (the connections' share is the TCP
    /// slots).
    pub fd_budget: FdBudget,
    /// One permit per accepted TCP connection.
    pub tcp_slots: Arc<Semaphore>,
    /// Each address's share of the slots.
    pub per_address: Arc<PerAddress>,
    /// One permit per WebSocket session.
    pub sessions: Arc<Semaphore>,
    /// The WebSocket cap (`--max-connections`).
    pub max_sessions: usize,
    /// Connections refused, per [`Refusal`].
    refused: [AtomicU64; 3],
    /// Cancelled on shutdown: every connection closes with 1001.
    pub shutdown: CancellationToken,
    /// Open connections (HTTP and WebSocket), awaited on shutdown.
    pub connections: TaskTracker,
}

impl Admission {
    /// Admission under `limits`, with the descriptors' shares `fd_budget`.
    pub fn new(limits: &Limits, fd_budget: FdBudget) -> Arc<Admission> {
        Arc::new(Admission {
            fd_budget,
            tcp_slots: Arc::new(Semaphore::new(fd_budget.connections)),
            per_address: PerAddress::new(limits.max_connections_per_address),
            sessions: Arc::new(Semaphore::new(limits.max_connections)),
            max_sessions: limits.max_connections,
            refused: Default::default(),
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
        })
    }

    /// Counts a refused connection.
    pub fn note_refused(&self, why: Refusal) {
        self.refused[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Connections refused for `why` since start.
    pub fn refused(&self, why: Refusal) -> u64 {
        self.refused[why as usize].load(Ordering::Relaxed)
    }

    /// WebSocket sessions open now.
    pub fn sessions_open(&self) -> usize {
        self.max_sessions
            .saturating_sub(self.sessions.available_permits())
    }
}

/// How long the loop waits after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How connections are secured.
#[derive(Clone)]
pub enum Transport {
    /// Plain HTTP and `ws://`.
    Plain,
    /// HTTPS and `wss://`: the acceptor and how long a handshake may take.
    Tls {
        /// The rustls acceptor.
        acceptor: TlsAcceptor,
        /// Handshakes taking longer are dropped.
        handshake_timeout: Duration,
    },
}

/// What one connection holds: a TCP slot and its place in its address's
/// share.
#[derive(Debug)]
pub struct SlotHold {
    _permit: OwnedSemaphorePermit,
    address: AddressHold,
}

/// A connection's TCP slot, reachable from its requests: the WebSocket
/// upgrade takes it into the session, so the slot is held until the socket
/// closes, whichever side of the upgrade that is.
#[derive(Debug, Clone)]
pub struct ConnectionSlot(Arc<Mutex<Option<SlotHold>>>);

impl ConnectionSlot {
    fn new(permit: OwnedSemaphorePermit, address: AddressHold) -> ConnectionSlot {
        ConnectionSlot(Arc::new(Mutex::new(Some(SlotHold {
            _permit: permit,
            address,
        }))))
    }

    /// The connection has sent a request's headers: it no longer counts as
    /// one still sending them.
    fn headers_in(&self) {
        if let Some(hold) = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            hold.address.headers_in();
        }
    }

    /// The slot, for a session that outlives the HTTP connection.
    pub fn take(&self) -> Option<SlotHold> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// Accepts connections on `listener` until admission's shutdown token is
/// cancelled, serving each with `app`. Returns once accepting has stopped;
/// the connections themselves are on `admission.connections`.
pub async fn accept_loop(
    listener: TcpListener,
    transport: Transport,
    app: Router,
    admission: Arc<Admission>,
    header_timeout: Duration,
) {
    let mut failing = false;
    let mut full = false;
    loop {
        let (tcp, peer) = tokio::select! {
            () = admission.shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    if failing {
                        debug!(error = %e, "accept failed again");
                    } else {
                        warn!(error = %e, "accept failed; backing off {} ms between tries", ACCEPT_BACKOFF.as_millis());
                        failing = true;
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        failing = false;
        let Ok(permit) = admission.tcp_slots.clone().try_acquire_owned() else {
            if !full {
                warn!(
                    limit = admission.fd_budget.connections,
                    "connection limit reached; closing new connections until some end"
                );
                full = true;
            }
            admission.note_refused(Refusal::ConnectionLimit);
            debug!(%peer, "over the connection limit: closed");
            drop(tcp);
            continue;
        };
        full = false;
        let Some(address) = admission.per_address.admit(peer.ip()) else {
            admission.note_refused(Refusal::AddressLimit);
            debug!(%peer, "over its address's share of the connections: closed");
            drop(tcp);
            continue;
        };
        let accepted = Accepted {
            peer,
            slot: ConnectionSlot::new(permit, address),
            header_timeout,
            shutdown: admission.shutdown.clone(),
        };
        admission
            .connections
            .spawn(connection(tcp, accepted, transport.clone(), app.clone()));
    }
}

/// What one accepted connection carries into its task.
struct Accepted {
    peer: SocketAddr,
    slot: ConnectionSlot,
    header_timeout: Duration,
    shutdown: CancellationToken,
}

/// One accepted TCP connection: its TLS handshake where configured, then
/// HTTP.
async fn connection(tcp: TcpStream, accepted: Accepted, transport: Transport, app: Router) {
    let peer = accepted.peer;
    match transport {
        Transport::Plain => serve_http(tcp, accepted, app).await,
        Transport::Tls {
            acceptor,
            handshake_timeout,
        } => match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => serve_http(tls, accepted, app).await,
            Ok(Err(e)) => debug!(%peer, error = %e, "TLS handshake failed"),
            Err(_) => debug!(%peer, "TLS handshake timed out"),
        },
    }
}

/// Serves HTTP/1.1 (with upgrades) on one connection until it ends; on
/// shutdown, a request in progress is finished and the connection closed.
async fn serve_http<I>(io: I, accepted: Accepted, app: Router)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Accepted {
        peer,
        slot,
        header_timeout,
        shutdown,
    } = accepted;
    let service = app.map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
        slot.headers_in();
        req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
        req.extensions_mut().insert(slot.clone());
        req
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(
            TokioIo::new(io),
            hyper_util::service::TowerToHyperService::new(service),
        )
        .with_upgrades();
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        debug!(%peer, error = %e, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_s_64_is_one_address_and_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(address_key(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn an_address_holds_its_share_and_gives_it_back() {
        let table = PerAddress::new(12);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let mut held = Vec::new();
        for _ in 0..4 {
            for _ in 0..3 {
                held.push(table.admit(a).unwrap());
            }
            held.iter_mut().for_each(AddressHold::headers_in);
        }
        assert!(table.admit(a).is_none(), "over its share");
        assert!(table.admit(b).is_some(), "another address is not affected");
        assert_eq!(table.held(a), (12, 0));
        held.pop();
        assert_eq!(table.held(a), (11, 0));
        drop(held);
        assert_eq!(table.held(a), (0, 0));
        assert!(
            table.held.lock().unwrap().is_empty(),
            "nothing kept for gone addresses"
        );
    }

    #[test]
    fn connections_still_sending_headers_have_a_smaller_share() {
        let table = PerAddress::new(32);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let mut held: Vec<AddressHold> = (0..32 / PENDING_SHARE)
            .map(|_| table.admit(a).unwrap())
            .collect();
        assert!(table.admit(a).is_none(), "all its pending ones taken");
        held[0].headers_in();
        assert!(
            table.admit(a).is_some(),
            "a request's headers free a pending place"
        );
    }
}
