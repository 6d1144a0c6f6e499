//! `filefd`: file handles allocated and the maximum, from
//! `/proc/sys/fs/file-nr`.

use super::{Families, NodeCollector, Read, Source};
use crate::collect::{CollectError, ParseError, num};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "filefd",
    read: Read::Files(collect),
};

const FILE: &str = "/proc/sys/fs/file-nr";

fn collect(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let (allocated, maximum) = parse(&src.read(&src.roots.proc.join("sys/fs/file-nr"))?)?;
    let mut f = Families::default();
    f.gauge(
        "node_filefd_allocated",
        "File descriptor statistics: allocated.",
        allocated as f64,
    );
    f.gauge(
        "node_filefd_maximum",
        "File descriptor statistics: maximum.",
        maximum as f64,
    );
    Ok(Some(f))
}

/// `allocated unused maximum`: the first and the last.
pub fn parse(text: &str) -> Result<(u64, u64), ParseError> {
    let mut fields = text.split_ascii_whitespace();
    let allocated = num(FILE, "allocated", fields.next())?;
    let maximum = num(FILE, "maximum", fields.nth(1))?;
    Ok((allocated, maximum))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_file_nr() {
        assert_eq!(super::parse("406\t0\t2466170\n").unwrap(), (406, 2_466_170));
        assert!(super::parse("406\n").is_err());
    }
}
