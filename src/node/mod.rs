//! node_exporter's collectors: one module each, with node_exporter's
//! series names, labels, units and rules for what to include, so the
//! dashboards and alerts written for it work on sonde unchanged.
//!
//! A collector either reads its own files ([`Read::Files`]: small procfs
//! and sysfs files, run together on the blocking pool) or writes its series
//! from a kind's sample ([`Read::Sample`]) where sonde already reads that
//! source for another surface (CPU, memory, network, load, filesystems,
//! processes, disk I/O, pressure, sockets): one reading, every surface.
//!
//! [`TABLE`] lists them; `--collector`, `--no-collector` and `/metrics`'s
//! `collect[]` choose among them. Each module's parser is a pure function
//! over the file's text, tested on literal contents.

pub mod batch;
pub mod kind;
pub mod util;

use futures_util::future::BoxFuture;

use crate::collect::{CollectError, Roots};
use crate::config::Exporter;
pub use crate::exposition::Families;
pub use crate::state::Scrape;
pub use kind::KIND;

/// What a collector gives: its families, or `None` where its source is not
/// on this host.
pub type Gathered = Result<Option<Families>, CollectError>;
/// A collector reading its own files.
pub type FilesFn = fn(&Source<'_>) -> Gathered;
/// A collector writing its series from a kind's sample, as this scrape
/// took it.
pub type SampleFn = for<'a, 's> fn(&'a Scrape<'s>) -> BoxFuture<'a, Gathered>;

/// How a collector gets its readings.
#[derive(Clone, Copy)]
pub enum Read {
    /// Reads its own files (microseconds each); `Ok(None)` where the source
    /// does not exist on this host (a module not loaded, a kernel without
    /// it): node_exporter's "no data", not an error.
    Files(FilesFn),
    /// Writes its series from a kind's sample (or, for `textfile`, reads
    /// on a thread of its own under a deadline, so that a directory the
    /// operator fills cannot hold up the other collectors).
    Sample(SampleFn),
    /// Both, side by side, as one collector: node_exporter's `cpu` writes
    /// `/proc/stat` (the metrics sample's reading) and sysfs throttle
    /// counters (files of its own).
    Both(SampleFn, FilesFn),
}

/// One of node_exporter's collectors.
pub struct NodeCollector {
    /// node_exporter's name for it (`meminfo`), as `--collector`,
    /// `collect[]` and `node_scrape_collector_success` name it.
    pub name: &'static str,
    /// How it reads.
    pub read: Read,
}

impl std::fmt::Debug for NodeCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeCollector")
            .field("name", &self.name)
            .finish()
    }
}

/// What a file collector reads from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// Where the host's trees are.
    pub roots: &'a Roots,
    /// The collectors' filters.
    pub options: &'a Exporter,
    /// The files kept open between scrapes.
    pub files: &'a std::sync::Mutex<crate::collect::files::FileCache>,
}

