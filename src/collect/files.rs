//! Small procfs and sysfs files read again on every sample, kept open and
//! re-read with `pread`: one syscall a read instead of four (open, a
//! `statx` for the size, read, close). At most `cap` are kept (the
//! descriptor budget's share, which several caches may share: [`Slots`]);
//! past that a file is read by path.
//!
//! Only files the kernel writes as they are read (procfs, sysfs, cgroup
//! files) are kept. A file on disk is read by path every time: one that
//! is replaced (an upgrade renames a new `os-release` over the old one)
//! would otherwise be read through the old, unlinked copy for ever.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::ProcFile;

/// How long a directory's listing and a link's target are reused: sysfs
/// devices come and go rarely, and one that appears is seen within this.
pub const LISTING_AGE: Duration = Duration::from_secs(60);

/// One entry of a listed directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its name.
    pub name: String,
    /// Its path.
    pub path: PathBuf,
    /// A directory, or a link to one (sysfs class entries are links).
    pub is_dir: bool,
    /// A regular file itself (not a link).
    pub is_file: bool,
}

/// Kept files by path, up to a cap, read through one shared buffer; and
/// recent directory listings and link targets.
#[derive(Debug)]
pub struct FileCache {
    /// By path, hashed fast and as bytes (the host's own paths; a scrape
    /// looks up over a hundred, and `Path`'s own hash walks components).
    files: HashMap<OsString, ProcFile, foldhash::fast::RandomState>,
    slots: Arc<Slots>,
    scratch: Vec<u8>,
    listings: HashMap<PathBuf, (Instant, Arc<[Listed]>)>,
    targets: HashMap<PathBuf, (Instant, Option<PathBuf>)>,
    /// Attributes kept while their validator reads the same (see
    /// [`FileCache::attribute_while`]).
    kept: HashMap<OsString, (String, Option<String>), foldhash::fast::RandomState>,
}

impl FileCache {
    /// A cache keeping at most `cap` descriptors.
    pub fn new(cap: usize) -> FileCache {
        FileCache::sharing(Arc::new(Slots::new(cap)))
    }

    /// A cache keeping descriptors while `slots` has some left (shared
    /// with other caches: one per collector, so that a collector stuck in
    /// a read holds no lock the others need).
    pub fn sharing(slots: Arc<Slots>) -> FileCache {
        FileCache {
            files: HashMap::default(),
            slots,
            scratch: Vec::new(),
            listings: HashMap::new(),
            targets: HashMap::new(),
            kept: HashMap::default(),
        }
    }

