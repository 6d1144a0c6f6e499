//! Load and cost harness for any server of the socktop protocol (sonde,
//! socktop_agent), on loopback only.
//!
//!     cargo build --release --example loadgen
//!     L=target/release/examples/loadgen
//!     $L cost --kind processes --requests 200 --server "target/release/sonde --port 3999" \
//!        --url ws://127.0.0.1:3999/ws --server-env SONDE_PROCESSES_TTL_MS=0
//!     $L load --kind processes --connections 16 --seconds 10 --pid 1234
//!     $L idle --clients 100 --seconds 60 --pid 1234
//!     $L cadence --clients 10 --seconds 30 --pid 1234
//!     $L startup --server "target/release/sonde --port 3999" --url ws://127.0.0.1:3999/ws
//!     $L hold --extra-procs 3000          # keep 3,000 idle processes until killed
//!     $L soak --clients 200 --seconds 600 --sigterm --server "target/release/sonde --port 3999" \
//!        --url ws://127.0.0.1:3999/ws    # every kind, both forms; RSS CSV + PNG
//!     $L report results.jsonl             # medians and sonde/socktop ratios
//!
//! Each run prints one JSON line on stdout and a human summary on stderr.
//! Server CPU is read from `/proc/<pid>/task/*/schedstat` (ns on CPU, all
//! threads) and `/proc/<pid>/stat` (utime+stime ticks). Every loop is bounded
//! in count and time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a tool run by hand: failing loudly is its job

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use serde_json::{Value, json};
use sonde::model::pb;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Parser)]
#[command(about = "Load and cost harness for socktop-protocol servers (loopback only)")]
struct Args {
    #[command(subcommand)]
    mode: Mode,
    /// WebSocket URL of the server (loopback).
    #[arg(long, global = true, default_value = "ws://127.0.0.1:3000/ws")]
    url: String,
    /// Request style: `get` (get_metrics…) or `json` ({"type":"metrics"}).
    #[arg(long, global = true, value_enum, default_value_t = Style::Get)]
    style: Style,
    /// PID of an already running server.
    #[arg(long, global = true)]
    pid: Option<u32>,
    /// Start this server command (split on spaces) and stop it afterwards.
    #[arg(long, global = true)]
    server: Option<String>,
    /// KEY=VALUE for the started server's environment (repeatable).
    #[arg(long = "server-env", global = true)]
    server_env: Vec<String>,
    /// Hold this many extra idle processes during the run.
    #[arg(long, global = true, default_value_t = 0)]
    extra_procs: usize,
    /// Name of the server in the JSON line (for `report`).
    #[arg(long, global = true, default_value = "server")]
    name: String,
    /// Name of the scenario in the JSON line (for `report`).
    #[arg(long, global = true, default_value = "")]
    scenario: String,
}

