//! `selinux`: whether SELinux is on and its modes, from selinuxfs.

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "selinux",
    read: Read::Files(read),
};

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let mut f = Families::default();
    let enforce = src.attribute(&src.roots.sys.join("fs/selinux/enforce"));
    let Some(current) = enforce.and_then(|e| e.trim().parse::<f64>().ok()) else {
        f.gauge(
            "node_selinux_enabled",
            "SELinux is enabled, 1 is true, 0 is false",
            0.0,
        );
        return Ok(Some(f));
    };
    f.gauge(
        "node_selinux_enabled",
        "SELinux is enabled, 1 is true, 0 is false",
        1.0,
    );
    let config = src
        .attribute(&src.roots.etc.join("selinux/config"))
        .unwrap_or_default();
    f.gauge(
        "node_selinux_config_mode",
        "Configured SELinux enforcement mode",
        config_mode(&config),
    );
    f.gauge(
        "node_selinux_current_mode",
        "Current SELinux enforcement mode",
        current,
    );
    Ok(Some(f))
}

/// `SELINUX=` of `/etc/selinux/config`: enforcing 1, permissive 0,
/// disabled (or unset) -1.
pub fn config_mode(text: &str) -> f64 {
    let mode = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("SELINUX="))
        .unwrap_or("disabled");
    match mode.trim() {
        "enforcing" => 1.0,
        "permissive" => 0.0,
        _ => -1.0,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_configured_mode() {
        assert_eq!(
            super::config_mode("# c\nSELINUX=enforcing\nSELINUXTYPE=targeted\n"),
            1.0
        );
        assert_eq!(super::config_mode("SELINUX=permissive\n"), 0.0);
        assert_eq!(super::config_mode(""), -1.0);
    }
}
