//! The `sonde` binary: parse the configuration, set up logging, bind, serve.

use std::net::SocketAddr;

use anyhow::Context;
use sonde::config::Config;
use tracing::{info, warn};

fn main() -> anyhow::Result<()> {
    let config = Config::from_env_and_args(std::env::args_os()).unwrap_or_else(|e| e.exit());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&config.log))
        .with_writer(std::io::stderr)
        .init();
    sonde::raise_fd_limit();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = SocketAddr::new(config.bind, config.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let shutdown = sonde::server::shutdown_signal().context("cannot listen for signals")?;
    let local = listener.local_addr()?;
    info!(version = sonde::VERSION, "listening on ws://{local}/ws");
    if config.token.is_none() && !local.ip().is_loopback() {
        warn!(
            "listening on {} without a token: anyone who can reach this port can read this host's metrics (set --token or SONDE_TOKEN)",
            local.ip()
        );
    }
    sonde::server::run(listener, config, shutdown).await?;
    info!("stopped");
    Ok(())
}
