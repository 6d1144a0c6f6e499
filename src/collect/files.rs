//! Small procfs and sysfs files read again on every sample, kept open and
//! re-read with `pread`: one syscall a read instead of four (open, a
//! `statx` for the size, read, close). At most `cap` are kept (the
//! descriptor budget's share); past that a file is read by path.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use super::ProcFile;

/// Kept files by path, up to a cap, read through one shared buffer.
#[derive(Debug)]
pub struct FileCache {
    files: HashMap<PathBuf, ProcFile>,
    cap: usize,
    scratch: Vec<u8>,
}

impl FileCache {
    /// A cache keeping at most `cap` descriptors.
    pub fn new(cap: usize) -> FileCache {
        FileCache {
            files: HashMap::new(),
            cap,
            scratch: Vec::new(),
        }
    }

    /// The file's text. A file that fails to read is forgotten (reopened
    /// next time: a device that went away and came back).
    pub fn read(&mut self, path: &Path) -> io::Result<String> {
        if let Some(kept) = self.files.get(path) {
            let read = kept.read_string(&mut self.scratch);
            if read.is_err() {
                self.files.remove(path);
            }
            return read;
        }
        let file = ProcFile::open(path)?;
        let text = file.read_string(&mut self.scratch)?;
        if self.files.len() < self.cap {
            self.files.insert(path.to_path_buf(), file);
        }
        Ok(text)
    }

    /// The file's text; `None` where it does not exist.
    pub fn read_optional(&mut self, path: &Path) -> io::Result<Option<String>> {
        match self.read(path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A small attribute file's text without its newline; `None` where it
    /// is missing or cannot be read (sysfs attributes a device does not
    /// support fail with EINVAL or EOPNOTSUPP).
    pub fn attribute(&mut self, path: &Path) -> Option<String> {
        self.read(path)
            .ok()
            .map(|s| s.trim_end_matches('\n').to_owned())
    }

    /// Forgets the files under `dir` that `keep` refuses (a removed
    /// network device's attributes).
    pub fn retain_under(&mut self, dir: &Path, keep: impl Fn(&Path) -> bool) {
        self.files
            .retain(|path, _| !path.starts_with(dir) || keep(path));
    }

    /// Descriptors kept now.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when none is kept.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_up_to_the_cap_and_reads_the_rest_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, "1\n").unwrap();
        std::fs::write(&b, "2\n").unwrap();
        let mut cache = FileCache::new(1);
        assert_eq!(cache.read(&a).unwrap(), "1\n");
        assert_eq!(cache.read(&b).unwrap(), "2\n");
        assert_eq!(cache.len(), 1);
        // The kept one reads what is there now.
        std::fs::write(&a, "10\n").unwrap();
        assert_eq!(cache.read(&a).unwrap(), "10\n");
        assert_eq!(cache.read_optional(&dir.path().join("c")).unwrap(), None);
        cache.retain_under(dir.path(), |_| false);
        assert!(cache.is_empty());
    }
}
