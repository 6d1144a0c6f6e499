//! Every hwmon chip and its sensors (`/sys/class/hwmon`): temperatures,
//! fans, voltages, currents, power, energy, humidity, intrusion, PWM. One
//! reading serves node_exporter's hwmon collector and the `sensors` kind.
//!
//! Chips are named as node_exporter names them (from the device's bus and
//! address, so the name survives reboots that renumber `hwmonN`), and each
//! sensor keeps its files' raw text: each surface converts the units it
//! needs.
//!
//! Nothing here wakes a device: a chip whose device is runtime-suspended is
//! listed without its readings, and `drivetemp` chips (ATA disks, whose
//! temperature read is a SMART command that spins a sleeping disk up) are
//! left out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Roots;
use super::sysfs::Kept;

/// The sensor types node_exporter reads, and so does sonde.
const SENSOR_TYPES: &[&str] = &[
    "vrm",
    "beep_enable",
    "update_interval",
    "in",
    "cpu",
    "fan",
    "pwm",
    "temp",
    "curr",
    "power",
    "energy",
    "humidity",
    "intrusion",
    "freq",
];

/// Chips whose readings would wake a sleeping device.
const WAKING_CHIPS: &[&str] = &["drivetemp"];

/// One hwmon chip.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chip {
    /// node_exporter's `chip` label (`platform_coretemp_0`).
    pub id: String,
    /// Its `name` file (`coretemp`), as the kernel writes it.
    pub name: Option<String>,
    /// Sensors by id (`temp1`, `fan2`, `beep_enable0`), each property's raw
    /// text (`""` for a file without one, such as `pwm1`).
    pub sensors: BTreeMap<String, BTreeMap<String, String>>,
    /// Whether its device is runtime-suspended: listed, not read.
    pub suspended: bool,
    /// The device it measures, resolved (a disk's SCSI device, an NVMe
    /// controller), where it has one: how a disk finds its temperature.
    pub device: Option<PathBuf>,
}

impl Chip {
    /// A property as a number.
    pub fn number(&self, sensor: &str, property: &str) -> Option<f64> {
        self.sensors.get(sensor)?.get(property)?.trim().parse().ok()
    }

    /// A sensor's label, where the chip gives one.
    pub fn label(&self, sensor: &str) -> Option<&str> {
        self.sensors.get(sensor)?.get("label").map(String::as_str)
    }
}

/// node_exporter's name cleaning: lower case, anything but `[a-z0-9:_]`
/// made `_`, `_` trimmed from both ends.
pub fn clean(name: &str) -> String {
    let lower: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == ':' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    lower.trim_matches('_').to_owned()
}

/// A sensor file's name as (type, number, property): `temp1_input` →
/// (`temp`, 1, `input`), `pwm1` → (`pwm`, 1, ``), `beep_enable` →
/// (`beep_enable`, 0, ``); `None` for a name that is not a sensor's.
pub fn explode(file: &str) -> Option<(&str, u32, &str)> {
    let type_end = file
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(file.len());
    if type_end == 0 {
        return None;
    }
    let kind = &file[..type_end];
    let rest = &file[type_end..];
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let number = if digits_end == 0 {
        0
    } else {
        rest[..digits_end].parse().ok()?
    };
    let tail = &rest[digits_end..];
    let property = match tail.strip_prefix('_') {
        Some(p) if !p.is_empty() => p,
        _ if tail.is_empty() => "",
        _ => return None,
    };
    Some((kind, number, property))
}

/// A chip found: its directory, its base name, its `name` file and its
/// device, resolved.
type Found = (PathBuf, String, Option<String>, Option<PathBuf>);

/// Every chip under `sys/class/hwmon`, in directory order; `None` where
/// the class does not exist.
pub fn read(roots: &Roots, files: &Kept) -> Option<Vec<Chip>> {
    let class = roots.sys.join("class/hwmon");
    let dirs: Vec<PathBuf> = super::lock(files)
        .list(&class)?
        .iter()
        .filter(|l| l.is_dir)
        .map(|l| l.path.clone())
        .collect();
    let found: Vec<Found> = dirs
        .into_iter()
        .filter_map(|dir| {
            let name = read_value(files, &dir.join("name"));
            let device = super::lock(files).canonical(&dir.join("device"));
            let base = base_name(files, &dir, name.as_deref(), device.as_deref())?;
            Some((dir, base, name, device))
        })
        .filter(|(_, _, name, _)| !name.as_deref().is_some_and(|n| WAKING_CHIPS.contains(&n)))
        .collect();
    let ids = unique_ids(&found);
    Some(
        found
            .into_iter()
            .zip(ids)
            .map(|((dir, _, name, device), id)| read_chip(files, &dir, id, name, device))
            .collect(),
    )
}

