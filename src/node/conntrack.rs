//! `conntrack`: connection tracking table use and statistics, where the
//! nf_conntrack module is loaded.

use super::{Families, NodeCollector, Read, Source};
use crate::collect::{CollectError, ParseError};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "conntrack",
    read: Read::Files(read),
};

const STAT_FILE: &str = "/proc/net/stat/nf_conntrack";

/// The statistics node_exporter serves: column, series, help.
const STATS: [(&str, &str, &str); 8] = [
    (
        "found",
        "node_nf_conntrack_stat_found",
        "Number of searched entries which were successful.",
    ),
    (
        "invalid",
        "node_nf_conntrack_stat_invalid",
        "Number of packets seen which can not be tracked.",
    ),
    (
        "ignore",
        "node_nf_conntrack_stat_ignore",
        "Number of packets seen which are already connected to a conntrack entry.",
    ),
    (
        "insert",
        "node_nf_conntrack_stat_insert",
        "Number of entries inserted into the list.",
    ),
    (
        "insert_failed",
        "node_nf_conntrack_stat_insert_failed",
        "Number of entries for which list insertion was attempted but failed.",
    ),
    (
        "drop",
        "node_nf_conntrack_stat_drop",
        "Number of packets dropped due to conntrack failure.",
    ),
    (
        "early_drop",
        "node_nf_conntrack_stat_early_drop",
        "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
    ),
    (
        "search_restart",
        "node_nf_conntrack_stat_search_restart",
        "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
    ),
];

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let dir = src.roots.proc.join("sys/net/netfilter");
    let (Some(count), Some(max)) = (
        src.read_optional(&dir.join("nf_conntrack_count"))?,
        src.read_optional(&dir.join("nf_conntrack_max"))?,
    ) else {
        return Ok(None);
    };
    let number = |t: &str, what| {
        t.trim()
            .parse::<f64>()
            .map_err(|_| ParseError::new("nf_conntrack_count/max", format!("{what}: {t:?}")))
    };
    let mut f = Families::default();
    f.gauge(
        "node_nf_conntrack_entries",
        "Number of currently allocated flow entries for connection tracking.",
        number(&count, "count")?,
    );
    f.gauge(
        "node_nf_conntrack_entries_limit",
        "Maximum size of connection tracking table.",
        number(&max, "max")?,
    );
    if let Some(text) = src.read_optional(&src.roots.proc.join("net/stat/nf_conntrack"))? {
        let sums = parse_stat(&text)?;
        for (column, name, help) in STATS {
            if let Some(v) = sums.iter().find(|(c, _)| *c == column) {
                f.gauge(name, help, v.1 as f64);
            }
        }
    }
    Ok(Some(f))
}

/// Sums each column of `/proc/net/stat/nf_conntrack` (a header of column
/// names, then one row of hexadecimal counters per CPU).
pub fn parse_stat(text: &str) -> Result<Vec<(&str, u64)>, ParseError> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| ParseError::new(STAT_FILE, "empty"))?
        .split_ascii_whitespace()
        .collect();
    let mut sums = vec![0u64; header.len()];
    for line in lines {
        for (i, field) in line.split_ascii_whitespace().enumerate().take(sums.len()) {
            let v = u64::from_str_radix(field, 16)
                .map_err(|_| ParseError::new(STAT_FILE, format!("not hexadecimal: {field:?}")))?;
            sums[i] = sums[i].wrapping_add(v);
        }
    }
    Ok(header.into_iter().zip(sums).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sums_the_hexadecimal_columns_of_every_cpu() {
        let text = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart
00000021  00000000 00000000 00000000 00000003 0000588a 00000000 00000000 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000000
00000021  00000000 00000000 00000000 00000002 000056a4 00000000 00000000 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000004
";
        let sums = super::parse_stat(text).unwrap();
        let get = |n| sums.iter().find(|(c, _)| *c == n).unwrap().1;
        assert_eq!(get("invalid"), 5);
        assert_eq!(get("ignore"), 0x588a + 0x56a4);
        assert_eq!(get("search_restart"), 4);
    }

    #[test]
    fn rejects_a_counter_that_is_not_hexadecimal() {
        assert!(super::parse_stat("entries found\n0000 zz\n").is_err());
    }
}
