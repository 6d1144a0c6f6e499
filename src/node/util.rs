//! Reading helpers the collectors share: through the scrape's kept files.

use std::path::Path;

use super::Source;
use crate::collect::CollectError;

impl Source<'_> {
    /// A file's text, which must be there.
    pub fn read(&self, path: &Path) -> Result<String, CollectError> {
        self.files
            .borrow_mut()
            .read(path)
            .map_err(|e| CollectError::read(path, e))
    }

    /// A file's text; `None` where it does not exist (a source this host
    /// lacks).
    pub fn read_optional(&self, path: &Path) -> Result<Option<String>, CollectError> {
        self.files
            .borrow_mut()
            .read_optional(path)
            .map_err(|e| CollectError::read(path, e))
    }

    /// A small attribute file's text without its newline; `None` where it
    /// is missing or cannot be read (sysfs attributes a device does not
    /// support fail with EINVAL or EOPNOTSUPP, which node_exporter skips
    /// too).
    pub fn attribute(&self, path: &Path) -> Option<String> {
        self.files
            .borrow_mut()
            .read(path)
            .ok()
            .map(|s| s.trim_end_matches('\n').to_owned())
    }
}
