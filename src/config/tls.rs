//! wss:// and its certificate.

use super::*;

/// wss:// and its certificate.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsOptions {
    /// Serve wss:// with a self-signed certificate made once and kept, or
    /// the one given by --tls-cert/--tls-key.
    #[arg(
        global = true,
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
    /// [default: $STATE_DIRECTORY/tls under systemd, else /var/lib/sonde/tls
    /// where the packaged unit's pair is, else $XDG_CONFIG_HOME/sonde/tls,
    /// else ~/.config/sonde/tls].
    #[arg(
        global = true,
        long = "tls-dir",
        env = "SONDE_TLS_DIR",
        help_heading = "TLS"
    )]
    pub dir: Option<PathBuf>,

    /// Extra names for the generated certificate: comma-separated DNS names
    /// and IP addresses (the hostname, localhost, 127.0.0.1 and ::1 are
    /// always in it).
    #[arg(
        global = true, long = "tls-extra-sans",
        env = "SONDE_TLS_EXTRA_SANS",
        value_delimiter = ',',
        value_parser = parse_san,
        help_heading = "TLS"
    )]
    pub extra_sans: Vec<String>,

    /// Use this PEM certificate (chain) instead of a generated one.
    #[arg(
        global = true,
        id = "tls_cert",
        long = "tls-cert",
        env = "SONDE_TLS_CERT",
        requires = "tls_key",
        help_heading = "TLS"
    )]
    pub cert: Option<PathBuf>,

    /// The PEM private key (RSA or ECDSA) of --tls-cert.
    #[arg(
        global = true,
        id = "tls_key",
        long = "tls-key",
        env = "SONDE_TLS_KEY",
        requires = "tls_cert",
        help_heading = "TLS"
    )]
    pub key: Option<PathBuf>,

    /// How long a client may take to complete the TLS handshake, ms.
    #[arg(global = true, long = "tls-handshake-timeout-ms", env = "SONDE_TLS_HANDSHAKE_TIMEOUT_MS", default_value_t = 10_000, value_parser = parse_timeout, help_heading = "TLS")]
    pub handshake_timeout_ms: u64,
}

impl TlsOptions {
    /// How long a TLS handshake may take.
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms)
    }
}

/// One extra certificate name: an IP address or a DNS name.
pub(super) fn parse_san(v: &str) -> Result<String, String> {
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
