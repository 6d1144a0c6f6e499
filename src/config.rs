//! Configuration: flags and environment, parsed once into [`Config`].
//!
//! Every option has a sonde flag and a `SONDE_*` variable; the names the
//! socktop agent used keep working beside them (precedence: flag, then
//! `SONDE_*`, then the socktop name, then the default). A bad value stops
//! startup with a message naming the flag or variable.

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};

use crate::collect::Roots;
use crate::collect::pattern::Pattern;

/// sonde's configuration, in groups.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "sonde",
    version = crate::LONG_VERSION,
    about = "On-demand host metrics over WebSocket: a drop-in socktop agent.",
    args_override_self = true
)]
pub struct Config {
    /// Where and for whom to listen.
    #[command(flatten)]
    pub listen: Listen,

    /// How long each kind of sample is reused.
    #[command(flatten)]
    pub ttl: CacheTtls,

    /// What to collect and where the host's files are.
    #[command(flatten)]
    pub collection: Collection,

    /// wss:// and its certificate.
    #[command(flatten)]
    pub tls: TlsOptions,

    /// The HTTP surfaces beside /ws: JSON, Prometheus.
    #[command(flatten)]
    pub http: HttpOptions,

    /// Bounds on what clients may hold or cause.
    #[command(flatten)]
    pub limits: Limits,

    /// node_exporter's collectors on /metrics: which, and their filters.
    #[command(flatten)]
    pub exporter: Exporter,

    /// Log filter: error, warn, info, debug, trace, or tracing directives.
    #[arg(long, env = "SONDE_LOG", default_value = "info", value_parser = parse_log)]
    pub log: String,

    /// What to do: serve (no subcommand), or manage the TLS certificate.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// node_exporter's collectors on `/metrics`: which run, and the filters
/// they take, with node_exporter's defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct Exporter {
    /// Turn on a collector that is off by default, or one that
    /// --collectors-default off turned off (repeatable, or comma-separated
    /// in the variable; `sonde check` and docs/prometheus.md list them).
    #[arg(long = "collector", env = "SONDE_COLLECTORS", value_delimiter = ',', value_parser = parse_collector, help_heading = "Prometheus")]
    pub enable: Vec<String>,

    /// Turn a collector off (repeatable, or comma-separated in the variable).
    #[arg(long = "no-collector", env = "SONDE_NO_COLLECTORS", value_delimiter = ',', value_parser = parse_collector, help_heading = "Prometheus")]
    pub disable: Vec<String>,

    /// Whether the collectors on by default run (on/off); off runs only
    /// those named by --collector (node_exporter's
    /// --collector.disable-defaults).
    #[arg(long, env = "SONDE_COLLECTORS_DEFAULT", default_value = "on", action = ArgAction::Set, value_parser = parse_switch, help_heading = "Prometheus")]
    pub collectors_default: bool,

    /// Merge the `*.prom` files of this directory into /metrics
    /// (node_exporter's textfile collector; none by default).
    #[arg(
        long,
        env = "SONDE_TEXTFILE_DIR",
        value_name = "DIR",
        help_heading = "Prometheus"
    )]
    pub textfile_dir: Option<PathBuf>,

    /// Block devices left out of node_disk_* (a regular expression).
    #[arg(long, env = "SONDE_DISKSTATS_DEVICE_EXCLUDE", default_value = r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$", value_parser = parse_regex, help_heading = "Prometheus")]
    pub diskstats_device_exclude: Pattern,

    /// Mount points left out of node_filesystem_* (a regular expression).
    #[arg(long, env = "SONDE_FILESYSTEM_MOUNT_POINTS_EXCLUDE", default_value = "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)", value_parser = parse_regex, help_heading = "Prometheus")]
    pub filesystem_mount_points_exclude: Pattern,

    /// Filesystem types left out of node_filesystem_* (a regular
    /// expression).
    #[arg(long, env = "SONDE_FILESYSTEM_FS_TYPES_EXCLUDE", default_value = "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$", value_parser = parse_regex, help_heading = "Prometheus")]
    pub filesystem_fs_types_exclude: Pattern,

    /// Network devices left out of node_network_* (a regular expression;
    /// none by default, as upstream node_exporter; Debian's package leaves
    /// out `^lo$`).
    #[arg(long, env = "SONDE_NETDEV_DEVICE_EXCLUDE", value_parser = parse_regex, help_heading = "Prometheus")]
    pub netdev_device_exclude: Option<Pattern>,

    /// The /proc/net/{netstat,snmp,snmp6} fields served as node_netstat_*
    /// (a regular expression over `Protocol_Field`).
    #[arg(long, env = "SONDE_NETSTAT_FIELDS", default_value = "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$", value_parser = parse_regex, help_heading = "Prometheus")]
    pub netstat_fields: Pattern,

    /// The /proc/vmstat fields served as node_vmstat_* (a regular
    /// expression).
    #[arg(long, env = "SONDE_VMSTAT_FIELDS", default_value = "^(oom_kill|pgpg|pswp|pg.*fault).*", value_parser = parse_regex, help_heading = "Prometheus")]
    pub vmstat_fields: Pattern,
}

