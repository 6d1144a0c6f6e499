//! The files of one process read for `process_metrics`: status, statm,
//! io, cmdline, task children, schedstat, cgroup.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonde::collect::{process_detail as d, processes::parser as p};

fuzz_target!(|text: &str| {
    let _ = d::parse_status(text);
    let _ = d::parse_statm(text);
    let _ = d::parse_io(text);
    let _ = d::parse_cmdline(text);
    let _ = d::parse_children(text);
    let _ = p::parse_schedstat(text);
    let _ = p::parse_pid_name(text.as_bytes());
    let _ = sonde::collect::containers::parse_proc_cgroup(text);
    let _ = sonde::collect::containers::classify(text);
});
