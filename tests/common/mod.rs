//! Test helpers: start the real server in-process on port 0 and talk to it
//! over loopback with a real WebSocket (tokio-tungstenite) or HTTP client.
#![allow(dead_code)] // each test binary uses a different subset
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

pub mod gpu_fixture;
pub mod prom;

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use sonde::config::Config;
use sonde::model::pb;
use sonde::server::listener::Admission;
use sonde::state::AppState;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A server running in this process.
pub struct Server {
    pub addr: SocketAddr,
    /// Its state, for counters a test checks.
    pub state: Arc<AppState>,
    /// Its admission (slots, sessions, refusals).
    pub admission: Arc<Admission>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), sonde::server::ServerError>>,
}

impl Server {
    /// Starts sonde on 127.0.0.1:0 with extra flags (no environment).
    pub async fn start(args: &[&str]) -> Server {
        Server::start_on("127.0.0.1:0", args).await
    }

    /// The same on a given address (a server started again where one was).
    pub async fn start_on(address: &str, args: &[&str]) -> Server {
        Server::start_serving(address, args, sonde::table::KINDS).await
    }

    /// Starts sonde serving the kinds of `table` (a test's own among them).
    pub async fn start_serving(
        address: &str,
        args: &[&str],
        table: &'static [&'static sonde::state::Kind],
    ) -> Server {
        let argv = ["sonde", "--bind", "127.0.0.1"].iter().chain(args);
        let config = Config::parse_with(argv, |_| None).expect("test flags parse");
        if config.tls.enabled {
            // Make the certificate before serving, so a test can pin it at once
            // (the server loads the same pair when it starts).
            sonde::server::tls::setup(&config).expect("TLS set-up");
        }
        let listener = TcpListener::bind(address).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let state = AppState::new(config, table);
        let admission = Admission::new(&state.config.limits, state.fd_budget());
        let task = tokio::spawn(sonde::server::serve(
            listener,
            state.clone(),
            admission.clone(),
            async {
                let _ = rx.await;
            },
        ));
        Server {
            addr,
            state,
            admission,
            stop: Some(tx),
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    /// Opens a WebSocket on `/ws`.
    pub async fn ws(&self) -> Ws {
        self.ws_at("/ws").await
    }

    pub async fn ws_at(&self, path: &str) -> Ws {
        let (ws, _) = tokio_tungstenite::connect_async(self.url(path))
            .await
            .expect("websocket connects");
        ws
    }

    /// Signals shutdown and waits for `run` to return.
    pub async fn stop(mut self) -> Result<(), sonde::server::ServerError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await.expect("server task")
    }

    /// Sends shutdown without waiting.
    pub fn signal_stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    pub async fn join(self) -> Result<(), sonde::server::ServerError> {
        self.task.await.expect("server task")
    }

    /// A plain HTTP/1.1 GET; returns (status, headers+body text).
    pub async fn http_get(&self, path_and_query: &str, headers: &[(&str, &str)]) -> (u16, String) {
        http_get(self.addr, path_and_query, headers).await
    }
}

pub async fn http_get(
    addr: SocketAddr,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req =
        format!("GET {path_and_query} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("HTTP reply within 5 s")
        .unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    (status, text)
}

/// A reply frame as received.
#[derive(Debug, Clone)]
pub enum Reply {
    Text(String),
    Binary(Vec<u8>),
    Close(Option<u16>),
}

/// Sends one text frame and returns the next data or close frame.
pub async fn ask(ws: &mut Ws, text: &str) -> Reply {
    ws.send(Message::Text(text.into())).await.unwrap();
    next_reply(ws).await
}

/// The next data or close frame (pings/pongs skipped), within 10 s.
pub async fn next_reply(ws: &mut Ws) -> Reply {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a reply within 10 s")
            .expect("stream open")
            .expect("no protocol error");
        match msg {
            Message::Text(t) => return Reply::Text(t.to_string()),
            Message::Binary(b) => return Reply::Binary(b.to_vec()),
            Message::Close(c) => return Reply::Close(c.map(|c| u16::from(c.code))),
            _ => continue,
        }
    }
}

pub fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

fn is_gzip(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b
}

