//! `/proc/1/mountinfo`, with its octal escapes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(mounts) = sonde::collect::disks::parse_mountinfo(text) {
        let _ = sonde::collect::disks::select_real(&mounts);
    }
});
