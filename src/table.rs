//! The one table of what the server serves: every reply kind
//! ([`crate::kinds`]) and node_exporter's collectors ([`crate::node::KIND`]).
//! It sits above both folders, so neither names the other's table; the
//! server, request parsing and `sonde check` take it from here.

use crate::state::Kind;
use crate::{kinds, node};

/// Every kind the server answers, in the order `sonde check`, `/api` and
/// `/metrics` go through them.
pub static KINDS: &[&Kind] = &[
    &kinds::metrics::KIND,
    &kinds::disks::KIND,
    &kinds::processes::KIND,
    &kinds::process_metrics::KIND,
    &kinds::journal_entries::KIND,
    &kinds::host::KIND,
    &kinds::containers::KIND,
    &kinds::disk_io::KIND,
    &kinds::interfaces::KIND,
    &kinds::pressure::KIND,
    &kinds::sockets::KIND,
    &kinds::sensors::KIND,
    &kinds::power::KIND,
    &kinds::cpu_frequency::KIND,
    &kinds::arrays::KIND,
    &kinds::history::KIND,
    &node::KIND,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_module_is_in_the_table() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/kinds");
        let modules = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                !["mod.rs", "loaded.rs", "plain.rs"]
                    .iter()
                    .any(|f| p.ends_with(f))
            })
            .count();
        assert_eq!(
            modules + 1,
            KINDS.len(),
            "a kind module is missing from KINDS (node's is the one more)"
        );
    }
}