/// The JSON of a reply, checking the 768-byte rule on the way.
pub fn json(reply: &Reply) -> serde_json::Value {
    let text = match reply {
        Reply::Text(t) => {
            assert!(
                t.len() <= 768,
                "text JSON reply over 768 bytes: {}",
                t.len()
            );
            t.clone()
        }
        Reply::Binary(b) => {
            assert!(is_gzip(b), "binary JSON reply must be gzip");
            let raw = gunzip(b);
            assert!(raw.len() > 768, "gzip'd JSON of only {} bytes", raw.len());
            String::from_utf8(raw).unwrap()
        }
        Reply::Close(c) => panic!("expected JSON, got close {c:?}"),
    };
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON {e}: {text}"))
}

/// The processes protobuf of a reply, checking the gzip rule on the way.
pub fn processes(reply: &Reply) -> pb::Processes {
    let Reply::Binary(b) = reply else {
        panic!("processes reply must be binary, got {reply:?}")
    };
    let raw = if is_gzip(b) {
        let raw = gunzip(b);
        assert!(
            raw.len() > 768,
            "gzip'd protobuf of only {} bytes",
            raw.len()
        );
        raw
    } else {
        assert!(b.len() <= 768, "protobuf of {} bytes not gzip'd", b.len());
        b.clone()
    };
    pb::Processes::decode(raw.as_slice()).expect("valid protobuf")
}

/// A process spinning on one core until dropped.
pub struct Spinner(pub std::process::Child);

impl Spinner {
    /// A busy loop in a child process.
    pub fn start() -> Spinner {
        Spinner(
            std::process::Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .expect("sh runs"),
        )
    }
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Logical CPUs online.
pub fn ncpu() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Says that a test skipped part of itself, on the real stderr: the test
/// harness captures `eprintln!`, and a skip must be seen in CI's log.
pub fn skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{why}");
    // `cargo test` counts a skipped test as passed and shows no output of
    // passing tests: each skip is also listed in one file, which `.ci/run`
    // empties before the run and prints after it.
    if let Ok(mut list) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(skipped_list())
    {
        let _ = writeln!(list, "{why}");
    }
}

/// Where the skips of a test run are listed.
pub fn skipped_list() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped-tests.txt")
}

/// A child process killed when the test ends, passed or not.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port (there is a small window before a child binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The Docker container of [`docker_host`].
pub const DOCKER_ID: &str = "4f3c2b1a09e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2";

/// A cgroup at `path` under the fixture sysfs `root`, with `files`.
pub fn cgroup(root: &Path, path: &str, files: &[(&str, &str)]) {
    let dir = root.join("fs/cgroup").join(path.trim_start_matches('/'));
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
}

/// The AMD desktop fixture's sysfs (a GPU, fans, temperatures) copied
/// under `dir`, with [`docker_host`]'s cgroups added; returns the sys root.
pub fn amd_desktop_with_containers(dir: &Path) -> std::path::PathBuf {
    let sys = dir.join("sys");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hosts/amd_desktop/sys"))
        .arg(&sys)
        .status()
        .unwrap();
    assert!(copied.success());
    docker_host(&sys);
    sys
}

/// Docker on systemd with nginx beside it: a sys root (cgroup v2) with
/// only cgroups.
pub fn docker_host(sys: &Path) {
    cgroup(
        sys,
        "/",
        &[("cgroup.controllers", "cpuset cpu io memory pids\n")],
    );
    cgroup(
        sys,
        &format!("/system.slice/docker-{DOCKER_ID}.scope"),
        &[
            (
                "cpu.stat",
                "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 2\nthrottled_usec 1500\n",
            ),
            ("memory.current", "52428800\n"),
            ("memory.max", "536870912\n"),
            ("pids.current", "4\n"),
            (
                "io.stat",
                "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
            ),
        ],
    );
    cgroup(
        sys,
        "/system.slice/nginx.service",
        &[
            (
                "cpu.stat",
                "usage_usec 1000\nuser_usec 600\nsystem_usec 400\n",
            ),
            ("memory.current", "1048576\n"),
            ("memory.max", "max\n"),
            ("pids.current", "2\n"),
        ],
    );
}

