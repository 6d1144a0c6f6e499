//! The walk of the cgroup hierarchy for owned cgroups.

use std::path::{Path, PathBuf};

use super::parser::classify;
use super::types::{Found, MAX_DEPTH, MAX_ENTRIES, OwnerKind};

/// Walks the hierarchy under `root` for owned cgroups, in path order. Only
/// slices and plain directories are listed (owned cgroups are leaves of
/// the walk), so a sample lists a handful of directories.
pub fn walk(root: &Path) -> Vec<Found> {
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, String, usize)> = vec![(root.to_path_buf(), String::new(), 0)];
    while let Some((dir, cgroup, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut children: Vec<(PathBuf, String)> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                (e.path(), format!("{cgroup}/{name}"))
            })
            .collect();
        // Reverse order on the stack: popped in path order.
        children.sort_by(|a, b| b.1.cmp(&a.1));
        for (path, child) in children {
            let owner = classify(&child);
            let descend = match &owner {
                None => true,
                Some(o) => o.kind == OwnerKind::SystemdService && o.id.starts_with("user@"),
            };
            if let Some(owner) = owner
                && out.len() < MAX_ENTRIES
            {
                out.push(Found {
                    dir: path.clone(),
                    cgroup: child.clone(),
                    owner,
                });
            }
            if descend && depth + 1 < MAX_DEPTH {
                stack.push((path, child, depth + 1));
            }
        }
    }
    out.sort_by(|a, b| a.cgroup.cmp(&b.cgroup));
    out
}
