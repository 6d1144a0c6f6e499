//! `/proc/<pid>/stat`, the line the process scan parses for every process.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = sonde::collect::processes::parse_pid_stat(text);
});
