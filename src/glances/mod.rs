//! The Glances REST API v4, read-only, from sonde's own samples: the
//! language the dashboards people run speak (Home Assistant's Glances
//! integration, Homepage's and Dashy's Glances widgets).
//!
//! Each plugin's JSON is made from one kind's sample, once per sample
//! ([`crate::cache::Sample::named`]), through the same caches and TTLs as
//! `/api`: nothing is read on these paths that `/api` would not read, and
//! nothing while nobody asks. The router's guard covers them like every
//! path; their clients send HTTP Basic, so the token is taken as the Basic
//! password there ([`crate::auth`]). History comes from sonde's own
//! ([`history`]); there is no write or config endpoint, and command lines
//! are never served.

pub mod hardware;
pub mod history;
pub mod io;
pub mod system;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::auth::Authorized;
use crate::collect::CollectError;
use crate::kinds;
use crate::state::AppState;

/// Every plugin served, in `pluginslist` order: what the clients read.
pub const PLUGINS: &[&str] = &[
    "cpu",
    "percpu",
    "quicklook",
    "mem",
    "memswap",
    "load",
    "system",
    "uptime",
    "core",
    "processcount",
    "processlist",
    "network",
    "diskio",
    "fs",
    "sensors",
    "gpu",
    "containers",
    "raid",
];

/// The API's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/4/pluginslist", get(pluginslist))
        .route("/api/4/all", get(all))
        .route("/api/4/{plugin}", get(plugin))
        .route("/api/4/{plugin}/{field}", get(field))
        .route("/api/4/{plugin}/{field}/{*rest}", get(unsupported))
}