#[derive(Subcommand)]
enum Mode {
    /// Server CPU and RSS over a window with N silent connected clients.
    Idle {
        #[arg(long, default_value_t = 0)]
        clients: usize,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// R sequential requests of one kind on one connection.
    Cost {
        #[arg(long, value_enum)]
        kind: Kind,
        #[arg(long, default_value_t = 1000)]
        requests: usize,
    },
    /// The history's cost: F metrics replies a millisecond apart (the
    /// samples a watcher would have been served; run the server at metrics
    /// TTL 0), then R history replies of all of them, each side's server
    /// CPU and bytes.
    History {
        #[arg(long, default_value_t = 900)]
        fill: usize,
        #[arg(long, default_value_t = 50)]
        requests: usize,
    },
    /// C connections back to back (one request outstanding each) for D s.
    Load {
        #[arg(long, value_enum, default_value_t = Kind::Processes)]
        kind: Kind,
        #[arg(long, default_value_t = 16)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// The socktop TUI's polling (metrics 500 ms, processes 2 s, disks 5 s).
    Cadence {
        #[arg(long, default_value_t = 1)]
        clients: usize,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// Time from starting the server to its first metrics answer.
    Startup,
    /// Hold --extra-procs idle processes until killed.
    Hold,
    /// The round-trip floor of this machine: R request/reply round trips
    /// over plain TCP against `--server`, which must be `loadgen echo`
    /// (optionally behind `taskset`). No server can answer for less.
    Floor {
        #[arg(long, default_value_t = 5000)]
        requests: usize,
    },
    /// The kernel floor of a scrape: the files in FILES (one path per
    /// line, as `scripts/scrape-floor.sh` lists what a scrape reads) kept
    /// open and read back to back with `pread`, R rounds, nothing parsed
    /// or written; this process's CPU per round. A `statfs:PATH` line is a
    /// `statvfs` of PATH instead.
    Reads {
        #[arg(long)]
        files: std::path::PathBuf,
        #[arg(long, default_value_t = 300)]
        requests: usize,
    },
    /// A blocking TCP server that answers every read with REPLY_BYTES bytes
    /// and nothing else; prints its port, serves one connection.
    #[command(hide = true)]
    Echo {
        #[arg(long, default_value_t = 1000)]
        reply_bytes: usize,
    },
    /// R sequential HTTP GETs of PATH on one kept-alive connection
    /// (`--url http://127.0.0.1:PORT`): server CPU per request, for
    /// `/metrics` scrapes and `/api/*` polls, against any HTTP server.
    Http {
        #[arg(long, default_value = "/metrics")]
        path: String,
        #[arg(long, default_value_t = 300)]
        requests: usize,
        /// Hold this many established loopback TCP sockets (half as many
        /// connections, both ends here) while measuring: the load a TCP
        /// state count sees.
        #[arg(long, default_value_t = 0)]
        tcp_sockets: usize,
    },
    /// C clients at the socktop TUI's rates asking every request kind,
    /// half in the get_* form and half in JSON, for D s: errors, lost
    /// replies, and the server's RSS each second (CSV and a PNG plot under
    /// --out). With --sigterm (and --server), the server is sent SIGTERM at
    /// the end while the clients still poll: every one must get 1001 and the
    /// server must exit.
    Soak {
        #[arg(long, default_value_t = 200)]
        clients: usize,
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        #[arg(long, default_value = "target/soak")]
        out: String,
        #[arg(long)]
        sigterm: bool,
    },
    /// Read JSON lines (files or stdin) and print medians and the ratios
    /// of the server named --ours to the one named --peer.
    Report {
        files: Vec<String>,
        #[arg(long, default_value = "socktop")]
        peer: String,
        #[arg(long, default_value = "sonde")]
        ours: String,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum Style {
    Get,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum Kind {
    Metrics,
    Disks,
    Processes,
    /// An unknown request: the error reply, the WebSocket round-trip floor.
    Unknown,
}

impl Kind {
    fn request(self, style: Style) -> &'static str {
        match (self, style) {
            (Kind::Metrics, Style::Get) => "get_metrics",
            (Kind::Disks, Style::Get) => "get_disks",
            (Kind::Processes, Style::Get) => "get_processes",
            (Kind::Metrics, Style::Json) => r#"{"type":"metrics"}"#,
            (Kind::Disks, Style::Json) => r#"{"type":"disks"}"#,
            (Kind::Processes, Style::Json) => r#"{"type":"processes"}"#,
            (Kind::Unknown, Style::Get) => "get_nothing",
            (Kind::Unknown, Style::Json) => r#"{"type":"nothing"}"#,
        }
    }
}

/// Children killed on drop (the server, idle extra processes).
struct Reaper(Vec<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for c in &mut self.0 {
            if let Ok(pid) = i32::try_from(c.id())
                && let Some(pid) = rustix::process::Pid::from_raw(pid)
            {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

fn spawn_extra(n: usize) -> anyhow::Result<Reaper> {
    let mut kids = Vec::with_capacity(n);
    for _ in 0..n {
        kids.push(
            Command::new("sleep")
                .arg("86400")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
    }
    Ok(Reaper(kids))
}

/// Server CPU counters.
#[derive(Clone, Copy, Debug, Default)]
struct Cpu {
    /// Sum of on-CPU ns over live threads.
    sched_ns: u64,
    /// utime + stime, ticks (includes exited threads).
    ticks: u64,
    /// Voluntary + involuntary context switches over live threads (wakeups).
    switches: u64,
}

fn read_cpu(pid: u32) -> Cpu {
    let mut cpu = Cpu::default();
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        && let Ok(st) = sonde::collect::processes::parse_pid_stat(&stat)
    {
        cpu.ticks = st.utime_ticks + st.stime_ticks;
    }
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(s) = std::fs::read_to_string(task.path().join("schedstat")) {
            cpu.sched_ns += s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
        if let Ok(s) = std::fs::read_to_string(task.path().join("status")) {
            for line in s.lines() {
                if line.starts_with("voluntary_ctxt_switches")
                    || line.starts_with("nonvoluntary_ctxt_switches")
                {
                    cpu.switches += line
                        .split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0);
                }
            }
        }
    }
    cpu
}

fn rss_kb(pid: u32) -> u64 {
    status_kb(pid, "VmRSS:")
}

fn self_ticks() -> u64 {
    read_cpu(std::process::id()).ticks
}

fn count_processes() -> usize {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                })
                .count()
        })
        .unwrap_or(0)
}

async fn connect(url: &str) -> anyhow::Result<Ws> {
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(url),
    )
    .await??;
    Ok(ws)
}

/// Sends one request and returns (reply payload, was binary).
async fn ask(ws: &mut Ws, request: &str) -> anyhow::Result<(Vec<u8>, bool)> {
    ws.send(Message::Text(request.into())).await?;
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await? {
            Some(Ok(Message::Text(t))) => return Ok((t.as_bytes().to_vec(), false)),
            Some(Ok(Message::Binary(b))) => return Ok((b.to_vec(), true)),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("connection closed"),
        }
    }
}

fn gunzip_if(data: &[u8]) -> Vec<u8> {
    if data.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .is_ok()
        {
            return out;
        }
    }
    data.to_vec()
}

/// Checks a reply fully; for processes also says whether every row is 0 %.
fn validate(kind: Kind, payload: &[u8], binary: bool) -> (bool, bool) {
    let raw = gunzip_if(payload);
    match kind {
        Kind::Processes => match pb::Processes::decode(raw.as_slice()) {
            Ok(p) if binary && !p.rows.is_empty() => {
                (true, p.rows.iter().all(|r| r.cpu_usage == 0.0))
            }
            _ => (false, false),
        },
        Kind::Metrics => (
            serde_json::from_slice::<Value>(&raw).is_ok_and(|v| v["cpu_total"].is_number()),
            false,
        ),
        Kind::Disks => (
            serde_json::from_slice::<Value>(&raw).is_ok_and(|v| v.is_array()),
            false,
        ),
        // sonde answers an error reply; socktop_agent answers nothing, so
        // this kind only suits servers that reply to everything.
        Kind::Unknown => (
            serde_json::from_slice::<Value>(&raw).is_ok_and(|v| v["error"].is_string()),
            false,
        ),
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The `--server` command line, split on spaces.
fn server_command(args: &Args) -> anyhow::Result<Command> {
    let Some(cmd) = &args.server else {
        anyhow::bail!("give --pid of a running server or --server to start one");
    };
    let mut parts = cmd.split_whitespace();
    let program = parts
        .next()
        .ok_or_else(|| anyhow::anyhow!("empty --server"))?;
    let mut command = Command::new(program);
    command.args(parts);
    // Every simulated client comes from this one loopback address: lift
    // sonde's per-address share so the load is what it says (other servers
    // ignore the variable; --server-env may still set it).
    command.env("SONDE_MAX_CONNECTIONS_PER_ADDRESS", "65536");
    Ok(command)
}

/// What failed when `--server` could not be started.
fn starting(args: &Args) -> String {
    format!(
        "cannot start --server {:?}",
        args.server.as_deref().unwrap_or("")
    )
}

fn start_server(args: &Args) -> anyhow::Result<(Option<Reaper>, u32, Instant)> {
    if let Some(pid) = args.pid {
        return Ok((None, pid, Instant::now()));
    }
    let mut command = server_command(args)?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for kv in &args.server_env {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--server-env wants KEY=VALUE"))?;
        command.env(k, v);
    }
    let started = Instant::now();
    let child = command.spawn().with_context(|| starting(args))?;
    let pid = child.id();
    Ok((Some(Reaper(vec![child])), pid, started))
}

/// Connects, retrying until the server listens (at most 10 s).
async fn connect_when_up(url: &str) -> anyhow::Result<Ws> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match connect(url).await {
            Ok(ws) => return Ok(ws),
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
}

fn emit(args: &Args, mode: &str, procs: usize, figures: Value, human: String) {
    let line = json!({
        "server": args.name,
        "scenario": args.scenario,
        "mode": mode,
        "processes": procs,
        "figures": figures,
    });
    println!("{line}");
    eprintln!("[{} {} {}] {human}", args.name, args.scenario, mode);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let url = args
        .url
        .strip_prefix("ws://")
        .or_else(|| args.url.strip_prefix("http://"))
        .unwrap_or("");
    if !url.starts_with("127.") && !url.starts_with("localhost") && !url.starts_with("[::1]") {
        anyhow::bail!("loadgen talks to loopback only (ws:// or http:// 127.x, localhost, [::1])");
    }
    if let Mode::Http {
        path,
        requests,
        tcp_sockets,
    } = &args.mode
    {
        return http_cost(&args, path, *requests, *tcp_sockets).await;
    }
    if let Mode::Report { files, peer, ours } = &args.mode {
        return report(files, peer, ours);
    }
    if let Mode::Echo { reply_bytes } = args.mode {
        return echo(reply_bytes);
    }
    if let Mode::Floor { requests } = args.mode {
        return floor(&args, requests);
    }
    if let Mode::Reads { files, requests } = &args.mode {
        return reads(&args, files, *requests);
    }
    let _extra = spawn_extra(args.extra_procs)?;
    if let Mode::Soak {
        clients,
        seconds,
        out,
        sigterm,
    } = &args.mode
    {
        return soak(&args, *clients, *seconds, out, *sigterm).await;
    }
    if matches!(args.mode, Mode::Hold) {
        eprintln!(
            "holding {} extra processes ({} in /proc); Ctrl-C to stop",
            args.extra_procs,
            count_processes()
        );
        tokio::signal::ctrl_c().await?;
        return Ok(());
    }
    let (_server, pid, started) = start_server(&args)?;
    let mut first = connect_when_up(&args.url).await?;
    ask(&mut first, Kind::Metrics.request(args.style)).await?;
    let startup_ms = started.elapsed().as_secs_f64() * 1e3;
    let procs = count_processes();
    match args.mode {
        Mode::Startup => {
            let size = std::fs::metadata(
                args.server
                    .as_deref()
                    .unwrap_or("")
                    .split_whitespace()
                    .next()
                    .unwrap_or(""),
            )
            .map(|m| m.len())
            .unwrap_or(0);
            emit(
                &args,
                "startup",
                procs,
                json!({"startup_ms": startup_ms, "rss_kb": rss_kb(pid), "binary_bytes": size}),
                format!(
                    "first answer after {startup_ms:.1} ms, RSS {} kB, binary {size} bytes",
                    rss_kb(pid)
                ),
            );
        }
        Mode::Idle { clients, seconds } => {
            let mut conns = Vec::new();
            for _ in 0..clients {
                conns.push(connect(&args.url).await?);
            }
            drop(first);
            tokio::time::sleep(Duration::from_secs(1)).await;
            let (a, rss_before) = (read_cpu(pid), rss_kb(pid));
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            let b = read_cpu(pid);
            let figures = json!({
                "clients": clients, "seconds": seconds,
                "cpu_ticks": b.ticks - a.ticks,
                "cpu_ms": (b.sched_ns.saturating_sub(a.sched_ns)) as f64 / 1e6,
                "wakeups": b.switches.saturating_sub(a.switches),
                "rss_kb": rss_kb(pid), "rss_before_kb": rss_before,
            });
            emit(
                &args,
                "idle",
                procs,
                figures,
                format!(
                    "{clients} silent clients, {seconds} s: {} ticks, {} wakeups, RSS {} kB",
                    b.ticks - a.ticks,
                    b.switches.saturating_sub(a.switches),
                    rss_kb(pid)
                ),
            );
            drop(conns);
        }
        Mode::Cost { kind, requests } => {
            let request = kind.request(args.style);
            let mut latencies = Vec::with_capacity(requests);
            let (mut bytes, mut valid, mut all_zero) = (0usize, 0usize, 0usize);
            let a = read_cpu(pid);
            let t0 = Instant::now();
            for _ in 0..requests {
                let t = Instant::now();
                let (payload, binary) = ask(&mut first, request).await?;
                latencies.push(t.elapsed().as_micros() as u64);
                bytes += payload.len();
                let (ok, zero) = validate(kind, &payload, binary);
                valid += usize::from(ok);
                all_zero += usize::from(zero);
            }
            let wall = t0.elapsed().as_secs_f64();
            let b = read_cpu(pid);
            latencies.sort_unstable();
            let cpu_ms = b.sched_ns.saturating_sub(a.sched_ns) as f64 / 1e6;
            let figures = json!({
                "kind": format!("{kind:?}").to_lowercase(), "requests": requests,
                "cpu_ms_per_request": cpu_ms / requests as f64,
                "ticks_ms_per_request": (b.ticks - a.ticks) as f64 * 10.0 / requests as f64,
                "p50_us": percentile(&latencies, 0.5), "p99_us": percentile(&latencies, 0.99),
                "max_us": latencies.last().copied().unwrap_or(0),
                "bytes_per_reply": bytes / requests.max(1), "valid": valid, "all_zero_cpu_replies": all_zero,
                "requests_per_s": requests as f64 / wall, "rss_kb": rss_kb(pid), "startup_ms": startup_ms,
            });
            emit(
                &args,
                "cost",
                procs,
                figures,
                format!(
                    "{requests} × {kind:?} at {procs} processes: {:.3} ms CPU/request, p50 {} µs, p99 {} µs, {} B/reply, {valid} valid, {all_zero} all-zero",
                    cpu_ms / requests as f64,
                    percentile(&latencies, 0.5),
                    percentile(&latencies, 0.99),
                    bytes / requests.max(1)
                ),
            );
        }
        Mode::History { fill, requests } => {
            let live = Kind::Metrics.request(args.style);
            let (a, mut live_bytes) = (read_cpu(pid), 0usize);
            for _ in 0..fill {
                live_bytes += ask(&mut first, live).await?.0.len();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let b = read_cpu(pid);
            let mut history_bytes = 0usize;
            let mut rows = 0usize;
            for _ in 0..requests {
                let (payload, _) =
                    ask(&mut first, r#"{"type":"history","kind":"metrics"}"#).await?;
                history_bytes += payload.len();
                let v: Value = serde_json::from_slice(&gunzip_if(&payload))?;
                rows = v["t"].as_array().map_or(0, Vec::len);
            }
            let c = read_cpu(pid);
            let live_ms = b.sched_ns.saturating_sub(a.sched_ns) as f64 / 1e6;
            // The sleeps' wake-ups are not the server's: its CPU is read
            // around the requests only, as cost's is.
            let history_ms = c.sched_ns.saturating_sub(b.sched_ns) as f64 / 1e6 / requests as f64;
            let history_b = history_bytes / requests.max(1);
            let figures = json!({
                "fill": fill, "rows": rows, "live_cpu_ms": live_ms, "live_bytes": live_bytes,
                "history_cpu_ms": history_ms, "history_bytes": history_b,
                "cpu_ratio": history_ms / live_ms, "bytes_ratio": history_b as f64 / live_bytes as f64,
            });
            emit(
                &args,
                "history",
                procs,
                figures,
                format!(
                    "{fill} live metrics replies: {live_ms:.1} ms CPU, {live_bytes} B; one history reply of {rows} samples: {history_ms:.2} ms CPU ({:.3}×), {history_b} B ({:.3}×)",
                    history_ms / live_ms,
                    history_b as f64 / live_bytes as f64
                ),
            );
        }
        Mode::Load {
            kind,
            connections,
            seconds,
        } => {
            let request = kind.request(args.style);
            let mut conns = Vec::new();
            for _ in 0..connections {
                conns.push(connect(&args.url).await?);
            }
            let (a, client_a) = (read_cpu(pid), self_ticks());
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let t0 = Instant::now();
            let mut tasks = Vec::new();
            for mut ws in conns {
                tasks.push(tokio::spawn(async move {
                    let (mut n, mut valid, mut invalid) = (0u64, 0u64, 0u64);
                    while Instant::now() < deadline {
                        let Ok((payload, binary)) = ask(&mut ws, request).await else {
                            invalid += 1;
                            break;
                        };
                        n += 1;
                        // Full validation of every 100th reply keeps the client light.
                        if n % 100 == 1 {
                            if validate(kind, &payload, binary).0 {
                                valid += 1
                            } else {
                                invalid += 1
                            }
                        } else if (kind == Kind::Processes) != binary
                            && !payload.starts_with(&[0x1f, 0x8b])
                        {
                            invalid += 1;
                        }
                    }
                    (n, valid, invalid)
                }));
            }
            let (mut n, mut valid, mut invalid) = (0, 0, 0);
            for t in tasks {
                let (a, b, c) = t.await?;
                n += a;
                valid += b;
                invalid += c;
            }
            let wall = t0.elapsed().as_secs_f64();
            let (b, client_b) = (read_cpu(pid), self_ticks());
            let server_cores = b.sched_ns.saturating_sub(a.sched_ns) as f64 / 1e9 / wall;
            let client_cores = (client_b - client_a) as f64 / 100.0 / wall;
            let figures = json!({
                "kind": format!("{kind:?}").to_lowercase(), "connections": connections, "seconds": wall,
                "replies_per_s": n as f64 / wall, "server_cores": server_cores, "client_cores": client_cores,
                "checked_valid": valid, "invalid": invalid, "rss_kb": rss_kb(pid),
            });
            emit(
                &args,
                "load",
                procs,
                figures,
                format!(
                    "{connections} connections × {kind:?}: {:.0} replies/s, server {server_cores:.2} cores, client {client_cores:.2} cores, {invalid} invalid",
                    n as f64 / wall
                ),
            );
        }
        Mode::Cadence { clients, seconds } => {
            let mut conns = Vec::new();
            for _ in 0..clients {
                conns.push(connect(&args.url).await?);
            }
            let a = read_cpu(pid);
            let t0 = Instant::now();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
            let style = args.style;
            let mut tasks = Vec::new();
            for (i, mut ws) in conns.into_iter().enumerate() {
                tasks.push(tokio::spawn(async move {
                    // Stagger clients so they do not all tick together.
                    tokio::time::sleep(Duration::from_millis(37 * i as u64 % 500)).await;
                    let mut m = tokio::time::interval(Duration::from_millis(500));
                    let mut p = tokio::time::interval(Duration::from_secs(2));
                    let mut d = tokio::time::interval(Duration::from_secs(5));
                    let (mut replies, mut invalid) = (0u64, 0u64);
                    loop {
                        let kind = tokio::select! {
                            _ = tokio::time::sleep_until(deadline) => break,
                            _ = m.tick() => Kind::Metrics,
                            _ = p.tick() => Kind::Processes,
                            _ = d.tick() => Kind::Disks,
                        };
                        match ask(&mut ws, kind.request(style)).await {
                            Ok((payload, binary)) if validate(kind, &payload, binary).0 => {
                                replies += 1
                            }
                            _ => invalid += 1,
                        }
                    }
                    (replies, invalid)
                }));
            }
            let (mut replies, mut invalid) = (0, 0);
            for t in tasks {
                let (r, i) = t.await?;
                replies += r;
                invalid += i;
            }
            let wall = t0.elapsed().as_secs_f64();
            let b = read_cpu(pid);
            let cpu_pct = b.sched_ns.saturating_sub(a.sched_ns) as f64 / 1e9 / wall * 100.0;
            let figures = json!({"clients": clients, "seconds": wall, "server_cpu_pct": cpu_pct, "replies": replies, "invalid": invalid, "rss_kb": rss_kb(pid)});
            emit(
                &args,
                "cadence",
                procs,
                figures,
                format!(
                    "{clients} TUI-cadence clients at {procs} processes: server {cpu_pct:.2} % of a core, {replies} replies, {invalid} invalid"
                ),
            );
        }
        Mode::Hold
        | Mode::Soak { .. }
        | Mode::Report { .. }
        | Mode::Floor { .. }
        | Mode::Echo { .. }
        | Mode::Http { .. }
        | Mode::Reads { .. } => {}
    }
    Ok(())
}

/// Medians per (scenario, mode, figure) and server, with sonde/socktop ratios.
/// `loadgen http`: sequential GETs on one kept-alive connection.
async fn http_cost(
    args: &Args,
    path: &str,
    requests: usize,
    tcp_sockets: usize,
) -> anyhow::Result<()> {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let _held = hold_tcp_sockets(tcp_sockets)?;
    let (_server, pid, _) = start_server(args)?;
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1)
        .build_http::<Empty<bytes::Bytes>>();
    let uri: hyper::Uri = format!("{}{path}", args.url.trim_end_matches('/')).parse()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let get = || async {
        let res = client.get(uri.clone()).await?;
        let ok = res.status().is_success();
        let body = res.into_body().collect().await?.to_bytes();
        anyhow::Ok((ok, body.len()))
    };
    // Up, and one request so both sides have their connection and caches.
    while get().await.is_err() {
        if Instant::now() > deadline {
            anyhow::bail!("{uri} did not answer within 10 s");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let procs = count_processes();
    let (mut bytes, mut valid) = (0usize, 0usize);
    let mut latencies = Vec::with_capacity(requests);
    let a = read_cpu(pid);
    for _ in 0..requests {
        let t = Instant::now();
        let (ok, n) = get().await?;
        latencies.push(t.elapsed().as_micros() as u64);
        bytes += n;
        valid += usize::from(ok);
    }
    let b = read_cpu(pid);
    latencies.sort_unstable();
    let cpu_ms = b.sched_ns.saturating_sub(a.sched_ns) as f64 / 1e6;
    let gzipped = gzipped_size(
        &client
            .get(uri.clone())
            .await?
            .into_body()
            .collect()
            .await?
            .to_bytes(),
    );
    let rss_anon = status_kb(pid, "RssAnon:");
    let figures = json!({
        "kind": path, "requests": requests, "tcp_sockets": tcp_sockets,
        "cpu_ms_per_request": cpu_ms / requests as f64,
        "ticks_ms_per_request": (b.ticks - a.ticks) as f64 * 10.0 / requests as f64,
        "p50_us": percentile(&latencies, 0.5), "p99_us": percentile(&latencies, 0.99),
        "bytes_per_reply": bytes / requests.max(1), "gzip_bytes_per_reply": gzipped,
        "valid": valid, "rss_kb": rss_kb(pid), "rss_anon_kb": rss_anon,
    });
    emit(
        args,
        "http",
        procs,
        figures,
        format!(
            "{requests} × GET {path}: {:.3} ms CPU/request, p50 {} µs, {} B/reply ({gzipped} B gzip'd), {valid} valid, RSS {} kB, RssAnon {rss_anon} kB",
            cpu_ms / requests as f64,
            percentile(&latencies, 0.5),
            bytes / requests.max(1),
            rss_kb(pid)
        ),
    );
    Ok(())
}

/// A body's size gzip'd at the default level (what a scraper sending
/// `Accept-Encoding: gzip` transfers).
fn gzipped_size(body: &[u8]) -> usize {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = enc.write_all(body);
    enc.finish().map_or(0, |v| v.len())
}

/// `n` established loopback sockets (n/2 connections, both ends held
/// here), the open-file limit raised for them.
fn hold_tcp_sockets(n: usize) -> anyhow::Result<Vec<std::net::TcpStream>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    sonde::raise_fd_limit();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut held = Vec::with_capacity(n);
    for _ in 0..n / 2 {
        held.push(std::net::TcpStream::connect(addr)?);
        held.push(listener.accept()?.0);
    }
    // Closed with a reset, not into TIME_WAIT: lingering sockets would be
    // counted by the next scenario's TCP state dump.
    for s in &held {
        rustix::net::sockopt::set_socket_linger(s, Some(Duration::ZERO))?;
    }
    Ok(held)
}

/// A `/proc/PID/status` field in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// `loadgen echo`: one connection, each read answered with `reply_bytes`.
fn echo(reply_bytes: usize) -> anyhow::Result<()> {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?.port());
    std::io::stdout().flush()?;
    let (mut conn, _) = listener.accept()?;
    conn.set_nodelay(true)?;
    let reply = vec![b'x'; reply_bytes];
    let mut buf = [0u8; 4096];
    while conn.read(&mut buf)? > 0 {
        conn.write_all(&reply)?;
    }
    Ok(())
}

/// `loadgen floor`: round trips against `loadgen echo`, its CPU per trip.
fn floor(args: &Args, requests: usize) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    // `--server` is `[taskset -c N] loadgen echo`.
    let mut child = server_command(args)?
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| starting(args))?;
    let pid = child.id();
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        std::io::BufReader::new(out).read_line(&mut line)?;
    }
    let _reaper = Reaper(vec![child]);
    let port: u16 = line
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("the echo server printed {line:?}, not its port"))?;
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port))?;
    conn.set_nodelay(true)?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = vec![0u8; 1 << 16];
    // The reply size is the echo server's: learn it from a first round trip.
    conn.write_all(b"get_processes")?;
    let reply_bytes = conn.read(&mut buf)?;
    let mut latencies = Vec::with_capacity(requests);
    let a = read_cpu(pid);
    for _ in 0..requests {
        let t = Instant::now();
        conn.write_all(b"get_processes")?;
        let mut got = 0;
        while got < reply_bytes {
            match conn.read(&mut buf)? {
                0 => anyhow::bail!("the echo server closed the connection"),
                n => got += n,
            }
        }
        latencies.push(t.elapsed().as_micros() as u64);
    }
    let b = read_cpu(pid);
    latencies.sort_unstable();
    let cpu_ms = b.sched_ns.saturating_sub(a.sched_ns) as f64 / 1e6 / requests.max(1) as f64;
    emit(
        args,
        "floor",
        count_processes(),
        json!({"requests": requests, "cpu_ms_per_request": cpu_ms,
               "p50_us": percentile(&latencies, 0.5), "bytes_per_reply": reply_bytes}),
        format!(
            "{requests} TCP round trips of {reply_bytes} B: {cpu_ms:.3} ms server CPU each, p50 {} µs",
            percentile(&latencies, 0.5)
        ),
    );
    Ok(())
}

