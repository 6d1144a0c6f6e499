//! `/proc/net/dev`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = sonde::collect::network::parse_net_dev(text);
});
