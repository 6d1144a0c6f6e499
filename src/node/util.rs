//! Reading helpers the collectors share: through the kept files.

use std::path::Path;

use super::Source;
use crate::collect::{CollectError, lock};

impl Source<'_> {
    /// A file's text, which must be there.
    pub fn read(&self, path: &Path) -> Result<String, CollectError> {
        lock(self.files)
            .read(path)
            .map_err(|e| CollectError::read(path, e))
    }

    /// A file's text; `None` where it does not exist (a source this host
    /// lacks).
    pub fn read_optional(&self, path: &Path) -> Result<Option<String>, CollectError> {
        lock(self.files)
            .read_optional(path)
            .map_err(|e| CollectError::read(path, e))
    }

    /// A small attribute file's text without its newline; `None` where it
    /// is missing or unreadable, which node_exporter skips too.
    pub fn attribute(&self, path: &Path) -> Option<String> {
        lock(self.files).attribute(path)
    }
}

/// node_exporter's `SanitizeMetricName`: every run of characters outside
/// `[0-9A-Za-z_]`, with the underscores around it, becomes one `_`.
pub fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending = String::new();
    let mut bad = false;
    for c in name.chars() {
        if c == '_' {
            pending.push(c);
        } else if c.is_ascii_alphanumeric() {
            if bad {
                out.push('_');
            } else {
                out.push_str(&pending);
            }
            pending.clear();
            bad = false;
            out.push(c);
        } else {
            bad = true;
            pending.clear();
        }
    }
    if bad {
        out.push('_');
    } else {
        out.push_str(&pending);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sanitizes_as_node_exporter_does() {
        assert_eq!(super::sanitize("package"), "package");
        assert_eq!(super::sanitize("a__-._b"), "a_b");
        assert_eq!(super::sanitize("x-y"), "x_y");
        assert_eq!(super::sanitize("keep__this"), "keep__this");
        assert_eq!(super::sanitize("end-"), "end_");
    }
}