/// Every collector name `--collector` and `--no-collector` take, with
/// whether it is on by default (the node module's table must agree: a
/// test checks it).
pub const COLLECTORS: &[(&str, bool)] = &[
    ("arp", true),
    ("bonding", true),
    ("btrfs", true),
    ("conntrack", true),
    ("cpu", true),
    ("cpufreq", true),
    ("diskstats", true),
    ("dmi", true),
    ("edac", true),
    ("entropy", true),
    ("filefd", true),
    ("filesystem", true),
    ("hwmon", true),
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
    ("processes", true),
    ("rapl", true),
    ("schedstat", true),
    ("selinux", true),
    ("sockstat", true),
    ("softnet", true),
    ("stat", true),
    ("tcpstat", true),
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
    /// Whether the collector `name` runs.
    pub fn enabled(&self, name: &str) -> bool {
        if self.disable.iter().any(|d| d == name) {
            return false;
        }
        self.enable.iter().any(|e| e == name)
            || (self.collectors_default && COLLECTORS.iter().any(|(n, on)| *n == name && *on))
    }
}

fn parse_collector(v: &str) -> Result<String, String> {
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

fn parse_regex(v: &str) -> Result<Pattern, String> {
    Pattern::new(v).map_err(|e| format!("not a regular expression: {e}"))
}

/// Where and for whom to listen.
#[derive(Debug, Clone, clap::Args)]
pub struct Listen {
    /// TCP port to listen on (0 picks a free one) [default: 3000, 8443 with TLS].
    #[arg(short = 'p', long, env = "SONDE_PORT", value_parser = parse_port)]
    pub port: Option<u16>,

    /// Address to listen on; `::` for IPv6 (and IPv4 where the OS maps it).
    #[arg(long, env = "SONDE_BIND", default_value = "0.0.0.0", value_parser = parse_bind)]
    pub bind: IpAddr,

    /// Require this token (`?token=…` or `Authorization: Bearer …`).
    #[arg(long, env = "SONDE_TOKEN", hide_env_values = true, value_parser = parse_token)]
    pub token: Option<String>,
}

/// How long each kind of sample is reused.
#[derive(Debug, Clone, clap::Args)]
pub struct CacheTtls {
    /// How long a metrics reply is reused, ms (0: collect on every request).
    #[arg(long, env = "SONDE_METRICS_TTL_MS", default_value_t = 250, value_parser = parse_ttl)]
    pub metrics_ttl_ms: u64,

    /// How long a processes reply is reused, ms (0: collect on every request).
    #[arg(long, env = "SONDE_PROCESSES_TTL_MS", default_value_t = 1000, value_parser = parse_ttl)]
    pub processes_ttl_ms: u64,

    /// How long a disks reply is reused, ms (0: collect on every request).
    #[arg(long, env = "SONDE_DISKS_TTL_MS", default_value_t = 1000, value_parser = parse_ttl)]
    pub disks_ttl_ms: u64,

    /// How long a containers reply is reused, ms (0: measure on every
    /// request).
    #[arg(long, env = "SONDE_CONTAINERS_TTL_MS", default_value_t = 1000, value_parser = parse_ttl)]
    pub containers_ttl_ms: u64,

    /// How long GPU readings are reused, ms, whatever the metrics TTL (0:
    /// ask the driver on every metrics request).
    #[arg(long, env = "SONDE_GPU_TTL_MS", default_value_t = 1000, value_parser = parse_ttl)]
    pub gpu_ttl_ms: u64,
}

impl CacheTtls {
    /// TTL of the metrics cache.
    pub fn metrics(&self) -> Duration {
        Duration::from_millis(self.metrics_ttl_ms)
    }

    /// TTL of the processes cache.
    pub fn processes(&self) -> Duration {
        Duration::from_millis(self.processes_ttl_ms)
    }

    /// TTL of the disks cache.
    pub fn disks(&self) -> Duration {
        Duration::from_millis(self.disks_ttl_ms)
    }

    /// TTL of the containers cache.
    pub fn containers(&self) -> Duration {
        Duration::from_millis(self.containers_ttl_ms)
    }

    /// TTL of the GPU readings.
    pub fn gpu(&self) -> Duration {
        Duration::from_millis(self.gpu_ttl_ms)
    }
}

/// What to collect and where the host's files are.
#[derive(Debug, Clone, clap::Args)]
pub struct Collection {
    /// Collect GPU readings (on/off): NVIDIA through NVML, AMD and Intel
    /// from sysfs; a sleeping GPU is never woken.
    #[arg(long, env = "SONDE_GPU", default_value = "on", action = ArgAction::Set, value_parser = parse_switch)]
    pub gpu: bool,

    /// Collect the CPU temperature (on/off).
    #[arg(long, env = "SONDE_TEMP", default_value = "on", action = ArgAction::Set, value_parser = parse_switch)]
    pub temp: bool,

    /// Ask this Docker-compatible API socket for container names
    /// (repeatable: Docker's /var/run/docker.sock, Podman's
    /// /run/podman/podman.sock). Off by default: on most hosts access to it
    /// is as good as root, so give it only where sonde may have that.
    #[arg(
        long = "container-socket",
        env = "SONDE_CONTAINER_SOCKETS",
        value_delimiter = ','
    )]
    pub container_sockets: Vec<PathBuf>,

    /// The journalctl program used for journal entries.
    #[arg(
        long,
        env = "SONDE_JOURNALCTL",
        default_value = "journalctl",
        help_heading = "Advanced"
    )]
    pub journalctl: PathBuf,

    /// Directories holding the systemd journal (repeatable).
    #[arg(
        long = "journal-dir",
        env = "SONDE_JOURNAL_DIRS",
        value_delimiter = ',',
        default_values = ["/var/log/journal", "/run/log/journal"],
        help_heading = "Advanced"
    )]
    pub journal_dirs: Vec<PathBuf>,

    /// Where procfs is mounted (for containers that mount the host's elsewhere).
    #[arg(
        long,
        env = "SONDE_PROC_ROOT",
        default_value = "/proc",
        help_heading = "Advanced"
    )]
    pub proc_root: PathBuf,

    /// Where sysfs is mounted.
    #[arg(
        long,
        env = "SONDE_SYS_ROOT",
        default_value = "/sys",
        help_heading = "Advanced"
    )]
    pub sys_root: PathBuf,

    /// Where the host's /etc is (for os-release).
    #[arg(
        long,
        env = "SONDE_ETC_ROOT",
        default_value = "/etc",
        help_heading = "Advanced"
    )]
    pub etc_root: PathBuf,

    /// Where the host's root filesystem is (a container mounts it, e.g.
    /// at /host): disks are measured at their mount points under it.
    #[arg(
        long,
        env = "SONDE_ROOTFS",
        default_value = "/",
        help_heading = "Advanced"
    )]
    pub rootfs: PathBuf,
}

