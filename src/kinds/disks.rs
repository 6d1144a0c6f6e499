//! The `disks` kind (`{"type":"disks"}` / `get_disks`): mounted
//! filesystems, each network or FUSE mount measured with a timeout; its
//! JSON reply, `/api/disks` and its `sonde check` line. The same reading
//! serves node_exporter's filesystem collector (`node::filesystem`).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::FutureExt;
use serde::Serialize;

use super::plain;
use crate::cache::{Sample, Ttl};
use crate::collect::disks::{self as collector, Disk, DiskTable, ExportFilter, MountProbe};
use crate::collect::{CollectError, blocking};
use crate::state::{AppState, Args, CheckLine, Context, Kind, Part, Shared, elapsed_ms, gib};
use crate::wire::to_json;

/// The request's name.
pub const NAME: &str = "disks";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_disks",
    args: Args::None,
    summary: "mounted filesystems: size, free, available, drive temperature",
    ttl: |c| c.ttl.disks(),
    part,
    reply: Some(plain::reply::<Json>),
    path: "/api/disks",
    api: Some(plain::api::<Json>),
    series: None,
    select: None,
    check: Some(|state| check(state).boxed()),
};

/// The disks samples and the mount prober.
#[derive(Debug)]
pub struct DisksPart {
    /// Disks samples.
    cache: Ttl<DiskTable>,
    /// Measures mounts with a timeout each, remembering hung ones.
    probe: MountProbe,
    /// node_exporter's filesystem selection, measured with the same calls
    /// (`None` when its collector is off).
    export: Option<Arc<ExportFilter>>,
}

/// This kind as a plain JSON kind ([`plain::Plain`]): its reply and
/// `/api` handler are the shared ones.
pub struct Json;

impl plain::Plain for Json {
    type Value = DiskTable;
    const KIND: &'static Kind = &KIND;
    fn sample(
        state: &AppState,
    ) -> impl std::future::Future<Output = Result<Shared<DiskTable>, CollectError>> + Send {
        sample(state)
    }
    fn json(s: &Sample<DiskTable>) -> Bytes {
        json(s)
    }
}

fn part(cx: &Context<'_>) -> Part {
    Box::new(DisksPart {
        cache: Ttl::new((KIND.ttl)(cx.config)),
        probe: MountProbe::new(cx.config.limits.mount_timeout()),
        export: cx.config.exporter.enabled("filesystem").then(|| {
            Arc::new(ExportFilter {
                mount_points_exclude: cx.config.exporter.filesystem_mount_points_exclude.clone(),
                fs_types_exclude: cx.config.exporter.filesystem_fs_types_exclude.clone(),
            })
        }),
    })
}

/// The disks sample; an unreadable mount table is reported and is an
/// error (there is no honest empty answer to give instead). A mount that
/// did not answer in time is reported as a timeout.
pub async fn sample(state: &AppState) -> Result<Shared<DiskTable>, CollectError> {
    let part = state.part::<DisksPart>()?;
    let (roots, probe) = (state.roots().clone(), part.probe.clone());
    let export = part.export.clone();
    let errors = state.errors();
    part.cache
        .get_or_load(|| async move {
            let mut table = blocking(errors, NAME, move || {
                collector::read(&roots, &probe, export.as_deref())
            })
            .await?
            .inspect_err(|e| {
                errors.report(NAME, e);
            })?;
            // The drives' temperatures: the one reading of every sensor.
            if table.disks.iter().any(|d| d.drive.is_some())
                && let Ok(thermal) = super::sensors::sample(state).await
            {
                for disk in &mut table.disks {
                    disk.temperature_celsius = disk
                        .drive
                        .as_deref()
                        .and_then(|d| thermal.value().of_device(d));
                }
            }
            for hung in &table.unavailable {
                let e = CollectError::TimedOut {
                    what: format!("statvfs of {} ({})", hung.mount_point, hung.source),
                    after: state.config.limits.mount_timeout(),
                };
                errors.report(NAME, &e);
            }
            Ok(table)
        })
        .await
}

/// The reply's JSON, made once per sample: the measured filesystems
/// (socktop's array has no place for the unavailable ones; `/metrics`
/// reports them).
pub fn json(s: &Sample<DiskTable>) -> Bytes {
    s.json(|t| to_json(&t.disks.iter().map(DiskEntry::from).collect::<Vec<_>>()))
}

/// One entry of the `disks` reply.
#[derive(Debug, Clone, Serialize)]
pub struct DiskEntry {
    /// Device name, e.g. `nvme0n1p2`.
    pub name: String,
    /// Size, bytes.
    pub total: u64,
    /// Available to unprivileged users, bytes.
    pub available: u64,
    /// Drive temperature, °C, or null.
    pub temperature: Option<f32>,
    /// True for a partition.
    pub is_partition: bool,
    /// Additive: mount point.
    pub mount_point: String,
    /// Additive: filesystem type.
    pub fs_type: String,
    /// Additive: used, bytes.
    pub used: u64,
}

impl From<&Disk> for DiskEntry {
    fn from(d: &Disk) -> Self {
        DiskEntry {
            name: d.name.clone(),
            total: d.total_bytes,
            available: d.available_bytes,
            temperature: d.temperature_celsius,
            is_partition: d.is_partition,
            mount_point: d.mount_point.clone(),
            fs_type: d.fs_type.clone(),
            used: d.used_bytes,
        }
    }
}

/// `sonde check`: every filesystem, hung ones marked.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = Instant::now();
    let line = match sample(state).await {
        Ok(d) => {
            let table = d.value();
            let list: Vec<String> = table
                .disks
                .iter()
                .map(|d| format!("{} {} {}", d.mount_point, d.fs_type, gib(d.total_bytes)))
                .chain(
                    table
                        .unavailable
                        .iter()
                        .map(|u| format!("{} {} NOT ANSWERING", u.mount_point, u.fs_type)),
                )
                .collect();
            let ms = elapsed_ms(timed);
            CheckLine::ok(
                NAME,
                format!("{} ({}) … {ms:.1} ms", list.len(), list.join(", ")),
            )
        }
        Err(e) => CheckLine::broken(NAME, format!("BROKEN: {e}")),
    };
    vec![line]
}
