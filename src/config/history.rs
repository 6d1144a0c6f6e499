//! How long the charted kinds' history is kept, and within what memory.

use super::*;

/// The history the page opens with: what is kept, for how long.
#[derive(Debug, Clone, clap::Args)]
pub struct HistoryOptions {
    /// How far back the charted kinds' samples are kept while anyone asks
    /// (`15m`, `90s`, `1h`; `0` keeps none). Kept only while a client has
    /// asked within it: nobody asking for a whole window drops it all.
    #[arg(global = true, long = "history", env = "SONDE_HISTORY", default_value = "15m", value_parser = parse_duration, help_heading = "History")]
    pub window: Duration,

    /// Also sample the charted kinds every 2 s while nobody asks, so the
    /// history is never empty (off: an idle agent does no work).
    #[arg(global = true, long, env = "SONDE_HISTORY_ALWAYS", default_value = "off", action = ArgAction::Set, value_parser = parse_switch, help_heading = "History")]
    pub history_always: bool,

    /// The most memory the history may take, MiB: past it each kind's
    /// oldest samples go first (its window shortens).
    #[arg(global = true, long, env = "SONDE_HISTORY_MAX_MIB", default_value_t = 32, value_parser = parse_mib, help_heading = "History")]
    pub history_max_mib: usize,
}

/// How often `--history-always on` samples.
pub const HISTORY_ALWAYS_EVERY: Duration = Duration::from_secs(2);

impl HistoryOptions {
    /// The limits of the history store.
    pub fn limits(&self) -> crate::history::Limits {
        crate::history::Limits {
            window: self.window,
            max_bytes: self.history_max_mib << 20,
        }
    }
}

/// `15m`, `90s`, `1h`, `500ms`, or `0`; at most a day.
pub(super) fn parse_duration(v: &str) -> Result<Duration, String> {
    let v = v.trim();
    let err = || "expected a duration such as 15m, 90s or 1h (0: off), at most 24h".to_owned();
    if v == "0" {
        return Ok(Duration::ZERO);
    }
    let digits = v.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
    let n: u64 = v[..digits].parse().map_err(|_| err())?;
    let ms = match &v[digits..] {
        "ms" => Some(n),
        "s" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => None,
    }
    .filter(|&ms| ms <= 86_400_000)
    .ok_or_else(err)?;
    Ok(Duration::from_millis(ms))
}

pub(super) fn parse_mib(v: &str) -> Result<usize, String> {
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=4096).contains(&n) => Ok(n),
        _ => Err("expected MiB from 1 to 4096".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_their_unit() {
        for (text, ms) in [
            ("15m", 900_000),
            ("90s", 90_000),
            ("1h", 3_600_000),
            ("500ms", 500),
            ("0", 0),
            (" 2m ", 120_000),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
        for bad in [
            "",
            "15",
            "m",
            "15x",
            "-1m",
            "25h",
            "1.5m",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
