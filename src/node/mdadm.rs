//! `mdadm`: software RAID arrays (`/proc/mdstat`, `/sys/block/md*/md`),
//! from the `arrays` kind's reading.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::collect::mdstat::MdArray;
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "mdadm",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let sample = scrape.sample(crate::kinds::arrays::sample).await?;
    let Some(arrays) = &sample.value().md else {
        return Ok(None);
    };
    let mut f = families(arrays);
    let sysfs = &sample.value().md_sysfs;
    let disks = f.gauge_family("node_md_raid_disks", "Number of raid disks on device.");
    for (device, raid_disks, _) in sysfs {
        if let Some(n) = raid_disks {
            disks.push([("device", device.as_str())], *n as f64);
        }
    }
    let degraded = f.gauge_family("node_md_degraded", "Number of degraded disks on device.");
    for (device, _, n) in sysfs {
        degraded.push([("device", device.as_str())], *n as f64);
    }
    Ok(Some(f))
}

/// node_exporter's series for the arrays of `/proc/mdstat`.
pub fn families(arrays: &[MdArray]) -> Families {
    let mut f = Families::default();
    let required = f.gauge_family("node_md_disks_required", "Total number of disks of device.");
    for a in arrays {
        required.push([("device", a.name.as_str())], a.disks_total as f64);
    }
    let disks = f.gauge_family(
        "node_md_disks",
        "Number of active/failed/spare disks of device.",
    );
    for a in arrays {
        for (state, n) in [
            ("active", a.disks_active),
            ("failed", a.disks_failed),
            ("spare", a.disks_spare),
        ] {
            disks.push([("device", a.name.as_str()), ("state", state)], n as f64);
        }
    }
    let states = f.gauge_family("node_md_state", "Indicates the state of md-device.");
    for a in arrays {
        for (state, theirs) in [
            ("active", "active"),
            ("inactive", "inactive"),
            ("recovering", "recovering"),
            ("resync", "resyncing"),
            ("check", "checking"),
        ] {
            let on = if a.state == theirs { 1.0 } else { 0.0 };
            states.push([("device", a.name.as_str()), ("state", state)], on);
        }
    }
    let blocks = f.gauge_family("node_md_blocks", "Total number of blocks on device.");
    for a in arrays {
        blocks.push([("device", a.name.as_str())], a.blocks as f64);
    }
    let synced = f.gauge_family(
        "node_md_blocks_synced",
        "Number of blocks synced on device.",
    );
    for a in arrays {
        synced.push([("device", a.name.as_str())], a.blocks_synced as f64);
    }
    f
}
