//! Memory and swap from `/proc/meminfo`.

use super::{ParseError, num};

const FILE: &str = "/proc/meminfo";

/// Memory figures in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// `MemTotal`.
    pub total_bytes: u64,
    /// `MemAvailable`: what can be allocated without swapping (older kernels
    /// lack it; then free + buffers + page cache stands in).
    pub available_bytes: u64,
    /// `SwapTotal`.
    pub swap_total_bytes: u64,
    /// `SwapFree`.
    pub swap_free_bytes: u64,
}

impl Memory {
    /// total − available, the figure `free` and socktop call "used".
    pub fn used_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub(self.available_bytes)
    }

    /// Swap in use.
    pub fn swap_used_bytes(&self) -> u64 {
        self.swap_total_bytes.saturating_sub(self.swap_free_bytes)
    }
}

/// Parses `/proc/meminfo` (values in kB).
pub fn parse_meminfo(text: &str) -> Result<Memory, ParseError> {
    let (mut total, mut available, mut free, mut buffers, mut cached) = (None, None, 0, 0, 0);
    let mut mem = Memory::default();
    for line in super::lines(text) {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let slot = match key {
            "MemTotal" | "MemAvailable" | "MemFree" | "Buffers" | "Cached" | "SwapTotal"
            | "SwapFree" => key,
            _ => continue,
        };
        let kib: u64 = num(FILE, slot, rest.split_ascii_whitespace().next())?;
        let bytes = kib.saturating_mul(1024);
        match slot {
            "MemTotal" => total = Some(bytes),
            "MemAvailable" => available = Some(bytes),
            "MemFree" => free = bytes,
            "Buffers" => buffers = bytes,
            "Cached" => cached = bytes,
            "SwapTotal" => mem.swap_total_bytes = bytes,
            _ => mem.swap_free_bytes = bytes,
        }
    }
    mem.total_bytes = total.ok_or_else(|| ParseError::new(FILE, "MemTotal missing"))?;
    mem.available_bytes = available.unwrap_or(free.saturating_add(buffers).saturating_add(cached));
    Ok(mem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_meminfo() {
        let text = "MemTotal:       16303412 kB
MemFree:         1012344 kB
MemAvailable:    9876544 kB
Buffers:          123456 kB
Cached:          7000000 kB
SwapCached:            0 kB
SwapTotal:       2097148 kB
SwapFree:        2000000 kB
HugePages_Total:       0
";
        let m = parse_meminfo(text).unwrap();
        assert_eq!(m.total_bytes, 16_303_412 * 1024);
        assert_eq!(m.used_bytes(), (16_303_412 - 9_876_544) * 1024);
        assert_eq!(m.swap_used_bytes(), 97_148 * 1024);
    }

    #[test]
    fn falls_back_when_memavailable_is_missing() {
        let m =
            parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n")
                .unwrap();
        assert_eq!(m.available_bytes, 400 * 1024);
    }

    #[test]
    fn rejects_missing_total_and_bad_numbers() {
        assert!(parse_meminfo("MemFree: 1 kB\n").is_err());
        assert!(parse_meminfo("MemTotal: lots kB\n").is_err());
    }
}
