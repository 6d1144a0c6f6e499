//! `os`: the OS release, from `/etc/os-release` (else
//! `/usr/lib/os-release`).

use super::{Families, NodeCollector, Read, Source};
use crate::collect::{CollectError, os_release};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "os",
    read: Read::Files(read),
};

/// `node_os_info`'s labels and the os-release keys they come from.
const INFO: [(&str, &str); 12] = [
    ("build_id", "BUILD_ID"),
    ("id", "ID"),
    ("id_like", "ID_LIKE"),
    ("image_id", "IMAGE_ID"),
    ("image_version", "IMAGE_VERSION"),
    ("name", "NAME"),
    ("pretty_name", "PRETTY_NAME"),
    ("variant", "VARIANT"),
    ("variant_id", "VARIANT_ID"),
    ("version", "VERSION"),
    ("version_codename", "VERSION_CODENAME"),
    ("version_id", "VERSION_ID"),
];

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let mut text = None;
    for path in os_release::paths(src.roots) {
        text = src.read_optional(&path)?;
        if text.is_some() {
            break;
        }
    }
    let Some(text) = text else {
        return Ok(None);
    };
    let release = os_release::parse(&text);
    let get = |k: &str| release.get(k).cloned().unwrap_or_default();
    let mut f = Families::default();
    f.gauge_family(
        "node_os_info",
        "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.",
    )
    .push(INFO.map(|(label, key)| (label, get(key))), 1.0);
    if let Some(version) = major_minor(&get("VERSION_ID")).filter(|v| *v > 0.0) {
        f.gauge_family(
            "node_os_version",
            "Metric containing the major.minor part of the OS version.",
        )
        .push(
            [
                ("id", get("ID")),
                ("id_like", get("ID_LIKE")),
                ("name", get("NAME")),
            ],
            version,
        );
    }
    if let Some(end) = release.get("SUPPORT_END").and_then(|d| date_seconds(d)) {
        f.gauge(
            "node_os_support_end_timestamp_seconds",
            "Metric containing the end-of-life date timestamp of the OS.",
            end as f64,
        );
    }
    Ok(Some(f))
}

/// The leading `major[.minor]` of a version id (`22.04.3` → 22.04).
pub fn major_minor(version_id: &str) -> Option<f64> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let major = digits(version_id);
    if major == 0 {
        return None;
    }
    let rest = &version_id[major..];
    let end = match rest.strip_prefix('.') {
        Some(minor) => major + 1 + digits(minor),
        None => major,
    };
    version_id[..end].trim_end_matches('.').parse().ok()
}

/// `YYYY-MM-DD` as Unix seconds at midnight UTC.
pub fn date_seconds(date: &str) -> Option<i64> {
    let mut parts = date.trim().splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_os_release() {
        let text = r#"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
# a comment
ID=debian
HOME_URL='https://www.debian.org/'
QUOTED="say \"hi\""
"#;
        let r = crate::collect::os_release::parse(text);
        assert_eq!(r["PRETTY_NAME"], "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(r["ID"], "debian");
        assert_eq!(r["HOME_URL"], "https://www.debian.org/");
        assert_eq!(r["QUOTED"], "say \"hi\"");
    }

    #[test]
    fn takes_major_and_minor_of_the_version_id() {
        assert_eq!(major_minor("12"), Some(12.0));
        assert_eq!(major_minor("22.04.3"), Some(22.04));
        assert_eq!(major_minor("rolling"), None);
    }

    #[test]
    fn converts_support_end_dates() {
        assert_eq!(date_seconds("1970-01-01"), Some(0));
        assert_eq!(date_seconds("2028-06-30"), Some(1_845_936_000));
        assert_eq!(date_seconds("June"), None);
    }
}
