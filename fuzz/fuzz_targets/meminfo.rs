//! `/proc/meminfo`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = sonde::collect::memory::parse_meminfo(text);
});
