//! Unpacks node_exporter's `ttar` text archives (its fixture trees): a
//! `Path:`/`Lines:` header per file, then its lines, with `NULLBYTE` for a
//! zero byte and a final `EOF` for a file without a last newline;
//! `Directory:` and `SymlinkTo:` entries; `Mode:` lines.

use std::path::Path;

/// Unpacks `archive` under `into`.
pub fn unpack(archive: &Path, into: &Path) {
    let data = std::fs::read(archive).unwrap();
    let mut lines = data.split(|b| *b == b'\n');
    let mut path: Option<std::path::PathBuf> = None;
    while let Some(line) = lines.next() {
        let text = String::from_utf8_lossy(line);
        if let Some(p) = text.strip_prefix("Path: ") {
            path = Some(into.join(p));
        } else if let Some(d) = text.strip_prefix("Directory: ") {
            std::fs::create_dir_all(into.join(d)).unwrap();
        } else if let Some(target) = text.strip_prefix("SymlinkTo: ") {
            let link = path.take().expect("a SymlinkTo follows a Path");
            std::os::unix::fs::symlink(target, link).unwrap();
        } else if let Some(n) = text.strip_prefix("Lines: ") {
            let n: usize = n.parse().unwrap();
            let mut content = Vec::new();
            for _ in 0..n {
                content.extend(unescape(lines.next().unwrap()));
            }
            let file = path.take().expect("Lines follows a Path");
            std::fs::write(file, content).unwrap();
        }
    }
}

/// One content line with its newline, unless it ends in `EOF`.
fn unescape(line: &[u8]) -> Vec<u8> {
    let (body, newline) = match line.strip_suffix(b"EOF") {
        Some(rest) if !rest.ends_with(b"\\") => (rest, false),
        _ => (line, true),
    };
    let mut out = Vec::with_capacity(body.len() + 1);
    let mut i = 0;
    while i < body.len() {
        let rest = &body[i..];
        if rest.starts_with(b"\\NULLBYTE") {
            out.extend_from_slice(b"NULLBYTE");
            i += 9;
        } else if rest.starts_with(b"\\EOF") {
            out.extend_from_slice(b"EOF");
            i += 4;
        } else if rest.starts_with(b"NULLBYTE") {
            out.push(0);
            i += 8;
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    if newline {
        out.push(b'\n');
    }
    out
}
