//! Load averages (`/proc/loadavg`).

use super::{ParseError, num};

/// 1, 5 and 15 minute load averages.
pub fn parse_loadavg(text: &str) -> Result<[f64; 3], ParseError> {
    const FILE: &str = "/proc/loadavg";
    let mut f = text.split_ascii_whitespace();
    Ok([
        num(FILE, "1 min load", f.next())?,
        num(FILE, "5 min load", f.next())?,
        num(FILE, "15 min load", f.next())?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loadavg() {
        assert_eq!(
            parse_loadavg("0.52 0.58 0.59 2/612 12345\n").unwrap(),
            [0.52, 0.58, 0.59]
        );
        assert!(parse_loadavg("0.5\n").is_err());
    }
}
