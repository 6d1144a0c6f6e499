//! The `arrays` kind (`{"type":"arrays"}` / `get_arrays`): Linux software
//! RAID arrays with their state, members and any resync or recovery in
//! progress, and ZFS pools with their state and the ARC's size;
//! `/api/arrays`; its `sonde check` line. The same readings serve
//! node_exporter's mdadm and zfs collectors.

use bytes::Bytes;
use futures_util::FutureExt;
use serde::Serialize;

use super::loaded;
use super::plain;
use crate::cache::Sample;
use crate::collect::mdstat::{self, MdArray, SysfsArray};
use crate::collect::sysfs::Kept;
use crate::collect::zfs::{self, Zfs};
use crate::collect::{CollectError, Roots};
use crate::state::{AppState, Args, CheckLine, Context, Kind, Part, Shared};
use crate::wire::to_json;

/// The request's name.
pub const NAME: &str = "arrays";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_arrays",
    args: Args::None,
    summary: "software RAID arrays and ZFS pools and ARC",
    ttl: |c| c.ttl.disks(),
    part,
    reply: Some(plain::reply::<Json>),
    path: "/api/arrays",
    api: Some(plain::api::<Json>),
    series: None,
    select: None,
    check: Some(|state| check(state).boxed()),
};

/// One sample.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Arrays {
    /// `/proc/mdstat`'s arrays (`None` without the md driver).
    pub md: Option<Vec<MdArray>>,
    /// The md arrays sysfs lists.
    pub md_sysfs: Vec<SysfsArray>,
    /// What OpenZFS reports (`None` without the module).
    pub zfs: Option<Zfs>,
}

/// This kind as a plain JSON kind ([`plain::Plain`]): its reply and
/// `/api` handler are the shared ones.
pub struct Json;

impl plain::Plain for Json {
    type Value = Arrays;
    const KIND: &'static Kind = &KIND;
    fn sample(
        state: &AppState,
    ) -> impl std::future::Future<Output = Result<Shared<Arrays>, CollectError>> + Send {
        sample(state)
    }
    fn json(s: &Sample<Arrays>) -> Bytes {
        json(s)
    }
}

fn part(cx: &Context<'_>) -> Part {
    loaded::part::<Arrays>(cx, (KIND.ttl)(cx.config))
}

fn read(roots: &Roots, files: &Kept) -> Result<Arrays, CollectError> {
    Ok(Arrays {
        md: mdstat::read(roots, files)?,
        md_sysfs: mdstat::sysfs_arrays(roots, files),
        zfs: zfs::read(roots, files),
    })
}

/// The arrays, from the cache or read now.
pub async fn sample(state: &AppState) -> Result<Shared<Arrays>, CollectError> {
    loaded::sample(state, NAME, read).await
}

/// A sync in progress.
#[derive(Debug, Serialize)]
struct Sync {
    percent: Option<f64>,
    finish_seconds: Option<f64>,
    bytes_per_second: Option<f64>,
}

/// One md array of the reply.
#[derive(Debug, Serialize)]
struct Md<'a> {
    name: &'a str,
    level: &'a str,
    state: &'a str,
    /// Members missing or failed: redundancy is reduced.
    degraded: bool,
    disks: u64,
    active: u64,
    failed: u64,
    spare: u64,
    missing: u64,
    size_bytes: u64,
    sync: Option<Sync>,
    members: &'a [String],
}

fn md(a: &MdArray) -> Md<'_> {
    let syncing = matches!(
        a.state.as_str(),
        "recovering" | "resyncing" | "checking" | "reshaping"
    );
    Md {
        name: &a.name,
        level: &a.level,
        state: &a.state,
        degraded: a.degraded.map_or(a.disks_down > 0, |d| d > 0),
        disks: a.disks_total,
        active: a.disks_active,
        failed: a.disks_failed,
        spare: a.disks_spare,
        missing: a.disks_down,
        size_bytes: a.blocks.saturating_mul(1024),
        sync: syncing.then(|| Sync {
            percent: a.sync_percent,
            finish_seconds: a.sync_finish_minutes.map(|m| m * 60.0),
            bytes_per_second: a.sync_speed_kib.map(|k| k * 1024.0),
        }),
        members: &a.members,
    }
}

/// One ZFS pool of the reply.
#[derive(Debug, Serialize)]
struct Pool<'a> {
    name: &'a str,
    state: Option<&'a str>,
    /// Any state but `ONLINE`.
    degraded: bool,
}

/// The ZFS ARC.
#[derive(Debug, Serialize)]
struct ArcReply {
    size_bytes: f64,
    target_bytes: Option<f64>,
    max_bytes: Option<f64>,
    hits: Option<f64>,
    misses: Option<f64>,
}

/// The reply.
#[derive(Debug, Serialize)]
struct Reply<'a> {
    md: Vec<Md<'a>>,
    zfs_pools: Vec<Pool<'a>>,
    /// The ARC's size, target and ceiling, and its hits and misses.
    zfs_arc: Option<ArcReply>,
}

fn reply(a: &Arrays) -> Reply<'_> {
    let zfs_pools = a
        .zfs
        .iter()
        .flat_map(|z| &z.pools)
        .map(|p| Pool {
            name: &p.name,
            state: p.state.as_deref(),
            degraded: p
                .state
                .as_deref()
                .is_some_and(|s| !s.eq_ignore_ascii_case("online")),
        })
        .collect();
    let zfs_arc = a.zfs.as_ref().and_then(|z| {
        Some(ArcReply {
            size_bytes: z.stat("arcstats", "size")?,
            target_bytes: z.stat("arcstats", "c"),
            max_bytes: z.stat("arcstats", "c_max"),
            hits: z.stat("arcstats", "hits"),
            misses: z.stat("arcstats", "misses"),
        })
    });
    Reply {
        md: a.md.iter().flatten().map(md).collect(),
        zfs_pools,
        zfs_arc,
    }
}

/// The reply's JSON, made once per sample.
pub fn json(s: &Sample<Arrays>) -> Bytes {
    s.json(|a| to_json(&reply(a)))
}

/// `sonde check`: each array and pool with its state; a degraded one in
/// capitals, so it stands out.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = std::time::Instant::now();
    plain::check_line(NAME, sample(state).await, timed, |a| {
        let r = reply(a);
        let flag = |degraded: bool| if degraded { ", DEGRADED" } else { "" };
        let mut items: Vec<String> =
            r.md.iter()
                .map(|m| {
                    let sync = m
                        .sync
                        .as_ref()
                        .and_then(|s| s.percent)
                        .map(|p| format!(" {p}%"))
                        .unwrap_or_default();
                    format!(
                        "{} {} {}{sync}{}",
                        m.name,
                        m.level,
                        m.state,
                        flag(m.degraded)
                    )
                })
                .collect();
        items.extend(r.zfs_pools.iter().map(|p| {
            format!(
                "pool {} {}{}",
                p.name,
                p.state.unwrap_or("unknown"),
                flag(p.degraded)
            )
        }));
        if items.is_empty() {
            "no md arrays or ZFS pools on this host".to_owned()
        } else {
            items.join("; ")
        }
    })
}
