//! Small sysfs readers the hardware collectors share: a class directory's
//! entries, one attribute's value, every attribute of a device.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::files::FileCache;
use super::lock;

/// The files a reader keeps open between samples (re-read with `pread`:
/// one syscall instead of open, read and close, and no path walk).
pub type Kept = Mutex<FileCache>;

/// A directory's entries as (name, path), sorted by name (listed at most
/// once a minute); `None` where the directory does not exist (a class
/// this kernel or machine lacks).
pub fn entries(files: &Kept, dir: &Path) -> Option<Vec<(String, PathBuf)>> {
    let listed = lock(files).list(dir)?;
    Some(
        listed
            .iter()
            .map(|l| (l.name.clone(), l.path.clone()))
            .collect(),
    )
}

/// Whether `path` is a directory (or a link to one), from its parent's
/// listing.
pub fn is_dir(files: &Kept, path: &Path) -> bool {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return false;
    };
    lock(files)
        .list(parent)
        .is_some_and(|l| l.iter().any(|e| e.is_dir && e.name.as_str() == name))
}

/// An attribute's text without surrounding white space; `None` where it is
/// missing or cannot be read (root-only files, attributes a driver does
/// not implement).
pub fn value(files: &Kept, path: &Path) -> Option<String> {
    Some(lock(files).read(path).ok()?.trim().to_owned())
}

/// An attribute as a number.
pub fn number(files: &Kept, path: &Path) -> Option<f64> {
    value(files, path)?.parse().ok()
}

/// Every readable regular file of a device directory, by name.
pub fn attributes(files: &Kept, dir: &Path) -> BTreeMap<String, String> {
    let Some(listed) = lock(files).list(dir) else {
        return BTreeMap::new();
    };
    listed
        .iter()
        .filter(|l| l.is_file)
        .filter_map(|l| Some((l.name.clone(), value(files, &l.path)?)))
        .collect()
}
