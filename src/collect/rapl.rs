//! RAPL energy counters (`/sys/class/powercap/intel-rapl:*`, on Intel and
//! AMD): joules per zone (package, core, uncore, dram, psys). One reading
//! serves node_exporter's rapl collector and the `power` kind, which turns
//! two readings into watts. `energy_uj` is readable by root only on
//! kernels since 5.10: elsewhere there are no zones.

use super::Roots;
use super::sysfs::{Kept, entries, value};

/// One RAPL zone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RaplZone {
    /// Its name without an index (`package`, `core`, `dram`).
    pub name: String,
    /// The index: from `package-1`, or the count of zones named alike
    /// before it.
    pub index: u32,
    /// Its sysfs directory, as node_exporter's `path` label shows it.
    pub path: String,
    /// The energy counter, µJ.
    pub energy_uj: u64,
    /// Where the counter wraps, µJ.
    pub max_energy_range_uj: u64,
}

/// A zone's name and index, as node_exporter takes them: `package-1` is
/// `package` 1; a name without one is indexed by how many came before.
pub fn name_and_index(
    raw: &str,
    seen: &mut std::collections::HashMap<String, u32>,
) -> (String, u32) {
    if let Some((name, index)) = raw.split_once('-')
        && !index.contains('-')
        && let Ok(i) = index.parse::<u32>()
    {
        seen.insert(name.to_owned(), i + 1);
        return (name.to_owned(), i);
    }
    let i = seen.get(raw).copied().unwrap_or(0);
    seen.insert(raw.to_owned(), i + 1);
    (raw.to_owned(), i)
}

/// Every readable zone, in directory order; `None` without powercap or
/// where no counter can be read.
pub fn read(roots: &Roots, files: &Kept) -> Option<Vec<RaplZone>> {
    let mut seen = std::collections::HashMap::new();
    let zones: Vec<RaplZone> = entries(files, &roots.sys.join("class/powercap"))?
        .into_iter()
        .filter_map(|(_, path)| {
            let raw = value(files, &path.join("name"))?;
            let (name, index) = name_and_index(&raw, &mut seen);
            Some(RaplZone {
                name,
                index,
                path: path.display().to_string(),
                energy_uj: value(files, &path.join("energy_uj"))?.parse().ok()?,
                max_energy_range_uj: value(files, &path.join("max_energy_range_uj"))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            })
        })
        .collect();
    (!zones.is_empty()).then_some(zones)
}

#[cfg(test)]
mod tests {
    #[test]
    fn zones_are_named_and_indexed_as_node_exporter_does() {
        let mut seen = std::collections::HashMap::new();
        assert_eq!(
            super::name_and_index("package-0", &mut seen),
            ("package".into(), 0)
        );
        assert_eq!(super::name_and_index("core", &mut seen), ("core".into(), 0));
        assert_eq!(super::name_and_index("core", &mut seen), ("core".into(), 1));
        assert_eq!(
            super::name_and_index("package-1", &mut seen),
            ("package".into(), 1)
        );
    }
}
