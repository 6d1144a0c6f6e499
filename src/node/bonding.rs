//! `bonding`: bonded interfaces' configured and active slaves
//! (`/sys/class/net/bonding_masters`).

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::sysfs::value;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "bonding",
    read: Read::Files(read),
};

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let files = src.files;
    let net = src.roots.sys.join("class/net");
    let Some(masters) = value(files, &net.join("bonding_masters")) else {
        return Ok(None);
    };
    let mut bonds = Vec::new();
    for master in masters.split_whitespace() {
        let slaves = value(files, &net.join(master).join("bonding/slaves")).unwrap_or_default();
        let (mut configured, mut active) = (0.0, 0.0);
        for slave in slaves.split_whitespace() {
            // Kernels since 4.x link the slave as lower_X, older ones as slave_X.
            let status = ["lower_", "slave_"].iter().find_map(|p| {
                value(
                    files,
                    &net.join(master)
                        .join(format!("{p}{slave}/bonding_slave/mii_status")),
                )
            });
            configured += 1.0;
            if status.as_deref() == Some("up") {
                active += 1.0;
            }
        }
        bonds.push((master, configured, active));
    }
    let mut f = Families::default();
    let a = f.gauge_family(
        "node_bonding_active",
        "Number of active slaves per bonding interface.",
    );
    for (m, _, active) in &bonds {
        a.push([("master", *m)], *active);
    }
    let s = f.gauge_family(
        "node_bonding_slaves",
        "Number of configured slaves per bonding interface.",
    );
    for (m, configured, _) in &bonds {
        s.push([("master", *m)], *configured);
    }
    Ok(Some(f))
}