/// The HTTP surfaces beside /ws.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpOptions {
    /// Let pages from this origin read /api/* (CORS) and open /ws
    /// (repeatable, or comma-separated in the variable); every other
    /// origin is refused with 403. None by default.
    #[arg(long = "cors-origin", env = "SONDE_CORS_ORIGINS", value_delimiter = ',', value_parser = parse_origin, help_heading = "HTTP")]
    pub cors_origins: Vec<String>,

    /// Also export the top N processes by CPU on /metrics (0: none; each
    /// process is a series, so keep N small).
    #[arg(long, env = "SONDE_PROMETHEUS_PROCESSES", default_value_t = 0, value_parser = parse_top, help_heading = "HTTP")]
    pub prometheus_processes: usize,

    /// Export each container and systemd unit on /metrics (on/off): seven
    /// series each, so a host with a hundred units adds seven hundred.
    #[arg(long, env = "SONDE_PROMETHEUS_CONTAINERS", default_value = "on", action = ArgAction::Set, value_parser = parse_switch, help_heading = "HTTP")]
    pub prometheus_containers: bool,

    /// A host name this agent may be reached by, beside IP addresses,
    /// localhost, this machine's hostname, the names /etc/hosts gives it and
    /// the TLS names (repeatable, or
    /// comma-separated in the variable; `*.example.com` for every
    /// subdomain, `*` turns the check off). Another name is refused with 421
    /// (DNS rebinding): on an agent without a token for every request but
    /// /healthz, with a token for those that look like a browser's
    /// (`Origin`, `Sec-Fetch-*` or a `Mozilla/` user agent).
    #[arg(long = "allowed-host", env = "SONDE_ALLOWED_HOSTS", value_delimiter = ',', value_parser = parse_host_name, help_heading = "HTTP")]
    pub allowed_hosts: Vec<String>,

    /// Withhold command lines, working directories, executable paths and
    /// journal messages from every surface (on/off): for agents whose
    /// audience should see load, not secrets. Names and numbers stay.
    #[arg(long, env = "SONDE_REDACT", default_value = "off", action = ArgAction::Set, value_parser = parse_switch, help_heading = "HTTP")]
    pub redact: bool,
}

