//! The `disk_io` kind (`{"type":"disk_io"}` / `get_disk_io`): per block
//! device, bytes and operations per second and busy %, computed here
//! between samples as CPU% is, beside the raw counters; `/api/disk_io`;
//! its `sonde check` line. Whole disks (the devices node_exporter's
//! diskstats keeps: `--diskstats-device-exclude`). The same reading
//! serves node_exporter's diskstats collector.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt;
use serde::Serialize;

use super::plain;
use crate::cache::{Sample, Ttl};
use crate::collect::diskstats::{self as collector, BlockDevice, DiskStat, Identity, IoRates};
use crate::collect::{CollectError, History, blocking, lock};
use crate::history::{Of, Row};
use crate::state::{AppState, Args, CheckLine, Context, Kind, Part, Shared, elapsed_ms};
use crate::wire::to_json;

/// The request's name.
pub const NAME: &str = "disk_io";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_disk_io",
    args: Args::None,
    summary: "block devices: read and write rates, IOPS, busy share",
    ttl: |c| c.ttl.metrics(),
    part,
    reply: Some(plain::reply::<Json>),
    path: "/api/disk_io",
    api: Some(plain::api::<Json>),
    series: None,
    select: None,
    check: Some(|state| check(state).boxed()),
};

/// One disk I/O sample: every block device, with its rates.
#[derive(Debug, Clone)]
pub struct DiskIo {
    /// Every device of `/proc/diskstats`, with its rates over the window.
    pub devices: Vec<(BlockDevice, IoRates)>,
    /// Seconds the rates cover (since boot for the first sample).
    pub window_secs: f64,
    /// The devices the reply leaves out (`--diskstats-device-exclude`:
    /// partitions, loop and RAM disks).
    pub exclude: Arc<crate::collect::pattern::Pattern>,
}

impl DiskIo {
    /// The devices the reply lists.
    pub fn listed(&self) -> impl Iterator<Item = &(BlockDevice, IoRates)> {
        self.devices
            .iter()
            .filter(|(d, _)| !self.exclude.is_match(&d.stat.name))
    }
}

/// What the history keeps of a sample: each listed device's rates; none
/// from a first sample, whose rates are averages since boot.
fn rows<'a>(d: &'a DiskIo, row: &mut Row<'a>) {
    if d.window_secs > FRESH_WINDOW_SECS {
        return;
    }
    for (device, rates) in d.listed() {
        let of = || Of::Name(device.stat.name.as_str().into());
        row.put_of("read_bytes_per_sec", of(), Some(rates.read_bytes_per_sec));
        row.put_of("write_bytes_per_sec", of(), Some(rates.write_bytes_per_sec));
        row.put_of("busy_percent", of(), Some(rates.busy_percent));
    }
}

/// Rates over a longer window are the since-boot averages of a first
/// sample: not kept as if they were now.
pub const FRESH_WINDOW_SECS: f64 = 60.0;

/// Disk I/O samples and the counters' recent history.
#[derive(Debug)]
pub struct DiskIoPart {
    cache: Ttl<DiskIo>,
    history: Mutex<History<Vec<DiskStat>>>,
    exclude: Arc<crate::collect::pattern::Pattern>,
    /// Each served device's identity and when it was read: udev's entry
    /// changes rarely (a new filesystem), so it is read again only after
    /// [`IDENTITY_AGE`].
    identities: Arc<Mutex<Identities>>,
    /// `/proc/diskstats`, kept open (the hardware kinds' share).
    files: Arc<crate::collect::sysfs::Kept>,
}

/// Each device's identity, by major and minor, with when it was read.
type Identities = HashMap<(u32, u32), (Instant, Arc<Identity>)>;

/// How long a device's udev identity is reused.
const IDENTITY_AGE: Duration = Duration::from_secs(60);

/// This kind as a plain JSON kind ([`plain::Plain`]): its reply and
/// `/api` handler are the shared ones.
pub struct Json;

impl plain::Plain for Json {
    type Value = DiskIo;
    const KIND: &'static Kind = &KIND;
    fn sample(
        state: &AppState,
    ) -> impl std::future::Future<Output = Result<Shared<DiskIo>, CollectError>> + Send {
        sample(state)
    }
    fn json(s: &Sample<DiskIo>) -> Bytes {
        json(s)
    }
}

