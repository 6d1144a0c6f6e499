//! Reading helpers the collectors share.

use std::io;
use std::path::Path;

use crate::collect::CollectError;

/// A file's text; `None` where it does not exist (a source this host lacks).
pub fn read_optional(path: &Path) -> Result<Option<String>, CollectError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CollectError::read(path, e)),
    }
}

/// A file's text, which must be there.
pub fn read(path: &Path) -> Result<String, CollectError> {
    std::fs::read_to_string(path).map_err(|e| CollectError::read(path, e))
}

/// A small attribute file's trimmed text; `None` where it is missing or
/// cannot be read (sysfs attributes a device does not support fail with
/// EINVAL or EOPNOTSUPP, which node_exporter skips too).
pub fn attribute(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim_end_matches('\n').to_owned())
}
