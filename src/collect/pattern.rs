//! A regular expression matched against a small, steady set of names (the
//! collectors' device, mount point and field filters): each name's answer
//! is remembered, so a name is matched once, not on every scrape.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Names remembered at most (a host with more distinct names matches the
/// rest each time).
const REMEMBERED: usize = 4096;

/// A filter's regular expression and the answers it gave. The names are
/// the host's own (kernel fields, devices, mount points), hashed with a
/// fast hash rather than the default's flood-resistant one: netstat's
/// filter alone looks up some 400 names a scrape.
#[derive(Debug, Clone)]
pub struct Pattern {
    re: regex_lite::Regex,
    seen: Arc<Mutex<HashMap<Box<str>, bool, foldhash::fast::RandomState>>>,
}

impl Pattern {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<Pattern, regex_lite::Error> {
        Ok(Pattern {
            re: regex_lite::Regex::new(pattern)?,
            seen: Arc::default(),
        })
    }

    /// Whether `name` matches.
    pub fn is_match(&self, name: &str) -> bool {
        let mut seen = super::lock(&self.seen);
        if let Some(answer) = seen.get(name) {
            return *answer;
        }
        let answer = self.re.is_match(name);
        if seen.len() < REMEMBERED {
            seen.insert(name.into(), answer);
        }
        answer
    }

    /// The expression as given.
    pub fn as_str(&self) -> &str {
        self.re.as_str()
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_and_remembers() {
        let p = Pattern::new(r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$").unwrap();
        for _ in 0..2 {
            assert!(p.is_match("loop0") && p.is_match("sda1") && p.is_match("nvme0n1p2"));
            assert!(!p.is_match("sda") && !p.is_match("nvme0n1") && !p.is_match("dm-0"));
        }
        assert_eq!(p.seen.lock().unwrap().len(), 6);
        assert!(Pattern::new("^(x").is_err());
    }
}