/// The sonde binary, without the `SONDE_`/`SOCKTOP_` variables of the
/// environment the tests run in.
pub fn sonde() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sonde"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SONDE_") || k.starts_with("SOCKTOP_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Starts sonde on 127.0.0.1 port 0 and returns it with the port it logged:
/// a port picked beforehand can be taken by another test's socket before the
/// child binds it, which failed CI once.
pub fn listening(args: &[&str]) -> (Killed, String) {
    use std::io::BufRead;
    let mut server = Killed(
        sonde()
            .args(args)
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = std::io::BufReader::new(server.0.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let port = loop {
        let Some(Ok(line)) = lines.next() else {
            panic!("sonde exited before listening:\n{}", seen.join("\n"));
        };
        if let Some(rest) = line.split("listening on 127.0.0.1:").nth(1) {
            break rest
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>();
        }
        seen.push(line);
    };
    // Keeps the pipe drained so the server never blocks on its log.
    std::thread::spawn(move || lines.for_each(drop));
    (server, port)
}

/// The SHA-256 fingerprint (as `sonde tls show` prints it) of the
/// certificate the TLS server at `addr` presents.
pub fn served_fingerprint(addr: &str) -> String {
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    let der = sonde::ops::tls_handshake(tcp).unwrap();
    sonde::server::tls::fingerprint(&der)
}

/// Runs `program` with `input` on its standard input; `None` where it
/// cannot be started (not installed).
pub fn piped(
    program: &std::path::Path,
    args: &[&str],
    input: &str,
) -> Option<std::process::Output> {
    use std::io::Write;
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(input.as_bytes()).ok()?;
    child.wait_with_output().ok()
}

/// A child that sends [`NetSender::BYTES`] over loopback TCP when told,
/// from its own process (bash's `/dev/tcp` and `printf`), then keeps its
/// connection open; the test's listener counts what arrives.
pub struct NetSender {
    /// The child.
    pub child: Killed,
    dir: tempfile::TempDir,
    /// The listener's address (the child's connection's remote end).
    pub listener: SocketAddr,
    received: Arc<std::sync::atomic::AtomicU64>,
}

impl NetSender {
    /// The bytes it sends.
    pub const BYTES: f64 = 8.0 * 1024.0 * 1024.0;

    /// Starts it, connected and waiting to be told.
    pub fn start() -> NetSender {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let at = listener.local_addr().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let child = Killed(
            std::process::Command::new("bash")
                .args([
                    "-c",
                    r#"exec 3<>"/dev/tcp/127.0.0.1/$PORT"
while [ ! -e "$D/go" ]; do sleep 0.05; done
for i in $(seq 128); do printf '%65536s' '' >&3; done
exec sleep 60"#,
                ])
                .env("D", dir.path())
                .env("PORT", at.port().to_string())
                .spawn()
                .unwrap(),
        );
        // Accepted within 10 s, or the child could not connect.
        listener.set_nonblocking(true).unwrap();
        let t0 = std::time::Instant::now();
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        t0.elapsed() < Duration::from_secs(10),
                        "the sender never connected"
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        let received = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = Arc::clone(&received);
        std::thread::spawn(move || {
            let mut stream = stream;
            let mut buf = vec![0u8; 1 << 16];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                counted.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
            }
        });
        NetSender {
            child,
            dir,
            listener: at,
            received,
        }
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Tells it to send, and waits (10 s at most) until every byte has
    /// arrived.
    pub async fn send(&self) {
        std::fs::write(self.dir.path().join("go"), "").unwrap();
        let t0 = std::time::Instant::now();
        let all = Self::BYTES as u64;
        let arrived = || self.received.load(std::sync::atomic::Ordering::Relaxed);
        while arrived() < all && t0.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(arrived(), all, "the sender did not finish");
        // Its last acknowledgements come back within a round trip.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A child that, once told, writes 8 MiB to a file on disk from its own
/// process (bash's `printf`, so the bytes are its own in `/proc/PID/io`),
/// then sleeps; in a directory of the target's, on disk (tmpfs accounts
/// no write bytes).
pub struct DiskWriter {
    /// The child.
    pub child: Killed,
    dir: tempfile::TempDir,
}

impl DiskWriter {
    /// The bytes it writes.
    pub const BYTES: f64 = 8.0 * 1024.0 * 1024.0;

    /// Starts it, waiting to be told.
    pub fn start() -> DiskWriter {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let child = Killed(
            std::process::Command::new("bash")
                .args([
                    "-c",
                    r#"while [ ! -e "$D/go" ]; do sleep 0.05; done
for i in $(seq 128); do printf '%65536s' '' >> "$D/written"; done
: > "$D/done"
exec sleep 60"#,
                ])
                .env("D", dir.path())
                .spawn()
                .unwrap(),
        );
        DiskWriter { child, dir }
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Tells it to write, and waits (10 s at most) until it has.
    pub async fn write(&self) {
        std::fs::write(self.dir.path().join("go"), "").unwrap();
        let done = self.dir.path().join("done");
        let t0 = std::time::Instant::now();
        while !done.exists() && t0.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(done.exists(), "the writer did not finish");
    }
}
