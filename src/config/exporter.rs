//! node_exporter's collectors on `/metrics`: which run and their filters.

use super::*;

/// node_exporter's collectors on `/metrics`: which run, and the filters
/// they take, with node_exporter's defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct Exporter {
    /// Turn on a collector that is off by default, or one that
    /// --collectors-default off turned off (repeatable, or comma-separated
    /// in the variable; `sonde check` and docs/prometheus.md list them).
    #[arg(global = true, long = "collector", env = "SONDE_COLLECTORS", value_delimiter = ',', value_parser = parse_collector, help_heading = "Prometheus")]
    pub enable: Vec<String>,

    /// Turn a collector off (repeatable, or comma-separated in the variable).
    #[arg(global = true, long = "no-collector", env = "SONDE_NO_COLLECTORS", value_delimiter = ',', value_parser = parse_collector, help_heading = "Prometheus")]
    pub disable: Vec<String>,

    /// Whether the collectors on by default run (on/off); off runs only
    /// those named by --collector (node_exporter's
    /// --collector.disable-defaults).
    #[arg(global = true, long, env = "SONDE_COLLECTORS_DEFAULT", default_value = "on", action = ArgAction::Set, value_parser = parse_switch, help_heading = "Prometheus")]
    pub collectors_default: bool,

    /// Merge the `*.prom` files of this directory into /metrics
    /// (node_exporter's textfile collector; none by default).
    #[arg(
        global = true,
        long,
        env = "SONDE_TEXTFILE_DIR",
        value_name = "DIR",
        help_heading = "Prometheus"
    )]
    pub textfile_dir: Option<PathBuf>,

    /// How long a scrape may take, ms, when Prometheus does not say (its
    /// X-Prometheus-Scrape-Timeout-Seconds header; 10 s is its default):
    /// /metrics stops reading at 90 % of it, a collector still reading then
    /// is served as failed (node_scrape_collector_success 0), and a file
    /// collector's stuck read is not started again until it returns.
    #[arg(global = true, long, env = "SONDE_SCRAPE_TIMEOUT_MS", default_value_t = 10_000, value_parser = super::limits::parse_timeout, help_heading = "Prometheus")]
    pub scrape_timeout_ms: u64,

    /// Counters' start times (`_created`) in OpenMetrics: `auto` serves
    /// them to every client but Prometheus, which stores each as a series
    /// of its own unless run with
    /// --enable-feature=created-timestamp-zero-ingestion (then say `on`);
    /// the OpenTelemetry collector and Alloy read them as start times.
    #[arg(
        global = true,
        long,
        env = "SONDE_OPENMETRICS_CREATED",
        default_value = "auto",
        value_enum,
        help_heading = "Prometheus"
    )]
    pub openmetrics_created: Created,

    /// Block devices left out of node_disk_* (a regular expression).
    #[arg(global = true, long, env = "SONDE_DISKSTATS_DEVICE_EXCLUDE", default_value = r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$", value_parser = parse_regex, help_heading = "Prometheus")]
    pub diskstats_device_exclude: Pattern,

    /// Read bcache's `priority_stats` (on/off): the kernel walks every
    /// bucket of the cache to write it, so node_exporter leaves it off too
    /// (its `--collector.bcache.priorityStats`).
    #[arg(global = true, long, env = "SONDE_BCACHE_PRIORITY_STATS", default_value = "off", action = ArgAction::Set, value_parser = parse_switch, help_heading = "Prometheus")]
    pub bcache_priority_stats: bool,

    /// Mount points left out of node_filesystem_* (a regular expression).
    #[arg(global = true, long, env = "SONDE_FILESYSTEM_MOUNT_POINTS_EXCLUDE", default_value = "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)", value_parser = parse_regex, help_heading = "Prometheus")]
    pub filesystem_mount_points_exclude: Pattern,

    /// Filesystem types left out of node_filesystem_* (a regular
    /// expression).
    #[arg(global = true, long, env = "SONDE_FILESYSTEM_FS_TYPES_EXCLUDE", default_value = "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$", value_parser = parse_regex, help_heading = "Prometheus")]
    pub filesystem_fs_types_exclude: Pattern,

    /// Network devices left out of node_network_* (a regular expression;
    /// none by default, as upstream node_exporter; Debian's package leaves
    /// out `^lo$`).
    #[arg(global = true, long, env = "SONDE_NETDEV_DEVICE_EXCLUDE", value_parser = parse_regex, help_heading = "Prometheus")]
    pub netdev_device_exclude: Option<Pattern>,

    /// The /proc/net/{netstat,snmp,snmp6} fields served as node_netstat_*
    /// (a regular expression over `Protocol_Field`).
    #[arg(global = true, long, env = "SONDE_NETSTAT_FIELDS", default_value = "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$", value_parser = parse_regex, help_heading = "Prometheus")]
    pub netstat_fields: Pattern,

    /// The /proc/vmstat fields served as node_vmstat_* (a regular
    /// expression).
    #[arg(global = true, long, env = "SONDE_VMSTAT_FIELDS", default_value = "^(oom_kill|pgpg|pswp|pg.*fault).*", value_parser = parse_regex, help_heading = "Prometheus")]
    pub vmstat_fields: Pattern,
}

