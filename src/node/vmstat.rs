//! `vmstat`: the `/proc/vmstat` fields `--vmstat-fields` matches
//! (node_exporter's default: paging, swapping, faults, OOM kills).

use super::{Families, NodeCollector, Read, Source};
use crate::collect::{CollectError, ParseError};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "vmstat",
    read: Read::Files(collect),
};

fn collect(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let text = src.read(&src.roots.proc.join("vmstat"))?;
    let mut f = Families::default();
    for (name, value) in parse(&text)? {
        if src.options.vmstat_fields.is_match(name) {
            f.untyped(
                format!("node_vmstat_{name}"),
                format!("/proc/vmstat information field {name}."),
                value,
            );
        }
    }
    Ok(Some(f))
}

/// `name value` lines.
pub fn parse(text: &str) -> Result<Vec<(&str, f64)>, ParseError> {
    crate::collect::lines(text)
        .filter_map(|line| line.split_once(' '))
        .map(|(name, value)| {
            value
                .trim()
                .parse()
                .map(|v| (name, v))
                .map_err(|_| ParseError::new("/proc/vmstat", format!("{name}: {value:?}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_vmstat() {
        let got = super::parse("nr_free_pages 5118376\npgfault 189505570\n").unwrap();
        assert_eq!(
            got,
            vec![("nr_free_pages", 5_118_376.0), ("pgfault", 189_505_570.0)]
        );
        assert!(super::parse("pgfault many\n").is_err());
    }
}
