//! `/etc/os-release` (else `/usr/lib/os-release`) under the configured
//! roots, parsed one way for every surface (the host reply's `os`,
//! node_exporter's `node_os_info`) with node_exporter's rules. Nothing is
//! read outside the roots: inside the container image that reads the host
//! under `/host`, the image's own release would be the wrong answer.

use std::collections::HashMap;
use std::path::PathBuf;

use super::Roots;

/// Where the release is looked for, in order.
pub fn paths(roots: &Roots) -> [PathBuf; 2] {
    [
        roots.etc.join("os-release"),
        roots.rootfs.join("usr/lib/os-release"),
    ]
}

/// The release's text, from the first of [`paths`] that reads.
pub fn read(roots: &Roots) -> Option<String> {
    paths(roots)
        .into_iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
}

/// `KEY=value` lines, values unquoted (single or double quotes, with
/// backslash escapes inside double quotes); comments and blanks skipped.
pub fn parse(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = if let Some(v) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            let mut s = String::with_capacity(v.len());
            let mut chars = v.chars();
            while let Some(c) = chars.next() {
                s.push(if c == '\\' {
                    chars.next().unwrap_or('\\')
                } else {
                    c
                });
            }
            s
        } else if let Some(v) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            v.to_owned()
        } else {
            value.to_owned()
        };
        out.insert(key.trim().to_owned(), value);
    }
    out
}

/// The name to show: `PRETTY_NAME`, else `NAME VERSION`, else `NAME`.
pub fn pretty_name(text: &str) -> Option<String> {
    let mut release = parse(text);
    let mut take = |k: &str| release.remove(k).filter(|v| !v.is_empty());
    take("PRETTY_NAME").or_else(|| match (take("NAME"), take("VERSION")) {
        (Some(n), Some(v)) => Some(format!("{n} {v}")),
        (n, _) => n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_names() {
        assert_eq!(
            pretty_name(
                "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
            )
            .as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(
            pretty_name("NAME=Alpine\nVERSION=3.19\n").as_deref(),
            Some("Alpine 3.19")
        );
        assert_eq!(pretty_name("ID=x\n"), None);
    }

    #[test]
    fn quotes_escapes_and_comments_as_node_exporter_reads_them() {
        let r = parse("# c\nNAME='Single'\nPRETTY_NAME=\"A \\\"B\\\"\"\n  ID=x  \nbad line\n");
        assert_eq!(r["NAME"], "Single");
        assert_eq!(r["PRETTY_NAME"], "A \"B\"");
        assert_eq!(r["ID"], "x");
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn reads_under_the_roots_only_and_falls_back_to_usr_lib() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        assert_eq!(read(&roots), None, "nothing outside the roots");
        let lib = roots.rootfs.join("usr/lib");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(lib.join("os-release"), "NAME=Lib\n").unwrap();
        assert_eq!(read(&roots).as_deref(), Some("NAME=Lib\n"));
    }
}