/// node_exporter's chip name before de-duplication: the device's bus and
/// address, else the `name` file, else the directory's name.
fn base_name(
    files: &Kept,
    dir: &Path,
    name: Option<&str>,
    device: Option<&Path>,
) -> Option<String> {
    if let Some(device) = device {
        let dev = device
            .file_name()
            .map(|n| clean(&n.to_string_lossy()))
            .unwrap_or_default();
        let bus = device
            .parent()
            .and_then(Path::file_name)
            .map(|n| clean(&n.to_string_lossy()))
            .unwrap_or_default();
        match (bus.is_empty(), dev.is_empty()) {
            (false, false) => return Some(format!("{bus}_{dev}")),
            (true, false) => return Some(dev),
            _ => {}
        }
    }
    if let Some(n) = name.map(clean).filter(|n| !n.is_empty()) {
        return Some(n);
    }
    let real = super::lock(files).canonical(dir)?;
    Some(clean(&real.file_name()?.to_string_lossy())).filter(|n| !n.is_empty())
}

/// Chips that share a base name get their `name` file (or, where that is
/// shared too, their directory's name) appended, as node_exporter does.
fn unique_ids(found: &[Found]) -> Vec<String> {
    let count = |pred: &dyn Fn(&Found) -> bool| found.iter().filter(|f| pred(f)).count();
    found
        .iter()
        .map(|(dir, base, name, _)| {
            if count(&|f| f.1 == *base) <= 1 {
                return base.clone();
            }
            let mut suffix = clean(name.as_deref().unwrap_or(""));
            if suffix.is_empty() || count(&|f| f.1 == *base && f.2 == *name) > 1 {
                suffix = clean(&dir.file_name().unwrap_or_default().to_string_lossy());
            }
            format!("{base}_{suffix}")
        })
        .collect()
}

fn read_chip(
    files: &Kept,
    dir: &Path,
    id: String,
    name: Option<String>,
    device: Option<PathBuf>,
) -> Chip {
    let suspended =
        read_value(files, &dir.join("device/power/runtime_status")).as_deref() == Some("suspended");
    let mut chip = Chip {
        id,
        name,
        sensors: BTreeMap::new(),
        suspended,
        device,
    };
    if !suspended {
        add_sensors(files, dir, &mut chip.sensors);
        let device = dir.join("device");
        if super::sysfs::is_dir(files, &device) {
            add_sensors(files, &device, &mut chip.sensors);
        }
    }
    chip
}

fn add_sensors(files: &Kept, dir: &Path, sensors: &mut BTreeMap<String, BTreeMap<String, String>>) {
    let Some(listed) = super::lock(files).list(dir) else {
        return;
    };
    for entry in listed.iter() {
        let Some((kind, number, property)) = explode(&entry.name) else {
            continue;
        };
        if !SENSOR_TYPES.contains(&kind) {
            continue;
        }
        if let Some(value) = read_value(files, &entry.path) {
            sensors
                .entry(format!("{kind}{number}"))
                .or_default()
                .insert(property.to_owned(), value);
        }
    }
}

/// A sysfs value without its newline; `None` where it cannot be read
/// (write-only files, sensors that fail their read).
fn read_value(files: &Kept, path: &Path) -> Option<String> {
    let text = super::lock(files).read(path).ok()?;
    Some(text.trim_end_matches('\n').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explodes_sensor_file_names_as_node_exporter_does() {
        assert_eq!(explode("temp1_input"), Some(("temp", 1, "input")));
        assert_eq!(explode("pwm1"), Some(("pwm", 1, "")));
        assert_eq!(
            explode("pwm1_auto_point1_pwm"),
            Some(("pwm", 1, "auto_point1_pwm"))
        );
        assert_eq!(explode("beep_enable"), Some(("beep_enable", 0, "")));
        assert_eq!(explode("in0_input"), Some(("in", 0, "input")));
        assert_eq!(explode("name"), Some(("name", 0, "")));
        assert_eq!(explode("1abc"), None);
        assert_eq!(explode("temp1x"), None);
    }

    #[test]
    fn cleans_names_as_node_exporter_does() {
        assert_eq!(clean("coretemp.0"), "coretemp_0");
        assert_eq!(clean("Package id 0"), "package_id_0");
        assert_eq!(clean("-nct6779-"), "nct6779");
        assert_eq!(clean("0000:00:18.3"), "0000:00:18_3");
    }

    #[test]
    fn chips_sharing_a_device_are_told_apart_by_name_then_directory() {
        let f = |dir: &str, base: &str, name: Option<&str>| {
            (
                PathBuf::from(dir),
                base.to_owned(),
                name.map(str::to_owned),
                None,
            )
        };
        let found = [
            f("/h/hwmon0", "platform_asus", Some("asus")),
            f("/h/hwmon1", "platform_asus", Some("asus_wmi")),
            f("/h/hwmon2", "pci_x", Some("amdgpu")),
            f("/h/hwmon3", "pci_x", Some("amdgpu")),
            f("/h/hwmon4", "nct6779", Some("nct6779")),
        ];
        assert_eq!(
            unique_ids(&found),
            [
                "platform_asus_asus",
                "platform_asus_asus_wmi",
                "pci_x_hwmon2",
                "pci_x_hwmon3",
                "nct6779"
            ]
        );
    }
}