fn report(files: &[String], peer_name: &str, our_name: &str) -> anyhow::Result<()> {
    let mut text = String::new();
    if files.is_empty() {
        std::io::stdin().read_to_string(&mut text)?;
    }
    for f in files {
        text.push_str(&std::fs::read_to_string(f)?);
    }
    // (scenario, figure) -> server -> values
    let mut table: BTreeMap<(String, String), BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with('{')) {
        let v: Value = serde_json::from_str(line)?;
        let scenario = format!(
            "{} {} {}",
            v["scenario"].as_str().unwrap_or(""),
            v["mode"].as_str().unwrap_or(""),
            v["figures"]["kind"].as_str().unwrap_or("")
        )
        .trim()
        .to_owned();
        let server = v["server"].as_str().unwrap_or("?").to_owned();
        for (k, x) in v["figures"].as_object().into_iter().flatten() {
            if let Some(x) = x.as_f64() {
                table
                    .entry((scenario.clone(), k.clone()))
                    .or_default()
                    .entry(server.clone())
                    .or_default()
                    .push(x);
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // Columns: the peer, sonde, then any other server (the echo floor).
    let mut others: Vec<String> = table
        .values()
        .flat_map(|servers| servers.keys())
        .filter(|name| *name != peer_name && *name != our_name)
        .cloned()
        .collect();
    others.sort();
    others.dedup();
    let fmt = |x: Option<f64>| {
        x.map_or("–".to_owned(), |x| {
            if x.abs() >= 100.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.3}")
            }
        })
    };
    let extra_head: String = others.iter().map(|o| format!(" {o} |")).collect();
    // scenario -> (sonde's, the echo server's) CPU per request, for the floors.
    let mut medians: BTreeMap<String, (Option<f64>, Option<f64>)> = BTreeMap::new();
    println!(
        "| scenario | figure | {peer_name} | {our_name} | {our_name} / {peer_name} |{extra_head}"
    );
    println!("|---|---|---|---|---|{}", "---|".repeat(others.len()));
    for ((scenario, figure), mut servers) in table {
        let peer = servers.get_mut(peer_name).map(&median);
        let ours = servers.get_mut(our_name).map(&median);
        let ratio = match (ours, peer) {
            (Some(o), Some(p)) if p != 0.0 => format!("{:.3}", o / p),
            _ => "–".to_owned(),
        };
        let extra: String = others
            .iter()
            .map(|o| format!(" {} |", fmt(servers.get_mut(o).map(&median))))
            .collect();
        println!(
            "| {scenario} | {figure} | {} | {} | {ratio} |{extra}",
            fmt(peer),
            fmt(ours)
        );
        if figure == "cpu_ms_per_request" {
            medians.insert(scenario, (ours, servers.get_mut("echo").map(&median)));
        }
    }
    // The cached reply against the do-nothing echo server of the same
    // placement (compare.sh's "<placement> cached" and "<placement> floor").
    let floors: Vec<String> = medians
        .keys()
        .filter_map(|k| k.strip_suffix(" cached cost processes"))
        .filter_map(|placement| {
            let ours = medians
                .get(&format!("{placement} cached cost processes"))?
                .0?;
            let echo = medians.get(&format!("{placement} floor floor"))?.1?;
            Some(format!(
                "| {placement} | {} | {} | {:.2}× |",
                fmt(Some(echo)),
                fmt(Some(ours)),
                ours / echo
            ))
        })
        .collect();
    if !floors.is_empty() {
        println!();
        println!("| placement | echo floor, ms | sonde cached processes, ms | sonde / echo |");
        println!("|---|---|---|---|");
        for line in floors {
            println!("{line}");
        }
    }
    Ok(())
}

