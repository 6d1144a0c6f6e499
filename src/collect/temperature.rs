//! CPU package temperature from hwmon (or a CPU thermal zone) in sysfs.
//!
//! The sensor is looked up once ([`discover`] walks sysfs directories, so
//! it runs on the blocking pool) and its file kept open; a machine without
//! one (most VMs) remembers that, so asking costs nothing after the first
//! time.

use std::path::{Path, PathBuf};

use super::{CollectError, Kept, ParseError, Roots};

/// `"45000\n"` (millidegrees Celsius, as sysfs writes it) → `45.0`.
pub fn parse_millidegrees(text: &str) -> Result<f32, ParseError> {
    let milli: i64 = text.trim().parse().map_err(|_| {
        ParseError::new(
            "temp*_input",
            format!("not millidegrees: {:?}", text.trim()),
        )
    })?;
    Ok(milli as f32 / 1000.0)
}

/// A candidate sensor found in sysfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// hwmon `name` (e.g. `coretemp`, `k10temp`) or thermal zone `type`.
    pub chip: String,
    /// The `tempN_label`, when the chip gives one (e.g. `Package id 0`).
    pub label: Option<String>,
    /// The file holding the reading.
    pub input: PathBuf,
}

/// How well a candidate measures the whole CPU package; higher is better,
/// `None` for sensors that are not the CPU's.
fn rank(c: &Candidate) -> Option<u8> {
    let label = c.label.as_deref().unwrap_or("");
    match c.chip.as_str() {
        "coretemp" if label.starts_with("Package id") => Some(6),
        "k10temp" | "zenpower" if label == "Tdie" => Some(6),
        "k10temp" | "zenpower" if label == "Tctl" => Some(5),
        "x86_pkg_temp" => Some(4),
        "coretemp" | "k10temp" | "zenpower" => Some(3),
        "cpu_thermal" | "cpu-thermal" | "cpu0-thermal" | "soc_thermal" | "soc-thermal" => Some(2),
        _ => None,
    }
}

/// Picks the CPU package sensor among the candidates.
pub fn choose_cpu_sensor(candidates: &[Candidate]) -> Option<&Candidate> {
    candidates
        .iter()
        .filter_map(|c| rank(c).map(|r| (r, c)))
        .max_by_key(|(r, _)| *r)
        .map(|(_, c)| c)
}

fn read_trimmed(path: &Path) -> Option<String> {
    Some(std::fs::read_to_string(path).ok()?.trim().to_owned())
}

/// Every temperature input under `sys/class/hwmon` and `sys/class/thermal`.
pub fn candidates(roots: &Roots) -> Vec<Candidate> {
    let mut out = Vec::new();
    if let Ok(dirs) = std::fs::read_dir(roots.sys.join("class/hwmon")) {
        for dir in dirs.flatten().map(|d| d.path()) {
            let Some(chip) = read_trimmed(&dir.join("name")) else {
                continue;
            };
            let Ok(files) = std::fs::read_dir(&dir) else {
                continue;
            };
            for file in files.flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                if let Some(n) = name
                    .strip_prefix("temp")
                    .and_then(|s| s.strip_suffix("_input"))
                {
                    out.push(Candidate {
                        chip: chip.clone(),
                        label: read_trimmed(&dir.join(format!("temp{n}_label"))),
                        input: file.path(),
                    });
                }
            }
        }
    }
    if let Ok(zones) = std::fs::read_dir(roots.sys.join("class/thermal")) {
        for zone in zones.flatten().map(|d| d.path()) {
            if let Some(chip) = read_trimmed(&zone.join("type")) {
                out.push(Candidate {
                    chip,
                    label: None,
                    input: zone.join("temp"),
                });
            }
        }
    }
    out.sort_by(|a, b| a.input.cmp(&b.input));
    out
}

/// The input file of the CPU package sensor, if the machine has one.
/// Walks sysfs directories: run it on the blocking pool.
pub fn discover(roots: &Roots) -> Option<PathBuf> {
    choose_cpu_sensor(&candidates(roots)).map(|c| c.input.clone())
}

/// The CPU package sensor, its file kept open.
#[derive(Debug)]
pub struct CpuSensor {
    input: Kept,
}

impl CpuSensor {
    /// The sensor whose reading is in `input` (from [`discover`]).
    pub fn new(input: PathBuf) -> CpuSensor {
        CpuSensor {
            input: Kept::new(input),
        }
    }

    /// The temperature, °C.
    pub fn read(&mut self) -> Result<f32, CollectError> {
        Ok(parse_millidegrees(self.input.read_checked()?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(chip: &str, label: Option<&str>) -> Candidate {
        Candidate {
            chip: chip.into(),
            label: label.map(Into::into),
            input: PathBuf::from(format!("/{chip}/{}", label.unwrap_or("-"))),
        }
    }

    #[test]
    fn millidegrees() {
        assert_eq!(parse_millidegrees("45000\n"), Ok(45.0));
        assert_eq!(parse_millidegrees("-1500"), Ok(-1.5));
        assert!(parse_millidegrees("hot").is_err());
    }

    #[test]
    fn prefers_the_package_sensor() {
        let all = [
            c("acpitz", None),
            c("coretemp", Some("Core 0")),
            c("coretemp", Some("Package id 0")),
            c("nvme", Some("Composite")),
        ];
        assert_eq!(
            choose_cpu_sensor(&all).unwrap().label.as_deref(),
            Some("Package id 0")
        );
        let amd = [c("k10temp", Some("Tctl")), c("k10temp", Some("Tccd1"))];
        assert_eq!(
            choose_cpu_sensor(&amd).unwrap().label.as_deref(),
            Some("Tctl")
        );
        assert!(choose_cpu_sensor(&[c("acpitz", None), c("nvme", None)]).is_none());
    }

    #[test]
    fn reads_a_fixture_tree_and_finds_none_in_an_empty_one() {
        let dir = std::env::temp_dir().join(format!("sonde-temp-{}", std::process::id()));
        let hw = dir.join("sys/class/hwmon/hwmon3");
        std::fs::create_dir_all(&hw).unwrap();
        std::fs::write(hw.join("name"), "coretemp\n").unwrap();
        std::fs::write(hw.join("temp1_label"), "Package id 0\n").unwrap();
        std::fs::write(hw.join("temp1_input"), "52000\n").unwrap();
        std::fs::write(hw.join("temp2_label"), "Core 0\n").unwrap();
        std::fs::write(hw.join("temp2_input"), "49000\n").unwrap();
        let input = discover(&Roots::under(&dir)).unwrap();
        assert_eq!(CpuSensor::new(input).read().unwrap(), 52.0);
        assert_eq!(discover(&Roots::under(dir.join("empty"))), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
