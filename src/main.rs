//! The `sonde` binary: parse the configuration, set up logging, bind, serve.

use std::net::SocketAddr;

use anyhow::Context;
use sonde::config::{Command, Config, TlsAction};
use sonde::server::tls;
use tracing::{info, warn};

fn main() -> std::process::ExitCode {
    // An operator's mistake is said in one line, its causes after it; a
    // backtrace (printed by anyhow whenever RUST_BACKTRACE is set) says
    // nothing to someone who gave a wrong path.
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sonde: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    sonde::tune_allocator();
    let config = Config::from_env_and_args(std::env::args_os()).unwrap_or_else(|e| e.exit());
    // Parsing builds clap's whole command tree (every flag is global, so
    // each subcommand gets a copy): hand that memory back before serving.
    sonde::give_memory_back();
    let fmt = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in journald or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match config
        .log
        .parse::<tracing_subscriber::filter::LevelFilter>()
    {
        Ok(level) => fmt.with_max_level(level).init(),
        Err(_) => fmt
            .with_env_filter(tracing_subscriber::EnvFilter::new(&config.log))
            .init(),
    }
    match &config.command {
        Some(Command::Tls { action }) => return tls_command(&config, action),
        Some(Command::Completions { shell }) => {
            sonde::ops::completions(*shell, &mut std::io::stdout());
            return Ok(());
        }
        Some(Command::Man) => return Ok(sonde::ops::man(&mut std::io::stdout())?),
        Some(Command::Healthcheck { timeout_ms }) => {
            let timeout = std::time::Duration::from_millis(*timeout_ms);
            return Ok(sonde::ops::healthcheck(&config, timeout)?);
        }
        Some(Command::Check) => {
            return run_to_end(async {
                Ok(sonde::ops::check(config, &mut std::io::stdout()).await?)
            });
        }
        None => {}
    }
    sonde::raise_fd_limit();
    run_to_end(serve(config))
}

/// Runs `main` to its end on a multi-threaded runtime, then leaves: a read
/// stuck in the kernel (a hung mount, a stalled driver) holds its blocking
/// thread forever, and waiting for it would keep the process from exiting.
fn run_to_end(main: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(main);
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    result
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = SocketAddr::new(config.listen.bind, config.port());
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let shutdown = sonde::server::shutdown_signal().context("cannot listen for signals")?;
    let local = listener.local_addr()?;
    if config.tls.enabled {
        sonde::server::tls::prepare(&config)?;
    }
    for (i, line) in listening_lines(&config, local).iter().enumerate() {
        if i == 0 {
            info!(version = sonde::VERSION, "{line}");
        } else {
            info!("{line}");
        }
    }
    if config.listen.token.is_none() && !local.ip().is_loopback() {
        let withheld = if config.redact() {
            "command lines, paths, journal messages and connection addresses are withheld until you set one"
        } else {
            "command lines are served too (--redact off)"
        };
        warn!(
            "listening on {} without a token: anyone who can reach this port can read this host's metrics; {withheld} (set --token or SONDE_TOKEN)",
            local.ip()
        );
    }
    if let Some(token) = &config.listen.token
        && token.chars().count() < 16
    {
        warn!(
            "the token is {} characters long: one under 16 can be guessed; use a longer random one (e.g. `openssl rand -hex 16`)",
            token.chars().count()
        );
    }
    sonde::server::run(listener, config, shutdown).await?;
    info!("stopped");
    Ok(())
}

/// What the startup log says is served, with URLs a person can open.
fn listening_lines(config: &Config, local: SocketAddr) -> Vec<String> {
    let (ws, http) = if config.tls.enabled {
        ("wss", "https")
    } else {
        ("ws", "http")
    };
    // 0.0.0.0 and :: are not addresses to type: name this host instead.
    let host = if local.ip().is_unspecified() {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    } else if local.is_ipv6() {
        format!("[{}]", local.ip())
    } else {
        local.ip().to_string()
    };
    let base = format!("{host}:{}", local.port());
    vec![
        format!("listening on {local}"),
        format!("  socktop and scripts: {ws}://{base}/ws"),
        format!("  the live page:       {http}://{base}/"),
        format!("  JSON:                {http}://{base}/api (an index of every path)"),
        format!("  Prometheus:          {http}://{base}/metrics"),
        format!("  Glances API v4:      {http}://{base}/api/4/all"),
    ]
}

/// `sonde tls show [--pem]` and `sonde tls rotate`.
fn tls_command(config: &Config, action: &TlsAction) -> anyhow::Result<()> {
    let files = tls::files(config);
    let info = match action {
        TlsAction::Show { .. } => {
            if files.managed && !files.cert.exists() {
                return Err(tls::TlsError::Missing { path: files.cert }.into());
            }
            tls::load(&files)?.info
        }
        TlsAction::Rotate => {
            if !files.managed {
                return Err(tls::TlsError::NotManaged.into());
            }
            let info = tls::generate(&files, &tls::subject_names(&config.tls.extra_sans))?;
            eprintln!(
                "new certificate written; a running sonde serves it within {} s, without a restart; clients that pinned the old one must pin this one",
                tls::RELOAD_CHECK.as_secs()
            );
            info
        }
    };
    if let TlsAction::Show { pem: true } = action {
        print!("{}", info.pem);
        return Ok(());
    }
    println!("certificate:  {}", info.path.display());
    println!("SHA-256:      {}", info.fingerprint_sha256);
    println!("names:        {}", info.names.join(", "));
    println!("expires:      {}", info.not_after.date());
    Ok(())
}