/// One soak request: its period and its text in each form.
struct SoakKind {
    name: &'static str,
    period_ms: u64,
    get: String,
    json: String,
}

/// What one soak client saw.
#[derive(Default)]
struct SoakTally {
    sent: u64,
    ok: u64,
    invalid: u64,
    errors: u64,
    close_code: Option<u16>,
}

/// Sends one request and waits for its reply, or the close that ends the
/// connection instead.
async fn soak_ask(ws: &mut Ws, request: &str) -> Result<(Vec<u8>, bool), Option<u16>> {
    if ws.send(Message::Text(request.into())).await.is_err() {
        return Err(None);
    }
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Ok((t.as_bytes().to_vec(), false)),
            Ok(Some(Ok(Message::Binary(b)))) => return Ok((b.to_vec(), true)),
            Ok(Some(Ok(Message::Close(frame)))) => return Err(frame.map(|f| u16::from(f.code))),
            Ok(Some(Ok(_))) => continue,
            _ => return Err(None),
        }
    }
}

fn soak_valid(kind: &SoakKind, payload: &[u8], binary: bool) -> bool {
    match kind.name {
        "metrics" => validate(Kind::Metrics, payload, binary).0,
        "disks" => validate(Kind::Disks, payload, binary).0,
        "processes" => validate(Kind::Processes, payload, binary).0,
        _ => serde_json::from_slice::<Value>(&gunzip_if(payload))
            .is_ok_and(|v| v.is_object() && v.get("error").is_none()),
    }
}

