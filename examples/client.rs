//! A minimal sonde client: connects, asks for each kind of reply and prints
//! a short human summary.
//!
//! Run a server (`cargo run --release`), then:
//!
//!     cargo run --example client -- ws://127.0.0.1:3000/ws
//!     cargo run --example client -- "ws://127.0.0.1:3000/ws?token=SECRET"
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a tool run by hand: failing loudly is its job

use std::io::Read;

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use sonde::model::pb;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Sends a request and returns the reply payload, un-gzip'd.
async fn ask(ws: &mut Ws, request: &str) -> anyhow::Result<Vec<u8>> {
    ws.send(Message::Text(request.into())).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.as_bytes().to_vec()),
            Some(Ok(Message::Binary(b))) if b.starts_with(&[0x1f, 0x8b]) => {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&b[..]).read_to_end(&mut out)?;
                return Ok(out);
            }
            Some(Ok(Message::Binary(b))) => return Ok(b.to_vec()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("server closed the connection"),
        }
    }
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:3000/ws".to_owned());
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;

    let host: serde_json::Value =
        serde_json::from_slice(&ask(&mut ws, r#"{"type":"host"}"#).await?)?;
    println!(
        "{} — {} (kernel {}), {} × {}",
        host["hostname"].as_str().unwrap_or("?"),
        host["os"].as_str().unwrap_or("?"),
        host["kernel_version"].as_str().unwrap_or("?"),
        host["cpu_cores"],
        host["cpu_name"].as_str().unwrap_or("?"),
    );

    let m: serde_json::Value = serde_json::from_slice(&ask(&mut ws, "get_metrics").await?)?;
    println!(
        "cpu {:.1} %   mem {:.1} / {:.1} GiB   {} processes   temp {}",
        m["cpu_total"].as_f64().unwrap_or(0.0),
        gib(m["mem_used"].as_u64().unwrap_or(0)),
        gib(m["mem_total"].as_u64().unwrap_or(0)),
        m["process_count"],
        m["cpu_temp_c"],
    );

    let disks: serde_json::Value = serde_json::from_slice(&ask(&mut ws, "get_disks").await?)?;
    for d in disks.as_array().into_iter().flatten() {
        println!(
            "disk {:<12} {:>7.1} GiB free of {:>7.1} GiB  {}",
            d["name"].as_str().unwrap_or("?"),
            gib(d["available"].as_u64().unwrap_or(0)),
            gib(d["total"].as_u64().unwrap_or(0)),
            d["mount_point"].as_str().unwrap_or(""),
        );
    }

    let mut procs = pb::Processes::decode(ask(&mut ws, "get_processes").await?.as_slice())?;
    procs
        .rows
        .sort_by(|a, b| b.cpu_usage.total_cmp(&a.cpu_usage));
    println!("top of {} processes by CPU:", procs.process_count);
    for p in procs.rows.iter().take(5) {
        println!(
            "  {:>7} {:<16} {:>5.1} % {:>8.1} MiB",
            p.pid,
            p.name,
            p.cpu_usage,
            p.mem_bytes as f64 / (1 << 20) as f64
        );
    }
    ws.close(None).await?;
    Ok(())
}
