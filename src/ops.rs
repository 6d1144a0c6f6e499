//! Operator commands beside serving: `sonde check` (collect every kind once
//! and say what works here), `sonde healthcheck` (ask a running server's
//! `/healthz`, for container health checks that have no shell),
//! `sonde completions SHELL` and `sonde man`, generated from the clap
//! definitions.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use clap::CommandFactory;

use crate::config::Config;
use crate::state::{AppState, CheckLine};

/// Why an operator command failed.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The server did not answer `/healthz` with 200.
    #[error("{url}: {detail}")]
    Unhealthy {
        /// What was asked.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    /// A source this configuration reads is broken (the summary says which).
    #[error("{0} source(s) broken on this host")]
    Broken(usize),
}

/// `sonde completions SHELL`: the completion script, on stdout.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Config::command(), "sonde", out);
}

/// `sonde man`: the manual page (roff), on stdout.
pub fn man(out: &mut dyn Write) -> Result<(), OpsError> {
    quiet_on_closed_pipe(render_man(out))
}

/// The page: clap's sections, but the subcommands described here rather
/// than as `sonde-tls(1)` pages that are not installed, and an
/// ENVIRONMENT section naming every `SONDE_*` variable.
fn render_man(out: &mut dyn Write) -> std::io::Result<()> {
    let cli = Config::cli();
    let man = clap_mangen::Man::new(cli.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    let roff = |s: &str| s.replace('\\', "\\\\").replace('-', "\\-");
    writeln!(out, ".SH COMMANDS")?;
    for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
        let nested: Vec<&str> = sub.get_subcommands().map(|s| s.get_name()).collect();
        let name = if nested.is_empty() {
            sub.get_name().to_owned()
        } else {
            format!("{} {}", sub.get_name(), nested.join("|"))
        };
        writeln!(out, ".TP\n\\fBsonde {}\\fR", roff(&name))?;
        let about = sub
            .get_long_about()
            .or(sub.get_about())
            .map(ToString::to_string);
        writeln!(out, "{}", roff(&about.unwrap_or_default()))?;
        for nested in sub.get_subcommands() {
            let about = nested
                .get_about()
                .map(ToString::to_string)
                .unwrap_or_default();
            writeln!(
                out,
                ".br\n\\fB{}\\fR: {}",
                roff(nested.get_name()),
                roff(&about)
            )?;
        }
    }
    writeln!(
        out,
        ".PP\nEvery option may also follow the subcommand: \\fBsonde tls show \\-\\-tls\\-dir DIR\\fR."
    )?;
    writeln!(out, ".SH ENVIRONMENT")?;
    for arg in cli.get_arguments() {
        if let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) {
            writeln!(
                out,
                ".TP\n\\fB{}\\fR\nas \\fB\\-\\-{}\\fR (a flag wins over it)",
                roff(&env.to_string_lossy()),
                roff(long)
            )?;
        }
    }
    man.render_extra_section(out)?;
    man.render_version_section(out)
}

/// A reader that stopped reading (`sonde man | head`) is not an error.
fn quiet_on_closed_pipe(r: std::io::Result<()>) -> Result<(), OpsError> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// `sonde healthcheck`: GET `/healthz` on this host's configured port
/// (loopback), within `timeout`. Plain HTTP; with TLS on, the server
/// refuses plain connections, so this checks that it accepts and completes
/// a TLS handshake instead of speaking HTTP.
pub fn healthcheck(config: &Config, timeout: Duration) -> Result<(), OpsError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], config.port()));
    let scheme = if config.tls.enabled { "https" } else { "http" };
    let url = format!("{scheme}://{addr}/healthz");
    let unhealthy = |detail: String| OpsError::Unhealthy {
        url: url.clone(),
        detail,
    };
    let mut tcp =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| unhealthy(e.to_string()))?;
    tcp.set_read_timeout(Some(timeout))
        .map_err(|e| unhealthy(e.to_string()))?;
    tcp.set_write_timeout(Some(timeout))
        .map_err(|e| unhealthy(e.to_string()))?;
    if config.tls.enabled {
        return tls_handshake(tcp).map(drop).map_err(unhealthy);
    }
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| unhealthy(e.to_string()))?;
    let mut reply = Vec::new();
    tcp.take(64 * 1024)
        .read_to_end(&mut reply)
        .map_err(|e| unhealthy(e.to_string()))?;
    let reply = String::from_utf8_lossy(&reply);
    let status = reply.lines().next().unwrap_or_default();
    if status.starts_with("HTTP/1.1 200") && reply.contains("\"status\":\"ok\"") {
        Ok(())
    } else {
        Err(unhealthy(format!("answered {status:?}")))
    }
}

/// A TLS handshake with whatever certificate the server presents (the
/// health check asks whether the server is up, not whom to trust); the
/// certificate it presented (DER), for a caller that wants to know which.
pub fn tls_handshake(tcp: TcpStream) -> Result<Vec<u8>, String> {
    #[derive(Debug)]
    struct AnyCert(Arc<rustls::crypto::CryptoProvider>);
    impl rustls::client::danger::ServerCertVerifier for AnyCert {
        fn verify_server_cert(
            &self,
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &[rustls::pki_types::CertificateDer<'_>],
            _: &rustls::pki_types::ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut tcp = tcp;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)
            .map_err(|e| format!("TLS handshake: {e}"))?;
    }
    Ok(conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .unwrap_or_default())
}

/// `sonde check`: collects every kind once, as the server would, and
/// writes a summary with timings, one or more lines per kind of the table.
/// Fails (after writing it all) when a source this configuration reads is
/// broken.
pub async fn check(config: Config, out: &mut dyn Write) -> Result<(), OpsError> {
    let state = AppState::new(config, crate::table::KINDS);
    let roots = state.roots();
    let mut text = String::new();
    let _ = writeln!(text, "sonde {} — what this host gives", crate::LONG_VERSION);
    let _ = writeln!(
        text,
        "roots: proc {}, sys {}, etc {}, rootfs {}",
        roots.proc.display(),
        roots.sys.display(),
        roots.etc.display(),
        roots.rootfs.display()
    );
    let mut lines = Vec::new();
    for check in state.kinds().iter().filter_map(|k| k.check) {
        lines.extend(check(&state).await);
    }
    let errors = state.errors().snapshot();
    if errors.is_empty() {
        lines.push(CheckLine::ok("errors", "none".to_owned()));
    }
    for e in errors {
        let what = format!("{} {} ×{} (logged above)", e.collector, e.kind, e.count);
        lines.push(CheckLine::broken("errors", what));
    }
    let width = lines.iter().map(|l| l.label.len()).max().unwrap_or(0);
    for line in &lines {
        let _ = writeln!(text, "{:<width$} {}", line.label, line.text);
    }
    quiet_on_closed_pipe(out.write_all(text.as_bytes()))?;
    match lines.iter().filter(|l| l.broken).count() {
        0 => Ok(()),
        broken => Err(OpsError::Broken(broken)),
    }
}
