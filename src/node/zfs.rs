//! `zfs`: OpenZFS kstats (ARC, dbuf, dnode, zfetch, zil…) and pools'
//! state, I/O and datasets, from the `arrays` kind's reading.

use crate::exposition::MetricType;

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::collect::zfs::{TABLES, Zfs};
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "zfs",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

/// The pool states node_exporter reports, one series each.
const POOL_STATES: &[&str] = &[
    "online",
    "degraded",
    "faulted",
    "offline",
    "removed",
    "unavail",
    "suspended",
];

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    Ok(scrape
        .sample(crate::kinds::arrays::sample)
        .await?
        .value()
        .zfs
        .as_ref()
        .map(families))
}

/// node_exporter's names: the kstat row's name, `-` made `_`.
fn metric(name: &str) -> String {
    name.replace('-', "_")
}

/// node_exporter's series for what the module reports.
pub fn families(z: &Zfs) -> Families {
    let mut f = Families::default();
    for (file, rows) in &z.tables {
        let Some((subsystem, _)) = TABLES.iter().find(|(_, t)| t == file) else {
            continue;
        };
        for (row, value) in rows {
            f.named(
                &format!("node_{subsystem}_{}", metric(row)),
                format!("kstat.zfs.misc.{file}.{row}"),
                MetricType::Unknown,
            )
            .value(*value);
        }
    }
    for pool in &z.pools {
        for (column, value) in &pool.io {
            f.named(
                &format!("node_zfs_zpool_{}", metric(column)),
                format!("kstat.zfs.misc.io.{column}"),
                MetricType::Unknown,
            )
            .push([("zpool", pool.name.as_str())], *value as f64);
        }
    }
    for pool in &z.pools {
        for (dataset, rows) in &pool.datasets {
            for (row, value) in rows {
                f.named(
                    &format!("node_zfs_zpool_dataset_{}", metric(row)),
                    format!("kstat.zfs.misc.objset.{row}"),
                    MetricType::Unknown,
                )
                .push(
                    [("zpool", pool.name.as_str()), ("dataset", dataset)],
                    *value as f64,
                );
            }
        }
    }
    for pool in &z.pools {
        let Some(state) = &pool.state else { continue };
        let state = state.to_lowercase();
        let family = f.named(
            "node_zfs_zpool_state",
            "kstat.zfs.misc.state",
            MetricType::Gauge,
        );
        for s in POOL_STATES {
            family.push(
                [("zpool", pool.name.as_str()), ("state", s)],
                if state == *s { 1.0 } else { 0.0 },
            );
        }
    }
    f
}
