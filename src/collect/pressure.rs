//! Pressure stall information, from `/proc/pressure/{cpu,memory,io,irq}`.

use super::{ParseError, num};

const FILE: &str = "/proc/pressure/*";

/// One line (`some` or `full`): averages in % and the total stall in µs.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Stall {
    /// % of the last 10 s.
    pub avg10: f64,
    /// % of the last 60 s.
    pub avg60: f64,
    /// % of the last 300 s.
    pub avg300: f64,
    /// Total stall time, µs.
    pub total_us: u64,
}

/// One resource's file.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Pressure {
    /// Some tasks stalled.
    pub some: Option<Stall>,
    /// All non-idle tasks stalled.
    pub full: Option<Stall>,
}

/// Parses `some avg10=0.00 avg60=0.06 avg300=3.48 total=950674947` lines.
pub fn parse_pressure(text: &str) -> Result<Pressure, ParseError> {
    let mut out = Pressure::default();
    for line in super::lines(text) {
        let mut words = line.split_ascii_whitespace();
        let which = words.next();
        let mut stall = Stall::default();
        for word in words {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| ParseError::new(FILE, format!("not key=value: {word:?}")))?;
            match key {
                "avg10" => stall.avg10 = num(FILE, key, Some(value))?,
                "avg60" => stall.avg60 = num(FILE, key, Some(value))?,
                "avg300" => stall.avg300 = num(FILE, key, Some(value))?,
                "total" => stall.total_us = num(FILE, key, Some(value))?,
                _ => {}
            }
        }
        match which {
            Some("some") => out.some = Some(stall),
            Some("full") => out.full = Some(stall),
            _ => {}
        }
    }
    Ok(out)
}

/// Every resource's pressure; `None` for one the kernel does not report
/// (IRQ before 6.1, all of them without CONFIG_PSI or with `psi=0`).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct PressureReading {
    /// Waiting for CPU.
    pub cpu: Option<Pressure>,
    /// Waiting for memory.
    pub memory: Option<Pressure>,
    /// Waiting for I/O.
    pub io: Option<Pressure>,
    /// Stalled by interrupts.
    pub irq: Option<Pressure>,
}

impl PressureReading {
    /// The resources with a reading, by name.
    pub fn present(&self) -> Vec<(&'static str, Pressure)> {
        [
            ("cpu", self.cpu),
            ("io", self.io),
            ("memory", self.memory),
            ("irq", self.irq),
        ]
        .into_iter()
        .filter_map(|(n, p)| p.map(|p| (n, p)))
        .collect()
    }
}

/// Reads `/proc/pressure/*` (four small files, kept open in `files`:
/// run it on the blocking pool). A missing file is a resource the kernel
/// does not report; an unreadable one (`psi=0` makes them fail with
/// EOPNOTSUPP) too.
pub fn read(
    roots: &super::Roots,
    files: &super::sysfs::Kept,
) -> Result<PressureReading, super::CollectError> {
    let dir = roots.proc.join("pressure");
    let one = |name: &str| -> Result<Option<Pressure>, super::CollectError> {
        match super::lock(files).read(&dir.join(name)) {
            Ok(text) => Ok(Some(parse_pressure(&text)?)),
            Err(_) => Ok(None),
        }
    };
    Ok(PressureReading {
        cpu: one("cpu")?,
        memory: one("memory")?,
        io: one("io")?,
        irq: one("irq")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_some_and_full() {
        let p = parse_pressure(
            "some avg10=1.50 avg60=0.06 avg300=3.48 total=950674947\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=12\n",
        )
        .unwrap();
        assert_eq!(p.some.unwrap().avg10, 1.5);
        assert_eq!(p.some.unwrap().total_us, 950_674_947);
        assert_eq!(p.full.unwrap().total_us, 12);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_pressure("some avg10\n").is_err());
        assert!(parse_pressure("some total=lots\n").is_err());
    }
}