/// Bounds on what clients may hold or cause: every one has a default that
/// serves a fleet and a flag to change it.
#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// WebSocket sessions at once; a further upgrade is answered 503 before
    /// it upgrades (open sessions and /healthz are unaffected).
    #[arg(long, env = "SONDE_MAX_CONNECTIONS", default_value_t = 256, value_parser = parse_max_connections, help_heading = "Limits")]
    pub max_connections: usize,

    /// TCP connections one client address may hold at once (an IPv6
    /// client's whole /64 counts as one address); of them a quarter may
    /// still be sending their first request's headers. One more is closed
    /// at accept, so one address cannot take the slots every other client
    /// needs.
    #[arg(long, env = "SONDE_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 32, value_parser = parse_max_connections, help_heading = "Limits")]
    pub max_connections_per_address: usize,

    /// A WebSocket client that sends nothing this long, ms, is pinged; one
    /// that then stays silent as long again (no pong) is disconnected.
    #[arg(long, env = "SONDE_IDLE_TIMEOUT_MS", default_value_t = 300_000, value_parser = parse_timeout, help_heading = "Limits")]
    pub idle_timeout_ms: u64,

    /// A reply the client does not take within this long, ms, closes its
    /// connection (a client that stops reading is dropped, not buffered).
    #[arg(long, env = "SONDE_SEND_TIMEOUT_MS", default_value_t = 10_000, value_parser = parse_timeout, help_heading = "Limits")]
    pub send_timeout_ms: u64,

    /// How long a client may take to send a request's headers, ms
    /// (slow-header attacks); also how long an idle HTTP keep-alive lasts.
    #[arg(long, env = "SONDE_HEADER_TIMEOUT_MS", default_value_t = 10_000, value_parser = parse_timeout, help_heading = "Limits")]
    pub header_timeout_ms: u64,

    /// A network or FUSE filesystem whose size does not come back within
    /// this long, ms, is reported unavailable and skipped until it answers
    /// (a dead NFS server).
    #[arg(long, env = "SONDE_MOUNT_TIMEOUT_MS", default_value_t = 1_000, value_parser = parse_timeout, help_heading = "Limits")]
    pub mount_timeout_ms: u64,

    /// journalctl programs running at once, across all clients.
    #[arg(long, env = "SONDE_MAX_JOURNAL_READS", default_value_t = 2, value_parser = parse_workers, help_heading = "Limits")]
    pub max_journal_reads: usize,

    /// Uncached per-process reads (process_metrics) running at once,
    /// across all clients: walking every PID costs at most this many
    /// threads' time.
    #[arg(long, env = "SONDE_MAX_PROCESS_READS", default_value_t = 2, value_parser = parse_workers, help_heading = "Limits")]
    pub max_process_reads: usize,
}

impl Limits {
    /// How long a WebSocket client may stay silent before it is pinged.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// How long one reply may take to be taken by the client.
    pub fn send_timeout(&self) -> Duration {
        Duration::from_millis(self.send_timeout_ms)
    }

    /// How long a request's headers may take.
    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }

    /// How long one filesystem's statvfs may take.
    pub fn mount_timeout(&self) -> Duration {
        Duration::from_millis(self.mount_timeout_ms)
    }
}

/// wss:// and its certificate.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsOptions {
    /// Serve wss:// with a self-signed certificate made once and kept, or
    /// the one given by --tls-cert/--tls-key.
    #[arg(
        id = "tls",
        long = "tls",
        visible_alias = "enableSSL",
        env = "SONDE_TLS",
        default_value = "off",
        default_missing_value = "on",
        num_args = 0..=1,
        require_equals = true,
        value_parser = parse_switch,
        help_heading = "TLS"
    )]
    pub enabled: bool,

    /// Where the generated certificate and key are kept
    /// [default: $XDG_CONFIG_HOME/sonde/tls, else ~/.config/sonde/tls].
    #[arg(long = "tls-dir", env = "SONDE_TLS_DIR", help_heading = "TLS")]
    pub dir: Option<PathBuf>,

    /// Extra names for the generated certificate: comma-separated DNS names
    /// and IP addresses (the hostname, localhost, 127.0.0.1 and ::1 are
    /// always in it).
    #[arg(
        long = "tls-extra-sans",
        env = "SONDE_TLS_EXTRA_SANS",
        value_delimiter = ',',
        value_parser = parse_san,
        help_heading = "TLS"
    )]
    pub extra_sans: Vec<String>,

    /// Use this PEM certificate (chain) instead of a generated one.
    #[arg(
        id = "tls_cert",
        long = "tls-cert",
        env = "SONDE_TLS_CERT",
        requires = "tls_key",
        help_heading = "TLS"
    )]
    pub cert: Option<PathBuf>,

    /// The PEM private key (RSA or ECDSA) of --tls-cert.
    #[arg(
        id = "tls_key",
        long = "tls-key",
        env = "SONDE_TLS_KEY",
        requires = "tls_cert",
        help_heading = "TLS"
    )]
    pub key: Option<PathBuf>,

    /// How long a client may take to complete the TLS handshake, ms.
    #[arg(long = "tls-handshake-timeout-ms", env = "SONDE_TLS_HANDSHAKE_TIMEOUT_MS", default_value_t = 10_000, value_parser = parse_timeout, help_heading = "TLS")]
    pub handshake_timeout_ms: u64,
}

