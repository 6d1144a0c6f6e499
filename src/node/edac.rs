//! `edac`: memory error counts per controller, chip-select row and
//! channel (`/sys/devices/system/edac/mc`).

use super::{Families, NodeCollector, Read, Source};
use crate::collect::sysfs::{entries, number, value};
use crate::collect::{CollectError, ParseError};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "edac",
    read: Read::Files(read),
};

/// `mc0` → `0` for a name of `prefix` and digits.
fn numbered<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let n = name.strip_prefix(prefix)?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(n)
}

/// node_exporter's DIMM label: `mc#0csrow#1channel#0` → `mc0_csrow1_channel0`.
pub fn dimm_label(raw: Option<String>) -> String {
    raw.map_or_else(
        || "unknown".to_owned(),
        |l| {
            l.replace('#', "")
                .replace("csrow", "_csrow")
                .replace("channel", "_channel")
        },
    )
}

#[derive(Default)]
struct Counts {
    controllers: Vec<(String, f64, f64)>,
    csrows: Vec<(String, String, f64, f64)>,
    channels: Vec<([String; 4], f64, Option<f64>)>,
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let files = src.files;
    // node_exporter counts a machine without EDAC as a success: no
    // controllers, nothing wrong.
    let mcs = entries(files, &src.roots.sys.join("devices/system/edac/mc")).unwrap_or_default();
    let mut c = Counts::default();
    for (name, mc) in &mcs {
        let Some(n) = numbered(name, "mc") else {
            continue;
        };
        let count = |file: &str| {
            number(files, &mc.join(file))
                .ok_or_else(|| ParseError::new("edac", format!("no number in {name}/{file}")))
        };
        c.controllers
            .push((n.to_owned(), count("ce_count")?, count("ue_count")?));
        c.csrows.push((
            n.to_owned(),
            "unknown".to_owned(),
            count("ce_noinfo_count")?,
            count("ue_noinfo_count")?,
        ));
        for (row_name, row) in entries(files, mc).unwrap_or_default() {
            let Some(r) = numbered(&row_name, "csrow") else {
                continue;
            };
            let Some(ce) = number(files, &row.join("ce_count")) else {
                continue;
            };
            let ue = number(files, &row.join("ue_count")).unwrap_or(0.0);
            c.csrows.push((n.to_owned(), r.to_owned(), ce, ue));
            for (file, _) in entries(files, &row).unwrap_or_default() {
                let Some(ch) = file
                    .strip_prefix("ch")
                    .and_then(|f| f.strip_suffix("_ce_count"))
                else {
                    continue;
                };
                if ch.is_empty() || !ch.bytes().all(|b| b.is_ascii_digit()) {
                    continue;
                }
                let Some(ce) = number(files, &row.join(&file)) else {
                    continue;
                };
                let label = dimm_label(value(files, &row.join(format!("ch{ch}_dimm_label"))));
                let ue = number(files, &row.join(format!("ch{ch}_ue_count")));
                c.channels
                    .push(([n.to_owned(), r.to_owned(), ch.to_owned(), label], ce, ue));
            }
        }
    }
    Ok(Some(families(&c)))
}

fn families(c: &Counts) -> Families {
    let mut f = Families::default();
    let keys = ["controller", "csrow", "channel", "dimm_label"];
    let ch = f.counter_family(
        "node_edac_channel_correctable_errors_total",
        "Total correctable memory errors for this channel.",
    );
    for (l, ce, _) in &c.channels {
        ch.push(keys.iter().copied().zip(l.iter().map(String::as_str)), *ce);
    }
    let ch = f.counter_family(
        "node_edac_channel_uncorrectable_errors_total",
        "Total uncorrectable memory errors for this channel.",
    );
    for (l, _, ue) in &c.channels {
        if let Some(ue) = ue {
            ch.push(keys.iter().copied().zip(l.iter().map(String::as_str)), *ue);
        }
    }
    let mc = f.counter_family(
        "node_edac_correctable_errors_total",
        "Total correctable memory errors.",
    );
    for (n, ce, _) in &c.controllers {
        mc.push([("controller", n.as_str())], *ce);
    }
    let row = f.counter_family(
        "node_edac_csrow_correctable_errors_total",
        "Total correctable memory errors for this csrow.",
    );
    for (n, r, ce, _) in &c.csrows {
        row.push([("controller", n.as_str()), ("csrow", r)], *ce);
    }
    let row = f.counter_family(
        "node_edac_csrow_uncorrectable_errors_total",
        "Total uncorrectable memory errors for this csrow.",
    );
    for (n, r, _, ue) in &c.csrows {
        row.push([("controller", n.as_str()), ("csrow", r)], *ue);
    }
    let mc = f.counter_family(
        "node_edac_uncorrectable_errors_total",
        "Total uncorrectable memory errors.",
    );
    for (n, _, ue) in &c.controllers {
        mc.push([("controller", n.as_str())], *ue);
    }
    f
}

#[cfg(test)]
mod tests {
    #[test]
    fn dimm_labels_are_cleaned_as_node_exporter_does() {
        assert_eq!(
            super::dimm_label(Some("mc#0csrow#1channel#0".into())),
            "mc0_csrow1_channel0"
        );
        assert_eq!(super::dimm_label(None), "unknown");
    }
}
