//! Glances' history endpoints (`/api/4/PLUGIN/history[/N]` and
//! `/api/4/PLUGIN/ITEM/history[/N]`) from sonde's own history
//! ([`crate::history`]): the same samples the page opens with, in Glances'
//! shape, `{item: [[time, value], …]}`, with the items Glances keeps for
//! each plugin (`user` and `system` for cpu, `min1`… for load, `percent`
//! for mem and memswap, `NAME_bytes_recv_rate_per_sec` for network…).
//! Times are ISO 8601 in UTC with microseconds, as Glances 4 writes them.

use serde_json::{Map, Value, json};

use crate::history::{Of, Tidy};
use crate::state::AppState;

/// The plugins with a history here, and the sonde kind each is kept in.
pub const PLUGINS: &[(&str, &str)] = &[
    ("cpu", "metrics"),
    ("load", "metrics"),
    ("mem", "metrics"),
    ("memswap", "metrics"),
    ("network", "interfaces"),
    ("diskio", "disk_io"),
    ("containers", "containers"),
];

/// The history of `plugin`, its last `nb` samples (all with 0); `None`
/// for a plugin without one here.
pub fn history(state: &AppState, plugin: &str, nb: usize) -> Option<Value> {
    let (_, kind) = PLUGINS.iter().find(|(p, _)| *p == plugin)?;
    let Some(table) = state.history().table(kind, nb) else {
        // History is off: Glances' answer with none kept.
        return Some(Value::Object(Map::new()));
    };
    let mut out = Map::new();
    let mut item = |name: String, values: Vec<f64>| {
        let points: Vec<Value> = table
            .t
            .iter()
            .zip(values)
            .filter(|(_, v)| v.is_finite())
            .map(|(t, v)| json!([iso(*t), Tidy(v).value()]))
            .collect();
        if !points.is_empty() {
            out.insert(name, Value::Array(points));
        }
    };
    let host = |field: &str| table.values(field, &Of::Host).map(<[f64]>::to_vec);
    match plugin {
        "cpu" => {
            for (name, field) in [("user", "cpu_user"), ("system", "cpu_system")] {
                item(name.to_owned(), host(field).unwrap_or_default());
            }
        }
        "load" => {
            for (i, name) in [(0, "min1"), (1, "min5"), (2, "min15")] {
                let values = table.values("load_avg", &Of::Index(i)).map(<[f64]>::to_vec);
                item(name.to_owned(), values.unwrap_or_default());
            }
        }
        "mem" | "memswap" => {
            let (used, total) = if plugin == "mem" {
                ("mem_used", "mem_total")
            } else {
                ("swap_used", "swap_total")
            };
            let (used, total) = (
                host(used).unwrap_or_default(),
                host(total).unwrap_or_default(),
            );
            let percent = used
                .iter()
                .zip(&total)
                .map(|(u, t)| if *t > 0.0 { 100.0 * u / t } else { 0.0 })
                .collect();
            item("percent".to_owned(), percent);
        }
        _ => {
            let fields: &[(&str, &str)] = match plugin {
                "network" => &[
                    ("rx_bytes_per_sec", "bytes_recv_rate_per_sec"),
                    ("tx_bytes_per_sec", "bytes_sent_rate_per_sec"),
                ],
                "diskio" => &[
                    ("read_bytes_per_sec", "read_bytes_rate_per_sec"),
                    ("write_bytes_per_sec", "write_bytes_rate_per_sec"),
                ],
                _ => &[("cpu_usage", "cpu_percent")],
            };
            for (field, glances) in fields {
                for c in table.columns.iter().filter(|c| c.field == *field) {
                    if let Of::Name(of) = &c.of {
                        item(format!("{of}_{glances}"), c.values.clone());
                    }
                }
            }
        }
    }
    Some(Value::Object(out))
}

/// Unix ms as Glances 4 writes a time: ISO 8601, microseconds, UTC.
fn iso(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos).map_or_else(
        |_| String::new(),
        |t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.microsecond()
            )
        },
    )
}

/// The table's shape is the history module's; this checks the reshaping.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Table;

    #[test]
    fn times_are_written_as_glances_writes_them() {
        assert_eq!(iso(1_700_000_000_123), "2023-11-14T22:13:20.123000+00:00");
    }

    #[test]
    fn an_unknown_table_field_is_absent_not_zero() {
        let table = Table {
            t: vec![1, 2],
            columns: Vec::new(),
        };
        assert!(table.values("cpu_user", &Of::Host).is_none());
    }
}
