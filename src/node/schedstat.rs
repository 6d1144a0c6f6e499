//! `schedstat`: time each CPU ran and waited, from `/proc/schedstat`
//! (kernels with CONFIG_SCHEDSTATS).

use super::{Families, NodeCollector, Read, Source};
use crate::collect::{CollectError, ParseError, num};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "schedstat",
    read: Read::Files(read),
};

const FILE: &str = "/proc/schedstat";

/// One CPU's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuSched {
    /// The CPU number.
    pub cpu: String,
    /// Nanoseconds running tasks.
    pub running_ns: u64,
    /// Nanoseconds tasks waited to run.
    pub waiting_ns: u64,
    /// Timeslices run.
    pub timeslices: u64,
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let Some(text) = src.read_optional(&src.roots.proc.join("schedstat"))? else {
        return Ok(None);
    };
    let cpus = parse(&text)?;
    let mut f = Families::default();
    let r = f.counter_family(
        "node_schedstat_running_seconds_total",
        "Number of seconds CPU spent running a process.",
    );
    for c in &cpus {
        r.push([("cpu", c.cpu.as_str())], c.running_ns as f64 / 1e9);
    }
    let w = f.counter_family(
        "node_schedstat_waiting_seconds_total",
        "Number of seconds spent by processing waiting for this CPU.",
    );
    for c in &cpus {
        w.push([("cpu", c.cpu.as_str())], c.waiting_ns as f64 / 1e9);
    }
    let t = f.counter_family(
        "node_schedstat_timeslices_total",
        "Number of timeslices executed by CPU.",
    );
    for c in &cpus {
        t.push([("cpu", c.cpu.as_str())], c.timeslices as f64);
    }
    Ok(Some(f))
}

/// The `cpuN` lines: their 7th to 9th numbers are running ns, waiting ns
/// and timeslices.
pub fn parse(text: &str) -> Result<Vec<CpuSched>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(cpu) = fields.next().and_then(|k| k.strip_prefix("cpu")) else {
            continue;
        };
        let mut fields = fields.skip(6);
        out.push(CpuSched {
            cpu: cpu.to_owned(),
            running_ns: num(FILE, "running", fields.next())?,
            waiting_ns: num(FILE, "waiting", fields.next())?,
            timeslices: num(FILE, "timeslices", fields.next())?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_cpu_lines() {
        let text = "version 15
timestamp 15819019232
cpu0 498494191 0 3533438552 2553969831 3853684107 2465731542 2045936778163039 343796328169361 4767485306
domain0 00000000,00000003 212499247 210112015 1861015 1860405436 536440 369895 32599 210079416 25368550 24241256 384652 927363878 807233 6366 1647 0 0 0 0 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0
cpu1 0 0 0 0 0 0 2045936778163039 343796328169361 4767485306
";
        let cpus = super::parse(text).unwrap();
        assert_eq!(cpus.len(), 2);
        assert_eq!(cpus[0].cpu, "0");
        assert_eq!(cpus[0].running_ns, 2_045_936_778_163_039);
        assert_eq!(cpus[0].waiting_ns, 343_796_328_169_361);
        assert_eq!(cpus[0].timeslices, 4_767_485_306);
    }
}
