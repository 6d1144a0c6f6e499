//! `dmi`: the firmware's description of the machine
//! (`/sys/class/dmi/id`), as one info series.

use super::{Families, NodeCollector, Read, Source};
use crate::collect::{CollectError, lock};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "dmi",
    read: Read::Files(read),
};

/// The attributes served, in node_exporter's label order. Serial numbers
/// and the UUID are readable by root only: elsewhere they are left out.
const FIELDS: &[&str] = &[
    "bios_date",
    "bios_release",
    "bios_vendor",
    "bios_version",
    "board_asset_tag",
    "board_name",
    "board_serial",
    "board_vendor",
    "board_version",
    "chassis_asset_tag",
    "chassis_serial",
    "chassis_vendor",
    "chassis_version",
    "product_family",
    "product_name",
    "product_serial",
    "product_sku",
    "product_uuid",
    "product_version",
    "sys_vendor",
];

/// The kernel reads the firmware's table once, at boot, and these files
/// show that copy: each is read once (a missing one too), never again.
fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let mut files = lock(src.files);
    let dir = src.roots.sys.join("class/dmi/id");
    let labels: Vec<(&str, String)> = FIELDS
        .iter()
        .filter_map(|field| {
            let label = if *field == "sys_vendor" {
                "system_vendor"
            } else {
                field
            };
            let text = files.attribute_while(&dir.join(field), "")?;
            Some((label, text.trim().to_owned()))
        })
        .collect();
    if labels.is_empty() {
        return Ok(None);
    }
    let mut f = Families::default();
    f.gauge_family(
        "node_dmi_info",
        "A metric with a constant '1' value labeled by bios_date, bios_release, bios_vendor, bios_version, \
         board_asset_tag, board_name, board_serial, board_vendor, board_version, chassis_asset_tag, \
         chassis_serial, chassis_vendor, chassis_version, product_family, product_name, product_serial, \
         product_sku, product_uuid, product_version, system_vendor if provided by DMI.",
    )
    .push(labels, 1.0);
    Ok(Some(f))
}
