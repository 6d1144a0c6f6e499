//! HTTP and WebSocket serving: the router, the one listener
//! ([`listener`]), shutdown.

pub mod guard;
pub mod listener;
pub mod page;
pub mod prometheus;
pub mod tls;
pub mod ws;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::config::Config;
use crate::kinds;
use crate::state::AppState;
use listener::{Admission, Transport};

/// How long shutdown waits for connections to say goodbye.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(800);

/// The routes, over a state and its admission; tests can drive it without
/// a socket.
///
/// `/ws` (the WebSocket), `/healthz`, `/api/*` (JSON, each kind's route
/// from the table of kinds; `/api` itself is their index, and an unknown
/// path a JSON 404 naming them), `/metrics` (Prometheus) and `/` (the live
/// page). The HTTP surfaces
/// are compressed by `Accept-Encoding` (gzip, br, zstd) and, with
/// `--cors-origin`, readable from those origins.
pub fn app(state: Arc<AppState>, admission: Arc<Admission>) -> Router {
    let guard = guard::Guard::new(&state.config);
    let mut http = state
        .kinds()
        .iter()
        .filter_map(|kind| Some((kind.path, kind.api?)))
        .fold(Router::new(), |router, (path, api)| {
            router.route(path, api())
        })
        .merge(crate::glances::routes())
        .route("/api", get(crate::api::index))
        .route("/api/", get(crate::api::index))
        .route("/api/{*rest}", get(crate::api::not_found))
        .route("/metrics", get(prometheus::handler))
        .route("/", get(page::handler))
        .layer(tower_http::compression::CompressionLayer::new());
    let origins: Vec<axum::http::HeaderValue> = state
        .config
        .http
        .cors_origins
        .iter()
        .filter_map(|o| axum::http::HeaderValue::from_str(o).ok())
        .collect();
    if !origins.is_empty() {
        http = http.layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(tower_http::cors::AllowOrigin::list(origins))
                .allow_methods([axum::http::Method::GET])
                .allow_headers([
                    axum::http::header::AUTHORIZATION,
                    axum::http::header::IF_NONE_MATCH,
                ])
                .expose_headers([axum::http::header::ETAG]),
        );
    }
    Router::new()
        .route("/ws", get(ws::handler))
        .route("/healthz", get(healthz))
        .merge(http)
        .layer(Extension(admission))
        .layer(Extension(guard.clone()))
        .layer(axum::middleware::from_fn_with_state(guard, guard::check))
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
}

/// Builds the state from `config` and serves on `listener` (TLS when
/// configured) until `shutdown`; see [`serve`].
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let state = AppState::new(config, crate::table::KINDS);
    let admission = Admission::new(&state.config.limits, state.fd_budget());
    serve(listener, state, admission, shutdown).await
}

/// Serves `state` on `listener` until `shutdown` completes; then stops
/// accepting, closes every WebSocket with 1001, finishes requests in
/// progress and returns once every connection is gone (or after a short
/// grace period).
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    admission: Arc<Admission>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let transport = if state.config.tls.enabled {
        let (acceptor, _) = tls::setup(&state.config)?;
        Transport::Tls {
            acceptor,
            handshake_timeout: state.config.tls.handshake_timeout(),
        }
    } else {
        Transport::Plain
    };
    let budget = admission.fd_budget;
    info!(
        soft_limit = budget.soft_limit,
        connections = budget.connections,
        reserve = crate::budget::FILE_RESERVE,
        cgroup_files = budget.cgroup_files,
        readings_files = budget.readings_files,
        process_sampler = budget.process_sampler,
        process_io = budget.process_io,
        process_net = budget.process_net,
        "descriptors shared out: connections (WebSocket cap + HTTP headroom), reserve, kept cgroup, readings, /proc stat and io files, fd directories"
    );
    kinds::warm_up(&state);
    kinds::history::sample_always(&state);
    let cancel = admission.shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = shutdown => cancel.cancel(),
            () = cancel.cancelled() => {}
        }
    });
    let header_timeout = state.config.limits.header_timeout();
    let app = app(state, admission.clone());
    listener::accept_loop(listener, transport, app, admission.clone(), header_timeout).await;
    wait_for_connections(&admission).await;
    Ok(())
}

/// Waits for the connections to finish their goodbyes.
async fn wait_for_connections(admission: &Admission) {
    admission.connections.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, admission.connections.wait())
        .await
        .is_err()
    {
        warn!(
            open = admission.connections.len(),
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
