//! The `interfaces` kind (`{"type":"interfaces"}` / `get_interfaces`): per
//! network interface, its state, speed, MTU, MAC and addresses, and bytes,
//! packets, errors and drops per second (computed here between samples, as
//! CPU% is) beside the raw counters; `/api/interfaces`; its `sonde check`
//! line. The counters are the metrics sample's reading of `/proc/net/dev`;
//! the sysfs attributes serve node_exporter's netclass collector too.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use futures_util::FutureExt;
use serde::Serialize;

use super::plain;
use crate::cache::{Sample, Ttl};
use crate::collect::addresses::{self, Address};
use crate::collect::files::{FileCache, is_sysfs};
use crate::collect::links;
use crate::collect::netclass::{self, NetClass};
use crate::collect::network::{self, Interface, NetRates};
use crate::collect::{CollectError, History, blocking, lock};
use crate::history::{Of, Row};
use crate::state::{AppState, Args, CheckLine, Context, Kind, Part, Shared, elapsed_ms};
use crate::wire::to_json;

/// The request's name.
pub const NAME: &str = "interfaces";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_interfaces",
    args: Args::None,
    summary: "network interfaces: state, speed, addresses, byte and packet rates",
    ttl: |c| c.ttl.metrics(),
    part,
    reply: Some(plain::reply::<Json>),
    path: "/api/interfaces",
    api: Some(plain::api::<Json>),
    series: None,
    select: None,
    check: Some(|state| check(state).boxed()),
};

/// One interfaces sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interfaces {
    /// Each interface of `/proc/net/dev` with its rates over the window.
    pub counters: Vec<(Interface, NetRates)>,
    /// Every device's sysfs attributes (`None` without `/sys/class/net`).
    pub classes: Option<Vec<NetClass>>,
    /// Every address (empty where they could not be listed: reported).
    pub addresses: Vec<Address>,
    /// Seconds the rates cover (since boot for the first sample).
    pub window_secs: f64,
}

/// What the history keeps of a sample: each interface's byte rates; none
/// from a first sample, whose rates are averages since boot.
fn rows<'a>(i: &'a Interfaces, row: &mut Row<'a>) {
    if i.window_secs > super::disk_io::FRESH_WINDOW_SECS {
        return;
    }
    for (interface, rates) in &i.counters {
        let of = || Of::Name(interface.name.as_str().into());
        row.put_of("rx_bytes_per_sec", of(), Some(rates.rx_bytes_per_sec));
        row.put_of("tx_bytes_per_sec", of(), Some(rates.tx_bytes_per_sec));
    }
}

/// Interfaces samples and the counters' recent history.
#[derive(Debug)]
pub struct InterfacesPart {
    cache: Ttl<Interfaces>,
    history: Mutex<History<Counters>>,
    /// The devices' sysfs attributes, kept open between samples.
    files: Arc<Mutex<FileCache>>,
}

/// Each interface's `/proc/net/dev` counters, by name.
type Counters = Vec<(String, [u64; 16])>;

/// This kind as a plain JSON kind ([`plain::Plain`]): its reply and
/// `/api` handler are the shared ones.
pub struct Json;

impl plain::Plain for Json {
    type Value = Interfaces;
    const KIND: &'static Kind = &KIND;
    fn sample(
        state: &AppState,
    ) -> impl std::future::Future<Output = Result<Shared<Interfaces>, CollectError>> + Send {
        sample(state)
    }
    fn json(s: &Sample<Interfaces>) -> Bytes {
        json(s)
    }
}

fn part(cx: &Context<'_>) -> Part {
    Box::new(InterfacesPart {
        cache: Ttl::new((KIND.ttl)(cx.config)).recording(cx.history.recorder(NAME, rows)),
        history: Mutex::new(History::default()),
        files: Arc::new(Mutex::new(FileCache::new(
            cx.fd_budget.readings_files / 8 * 3,
        ))),
    })
}

/// The interfaces sample: the counters from the metrics sample, the sysfs
/// attributes and addresses read on the blocking pool, the rates against
/// the newest earlier reading at least a second old (boot the first time).
pub async fn sample(state: &AppState) -> Result<Shared<Interfaces>, CollectError> {
    sample_with(state, None).await
}

