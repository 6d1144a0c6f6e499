//! JSON over HTTP, for dashboards and people with curl: the helpers each
//! kind's `/api` handlers answer with. `/api/*` answers from the same typed
//! samples as `/ws`, with the same JSON (each sample's JSON is made once and
//! shared with the WebSocket frame), the same auth, an `ETag` per sample and
//! `Cache-Control: max-age` for what is left of its TTL. Compression
//! (`Accept-Encoding`: gzip, br, zstd) and CORS are tower-http layers added
//! in [`crate::server::app`].

use std::time::Duration;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::auth::Authorized;
use crate::cache::Sample;
use crate::collect::CollectError;
use crate::state::{AppState, Args, Shared};

/// A JSON body with its cache headers; `304` when the client has it.
pub fn cached_json<T>(
    headers: &HeaderMap,
    sample: &Sample<T>,
    kind: &str,
    ttl: Duration,
    body: impl FnOnce() -> Bytes,
) -> Response {
    let etag = sample.etag(kind);
    let max_age = ttl.saturating_sub(sample.age()).as_secs();
    let cache_control = format!("max-age={max_age}");
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache_control)],
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache_control),
        ],
        body(),
    )
        .into_response()
}

/// A JSON error reply: `{"error": …}` plus what it is about.
pub fn error(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub fn collect_failed(e: &CollectError) -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        serde_json::json!({ "error": e.to_string() }),
    )
}

/// A whole sample's JSON with its cache headers, or the collection's error.
pub fn sample_json<T>(
    headers: &HeaderMap,
    sample: Result<Shared<T>, CollectError>,
    kind: &str,
    ttl: Duration,
    json: fn(&Sample<T>) -> Bytes,
) -> Response {
    match sample {
        Ok(s) => cached_json(headers, &s, kind, ttl, || json(&s)),
        Err(e) => collect_failed(&e),
    }
}

/// A pid in a path, or a 400 naming it.
pub fn pid(text: &str) -> Result<u32, Box<Response>> {
    text.parse().map_err(|_| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            serde_json::json!({
                "error": format!("pid must be a whole number from 0 to {}, got {text:?}", u32::MAX),
                "parameter": "pid",
            }),
        ))
    })
}

/// The JSON of a per-PID sample: the same bytes its WebSocket frame is
/// made of, made once per sample.
pub fn json_of<T>(sample: &Sample<T>, json: fn(&Sample<T>) -> Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json(sample),
    )
        .into_response()
}

/// The kinds' `/api` entries: name, path, what it returns, its TTL and how
/// the WebSocket asks for it.
fn entries(state: &AppState) -> Vec<serde_json::Value> {
    state
        .kinds()
        .iter()
        .filter(|k| k.api.is_some())
        .map(|k| {
            let ttl = (k.ttl)(&state.config);
            let (pid, text) = match k.args {
                Args::Pid => (",\"pid\":PID", ":PID"),
                Args::History => (",\"kind\":KIND,\"since_ms\":T", ":KIND:SINCE_MS"),
                Args::None => ("", ""),
            };
            serde_json::json!({
                "name": k.name,
                "path": k.path,
                "returns": k.summary,
                "ttl_ms": u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
                "websocket": {
                    "json": format!("{{\"type\":\"{}\"{pid}}}", k.name),
                    "text": format!("{}{text}", k.text),
                },
            })
        })
        .collect()
}

/// `GET /api`: the index of what `/api` answers, with the other paths.
pub async fn index(_auth: Authorized, State(state): State<Arc<AppState>>) -> Response {
    let body = serde_json::json!({
        "api": entries(&state),
        "other": {
            "/ws": "the WebSocket: the same kinds, socktop's protocol",
            "/metrics": "Prometheus text: node_exporter's collectors and sonde's series",
            "/healthz": "liveness, no token",
            "/api/4/pluginslist": "the Glances REST API v4, read-only (docs/glances.md)",
            "/": "the live page",
        },
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// An unknown `/api/...` path: a JSON 404 naming the known ones, as the
/// WebSocket answers an unknown request.
pub async fn not_found(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    uri: Uri,
) -> Response {
    let known: Vec<&str> = state
        .kinds()
        .iter()
        .filter(|k| k.api.is_some())
        .map(|k| k.path)
        .collect();
    error(
        StatusCode::NOT_FOUND,
        serde_json::json!({
            "error": format!("no such path: {}", uri.path()),
            "known": known,
            "index": "/api",
        }),
    )
}
