//! Block device I/O counters from `/proc/diskstats`.

use super::{ParseError, num};

const FILE: &str = "/proc/diskstats";

/// One device's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskStat {
    /// Major and minor device numbers.
    pub major: u32,
    pub minor: u32,
    /// The kernel's name (`sda`, `nvme0n1`, `dm-0`).
    pub name: String,
    /// The counters after the name, as many as the kernel prints (11 before
    /// 4.18, 15 with discards, 17 with flushes): reads, reads merged,
    /// sectors read, ms reading, writes, writes merged, sectors written, ms
    /// writing, I/Os in progress, ms doing I/O, weighted ms, discards,
    /// discards merged, sectors discarded, ms discarding, flushes, ms
    /// flushing.
    pub counters: Vec<u64>,
}

impl DiskStat {
    /// Counter `i`, 0 where the kernel does not print it.
    pub fn get(&self, i: usize) -> u64 {
        self.counters.get(i).copied().unwrap_or(0)
    }
}

/// Parses `/proc/diskstats`.
pub fn parse_diskstats(text: &str) -> Result<Vec<DiskStat>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(major) = fields.next() else {
            continue;
        };
        let major = num(FILE, "major", Some(major))?;
        let minor = num(FILE, "minor", fields.next())?;
        let name = fields
            .next()
            .ok_or_else(|| ParseError::new(FILE, "no device name"))?
            .to_owned();
        let counters = fields
            .map(|f| num(FILE, "counter", Some(f)))
            .collect::<Result<Vec<u64>, _>>()?;
        if counters.len() < 11 {
            return Err(ParseError::new(
                FILE,
                format!("{name}: fewer than 11 counters"),
            ));
        }
        out.push(DiskStat {
            major,
            minor,
            name,
            counters,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_old_and_new_lines() {
        let text = " 254       0 vda 1331345 18408 37531682 45484377 182658 191980 146562544 1592740 0 748288 47218269 100943 90 90366088 138127 28108 3023
   7       0 loop0 10 0 20 1 0 0 0 0 0 4 1
";
        let d = parse_diskstats(text).unwrap();
        assert_eq!(d[0].name, "vda");
        assert_eq!((d[0].major, d[0].minor), (254, 0));
        assert_eq!(d[0].get(2), 37_531_682);
        assert_eq!(d[0].get(16), 3023);
        assert_eq!(d[1].counters.len(), 11);
        assert_eq!(d[1].get(15), 0);
        assert!(parse_diskstats(" 8 0 sda 1 2 3\n").is_err());
    }
}
