//! The host's small files: cpuinfo, os-release, loadavg, vmstat, sysfs
//! sensors and PCI ids, one journalctl JSON line, and a container runtime's
//! listing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonde::collect::{gpu, host, journal, processes::parser as p, system, temperature};

fuzz_target!(|text: &str| {
    let _ = host::parse_cpuinfo(text);
    let _ = sonde::collect::os_release::pretty_name(text);
    let _ = system::parse_loadavg(text);
    let _ = p::parse_last_created_pid(text);
    let _ = p::parse_reclaim_epoch(text);
    let _ = temperature::parse_millidegrees(text);
    let _ = gpu::parse_hex_id(text);
    let _ = journal::parse_entry(text);
    let _ = sonde::collect::containers::parse_container_names(text);
});
