//! The socktop agent's names, in one table.

use super::*;

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
    pub(super) check: fn(&str) -> Result<String, String>,
}

pub(super) fn shown<T: ToString>(r: Result<T, String>) -> Result<String, String> {
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
