//! Finding the GPUs: PCI display devices of NVIDIA, AMD and Intel under
//! sysfs, named from `pci.ids`; and whether one sleeps.

use std::path::PathBuf;

use super::types::{PciGpu, Vendor};
use crate::collect::{ParseError, Roots, read_trimmed};

/// `"0x10de\n"` → `0x10de`.
pub fn parse_hex_id(text: &str) -> Result<u32, ParseError> {
    let t = text.trim();
    let digits = t.strip_prefix("0x").unwrap_or(t);
    u32::from_str_radix(digits, 16).map_err(|_| {
        ParseError::new(
            "bus/pci/devices/*/{vendor,device,class}",
            format!("not a hex id: {t:?}"),
        )
    })
}

/// Whether a PCI class is a display controller (VGA, 3D, other display).
pub fn is_display_class(class: u32) -> bool {
    class >> 16 == 0x03
}

/// Whether sysfs says the device sleeps: `runtime_status` is `suspended`
/// (or on its way there), or the PCI power state is D3.
pub fn is_asleep(runtime_status: Option<&str>, power_state: Option<&str>) -> bool {
    let status = runtime_status.map(str::trim);
    let state = power_state.map(str::trim);
    matches!(status, Some("suspended" | "suspending")) || state.is_some_and(|s| s.starts_with("D3"))
}

/// The device name in a `pci.ids` file: the line for `device` under the
/// line for `vendor`; a bracketed marketing name is preferred.
pub fn pci_ids_name(ids: &str, vendor: u16, device: u16) -> Option<String> {
    let vendor_key = format!("{vendor:04x}");
    let device_key = format!("{device:04x}");
    let mut in_vendor = false;
    for line in ids.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if !line.starts_with('\t') {
            if in_vendor {
                return None;
            }
            in_vendor = line.starts_with(&vendor_key);
            continue;
        }
        if in_vendor
            && let Some(rest) = line.strip_prefix('\t')
            && !rest.starts_with('\t')
            && let Some(name) = rest.strip_prefix(&device_key)
        {
            let name = name.trim();
            let short = name
                .split_once('[')
                .and_then(|(_, b)| b.split_once(']'))
                .map(|(inner, _)| inner.trim());
            return Some(short.unwrap_or(name).to_owned());
        }
    }
    None
}

/// Lists the GPUs under `roots.sys` (PCI display devices of the three
/// vendors, in address order), naming them from the first readable of
/// `pci_ids` files.
pub fn discover(roots: &Roots, pci_ids: &[PathBuf]) -> Vec<PciGpu> {
    let Ok(entries) = std::fs::read_dir(roots.sys.join("bus/pci/devices")) else {
        return Vec::new();
    };
    let mut found: Vec<(PciGpu, u16, u16)> = entries
        .flatten()
        .filter_map(|e| {
            let dir = e.path();
            let id = |f: &str| read_trimmed(&dir.join(f)).and_then(|t| parse_hex_id(&t).ok());
            if !is_display_class(id("class")?) {
                return None;
            }
            let vendor_id = u16::try_from(id("vendor")?).ok()?;
            let device_id = u16::try_from(id("device")?).ok()?;
            let vendor = Vendor::from_pci(vendor_id)?;
            Some((
                PciGpu {
                    vendor,
                    address: e.file_name().to_string_lossy().into_owned(),
                    name: format!("{vendor_id:04x}:{device_id:04x}"),
                    dir,
                },
                vendor_id,
                device_id,
            ))
        })
        .collect();
    found.sort_by(|a, b| a.0.address.cmp(&b.0.address));
    if !found.is_empty()
        && let Some(ids) = pci_ids.iter().find_map(|p| std::fs::read_to_string(p).ok())
    {
        for (gpu, vendor, device) in &mut found {
            if let Some(name) = pci_ids_name(&ids, *vendor, *device) {
                gpu.name = name;
            }
        }
    }
    found.into_iter().map(|(gpu, _, _)| gpu).collect()
}

/// The `pci.ids` files looked in, in order (Debian's and Fedora's places).
pub fn default_pci_ids() -> Vec<PathBuf> {
    ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"]
        .iter()
        .map(PathBuf::from)
        .collect()
}
