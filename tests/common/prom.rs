//! A real Prometheus for tests: started on a free port with a given
//! configuration, asked with instant queries.

use std::net::SocketAddr;

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Prometheus's instant query result for `query`; empty while it does not
/// answer yet.
pub async fn query(prom: SocketAddr, query: &str) -> Vec<Value> {
    let path = format!(
        "/api/v1/query?query={}",
        query
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' =>
                    (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    );
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let Ok(uri) = format!("http://{prom}{path}").parse::<hyper::Uri>() else {
        return Vec::new();
    };
    let Ok(res) = client.get(uri).await else {
        return Vec::new();
    };
    let Ok(body) = res.into_body().collect().await else {
        return Vec::new();
    };
    serde_json::from_slice::<Value>(&body.to_bytes())
        .ok()
        .and_then(|v| v["data"]["result"].as_array().cloned())
        .unwrap_or_default()
}

/// The first value of a query's result as a number.
pub async fn value(prom: SocketAddr, q: &str) -> Option<f64> {
    query(prom, q)
        .await
        .first()
        .and_then(|r| r["value"][1].as_str())
        .and_then(|v| v.parse().ok())
}

/// An exporter's `/metrics` (or any path) body, with a real HTTP client.
pub async fn scrape(addr: SocketAddr, path: &str) -> (u16, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let uri: hyper::Uri = format!("http://{addr}{path}").parse().unwrap();
    let res = client.get(uri).await.unwrap();
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A Prometheus running with `config` (its YAML) in a directory of its
/// own, killed when dropped.
pub struct Prometheus {
    pub addr: SocketAddr,
    pub child: super::Killed,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Debian's `prometheus` on a free port; `None` where it is not
    /// installed.
    pub fn start(config: &str) -> Option<Prometheus> {
        std::process::Command::new("prometheus")
            .arg("--version")
            .output()
            .ok()?;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("prometheus.yml");
        std::fs::write(&file, config).unwrap();
        let addr: SocketAddr = ([127, 0, 0, 1], super::free_port()).into();
        let child = super::Killed(
            std::process::Command::new("prometheus")
                .arg(format!("--config.file={}", file.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address={addr}"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        Some(Prometheus {
            addr,
            child,
            _dir: dir,
        })
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child.0.try_wait().unwrap().is_none()
    }
}