    /// A directory's entries sorted by name, listed again once older than
    /// [`LISTING_AGE`]; `None` where it cannot be listed (not cached: a
    /// class that appears is seen at once).
    pub fn list(&mut self, dir: &Path) -> Option<Arc<[Listed]>> {
        let now = Instant::now();
        if let Some((at, listed)) = self.listings.get(dir)
            && now.duration_since(*at) < LISTING_AGE
        {
            return Some(listed.clone());
        }
        let mut listed: Vec<Listed> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| {
                let path = e.path();
                Listed {
                    name: e.file_name().to_string_lossy().into_owned(),
                    is_dir: path.is_dir(),
                    is_file: e.file_type().is_ok_and(|t| t.is_file()),
                    path,
                }
            })
            .collect();
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        let listed: Arc<[Listed]> = listed.into();
        self.listings
            .retain(|_, (at, _)| now.duration_since(*at) < LISTING_AGE);
        self.listings
            .insert(dir.to_path_buf(), (now, listed.clone()));
        Some(listed)
    }

    /// A path with its links resolved, resolved again once older than
    /// [`LISTING_AGE`]; `None` where it does not resolve.
    pub fn canonical(&mut self, path: &Path) -> Option<PathBuf> {
        let now = Instant::now();
        if let Some((at, target)) = self.targets.get(path)
            && now.duration_since(*at) < LISTING_AGE
        {
            return target.clone();
        }
        let target = std::fs::canonicalize(path).ok();
        self.targets
            .retain(|_, (at, _)| now.duration_since(*at) < LISTING_AGE);
        self.targets
            .insert(path.to_path_buf(), (now, target.clone()));
        target
    }

    /// The file's text. A file that fails to read is forgotten (reopened
    /// next time: a device that went away and came back).
    pub fn read(&mut self, path: &Path) -> io::Result<String> {
        if let Some(kept) = self.files.get(path.as_os_str()) {
            let read = kept.read_string(&mut self.scratch);
            if read.is_err() {
                self.files.remove(path.as_os_str());
                self.slots.give_back(1);
            }
            return read;
        }
        let file = ProcFile::open(path)?;
        let text = file.read_string(&mut self.scratch)?;
        if generated_when_read(&file) && self.slots.take() {
            self.files.insert(path.as_os_str().to_owned(), file);
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
        let before = self.files.len();
        let keeps = |path: &OsString| {
            let path = Path::new(path);
            !path.starts_with(dir) || keep(path)
        };
        self.files.retain(|path, _| keeps(path));
        self.slots.give_back(before - self.files.len());
        self.kept.retain(|path, _| keeps(path));
    }

    /// An attribute whose reading is dear (a network device's `speed` and
    /// `duplex` ask the driver, under the kernel's network lock), read
    /// again only when `validator` differs from the one it was read under:
    /// something the kernel changes whenever the attribute can change (a
    /// link's carrier-change count and state: a new speed is a new
    /// negotiation). Otherwise as [`FileCache::attribute`].
    pub fn attribute_while(&mut self, path: &Path, validator: &str) -> Option<String> {
        if let Some((seen, value)) = self.kept.get(path.as_os_str())
            && seen == validator
        {
            return value.clone();
        }
        let value = self.attribute(path);
        self.kept.insert(
            path.as_os_str().to_owned(),
            (validator.to_owned(), value.clone()),
        );
        value
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

const PROC_SUPER_MAGIC: i64 = 0x9fa0;
const SYSFS_MAGIC: i64 = 0x6265_6572;
const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// A filesystem's type (`f_type`) as one integer type on every target.
// `f_type` is an i64 on x86-64 glibc, 32 bits on some other targets.
#[allow(clippy::useless_conversion)]
fn magic(s: &rustix::fs::StatFs) -> i64 {
    i64::from(s.f_type)
}

/// Whether `file` is on a filesystem whose files the kernel writes as they
/// are read (so a kept descriptor reads what is true now).
fn generated_when_read(file: &ProcFile) -> bool {
    rustix::fs::fstatfs(file.fd()).is_ok_and(|s| {
        matches!(
            magic(&s),
            PROC_SUPER_MAGIC | SYSFS_MAGIC | CGROUP_SUPER_MAGIC | CGROUP2_SUPER_MAGIC
        )
    })
}

/// Whether `path` is a sysfs mount (the kernel's, not a tree of files
/// copied from one).
pub fn is_sysfs(path: &Path) -> bool {
    rustix::fs::statfs(path).is_ok_and(|s| magic(&s) == SYSFS_MAGIC)
}

impl Drop for FileCache {
    fn drop(&mut self) {
        self.slots.give_back(self.files.len());
    }
}

/// How many more descriptors the caches sharing it may keep.
#[derive(Debug)]
pub struct Slots(AtomicUsize);

impl Slots {
    /// `cap` slots.
    pub fn new(cap: usize) -> Slots {
        Slots(AtomicUsize::new(cap))
    }

    /// Takes one if any is left.
    fn take(&self) -> bool {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Returns `n`.
    fn give_back(&self, n: usize) {
        self.0.fetch_add(n, Ordering::AcqRel);
    }

    /// Slots left.
    pub fn left(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_up_to_the_cap_and_reads_the_rest_by_path() {
        let (a, b) = (Path::new("/proc/self/stat"), Path::new("/proc/uptime"));
        let mut cache = FileCache::new(1);
        let first = cache.read(a).unwrap();
        assert!(!cache.read(b).unwrap().is_empty());
        assert_eq!(cache.len(), 1);
        // The kept one reads what is true now (this process's CPU time
        // and minor faults have moved).
        let _work: Vec<u64> = (0..200_000).collect();
        assert_ne!(cache.read(a).unwrap(), first);
        assert_eq!(
            cache
                .read_optional(Path::new("/proc/sonde-missing"))
                .unwrap(),
            None
        );
        cache.retain_under(Path::new("/proc"), |_| false);
        assert!(cache.is_empty());
    }

    #[test]
    fn only_a_sysfs_mount_is_sysfs() {
        assert!(is_sysfs(Path::new("/sys")));
        assert!(!is_sysfs(tempfile::tempdir().unwrap().path()));
        assert!(!is_sysfs(Path::new("/proc")));
    }

    /// A regular file replaced by rename (as a package upgrade replaces
    /// `os-release`) was read through the kept descriptor of the old,
    /// unlinked one for ever.
    #[test]
    fn a_replaced_file_on_disk_is_read_anew_not_through_a_kept_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let release = dir.path().join("os-release");
        std::fs::write(&release, "VERSION_ID=12\n").unwrap();
        let mut cache = FileCache::new(8);
        assert_eq!(cache.read(&release).unwrap(), "VERSION_ID=12\n");
        let new = dir.path().join("os-release.new");
        std::fs::write(&new, "VERSION_ID=13\n").unwrap();
        std::fs::rename(&new, &release).unwrap();
        assert_eq!(cache.read(&release).unwrap(), "VERSION_ID=13\n");
        assert!(cache.is_empty(), "no descriptor kept for a file on disk");
    }

    #[test]
    fn an_attribute_kept_under_a_validator_is_read_again_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let speed = dir.path().join("speed");
        std::fs::write(&speed, "1000\n").unwrap();
        let mut cache = FileCache::new(0);
        assert_eq!(
            cache.attribute_while(&speed, "up/1").as_deref(),
            Some("1000")
        );
        std::fs::write(&speed, "100\n").unwrap();
        assert_eq!(
            cache.attribute_while(&speed, "up/1").as_deref(),
            Some("1000"),
            "kept while the validator holds"
        );
        assert_eq!(
            cache.attribute_while(&speed, "up/3").as_deref(),
            Some("100")
        );
        std::fs::remove_file(&speed).unwrap();
        assert_eq!(cache.attribute_while(&speed, "down/4"), None);
        cache.retain_under(dir.path(), |_| false);
        assert!(cache.kept.is_empty(), "forgotten with its device");
    }

    #[test]
    fn caches_sharing_slots_keep_no_more_than_them_together() {
        let (a, b) = (Path::new("/proc/uptime"), Path::new("/proc/loadavg"));
        let slots = Arc::new(Slots::new(1));
        let (mut one, mut two) = (
            FileCache::sharing(slots.clone()),
            FileCache::sharing(slots.clone()),
        );
        one.read(a).unwrap();
        assert!(!two.read(b).unwrap().is_empty(), "read by path");
        assert_eq!((one.len(), two.len(), slots.left()), (1, 0, 0));
        drop(one);
        assert_eq!(slots.left(), 1, "given back");
        two.read(b).unwrap();
        assert_eq!(two.len(), 1);
    }

    #[test]
    fn listings_and_link_targets_are_reused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("f"), "").unwrap();
        std::os::unix::fs::symlink("d", dir.path().join("l")).unwrap();
        let mut cache = FileCache::new(0);
        let listed = cache.list(dir.path()).unwrap();
        let names: Vec<(&str, bool, bool)> = listed
            .iter()
            .map(|l| (l.name.as_str(), l.is_dir, l.is_file))
            .collect();
        assert_eq!(
            names,
            [("d", true, false), ("f", false, true), ("l", true, false)]
        );
        std::fs::write(dir.path().join("g"), "").unwrap();
        assert_eq!(
            cache.list(dir.path()).unwrap().len(),
            3,
            "reused within the age"
        );
        assert_eq!(
            cache.canonical(&dir.path().join("l")),
            std::fs::canonicalize(dir.path().join("d")).ok()
        );
        assert_eq!(cache.list(&dir.path().join("missing")), None);
    }
}
