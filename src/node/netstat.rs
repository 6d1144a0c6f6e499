//! `netstat`: protocol counters from `/proc/net/netstat`, `/proc/net/snmp`
//! and `/proc/net/snmp6`, the fields `--netstat-fields` matches
//! (node_exporter's default set).

use super::{Families, NodeCollector, Read, Source};
use crate::collect::{CollectError, ParseError};
use crate::exposition::Interned;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "netstat",
    read: Read::Files(collect),
};

const FILE: &str = "/proc/net/netstat";

static NAMES: Interned = Interned::new();

fn collect(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let net = src.roots.proc.join("net");
    let (netstat, snmp) = (
        src.read(&net.join("netstat"))?,
        src.read(&net.join("snmp"))?,
    );
    let snmp6 = src.read_optional(&net.join("snmp6"))?.unwrap_or_default();
    let mut fields = parse_pairs(&netstat)?;
    fields.extend(parse_pairs(&snmp)?);
    fields.extend(parse_snmp6(&snmp6));
    let mut f = Families::default();
    // One buffer for every field's key: most of some 400 fields are
    // matched and left out, and a fresh string each was a tenth of the
    // collector's time.
    let mut key = String::with_capacity(64);
    for (protocol, name, value) in fields {
        key.clear();
        key.push_str(protocol);
        key.push('_');
        key.push_str(name);
        if !src.options.netstat_fields.is_match(&key) {
            continue;
        }
        let Ok(v) = value.parse::<f64>() else {
            return Err(ParseError::new(FILE, format!("{key}: {value:?}")).into());
        };
        let (name, help) = NAMES.get(&key, || {
            (
                format!("node_netstat_{key}"),
                format!("Statistic {protocol}{name}."),
            )
        });
        f.untyped(name, help, v);
    }
    Ok(Some(f))
}

/// Pairs of lines, `Proto: names…` then `Proto: values…`, as (protocol,
/// field, value).
pub fn parse_pairs(text: &str) -> Result<Vec<(&str, &str, &str)>, ParseError> {
    let mut out = Vec::new();
    let mut lines = crate::collect::lines(text);
    while let Some(names) = lines.next() {
        let values = lines
            .next()
            .ok_or_else(|| ParseError::new(FILE, "a header line without values"))?;
        let (proto, names) = names
            .split_once(':')
            .ok_or_else(|| ParseError::new(FILE, "no protocol"))?;
        let (_, values) = values
            .split_once(':')
            .ok_or_else(|| ParseError::new(FILE, "no protocol"))?;
        let names: Vec<&str> = names.split_ascii_whitespace().collect();
        let values: Vec<&str> = values.split_ascii_whitespace().collect();
        if names.len() != values.len() {
            return Err(ParseError::new(
                FILE,
                format!("field count mismatch in {proto}"),
            ));
        }
        out.extend(names.into_iter().zip(values).map(|(n, v)| (proto, n, v)));
    }
    Ok(out)
}

/// `Ip6InReceives 123` lines: the protocol ends at its first `6`.
pub fn parse_snmp6(text: &str) -> Vec<(&str, &str, &str)> {
    crate::collect::lines(text)
        .filter_map(|line| {
            let mut words = line.split_ascii_whitespace();
            let (key, value) = (words.next()?, words.next()?);
            let six = key.find('6')?;
            Some((&key[..=six], &key[six + 1..], value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paired_lines() {
        let text = "TcpExt: SyncookiesSent ListenDrops\nTcpExt: 0 7\nIpExt: InOctets OutOctets\nIpExt: 100 200\n";
        let got = parse_pairs(text).unwrap();
        assert_eq!(got[1], ("TcpExt", "ListenDrops", "7"));
        assert_eq!(got[3], ("IpExt", "OutOctets", "200"));
        assert!(parse_pairs("Tcp: A B\nTcp: 1\n").is_err());
    }

    #[test]
    fn parses_snmp6() {
        let got =
            parse_snmp6("Ip6InReceives                   	12\nIcmp6InMsgs 3\nUdpLite6InErrors 0\n");
        assert_eq!(
            got,
            vec![
                ("Ip6", "InReceives", "12"),
                ("Icmp6", "InMsgs", "3"),
                ("UdpLite6", "InErrors", "0")
            ]
        );
    }
}
