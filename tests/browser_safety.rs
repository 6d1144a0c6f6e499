//! Safe next to a browser: a page from another origin, or one reached
//! through DNS rebinding, reads nothing; non-browser clients under any
//! name are unaffected; wrong tokens from one address are slowed; and
//! `--redact` withholds command lines. Raw requests carry exactly the
//! headers Chromium sends (the Chromium test is in `browser.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

/// The agent's `/metrics` as its operator reads them, with `token`, from
/// `from` (an address the test did not slow down).
async fn counters_from(from: &str, server: &Server, token: &str) -> String {
    let host = server.addr.to_string();
    let path = format!("/metrics?token={token}");
    get_from(from, server.addr, &path, &[("Host", &host)])
        .await
        .1
}

/// One GET from `from` with exactly `headers` (Host included); the status
/// and the whole reply.
async fn get_from(
    from: &str,
    to: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut s = socket.connect(to).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| *k == "Connection") {
        req.push_str("Connection: close\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    // An upgrade request keeps the socket open whatever the answer: read
    // until the reply is complete rather than until the socket closes.
    let read = async {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = s.read(&mut buf).await {
            out.extend_from_slice(&buf[..n]);
            if complete(&out) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// True once `reply` holds a whole response: a 101's headers, or headers
/// and as much body as `Content-Length` says.
fn complete(reply: &[u8]) -> bool {
    let Some(end) = reply.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&reply[..end]).to_ascii_lowercase();
    if head.starts_with("http/1.1 101") {
        return true;
    }
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .is_some_and(|n| reply.len() >= end + 4 + n)
}

async fn get(server: &Server, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    get_from("127.0.0.1", server.addr, path, headers).await
}

const UPGRADE: [(&str, &str); 4] = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
];

/// Every surface with data, as a path and extra headers (the WebSocket's
/// upgrade ones).
fn surfaces() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        ("/ws", UPGRADE.to_vec()),
        ("/api/processes", vec![]),
        ("/api/processes/1", vec![]),
        ("/api/history/metrics", vec![]),
        ("/api/4/cpu/history", vec![]),
        ("/metrics", vec![]),
        ("/", vec![]),
    ]
}

