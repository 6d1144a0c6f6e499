//! `uname`: `node_uname_info`, by which dashboards list hosts.

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "uname",
    read: Read::Files(read),
};

fn read(_: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let u = rustix::system::uname();
    let s = |c: &std::ffi::CStr| c.to_string_lossy().into_owned();
    let mut f = Families::default();
    f.gauge_family(
        "node_uname_info",
        "Labeled system information as provided by the uname system call.",
    )
    .push(
        [
            ("domainname", s(u.domainname())),
            ("machine", s(u.machine())),
            ("nodename", s(u.nodename())),
            ("release", s(u.release())),
            ("sysname", s(u.sysname())),
            ("version", s(u.version())),
        ],
        1.0,
    );
    Ok(Some(f))
}
