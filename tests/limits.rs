//! Limits and hostile input against the real server: connection caps,
//! idle and send timeouts, slow headers, floods, and malformed frames, each
//! with a bounded, clean outcome.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::time::{Duration, Instant};

use common::{Server, Ws, ask, json};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};

/// Waits up to `within` for `done`, checking every 20 ms.
async fn eventually(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < within {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

/// True when the server has closed `s` (EOF or reset) within `within`.
async fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let t0 = Instant::now();
    loop {
        let left = within.saturating_sub(t0.elapsed());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// A WebSocket handshake by hand, for frames a client library will not send.
async fn raw_upgrade(server: &Server) -> TcpStream {
    raw_upgrade_on(TcpStream::connect(server.addr).await.unwrap()).await
}

/// The same handshake on a connected socket.
async fn raw_upgrade_on(mut s: TcpStream) -> TcpStream {
    s.write_all(
        b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(
        String::from_utf8_lossy(&head).starts_with("HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// A masked client frame (`opcode` 1: text), payload under 126 bytes.
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mask = [7u8, 1, 3, 9];
    let mut f = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

#[tokio::test]
async fn over_the_connection_cap_an_upgrade_gets_503_and_the_rest_carry_on() {
    let server = Server::start(&["--max-connections", "2"]).await;
    let mut a = server.ws().await;
    let mut b = server.ws().await;
    match tokio_tungstenite::connect_async(server.url("/ws")).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                .into_owned();
            assert!(body.contains("--max-connections"), "{body}");
        }
        other => panic!("a third session must be refused with 503, got {other:?}"),
    }
    let (status, _) = server.http_get("/healthz", &[]).await;
    assert_eq!(status, 200, "/healthz answers at the cap");
    // An operator sees the cap biting.
    let (_, metrics) = server.http_get("/metrics", &[]).await;
    for series in [
        "sonde_websocket_sessions 2",
        "sonde_websocket_sessions_limit 2",
        "sonde_connections_refused_total{reason=\"websocket_cap\"} 1",
        "sonde_connections_refused_total{reason=\"connection_limit\"} 0",
    ] {
        assert!(metrics.contains(series), "no {series} in:\n{metrics}");
    }
    assert!(json(&ask(&mut a, "get_metrics").await)["cpu_total"].is_number());
    assert!(json(&ask(&mut b, "get_metrics").await)["cpu_total"].is_number());

    // A session that ends gives its place back.
    a.close(None).await.unwrap();
    drop(a);
    let admission = server.admission.clone();
    assert!(
        eventually(Duration::from_secs(5), || admission
            .sessions
            .available_permits()
            == 1)
        .await
    );
    let mut c = server.ws().await;
    assert!(json(&ask(&mut c, "get_disks").await).is_array());
}

#[tokio::test]
async fn a_silent_client_that_answers_pings_stays_and_one_that_does_not_is_dropped() {
    let server = Server::start(&["--idle-timeout-ms", "200"]).await;

    // This one never reads, so it never answers the server's ping.
    let mut deaf = server.ws().await;
    // This one reads (tungstenite answers pings while reading) but sends
    // nothing of its own for over twice the idle timeout.
    let mut quiet = server.ws().await;
    let listening = tokio::spawn(async move {
        let mut pings = 0;
        let until = tokio::time::Instant::now() + Duration::from_millis(900);
        while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(until, quiet.next()).await {
            if msg.is_ping() {
                pings += 1;
            }
        }
        (quiet, pings)
    });
    tokio::time::sleep(Duration::from_millis(900)).await;
    let (mut quiet, pings) = listening.await.unwrap();
    assert!(pings >= 1, "the server pings a silent client");
    assert!(json(&ask(&mut quiet, "get_metrics").await)["cpu_total"].is_number());

    // The deaf one was closed with 1008.
    let mut close = None;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(2), deaf.next()).await {
        if let Message::Close(frame) = msg {
            close = frame;
            break;
        }
    }
    let close = close.expect("a close frame for the silent client");
    assert_eq!(u16::from(close.code), 1008, "{close:?}");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_not_buffered() {
    let server = Server::start(&["--send-timeout-ms", "300"]).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(server.addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(server.url("/ws"), tcp)
        .await
        .unwrap();
    let admission = server.admission.clone();
    let before = admission.sessions.available_permits();
    // Ask for process lists, never read one; the server's sends back up.
    let mut sent = 0;
    for _ in 0..20_000 {
        match tokio::time::timeout(
            Duration::from_millis(200),
            ws.send(Message::Text("get_processes".into())),
        )
        .await
        {
            Ok(Ok(())) => sent += 1,
            _ => break,
        }
    }
    assert!(sent > 10, "requests went out: {sent}");
    assert!(
        eventually(Duration::from_secs(10), || admission
            .sessions
            .available_permits()
            == before + 1)
        .await,
        "the session is dropped once a reply is not taken within the send timeout"
    );
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let server = Server::start(&["--header-timeout-ms", "300"]).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    assert!(
        closed_by_server(&mut s, Duration::from_secs(5)).await,
        "a request whose headers never end is closed"
    );
    // A kept-alive connection that asks nothing more goes the same way.
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    assert!(
        closed_by_server(&mut s, Duration::from_secs(5)).await,
        "an idle keep-alive connection is closed"
    );
}

/// Slow headers on every slot from one address, reconnecting whenever one
/// is dropped, left `/healthz` answering 1 probe in 60: the header timeout
/// only made the attacker reconnect. One address now holds its share of
/// the slots (and fewer still sending headers), and everyone else is served.
#[tokio::test]
async fn regression_one_address_could_take_every_connection_slot() {
    let server = Server::start(&["--max-connections", "8", "--header-timeout-ms", "500"]).await;
    let addr = server.addr;
    let attack = tokio::spawn(async move {
        let mut held: Vec<TcpStream> = Vec::new();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(4) {
            // Top up to 200 slow connections from 127.0.0.2, dropping
            // those the server closed.
            let mut open = Vec::new();
            for mut s in held.drain(..) {
                let mut byte = [0u8; 1];
                match tokio::time::timeout(Duration::from_millis(1), s.read(&mut byte)).await {
                    Ok(Ok(0) | Err(_)) => {}
                    _ => open.push(s),
                }
            }
            held = open;
            while held.len() < 200 {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
                let Ok(mut s) = socket.connect(addr).await else {
                    break;
                };
                let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
                held.push(s);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut served = 0;
    for _ in 0..60 {
        let probe = tokio::time::timeout(
            Duration::from_secs(2),
            common::http_get(addr, "/healthz", &[]),
        )
        .await;
        if matches!(probe, Ok((200, _))) {
            served += 1;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    attack.await.unwrap();
    assert_eq!(served, 60, "loopback probes served under the attack");
    let refused = server
        .admission
        .refused(sonde::server::listener::Refusal::AddressLimit);
    assert!(
        refused > 0,
        "the attacker's connections over its share are refused and counted"
    );
    let (open, pending) = server
        .admission
        .per_address
        .held("127.0.0.2".parse().unwrap());
    assert!(
        open <= 32 && pending <= 32 / sonde::server::listener::PENDING_SHARE,
        "{open} {pending}"
    );
}

#[tokio::test]
async fn thousands_of_half_open_connections_stay_within_the_cap_and_then_go() {
    sonde::raise_fd_limit();
    // All from one address: its share is lifted so that the global cap is
    // what holds them (the per-address share has its own test).
    let server = Server::start(&[
        "--max-connections",
        "4",
        "--header-timeout-ms",
        "500",
        "--max-connections-per-address",
        "65536",
    ])
    .await;
    let cap = server.admission.fd_budget.connections;
    assert_eq!(cap, 4 + sonde::budget::HTTP_HEADROOM);
    // Two descriptors per connection in this process (client and server
    // side): stay well inside the limit the test runs under.
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(4096);
    let n = 2000.min((limit.saturating_sub(256) / 2) as usize);
    assert!(n > cap * 2, "too few descriptors ({limit}) for this test");
    let mut sockets = Vec::new();
    for _ in 0..n {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        sockets.push(s);
    }
    let mut open = 0;
    for s in &mut sockets {
        if !closed_by_server(s, Duration::from_millis(5)).await {
            open += 1;
        }
    }
    assert!(open <= cap, "{open} connections held, the cap is {cap}");
    let refused = server
        .admission
        .refused(sonde::server::listener::Refusal::ConnectionLimit);
    assert!(refused > 0, "the connections over the cap are counted");
    // The header timeout frees them all; then the server answers again.
    let slots = server.admission.tcp_slots.clone();
    assert!(eventually(Duration::from_secs(10), || slots.available_permits() == cap).await);
    let (status, _) = server.http_get("/healthz", &[]).await;
    assert_eq!(status, 200);
    let mut ws = server.ws().await;
    assert!(json(&ask(&mut ws, "get_metrics").await)["cpu_total"].is_number());
}

#[tokio::test]
async fn a_ping_flood_is_answered_without_growing_and_requests_still_work() {
    let server = Server::start(&[]).await;
    let mut ws: Ws = server.ws().await;
    for i in 0..20_000u32 {
        ws.feed(Message::Ping(i.to_be_bytes().to_vec().into()))
            .await
            .unwrap();
    }
    ws.flush().await.unwrap();
    assert!(json(&ask(&mut ws, "get_metrics").await)["cpu_total"].is_number());
}

/// A process's resident memory, from `/proc/PID/status`.
fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A client that sent 125-byte pings as fast as it could and never read
/// took the agent from 7.5 MB to 650 MB of RSS in 2.5 s: every pong was
/// queued in the WebSocket layer's write buffer. The agent (its own
/// process, so its RSS is its own) now sends each pong before reading on:
/// the flood is held back by TCP, memory stays flat, and the client is
/// dropped once a pong is not taken within the send timeout.
#[tokio::test]
async fn regression_a_ping_flood_from_a_client_that_never_reads_grew_memory_without_bound() {
    let (server, port) = common::listening(&["--send-timeout-ms", "2000"]);
    let pid = server.0.id();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let s = raw_upgrade_on(socket.connect(addr).await.unwrap()).await;
    let (_read_half_never_read, mut write) = s.into_split();
    let before = rss_bytes(pid);
    let ping = client_frame(9, &[b'p'; 125]);
    let burst: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 512)
        .collect();
    let t0 = Instant::now();
    let (mut peak, mut sent, mut closed) = (before, 0usize, false);
    while t0.elapsed() < Duration::from_secs(8) {
        match tokio::time::timeout(Duration::from_millis(100), write.write_all(&burst)).await {
            Ok(Ok(())) => sent += 512,
            Ok(Err(_)) => closed = true,
            Err(_) => {}
        }
        peak = peak.max(rss_bytes(pid));
        if closed {
            break;
        }
    }
    assert!(sent > 10_000, "the flood went out: {sent} pings");
    let grown = peak.saturating_sub(before);
    assert!(
        grown < 16 << 20,
        "RSS grew by {} MiB under the flood ({} MiB before, {sent} pings)",
        grown >> 20,
        before >> 20
    );
    // The agent answers others all along.
    let (status, _) = common::http_get(addr, "/healthz", &[]).await;
    assert_eq!(status, 200);
    assert!(closed, "the client that never read was dropped");
}

#[tokio::test]
async fn deeply_nested_json_gets_an_error_and_the_connection_stays_usable() {
    let server = Server::start(&[]).await;
    let mut ws = server.ws().await;
    let nested = format!("{{\"type\":{}", "[".repeat(60_000));
    let reply = json(&ask(&mut ws, &nested).await);
    assert!(reply["error"].is_string(), "{reply}");
    assert!(json(&ask(&mut ws, "get_metrics").await)["cpu_total"].is_number());
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    let server = Server::start(&[]).await;
    let mut s = raw_upgrade(&server).await;
    s.write_all(&client_frame(1, b"get_\xff\xfemetrics"))
        .await
        .unwrap();
    let mut head = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut head))
        .await
        .expect("a close frame within 5 s")
        .unwrap();
    assert_eq!(head[0], 0x88, "a close frame");
    assert_eq!(u16::from_be_bytes([head[2], head[3]]), 1007);
}

#[tokio::test]
async fn a_request_smuggled_behind_conflicting_lengths_is_not_answered() {
    let server = Server::start(&["--token", "a-long-enough-secret-token"]).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    // Content-Length and Transfer-Encoding disagree about where the first
    // request ends; a second request hides in the difference.
    s.write_all(
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\
          Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n\
          GET /api/metrics HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(
        !text.contains("cpu_total"),
        "no host data without the token: {text}"
    );
    // The first is answered and the connection closed: what hid behind it
    // is never read as a request.
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    assert!(text.contains("connection: close"), "{text}");
}
