//! Operator commands beside serving: `sonde check` (collect every kind once
//! and say what works here), `sonde healthcheck` (ask a running server's
//! `/healthz`, for container health checks that have no shell),
//! `sonde completions SHELL` and `sonde man`, generated from the clap
//! definitions.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::CommandFactory;

use crate::collect::gpu::GpuState;
use crate::config::Config;
use crate::state::AppState;

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
    quiet_on_closed_pipe(clap_mangen::Man::new(Config::cli()).render(out))
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
        return tls_handshake(tcp).map_err(unhealthy);
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

/// A TLS handshake with whatever certificate the server presents: the
/// health check asks whether the server is up, not whom to trust.
fn tls_handshake(tcp: TcpStream) -> Result<(), String> {
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
    Ok(())
}

/// `sonde check`: collects every kind once, as the server would, and
/// writes a summary with timings. Fails (after writing it all) when a
/// source this configuration reads is broken.
pub async fn check(config: Config, out: &mut dyn Write) -> Result<(), OpsError> {
    let roots = config.roots();
    let temp_on = config.collection.temp;
    let gpu_on = config.collection.gpu;
    let state = AppState::new(config);
    let mut text = String::new();
    let mut broken = 0usize;
    let _ = writeln!(text, "sonde {} — what this host gives", crate::LONG_VERSION);
    let _ = writeln!(
        text,
        "roots: proc {}, sys {}, etc {}, rootfs {}",
        roots.proc.display(),
        roots.sys.display(),
        roots.etc.display(),
        roots.rootfs.display()
    );
    let timed = Instant::now();
    let metrics = state.metrics().await;
    let metrics_ms = ms(timed);
    match &metrics {
        Ok(m) => {
            let m = m.value();
            let mem = m.memory.unwrap_or_default();
            let _ = writeln!(
                text,
                "CPU        {} cores, {:.1} % busy since boot; load {}",
                m.cpu.per_core_percent.len(),
                m.cpu.total_percent,
                m.load_avg.map_or("unknown".to_owned(), |l| format!(
                    "{:.2} {:.2} {:.2}",
                    l[0], l[1], l[2]
                ))
            );
            let _ = writeln!(
                text,
                "memory     {} total, {} used, swap {}",
                gib(mem.total_bytes),
                gib(mem.used_bytes()),
                gib(mem.swap_total_bytes)
            );
            let names: Vec<&str> = m.networks.iter().map(|n| n.name.as_str()).collect();
            let _ = writeln!(
                text,
                "network    {} interfaces ({})",
                names.len(),
                names.join(", ")
            );
            let sensors = if !temp_on {
                "off (--temp off)".to_owned()
            } else if m.temps.is_empty() {
                format!(
                    "none found — looked in {} and {}",
                    roots.sys.join("class/hwmon").display(),
                    roots.sys.join("class/thermal").display()
                )
            } else {
                let cpu = m
                    .cpu_temp_celsius
                    .map_or("no CPU package sensor".to_owned(), |c| {
                        format!("CPU {c:.1} °C")
                    });
                format!("{} ({cpu})", m.temps.len())
            };
            let _ = writeln!(text, "sensors    {sensors}");
            let _ = writeln!(text, "metrics    collected in {metrics_ms:.1} ms");
        }
        Err(e) => {
            broken += 1;
            let _ = writeln!(text, "metrics    BROKEN: {e}");
        }
    }
    let timed = Instant::now();
    let gpus = state.gpus().await;
    let gpu_ms = ms(timed);
    let gpu_line = match (&gpus, gpu_on) {
        (_, false) => "off (--gpu off)".to_owned(),
        (Ok(None), true) => format!(
            "none on the PCI bus — looked in {}",
            roots.sys.join("bus/pci/devices").display()
        ),
        (Ok(Some(g)), true) => g
            .value()
            .iter()
            .map(|g| {
                let unavailable = g.state == GpuState::Unavailable;
                if unavailable {
                    broken += 1;
                }
                format!(
                    "{} {} {} ({}){}",
                    g.index,
                    g.vendor.name(),
                    g.name,
                    g.state.name(),
                    if unavailable {
                        ": its driver could not be asked"
                    } else {
                        ""
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        (Err(e), true) => {
            broken += 1;
            format!("BROKEN: {e}")
        }
    };
    let _ = writeln!(text, "GPUs       {gpu_line} … {gpu_ms:.1} ms");
    let timed = Instant::now();
    match state.processes().await {
        Ok(p) => {
            let _ = writeln!(
                text,
                "processes  {} … {:.1} ms (the first scan waits out the 200 ms CPU window)",
                p.value().process_count,
                ms(timed)
            );
        }
        Err(e) => {
            broken += 1;
            let _ = writeln!(text, "processes  BROKEN: {e}");
        }
    }
    let timed = Instant::now();
    match state.disks().await {
        Ok(d) => {
            let table = d.value();
            let list: Vec<String> = table
                .disks
                .iter()
                .map(|d| format!("{} {} {}", d.mount_point, d.fs_type, gib(d.total_bytes)))
                .chain(
                    table
                        .unavailable
                        .iter()
                        .map(|u| format!("{} {} NOT ANSWERING", u.mount_point, u.fs_type)),
                )
                .collect();
            let _ = writeln!(
                text,
                "disks      {} ({}) … {:.1} ms",
                list.len(),
                list.join(", "),
                ms(timed)
            );
        }
        Err(e) => {
            broken += 1;
            let _ = writeln!(text, "disks      BROKEN: {e}");
        }
    }
    let timed = Instant::now();
    if let Ok(c) = state.containers().await {
        let table = c.value();
        let line = match &table.notice {
            Some(notice) => format!("none measured: {notice}"),
            None => {
                let containers = table
                    .containers
                    .iter()
                    .filter(|c| c.owner.is_container())
                    .count();
                format!(
                    "{containers} containers, {} systemd units",
                    table.containers.len() - containers
                )
            }
        };
        let _ = writeln!(text, "containers {line} … {:.1} ms", ms(timed));
    }
    match state.host().await {
        Ok(h) => {
            let h = h.value();
            let _ = writeln!(
                text,
                "host       {} — {} — kernel {} — {}",
                h.hostname.as_deref().unwrap_or("(no hostname)"),
                h.os.as_deref().unwrap_or("(unknown OS)"),
                h.kernel_version.as_deref().unwrap_or("?"),
                h.virtualization
                    .as_deref()
                    .unwrap_or("virtualization unknown")
            );
        }
        Err(e) => {
            broken += 1;
            let _ = writeln!(text, "host       BROKEN: {e}");
        }
    }
    let timed = Instant::now();
    let journal = match state.journal(std::process::id()).await {
        Ok(j) => match &j.value().notice {
            None => "readable".to_owned(),
            Some(why) => format!("not readable: {why}"),
        },
        Err(e) => format!("not readable: {e}"),
    };
    let _ = writeln!(text, "journal    {journal} … {:.1} ms", ms(timed));
    let errors = state.errors().snapshot();
    if errors.is_empty() {
        let _ = writeln!(text, "errors     none");
    } else {
        broken += errors.len();
        for e in errors {
            let _ = writeln!(
                text,
                "errors     {} {} ×{} (logged above)",
                e.collector, e.kind, e.count
            );
        }
    }
    quiet_on_closed_pipe(out.write_all(text.as_bytes()))?;
    if broken > 0 {
        return Err(OpsError::Broken(broken));
    }
    Ok(())
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}
