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

/// A directory's entries as (name, path), sorted by name; `None` where the
/// directory does not exist (a class this kernel or machine lacks).
pub fn entries(dir: &Path) -> Option<Vec<(String, PathBuf)>> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    out.sort();
    Some(out)
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
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            Some((
                e.file_name().to_string_lossy().into_owned(),
                value(files, &e.path())?,
            ))
        })
        .collect()
}