// The collector modules, declared plainly (a macro would hide them from
// rustfmt), and the table of them; a test checks each module is in it.
/// ARP entries per device (`/proc/net/arp`).
pub mod arp;
/// bcache cache sets and their devices (`/sys/fs/bcache`).
pub mod bcache;
/// bcachefs filesystems and their devices (`/sys/fs/bcachefs`).
pub mod bcachefs;
/// Bonded interfaces' slaves (`/sys/class/net/*/bonding`).
pub mod bonding;
/// btrfs filesystems: allocation, commits, devices (`/sys/fs/btrfs`).
pub mod btrfs;
/// Connection tracking (`/proc/sys/net/netfilter`, `/proc/net/stat/nf_conntrack`).
pub mod conntrack;
/// Seconds per CPU and mode (the metrics sample's `/proc/stat`).
pub mod cpu;
/// CPU frequency scaling (`/sys/devices/system/cpu/cpu*/cpufreq`).
pub mod cpufreq;
/// Block device I/O (`/proc/diskstats`, `/sys/block`).
pub mod diskstats;
/// The firmware's machine description (`/sys/class/dmi/id`).
pub mod dmi;
/// Device-mapper multipath devices (`/sys/block/dm-*`).
pub mod dmmultipath;
/// Memory error counts (`/sys/devices/system/edac/mc`).
pub mod edac;
/// Kernel entropy (`/proc/sys/kernel/random`).
pub mod entropy;
/// Fibre Channel host adapters (`/sys/class/fc_host`).
pub mod fibrechannel;
/// File handles (`/proc/sys/fs/file-nr`).
pub mod filefd;
/// Mounted filesystems (the disks sample).
pub mod filesystem;
/// Hardware monitoring chips: temperatures, fans, voltages, power (`/sys/class/hwmon`).
pub mod hwmon;
/// InfiniBand and RDMA adapters (`/sys/class/infiniband`).
pub mod infiniband;
/// The IP Virtual Server (`/proc/net/ip_vs{,_stats}`).
pub mod ipvs;
/// Tasks the hung-task detector caught (`/proc/sys/kernel`).
pub mod kernel_hung;
/// Load averages (the metrics sample).
pub mod loadavg;
/// Software RAID arrays (`/proc/mdstat`, `/sys/block/md*/md`).
pub mod mdadm;
/// Every `/proc/meminfo` line (the metrics sample's reading).
pub mod meminfo;
/// Network devices' sysfs attributes (`/sys/class/net`).
pub mod netclass;
/// Every `/proc/net/dev` column (the metrics sample's reading).
pub mod netdev;
/// Protocol counters (`/proc/net/{netstat,snmp,snmp6}`).
pub mod netstat;
/// The NFS client's RPC counters (`/proc/net/rpc/nfs`).
pub mod nfs;
/// The NFS server's counters (`/proc/net/rpc/nfsd`).
pub mod nfsd;
/// NVMe controllers and namespaces (`/sys/class/nvme`).
pub mod nvme;
/// The OS release (`/etc/os-release`).
pub mod os;
/// Batteries and AC adapters (`/sys/class/power_supply`).
pub mod powersupplyclass;
/// Pressure stall information (`/proc/pressure`).
pub mod pressure;
/// Process and thread states (the process scan).
pub mod processes;
/// CPU package energy (`/sys/class/powercap`).
pub mod rapl;
/// Scheduler statistics (`/proc/schedstat`).
pub mod schedstat;
/// SELinux state (`/sys/fs/selinux`).
pub mod selinux;
/// Sockets in use (`/proc/net/sockstat{,6}`).
pub mod sockstat;
/// Packet processing per CPU (`/proc/net/softnet_stat`).
pub mod softnet;
/// Context switches, forks, interrupts, boot time (the metrics sample's `/proc/stat`).
pub mod stat;
/// SCSI tape drives' I/O statistics (`/sys/class/scsi_tape`).
pub mod tapestats;
/// TCP connections per state (netlink sock_diag).
pub mod tcpstat;
/// Series from `*.prom` files (`--textfile-dir`).
pub mod textfile;
/// Thermal zones and cooling devices (`/sys/class/thermal`).
pub mod thermal_zone;
/// The clock, its zone and clock sources.
pub mod time;
/// The kernel's NTP state (`adjtimex`).
pub mod timex;
/// UDP queues (`/proc/net/udp{,6}`).
pub mod udp_queues;
/// `uname`.
pub mod uname;
/// Paging and OOM counters (`/proc/vmstat`).
pub mod vmstat;
/// Watchdog timers (`/sys/class/watchdog`).
pub mod watchdog;
/// XFS runtime statistics (`/sys/fs/xfs/*/stats`).
pub mod xfs;
/// OpenZFS: the ARC, kstats and pools (`/proc/spl/kstat/zfs`).
pub mod zfs;

