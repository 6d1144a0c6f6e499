//! HTTP and WebSocket serving: the router, the serve loop, shutdown.

pub mod auth;
pub mod tls;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tracing::warn;

use crate::config::Config;
use crate::state::AppState;

/// How long shutdown waits for connections to say goodbye.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(800);

/// The routes, over a state; tests can drive it without a socket.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/ws", get(ws::handler))
        .route("/healthz", get(healthz))
        .with_state(state)
}

/// `GET /healthz`: no auth, no collection.
async fn healthz(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "status": "ok",
        "version": crate::VERSION,
        "uptime_secs": state.uptime_secs(),
    }))
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The TLS certificate could not be set up.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// Serving failed.
    #[error("serving failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds the state from `config` and serves on `listener` (TLS when
/// configured) until `shutdown`.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let tls = if config.tls {
        Some(tls::setup(&config)?)
    } else {
        None
    };
    let handshake_timeout = config.tls_handshake_timeout();
    let state = AppState::new(config);
    state.warm_up();
    match tls {
        None => serve(listener, state, shutdown).await?,
        Some((acceptor, _)) => {
            let cancel = state.shutdown.clone();
            tokio::spawn(async move {
                shutdown.await;
                cancel.cancel();
            });
            tls::serve(listener, state.clone(), acceptor, handshake_timeout).await;
            wait_for_connections(&state).await;
        }
    }
    Ok(())
}

/// Serves `state` on `listener` over plain HTTP. When `shutdown`
/// completes, stops accepting, closes every WebSocket with 1001 and returns
/// once they are gone (or after a short grace period).
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cancel = state.shutdown.clone();
    let service = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            shutdown.await;
            cancel.cancel();
        })
        .await?;
    wait_for_connections(&state).await;
    Ok(())
}

/// Waits for the WebSocket connections to finish their goodbyes.
async fn wait_for_connections(state: &AppState) {
    state.connections.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, state.connections.wait())
        .await
        .is_err()
    {
        warn!(
            open = state.connections.len(),
            "connections still open at shutdown"
        );
    }
}

/// Registers for SIGINT (Ctrl-C) and SIGTERM now, and returns a future
/// that completes on the first of them. Registering before the server
/// announces itself means no early signal is lost to the default handler.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
    })
}
