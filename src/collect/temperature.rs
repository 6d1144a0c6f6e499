//! CPU package temperature from hwmon (or a CPU thermal zone) in sysfs.
//!
//! The sensor is looked up once ([`discover`] walks sysfs directories, so
//! it runs on the blocking pool) and its file kept open; a machine without
//! one (most VMs) remembers that, so asking costs nothing after the first
//! time.

use std::path::PathBuf;

use super::{CollectError, Kept, ParseError, Roots, read_trimmed};

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
        // ACPI's thermal zone: often the CPU's, but only as a last resort.
        "acpitz" => Some(1),
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

/// hwmon chips of GPU drivers: their GPU is read (or left asleep) by the
/// GPU collector, and reading their sensors here could wake it.
const GPU_CHIPS: [&str; 5] = ["amdgpu", "radeon", "nouveau", "i915", "xe"];

/// The sensors found on a machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SensorSet {
    /// Every readable sensor but the GPUs': its label (`chip label`) and
    /// input file, in path order.
    pub all: Vec<(String, PathBuf)>,
    /// Which of them is the CPU package sensor, by the preference order
    /// (`coretemp` package, `k10temp`/`zenpower` Tdie/Tctl, `x86_pkg_temp`,
    /// other CPU chips, ARM `cpu_thermal` zones, `acpitz` last).
    pub cpu: Option<usize>,
}

/// Finds every temperature sensor and the CPU package one. Walks sysfs
/// directories and reads each input once (dropping those that fail): run
/// it on the blocking pool.
pub fn discover(roots: &Roots) -> SensorSet {
    let all: Vec<Candidate> = candidates(roots)
        .into_iter()
        .filter(|c| !GPU_CHIPS.contains(&c.chip.as_str()))
        .filter(|c| std::fs::read_to_string(&c.input).is_ok_and(|t| parse_millidegrees(&t).is_ok()))
        .collect();
    let cpu = choose_cpu_sensor(&all).and_then(|best| all.iter().position(|c| c == best));
    SensorSet {
        all: all
            .into_iter()
            .map(|c| {
                let label = match &c.label {
                    Some(l) => format!("{} {l}", c.chip),
                    None => c.chip.clone(),
                };
                (label, c.input)
            })
            .collect(),
        cpu,
    }
}

/// The CPU package sensor, its file kept open.
#[derive(Debug)]
pub struct SensorFile {
    input: Kept,
}

impl SensorFile {
    /// The sensor whose reading is in `input` (from [`discover`]).
    pub fn new(input: PathBuf) -> SensorFile {
        SensorFile {
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
        assert!(choose_cpu_sensor(&[c("iwlwifi_1", None), c("nvme", None)]).is_none());
        assert_eq!(
            choose_cpu_sensor(&[c("acpitz", None), c("nvme", None)])
                .unwrap()
                .chip,
            "acpitz",
            "the last resort"
        );
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
        let found = discover(&Roots::under(&dir));
        let (label, input) = &found.all[found.cpu.unwrap()];
        assert_eq!(label, "coretemp Package id 0");
        assert_eq!(SensorFile::new(input.clone()).read().unwrap(), 52.0);
        assert_eq!(found.all.len(), 2);
        assert_eq!(
            discover(&Roots::under(dir.join("empty"))),
            SensorSet::default()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Writes `files` (path under `sys/class`, contents) into a fixture.
    fn layout(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join("sys/class").join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn cpu_label(files: &[(&str, &str)]) -> (Option<String>, Vec<String>) {
        let dir = layout(files);
        let found = discover(&Roots::under(dir.path()));
        (
            found.cpu.map(|i| found.all[i].0.clone()),
            found.all.into_iter().map(|(l, _)| l).collect(),
        )
    }

    #[test]
    fn an_intel_desktop() {
        let (cpu, all) = cpu_label(&[
            ("hwmon/hwmon0/name", "acpitz\n"),
            ("hwmon/hwmon0/temp1_input", "27800\n"),
            ("hwmon/hwmon1/name", "nvme\n"),
            ("hwmon/hwmon1/temp1_label", "Composite\n"),
            ("hwmon/hwmon1/temp1_input", "38850\n"),
            ("hwmon/hwmon2/name", "coretemp\n"),
            ("hwmon/hwmon2/temp1_label", "Package id 0\n"),
            ("hwmon/hwmon2/temp1_input", "45000\n"),
            ("hwmon/hwmon2/temp2_label", "Core 0\n"),
            ("hwmon/hwmon2/temp2_input", "43000\n"),
        ]);
        assert_eq!(cpu.as_deref(), Some("coretemp Package id 0"));
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn an_amd_ryzen_with_a_radeon_whose_sensor_is_left_to_the_gpu_reader() {
        let (cpu, all) = cpu_label(&[
            ("hwmon/hwmon1/name", "k10temp\n"),
            ("hwmon/hwmon1/temp1_label", "Tctl\n"),
            ("hwmon/hwmon1/temp1_input", "61250\n"),
            ("hwmon/hwmon1/temp3_label", "Tccd1\n"),
            ("hwmon/hwmon1/temp3_input", "58000\n"),
            ("hwmon/hwmon3/name", "amdgpu\n"),
            ("hwmon/hwmon3/temp1_label", "edge\n"),
            ("hwmon/hwmon3/temp1_input", "49000\n"),
        ]);
        assert_eq!(cpu.as_deref(), Some("k10temp Tctl"));
        assert!(!all.iter().any(|l| l.starts_with("amdgpu")), "{all:?}");
    }

    #[test]
    fn a_raspberry_pi_and_acpitz_as_the_last_resort() {
        let (cpu, _) = cpu_label(&[
            ("thermal/thermal_zone0/type", "cpu-thermal\n"),
            ("thermal/thermal_zone0/temp", "48312\n"),
        ]);
        assert_eq!(cpu.as_deref(), Some("cpu-thermal"));
        let (cpu, _) = cpu_label(&[
            ("thermal/thermal_zone0/type", "acpitz\n"),
            ("thermal/thermal_zone0/temp", "30000\n"),
            ("thermal/thermal_zone1/type", "iwlwifi_1\n"),
            ("thermal/thermal_zone1/temp", "41000\n"),
        ]);
        assert_eq!(cpu.as_deref(), Some("acpitz"));
        let (cpu, all) = cpu_label(&[
            ("thermal/thermal_zone1/type", "iwlwifi_1\n"),
            ("thermal/thermal_zone1/temp", "41000\n"),
            ("hwmon/hwmon0/name", "nvme\n"),
            ("hwmon/hwmon0/temp1_input", "garbage\n"),
        ]);
        assert_eq!(cpu, None, "no CPU sensor: null, not a guess");
        assert_eq!(all, ["iwlwifi_1"], "an unreadable input is dropped");
    }
}
