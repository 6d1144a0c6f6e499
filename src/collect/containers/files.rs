//! One cgroup's files, kept open between samples, and one cgroup measured
//! through them.

use std::path::Path;

use super::parser::{
    parse_counter, parse_cpu_stat, parse_io_stat, parse_memory_events, parse_memory_max,
};
use super::types::{CgroupPressure, Container, Found};
use crate::collect::pressure::parse_pressure;
use crate::collect::{CollectorErrors, ProcFile};

/// The files of one cgroup that sonde reads, in [`CgroupFiles::NAMES`]
/// order.
pub const FILES: usize = 9;

/// One cgroup's files, kept open and re-read with `pread` (cgroupfs
/// regenerates them on every read), as the process scan keeps
/// `/proc/<pid>/stat`: a steady host costs nine reads per cgroup. A file
/// that is absent (its controller is not enabled there) is remembered as
/// absent for the cgroup's life in the table.
#[derive(Debug, Default)]
pub struct CgroupFiles {
    files: [Option<ProcFile>; FILES],
    absent: [bool; FILES],
}

impl CgroupFiles {
    const NAMES: [&'static str; FILES] = [
        "cpu.stat",
        "memory.current",
        "memory.max",
        "pids.current",
        "io.stat",
        "cpu.pressure",
        "memory.pressure",
        "io.pressure",
        "memory.events",
    ];

    /// Reads file `i` of `dir` into `buf`: through the kept descriptor, or
    /// opening it (and keeping it while `may_keep`).
    pub fn read<'b>(
        &mut self,
        dir: &Path,
        i: usize,
        buf: &'b mut Vec<u8>,
        may_keep: bool,
    ) -> Option<&'b str> {
        if self.absent[i] {
            return None;
        }
        // A kept file fails once its cgroup is removed (a restarted service
        // gets a new one under the same path): open the path again.
        let kept = self.files[i]
            .take()
            .and_then(|f| f.read_into(buf).ok().map(|n| (f, n)));
        let (file, n) = match kept {
            Some(read) => read,
            None => {
                let Ok(file) = ProcFile::open(&dir.join(Self::NAMES[i])) else {
                    self.absent[i] = true;
                    return None;
                };
                let n = file.read_into(buf).ok()?;
                (file, n)
            }
        };
        if may_keep {
            self.files[i] = Some(file);
        }
        // cgroupfs writes ASCII; anything else is a file that is not what
        // its name says, read as absent for this sample.
        std::str::from_utf8(&buf[..n]).ok()
    }

    /// Descriptors kept open now.
    pub fn kept(&self) -> usize {
        self.files.iter().filter(|f| f.is_some()).count()
    }
}

/// Measures one found cgroup; `None` when it has no readable `cpu.stat`
/// (it vanished mid-walk, which is not an error). Files that are there but
/// do not parse are reported to `errors`.
pub fn measure(
    found: Found,
    files: &mut CgroupFiles,
    buf: &mut Vec<u8>,
    may_keep: bool,
    errors: &CollectorErrors,
) -> Option<Container> {
    let dir = &found.dir;
    let cpu = errors.parsed(
        "containers",
        parse_cpu_stat(files.read(dir, 0, buf, may_keep)?),
    )?;
    let mem_bytes = files
        .read(dir, 1, buf, may_keep)
        .and_then(|t| errors.parsed("containers", parse_counter("memory.current", t)));
    let mem_limit_bytes = files
        .read(dir, 2, buf, may_keep)
        .and_then(|t| errors.parsed("containers", parse_memory_max(t)).flatten());
    let pids = files
        .read(dir, 3, buf, may_keep)
        .and_then(|t| errors.parsed("containers", parse_counter("pids.current", t)));
    let io = files.read(dir, 4, buf, may_keep).map(parse_io_stat);
    let mut pressure = [None; 3];
    for (i, slot) in pressure.iter_mut().enumerate() {
        *slot = files
            .read(dir, 5 + i, buf, may_keep)
            .and_then(|t| errors.parsed("containers", parse_pressure(t)));
    }
    let [cpu_pressure, memory_pressure, io_pressure] = pressure;
    let memory_events = files
        .read(dir, 8, buf, may_keep)
        .and_then(|t| errors.parsed("containers", parse_memory_events(t)));
    Some(Container {
        owner: found.owner,
        cgroup: found.cgroup,
        cpu_percent: None,
        cpu_time_us: cpu.usage_usec,
        mem_bytes,
        mem_limit_bytes,
        pids,
        io_read_bytes: io.map(|(r, _)| r),
        io_write_bytes: io.map(|(_, w)| w),
        throttled_us: cpu.throttled_usec,
        pressure: CgroupPressure {
            cpu: cpu_pressure,
            memory: memory_pressure,
            io: io_pressure,
        },
        memory_events,
        io_read_bytes_per_sec: None,
        io_write_bytes_per_sec: None,
    })
}
