//! Sockets in use per protocol, from `/proc/net/sockstat` and
//! `/proc/net/sockstat6`.

use super::{ParseError, num};

const FILE: &str = "/proc/net/sockstat";

/// One protocol's line: `TCP: inuse 3 orphan 0 tw 0 alloc 3 mem 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    /// `TCP`, `UDP6`…
    pub name: String,
    /// Its fields in file order (`inuse`, `orphan`, `tw`, `alloc`, `mem`,
    /// `memory`).
    pub fields: Vec<(String, u64)>,
}

impl Protocol {
    /// One field's value.
    pub fn get(&self, field: &str) -> Option<u64> {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, v)| *v)
    }
}

/// One sockstat file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sockstat {
    /// `sockets: used N` (IPv4 file only).
    pub used: Option<u64>,
    /// The protocol lines.
    pub protocols: Vec<Protocol>,
}

/// Parses a sockstat file: `NAME: key value key value…` lines.
pub fn parse_sockstat(text: &str) -> Result<Sockstat, ParseError> {
    let mut out = Sockstat::default();
    for line in super::lines(text) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let mut words = rest.split_ascii_whitespace();
        let mut fields = Vec::new();
        while let Some(key) = words.next() {
            fields.push((key.to_owned(), num(FILE, key, words.next())?));
        }
        if name == "sockets" {
            out.used = fields.iter().find(|(k, _)| k == "used").map(|(_, v)| *v);
        } else {
            out.protocols.push(Protocol {
                name: name.to_owned(),
                fields,
            });
        }
    }
    Ok(out)
}

/// Reads `/proc/net/sockstat` and `/proc/net/sockstat6` (kept open in
/// `files`); `None` for one that is not there (no IPv6). Small files: run
/// it on the blocking pool.
pub fn read(
    roots: &super::Roots,
    files: &super::sysfs::Kept,
) -> Result<(Option<Sockstat>, Option<Sockstat>), super::CollectError> {
    let one = |name: &str| -> Result<Option<Sockstat>, super::CollectError> {
        let path = roots.proc.join("net").join(name);
        match super::lock(files).read_optional(&path) {
            Ok(text) => text
                .map(|t| parse_sockstat(&t))
                .transpose()
                .map_err(Into::into),
            Err(e) => Err(super::CollectError::read(&path, e)),
        }
    };
    Ok((one("sockstat")?, one("sockstat6")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sockstat() {
        let text = "sockets: used 13
TCP: inuse 3 orphan 0 tw 2 alloc 3 mem 1
UDP: inuse 0 mem 0
FRAG: inuse 0 memory 0
";
        let s = parse_sockstat(text).unwrap();
        assert_eq!(s.used, Some(13));
        assert_eq!(s.protocols[0].name, "TCP");
        assert_eq!(s.protocols[0].get("tw"), Some(2));
        assert_eq!(s.protocols[2].get("memory"), Some(0));
    }

    #[test]
    fn rejects_a_field_without_a_number() {
        assert!(parse_sockstat("TCP: inuse\n").is_err());
    }
}
