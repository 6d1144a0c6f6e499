//! `softnet`: packets each CPU processed and dropped, from
//! `/proc/net/softnet_stat`.

use super::{Families, NodeCollector, Read, Source};
use crate::collect::{CollectError, ParseError};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "softnet",
    read: Read::Files(read),
};

/// One CPU's row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuSoftnet {
    /// The CPU (the row's index column where the kernel gives one, else
    /// its position).
    pub cpu: u64,
    pub processed: u64,
    pub dropped: u64,
    pub time_squeezed: u64,
    pub cpu_collision: u64,
    pub received_rps: u64,
    pub flow_limit_count: u64,
    /// Packets queued now (kernels that print it).
    pub backlog_len: Option<u64>,
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let Some(text) = src.read_optional(&src.roots.proc.join("net/softnet_stat"))? else {
        return Ok(None);
    };
    let rows = parse(&text)?;
    let mut f = Families::default();
    type Field = fn(&CpuSoftnet) -> u64;
    let counters: [(&str, &str, Field); 6] = [
        (
            "node_softnet_processed_total",
            "Number of processed packets",
            |r| r.processed,
        ),
        (
            "node_softnet_dropped_total",
            "Number of dropped packets",
            |r| r.dropped,
        ),
        (
            "node_softnet_times_squeezed_total",
            "Number of times processing packets ran out of quota",
            |r| r.time_squeezed,
        ),
        (
            "node_softnet_cpu_collision_total",
            "Number of collision occur while obtaining device lock while transmitting",
            |r| r.cpu_collision,
        ),
        (
            "node_softnet_received_rps_total",
            "Number of times cpu woken up received_rps",
            |r| r.received_rps,
        ),
        (
            "node_softnet_flow_limit_count_total",
            "Number of times flow limit has been reached",
            |r| r.flow_limit_count,
        ),
    ];
    for (name, help, get) in counters {
        let family = f.counter_family(name, help);
        for r in &rows {
            family.push([("cpu", r.cpu.to_string())], get(r) as f64);
        }
    }
    let backlog = f.gauge_family("node_softnet_backlog_len", "Softnet backlog status");
    // Rows from kernels before 5.10 have no backlog column; node_exporter
    // serves 0 for them, and the dashboards built on it expect the series.
    for r in &rows {
        let len = r.backlog_len.unwrap_or(0);
        backlog.push([("cpu", r.cpu.to_string())], len as f64);
    }
    Ok(Some(f))
}

/// Rows of hexadecimal columns: processed, dropped, time_squeeze, five
/// unused, cpu_collision, received_rps, flow_limit_count, then (newer
/// kernels) the backlog length and the CPU index.
pub fn parse(text: &str) -> Result<Vec<CpuSoftnet>, ParseError> {
    let mut out = Vec::new();
    for (row, line) in text.lines().enumerate() {
        let cols: Vec<u64> = line
            .split_ascii_whitespace()
            .map(|c| {
                u64::from_str_radix(c, 16).map_err(|_| {
                    ParseError::new("/proc/net/softnet_stat", format!("not hexadecimal: {c:?}"))
                })
            })
            .collect::<Result<_, _>>()?;
        if cols.len() < 11 {
            return Err(ParseError::new(
                "/proc/net/softnet_stat",
                "a row of fewer than 11 columns",
            ));
        }
        out.push(CpuSoftnet {
            cpu: cols.get(12).copied().unwrap_or(row as u64),
            processed: cols[0],
            dropped: cols[1],
            time_squeezed: cols[2],
            cpu_collision: cols[8],
            received_rps: cols[9],
            flow_limit_count: cols[10],
            backlog_len: cols.get(11).copied(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_rows_old_and_new() {
        let text = "00040260 00000001 00000002 00000000 00000000 00000000 00000000 00000000 00000003 00000004 00000005 00000006 00000000 00000000 00000000
00044d3b 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000
";
        let rows = super::parse(text).unwrap();
        assert_eq!(rows[0].processed, 0x40260);
        assert_eq!(rows[0].cpu_collision, 3);
        assert_eq!(rows[0].backlog_len, Some(6));
        assert_eq!(rows[1].cpu, 1);
        let old = super::parse("00000010 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n").unwrap();
        assert_eq!((old[0].cpu, old[0].backlog_len), (0, None));
    }
}
