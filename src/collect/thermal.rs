//! The host's temperature sources, read once for every surface: the hwmon
//! chips ([`super::hwmon`]), the thermal zones and the cooling devices
//! (`/sys/class/thermal`). The `sensors` kind keeps this reading; the
//! metrics reply's CPU temperature and sensor list, a disk's temperature,
//! and node_exporter's `hwmon` and `thermal_zone` collectors are all made
//! from it, so no surface opens a file another one avoids.
//!
//! Nothing here wakes a device: `drivetemp` chips (a SMART command that
//! spins a sleeping disk up) are never opened and a runtime-suspended
//! chip is listed without its readings ([`super::hwmon::read`]).

use std::path::Path;

use super::hwmon::{self, Chip};
use super::sysfs::{Kept, entries, value};
use super::{CollectorErrors, ParseError, Roots};

/// One reading of every temperature source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thermal {
    /// Every hwmon chip; `None` without `/sys/class/hwmon`.
    pub chips: Option<Vec<Chip>>,
    /// Every thermal zone; `None` without `/sys/class/thermal`.
    pub zones: Option<Vec<Zone>>,
    /// Every cooling device that gives its type and both states.
    pub cooling: Vec<CoolingDevice>,
}

/// A thermal zone (`thermal_zoneN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// `N`.
    pub number: String,
    /// Its `type` (`acpitz`, `x86_pkg_temp`, `cpu-thermal`).
    pub kind: String,
    /// Its `temp` file's text (millidegrees); `None` where it cannot be
    /// read (a disabled zone answers ENODATA).
    pub temp: Option<String>,
}

/// A cooling device (`cooling_deviceN`).
#[derive(Debug, Clone, PartialEq)]
pub struct CoolingDevice {
    /// `N`.
    pub number: String,
    /// Its `type` (`Processor`, `Fan`, `intel_powerclamp`).
    pub kind: String,
    /// Its throttle state now.
    pub current: f64,
    /// Its highest throttle state.
    pub max: f64,
}

/// One temperature sensor, for the metrics reply and its series.
#[derive(Debug, Clone, PartialEq)]
pub struct Temperature {
    /// The chip's unique id (`platform_coretemp_1`) or the zone's
    /// directory (`thermal_zone0`): what tells two sockets' `Core 0` apart.
    pub chip: String,
    /// The input on the chip (`temp2`); `temp` for a zone: with the chip,
    /// unique (two inputs of one chip may share a label).
    pub input: String,
    /// The chip's name and the sensor's label (`coretemp Core 0`), or the
    /// zone's type.
    pub label: String,
    /// °C.
    pub celsius: f32,
}

/// Reads every temperature source under `roots` through `files` (sysfs
/// reads: run it on the blocking pool).
pub fn read(roots: &Roots, files: &Kept) -> Thermal {
    let class = entries(files, &roots.sys.join("class/thermal"));
    let numbered = |prefix: &str| -> Vec<(String, &Path)> {
        class
            .iter()
            .flatten()
            .filter_map(|(name, path)| {
                let n = name.strip_prefix(prefix)?;
                (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| (n.to_owned(), path.as_path()))
            })
            .collect()
    };
    let zones = class.as_ref().map(|_| {
        numbered("thermal_zone")
            .into_iter()
            .filter_map(|(number, path)| {
                Some(Zone {
                    number,
                    kind: value(files, &path.join("type"))?,
                    temp: value(files, &path.join("temp")),
                })
            })
            .collect()
    });
    let cooling = numbered("cooling_device")
        .into_iter()
        .filter_map(|(number, path)| {
            let state = |f: &str| value(files, &path.join(f))?.parse().ok();
            Some(CoolingDevice {
                number,
                kind: value(files, &path.join("type"))?,
                current: state("cur_state")?,
                max: state("max_state")?,
            })
        })
        .collect();
    Thermal {
        chips: hwmon::read(roots, files),
        zones,
        cooling,
    }
}

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

/// hwmon chips of GPU drivers: their temperatures are the GPU reply's.
const GPU_CHIPS: [&str; 5] = ["amdgpu", "radeon", "nouveau", "i915", "xe"];

/// A temperature input: whose it is and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// hwmon `name` (`coretemp`, `k10temp`) or thermal zone `type`.
    pub chip: &'a str,
    /// The `tempN_label`, when the chip gives one (`Package id 0`).
    pub label: Option<&'a str>,
    /// The chip's unique id or the zone's directory name.
    pub id: String,
    /// The input (`temp2`, `temp` for a zone).
    pub input: &'a str,
    /// The input's text (millidegrees).
    pub text: &'a str,
}

