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
