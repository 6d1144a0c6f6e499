//! The `node` kind: node_exporter's collectors ([`crate::node`]) on
//! `/metrics`, and a `sonde check` line for each. It has no WebSocket
//! reply of its own: the readings people look at there are the other
//! kinds'.
//!
//! A scrape runs the collectors the flags turn on (and `collect[]`
//! names): those reading files together on the blocking pool, each on its
//! own (one that panics fails alone, reported as
//! `node_scrape_collector_success 0`) and against the scrape's deadline
//! ([`super::batch`]), those deriving from a kind's sample from the
//! scrape's samples ([`Scrape::sample`]), so every series of one response
//! comes from the same readings. Nothing is kept between scrapes but the
//! files and which reads are stuck: the samples have their own TTLs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::FutureExt;

use bytes::Bytes;

use super::batch::{self, Job, Stuck};
use super::{NodeCollector, Outcome, Read, Status};
use crate::collect::CollectError;
use crate::collect::files::{FileCache, Slots};
use crate::config::Exporter;
use crate::node;
use crate::state::{AppState, Args, CheckLine, Context, Kind, Part, Scrape, elapsed_ms};

/// The kind's name.
pub const NAME: &str = "node";

/// The kind, for the table.
pub static KIND: Kind = Kind {
    name: NAME,
    text: "",
    args: Args::None,
    summary: "node_exporter's collectors, on /metrics only",
    ttl: |_| std::time::Duration::ZERO,
    part,
    reply: None,
    path: "",
    api: None,
    series: Some(|scrape| series(scrape).boxed()),
    select: Some(select),
    check: Some(|state| check(state).boxed()),
};

/// The collectors that run and their last results.
#[derive(Debug)]
pub struct NodePart {
    /// The collectors the flags turn on, in table order.
    enabled: Vec<&'static NodeCollector>,
    /// Their filters.
    options: Arc<Exporter>,
    /// Each file collector's files, kept open between scrapes (sharing one
    /// share of the descriptor budget).
    files: HashMap<&'static str, Arc<Mutex<FileCache>>>,
    /// The collectors whose read a scrape gave up on.
    stuck: Stuck,
}

fn part(cx: &Context<'_>) -> Part {
    let slots = Arc::new(Slots::new(cx.fd_budget.readings_files / 8));
    let files = node::TABLE
        .iter()
        .filter(|c| matches!(c.read, Read::Files(_) | Read::Both(..)))
        .map(|c| {
            let kept = FileCache::sharing(slots.clone());
            (c.name, Arc::new(Mutex::new(kept)))
        })
        .collect();
    Box::new(NodePart {
        enabled: node::selected(&cx.config.exporter, &[]),
        options: Arc::new(cx.config.exporter.clone()),
        files,
        stuck: Stuck::default(),
    })
}

/// Whether `name` is a collector of this agent for `collect[]`: `None`
/// where no collector has that name, an error where the flags turned it
/// off.
fn select(state: &AppState, name: &str) -> Option<Result<(), String>> {
    node::TABLE.iter().find(|c| c.name == name)?;
    let on = state
        .part::<NodePart>()
        .is_ok_and(|p| p.enabled.iter().any(|c| c.name == name));
    Some(if on {
        Ok(())
    } else {
        Err(format!("collector {name:?} is turned off on this agent"))
    })
}

/// The collectors' series and node_exporter's scrape bookkeeping; the
/// textfile collector's text is served last (see [`Scrape::serve_last`]).
async fn series(scrape: &Scrape<'_>) -> Result<Bytes, CollectError> {
    let outcomes = scrape_outcomes(scrape).await?;
    let textfile = node::textfile::COLLECTOR.name;
    let mut out = String::with_capacity(32 * 1024);
    for o in outcomes.iter() {
        if o.name == textfile {
            scrape.serve_last(o.text.clone());
        } else {
            out.push_str(&o.text);
        }
    }
    out.push_str(&node::scrape_series(&outcomes));
    Ok(Bytes::from(out))
}

/// One scrape's outcomes, in table order: the enabled collectors that
/// `collect[]` names (all without it).
pub async fn scrape_outcomes(scrape: &Scrape<'_>) -> Result<Vec<Outcome>, CollectError> {
    let part = scrape.state.part::<NodePart>()?;
    let chosen: Vec<_> = part
        .enabled
        .iter()
        .copied()
        .filter(|c| scrape.selects(c.name))
        .collect();
    Ok(run(scrape, part, &chosen).await)
}

/// Runs `collectors`: the file readers (on the blocking pool, against the
/// scrape's deadline), then those reading kinds' samples, each for at most
/// its slice of the time ([`Scrape::slice`]).
async fn run(
    scrape: &Scrape<'_>,
    part: &NodePart,
    collectors: &[&'static NodeCollector],
) -> Vec<Outcome> {
    let state = scrape.state;
    let mut outcomes = Vec::with_capacity(collectors.len());
    let mut jobs = Vec::new();
    for c in collectors {
        let (Read::Files(read) | Read::Both(_, read)) = c.read else {
            continue;
        };
        if part.stuck.still(c.name) {
            let why = "its read from an earlier scrape has not returned";
            outcomes.push(node::failed(c, why, 0.0, state.errors()));
            continue;
        }
        let Some(files) = part.files.get(c.name) else {
            continue;
        };
        let files = files.clone();
        jobs.push(Job {
            collector: c,
            read,
            files,
        });
    }
    let files = batch::run(
        jobs,
        state.roots().clone(),
        part.options.clone(),
        state.errors().clone(),
        scrape.deadline(),
        scrape.patience(),
        &part.stuck,
    );
    outcomes.extend(files.await);
    for c in collectors {
        if let Read::Sample(read) | Read::Both(read, _) = c.read {
            outcomes.push(sample(c, read, scrape).await);
        }
    }
    outcomes.sort_by_key(|o| node::TABLE.iter().position(|c| c.name == o.name));
    // A collector of both kinds of reading has two outcomes, now side by
    // side: one.
    let mut merged: Vec<Outcome> = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        match merged.last_mut() {
            Some(last) if last.name == o.name => last.absorb(o),
            _ => merged.push(o),
        }
    }
    merged
}

/// Runs one collector reading a kind's sample, for at most its slice of
/// the scrape's time.
async fn sample(c: &'static NodeCollector, read: node::SampleFn, scrape: &Scrape<'_>) -> Outcome {
    let started = Instant::now();
    let ran = tokio::time::timeout_at(scrape.slice(), node::run_sample(c, read, scrape)).await;
    ran.unwrap_or_else(|_| {
        let why = "still reading after its share of the scrape's time";
        let seconds = started.elapsed().as_secs_f64();
        node::failed(c, why, seconds, scrape.state.errors())
    })
}

/// `sonde check`: a line per collector that runs.
async fn check(state: &AppState) -> Vec<CheckLine> {
    let timed = Instant::now();
    let everything = crate::state::Selection::default();
    let scrape = Scrape::new(
        state,
        &everything,
        state.config.exporter.scrape_budget(None),
    );
    let outcomes = match scrape_outcomes(&scrape).await {
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