impl Thermal {
    /// Every temperature input read, GPU chips' aside, in chip then sensor
    /// order, then the zones.
    pub fn candidates(&self) -> Vec<Candidate<'_>> {
        let mut out = Vec::new();
        for chip in self.chips.iter().flatten() {
            let name = chip.name.as_deref().unwrap_or(&chip.id);
            if GPU_CHIPS.contains(&name) {
                continue;
            }
            let mut temps: Vec<(u32, &str, &str)> = chip
                .sensors
                .iter()
                .filter_map(|(id, props)| {
                    let (kind, n, _) = hwmon::explode(id)?;
                    (kind == "temp").then_some((n, id.as_str(), props.get("input")?.as_str()))
                })
                .collect();
            temps.sort_by_key(|t| t.0);
            out.extend(temps.into_iter().map(|(_, id, text)| Candidate {
                chip: name,
                label: chip.label(id),
                id: chip.id.clone(),
                input: id,
                text,
            }));
        }
        for zone in self.zones.iter().flatten() {
            if let Some(text) = &zone.temp {
                out.push(Candidate {
                    chip: &zone.kind,
                    label: None,
                    id: format!("thermal_zone{}", zone.number),
                    input: "temp",
                    text,
                });
            }
        }
        out
    }

    /// Every temperature that reads as one.
    pub fn temperatures(&self) -> Vec<Temperature> {
        self.candidates()
            .into_iter()
            .filter_map(|c| {
                Some(Temperature {
                    celsius: parse_millidegrees(c.text).ok()?,
                    label: match c.label {
                        Some(l) => format!("{} {l}", c.chip),
                        None => c.chip.to_owned(),
                    },
                    chip: c.id,
                    input: c.input.to_owned(),
                })
            })
            .collect()
    }

    /// The CPU package temperature, by the preference order of `rank`;
    /// `None` where no sensor is the CPU's. A CPU sensor whose input does
    /// not read as millidegrees (a driver answering garbage on resume) is
    /// reported to `errors` and gives `None`.
    pub fn cpu(&self, errors: &CollectorErrors) -> Option<f32> {
        let candidates = self.candidates();
        let best = choose_cpu_sensor(&candidates)?;
        errors.ok(
            "temperature",
            parse_millidegrees(best.text).map_err(Into::into),
        )
    }

    /// The temperature of the chip measuring `device` (a disk's SCSI
    /// device or NVMe controller, resolved), its first input.
    pub fn of_device(&self, device: &Path) -> Option<f32> {
        let chip = self
            .chips
            .iter()
            .flatten()
            .find(|c| c.device.as_deref() == Some(device))?;
        parse_millidegrees(chip.sensors.get("temp1")?.get("input")?).ok()
    }
}

