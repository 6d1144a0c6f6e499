//! The HTTP surfaces beside `/ws`.

use super::*;

/// The HTTP surfaces beside /ws.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpOptions {
    /// Let pages from this origin read /api/* (CORS) and open /ws
    /// (repeatable, or comma-separated in the variable); every other
    /// origin is refused with 403. None by default.
    #[arg(global = true, long = "cors-origin", env = "SONDE_CORS_ORIGINS", value_delimiter = ',', value_parser = parse_origin, help_heading = "HTTP")]
    pub cors_origins: Vec<String>,

    /// Also export the top N processes by CPU, by disk I/O and by TCP
    /// traffic on /metrics (0: none; each process is a series, so keep N
    /// small).
    #[arg(global = true, long, env = "SONDE_PROMETHEUS_PROCESSES", default_value_t = 0, value_parser = parse_top, help_heading = "HTTP")]
    pub prometheus_processes: usize,

    /// Export each container and systemd unit on /metrics (on/off): seven
    /// series each, so a host with a hundred units adds seven hundred.
    #[arg(global = true, long, env = "SONDE_PROMETHEUS_CONTAINERS", default_value = "on", action = ArgAction::Set, value_parser = parse_switch, help_heading = "HTTP")]
    pub prometheus_containers: bool,

    /// A host name this agent may be reached by, beside IP addresses,
    /// localhost, this machine's hostname, the names /etc/hosts gives it and
    /// the TLS names (repeatable, or
    /// comma-separated in the variable; `*.example.com` for every
    /// subdomain, `*` turns the check off). Another name is refused with 421
    /// (DNS rebinding): on an agent without a token for every request but
    /// /healthz, with a token for those that look like a browser's
    /// (`Origin`, `Sec-Fetch-*` or a `Mozilla/` user agent).
    #[arg(global = true, long = "allowed-host", env = "SONDE_ALLOWED_HOSTS", value_delimiter = ',', value_parser = parse_host_name, help_heading = "HTTP")]
    pub allowed_hosts: Vec<String>,

    /// Withhold command lines, working directories, executable paths and
    /// journal messages from every surface (on/off): for agents whose
    /// audience should see load, not secrets. Names and numbers stay.
    /// [default: on without a token (what a command line holds is not for
    /// anyone who can reach the port), off with one]
    #[arg(global = true, long, env = "SONDE_REDACT", action = ArgAction::Set, value_parser = parse_switch, help_heading = "HTTP")]
    pub redact: Option<bool>,
}

/// A CORS origin: `scheme://host[:port]`, nothing after it.
pub(super) fn parse_origin(v: &str) -> Result<String, String> {
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

pub(super) fn parse_top(v: &str) -> Result<usize, String> {
    match v.trim().parse::<usize>() {
        Ok(n) if n <= 1000 => Ok(n),
        _ => Err("expected a number of processes from 0 to 1000".to_owned()),
    }
}

/// A host name for `--allowed-host`: `*`, or a DNS name (letters, digits,
/// `-`, `.`, an optional leading `*.` for every subdomain), lowercased.
pub(super) fn parse_host_name(v: &str) -> Result<String, String> {
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
