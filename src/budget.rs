//! How the process's open-file limit is shared out between connections and
//! the samplers that keep files open. A leaf: the listener takes the
//! connection share, the kinds their samplers' shares.

/// Descriptors kept for everything but connections and the process
/// sampler: logs, the metrics sampler's open files, sysfs and `/proc` reads
/// in flight, journalctl pipes, the listener.
pub const FILE_RESERVE: u64 = 128;

/// TCP connections beyond the WebSocket cap: room for `/healthz`, `/api`
/// and `/metrics` while every WebSocket slot is taken.
pub const HTTP_HEADROOM: usize = 64;

/// At most this many cgroup files are kept open (nine per cgroup: 512
/// cgroups), and never more than a quarter of what connections leave.
pub const CGROUP_FILES_MAX: usize = 4608;

/// At most this many procfs and sysfs files of node_exporter's collectors,
/// the network interfaces' attributes (24 of each of some 30 interfaces)
/// and the hardware readings (hwmon sensors, power supplies, cpufreq) are
/// kept open, and never more than a quarter of what connections leave.
pub const READINGS_FILES_MAX: usize = 2048;

/// At most this many `/proc/<pid>/io` files are kept open while a client
/// asks for each process's disk I/O, and never more than an eighth of what
/// connections leave.
pub const PROCESS_IO_FILES_MAX: usize = 16384;

/// At most this many `/proc/<pid>/fd` directories are kept open while a
/// client asks for each process's network traffic, and never more than an
/// eighth of what connections leave.
pub const PROCESS_NET_DIRS_MAX: usize = 16384;

/// How the soft `RLIMIT_NOFILE` is shared out: the connections first (the
/// WebSocket cap and the HTTP headroom), a fixed reserve, then the kept
/// cgroup files and the readings' kept files (a quarter of the rest at most
/// each), and the rest for the process sampler's kept `/proc/<pid>/stat`
/// descriptors. None starves
/// another: each sampler keeps no more than its share, and reads the rest
/// by path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdBudget {
    /// The soft limit the shares come out of.
    pub soft_limit: u64,
    /// TCP connections accepted at once (WebSocket cap + HTTP headroom).
    pub connections: usize,
    /// Descriptors the containers sampler may keep.
    pub cgroup_files: usize,
    /// Descriptors node_exporter's collectors, the interfaces kind and the
    /// hardware kinds may keep (procfs and sysfs files re-read with
    /// `pread`): 3/8, 1/8 and 1/2 of it.
    pub readings_files: usize,
    /// Descriptors the process sampler may keep.
    pub process_sampler: usize,
    /// Descriptors the per-process disk I/O sampler may keep.
    pub process_io: usize,
    /// Directories the per-process network sampler may keep.
    pub process_net: usize,
}

impl FdBudget {
    /// The shares of `soft_limit` with `max_connections` WebSocket sessions.
    pub fn split(soft_limit: u64, max_connections: usize) -> FdBudget {
        let connections = max_connections.saturating_add(HTTP_HEADROOM);
        let taken = FILE_RESERVE.saturating_add(connections as u64);
        let left =
            usize::try_from(soft_limit.saturating_sub(taken).min(1 << 20)).unwrap_or(1 << 20);
        let cgroup_files = (left / 4).min(CGROUP_FILES_MAX);
        let readings_files = (left / 4).min(READINGS_FILES_MAX);
        let process_io = (left / 8).min(PROCESS_IO_FILES_MAX);
        let process_net = (left / 8).min(PROCESS_NET_DIRS_MAX);
        FdBudget {
            soft_limit,
            connections,
            cgroup_files,
            readings_files,
            process_io,
            process_net,
            process_sampler: left - cgroup_files - readings_files - process_io - process_net,
        }
    }

    /// The shares of this process's soft limit now.
    pub fn current(max_connections: usize) -> FdBudget {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        FdBudget::split(limit.current.unwrap_or(1 << 20), max_connections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_are_shared_out_without_overlap() {
        let b = FdBudget::split(1 << 20, 256);
        assert_eq!(b.connections, 256 + HTTP_HEADROOM);
        assert_eq!(b.cgroup_files, CGROUP_FILES_MAX);
        assert_eq!(b.readings_files, READINGS_FILES_MAX);
        let total = FILE_RESERVE as usize
            + b.connections
            + b.cgroup_files
            + b.readings_files
            + b.process_io
            + b.process_net
            + b.process_sampler;
        assert_eq!(total, 1 << 20);
        assert_eq!(b.process_io, PROCESS_IO_FILES_MAX);
        assert_eq!(b.process_net, PROCESS_NET_DIRS_MAX);
        // A small limit: the connections and reserve first, a quarter of the
        // rest for cgroups, none of it negative.
        let small = FdBudget::split(1024, 256);
        assert_eq!(small.cgroup_files, (1024 - 128 - 320) / 4);
        assert_eq!(small.readings_files, (1024 - 128 - 320) / 4);
        assert_eq!(
            small.process_sampler,
            1024 - 128
                - 320
                - small.cgroup_files
                - small.readings_files
                - small.process_io
                - small.process_net
        );
        assert_eq!(small.process_io, (1024 - 128 - 320) / 8);
        let starved = FdBudget::split(48, 256);
        assert_eq!(
            (
                starved.cgroup_files,
                starved.readings_files,
                starved.process_sampler
            ),
            (0, 0, 0)
        );
    }
}