impl TlsOptions {
    /// How long a TLS handshake may take.
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms)
    }
}

/// Subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Manage the TLS certificate.
    Tls {
        /// What to do with it.
        #[command(subcommand)]
        action: TlsAction,
    },
    /// Collect every kind once and say what this host gives, with timings;
    /// fails when a source is broken.
    Check,
    /// Ask the server on this host's configured port for /healthz (for
    /// container health checks); fails unless it answers. With --tls, it
    /// checks that the server completes a TLS handshake instead.
    Healthcheck {
        /// How long to wait, ms.
        #[arg(long, default_value_t = 3000, value_parser = parse_timeout)]
        timeout_ms: u64,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    Man,
}

/// `sonde tls …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TlsAction {
    /// Print the certificate's path, SHA-256 fingerprint, names and expiry.
    Show {
        /// Print the PEM certificate instead, for copying to a client.
        #[arg(long)]
        pem: bool,
    },
    /// Replace the generated certificate and key with a new pair (clients
    /// that pinned the old one must pin the new one).
    Rotate,
}

/// A socktop variable and the sonde flag/variable it stands for.
#[derive(Debug)]
pub struct Alias {
    /// The socktop agent's variable.
    pub socktop_env: &'static str,
    /// How it is written in the help and the README (with the value that
    /// turns the option on or off, for switches).
    pub socktop_shown: &'static str,
    /// sonde's own variable, which wins over the socktop one.
    pub sonde_env: &'static str,
    /// The flag it stands for.
    pub flag: &'static str,
    /// The same, as written in the help (with the value, for switches).
    pub flag_shown: &'static str,
    /// Validates a value before it is handed to the flag.
    check: fn(&str) -> Result<String, String>,
}

fn shown<T: ToString>(r: Result<T, String>) -> Result<String, String> {
    r.map(|v| v.to_string())
}

/// The socktop names that keep working: the one table `--help`, the
/// parser and the README's configuration table (checked by a test) follow.
pub const ALIASES: &[Alias] = &[
    Alias {
        socktop_env: "SOCKTOP_PORT",
        socktop_shown: "SOCKTOP_PORT",
        sonde_env: "SONDE_PORT",
        flag: "--port",
        flag_shown: "--port",
        check: |v| shown(parse_port(v)),
    },
    Alias {
        socktop_env: "SOCKTOP_TOKEN",
        socktop_shown: "SOCKTOP_TOKEN",
        sonde_env: "SONDE_TOKEN",
        flag: "--token",
        flag_shown: "--token",
        check: parse_token,
    },
    Alias {
        socktop_env: "SOCKTOP_AGENT_METRICS_TTL_MS",
        socktop_shown: "SOCKTOP_AGENT_METRICS_TTL_MS",
        sonde_env: "SONDE_METRICS_TTL_MS",
        flag: "--metrics-ttl-ms",
        flag_shown: "--metrics-ttl-ms",
        check: |v| shown(parse_ttl(v)),
    },
    Alias {
        socktop_env: "SOCKTOP_AGENT_PROCESSES_TTL_MS",
        socktop_shown: "SOCKTOP_AGENT_PROCESSES_TTL_MS",
        sonde_env: "SONDE_PROCESSES_TTL_MS",
        flag: "--processes-ttl-ms",
        flag_shown: "--processes-ttl-ms",
        check: |v| shown(parse_ttl(v)),
    },
    Alias {
        socktop_env: "SOCKTOP_AGENT_DISKS_TTL_MS",
        socktop_shown: "SOCKTOP_AGENT_DISKS_TTL_MS",
        sonde_env: "SONDE_DISKS_TTL_MS",
        flag: "--disks-ttl-ms",
        flag_shown: "--disks-ttl-ms",
        check: |v| shown(parse_ttl(v)),
    },
    Alias {
        socktop_env: "SOCKTOP_AGENT_GPU",
        socktop_shown: "SOCKTOP_AGENT_GPU=0",
        sonde_env: "SONDE_GPU",
        flag: "--gpu",
        flag_shown: "--gpu off",
        check: |v| shown(parse_switch(v)),
    },
    Alias {
        socktop_env: "SOCKTOP_AGENT_TEMP",
        socktop_shown: "SOCKTOP_AGENT_TEMP=0",
        sonde_env: "SONDE_TEMP",
        flag: "--temp",
        flag_shown: "--temp off",
        check: |v| shown(parse_switch(v)),
    },
    Alias {
        socktop_env: "SOCKTOP_ENABLE_SSL",
        socktop_shown: "SOCKTOP_ENABLE_SSL=1",
        sonde_env: "SONDE_TLS",
        flag: "--tls",
        flag_shown: "--tls (also --enableSSL)",
        check: |v| shown(parse_switch(v)),
    },
    Alias {
        socktop_env: "SOCKTOP_AGENT_EXTRA_SANS",
        socktop_shown: "SOCKTOP_AGENT_EXTRA_SANS",
        sonde_env: "SONDE_TLS_EXTRA_SANS",
        flag: "--tls-extra-sans",
        flag_shown: "--tls-extra-sans",
        check: |v| {
            for entry in v.split(',') {
                parse_san(entry)?;
            }
            Ok(v.to_owned())
        },
    },
];

