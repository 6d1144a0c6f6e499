//! JSON over HTTP, for dashboards and people with curl: `/api/*` answers
//! from the same typed samples as `/ws`, with the same JSON (each sample's
//! JSON is made once and shared with the WebSocket frame), the same auth,
//! an `ETag` per sample and `Cache-Control: max-age` for what is left of
//! its TTL. Compression (`Accept-Encoding`: gzip, br, zstd) and CORS are
//! tower-http layers added in [`super::app`].

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use super::auth::Authorized;
use crate::cache::Sample;
use crate::collect::CollectError;
use crate::collect::processes::{ProcRow, ProcessTable};
use crate::protocol::{frames, to_json};
use crate::state::{AppState, Shared};

/// A JSON body with its cache headers; `304` when the client has it.
fn cached_json<T>(
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
fn error(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn collect_failed(e: &CollectError) -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        serde_json::json!({ "error": e.to_string() }),
    )
}

/// A whole sample's JSON with its cache headers, or the collection's error.
fn sample_json<T>(
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

/// `GET /api/metrics`: the metrics reply's JSON.
pub async fn metrics(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    let ttl = state.config.ttl.metrics();
    sample_json(
        &headers,
        state.metrics().await,
        "metrics",
        ttl,
        frames::metrics_json,
    )
}

/// `GET /api/disks`.
pub async fn disks(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    let ttl = state.config.ttl.disks();
    sample_json(
        &headers,
        state.disks().await,
        "disks",
        ttl,
        frames::disks_json,
    )
}

/// `GET /api/containers`: containers and systemd services.
pub async fn containers(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    let ttl = state.config.ttl.containers();
    sample_json(
        &headers,
        state.containers().await,
        "containers",
        ttl,
        frames::containers_json,
    )
}

/// `GET /api/host`: kept for the server's life; an hour's max-age.
pub async fn host(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    let ttl = Duration::from_secs(3600);
    sample_json(&headers, state.host().await, "host", ttl, frames::host_json)
}

/// How `/api/processes` orders its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// CPU share, busiest first by default.
    Cpu,
    /// Resident memory, largest first by default.
    Mem,
    /// Process id, ascending by default.
    Pid,
    /// Name, ascending by default.
    Name,
}

/// The validated query of `/api/processes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListQuery {
    /// The sort key.
    pub sort: SortKey,
    /// Descending when true.
    pub descending: bool,
    /// At most this many rows.
    pub limit: Option<usize>,
}

/// A query parameter that was refused: its name and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParameter {
    /// The parameter.
    pub name: &'static str,
    /// One clear sentence.
    pub reason: String,
}

impl ListQuery {
    /// Validates `sort`, `order` and `limit` (other parameters, such as
    /// `token`, are not this function's).
    pub fn parse(params: &HashMap<String, String>) -> Result<ListQuery, BadParameter> {
        let sort = match params.get("sort").map(String::as_str) {
            None | Some("pid") => SortKey::Pid,
            Some("cpu") => SortKey::Cpu,
            Some("mem") => SortKey::Mem,
            Some("name") => SortKey::Name,
            Some(other) => {
                return Err(BadParameter {
                    name: "sort",
                    reason: format!("sort must be cpu, mem, pid or name, not {other:?}"),
                });
            }
        };
        let descending = match params.get("order").map(String::as_str) {
            None => matches!(sort, SortKey::Cpu | SortKey::Mem),
            Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(BadParameter {
                    name: "order",
                    reason: format!("order must be asc or desc, not {other:?}"),
                });
            }
        };
        let limit =
            match params.get("limit") {
                None => None,
                Some(v) => Some(v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    BadParameter {
                        name: "limit",
                        reason: format!("limit must be a whole number above 0, not {v:?}"),
                    }
                })?),
            };
        Ok(ListQuery {
            sort,
            descending,
            limit,
        })
    }

    /// Names this query's view of a sample, for its entity tag.
    fn tag(&self) -> String {
        let order = if self.descending { "desc" } else { "asc" };
        let limit = self.limit.map_or("all".to_owned(), |n| n.to_string());
        format!("processes-{:?}-{order}-{limit}", self.sort).to_ascii_lowercase()
    }

    /// The rows of `table` in this query's order, cut to its limit.
    pub fn apply<'a>(&self, table: &'a ProcessTable) -> Vec<&'a ProcRow> {
        let mut rows: Vec<&ProcRow> = table.rows.iter().collect();
        let by: fn(&ProcRow, &ProcRow) -> Ordering = match self.sort {
            SortKey::Cpu => |a, b| a.cpu_percent.total_cmp(&b.cpu_percent),
            SortKey::Mem => |a, b| a.rss_bytes.cmp(&b.rss_bytes),
            SortKey::Pid => |a, b| a.pid.cmp(&b.pid),
            SortKey::Name => |a, b| a.name.cmp(&b.name),
        };
        // Ties in pid order, whichever way the key goes.
        rows.sort_by(|a, b| {
            let key = by(a, b);
            let key = if self.descending { key.reverse() } else { key };
            key.then(a.pid.cmp(&b.pid))
        });
        if let Some(n) = self.limit {
            rows.truncate(n);
        }
        rows
    }
}

