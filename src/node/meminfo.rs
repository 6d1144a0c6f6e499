//! `meminfo`: every `/proc/meminfo` line, as node_exporter names them,
//! from the metrics sample's reading.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::{CollectError, ParseError};
use crate::exposition::Interned;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "meminfo",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let sample = scrape.sample(crate::kinds::metrics::sample).await?;
    let Some(text) = sample.value().meminfo.as_deref() else {
        return Ok(None);
    };
    let mut f = Families::default();
    let mut memo = String::with_capacity(64);
    for (key, in_kb, value) in parse(text)? {
        // The key as the kernel wrote it, with its unit: the name is made
        // once per agent (`Interned`), not twice per line per scrape.
        memo.clear();
        memo.push_str(key);
        if in_kb {
            memo.push_str(" kB");
        }
        let (name, help) = NAMES.get(&memo, || {
            let name = node_name(key, in_kb);
            (
                format!("node_memory_{name}"),
                format!("Memory information field {name}."),
            )
        });
        let value = if in_kb { value * 1024.0 } else { value };
        f.gauge(name, help, value);
    }
    Ok(Some(f))
}

static NAMES: Interned = Interned::new();

/// Every line as (its key, whether it is in kB, its value as written).
pub fn parse(text: &str) -> Result<Vec<(&str, bool, f64)>, ParseError> {
    let mut out = Vec::with_capacity(64);
    for line in crate::collect::lines(text) {
        let Some(colon) = line.find(':') else {
            continue;
        };
        let (key, rest) = (&line[..colon], &line[colon + 1..]);
        let mut words = rest.split_ascii_whitespace();
        let value: f64 = words
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| ParseError::new("/proc/meminfo", format!("{key}: {rest:?}")))?;
        out.push((key, words.next() == Some("kB"), value));
    }
    Ok(out)
}

/// node_exporter's name for a line: `Active(anon)` becomes `Active_anon`,
/// a value in kB is in bytes with `_bytes` added, a count
/// (`HugePages_Total`) stays as it is.
fn node_name(key: &str, in_kb: bool) -> String {
    let name = key.replace('(', "_").replace(')', "");
    if in_kb { format!("{name}_bytes") } else { name }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_line_as_node_exporter_does() {
        let text = "MemTotal: 16 kB\nActive(anon): 2 kB\nHugePages_Total: 3\n";
        let got: Vec<(String, f64)> = parse(text)
            .unwrap()
            .into_iter()
            .map(|(key, kb, v)| (node_name(key, kb), if kb { v * 1024.0 } else { v }))
            .collect();
        assert_eq!(
            got,
            vec![
                ("MemTotal_bytes".to_owned(), 16384.0),
                ("Active_anon_bytes".to_owned(), 2048.0),
                ("HugePages_Total".to_owned(), 3.0),
            ]
        );
        assert!(parse("MemTotal: lots kB\n").is_err());
    }
}