/// The `--help` section listing [`ALIASES`].
pub fn socktop_names_help() -> String {
    let mut text =
        String::from("socktop agent names that keep working (flag, then SONDE_*, then these):");
    for alias in ALIASES {
        text.push_str(&format!(
            "\n  {:<32} = {}",
            alias.socktop_shown, alias.flag_shown
        ));
    }
    text
}

impl Config {
    /// Parses the command line and the process environment.
    pub fn from_env_and_args<I, T>(args: I) -> Result<Config, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Self::parse_with(args, |name| std::env::var(name).ok())
    }

    /// Parses `args`, resolving socktop variable names through `env`
    /// (sonde's own `SONDE_*` variables are read by clap).
    pub fn parse_with<I, T>(
        args: I,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let program = if args.is_empty() {
            OsString::from("sonde")
        } else {
            args.remove(0)
        };
        // Socktop names go first, so that flags given on the command line
        // (later, `args_override_self`) win over them.
        let mut full = vec![program];
        for alias in ALIASES {
            if env(alias.sonde_env).is_some() {
                continue;
            }
            let Some(value) = env(alias.socktop_env) else {
                continue;
            };
            let value = (alias.check)(&value).map_err(|why| {
                clap::Error::raw(
                    clap::error::ErrorKind::ValueValidation,
                    format!(
                        "invalid value {value:?} in {} (sonde's {}): {why}\n",
                        alias.socktop_env, alias.flag
                    ),
                )
            })?;
            full.push(format!("{}={value}", alias.flag).into());
        }
        full.extend(args);
        let mut command = Config::cli();
        let matches = command.try_get_matches_from_mut(full)?;
        Config::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
    }

    /// The command line as `--help` and the man page show it, with the
    /// socktop names section.
    pub fn cli() -> clap::Command {
        Config::command().after_help(socktop_names_help())
    }

    /// The port to listen on: as given, else 3000 (8443 with TLS).
    pub fn port(&self) -> u16 {
        self.listen
            .port
            .unwrap_or(if self.tls.enabled { 8443 } else { 3000 })
    }

    /// Where collectors read the host from.
    pub fn roots(&self) -> Roots {
        let c = &self.collection;
        Roots {
            proc: c.proc_root.clone(),
            sys: c.sys_root.clone(),
            etc: c.etc_root.clone(),
            rootfs: c.rootfs.clone(),
        }
    }
}

fn parse_port(v: &str) -> Result<u16, String> {
    v.trim()
        .parse()
        .map_err(|_| "expected a port number from 0 to 65535".to_owned())
}

fn parse_bind(v: &str) -> Result<IpAddr, String> {
    let v = v.trim();
    v.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| "expected an IP address such as 0.0.0.0, 127.0.0.1 or ::".to_owned())
}

fn parse_ttl(v: &str) -> Result<u64, String> {
    let ms: u64 = v
        .trim()
        .parse()
        .map_err(|_| "expected a whole number of milliseconds, 0 or more".to_owned())?;
    if ms > 3_600_000 {
        return Err("more than an hour: metrics that old mislead".to_owned());
    }
    Ok(ms)
}

fn parse_timeout(v: &str) -> Result<u64, String> {
    match v.trim().parse::<u64>() {
        Ok(ms) if (1..=600_000).contains(&ms) => Ok(ms),
        _ => Err("expected milliseconds from 1 to 600000".to_owned()),
    }
}

/// One extra certificate name: an IP address or a DNS name.
fn parse_san(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.parse::<IpAddr>().is_ok() {
        return Ok(v.to_owned());
    }
    let valid_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let name = v.strip_prefix("*.").unwrap_or(v);
    if !v.is_empty() && v.len() <= 253 && name.split('.').all(valid_label) {
        Ok(v.to_owned())
    } else {
        Err(format!("{v:?} is neither an IP address nor a DNS name"))
    }
}

/// A CORS origin: `scheme://host[:port]`, nothing after it.
fn parse_origin(v: &str) -> Result<String, String> {
    let v = v.trim();
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .ok_or_else(|| format!("{v:?} is not an origin such as https://dash.example:8080"))?;
    if rest.is_empty()
        || rest.contains('/')
        || v.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "{v:?} is not an origin such as https://dash.example:8080"
        ));
    }
    Ok(v.to_owned())
}

