//! Where and for whom to listen.

use super::*;

/// Where and for whom to listen.
#[derive(Debug, Clone, clap::Args)]
pub struct Listen {
    /// TCP port to listen on (0 picks a free one) [default: 3000, 8443 with TLS].
    #[arg(short = 'p', global = true, long, env = "SONDE_PORT", value_parser = parse_port)]
    pub port: Option<u16>,

    /// Address to listen on; `::` for IPv6 (and IPv4 where the OS maps it).
    #[arg(global = true, long, env = "SONDE_BIND", default_value = "0.0.0.0", value_parser = parse_bind)]
    pub bind: IpAddr,

    /// Require this token (`?token=…` or `Authorization: Bearer …`).
    #[arg(global = true, long, env = "SONDE_TOKEN", hide_env_values = true, value_parser = parse_token)]
    pub token: Option<String>,
}

pub(super) fn parse_port(v: &str) -> Result<u16, String> {
    v.trim()
        .parse()
        .map_err(|_| "expected a port number from 0 to 65535".to_owned())
}

pub(super) fn parse_bind(v: &str) -> Result<IpAddr, String> {
    let v = v.trim();
    v.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| "expected an IP address such as 0.0.0.0, 127.0.0.1 or ::".to_owned())
}

pub(super) fn parse_token(v: &str) -> Result<String, String> {
    if v.is_empty() {
        return Err("the token must not be empty (leave it unset to turn auth off)".to_owned());
    }
    if v.chars().any(|c| c.is_control() || c == ' ') {
        return Err("the token must not contain spaces or control characters".to_owned());
    }
    Ok(v.to_owned())
}
