//! `netclass`: each network device's sysfs attributes (`/sys/class/net`):
//! up, carrier, speed, MTU, flags…, from the `interfaces` kind's reading.

use futures_util::FutureExt;

use super::{Families, NodeCollector, Read};
use crate::collect::CollectError;
use crate::collect::netclass::{NUMERIC, NetClass};
use crate::state::Scrape;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "netclass",
    read: Read::Sample(|scrape| read(scrape).boxed()),
};

async fn read(scrape: &Scrape<'_>) -> Result<Option<Families>, CollectError> {
    let metrics = scrape.sample(crate::kinds::metrics::sample).await?;
    let sample = scrape
        .sample(|state| crate::kinds::interfaces::sample_with(state, Some(metrics)))
        .await?;
    let state = scrape.state;
    let Some(devices) = &sample.value().classes else {
        return Ok(None);
    };
    let mut f = families(devices);
    let exclude = state.config.exporter.netdev_device_exclude.as_ref();
    let nohandler = f.counter_family(
        "node_network_receive_nohandler_total",
        "Network device statistic receive_nohandler.",
    );
    for d in devices
        .iter()
        .filter(|d| exclude.is_none_or(|re| !re.is_match(&d.name)))
    {
        if let Some(v) = d.rx_nohandler {
            nohandler.push([("device", d.name.as_str())], v as f64);
        }
    }
    Ok(Some(f))
}

/// node_exporter's series for the devices.
pub fn families(devices: &[NetClass]) -> Families {
    let mut f = Families::default();
    let up = f.gauge_family(
        "node_network_up",
        "Value is 1 if operstate is 'up', 0 otherwise.",
    );
    for d in devices {
        up.push(
            [("device", d.name.as_str())],
            if d.operstate == "up" { 1.0 } else { 0.0 },
        );
    }
    let info = f.gauge_family(
        "node_network_info",
        "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
    );
    for d in devices {
        let admin = match d.flags() {
            None => "unknown",
            Some(flags) if flags & 1 == 1 => "up",
            Some(_) => "down",
        };
        info.push(
            [
                ("device", d.name.as_str()),
                ("address", &d.address),
                ("broadcast", &d.broadcast),
                ("duplex", &d.duplex),
                ("operstate", &d.operstate),
                ("adminstate", admin),
                ("ifalias", &d.ifalias),
            ],
            1.0,
        );
    }
    for (series, _, counter) in NUMERIC {
        let name = format!("node_network_{series}");
        let help = format!("Network device property: {series}");
        let family = if counter {
            f.counter_family(name, help)
        } else {
            f.gauge_family(name, help)
        };
        for d in devices {
            if let Some(v) = d.number(series) {
                family.push([("device", d.name.as_str())], v as f64);
            }
        }
    }
    let speed = f.gauge_family(
        "node_network_speed_bytes",
        "Network device property: speed_bytes",
    );
    for d in devices {
        if let Some(mbits) = d.speed {
            speed.push(
                [("device", d.name.as_str())],
                (mbits * 1000 * 1000 / 8) as f64,
            );
        }
    }
    let queue = f.gauge_family(
        "node_network_transmit_queue_length",
        "Network device property: transmit_queue_length",
    );
    for d in devices {
        if let Some(v) = d.tx_queue_len {
            queue.push([("device", d.name.as_str())], v as f64);
        }
    }
    let proto = f.gauge_family(
        "node_network_protocol_type",
        "Network device property: protocol_type",
    );
    for d in devices {
        if let Some(v) = d.protocol_type {
            proto.push([("device", d.name.as_str())], v as f64);
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::files::FileCache;
    use crate::collect::netclass::read_all;

    #[test]
    fn reads_a_device_directory() {
        let dir = std::env::temp_dir().join(format!("sonde-netclass-{}", std::process::id()));
        let eth = dir.join("class/net/eth0");
        std::fs::create_dir_all(&eth).unwrap();
        for (file, text) in [
            ("operstate", "up\n"),
            ("address", "02:fc:00:00:00:01\n"),
            ("mtu", "1500\n"),
            ("flags", "0x1003\n"),
            ("speed", "-1\n"),
            ("carrier_changes", "2\n"),
        ] {
            std::fs::write(eth.join(file), text).unwrap();
        }
        let devices = read_all(&dir, None, &mut FileCache::new(8))
            .unwrap()
            .unwrap();
        let text = families(&devices).encode();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            text.contains("node_network_up{device=\"eth0\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("node_network_mtu_bytes{device=\"eth0\"} 1500"),
            "{text}"
        );
        assert!(
            text.contains("node_network_flags{device=\"eth0\"} 4099"),
            "{text}"
        );
        assert!(
            text.contains("node_network_speed_bytes{device=\"eth0\"} -125000"),
            "{text}"
        );
        assert!(
            text.contains("node_network_carrier_changes_total{device=\"eth0\"} 2"),
            "{text}"
        );
        assert!(text.contains("adminstate=\"up\""), "{text}");
    }
}