/// Whether OpenMetrics answers carry counters' `_created` samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Created {
    /// To every client but Prometheus (`User-Agent: Prometheus/…`).
    Auto,
    /// To every client.
    On,
    /// To none.
    Off,
}

impl Created {
    /// Whether a client with `user_agent` gets them.
    pub fn serves(self, user_agent: Option<&str>) -> bool {
        match self {
            Created::On => true,
            Created::Off => false,
            Created::Auto => !user_agent.is_some_and(|ua| ua.starts_with("Prometheus/")),
        }
    }
}

/// Every collector name `--collector` and `--no-collector` take, with
/// whether it is on by default (the node module's table must agree: a
/// test checks it).
pub const COLLECTORS: &[(&str, bool)] = &[
    ("arp", true),
    ("bcache", true),
    ("bcachefs", true),
    ("bonding", true),
    ("btrfs", true),
    ("conntrack", true),
    ("cpu", true),
    ("cpufreq", true),
    ("diskstats", true),
    ("dmi", true),
    ("dmmultipath", true),
    ("edac", true),
    ("entropy", true),
    ("fibrechannel", true),
    ("filefd", true),
    ("filesystem", true),
    ("hwmon", true),
    ("infiniband", true),
    ("ipvs", true),
    ("kernel_hung", true),
    ("loadavg", true),
    ("mdadm", true),
    ("meminfo", true),
    ("netclass", true),
    ("netdev", true),
    ("netstat", true),
    ("nfs", true),
    ("nfsd", true),
    ("nvme", true),
    ("os", true),
    ("powersupplyclass", true),
    ("pressure", true),
    ("processes", false),
    ("rapl", true),
    ("schedstat", true),
    ("selinux", true),
    ("sockstat", true),
    ("softnet", true),
    ("stat", true),
    ("tapestats", true),
    ("tcpstat", false),
    ("textfile", true),
    ("thermal_zone", true),
    ("time", true),
    ("timex", true),
    ("udp_queues", true),
    ("uname", true),
    ("vmstat", true),
    ("watchdog", true),
    ("xfs", true),
    ("zfs", true),
];

impl Exporter {
    /// How long a scrape may take: 90 % of Prometheus's timeout (its
    /// `X-Prometheus-Scrape-Timeout-Seconds` as sent, else
    /// `--scrape-timeout-ms`), the rest left for writing and sending the
    /// answer.
    pub fn scrape_budget(&self, prometheus_says: Option<&str>) -> Duration {
        let seconds = prometheus_says
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(self.scrape_timeout_ms as f64 / 1000.0, |s| s.min(600.0));
        Duration::from_secs_f64(seconds * 0.9)
    }

    /// Whether the collector `name` runs.
    pub fn enabled(&self, name: &str) -> bool {
        if self.disable.iter().any(|d| d == name) {
            return false;
        }
        self.enable.iter().any(|e| e == name)
            || (self.collectors_default && COLLECTORS.iter().any(|(n, on)| *n == name && *on))
    }
}

pub(super) fn parse_collector(v: &str) -> Result<String, String> {
    let v = v.trim();
    if COLLECTORS.iter().any(|(n, _)| *n == v) {
        return Ok(v.to_owned());
    }
    let names: Vec<&str> = COLLECTORS.iter().map(|(n, _)| *n).collect();
    Err(format!(
        "unknown collector {v:?}; the collectors are {}",
        names.join(", ")
    ))
}

pub(super) fn parse_regex(v: &str) -> Result<Pattern, String> {
    Pattern::new(v).map_err(|e| format!("not a regular expression: {e}"))
}