/// The interfaces sample, from `metrics` where the caller has that sample
/// already (a scrape), else from the metrics kind.
pub async fn sample_with(
    state: &AppState,
    metrics: Option<Shared<crate::collect::metrics::Metrics>>,
) -> Result<Shared<Interfaces>, CollectError> {
    let part = state.part::<InterfacesPart>()?;
    let errors = state.errors();
    part.cache
        .get_or_load(|| async {
            let metrics = match metrics {
                Some(m) => m,
                None => super::metrics::sample(state).await?,
            };
            let (roots, errs, files) = (state.roots().clone(), errors.clone(), part.files.clone());
            let (classes, addresses) = blocking(errors, NAME, move || {
                // One netlink dump of the devices serves the attributes
                // and names the addresses, where the sysfs root is a sysfs
                // mount (`/sys`, or the host's under a container's
                // `--sys-root`, which the README runs with the host's
                // network); sysfs serves a fixture tree, or a host whose
                // netlink refuses.
                let links = errs.ok(
                    NAME,
                    links::read_links()
                        .map_err(|e| CollectError::read(Path::new("netlink RTM_GETLINK"), e)),
                );
                let live = links.as_deref().filter(|_| is_sysfs(&roots.sys));
                let classes = errs
                    .ok(
                        NAME,
                        netclass::read_all(&roots.sys, live, &mut lock(&files)),
                    )
                    .flatten();
                let addresses = match links {
                    Some(links) => errs
                        .ok(
                            NAME,
                            links::read_addresses()
                                .map(|ips| addresses::of(&links, ips))
                                .map_err(|e| {
                                    CollectError::read(Path::new("netlink RTM_GETADDR"), e)
                                }),
                        )
                        .unwrap_or_default(),
                    None => Vec::new(),
                };
                (classes, addresses)
            })
            .await?;
            let now = Instant::now();
            let mut history = lock(&part.history);
            let (window_secs, base) = history.window(now, state.clock().secs_since_boot());
            let counters: Vec<(Interface, NetRates)> = metrics
                .value()
                .networks
                .iter()
                .map(|i| {
                    let then =
                        base.and_then(|b| b.iter().find(|(n, _)| *n == i.name).map(|(_, c)| c));
                    (i.clone(), network::rates(&i.counters, then, window_secs))
                })
                .collect();
            history.push(
                now,
                counters
                    .iter()
                    .map(|(i, _)| (i.name.clone(), i.counters))
                    .collect(),
            );
            Ok(Interfaces {
                counters,
                classes,
                addresses,
                window_secs,
            })
        })
        .await
}

/// One address in the reply.
#[derive(Debug, Serialize)]
struct Addr<'a> {
    family: &'static str,
    address: &'a str,
    prefix: u8,
}

/// One interface of the reply.
#[derive(Debug, Serialize)]
struct Entry<'a> {
    name: &'a str,
    /// `operstate` is `up`.
    up: Option<bool>,
    /// The kernel's `operstate` (`up`, `down`, `unknown`, `dormant`…).
    operstate: Option<&'a str>,
    /// Link speed, Mbit/s; null where the driver does not know.
    speed_mbps: Option<i64>,
    mtu: Option<i64>,
    mac: Option<&'a str>,
    addresses: Vec<Addr<'a>>,
    #[serde(flatten)]
    rates: NetRates,
    /// Cumulative counters since the interface appeared.
    rx_bytes: u64,
    tx_bytes: u64,
    rx_packets: u64,
    tx_packets: u64,
    rx_errors: u64,
    tx_errors: u64,
    rx_drops: u64,
    tx_drops: u64,
}

/// The `interfaces` reply.
#[derive(Debug, Serialize)]
struct Reply<'a> {
    /// Milliseconds the rates cover.
    window_ms: u64,
    interfaces: Vec<Entry<'a>>,
}

/// The reply's JSON, made once per sample.
pub fn json(s: &Sample<Interfaces>) -> Bytes {
    s.json(|v| {
        let interfaces = v
            .counters
            .iter()
            .map(|(i, rates)| {
                let class = v.classes.iter().flatten().find(|c| c.name == i.name);
                Entry {
                    name: &i.name,
                    up: class.map(is_up),
                    operstate: class.map(|c| c.operstate.as_str()),
                    speed_mbps: class.and_then(|c| c.speed).filter(|s| *s >= 0),
                    mtu: class.and_then(|c| c.number("mtu_bytes")),
                    mac: class.map(|c| c.address.as_str()).filter(|a| !a.is_empty()),
                    addresses: v
                        .addresses
                        .iter()
                        .filter(|a| a.interface == i.name)
                        .map(|a| Addr {
                            family: a.family,
                            address: &a.address,
                            prefix: a.prefix,
                        })
                        .collect(),
                    rates: *rates,
                    rx_bytes: i.counters[0],
                    rx_packets: i.counters[1],
                    rx_errors: i.counters[2],
                    rx_drops: i.counters[3],
                    tx_bytes: i.counters[8],
                    tx_packets: i.counters[9],
                    tx_errors: i.counters[10],
                    tx_drops: i.counters[11],
                }
            })
            .collect();
        to_json(&Reply {
            window_ms: (v.window_secs * 1000.0) as u64,
            interfaces,
        })
    })
}

/// Whether an interface carries traffic: its operstate is `up`, or
/// `unknown` (loopback, tunnels: drivers that do not track it) with the
/// interface set up (`IFF_UP`).
fn is_up(c: &NetClass) -> bool {
    c.operstate == "up" || (c.operstate == "unknown" && c.flags().is_some_and(|f| f & 1 == 1))
}

/// `sonde check`: each interface, its state and addresses.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = Instant::now();
    let line = match sample(state).await {
        Ok(s) => {
            let v = s.value();
            let list: Vec<String> = v
                .counters
                .iter()
                .map(|(i, _)| {
                    let state = v
                        .classes
                        .iter()
                        .flatten()
                        .find(|c| c.name == i.name)
                        .map_or("?", |c| c.operstate.as_str());
                    let addrs: Vec<&str> = v
                        .addresses
                        .iter()
                        .filter(|a| a.interface == i.name)
                        .map(|a| a.address.as_str())
                        .collect();
                    format!("{} {state} [{}]", i.name, addrs.join(" "))
                })
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
