//! The `journal_entries` kind (`{"type":"journal_entries","pid":N}` /
//! `get_journal_entries:N`): what one process wrote to the systemd journal,
//! through a bounded number of `journalctl` runs with a timeout, kept
//! briefly per PID; its JSON reply, `/api/processes/<pid>/journal` and its
//! `sonde check` line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use futures_util::FutureExt;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::api;
use crate::auth::Authorized;
use crate::cache::{KeyedTtl, Sample};
use crate::collect::CollectError;
use crate::collect::journal::{self, Journal};
use crate::state::{AppState, Args, CheckLine, Context, Kind, Part, Shared, elapsed_ms};
use crate::wire::{Frame, json_frame, to_json};

/// The request's name.
pub const NAME: &str = "journal_entries";

/// How long an answer is reused.
pub const TTL: Duration = Duration::from_secs(1);

/// How long journalctl may take before the reply says so.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_journal_entries",
    args: Args::Pid,
    summary: "what one process wrote to the journal",
    ttl: |_| TTL,
    part,
    reply: Some(|state, asked| {
        async move { Ok(state.framed(NAME, &*sample(state, asked.pid).await?, frame)) }.boxed()
    }),
    path: "/api/processes/{pid}/journal",
    api: Some(|| get(handler)),
    series: None,
    select: None,
    check: Some(|state| check(state).boxed()),
};

/// Per-PID journal answers and how they are read.
#[derive(Debug)]
pub struct JournalPart {
    /// Per-PID entries, briefly.
    journals: KeyedTtl<u32, Journal>,
    /// journalctl, the journal's directories and the bound on runs.
    source: journal::Source,
}

fn part(cx: &Context<'_>) -> Part {
    let collection = &cx.config.collection;
    Box::new(JournalPart {
        journals: KeyedTtl::new(
            (KIND.ttl)(cx.config),
            super::process_metrics::PER_PID_ENTRIES,
        ),
        source: journal::Source {
            journalctl: collection.journalctl.clone(),
            journal_dirs: collection.journal_dirs.clone(),
            timeout: TIMEOUT,
            running: Arc::new(Semaphore::new(cx.config.limits.max_journal_reads)),
        },
    })
}

/// What `pid` wrote to the journal (the messages withheld with `--redact`).
pub async fn sample(state: &AppState, pid: u32) -> Result<Shared<Journal>, CollectError> {
    let part = state.part::<JournalPart>()?;
    part.journals
        .get_or_load(pid, || async {
            let mut journal = journal::read(&part.source, pid).await;
            if state.config.redact() {
                journal.redact();
            }
            Ok::<_, CollectError>(journal)
        })
        .await
}

/// The JSON of a journal sample, made once per sample.
pub fn json(s: &Sample<Journal>) -> Bytes {
    let cached_at = s.since_epoch().as_secs();
    s.json(|j| to_json(&JournalReply::new(j, cached_at)))
}

/// The WebSocket frame of a sample (counted and memoized by the caller).
pub fn frame(s: &Sample<Journal>) -> Frame {
    json_frame(json(s).to_vec())
}

/// `GET /api/processes/<pid>/journal`: the reply.
async fn handler(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    Path(text): Path<String>,
) -> Response {
    let pid = match api::pid(&text) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match sample(&state, pid).await {
        Ok(s) => api::json_of(&s, json),
        Err(e) => api::collect_failed(&e),
    }
}

/// `sonde check`: whether sonde's own journal entries can be read.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = Instant::now();
    let text = match sample(state, std::process::id()).await {
        Ok(j) => match &j.value().notice {
            None => "readable".to_owned(),
            Some(why) => format!("not readable: {why}"),
        },
        Err(e) => format!("not readable: {e}"),
    };
    vec![CheckLine::ok(
        "journal",
        format!("{text} … {:.1} ms", elapsed_ms(timed)),
    )]
}

/// The `journal_entries` reply.
#[derive(Debug, Clone, Serialize)]
pub struct JournalReply<'a> {
    /// Oldest first, at most 100 (the collector's entries are already in
    /// the wire shape).
    pub entries: &'a [crate::collect::journal::Entry],
    /// Entries in this reply.
    pub total_count: u32,
    /// True when older entries exist beyond those returned.
    pub truncated: bool,
    /// Why the journal could not be (fully) read; null when it could.
    pub notice: Option<&'a str>,
    /// Unix seconds when this answer was collected.
    pub cached_at: u64,
}

impl<'a> JournalReply<'a> {
    /// Wraps a journal read taken at `cached_at`.
    pub fn new(j: &'a Journal, cached_at: u64) -> Self {
        JournalReply {
            total_count: u32::try_from(j.entries.len()).unwrap_or(u32::MAX),
            entries: &j.entries,
            truncated: j.truncated,
            notice: j.notice.as_deref(),
            cached_at,
        }
    }
}