/// A JSON body.
fn json_response(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// An error the way Glances' clients read one: `{"detail": …}`.
fn detail(status: StatusCode, detail: String) -> Response {
    crate::api::error(status, json!({ "detail": detail }))
}

/// Glances' answer to a plugin it does not have: 400.
fn unknown(name: &str) -> Response {
    detail(
        StatusCode::BAD_REQUEST,
        format!("Unknown plugin {name} (available plugins: {PLUGINS:?})"),
    )
}

/// A sample that could not be taken: 503.
fn failed(e: &CollectError) -> Response {
    detail(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
}

fn to_bytes(v: &Value) -> Bytes {
    Bytes::from(v.to_string())
}

/// A plugin's JSON, from the sample it is made of (`None`: no such
/// plugin).
async fn render(state: &AppState, name: &str) -> Option<Result<Bytes, CollectError>> {
    let from_metrics = |key: &'static str, f: fn(&crate::collect::metrics::Metrics) -> Value| async move {
        let m = kinds::metrics::sample(state).await?;
        Ok(m.named(key, |m| to_bytes(&f(m))))
    };
    Some(match name {
        "cpu" => from_metrics("glances/cpu", system::cpu).await,
        "percpu" => from_metrics("glances/percpu", |m| system::percpu(&m.cpu)).await,
        "load" => from_metrics("glances/load", system::load).await,
        "mem" => from_metrics("glances/mem", system::mem).await,
        "memswap" => from_metrics("glances/memswap", system::memswap).await,
        "uptime" => from_metrics("glances/uptime", system::uptime).await,
        "gpu" => {
            from_metrics("glances/gpu", |m| {
                hardware::gpu(m.gpus.as_deref().map_or(&[], Vec::as_slice))
            })
            .await
        }
        "quicklook" => quicklook(state).await.map(|v| to_bytes(&v)),
        "system" | "core" => host(state, name).await,
        "processcount" | "processlist" => processes(state, name).await,
        "network" => kinds::interfaces::sample(state)
            .await
            .map(|s| s.named("glances/network", |i| to_bytes(&io::network(i)))),
        "diskio" => kinds::disk_io::sample(state)
            .await
            .map(|s| s.named("glances/diskio", |d| to_bytes(&io::diskio(d)))),
        "fs" => kinds::disks::sample(state)
            .await
            .map(|s| s.named("glances/fs", |t| to_bytes(&io::fs(t)))),
        "sensors" => kinds::sensors::sample(state)
            .await
            .map(|s| s.named("glances/sensors", |t| to_bytes(&hardware::sensors(t)))),
        "containers" => kinds::containers::sample(state)
            .await
            .map(|s| s.named("glances/containers", |t| to_bytes(&hardware::containers(t)))),
        "raid" => kinds::arrays::sample(state)
            .await
            .map(|s| s.named("glances/raid", |a| to_bytes(&hardware::raid(a)))),
        _ => return None,
    })
}

/// `system` and `core`, from the host facts.
async fn host(state: &AppState, name: &str) -> Result<Bytes, CollectError> {
    let h = kinds::host::sample(state).await?;
    Ok(if name == "core" {
        h.named("glances/core", |h| to_bytes(&system::core(h)))
    } else {
        h.named("glances/system", |h| to_bytes(&system::system(h)))
    })
}

/// `processcount` and `processlist`, from the process scan.
async fn processes(state: &AppState, name: &str) -> Result<Bytes, CollectError> {
    let t = kinds::processes::sample(state).await?;
    if name == "processcount" {
        // Two samples: made per request (a few bytes), not kept on either.
        let running = kinds::metrics::sample(state)
            .await
            .ok()
            .and_then(|m| m.value().cpu.times.system.procs_running);
        return Ok(to_bytes(&hardware::processcount(t.value(), running)));
    }
    let cpus = state.clock().cpus;
    let mem_total = kinds::host::sample(state)
        .await
        .ok()
        .and_then(|h| h.value().mem_total_bytes)
        .unwrap_or(0);
    Ok(t.named("glances/processlist", |t| {
        to_bytes(&hardware::processlist(t, cpus, mem_total))
    }))
}

/// `quicklook`: the CPU, memory and load at a glance, with the CPU's name
/// and frequency.
async fn quicklook(state: &AppState) -> Result<Value, CollectError> {
    let m = kinds::metrics::sample(state).await?;
    let host = kinds::host::sample(state).await.ok();
    let freq = kinds::cpu_frequency::sample(state).await.ok();
    let m = m.value();
    let mem = m.memory.unwrap_or_default();
    let cores = m.cpu.per_core_percent.len();
    let hz: Vec<f64> = freq
        .iter()
        .flat_map(|f| f.value().iter().flatten())
        .filter_map(|c| c.scaling_cur_khz.or(c.cpuinfo_cur_khz))
        .collect();
    let gpus = m.gpus.as_deref().map_or(&[][..], Vec::as_slice);
    let gpu_avg = |f: fn(&crate::collect::gpu::Gpu) -> Option<f64>| {
        let v: Vec<f64> = gpus.iter().filter_map(f).collect();
        if v.is_empty() {
            0.0
        } else {
            system::round1(v.iter().sum::<f64>() / v.len() as f64)
        }
    };
    Ok(json!({
        "cpu_name": host.as_ref().and_then(|h| h.value().cpu_name.clone()),
        "cpu_hz_current": (!hz.is_empty()).then(|| hz.iter().sum::<f64>() / hz.len() as f64 * 1000.0),
        "cpu_hz": null,
        "cpu": system::round1(f64::from(m.cpu.total_percent)),
        "percpu": system::percpu(&m.cpu),
        "mem": system::percent(mem.used_bytes(), mem.total_bytes),
        "swap": system::percent(mem.swap_used_bytes(), mem.swap_total_bytes),
        "cpu_log_core": cores,
        "cpu_phys_core": host.as_ref().and_then(|h| h.value().cpu_physical_cores),
        "load": m.load_avg.map(|l| system::round1(l[0] * 100.0 / cores.max(1) as f64)),
        "gpu_mem": gpu_avg(|g| {
            let r = &g.reading;
            Some(r.memory_used_bytes? as f64 * 100.0 / r.memory_total_bytes?.max(1) as f64)
        }),
        "gpu_proc": gpu_avg(|g| g.reading.utilization_percent.map(f64::from)),
    }))
}

/// `GET /api/4/pluginslist`.
async fn pluginslist(_auth: Authorized) -> Response {
    json_response(to_bytes(&json!(PLUGINS)))
}

/// `GET /api/4/all`: every plugin; one whose sample failed is null.
async fn all(_auth: Authorized, State(state): State<Arc<AppState>>) -> Response {
    let mut out = Vec::with_capacity(64 * 1024);
    out.push(b'{');
    for (i, name) in PLUGINS.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(format!("\"{name}\":").as_bytes());
        match render(&state, name).await {
            Some(Ok(b)) => out.extend_from_slice(&b),
            _ => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
    json_response(Bytes::from(out))
}

/// `GET /api/4/{plugin}`.
async fn plugin(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Response {
    match render(&state, &name).await {
        Some(Ok(b)) => json_response(b),
        Some(Err(e)) => failed(&e),
        None => unknown(&name),
    }
}

/// `GET /api/4/{plugin}/{field}`: `{field: value}` of a plugin that is an
/// object (null where it has no such field, as Glances answers), or
/// `{field: [each item's]}` of one that is a list.
async fn field(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    Path((name, field)): Path<(String, String)>,
) -> Response {
    if field == "history" {
        return history_of(&state, &name, None, "0");
    }
    let bytes = match render(&state, &name).await {
        Some(Ok(b)) => b,
        Some(Err(e)) => return failed(&e),
        None => return unknown(&name),
    };
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    json_response(to_bytes(&pick(&value, &field)))
}

/// One field of a plugin's value, the Glances way.
pub fn pick(value: &Value, field: &str) -> Value {
    match value {
        Value::Object(o) => match o.get(field) {
            Some(v) => json!({ field: v }),
            None => Value::Null,
        },
        Value::Array(items) => {
            let values: Vec<Value> = items.iter().filter_map(|i| i.get(field).cloned()).collect();
            json!({ field: values })
        }
        _ => Value::Null,
    }
}

/// A plugin's history (`item` `None`) or one item's, its last `nb`
/// samples: Glances' 404 for a plugin without one, or an unknown item.
fn history_of(state: &AppState, name: &str, item: Option<&str>, nb: &str) -> Response {
    if !PLUGINS.contains(&name) {
        return unknown(name);
    }
    let Ok(nb) = nb.parse::<usize>() else {
        return detail(
            StatusCode::BAD_REQUEST,
            format!("the number of samples must be a whole number, got {nb:?}"),
        );
    };
    let Some(all) = history::history(state, name, nb) else {
        return detail(
            StatusCode::NOT_FOUND,
            format!(
                "Cannot get plugin history {name}: sonde keeps history of {}",
                history::PLUGINS
                    .iter()
                    .map(|(p, _)| *p)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    };
    match item {
        None => json_response(to_bytes(&all)),
        Some(item) => match all.get(item) {
            Some(points) => json_response(to_bytes(points)),
            None => detail(
                StatusCode::NOT_FOUND,
                format!("Cannot get history for plugin {name} (no item {item})"),
            ),
        },
    }
}

/// `/api/4/PLUGIN/history/N`, `/api/4/PLUGIN/ITEM/history[/N]`; limits,
/// item filters and the rest of Glances' longer paths are not served,
/// said so in JSON.
async fn unsupported(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    Path((name, field, rest)): Path<(String, String, String)>,
) -> Response {
    if field == "history" {
        return history_of(&state, &name, None, &rest);
    }
    match rest.split_once('/') {
        None if rest == "history" => return history_of(&state, &name, Some(&field), "0"),
        Some(("history", nb)) => return history_of(&state, &name, Some(&field), nb),
        _ => {}
    }
    detail(
        StatusCode::NOT_FOUND,
        format!(
            "/api/4/{name}/{field}/{rest} is not served by sonde: see /api/4/pluginslist and docs/glances.md"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_a_field_as_glances_does() {
        let mem = json!({"used": 5, "total": 9});
        assert_eq!(pick(&mem, "used"), json!({"used": 5}));
        assert_eq!(pick(&mem, "nope"), Value::Null);
        let fs = json!([{"mnt_point": "/"}, {"mnt_point": "/data"}]);
        assert_eq!(pick(&fs, "mnt_point"), json!({"mnt_point": ["/", "/data"]}));
    }
}
