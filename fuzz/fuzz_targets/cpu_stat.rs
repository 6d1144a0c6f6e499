//! `/proc/stat`, and the CPU share between two readings of it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let mid = (0..=text.len() / 2)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let (a, b) = text.split_at(mid);
    let (a, b) = (
        sonde::collect::cpu::parse_stat(a),
        sonde::collect::cpu::parse_stat(b),
    );
    if let (Ok(a), Ok(b)) = (a, b) {
        let usage = sonde::collect::cpu::usage_between(&b, Some(&a));
        assert!((0.0..=100.0).contains(&usage.total_percent));
    }
});