fn parse_top(v: &str) -> Result<usize, String> {
    match v.trim().parse::<usize>() {
        Ok(n) if n <= 1000 => Ok(n),
        _ => Err("expected a number of processes from 0 to 1000".to_owned()),
    }
}

fn parse_max_connections(v: &str) -> Result<usize, String> {
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=65_536).contains(&n) => Ok(n),
        _ => Err("expected a number of connections from 1 to 65536".to_owned()),
    }
}

fn parse_workers(v: &str) -> Result<usize, String> {
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=64).contains(&n) => Ok(n),
        _ => Err("expected a number from 1 to 64".to_owned()),
    }
}

/// A host name for `--allowed-host`: `*`, or a DNS name (letters, digits,
/// `-`, `.`, an optional leading `*.` for every subdomain), lowercased.
fn parse_host_name(v: &str) -> Result<String, String> {
    if v.trim() == "*" {
        return Ok("*".to_owned());
    }
    // A trailing dot (a fully qualified name) is dropped; a `*` is only
    // ever a leading `*.` before a name, never the whole name.
    let name = v.trim().trim_end_matches('.').to_ascii_lowercase();
    let body = name.strip_prefix("*.").unwrap_or(&name);
    let valid = !body.is_empty()
        && body.len() <= 253
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if valid {
        Ok(name)
    } else {
        Err(format!(
            "{v:?} is not a host name (letters, digits, '-' and '.', or '*' for any)"
        ))
    }
}

fn parse_switch(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" => Ok(true),
        "0" | "off" | "false" | "no" => Ok(false),
        _ => Err("expected on/off (or 1/0, true/false, yes/no)".to_owned()),
    }
}

fn parse_token(v: &str) -> Result<String, String> {
    if v.is_empty() {
        return Err("the token must not be empty (leave it unset to turn auth off)".to_owned());
    }
    if v.chars().any(|c| c.is_control() || c == ' ') {
        return Err("the token must not contain spaces or control characters".to_owned());
    }
    Ok(v.to_owned())
}

