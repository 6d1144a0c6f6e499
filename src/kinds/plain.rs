//! What every plain kind shares: one unkeyed sample, answered as the same
//! JSON on the WebSocket and `/api` (`metrics`, `disks`, `host`,
//! `sensors`…). A kind implements [`Plain`] (its sample and its JSON) and
//! takes its reply and its `/api` handler from here, so neither is written
//! twice.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::api;
use crate::auth::Authorized;
use crate::cache::Sample;
use crate::collect::CollectError;
use crate::state::{AppState, Asked, CheckLine, Kind, Shared, elapsed_ms};
use crate::wire::{Frame, json_frame};

/// A kind whose reply is its sample's JSON.
pub trait Plain: 'static {
    /// The sample's type.
    type Value: Send + Sync + 'static;
    /// The kind (its name and TTL).
    const KIND: &'static Kind;
    /// The sample, from the kind's cache or read now.
    fn sample(
        state: &AppState,
    ) -> impl Future<Output = Result<Shared<Self::Value>, CollectError>> + Send;
    /// The sample's JSON, made once per sample.
    fn json(s: &Sample<Self::Value>) -> Bytes;
}

/// The WebSocket reply: the sample's JSON as a frame, made once per sample
/// (and counted).
pub fn reply<K: Plain>(state: &AppState, _: Asked) -> BoxFuture<'_, Result<Frame, CollectError>> {
    async move {
        let sample = K::sample(state).await?;
        Ok(state.framed(K::KIND.name, &sample, |s| json_frame(K::json(s).to_vec())))
    }
    .boxed()
}

/// The `/api` handler: the same JSON with its cache headers.
pub fn api<K: Plain>() -> MethodRouter<Arc<AppState>> {
    get(handler::<K>)
}

async fn handler<K: Plain>(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    let ttl = (K::KIND.ttl)(&state.config);
    api::sample_json(
        &headers,
        K::sample(&state).await,
        K::KIND.name,
        ttl,
        K::json,
    )
}

/// A kind's `sonde check` line: what `describe` says of the sample, with
/// the time it took since `timed`, or BROKEN with the error.
pub fn check_line<T>(
    name: &'static str,
    sample: Result<Shared<T>, CollectError>,
    timed: std::time::Instant,
    describe: impl FnOnce(&T) -> String,
) -> Vec<CheckLine> {
    let line = match sample {
        Ok(s) => {
            let ms = elapsed_ms(timed);
            CheckLine::ok(name, format!("{} … {ms:.1} ms", describe(s.value())))
        }
        Err(e) => CheckLine::broken(name, format!("BROKEN: {e}")),
    };
    vec![line]
}