/// The `/api/processes` body: the protobuf's fields, as JSON.
#[derive(Serialize)]
struct ProcessList<'a> {
    process_count: u64,
    processes: Vec<ProcessRow<'a>>,
}

/// One row, with the protobuf's field names.
#[derive(Serialize)]
struct ProcessRow<'a> {
    pid: u32,
    name: &'a str,
    cpu_usage: f32,
    mem_bytes: u64,
}

fn list_json(table: &ProcessTable, rows: &[&ProcRow]) -> Vec<u8> {
    to_json(&ProcessList {
        process_count: table.process_count,
        processes: rows
            .iter()
            .map(|r| ProcessRow {
                pid: r.pid,
                name: &r.name,
                cpu_usage: r.cpu_percent,
                mem_bytes: r.rss_bytes,
            })
            .collect(),
    })
}

/// `GET /api/processes?sort=cpu|mem|pid|name&order=asc|desc&limit=N`. The
/// default order's JSON is made once per sample; a sorted or limited one
/// per request (it depends on the query).
pub async fn processes(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let query = match ListQuery::parse(&params) {
        Ok(q) => q,
        Err(bad) => {
            return error(
                StatusCode::BAD_REQUEST,
                serde_json::json!({ "error": bad.reason, "parameter": bad.name }),
            );
        }
    };
    let sample = match state.processes().await {
        Ok(s) => s,
        Err(e) => return collect_failed(&e),
    };
    let table: &ProcessTable = sample.value();
    let plain = query.sort == SortKey::Pid && !query.descending && query.limit.is_none();
    let ttl = state.config.ttl.processes();
    if plain {
        return cached_json(&headers, &sample, "processes", ttl, || {
            sample.json(|t| list_json(t, &t.rows.iter().collect::<Vec<_>>()))
        });
    }
    cached_json(&headers, &sample, &query.tag(), ttl, || {
        Bytes::from(list_json(table, &query.apply(table)))
    })
}

/// A pid in a path, or a 400 naming it.
fn pid(text: &str) -> Result<u32, Box<Response>> {
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

/// `GET /api/processes/<pid>`: the `process_metrics` reply; 404 when the
/// process does not exist.
pub async fn process(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    Path(text): Path<String>,
) -> Response {
    let pid = match pid(&text) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match state.process_detail(pid).await {
        Ok(s) => match s.value() {
            Ok(_) => json_of(&s, frames::process_metrics_json),
            Err(_) => error(
                StatusCode::NOT_FOUND,
                serde_json::json!({ "error": format!("process {pid} not found"), "pid": pid }),
            ),
        },
        Err(e) => collect_failed(&e),
    }
}

/// `GET /api/processes/<pid>/journal`: the `journal_entries` reply.
pub async fn journal(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    Path(text): Path<String>,
) -> Response {
    let pid = match pid(&text) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match state.journal(pid).await {
        Ok(s) => json_of(&s, frames::journal_json),
        Err(e) => collect_failed(&e),
    }
}

/// The JSON of a per-PID sample: the same bytes its WebSocket frame is
/// made of, made once per sample.
fn json_of<T>(sample: &Sample<T>, json: fn(&Sample<T>) -> Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json(sample),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<ListQuery, BadParameter> {
        ListQuery::parse(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn list_queries_are_validated_and_name_the_parameter() {
        assert_eq!(
            q(&[]).unwrap(),
            ListQuery {
                sort: SortKey::Pid,
                descending: false,
                limit: None
            }
        );
        assert!(q(&[("sort", "cpu")]).unwrap().descending, "busiest first");
        assert!(!q(&[("sort", "cpu"), ("order", "asc")]).unwrap().descending);
        assert_eq!(q(&[("limit", "5")]).unwrap().limit, Some(5));
        for (pairs, name) in [
            (&[("sort", "size")][..], "sort"),
            (&[("order", "up")][..], "order"),
            (&[("limit", "0")][..], "limit"),
            (&[("limit", "-3")][..], "limit"),
            (&[("limit", "ten")][..], "limit"),
        ] {
            assert_eq!(q(pairs).unwrap_err().name, name, "{pairs:?}");
        }
    }

    #[test]
    fn sorting_and_limits() {
        let row = |pid, name: &str, cpu, rss| ProcRow {
            pid,
            ppid: 1,
            start_ticks: 0,
            name: name.into(),
            cpu_percent: cpu,
            rss_bytes: rss,
            cpu_ticks: 0,
        };
        let table = ProcessTable {
            rows: vec![
                row(1, "init", 0.5, 10),
                row(2, "b", 9.0, 5),
                row(3, "a", 9.0, 50),
            ],
            process_count: 3,
            ..ProcessTable::default()
        };
        let pids = |pairs: &[(&str, &str)]| -> Vec<u32> {
            q(pairs)
                .unwrap()
                .apply(&table)
                .iter()
                .map(|r| r.pid)
                .collect()
        };
        assert_eq!(pids(&[("sort", "cpu")]), [2, 3, 1], "ties in pid order");
        assert_eq!(pids(&[("sort", "mem")]), [3, 1, 2]);
        assert_eq!(pids(&[("sort", "name")]), [3, 2, 1]);
        assert_eq!(
            pids(&[("sort", "pid"), ("order", "desc"), ("limit", "2")]),
            [3, 2]
        );
    }
}
