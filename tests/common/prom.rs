//! A real Prometheus for tests: started on a free port with a given
//! configuration, asked with instant queries.

use std::collections::BTreeMap;
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

    /// Waits until `job`'s targets have been scraped `times` times within
    /// the last minute, all of them up (a rate over the first two scrapes
    /// alone is at the mercy of Prometheus's extrapolation); panics after
    /// 60 s or if Prometheus exits.
    pub async fn scraped(&mut self, job: &str, times: f64) {
        let t0 = std::time::Instant::now();
        let scrapes = format!("min(count_over_time(up{{job=\"{job}\"}}[1m]))");
        let down = format!("count(up{{job=\"{job}\"}} == 0) or vector(0)");
        loop {
            let n = value(self.addr, &scrapes).await.unwrap_or(0.0);
            if n >= times && value(self.addr, &down).await == Some(0.0) {
                return;
            }
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(60) && self.running(),
                "Prometheus did not scrape job {job} {times} times with every target up"
            );
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }
}

/// A series' labels.
pub type Labels = BTreeMap<String, String>;

/// One exposition: series by name, and each name's type and help.
#[derive(Debug, Default)]
pub struct Exposition {
    pub series: BTreeMap<String, Vec<(Labels, f64)>>,
    pub types: BTreeMap<String, String>,
    pub helps: BTreeMap<String, String>,
}

pub fn parse(text: &str) -> Exposition {
    let mut s = Exposition::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            s.types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            s.helps.insert(name.to_owned(), help.to_owned());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (head, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value.parse().unwrap_or(f64::NAN);
        let (name, labels) = match head.split_once('{') {
            None => (head, BTreeMap::new()),
            Some((name, rest)) => (name, labels(rest.strip_suffix('}').unwrap())),
        };
        let family = s.series.entry(name.to_owned()).or_default();
        // Prometheus keeps one of two series with the same labels and
        // drops the other unseen: an exposition must never have them.
        assert!(
            !family.iter().any(|(l, _)| *l == labels),
            "a series served twice: {name}{labels:?}"
        );
        family.push((labels, value));
    }
    s
}

/// `a="x",b="y"` (values without escapes in what these exporters write
/// here, but for `\"` and `\\`).
pub fn labels(mut text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    while let Some((name, rest)) = text.split_once("=\"") {
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let mut end = rest.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(if n == 'n' { '\n' } else { n });
                    }
                }
                '"' => {
                    end = i;
                    break;
                }
                c => value.push(c),
            }
        }
        out.insert(name.trim_start_matches(',').to_owned(), value);
        text = &rest[(end + 1).min(rest.len())..];
    }
    out
}