fn parse_log(v: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(v)
        .map(|_| v.to_owned())
        .map_err(|e| format!("not a log filter: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
        Config::parse_with(std::iter::once("sonde").chain(args.iter().copied()), |k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let c = parse(&[], &[]).unwrap();
        assert_eq!(c.port(), 3000);
        assert_eq!(c.listen.bind.to_string(), "0.0.0.0");
        assert_eq!(
            (
                c.ttl.metrics_ttl_ms,
                c.ttl.processes_ttl_ms,
                c.ttl.disks_ttl_ms
            ),
            (250, 1000, 1000)
        );
        assert!(c.collection.gpu && c.collection.temp);
        assert!(c.listen.token.is_none());
    }

    #[test]
    fn socktop_names_work_and_flags_win() {
        let env = [
            ("SOCKTOP_PORT", "4000"),
            ("SOCKTOP_AGENT_GPU", "0"),
            ("SOCKTOP_AGENT_TEMP", "0"),
            ("SOCKTOP_AGENT_METRICS_TTL_MS", "0"),
            ("SOCKTOP_TOKEN", "s3cret"),
        ];
        let c = parse(&[], &env).unwrap();
        assert_eq!(c.port(), 4000);
        assert!(!c.collection.gpu && !c.collection.temp);
        assert_eq!(c.ttl.metrics_ttl_ms, 0);
        assert_eq!(c.listen.token.as_deref(), Some("s3cret"));
        let c = parse(&["-p", "5000"], &env).unwrap();
        assert_eq!(c.port(), 5000);
        let c = parse(&["--port", "5001"], &env).unwrap();
        assert_eq!(c.port(), 5001);
    }

    #[test]
    fn bad_values_name_the_option() {
        let e = parse(&["--port", "abc"], &[]).unwrap_err();
        assert!(e.contains("--port"), "{e}");
        let e = parse(&[], &[("SOCKTOP_AGENT_METRICS_TTL_MS", "-5")]).unwrap_err();
        assert!(e.contains("SOCKTOP_AGENT_METRICS_TTL_MS"), "{e}");
        let e = parse(&[], &[("SOCKTOP_AGENT_GPU", "maybe")]).unwrap_err();
        assert!(e.contains("SOCKTOP_AGENT_GPU"), "{e}");
        let e = parse(&["--bind", "localhost:80"], &[]).unwrap_err();
        assert!(e.contains("--bind"), "{e}");
        let e = parse(&["--token", ""], &[]).unwrap_err();
        assert!(e.contains("--token"), "{e}");
    }

    #[test]
    fn tls_names_and_default_port() {
        for (args, env) in [
            (&["--tls"][..], &[][..]),
            (&["--enableSSL"][..], &[][..]),
            (&["--tls=on"][..], &[][..]),
            (&[][..], &[("SOCKTOP_ENABLE_SSL", "1")][..]),
        ] {
            let c = parse(args, env).unwrap();
            assert!(c.tls.enabled, "{args:?} {env:?}");
            assert_eq!(c.port(), 8443);
        }
        let c = parse(&["--tls", "--port", "9000"], &[]).unwrap();
        assert_eq!(c.port(), 9000);
        assert!(
            !parse(&[], &[("SOCKTOP_ENABLE_SSL", "0")])
                .unwrap()
                .tls
                .enabled
        );
    }

    #[test]
    fn extra_sans_are_validated() {
        let c = parse(
            &[],
            &[("SOCKTOP_AGENT_EXTRA_SANS", "box.lan,10.0.0.7,fe80::1")],
        )
        .unwrap();
        assert_eq!(c.tls.extra_sans, ["box.lan", "10.0.0.7", "fe80::1"]);
        let e = parse(&[], &[("SOCKTOP_AGENT_EXTRA_SANS", "ok.lan,bad name")]).unwrap_err();
        assert!(
            e.contains("SOCKTOP_AGENT_EXTRA_SANS") && e.contains("bad name"),
            "{e}"
        );
        let e = parse(&["--tls-extra-sans", "a..b"], &[]).unwrap_err();
        assert!(e.contains("--tls-extra-sans"), "{e}");
        assert!(
            parse(&["--tls-cert", "c.pem"], &[]).is_err(),
            "--tls-cert needs --tls-key"
        );
    }

    /// `--allowed-host '*.'` was trimmed of its dot to `*`, which turns the
    /// host check off: a typo opened the agent to DNS rebinding.
    #[test]
    fn regression_allowed_host_star_dot_turned_the_host_check_off() {
        for typo in ["*.", "*..", " *. "] {
            let e = parse(&["--allowed-host", typo], &[]).unwrap_err();
            assert!(e.contains("--allowed-host"), "{typo:?}: {e}");
        }
        assert_eq!(
            parse(&["--allowed-host", "*"], &[])
                .unwrap()
                .http
                .allowed_hosts,
            ["*"]
        );
    }

    #[test]
    fn http_options_are_validated() {
        let c = parse(
            &[
                "--cors-origin",
                "https://dash.example:8080",
                "--cors-origin",
                "http://b.lan",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            c.http.cors_origins,
            ["https://dash.example:8080", "http://b.lan"]
        );
        for bad in [
            "dash.example",
            "https://dash.example/path",
            "ftp://x",
            "https://",
        ] {
            let e = parse(&["--cors-origin", bad], &[]).unwrap_err();
            assert!(e.contains("--cors-origin"), "{bad}: {e}");
        }
        let c = parse(
            &[
                "--allowed-host",
                "Box.LAN.,*.corp.example",
                "--allowed-host",
                "*",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(c.http.allowed_hosts, ["box.lan", "*.corp.example", "*"]);
        for bad in ["http://box.lan", "box lan", "box.lan/x", "a*b"] {
            let e = parse(&["--allowed-host", bad], &[]).unwrap_err();
            assert!(e.contains("--allowed-host"), "{bad:?}: {e}");
        }
        assert!(parse(&["--redact", "on"], &[]).unwrap().http.redact);
        assert!(!parse(&[], &[]).unwrap().http.redact, "off by default");
        let e = parse(&["--redact", "maybe"], &[]).unwrap_err();
        assert!(e.contains("--redact"), "{e}");
        assert_eq!(
            parse(&["--prometheus-processes", "10"], &[])
                .unwrap()
                .http
                .prometheus_processes,
            10
        );
        let e = parse(&["--prometheus-processes", "5000"], &[]).unwrap_err();
        assert!(e.contains("--prometheus-processes"), "{e}");
        let e = parse(&["--gpu-ttl-ms", "soon"], &[]).unwrap_err();
        assert!(e.contains("--gpu-ttl-ms"), "{e}");
    }

    #[test]
    fn ipv6_bind() {
        let c = parse(&["--bind", "::1"], &[]).unwrap();
        assert!(c.listen.bind.is_ipv6());
    }

    #[test]
    fn every_alias_is_in_the_help() {
        let help = Config::parse_with(["sonde", "--help"], |_| None)
            .unwrap_err()
            .to_string();
        for alias in ALIASES {
            assert!(help.contains(alias.socktop_shown), "{}", alias.socktop_env);
            // The alias feeds the flag it names: a bad value names both.
            let e = parse(&[], &[(alias.socktop_env, "\u{7}bad value")]).unwrap_err();
            assert!(
                e.contains(alias.socktop_env) && e.contains(alias.flag),
                "{e}"
            );
        }
    }
}