async fn soak(
    args: &Args,
    clients: usize,
    seconds: u64,
    out: &str,
    sigterm: bool,
) -> anyhow::Result<()> {
    let (mut reaper, pid, _) = start_server(args)?;
    let mut conns = vec![connect_when_up(&args.url).await?];
    for _ in 1..clients {
        conns.push(connect(&args.url).await?);
    }
    // The server's own pid is a process that exists for process_metrics
    // and journal_entries throughout.
    let kinds: std::sync::Arc<Vec<SoakKind>> = std::sync::Arc::new(
        [
            ("metrics", 500, false),
            ("processes", 2000, false),
            ("disks", 5000, false),
            ("host", 10_000, false),
            ("process_metrics", 2000, true),
            ("journal_entries", 10_000, true),
        ]
        .into_iter()
        .map(|(name, period_ms, per_pid)| SoakKind {
            name,
            period_ms,
            get: if per_pid {
                format!("get_{name}:{pid}")
            } else {
                format!("get_{name}")
            },
            json: if per_pid {
                format!(r#"{{"type":"{name}","pid":{pid}}}"#)
            } else {
                format!(r#"{{"type":"{name}"}}"#)
            },
        })
        .collect(),
    );
    let t0 = Instant::now();
    let run_until = tokio::time::Instant::now() + Duration::from_secs(seconds);
    // With --sigterm the clients keep polling until the server closes them.
    let hard_stop = run_until + Duration::from_secs(if sigterm { 10 } else { 0 });
    let mut tasks = Vec::new();
    for (i, mut ws) in conns.into_iter().enumerate() {
        let kinds = kinds.clone();
        tasks.push(tokio::spawn(async move {
            let json_form = i % 2 == 1;
            let mut tally = SoakTally::default();
            tokio::time::sleep(Duration::from_millis(37 * i as u64 % 500)).await;
            let mut next: Vec<tokio::time::Instant> =
                kinds.iter().map(|_| tokio::time::Instant::now()).collect();
            loop {
                let (k, at) = next
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, at)| **at)
                    .map(|(k, at)| (k, *at))
                    .unwrap();
                if at >= hard_stop {
                    break;
                }
                tokio::time::sleep_until(at).await;
                let kind = &kinds[k];
                next[k] = at + Duration::from_millis(kind.period_ms);
                tally.sent += 1;
                let text = if json_form { &kind.json } else { &kind.get };
                match soak_ask(&mut ws, text).await {
                    Ok((payload, binary)) if soak_valid(kind, &payload, binary) => tally.ok += 1,
                    Ok(_) => tally.invalid += 1,
                    Err(code) => {
                        // The request in flight when the server closed is
                        // not a lost reply.
                        tally.sent -= 1;
                        tally.close_code = code;
                        if code.is_none() {
                            tally.errors += 1;
                        }
                        break;
                    }
                }
                if !sigterm && tokio::time::Instant::now() >= run_until {
                    break;
                }
            }
            tally
        }));
    }
    let mut rss: Vec<(f64, u64)> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while tokio::time::Instant::now() < run_until {
        tick.tick().await;
        rss.push((t0.elapsed().as_secs_f64(), rss_kb(pid)));
    }
    let mut exit_ms = None;
    if sigterm && let Some(reaper) = &mut reaper {
        let raw = rustix::process::Pid::from_raw(pid as i32).unwrap();
        let signalled = Instant::now();
        rustix::process::kill_process(raw, rustix::process::Signal::TERM)?;
        while signalled.elapsed() < Duration::from_secs(10) {
            if reaper.0[0].try_wait()?.is_some() {
                exit_ms = Some(signalled.elapsed().as_millis() as u64);
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let mut total = SoakTally::default();
    let mut closed_1001 = 0;
    for t in tasks {
        let t = t.await?;
        total.sent += t.sent;
        total.ok += t.ok;
        total.invalid += t.invalid;
        total.errors += t.errors;
        closed_1001 += usize::from(t.close_code == Some(1001));
    }
    std::fs::create_dir_all(out)?;
    let csv: String = std::iter::once("seconds,rss_kb\n".to_owned())
        .chain(rss.iter().map(|(t, kb)| format!("{t:.1},{kb}\n")))
        .collect();
    std::fs::write(format!("{out}/rss.csv"), csv)?;
    let png = format!("{out}/rss.png");
    plot_rss(
        &png,
        &rss,
        &format!("{clients} clients, every request kind, {seconds} s"),
    )?;
    let minute = rss.iter().find(|(t, _)| *t >= 60.0).map_or(0, |r| r.1);
    let (first, last) = (
        rss.first().map_or(0, |r| r.1),
        rss.last().map_or(0, |r| r.1),
    );
    let peak = rss.iter().map(|r| r.1).max().unwrap_or(0);
    let lost = total.sent.saturating_sub(total.ok + total.invalid);
    let figures = json!({
        "clients": clients, "seconds": seconds, "sent": total.sent, "ok": total.ok,
        "invalid": total.invalid, "errors": total.errors, "lost": lost,
        "rss_kb_first": first, "rss_kb_at_60s": minute, "rss_kb_last": last, "rss_kb_peak": peak,
        "closed_1001": closed_1001, "exit_ms_after_sigterm": exit_ms,
    });
    emit(
        args,
        "soak",
        count_processes(),
        figures,
        format!(
            "{clients} clients × {seconds} s: {} replies, {} invalid, {} errors, {lost} lost; RSS {first} → {minute} (60 s) → {last} kB, peak {peak}; {closed_1001}/{clients} closed 1001, exit {exit_ms:?} ms after SIGTERM; plot {png}",
            total.ok, total.invalid, total.errors
        ),
    );
    Ok(())
}

/// RSS over time as a PNG (labels drawn with DejaVu Sans where installed).
fn plot_rss(path: &str, rss: &[(f64, u64)], caption: &str) -> anyhow::Result<()> {
    use plotters::prelude::*;
    let font = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    ]
    .iter()
    .find_map(|p| std::fs::read(p).ok());
    let labelled = font.is_some_and(|bytes| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes.leak()).is_ok()
    });
    let root = BitMapBackend::new(path, (900, 450)).into_drawing_area();
    root.fill(&WHITE)?;
    let max_t = rss.last().map_or(1.0, |r| r.0).max(1.0);
    let max_mib = rss.iter().map(|r| r.1).max().unwrap_or(1) as f64 / 1024.0 * 1.25;
    let mut builder = ChartBuilder::on(&root);
    builder.margin(20);
    if labelled {
        builder
            .caption(format!("sonde RSS — {caption}"), ("sans-serif", 20))
            .x_label_area_size(40)
            .y_label_area_size(60);
    }
    let mut chart = builder.build_cartesian_2d(0f64..max_t, 0f64..max_mib)?;
    if labelled {
        chart
            .configure_mesh()
            .x_desc("seconds")
            .y_desc("RSS, MiB")
            .label_style(("sans-serif", 14))
            .draw()?;
    }
    chart.draw_series(LineSeries::new(
        rss.iter().map(|(t, kb)| (*t, *kb as f64 / 1024.0)),
        &BLUE,
    ))?;
    root.present()?;
    Ok(())
}

