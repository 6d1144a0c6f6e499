//! What to collect and where the host's files are.

use super::*;

/// What to collect and where the host's files are.
#[derive(Debug, Clone, clap::Args)]
pub struct Collection {
    /// Collect GPU readings (on/off): NVIDIA through NVML, AMD and Intel
    /// from sysfs; a sleeping GPU is never woken.
    #[arg(global = true, long, env = "SONDE_GPU", default_value = "on", action = ArgAction::Set, value_parser = parse_switch)]
    pub gpu: bool,

    /// Collect the CPU temperature (on/off).
    #[arg(global = true, long, env = "SONDE_TEMP", default_value = "on", action = ArgAction::Set, value_parser = parse_switch)]
    pub temp: bool,

    /// Ask this Docker-compatible API socket for container names
    /// (repeatable: Docker's /var/run/docker.sock, Podman's
    /// /run/podman/podman.sock). Off by default: on most hosts access to it
    /// is as good as root, so give it only where sonde may have that.
    #[arg(
        global = true,
        long = "container-socket",
        env = "SONDE_CONTAINER_SOCKETS",
        value_delimiter = ','
    )]
    pub container_sockets: Vec<PathBuf>,

    /// The journalctl program used for journal entries.
    #[arg(
        global = true,
        long,
        env = "SONDE_JOURNALCTL",
        default_value = "journalctl",
        help_heading = "Advanced"
    )]
    pub journalctl: PathBuf,

    /// Directories holding the systemd journal (repeatable).
    #[arg(
        global = true, long = "journal-dir",
        env = "SONDE_JOURNAL_DIRS",
        value_delimiter = ',',
        default_values = ["/var/log/journal", "/run/log/journal"],
        help_heading = "Advanced"
    )]
    pub journal_dirs: Vec<PathBuf>,

    /// Where procfs is mounted (for containers that mount the host's elsewhere).
    #[arg(
        global = true,
        long,
        env = "SONDE_PROC_ROOT",
        default_value = "/proc",
        help_heading = "Advanced"
    )]
    pub proc_root: PathBuf,

    /// Where sysfs is mounted.
    #[arg(
        global = true,
        long,
        env = "SONDE_SYS_ROOT",
        default_value = "/sys",
        help_heading = "Advanced"
    )]
    pub sys_root: PathBuf,

    /// Where the host's /etc is (for os-release).
    #[arg(
        global = true,
        long,
        env = "SONDE_ETC_ROOT",
        default_value = "/etc",
        help_heading = "Advanced"
    )]
    pub etc_root: PathBuf,

    /// Where the host's root filesystem is (a container mounts it, e.g.
    /// at /host): disks are measured at their mount points under it.
    #[arg(
        global = true,
        long,
        env = "SONDE_ROOTFS",
        default_value = "/",
        help_heading = "Advanced"
    )]
    pub rootfs: PathBuf,
}
