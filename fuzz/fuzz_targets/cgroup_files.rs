//! The cgroup v2 files of one container or service: cpu.stat,
//! memory.current, memory.max, pids.current, io.stat, memory.events and
//! the pressure files.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonde::collect::containers as c;

fuzz_target!(|text: &str| {
    let _ = c::parse_cpu_stat(text);
    let _ = c::parse_counter("memory.current", text);
    let _ = c::parse_memory_max(text);
    let _ = c::parse_io_stat(text);
    let _ = c::parse_memory_events(text);
    let _ = sonde::collect::pressure::parse_pressure(text);
});
