//! `meminfo`: every `/proc/meminfo` line, as node_exporter names them,
//! from the metrics sample's reading.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::{CollectError, ParseError};
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
    for (name, value) in parse(text)? {
        f.gauge(
            format!("node_memory_{name}"),
            format!("Memory information field {name}."),
            value,
        );
    }
    Ok(Some(f))
}

/// Every line as (node_exporter's name, value): `Active(anon)` becomes
/// `Active_anon`, a value in kB is in bytes with `_bytes` added, a count
/// (`HugePages_Total`) stays as it is.
pub fn parse(text: &str) -> Result<Vec<(String, f64)>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mut words = rest.split_ascii_whitespace();
        let value: f64 = words
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| ParseError::new("/proc/meminfo", format!("{key}: {rest:?}")))?;
        let name = key.replace('(', "_").replace(')', "");
        match words.next() {
            Some("kB") => out.push((format!("{name}_bytes"), value * 1024.0)),
            _ => out.push((name, value)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_every_line_as_node_exporter_does() {
        let got =
            super::parse("MemTotal: 16 kB\nActive(anon): 2 kB\nHugePages_Total: 3\n").unwrap();
        assert_eq!(
            got,
            vec![
                ("MemTotal_bytes".to_owned(), 16384.0),
                ("Active_anon_bytes".to_owned(), 2048.0),
                ("HugePages_Total".to_owned(), 3.0),
            ]
        );
        assert!(super::parse("MemTotal: lots kB\n").is_err());
    }
}