/// Every collector, in the order `/metrics` writes them.
pub static TABLE: &[&NodeCollector] = &[
    &arp::COLLECTOR,
    &bcache::COLLECTOR,
    &bcachefs::COLLECTOR,
    &bonding::COLLECTOR,
    &btrfs::COLLECTOR,
    &conntrack::COLLECTOR,
    &cpu::COLLECTOR,
    &cpufreq::COLLECTOR,
    &diskstats::COLLECTOR,
    &dmi::COLLECTOR,
    &dmmultipath::COLLECTOR,
    &edac::COLLECTOR,
    &entropy::COLLECTOR,
    &fibrechannel::COLLECTOR,
    &filefd::COLLECTOR,
    &filesystem::COLLECTOR,
    &hwmon::COLLECTOR,
    &infiniband::COLLECTOR,
    &ipvs::COLLECTOR,
    &kernel_hung::COLLECTOR,
    &loadavg::COLLECTOR,
    &mdadm::COLLECTOR,
    &meminfo::COLLECTOR,
    &netclass::COLLECTOR,
    &netdev::COLLECTOR,
    &netstat::COLLECTOR,
    &nfs::COLLECTOR,
    &nfsd::COLLECTOR,
    &nvme::COLLECTOR,
    &os::COLLECTOR,
    &powersupplyclass::COLLECTOR,
    &pressure::COLLECTOR,
    &processes::COLLECTOR,
    &rapl::COLLECTOR,
    &schedstat::COLLECTOR,
    &selinux::COLLECTOR,
    &sockstat::COLLECTOR,
    &softnet::COLLECTOR,
    &stat::COLLECTOR,
    &tapestats::COLLECTOR,
    &tcpstat::COLLECTOR,
    &textfile::COLLECTOR,
    &thermal_zone::COLLECTOR,
    &time::COLLECTOR,
    &timex::COLLECTOR,
    &udp_queues::COLLECTOR,
    &uname::COLLECTOR,
    &vmstat::COLLECTOR,
    &watchdog::COLLECTOR,
    &xfs::COLLECTOR,
    &zfs::COLLECTOR,
];

/// node_exporter's Linux collectors (1.12) that sonde does not have:
/// `exclude[]` takes their names, as node_exporter does, and leaves out
/// nothing (none of their series is served here).
pub const UPSTREAM_ONLY: &[&str] = &[
    "buddyinfo",
    "cgroups",
    "cpu_vulnerabilities",
    "drbd",
    "drm",
    "ethtool",
    "interrupts",
    "ksmd",
    "lnstat",
    "logind",
    "meminfo_numa",
    "mountstats",
    "network_route",
    "ntp",
    "nvmesubsystem",
    "pcidevice",
    "perf",
    "qdisc",
    "runit",
    "slabinfo",
    "softirqs",
    "supervisord",
    "swap",
    "sysctl",
    "systemd",
    "wifi",
    "xfrm",
    "zoneinfo",
];

/// The collectors that run, in table order: those the flags turn on, and
/// of them those `collect[]` names when it names any.
pub fn selected(options: &Exporter, collect: &[String]) -> Vec<&'static NodeCollector> {
    TABLE
        .iter()
        .copied()
        .filter(|c| options.enabled(c.name))
        .filter(|c| collect.is_empty() || collect.iter().any(|n| n == c.name))
        .collect()
}

/// What one collector gave: its text, how it went and how long it took.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The collector.
    pub name: &'static str,
    /// Its series.
    pub text: String,
    /// How it went.
    pub status: Status,
    /// Seconds it took.
    pub seconds: f64,
}

impl Outcome {
    /// Takes in the outcome of the collector's other half
    /// ([`Read::Both`]): the text of both, failed if either failed, the
    /// longer time (they ran side by side).
    pub fn absorb(&mut self, other: Outcome) {
        self.text.push_str(&other.text);
        self.seconds = self.seconds.max(other.seconds);
        let status = match (&self.status, other.status) {
            (Status::Failed(e), _) => Status::Failed(e.clone()),
            (_, Status::Failed(e)) => Status::Failed(e),
            (Status::Read, _) | (_, Status::Read) => Status::Read,
            (Status::Absent, Status::Absent) => Status::Absent,
        };
        self.status = status;
    }
}

