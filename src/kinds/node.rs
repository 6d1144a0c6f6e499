//! The `node` kind: node_exporter's collectors ([`crate::node`]) on
//! `/metrics`, and a `sonde check` line for each. It has no WebSocket
//! reply of its own: the readings people look at there are the other
//! kinds'.
//!
//! A scrape runs the collectors the flags turn on: those reading files
//! together in one trip to the blocking pool, those deriving from a kind's
//! sample from that kind's cache. The whole result is kept for the metrics
//! TTL, so scrapers arriving together share it; a scrape naming
//! collectors (`collect[]`) runs just those, uncached.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::FutureExt;

use crate::cache::Ttl;
use crate::collect::files::FileCache;
use crate::collect::{CollectError, blocking};
use crate::config::Exporter;
use crate::node::{self, NodeCollector, Outcome, Read, Scrape, Source, Status};
use crate::state::{AppState, CheckLine, Context, Kind, Part, elapsed_ms};

/// The kind's name.
pub const NAME: &str = "node";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "",
    keyed: false,
    part,
    reply: None,
    routes: |r| r,
    series: None,
    check: Some(|state| check(state).boxed()),
};

/// The collectors that run and their last results.
#[derive(Debug)]
pub struct NodePart {
    /// The collectors the flags turn on, in table order.
    enabled: Vec<&'static NodeCollector>,
    /// Their filters.
    options: Arc<Exporter>,
    /// The last full scrape.
    cache: Ttl<Arc<Vec<Outcome>>>,
    /// The collectors' files, kept open between scrapes.
    files: Arc<Mutex<FileCache>>,
}

fn part(cx: &Context<'_>) -> Part {
    Box::new(NodePart {
        enabled: node::selected(&cx.config.exporter, &[]),
        options: Arc::new(cx.config.exporter.clone()),
        cache: Ttl::new(cx.config.ttl.metrics()),
        files: Arc::new(Mutex::new(FileCache::new(cx.fd_budget.readings_files / 8))),
    })
}

/// Why a `collect[]` cannot be served.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    /// No collector has that name.
    #[error("unknown collector {0:?}")]
    Unknown(String),
    /// It exists but the flags turned it off.
    #[error("collector {0:?} is turned off on this agent")]
    Off(String),
}

/// The collectors `collect[]` names, checked: every name must be a
/// collector this agent runs (`sonde` names the agent's own series and is
/// no collector).
pub fn check_selection(state: &AppState, collect: &[String]) -> Result<(), SelectError> {
    let part = state
        .part::<NodePart>()
        .map_err(|_| SelectError::Unknown(NAME.to_owned()))?;
    for name in collect.iter().filter(|n| *n != "sonde") {
        if !node::TABLE.iter().any(|c| c.name == name) {
            return Err(SelectError::Unknown(name.clone()));
        }
        if !part.enabled.iter().any(|c| c.name == name) {
            return Err(SelectError::Off(name.clone()));
        }
    }
    Ok(())
}

/// One scrape's outcomes, in table order: every enabled collector (shared
/// for the metrics TTL), or those `collect[]` names.
pub async fn scrape(
    state: &AppState,
    collect: &[String],
) -> Result<Arc<Vec<Outcome>>, CollectError> {
    let part = state.part::<NodePart>()?;
    if collect.is_empty() {
        let sample = part
            .cache
            .get_or_load(|| async {
                Ok::<_, CollectError>(Arc::new(run(state, part, &part.enabled).await))
            })
            .await?;
        return Ok(Arc::clone(sample.value()));
    }
    let chosen = node::selected(&part.options, collect);
    Ok(Arc::new(run(state, part, &chosen).await))
}

/// Runs `collectors`: the file readers in one blocking call, then those
/// reading kinds' samples.
async fn run(
    state: &AppState,
    part: &NodePart,
    collectors: &[&'static NodeCollector],
) -> Vec<Outcome> {
    let readers: Vec<_> = collectors
        .iter()
        .filter_map(|c| match c.read {
            Read::Files(read) => Some((*c, read)),
            Read::Sample(_) => None,
        })
        .collect();
    let (roots, options, errors) = (
        state.roots().clone(),
        part.options.clone(),
        state.errors().clone(),
    );
    let kept = part.files.clone();
    let mut outcomes = blocking(state.errors(), NAME, move || {
        let source = Source {
            roots: &roots,
            options: &options,
            files: &kept,
        };
        readers
            .into_iter()
            .map(|(c, read)| node::run_files(c, read, &source, &errors))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let scrape = Scrape::new(state);
    for c in collectors {
        if let Read::Sample(read) = c.read {
            outcomes.push(node::run_sample(c, read, &scrape).await);
        }
    }
    outcomes.sort_by_key(|o| node::TABLE.iter().position(|c| c.name == o.name));
    outcomes
}

/// `sonde check`: a line per collector that runs.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = Instant::now();
    let outcomes = match scrape(state, &[]).await {
        Ok(o) => o,
        Err(e) => return vec![CheckLine::broken(NAME, format!("BROKEN: {e}"))],
    };
    let total = elapsed_ms(timed);
    let mut lines: Vec<CheckLine> = outcomes
        .iter()
        .map(|o| {
            let series = o.text.lines().filter(|l| !l.starts_with('#')).count();
            let ms = o.seconds * 1000.0;
            let label = format!("node.{}", o.name);
            match &o.status {
                Status::Read => CheckLine::ok(label, format!("{series} series … {ms:.1} ms")),
                Status::Absent => CheckLine::ok(label, "not on this host".to_owned()),
                Status::Failed(e) => CheckLine::broken(label, format!("BROKEN: {e}")),
            }
        })
        .collect();
    lines.push(CheckLine::ok(
        NAME,
        format!(
            "{} node_exporter collectors … {total:.1} ms",
            outcomes.len()
        ),
    ));
    lines
}