/// How well a candidate measures the whole CPU package; higher is better,
/// `None` for sensors that are not the CPU's.
fn rank(c: &Candidate<'_>) -> Option<u8> {
    let label = c.label.unwrap_or("");
    match c.chip {
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

/// Picks the CPU package sensor among the candidates: the best ranked,
/// the first of equals (socket 0's package on a two-socket host).
pub fn choose_cpu_sensor<'c, 'a>(candidates: &'c [Candidate<'a>]) -> Option<&'c Candidate<'a>> {
    let mut best: Option<(u8, &Candidate<'a>)> = None;
    for c in candidates {
        if let Some(r) = rank(c)
            && best.is_none_or(|(b, _)| r > b)
        {
            best = Some((r, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c<'a>(chip: &'a str, label: Option<&'a str>) -> Candidate<'a> {
        Candidate {
            chip,
            label,
            id: chip.to_owned(),
            input: "temp1",
            text: "1000",
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
        assert_eq!(choose_cpu_sensor(&all).unwrap().label, Some("Package id 0"));
        let amd = [c("k10temp", Some("Tctl")), c("k10temp", Some("Tccd1"))];
        assert_eq!(choose_cpu_sensor(&amd).unwrap().label, Some("Tctl"));
        assert!(choose_cpu_sensor(&[c("iwlwifi_1", None), c("nvme", None)]).is_none());
        assert_eq!(
            choose_cpu_sensor(&[c("acpitz", None), c("nvme", None)])
                .unwrap()
                .chip,
            "acpitz",
            "the last resort"
        );
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

    /// The CPU temperature and every sensor's label in a fixture.
    fn found(files: &[(&str, &str)]) -> (Option<f32>, Vec<String>) {
        let dir = layout(files);
        let kept = std::sync::Mutex::new(crate::collect::files::FileCache::new(64));
        let thermal = read(&Roots::under(dir.path()), &kept);
        (
            thermal.cpu(&CollectorErrors::default()),
            thermal
                .temperatures()
                .into_iter()
                .map(|t| t.label)
                .collect(),
        )
    }

    #[test]
    fn an_intel_desktop() {
        let (cpu, all) = found(&[
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
        assert_eq!(cpu, Some(45.0));
        assert_eq!(
            all,
            [
                "acpitz",
                "nvme Composite",
                "coretemp Package id 0",
                "coretemp Core 0"
            ]
        );
    }

    #[test]
    fn an_amd_ryzen_with_a_radeon_whose_sensor_is_the_gpu_replys() {
        let (cpu, all) = found(&[
            ("hwmon/hwmon1/name", "k10temp\n"),
            ("hwmon/hwmon1/temp1_label", "Tctl\n"),
            ("hwmon/hwmon1/temp1_input", "61250\n"),
            ("hwmon/hwmon1/temp3_label", "Tccd1\n"),
            ("hwmon/hwmon1/temp3_input", "58000\n"),
            ("hwmon/hwmon3/name", "amdgpu\n"),
            ("hwmon/hwmon3/temp1_label", "edge\n"),
            ("hwmon/hwmon3/temp1_input", "49000\n"),
        ]);
        assert_eq!(cpu, Some(61.25));
        assert_eq!(all, ["k10temp Tctl", "k10temp Tccd1"]);
    }

    #[test]
    fn a_raspberry_pi_and_acpitz_as_the_last_resort() {
        let (cpu, _) = found(&[
            ("thermal/thermal_zone0/type", "cpu-thermal\n"),
            ("thermal/thermal_zone0/temp", "48312\n"),
        ]);
        assert_eq!(cpu, Some(48.312));
        let (cpu, _) = found(&[
            ("thermal/thermal_zone0/type", "acpitz\n"),
            ("thermal/thermal_zone0/temp", "30000\n"),
            ("thermal/thermal_zone1/type", "iwlwifi_1\n"),
            ("thermal/thermal_zone1/temp", "41000\n"),
        ]);
        assert_eq!(cpu, Some(30.0));
        let (cpu, all) = found(&[
            ("thermal/thermal_zone1/type", "iwlwifi_1\n"),
            ("thermal/thermal_zone1/temp", "41000\n"),
            ("hwmon/hwmon0/name", "nvme\n"),
            ("hwmon/hwmon0/temp1_input", "garbage\n"),
        ]);
        assert_eq!(cpu, None, "no CPU sensor: null, not a guess");
        assert_eq!(all, ["iwlwifi_1"], "an unreadable input is left out");
    }

    #[test]
    fn two_sockets_keep_their_chips_apart_and_the_first_package_is_the_cpus() {
        let dir = layout(&[
            ("hwmon/hwmon0/name", "coretemp\n"),
            ("hwmon/hwmon0/temp1_label", "Package id 0\n"),
            ("hwmon/hwmon0/temp1_input", "40000\n"),
            ("hwmon/hwmon0/temp2_label", "Core 0\n"),
            ("hwmon/hwmon0/temp2_input", "41000\n"),
            ("hwmon/hwmon1/name", "coretemp\n"),
            ("hwmon/hwmon1/temp1_label", "Package id 1\n"),
            ("hwmon/hwmon1/temp1_input", "50000\n"),
            ("hwmon/hwmon1/temp2_label", "Core 0\n"),
            ("hwmon/hwmon1/temp2_input", "51000\n"),
        ]);
        let kept = std::sync::Mutex::new(crate::collect::files::FileCache::new(64));
        let thermal = read(&Roots::under(dir.path()), &kept);
        assert_eq!(thermal.cpu(&CollectorErrors::default()), Some(40.0));
        let mut keys: Vec<(String, String)> = thermal
            .temperatures()
            .into_iter()
            .map(|t| (t.chip, t.input))
            .collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n, "every (chip, input) once: {keys:?}");
    }
}