/// `reads`: the listed files read back to back, R rounds.
fn reads(args: &Args, list: &std::path::Path, rounds: usize) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(list)?;
    use sonde::collect::netlink::{self, Protocol};
    let mut files = Vec::new();
    let mut mounts = Vec::new();
    let mut dumps = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(path) = line.strip_prefix("statfs:") {
            mounts.push(std::path::PathBuf::from(path));
        } else if let Some(dump) = line.strip_prefix("netlink:") {
            // The dump requests as sonde sends them (RTM_GETLINK,
            // RTM_GETADDR, TCPDIAG_GETSOCK), the answers not parsed.
            dumps.push(match dump {
                "links" => (Protocol::Route, netlink::request(18, 16)),
                "addresses" => (Protocol::Route, netlink::request(22, 8)),
                "tcp" => (
                    Protocol::SockDiag,
                    sonde::collect::tcp_states::request_both(0),
                ),
                other => anyhow::bail!("unknown netlink dump {other:?} in {}", list.display()),
            });
        } else if let Ok(f) = sonde::collect::ProcFile::open(std::path::Path::new(line)) {
            files.push(f);
        }
    }
    let mut buf = Vec::new();
    let mut bytes = 0usize;
    let pid = std::process::id();
    let before = read_cpu(pid);
    for _ in 0..rounds {
        for f in &files {
            bytes += f.read_into(&mut buf).unwrap_or(0);
        }
        for m in &mounts {
            black_box_statfs(m);
        }
        for (protocol, request) in &dumps {
            netlink::dump(*protocol, request, &mut |body| bytes += body.len())?;
        }
    }
    let after = read_cpu(pid);
    let ms = after.sched_ns.saturating_sub(before.sched_ns) as f64 / 1e6 / rounds.max(1) as f64;
    emit(
        args,
        "reads",
        count_processes(),
        json!({"cpu_ms_per_round": ms, "files": files.len(), "statfs": mounts.len(),
               "netlink_dumps": dumps.len(), "bytes_per_round": bytes / rounds.max(1)}),
        format!(
            "{} files, {} statfs and {} netlink dumps per round: {ms:.3} ms CPU per round, {} B",
            files.len(),
            mounts.len(),
            dumps.len(),
            bytes / rounds.max(1)
        ),
    );
    Ok(())
}

fn black_box_statfs(path: &std::path::Path) {
    std::hint::black_box(rustix::fs::statvfs(path).ok());
}
