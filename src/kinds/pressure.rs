//! The `pressure` kind (`{"type":"pressure"}` / `get_pressure`): how long
//! tasks waited for CPU, memory and I/O (pressure stall information:
//! averages over 10, 60 and 300 s and the total), null for a resource the
//! kernel does not report; `/api/pressure`; its `sonde check` line. The
//! same reading serves node_exporter's pressure collector.

use bytes::Bytes;
use futures_util::FutureExt;

use super::{loaded, plain};
use crate::cache::Sample;
use crate::collect::CollectError;
use crate::collect::pressure::{self as collector, PressureReading};
use crate::history::{Of, Row};
use crate::state::{AppState, Args, CheckLine, Context, Kind, Part, Shared, elapsed_ms};
use crate::wire::to_json;

/// The request's name.
pub const NAME: &str = "pressure";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "get_pressure",
    args: Args::None,
    summary: "pressure stall information for CPU, memory and I/O",
    ttl: |c| c.ttl.metrics(),
    part,
    reply: Some(plain::reply::<Json>),
    path: "/api/pressure",
    api: Some(plain::api::<Json>),
    series: None,
    select: None,
    check: Some(|state| check(state).boxed()),
};

/// This kind as a plain JSON kind ([`plain::Plain`]): its reply and
/// `/api` handler are the shared ones.
pub struct Json;

impl plain::Plain for Json {
    type Value = PressureReading;
    const KIND: &'static Kind = &KIND;
    fn sample(
        state: &AppState,
    ) -> impl std::future::Future<Output = Result<Shared<PressureReading>, CollectError>> + Send
    {
        sample(state)
    }
    fn json(s: &Sample<PressureReading>) -> Bytes {
        json(s)
    }
}

fn part(cx: &Context<'_>) -> Part {
    loaded::charted::<PressureReading>(cx, (KIND.ttl)(cx.config), NAME, rows)
}

/// What the history keeps of a sample: each resource's 10 s averages,
/// `some` and `full`.
fn rows<'a>(p: &'a PressureReading, row: &mut Row<'a>) {
    for (name, pressure) in p.present() {
        let avg = |s: Option<crate::collect::pressure::Stall>| s.map(|s| s.avg10);
        row.put_of("some_avg10", Of::Name(name.into()), avg(pressure.some));
        row.put_of("full_avg10", Of::Name(name.into()), avg(pressure.full));
    }
}

/// The pressure sample, from its cache or read now on the blocking pool.
pub async fn sample(state: &AppState) -> Result<Shared<PressureReading>, CollectError> {
    loaded::sample(state, NAME, collector::read).await
}

/// The reply's JSON, made once per sample.
pub fn json(s: &Sample<PressureReading>) -> Bytes {
    s.json(to_json)
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