#[tokio::test]
async fn a_foreign_origin_reads_nothing_with_or_without_a_token() {
    for args in [&[][..], &["--token", "origin-test-token"][..]] {
        let server = Server::start(args).await;
        let own = server.addr.to_string();
        let token = if args.is_empty() {
            ""
        } else {
            "?token=origin-test-token"
        };
        for (path, extra) in surfaces() {
            let path = format!("{path}{token}");
            let mut headers = vec![("Host", own.as_str()), ("Origin", "http://evil.example")];
            headers.extend(extra.iter().copied());
            let (status, body) = get(&server, &path, &headers).await;
            assert_eq!(status, 403, "{path}: {body}");
            assert!(body.contains("--cors-origin"), "{body}");
            assert!(!body.contains("cpu_total") && !body.contains("process_count"));
        }
        // The agent's own origin is served, and so is a request without one.
        let origin = format!("http://{own}");
        let (status, _) = get(
            &server,
            &format!("/api/host{token}"),
            &[("Host", &own), ("Origin", &origin)],
        )
        .await;
        assert_eq!(status, 200);
        let (status, _) = get(
            &server,
            &format!("/ws{token}"),
            &[&[("Host", own.as_str())][..], &UPGRADE].concat(),
        )
        .await;
        assert_eq!(status, 101, "a client without Origin upgrades");
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_rebound_host_name_reads_nothing_and_a_dns_alias_needs_a_token_or_an_allowed_name() {
    for args in [&[][..], &["--token", "rebind-test-token"][..]] {
        let server = Server::start(args).await;
        let token = if args.is_empty() {
            ""
        } else {
            "?token=rebind-test-token"
        };
        let evil = format!("evil.example:{}", server.addr.port());
        let evil_origin = format!("http://{evil}");
        for (path, extra) in surfaces() {
            let path = format!("{path}{token}");
            // What Chromium sends after rebinding: same-origin, so Origin
            // matches Host (on the upgrade) or is absent (a navigation),
            // with Sec-Fetch-* either way.
            let mut headers = vec![
                ("Host", evil.as_str()),
                ("Sec-Fetch-Mode", "cors"),
                ("Sec-Fetch-Site", "same-origin"),
            ];
            if path.starts_with("/ws") {
                headers.push(("Origin", &evil_origin));
            }
            headers.extend(extra.iter().copied());
            let (status, body) = get(&server, &path, &headers).await;
            assert_eq!(status, 421, "{path}: {body}");
            assert!(body.contains("--allowed-host"), "{body}");
        }
        // A script or Prometheus reaching the agent by an alias: served
        // where a token protects it (a rebound page cannot present it);
        // without one, only under the names the agent knows, since a page
        // can pass for a script (Firefox lets it set User-Agent).
        let want = if args.is_empty() { 421 } else { 200 };
        let alias = format!("sonde-alias.internal:{}", server.addr.port());
        for agent in ["curl/8.5.0", "Prometheus/2.53.0", "python-requests/2.31"] {
            let headers = [("Host", alias.as_str()), ("User-Agent", agent)];
            let (status, body) = get(&server, &format!("/api/host{token}"), &headers).await;
            assert_eq!(status, want, "{agent}: {body}");
        }
        let (status, _) = get(
            &server,
            &format!("/ws{token}"),
            &[&[("Host", alias.as_str())][..], &UPGRADE].concat(),
        )
        .await;
        assert_eq!(status, if args.is_empty() { 421 } else { 101 });
        // The names it knows are served to anyone; /healthz under any name.
        let hostname = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        for host in [
            server.addr.to_string(),
            format!("localhost:{}", server.addr.port()),
            format!("{hostname}:{}", server.addr.port()),
        ] {
            let (status, body) = get(
                &server,
                &format!("/api/host{token}"),
                &[("Host", &host), ("User-Agent", "curl/8.5.0")],
            )
            .await;
            assert_eq!(status, 200, "{host}: {body}");
        }
        let (status, _) = get(&server, "/healthz", &[("Host", &alias)]).await;
        assert_eq!(status, 200);
        server.stop().await.unwrap();
    }
    // A name the operator allows is served to browsers and scripts.
    let server = Server::start(&["--allowed-host", "dash.example"]).await;
    let host = format!("dash.example:{}", server.addr.port());
    for headers in [
        &[("Host", host.as_str()), ("Sec-Fetch-Mode", "cors")][..],
        &[("Host", host.as_str()), ("User-Agent", "Prometheus/2.53.0")][..],
    ] {
        let (status, _) = get(&server, "/api/host", headers).await;
        assert_eq!(status, 200);
    }
    server.stop().await.unwrap();
}

/// Firefox lets a page's `fetch` set `User-Agent`, and over plain HTTP a
/// same-origin GET carries neither `Origin` nor `Sec-Fetch-*`: a rebound
/// page passed for a script and read a token-less agent's processes with
/// their command lines (the real Firefox test is in `rebinding.rs`).
#[tokio::test]
async fn regression_a_rebound_fetch_with_a_forged_user_agent_read_a_token_less_agent() {
    let server = Server::start(&[]).await;
    let evil = format!("evil.example:{}", server.addr.port());
    for path in ["/api/processes", "/api/processes/1", "/metrics", "/"] {
        let headers = [("Host", evil.as_str()), ("User-Agent", "curl/8.5.0")];
        let (status, body) = get(&server, path, &headers).await;
        assert_eq!(status, 421, "{path}: {body}");
        assert!(!body.contains("\"pid\""), "{body}");
    }
    server.stop().await.unwrap();
}

/// Over plain HTTP to a name that is not `localhost`, Chromium's
/// same-origin GET after rebinding carries neither `Origin` nor
/// `Sec-Fetch-*`: the host check first missed it, and the page and `/api`
/// were served to the rebound name (found by the Chromium test). Its
/// `Mozilla/` user agent gives it away.
#[tokio::test]
async fn regression_a_rebound_get_without_origin_or_sec_fetch_was_served() {
    let chromium = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
    for (args, token) in [
        (&[][..], ""),
        (
            &["--token", "rebind-ua-token"][..],
            "?token=rebind-ua-token",
        ),
    ] {
        let server = Server::start(args).await;
        let evil = format!("evil.example:{}", server.addr.port());
        for path in ["/api/processes", "/metrics", "/"] {
            let path = format!("{path}{token}");
            let headers = [("Host", evil.as_str()), ("User-Agent", chromium)];
            let (status, _) = get(&server, &path, &headers).await;
            assert_eq!(status, 421, "{path}");
        }
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_burst_of_wrong_tokens_is_slowed_and_a_good_client_elsewhere_is_not() {
    let server = Server::start(&["--token", "throttle-test-token"]).await;
    let host = server.addr.to_string();
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let (status, _) = get_from(
            "127.0.0.3",
            server.addr,
            "/api/host?token=guess",
            &[("Host", &host)],
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(&statuses[..10], &[401; 10], "{statuses:?}");
    assert_eq!(&statuses[10..], &[429, 429], "{statuses:?}");
    let (status, reply) = get_from(
        "127.0.0.3",
        server.addr,
        "/api/host?token=throttle-test-token",
        &[("Host", &host)],
    )
    .await;
    assert_eq!(
        status, 429,
        "the address waits out its window, right token or not"
    );
    assert!(
        reply.to_ascii_lowercase().contains("retry-after: "),
        "{reply}"
    );
    let (status, _) = get_from(
        "127.0.0.4",
        server.addr,
        "/api/host?token=throttle-test-token",
        &[("Host", &host)],
    )
    .await;
    assert_eq!(status, 200, "another address is not slowed");
    let metrics = counters_from("127.0.0.4", &server, "throttle-test-token").await;
    assert!(
        metrics.contains("sonde_auth_failures_total 10"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sonde_requests_refused_total{reason=\"throttled\"} 3"),
        "{metrics}"
    );
    server.stop().await.unwrap();
}

/// Ten `<img src=http://AGENT/api/metrics>` on any page the operator
/// visited counted as failed tokens, and the operator's own right token
/// then got 429 for a minute, renewable every minute; `/healthz` answered
/// 429 too. Now a missing token does not count, another site's request is
/// refused before its token is looked at, a wrong token whose `Referer` is
/// another site's page does not count, and `/healthz` is never throttled.
#[tokio::test]
async fn regression_any_web_page_could_lock_the_operator_out() {
    let server = Server::start(&["--token", "lockout-test-token"]).await;
    let host = server.addr.to_string();
    let chromium = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
    let from = "127.0.0.5";
    for _ in 0..12 {
        // An <img> to the agent by its address over plain HTTP: no token.
        let img = [
            ("Host", host.as_str()),
            ("User-Agent", chromium),
            ("Accept", "image/avif,image/webp,*/*"),
        ];
        let (status, _) = get_from(from, server.addr, "/api/metrics", &img).await;
        assert_eq!(status, 401);
        // One the browser marks as another site's, with a made-up token.
        let marked = [
            ("Host", host.as_str()),
            ("User-Agent", chromium),
            ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Mode", "no-cors"),
            ("Sec-Fetch-Dest", "image"),
        ];
        let (status, body) = get_from(from, server.addr, "/api/metrics?token=x", &marked).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("cross-site"), "{body}");
        // One whose Referer is another site's page, with a made-up token.
        let referred = [
            ("Host", host.as_str()),
            ("User-Agent", chromium),
            ("Referer", "http://evil.example/"),
        ];
        let (status, _) = get_from(from, server.addr, "/api/metrics?token=x", &referred).await;
        assert_eq!(status, 401);
    }
    let (status, _) = get_from(
        from,
        server.addr,
        "/api/host?token=lockout-test-token",
        &[("Host", &host)],
    )
    .await;
    assert_eq!(status, 200, "the operator's right token is served");
    // A real guesser from the same address is still throttled, and its
    // /healthz still answers.
    for _ in 0..10 {
        let (status, _) = get_from(
            from,
            server.addr,
            "/api/host?token=guess",
            &[("Host", &host)],
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, _) = get_from(
        from,
        server.addr,
        "/api/host?token=guess",
        &[("Host", &host)],
    )
    .await;
    assert_eq!(status, 429);
    let (status, body) = get_from(from, server.addr, "/healthz", &[("Host", &host)]).await;
    assert_eq!(status, 200, "/healthz is never throttled: {body}");
    let metrics = counters_from("127.0.0.6", &server, "lockout-test-token").await;
    assert!(
        metrics.contains("sonde_requests_refused_total{reason=\"cross_site\"} 12"),
        "{metrics}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_page_carries_its_security_headers() {
    let server = Server::start(&[]).await;
    let host = server.addr.to_string();
    let (status, reply) = get(&server, "/", &[("Host", &host)]).await;
    assert_eq!(status, 200);
    let lower = reply.to_ascii_lowercase();
    for needle in [
        "content-security-policy: default-src 'none'; script-src 'sha256-",
        &format!("connect-src 'self' ws://{host} wss://{host}; frame-ancestors 'none'"),
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
    ] {
        assert!(
            lower.contains(&needle.to_ascii_lowercase()),
            "{needle} in {reply}"
        );
    }
    assert!(
        reply.contains("history.replaceState"),
        "the page drops the token from its address"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn redact_withholds_command_lines_and_paths() {
    let me = std::process::id();
    for (switch, withheld) in [("off", false), ("on", true)] {
        let server = Server::start(&["--redact", switch]).await;
        let host = server.addr.to_string();
        let (status, reply) =
            get(&server, &format!("/api/processes/{me}"), &[("Host", &host)]).await;
        assert_eq!(status, 200, "{reply}");
        let body = &reply[reply.find("\r\n\r\n").unwrap() + 4..];
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        let p = &v["process"];
        assert_eq!(p["command"].as_str().unwrap().is_empty(), withheld, "{p}");
        assert_eq!(p["executable_path"].is_null(), withheld, "{p}");
        assert_eq!(p["working_directory"].is_null(), withheld, "{p}");
        assert!(!p["name"].as_str().unwrap().is_empty(), "the name stays");
        server.stop().await.unwrap();
    }
}
