//! `entropy`: the kernel's random pool, from `/proc/sys/kernel/random`.

use super::{Families, NodeCollector, Read, Source};
use crate::collect::{CollectError, ParseError};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "entropy",
    read: Read::Files(read),
};

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let dir = src.roots.proc.join("sys/kernel/random");
    let (Some(avail), Some(pool)) = (
        src.read_optional(&dir.join("entropy_avail"))?,
        src.read_optional(&dir.join("poolsize"))?,
    ) else {
        return Ok(None);
    };
    let mut f = Families::default();
    f.gauge(
        "node_entropy_available_bits",
        "Bits of available entropy.",
        bits(&avail)?,
    );
    f.gauge(
        "node_entropy_pool_size_bits",
        "Bits of entropy pool.",
        bits(&pool)?,
    );
    Ok(Some(f))
}

/// One number in a sysctl file.
pub fn bits(text: &str) -> Result<f64, ParseError> {
    text.trim()
        .parse()
        .map_err(|_| ParseError::new("/proc/sys/kernel/random", format!("not a number: {text:?}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_sysctl_number() {
        assert_eq!(super::bits("256\n").unwrap(), 256.0);
        assert!(super::bits("lots\n").is_err());
    }
}
