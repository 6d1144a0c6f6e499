//! The `host` kind (`{"type":"host"}` / `get_host`): facts about the
//! machine that rarely change, its IP addresses among them, collected when
//! asked and kept a minute; its JSON reply, `/api/host` and its
//! `sonde check` line.

use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use serde::Serialize;

use super::plain;
use crate::cache::{Sample, Ttl};
use crate::collect::addresses::Address;
use crate::collect::host::{self as collector, HostFacts};
use crate::collect::{CollectError, blocking};
use crate::state::{AppState, Args, CheckLine, Context, Kind, Part, Shared};
use crate::wire::to_json;

/// The request's name.
pub const NAME: &str = "host";

/// How long the facts are kept (and `/api/host`'s max-age): the host name
/// and the addresses can change under a running server.
const MAX_AGE: Duration = Duration::from_secs(60);

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_host",
    args: Args::None,
    summary: "static host facts: OS, kernel, CPU model and cores, memory, addresses",
    ttl: |_| MAX_AGE,
    part,
    reply: Some(plain::reply::<Json>),
    path: "/api/host",
    api: Some(plain::api::<Json>),
    series: None,
    select: None,
    check: Some(|state| check(state).boxed()),
};

/// The host facts, as last collected.
#[derive(Debug)]
pub struct HostPart {
    /// Kept [`MAX_AGE`].
    cache: Ttl<HostFacts>,
}

/// This kind as a plain JSON kind ([`plain::Plain`]): its reply and
/// `/api` handler are the shared ones.
pub struct Json;

impl plain::Plain for Json {
    type Value = HostFacts;
    const KIND: &'static Kind = &KIND;
    fn sample(
        state: &AppState,
    ) -> impl std::future::Future<Output = Result<Shared<HostFacts>, CollectError>> + Send {
        sample(state)
    }
    fn json(s: &Sample<HostFacts>) -> Bytes {
        json(s)
    }
}

fn part(cx: &Context<'_>) -> Part {
    Box::new(HostPart {
        cache: Ttl::new((KIND.ttl)(cx.config)),
    })
}

/// The host facts; the disk total comes from the disks sample
/// ([`super::disks::sample`], whose failure was reported where it happened
/// and leaves the total unknown).
pub async fn sample(state: &AppState) -> Result<Shared<HostFacts>, CollectError> {
    let part = state.part::<HostPart>()?;
    let (roots, errors) = (state.roots().clone(), state.errors().clone());
    part.cache
        .get_or_load(|| async {
            let disks = super::disks::sample(state).await;
            let disks = disks.map(|t| t.value().disks.clone()).unwrap_or_default();
            blocking(state.errors(), NAME, move || {
                collector::collect(&roots, &disks, &errors)
            })
            .await
        })
        .await
}

/// The reply's JSON, made once per sample.
pub fn json(s: &Sample<HostFacts>) -> Bytes {
    s.json(|h| to_json(&Host::from(h)))
}

/// `sonde check`: name, OS, kernel, virtualization.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let line = match sample(state).await {
        Ok(h) => {
            let h = h.value();
            CheckLine::ok(
                NAME,
                format!(
                    "{} — {} — kernel {} — {}",
                    h.hostname.as_deref().unwrap_or("(no hostname)"),
                    h.os.as_deref().unwrap_or("(unknown OS)"),
                    h.kernel_version.as_deref().unwrap_or("?"),
                    h.virtualization
                        .as_deref()
                        .unwrap_or("virtualization unknown")
                ),
            )
        }
        Err(e) => CheckLine::broken(NAME, format!("BROKEN: {e}")),
    };
    vec![line]
}

/// The `host` reply: static facts, null where unknown, borrowing from the
/// sample.
#[derive(Debug, Clone, Serialize)]
pub struct Host<'a> {
    /// Host name.
    pub hostname: Option<&'a str>,
    /// OS name and version.
    pub os: Option<&'a str>,
    /// Kernel release.
    pub kernel_version: Option<&'a str>,
    /// CPU architecture.
    pub arch: &'a str,
    /// CPU model.
    pub cpu_name: Option<&'a str>,
    /// Logical CPUs.
    pub cpu_cores: Option<u32>,
    /// Physical cores.
    pub cpu_physical_cores: Option<u32>,
    /// Memory, bytes.
    pub mem_total: Option<u64>,
    /// Swap, bytes.
    pub swap_total: Option<u64>,
    /// Sum of filesystem sizes, bytes.
    pub disk_total: Option<u64>,
    /// Boot time, Unix seconds.
    pub boot_time: Option<u64>,
    /// Hypervisor or container, `none` on bare metal.
    pub virtualization: Option<&'a str>,
    /// sonde's version.
    pub version: &'static str,
    /// Additive: IP addresses, each with its interface.
    pub addresses: &'a [Address],
}

impl<'a> From<&'a HostFacts> for Host<'a> {
    fn from(h: &'a HostFacts) -> Self {
        Host {
            hostname: h.hostname.as_deref(),
            os: h.os.as_deref(),
            kernel_version: h.kernel_version.as_deref(),
            arch: &h.arch,
            cpu_name: h.cpu_name.as_deref(),
            cpu_cores: h.cpu_cores,
            cpu_physical_cores: h.cpu_physical_cores,
            mem_total: h.mem_total_bytes,
            swap_total: h.swap_total_bytes,
            disk_total: h.disk_total_bytes,
            boot_time: h.boot_time_secs,
            virtualization: h.virtualization.as_deref(),
            version: crate::VERSION,
            addresses: &h.addresses,
        }
    }
}
