//! Batteries, AC adapters and USB supplies (`/sys/class/power_supply`):
//! each supply's attributes as the kernel writes them. One reading serves
//! node_exporter's powersupplyclass collector and the `power` kind.

use std::collections::BTreeMap;

use super::Roots;
use super::sysfs::{Kept, attributes, entries};

/// One power supply.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PowerSupply {
    /// Its directory's name (`BAT0`, `AC`, `ucsi-source-psy-USBC000:001`).
    pub name: String,
    /// Each attribute file's text (`capacity` → `81`), in the kernel's
    /// units: µAh, µWh, µV, µA, µW, tenths of °C, seconds.
    pub attributes: BTreeMap<String, String>,
}

impl PowerSupply {
    /// An attribute as a number.
    pub fn number(&self, attribute: &str) -> Option<f64> {
        self.attributes.get(attribute)?.parse().ok()
    }

    /// An attribute's text, where it is not empty.
    pub fn text(&self, attribute: &str) -> Option<&str> {
        self.attributes
            .get(attribute)
            .map(String::as_str)
            .filter(|t| !t.is_empty())
    }
}

/// Every supply, in directory order; `None` without the class.
pub fn read(roots: &Roots, files: &Kept) -> Option<Vec<PowerSupply>> {
    Some(
        entries(files, &roots.sys.join("class/power_supply"))?
            .into_iter()
            .map(|(name, path)| PowerSupply {
                name,
                attributes: attributes(files, &path),
            })
            .collect(),
    )
}
