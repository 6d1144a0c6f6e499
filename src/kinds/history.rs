//! The `history` kind (`{"type":"history","kind":"metrics","since_ms":T}`
//! / `get_history:metrics:T`, `GET /api/history/metrics?since_ms=T`): the
//! charted kinds' samples of the last minutes, as columns (see
//! [`crate::history`]), so a client that connects now can draw what others
//! were shown. Its `sonde check` line, and `--history-always`'s sampler.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::FutureExt;

use crate::api;
use crate::auth::Authorized;
use crate::collect::CollectError;
use crate::state::{AppState, Args, Asked, CheckLine, Kind};
use crate::wire::{Frame, error_frame, json_frame};

/// The request's name.
pub const NAME: &str = "history";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_history",
    args: Args::History,
    summary: "the charted kinds' samples of the last minutes, as columns (kind, since_ms)",
    ttl: |_| Duration::ZERO,
    part: |_| Box::new(HistoryPart),
    reply: Some(|state, asked| async move { Ok::<_, CollectError>(reply(state, asked)) }.boxed()),
    path: "/api/history/{kind}",
    api: Some(|| get(handler)),
    series: None,
    select: None,
    check: Some(|state| async move { check(state) }.boxed()),
};

/// The kind's part: nothing (the store is the state's, which every
/// charted kind's cache writes to).
#[derive(Debug)]
struct HistoryPart;

/// Why there is no history of `of`, in one sentence.
fn none_kept(state: &AppState, of: &str) -> String {
    let kept = state.history().kinds();
    if kept.is_empty() {
        "no history is kept (--history 0)".to_owned()
    } else {
        format!(
            "no history is kept of {of:?}; it is kept of: {}",
            kept.join(", ")
        )
    }
}

/// The kind a history request answers when it names none.
pub const DEFAULT_OF: &str = super::metrics::NAME;

fn reply(state: &AppState, asked: Asked) -> Frame {
    let of = if asked.of.is_empty() {
        DEFAULT_OF
    } else {
        asked.of
    };
    match state.history().json(of, asked.since_ms) {
        Some(json) => json_frame(json),
        None => error_frame(&none_kept(state, of), of),
    }
}

/// `GET /api/history/<kind>?since_ms=T`.
async fn handler(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    Path(of): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let mut since_ms = 0;
    for (name, value) in &query {
        if name == "since_ms" {
            let Ok(ms) = value.parse() else {
                return api::error(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({
                        "error": format!("since_ms must be a whole number of Unix milliseconds, got {value:?}"),
                        "parameter": "since_ms",
                    }),
                );
            };
            since_ms = ms;
        }
    }
    match state.history().json(&of, since_ms) {
        Some(json) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            json,
        )
            .into_response(),
        None => api::error(
            StatusCode::NOT_FOUND,
            serde_json::json!({
                "error": none_kept(&state, &of),
                "kept": state.history().kinds(),
            }),
        ),
    }
}

/// `sonde check`: what is kept, for how long, and what it holds now.
fn check(state: &AppState) -> Vec<CheckLine> {
    let history = state.history();
    let limits = history.limits();
    let kinds = history.kinds();
    let text = if kinds.is_empty() {
        "off (--history 0)".to_owned()
    } else {
        format!(
            "{} s of {} while asked{}, {} KiB held of {} MiB",
            limits.window.as_secs(),
            kinds.join(", "),
            if state.config.history.history_always {
                " and every 2 s"
            } else {
                ""
            },
            history.bytes() / 1024,
            limits.max_bytes >> 20
        )
    };
    vec![CheckLine::ok(NAME, text)]
}

/// With `--history-always on`: takes every charted kind's sample each
/// [`crate::config::HISTORY_ALWAYS_EVERY`] (its cache gives it to the
/// history), for as long as the server runs.
pub fn sample_always(state: &Arc<AppState>) {
    if !state.config.history.history_always || state.history().kinds().is_empty() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(crate::config::HISTORY_ALWAYS_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let kept = state.history().kinds();
            for kind in state.kinds().iter().filter(|k| kept.contains(&k.name)) {
                // The reply takes the sample (and frames it once, as the
                // first client to ask would).
                if let Some(reply) = kind.reply {
                    let _ = reply(&state, Asked::default()).await;
                }
            }
        }
    });
}