/// How a collector went: node_exporter's `node_scrape_collector_success`
/// is 1 only for `Read` (its source missing on this host is 0 too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It read its source.
    Read,
    /// Its source is not on this host.
    Absent,
    /// It failed (reported to the collector error counters).
    Failed(String),
}

/// The series of node_exporter's own scrape bookkeeping for `outcomes`.
pub fn scrape_series(outcomes: &[Outcome]) -> String {
    let mut f = Families::default();
    let d = f.gauge_family(
        "node_scrape_collector_duration_seconds",
        "node_exporter: Duration of a collector scrape.",
    );
    for o in outcomes {
        d.push([("collector", o.name)], o.seconds);
    }
    let s = f.gauge_family(
        "node_scrape_collector_success",
        "node_exporter: Whether a collector succeeded.",
    );
    for o in outcomes {
        let success = if o.status == Status::Read { 1.0 } else { 0.0 };
        s.push([("collector", o.name)], success);
    }
    f.encode()
}

/// Runs one file collector (on a blocking thread: it reads files). One
/// that panics fails alone: its outcome says so and the batch goes on.
pub fn run_files(
    collector: &'static NodeCollector,
    read: FilesFn,
    source: &Source<'_>,
    errors: &crate::collect::CollectorErrors,
) -> Outcome {
    let started = std::time::Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(source)))
        .unwrap_or_else(|_| Err(CollectError::Aborted("the collector panicked".to_owned())));
    outcome(collector, result, started, errors)
}

/// A collector served as failed without a result of its own (given up at
/// the scrape's deadline, or still stuck from an earlier scrape), after
/// `seconds`; reported to the collector error counters.
pub fn failed(
    collector: &'static NodeCollector,
    why: &str,
    seconds: f64,
    errors: &crate::collect::CollectorErrors,
) -> Outcome {
    let e = CollectError::Aborted(why.to_owned());
    errors.report(collector.name, &e);
    Outcome {
        name: collector.name,
        text: String::new(),
        status: Status::Failed(e.to_string()),
        seconds,
    }
}

/// Runs one sample collector.
pub async fn run_sample(
    collector: &'static NodeCollector,
    read: SampleFn,
    scrape: &Scrape<'_>,
) -> Outcome {
    let started = std::time::Instant::now();
    let result = read(scrape).await;
    outcome(collector, result, started, scrape.state.errors())
}

fn outcome(
    collector: &'static NodeCollector,
    result: Gathered,
    started: std::time::Instant,
    errors: &crate::collect::CollectorErrors,
) -> Outcome {
    let (text, status) = match result {
        Ok(Some(f)) => (f.encode(), Status::Read),
        Ok(None) => (String::new(), Status::Absent),
        Err(e) => {
            errors.report(collector.name, &e);
            (String::new(), Status::Failed(e.to_string()))
        }
    };
    Outcome {
        name: collector.name,
        text,
        status,
        seconds: started.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_collector_module_is_in_the_table() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/node");
        let mut modules: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
            .filter(|m| !["mod", "kind", "util", "batch"].contains(&m.as_str()))
            .collect();
        modules.sort();
        let mut table: Vec<String> = TABLE.iter().map(|c| c.name.to_owned()).collect();
        table.sort();
        assert_eq!(modules, table);
    }

    #[test]
    fn upstream_only_names_no_collector_of_the_table() {
        for name in UPSTREAM_ONLY {
            assert!(TABLE.iter().all(|c| c.name != *name), "{name}");
        }
    }

    #[test]
    fn the_configuration_names_every_collector_of_the_table() {
        let table: Vec<&str> = TABLE.iter().map(|c| c.name).collect();
        let config: Vec<&str> = crate::config::COLLECTORS.iter().map(|(n, _)| *n).collect();
        assert_eq!(table, config);
    }
}
