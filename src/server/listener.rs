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
//! sends its headers too slowly is dropped after the header timeout.
//!
//! An accept error (out of descriptors, `EMFILE`, and the like) is logged at
//! warn at the start of a run of them and the loop backs off briefly
//! instead of spinning on a listener that cannot make progress.

use std::net::SocketAddr;
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
}

impl Refusal {
    /// Every reason, in counter order.
    pub const ALL: [Refusal; 2] = [Refusal::WebsocketCap, Refusal::ConnectionLimit];

    /// The reason's label.
    pub fn name(self) -> &'static str {
        match self {
            Refusal::WebsocketCap => "websocket_cap",
            Refusal::ConnectionLimit => "connection_limit",
        }
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
    /// One permit per WebSocket session.
    pub sessions: Arc<Semaphore>,
    /// The WebSocket cap (`--max-connections`).
    pub max_sessions: usize,
    /// Connections refused, per [`Refusal`].
    refused: [AtomicU64; 2],
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

/// A connection's TCP slot, reachable from its requests: the WebSocket
/// upgrade takes it into the session, so the slot is held until the socket
/// closes, whichever side of the upgrade that is.
#[derive(Debug, Clone)]
pub struct ConnectionSlot(Arc<Mutex<Option<OwnedSemaphorePermit>>>);

impl ConnectionSlot {
    fn new(permit: OwnedSemaphorePermit) -> ConnectionSlot {
        ConnectionSlot(Arc::new(Mutex::new(Some(permit))))
    }

    /// The slot's permit, for a session that outlives the HTTP connection.
    pub fn take(&self) -> Option<OwnedSemaphorePermit> {
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
        let accepted = Accepted {
            peer,
            slot: ConnectionSlot::new(permit),
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
