//! The `pressure` kind (`{"type":"pressure"}` / `get_pressure`): how long
//! tasks waited for CPU, memory and I/O (pressure stall information:
//! averages over 10, 60 and 300 s and the total), null for a resource the
//! kernel does not report; `/api/pressure`; its `sonde check` line. The
//! same reading serves node_exporter's pressure collector.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use futures_util::FutureExt;

use crate::api;
use crate::auth::Authorized;
use crate::cache::{Cached, Sample, Ttl};
use crate::collect::pressure::{self as collector, PressureReading};
use crate::collect::{CollectError, blocking};
use crate::state::{AppState, CheckLine, Context, Kind, Part, Shared, elapsed_ms};
use crate::wire::{Frame, json_frame, to_json};

/// The request's name.
pub const NAME: &str = "pressure";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_pressure",
    keyed: false,
    part,
    reply: Some(|state, _| {
        async move { Ok(state.framed(NAME, &*sample(state).await?, frame)) }.boxed()
    }),
    routes: |r| r.route("/api/pressure", get(handler)),
    series: None,
    select: None,
    check: Some(|state| check(state).boxed()),
};

fn part(cx: &Context<'_>) -> Part {
    Box::new(Cached::<PressureReading>(Ttl::new(cx.config.ttl.metrics())))
}

/// The pressure sample, from its cache or read now on the blocking pool.
pub async fn sample(state: &AppState) -> Result<Shared<PressureReading>, CollectError> {
    let cache = &state.part::<Cached<PressureReading>>()?.0;
    let errors = state.errors();
    cache
        .get_or_load(|| async {
            let roots = state.roots().clone();
            blocking(errors, NAME, move || collector::read(&roots))
                .await?
                .inspect_err(|e| {
                    errors.report(NAME, e);
                })
        })
        .await
}

/// The reply's JSON, made once per sample.
pub fn json(s: &Sample<PressureReading>) -> Bytes {
    s.json(to_json)
}

/// The WebSocket frame of a sample (counted and memoized by the caller).
pub fn frame(s: &Sample<PressureReading>) -> Frame {
    json_frame(json(s).to_vec())
}

/// `GET /api/pressure`.
async fn handler(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    let ttl = state.config.ttl.metrics();
    api::sample_json(&headers, sample(&state).await, NAME, ttl, json)
}

/// `sonde check`: the 10 s averages of what the kernel reports.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = std::time::Instant::now();
    let line = match sample(state).await {
        Ok(s) => {
            let present = s.value().present();
            let ms = elapsed_ms(timed);
            if present.is_empty() {
                CheckLine::ok(
                    NAME,
                    format!("not reported by this kernel (no /proc/pressure) … {ms:.1} ms"),
                )
            } else {
                let list: Vec<String> = present
                    .iter()
                    .map(|(n, p)| format!("{n} {:.2}%", p.some.or(p.full).map_or(0.0, |s| s.avg10)))
                    .collect();
                CheckLine::ok(NAME, format!("{} (avg10) … {ms:.1} ms", list.join(", ")))
            }
        }
        Err(e) => CheckLine::broken(NAME, format!("BROKEN: {e}")),
    };
    vec![line]
}
