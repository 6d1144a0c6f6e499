//! `dmmultipath`: device-mapper multipath devices (`/sys/block/dm-*` whose
//! `dm/uuid` starts with `mpath-`): their state, size and paths, each
//! path's state from `/sys/block/<path>/device/state`.

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::sysfs::{entries, number, value};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "dmmultipath",
    read: Read::Files(read),
};

/// One multipath device.
#[derive(Debug, Clone, PartialEq)]
struct Multipath {
    name: String,
    sysfs_name: String,
    uuid: String,
    suspended: bool,
    size_bytes: Option<f64>,
    /// Each path (`sdi`) and its state (`running`, `offline`, `live`).
    paths: Vec<(String, String)>,
}

/// Whether a path's state is a healthy one: SCSI's `running`, NVMe's
/// `live`.
pub fn is_active(state: &str) -> bool {
    matches!(state, "running" | "live")
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let files = src.files;
    let block = src.roots.sys.join("block");
    let Some(devices) = entries(files, &block) else {
        return Ok(None);
    };
    let multipaths: Vec<Multipath> = devices
        .iter()
        .filter(|(name, _)| name.starts_with("dm-"))
        .filter_map(|(name, path)| {
            let uuid = value(files, &path.join("dm/uuid"))?;
            if !uuid.starts_with("mpath-") {
                return None;
            }
            let paths = entries(files, &path.join("slaves"))
                .unwrap_or_default()
                .into_iter()
                .map(|(slave, _)| {
                    let state =
                        value(files, &block.join(&slave).join("device/state")).unwrap_or_default();
                    (slave, state)
                })
                .collect();
            Some(Multipath {
                name: value(files, &path.join("dm/name")).unwrap_or_default(),
                sysfs_name: name.clone(),
                uuid,
                suspended: value(files, &path.join("dm/suspended")).as_deref() == Some("1"),
                size_bytes: number(files, &path.join("size")).map(|sectors| sectors * 512.0),
                paths,
            })
        })
        .collect();
    Ok(Some(families(&multipaths)))
}

fn families(devices: &[Multipath]) -> Families {
    let mut f = Families::default();
    let labels = |d: &Multipath| {
        [
            ("device", d.name.clone()),
            ("sysfs_name", d.sysfs_name.clone()),
        ]
    };
    let info = f.gauge_family(
        "node_dmmultipath_device_info",
        "Non-numeric information about a DM-multipath device.",
    );
    for d in devices {
        info.push(
            [
                ("device", d.name.as_str()),
                ("sysfs_name", d.sysfs_name.as_str()),
                ("uuid", d.uuid.as_str()),
            ],
            1.0,
        );
    }
    type Of = fn(&Multipath) -> Option<f64>;
    let per_device: [(&str, &str, Of); 5] = [
        (
            "node_dmmultipath_device_active",
            "Whether the multipath device-mapper device is active (1) or suspended (0).",
            |d| Some(if d.suspended { 0.0 } else { 1.0 }),
        ),
        (
            "node_dmmultipath_device_size_bytes",
            "Size of the multipath device in bytes, read from /sys/block/<dm>/size.",
            |d| d.size_bytes,
        ),
        (
            "node_dmmultipath_device_paths",
            "Number of paths for a multipath device.",
            |d| Some(d.paths.len() as f64),
        ),
        (
            "node_dmmultipath_device_paths_active",
            "Number of paths in active state (SCSI running or NVMe live) for a multipath device.",
            |d| Some(d.paths.iter().filter(|(_, s)| is_active(s)).count() as f64),
        ),
        (
            "node_dmmultipath_device_paths_failed",
            "Number of paths not in active state for a multipath device.",
            |d| Some(d.paths.iter().filter(|(_, s)| !is_active(s)).count() as f64),
        ),
    ];
    for (name, help, of) in per_device {
        let family = f.gauge_family(name, help);
        for d in devices {
            if let Some(v) = of(d) {
                family.push(labels(d), v);
            }
        }
    }
    let states = f.gauge_family(
        "node_dmmultipath_path_state",
        "Reports the underlying device state for a multipath path, as read from /sys/block/<dev>/device/state.",
    );
    for d in devices {
        for (path, state) in &d.paths {
            states.push(
                [
                    ("device", d.name.as_str()),
                    ("path", path.as_str()),
                    ("state", state.as_str()),
                ],
                1.0,
            );
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_paths_by_state() {
        let d = Multipath {
            name: "mpathA".into(),
            sysfs_name: "dm-5".into(),
            uuid: "mpath-1".into(),
            suspended: false,
            size_bytes: Some(512.0),
            paths: vec![
                ("sdi".into(), "running".into()),
                ("nvme0n1".into(), "live".into()),
                ("sdl".into(), "offline".into()),
            ],
        };
        let text = families(&[d]).encode();
        assert!(
            text.contains(
                "node_dmmultipath_device_paths_active{device=\"mpathA\",sysfs_name=\"dm-5\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "node_dmmultipath_device_paths_failed{device=\"mpathA\",sysfs_name=\"dm-5\"} 1"
            ),
            "{text}"
        );
    }
}