fn part(cx: &Context<'_>) -> Part {
    Box::new(DiskIoPart {
        cache: Ttl::new((KIND.ttl)(cx.config)).recording(cx.history.recorder(NAME, rows)),
        history: Mutex::new(History::default()),
        exclude: Arc::new(cx.config.exporter.diskstats_device_exclude.clone()),
        identities: Arc::default(),
        files: cx.hardware_files.clone(),
    })
}

/// The disk I/O sample: read on the blocking pool, its rates against the
/// newest earlier reading at least a second old (or boot, the first time:
/// a since-boot average rather than no answer).
pub async fn sample(state: &AppState) -> Result<Shared<DiskIo>, CollectError> {
    let part = state.part::<DiskIoPart>()?;
    let errors = state.errors();
    part.cache
        .get_or_load(|| async {
            let roots = state.roots().clone();
            let (exclude, identities) = (part.exclude.clone(), part.identities.clone());
            let files = part.files.clone();
            let devices = blocking(errors, NAME, move || {
                let stats = collector::read_stats(&roots, &files)?;
                Ok::<_, CollectError>(identify(&roots, stats, &exclude, &identities))
            })
            .await?
            .inspect_err(|e| {
                errors.report(NAME, e);
            })?;
            let now = Instant::now();
            let mut history = lock(&part.history);
            let (window_secs, base) = history.window(now, state.clock().secs_since_boot());
            let devices: Vec<(BlockDevice, IoRates)> = devices
                .into_iter()
                .map(|d| {
                    let then = base.and_then(|b| b.iter().find(|s| s.name == d.stat.name));
                    let rates = collector::rates(&d.stat, then, window_secs);
                    (d, rates)
                })
                .collect();
            history.push(now, devices.iter().map(|(d, _)| d.stat.clone()).collect());
            Ok(DiskIo {
                devices,
                window_secs,
                exclude: part.exclude.clone(),
            })
        })
        .await
}

/// Each device with its identity: read for the served devices (from the
/// cache while fresh), empty for those the filter leaves out.
fn identify(
    roots: &crate::collect::Roots,
    stats: Vec<DiskStat>,
    exclude: &crate::collect::pattern::Pattern,
    identities: &Mutex<Identities>,
) -> Vec<BlockDevice> {
    let mut known = lock(identities);
    let now = Instant::now();
    known.retain(|_, (at, _)| now.duration_since(*at) < IDENTITY_AGE);
    stats
        .into_iter()
        .map(|stat| {
            let identity = if exclude.is_match(&stat.name) {
                Arc::default()
            } else {
                known
                    .entry((stat.major, stat.minor))
                    .or_insert_with(|| (now, Arc::new(collector::read_identity(roots, &stat))))
                    .1
                    .clone()
            };
            BlockDevice { stat, identity }
        })
        .collect()
}

/// One device of the reply.
#[derive(Debug, Serialize)]
struct Device<'a> {
    name: &'a str,
    #[serde(flatten)]
    rates: IoRates,
    /// I/Os in flight now.
    in_flight: u64,
    /// Cumulative counters since boot.
    read_bytes: u64,
    written_bytes: u64,
    reads: u64,
    writes: u64,
    io_time_ms: u64,
    /// udev's model, if known.
    model: Option<&'a str>,
    /// A spinning disk.
    rotational: bool,
}

/// The `disk_io` reply.
#[derive(Debug, Serialize)]
struct Reply<'a> {
    /// Milliseconds the rates cover.
    window_ms: u64,
    devices: Vec<Device<'a>>,
}

/// The reply's JSON, made once per sample: the devices the diskstats
/// filter keeps (whole disks).
pub fn json(s: &Sample<DiskIo>) -> Bytes {
    s.json(|v| {
        let devices = v
            .listed()
            .map(|(d, rates)| Device {
                name: &d.stat.name,
                rates: *rates,
                in_flight: d.stat.get(8),
                read_bytes: d.stat.get(2).saturating_mul(512),
                written_bytes: d.stat.get(6).saturating_mul(512),
                reads: d.stat.get(0),
                writes: d.stat.get(4),
                io_time_ms: d.stat.get(9),
                model: Some(d.udev("ID_MODEL")).filter(|m| !m.is_empty()),
                rotational: d.rotational(),
            })
            .collect();
        to_json(&Reply {
            window_ms: (v.window_secs * 1000.0) as u64,
            devices,
        })
    })
}

/// `sonde check`: each whole disk's activity.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = Instant::now();
    let line = match sample(state).await {
        Ok(s) => {
            let list: Vec<String> = s
                .value()
                .listed()
                .map(|(d, r)| format!("{} {:.0}% busy", d.stat.name, r.busy_percent))
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
