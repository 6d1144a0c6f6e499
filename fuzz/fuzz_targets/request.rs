//! A WebSocket text frame, as a client sends it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = sonde::protocol::Request::parse(text);
});
