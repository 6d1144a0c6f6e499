//! `nvme`: NVMe controllers and namespaces (`/sys/class/nvme`), from
//! sysfs attributes the driver caches: no command reaches the drive.

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::sysfs::{entries, number, value};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "nvme",
    read: Read::Files(read),
};

/// A namespace directory's id (`nvme0n1` → `1`), as node_exporter's
/// `nvme\d+n(\d+)` takes it.
fn namespace_id(dir: &str) -> Option<&str> {
    let rest = dir.strip_prefix("nvme")?;
    let controller = rest.bytes().take_while(u8::is_ascii_digit).count();
    let rest = rest[controller..]
        .strip_prefix('n')
        .filter(|_| controller > 0)?;
    let id = &rest[..rest.bytes().take_while(u8::is_ascii_digit).count()];
    (!id.is_empty()).then_some(id)
}

/// One namespace of a controller.
struct Namespace {
    device: String,
    id: String,
    ana_state: String,
    size_bytes: f64,
    used_bytes: f64,
    block_bytes: f64,
}

/// A namespace's number.
type Field = fn(&Namespace) -> f64;

/// The size series: name, help, field.
const SIZES: &[(&str, &str, Field)] = &[
    (
        "node_nvme_namespace_capacity_bytes",
        "Capacity of the NVMe namespace in bytes. Computed as namespace_size * namespace_logical_block_size",
        |n| n.size_bytes,
    ),
    (
        "node_nvme_namespace_size_bytes",
        "Size of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/size",
        |n| n.size_bytes,
    ),
    (
        "node_nvme_namespace_used_bytes",
        "Used space of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/nuse",
        |n| n.used_bytes,
    ),
    (
        "node_nvme_namespace_logical_block_size_bytes",
        "Logical block size of the NVMe namespace in bytes. Usually 4Kb. Available in /sys/class/nvme/<device>/<namespace>/queue/logical_block_size",
        |n| n.block_bytes,
    ),
];

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let files = src.files;
    let Some(devices) = entries(files, &src.roots.sys.join("class/nvme")) else {
        return Ok(None);
    };
    let mut f = Families::default();
    let info = f.gauge_family(
        "node_nvme_info",
        "Non-numeric data from /sys/class/nvme/<device>, value is always 1.",
    );
    for (name, path) in &devices {
        let attr = |file: &str| value(files, &path.join(file)).unwrap_or_default();
        info.push(
            [
                ("device", name.clone()),
                ("firmware_revision", attr("firmware_rev")),
                ("model", attr("model")),
                ("serial", attr("serial")),
                ("state", attr("state")),
                ("cntlid", attr("cntlid")),
            ],
            1.0,
        );
    }
    let mut namespaces: Vec<Namespace> = Vec::new();
    for (name, path) in &devices {
        for (dir, ns) in entries(files, path).unwrap_or_default() {
            let Some(id) = namespace_id(&dir) else {
                continue;
            };
            let block = number(files, &ns.join("queue/logical_block_size")).unwrap_or(0.0);
            let size = number(files, &ns.join("size")).unwrap_or(0.0) * block;
            let used = number(files, &ns.join("nuse")).unwrap_or(0.0) * block;
            let ana = value(files, &ns.join("ana_state")).unwrap_or_else(|| "unknown".into());
            namespaces.push(Namespace {
                device: name.clone(),
                id: id.to_owned(),
                ana_state: ana,
                size_bytes: size,
                used_bytes: used,
                block_bytes: block,
            });
        }
    }
    let ns_info = f.gauge_family(
        "node_nvme_namespace_info",
        "Information about NVMe namespaces. Value is always 1",
    );
    for n in &namespaces {
        ns_info.push(
            [
                ("device", n.device.as_str()),
                ("nsid", &n.id),
                ("ana_state", &n.ana_state),
            ],
            1.0,
        );
    }
    for (series, help, get) in SIZES {
        let family = f.gauge_family(*series, *help);
        for n in &namespaces {
            family.push([("device", n.device.as_str()), ("nsid", &n.id)], get(n));
        }
    }
    Ok(Some(f))
}

#[cfg(test)]
mod tests {
    #[test]
    fn namespace_directories_give_their_id() {
        assert_eq!(super::namespace_id("nvme0n1"), Some("1"));
        assert_eq!(super::namespace_id("nvme10n12"), Some("12"));
        assert_eq!(super::namespace_id("nvme0c0n1"), None);
        assert_eq!(super::namespace_id("nvme0"), None);
        assert_eq!(super::namespace_id("power"), None);
    }
}
