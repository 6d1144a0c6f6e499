//! The live page in a real browser: Debian's Chromium, headless, driven
//! through chromedriver (WebDriver, the fantoccini crate) against the live
//! server on loopback. Skipped, saying why, where Chromium is missing;
//! `.ci/run` installs it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::gpu_fixture::{fixture_sys, gpu_client, proc_with_a_gpu_client};
use common::{Killed, Server, free_port, skipped};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One Chromium at a time: each test's browser starts and ends processes
/// that another test's process table would show, and click, mid-run; and
/// two cores run one browser well, not four.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// chromedriver, and a headless Chromium session through it, with extra
/// Chromium switches.
async fn browser_with(profile: &std::path::Path, extra: &[&str]) -> (Killed, Client) {
    let port = free_port();
    let driver = Killed(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1100",
    ]
    .iter()
    .chain(extra)
    .map(|a| (*a).to_owned())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": CHROMIUM, "args": args }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let t0 = Instant::now();
    loop {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return (driver, client),
            Err(e) if t0.elapsed() > Duration::from_secs(20) => panic!("no WebDriver session: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// One test's browser: the turn (see [`ONE_BROWSER`]), a fresh profile,
/// chromedriver and the WebDriver session, dropped in that order's reverse.
struct Session {
    client: Client,
    _driver: Killed,
    _profile: tempfile::TempDir,
    _one: tokio::sync::MutexGuard<'static, ()>,
}

impl Session {
    /// Ends the WebDriver session, then the browser.
    async fn close(self) {
        self.client.clone().close().await.unwrap();
    }
}

impl Drop for Session {
    /// A test that failed left its Chromium running (chromedriver's
    /// children outlive it), to slow every later test: each process of this
    /// session's profile is killed.
    fn drop(&mut self) {
        let marker = format!("--user-data-dir={}", self._profile.path().display());
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return;
        };
        for entry in procs.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
                .and_then(rustix::process::Pid::from_raw)
            else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&marker) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
}

/// A browser for `test` with extra Chromium switches, once it is this
/// test's turn; `None`, saying so, where Chromium is missing.
async fn session(test: &str, switches: &[&str]) -> Option<Session> {
    if chromium_missing(test) {
        return None;
    }
    let one = ONE_BROWSER.lock().await;
    let profile = tempfile::tempdir().unwrap();
    let (driver, client) = browser_with(profile.path(), switches).await;
    Some(Session {
        client,
        _driver: driver,
        _profile: profile,
        _one: one,
    })
}

/// Waits until `script` returns something truthy, and returns it.
async fn until(client: &Client, what: &str, script: &str) -> Value {
    until_within(client, what, script, 15).await
}

/// The same, waiting up to `seconds`; the last value when it never comes.
async fn until_within(client: &Client, what: &str, script: &str, seconds: u64) -> Value {
    let t0 = Instant::now();
    loop {
        let v = client.execute(script, vec![]).await.unwrap();
        let truthy = match &v {
            Value::Null | Value::Bool(false) => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        };
        if truthy {
            return v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(seconds),
            "timed out waiting for {what}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_live_page_shows_the_host_and_sorts_processes_in_chromium() {
    let Some(s) = session("the_live_page", &[]).await else {
        return;
    };
    let client = &s.client;
    let server = Server::start(&["--token", "page-token"]).await;
    let base = format!("http://{}", server.addr);

    // Without the token: not even the page, and a line saying how.
    client.goto(&format!("{base}/")).await.unwrap();
    let message = until(
        client,
        "the token message",
        "return !document.getElementById('status') && document.body.innerText.includes('?token=') && document.body.innerText;",
    )
    .await;
    assert!(message.as_str().unwrap().contains("token"), "{message}");

    // With it: numbers appear and change.
    client
        .goto(&format!("{base}/?token=page-token"))
        .await
        .unwrap();
    until(
        client,
        "live status",
        "return document.getElementById('status').textContent === 'live';",
    )
    .await;
    let address = js(client, "return location.href;").await;
    assert!(
        !address.as_str().unwrap().contains("token"),
        "the page drops the token from its address: {address}"
    );
    let cpu = until(
        client,
        "a CPU figure",
        "const t = document.getElementById('cpu-total').textContent; return t.endsWith('%') && t;",
    )
    .await;
    assert!(
        cpu.as_str()
            .unwrap()
            .trim_end_matches(" %")
            .parse::<f64>()
            .is_ok(),
        "{cpu}"
    );
    let updates =
        |n: u64| format!("return Number(document.getElementById('updates').textContent) >= {n};");
    until(client, "a first update", &updates(1)).await;
    until(client, "more updates (500 ms polling)", &updates(3)).await;
    // The disks table's used figure is df's (size − free, `/api/disks`'
    // `used`), with available beside it: the page showed size − available,
    // counting the root reserve as used.
    let (_, disks) = server
        .http_get("/api/disks", &[("Authorization", "Bearer page-token")])
        .await;
    let disks: Value = serde_json::from_str(disks.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    // The largest filesystem sonde lists (`/` here; whatever the CI
    // container mounts there).
    let largest = disks
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|d| d["total"].as_u64().unwrap_or(0))
        .cloned();
    if let Some(root) = largest {
        let mount = root["mount_point"].as_str().unwrap().to_owned();
        let script = format!(
            "const r = [...document.querySelectorAll('#disks tbody tr')].find(r => r.cells[0].textContent === {mount:?}); return r && [...r.cells].slice(2, 5).map(c => c.textContent);"
        );
        let cells = until(client, "the disks table", &script).await;
        let shown = |i: usize| {
            let text = cells[i].as_str().unwrap();
            let (n, unit) = text.split_once(' ').unwrap();
            let power = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
                .iter()
                .position(|u| *u == unit)
                .unwrap();
            n.parse::<f64>().unwrap() * 1024f64.powi(power as i32)
        };
        for (i, key) in [(0, "used"), (1, "available"), (2, "total")] {
            let want = root[key].as_f64().unwrap();
            assert!(
                (shown(i) - want).abs() <= want * 0.06 + 1024.0 * 1024.0,
                "{key}: the page shows {cells}, /api/disks says {want}"
            );
        }
    }
    let host = client
        .find(Locator::Id("host"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(host.contains(sonde::VERSION), "{host}");

    // The process table, sorted by memory on a click.
    until(
        client,
        "process rows",
        "return document.querySelectorAll('#procs tbody tr').length > 2;",
    )
    .await;
    click(client, Locator::Id("sort-mem")).await;
    let mem: Vec<f64> = serde_json::from_value(
        js(client, "return [...document.querySelectorAll('#procs tbody tr')].slice(0, 20).map(r => Number(r.dataset.mem));").await,
    )
    .unwrap();
    assert!(
        mem.len() > 2 && mem.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {mem:?}"
    );
    let head = js(
        client,
        "return document.getElementById('sort-mem').className;",
    )
    .await;
    assert!(head.as_str().unwrap().contains("on"));

    // A click through to one process's details: this test's own, which
    // stays put (the largest might be a browser process on its way out).
    let me = std::process::id();
    click(
        client,
        Locator::Css(&format!("#procs tbody tr[data-pid='{me}']")),
    )
    .await;
    until(
        client,
        "the detail pane",
        "const d = document.getElementById('detail').textContent; return d.includes('command') && d;",
    )
    .await;
    // Its disk rates come with the second answer (the first has no window).
    until(
        client,
        "the detail's disk rates",
        "const d = document.getElementById('detail').textContent; return /disk +read [0-9.]+ [KMG]?i?B\\/s/.test(d) && d;",
    )
    .await;

    let png = client.screenshot().await.unwrap();
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/page.png");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, png).unwrap();

    // The filter box narrows the table.
    client
        .execute(
            &format!("const f = document.getElementById('filter'); f.value = '{me}'; f.dispatchEvent(new Event('input'));"),
            vec![],
        )
        .await
        .unwrap();
    let pids: Vec<u64> = serde_json::from_value(
        js(client, "return [...document.querySelectorAll('#procs tbody tr')].map(r => Number(r.dataset.pid));").await,
    )
    .unwrap();
    assert!(
        pids.iter()
            .all(|p| p.to_string().starts_with(&me.to_string())),
        "{pids:?}"
    );

    // A host with containers: their table shows, busiest first.
    let cgroups = tempfile::tempdir().unwrap();
    common::docker_host(cgroups.path());
    let sys = cgroups.path().to_str().unwrap();
    let docker = Server::start(&["--sys-root", sys, "--temp", "off", "--gpu", "off"]).await;
    client
        .goto(&format!("http://{}/", docker.addr))
        .await
        .unwrap();
    let rows = until(
        client,
        "the containers table",
        "const s = document.getElementById('containers-section'); const r = [...document.querySelectorAll('#containers tbody tr')]; return !s.hidden && r.length === 2 && r.map(t => t.textContent);",
    )
    .await;
    let rows = rows.to_string();
    assert!(
        rows.contains("nginx.service") && rows.contains("docker"),
        "{rows}"
    );
    let png = client.screenshot().await.unwrap();
    std::fs::write(out.with_file_name("page-containers.png"), png).unwrap();

    no_page_errors(client).await;
    s.close().await;
}

/// Clicks the element `at`.
/// Runs `script` in the page and returns its value.
async fn js(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.unwrap()
}

async fn click(client: &Client, at: Locator<'_>) {
    client.find(at).await.unwrap().click().await.unwrap();
}

/// Asserts the page logged no error.
async fn no_page_errors(client: &Client) {
    let errors = js(client, "return window.__sondeErrors;").await;
    assert_eq!(errors, json!([]), "errors in the page");
}

fn chromium_missing(test: &str) -> bool {
    let missing =
        !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists();
    if missing {
        skipped(&format!(
            "SKIPPED {test}: Chromium or chromedriver is not installed (.ci/run installs chromium and chromium-driver)"
        ));
    }
    missing
}

/// A page from another origin (another port on loopback) that tries to
/// read the agent: a WebSocket asking for metrics, and `fetch` of the
/// process list. What it managed lands in `window.result`.
const ATTACK_PAGE: &str = r#"<!doctype html><title>attack</title><script>
const target = location.hash.slice(1);
window.result = { ws: "pending", fetch: "pending" };
const ws = new WebSocket("ws://" + target + "/ws" + location.search);
ws.onopen = () => { window.result.ws = "open"; ws.send("get_metrics"); };
ws.onmessage = e => { window.result.ws = "read"; };
ws.onerror = () => { if (window.result.ws !== "read") window.result.ws = "refused"; };
ws.onclose = () => { if (window.result.ws === "pending" || window.result.ws === "open") window.result.ws = "refused"; };
fetch("http://" + target + "/api/processes" + location.search)
  .then(r => r.text())
  .then(t => { window.result.fetch = "read"; }, () => { window.result.fetch = "refused"; });
</script>"#;

#[tokio::test]
async fn a_page_from_another_origin_reads_nothing_in_chromium() {
    let Some(s) = session("a_page_from_another_origin_reads_nothing", &[]).await else {
        return;
    };
    let client = &s.client;
    // The attacker's origin: another port on loopback.
    let attacker = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let attacker_addr = attacker.local_addr().unwrap();
    let site = axum::Router::new().route(
        "/",
        axum::routing::get(|| async { axum::response::Html(ATTACK_PAGE) }),
    );
    tokio::spawn(async move { axum::serve(attacker, site).await });
    for (args, query) in [
        (&[][..], ""),
        (
            &["--token", "attack-test-token"][..],
            "?token=attack-test-token",
        ),
    ] {
        let server = Server::start(args).await;
        client
            .goto(&format!("http://{attacker_addr}/{query}#{}", server.addr))
            .await
            .unwrap();
        let result = until(
            client,
            "the attack's outcome",
            "const r = window.result; return r && r.ws !== 'pending' && r.ws !== 'open' && r.fetch !== 'pending' && r;",
        )
        .await;
        assert_eq!(
            result,
            json!({"ws": "refused", "fetch": "refused"}),
            "with {args:?}"
        );
        // The server saw the upgrade and refused it for its Origin.
        let (_, metrics) = server.http_get(&format!("/metrics{query}"), &[]).await;
        let refused = metrics
            .lines()
            .find(|l| l.starts_with("sonde_requests_refused_total{reason=\"origin\"}"))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0);
        assert!(refused >= 1.0, "{metrics}");
        server.stop().await.unwrap();
    }
    s.close().await;
}

#[tokio::test]
async fn a_rebound_name_gets_nothing_in_chromium() {
    // The attacker's name now resolves to the agent, as after rebinding.
    let Some(s) = session(
        "a_rebound_name_gets_nothing",
        &["--host-resolver-rules=MAP rebind.example 127.0.0.1"],
    )
    .await
    else {
        return;
    };
    let client = &s.client;
    let server = Server::start(&[]).await;
    let port = server.addr.port();
    for path in ["/", "/api/processes", "/metrics"] {
        client
            .goto(&format!("http://rebind.example:{port}{path}"))
            .await
            .unwrap();
        let body = until(
            client,
            "the refusal",
            "return document.body && document.body.innerText;",
        )
        .await;
        let body = body.as_str().unwrap();
        assert!(body.contains("--allowed-host"), "{path}: {body}");
        assert!(
            !body.contains("process_count") && !body.contains("node_"),
            "{path}: {body}"
        );
    }
    // The same agent by its IP is the page as usual.
    client
        .goto(&format!("http://{}/", server.addr))
        .await
        .unwrap();
    until(
        client,
        "live status",
        "return document.getElementById('status') && document.getElementById('status').textContent === 'live';",
    )
    .await;
    s.close().await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_live_page_works_over_wss_with_and_without_a_token_in_chromium() {
    // The generated certificate is pinned by clients, not by a CA: the
    // browser is told to accept it.
    let Some(s) = session(
        "the_live_page_works_over_wss",
        &["--ignore-certificate-errors"],
    )
    .await
    else {
        return;
    };
    let client = &s.client;
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().join("tls");
    let tls_dir = tls_dir.to_str().unwrap();
    for (args, query) in [
        (
            &["--tls", "--tls-dir", tls_dir, "--token", "wss-page-token"][..],
            "?token=wss-page-token",
        ),
        (&["--tls", "--tls-dir", tls_dir][..], ""),
    ] {
        let server = Server::start(args).await;
        client
            .goto(&format!("https://{}/{query}", server.addr))
            .await
            .unwrap();
        until(
            client,
            "live status over wss",
            "return document.getElementById('status').textContent === 'live';",
        )
        .await;
        until(
            client,
            "updates over wss",
            "return Number(document.getElementById('updates').textContent) >= 2;",
        )
        .await;
        no_page_errors(client).await;
        server.stop().await.unwrap();
    }
    s.close().await;
}

/// The charts a host with every reading has: the AMD desktop fixture's
/// GPU, temperatures and fans, Docker and nginx cgroups, and this
/// machine's CPU, memory and network.
const CHARTS: &[&str] = &[
    "cpu",
    "memory",
    "net",
    "gpu-util",
    "gpu-memory",
    "gpu-temp",
    "temps",
    "fans",
    "containers-cpu",
    "containers-memory",
];

/// Drawn pixels in a chart's canvas: uPlot's data says what it was given,
/// this says something reached the screen.
const PAINTED: &str = "const c = window.__sondeCharts[arguments[0]]; const cv = c.u.ctx.canvas; \
    const d = c.u.ctx.getImageData(0, 0, cv.width, cv.height).data; let n = 0; \
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;";

/// Saves a screenshot under `target/` (the ones in `docs/` are copied from
/// there by hand, after a look).
async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(name);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(out, png).unwrap();
}

#[tokio::test]
async fn the_live_page_charts_every_reading_the_host_has_in_chromium() {
    if chromium_missing("the_live_page_charts") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sys = common::amd_desktop_with_containers(dir.path());
    let server = Server::start(&["--sys-root", sys.to_str().unwrap()]).await;
    // A child of this process (the server runs in it), for the tree view.
    let child = Killed(Command::new("sleep").arg("600").spawn().unwrap());
    let (me, kid) = (std::process::id(), child.0.id());
    let base = format!("http://{}/", server.addr);
    let (_, disk_io) = server.http_get("/api/disk_io", &[]).await;
    let disk_io: Value = serde_json::from_str(disk_io.split_once("\r\n\r\n").unwrap().1).unwrap();
    let pressure = std::path::Path::new("/proc/pressure/cpu").exists();

    for (scheme, switches) in [("light", &[][..]), ("dark", &["--force-dark-mode"][..])] {
        let Some(s) = session("the_live_page_charts", switches).await else {
            return;
        };
        let client = &s.client;
        client.set_window_size(1440, 2600).await.unwrap();
        client.goto(&base).await.unwrap();
        let dark = js(
            client,
            "return matchMedia('(prefers-color-scheme: dark)').matches;",
        )
        .await;
        assert_eq!(dark, json!(scheme == "dark"));
        // Every chart the host has data for draws a series of two samples
        // or more, and paints its canvas.
        let mut expected: Vec<&str> = CHARTS.to_vec();
        if !disk_io["devices"].as_array().unwrap().is_empty() {
            expected.extend(["disk-io", "disk-busy"]);
        }
        if pressure {
            expected.push("pressure");
        }
        let script = format!(
            "const c = window.__sondeCharts; return {}.filter(n => !(c[n] && c[n].drawn()));",
            json!(expected)
        );
        let t0 = Instant::now();
        loop {
            let missing = client.execute(&script, vec![]).await.unwrap();
            if missing == json!([]) {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "charts not drawn ({scheme}): {missing}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        for name in &expected {
            let painted = client.execute(PAINTED, vec![json!(name)]).await.unwrap();
            assert!(painted.as_u64().unwrap() > 500, "{name}: {painted} pixels");
        }
        // Hovering a chart: the time and each series' value there.
        let tip = js(client, "const u = window.__sondeCharts['cpu'].u; u.setCursor({ left: u.over.clientWidth - 2, top: 20 }); \
                 const t = u.over.querySelector('.tip'); const text = !t.hidden && t.textContent; \
                 u.setCursor({ left: -10, top: -10 }); return text;").await;
        let tip = tip.as_str().unwrap_or_default();
        assert!(
            tip.contains("all CPUs") && tip.contains('%') && tip.contains(':'),
            "{tip}"
        );
        let heat = js(
            client,
            "const c = document.getElementById('heat'); return c.width * c.height > 0 && c.height;",
        )
        .await;
        assert_eq!(
            heat,
            json!(
                std::fs::read_to_string("/proc/stat")
                    .unwrap()
                    .lines()
                    .filter(|l| l.starts_with("cpu")
                        && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
                    .count()
            ),
            "a heat row per core"
        );
        // The background follows the scheme.
        let background = js(
            client,
            "return getComputedStyle(document.body).backgroundColor;",
        )
        .await;
        let want = if scheme == "dark" {
            "rgb(15, 20, 25)"
        } else {
            "rgb(246, 248, 250)"
        };
        assert_eq!(background, json!(want));
        // A panel for a reading the host lacks is absent, not zero.
        let absent = js(client, "return [...document.querySelectorAll('section.panel')].filter(s => s.hidden).map(s => s.id);").await;
        assert!(
            absent
                .as_array()
                .unwrap()
                .iter()
                .all(|id| id == "detail-section"
                    || (id == "disk-io-section" && !expected.contains(&"disk-io"))
                    || (id == "pressure-section" && !pressure)),
            "{absent}"
        );

        // The tree view: the child right under its parent, one level in.
        click(client, Locator::Id("tree")).await;
        let placed = until(
            client,
            "the child under its parent",
            &format!(
                "const rows = [...document.querySelectorAll('#procs tbody tr')]; \
                 const i = rows.findIndex(r => r.dataset.pid === '{kid}'); if (i < 0) return false; \
                 const depth = Number(rows[i].dataset.depth); let j = i - 1; \
                 while (j >= 0 && Number(rows[j].dataset.depth) >= depth) j--; \
                 return j >= 0 && rows[j].dataset.pid === '{me}' && Number(rows[j].dataset.depth) === depth - 1 && depth;"
            ),
        )
        .await;
        assert!(placed.as_u64().unwrap() >= 1, "{placed}");
        click(client, Locator::Id("tree")).await;

        // The process detail: its charts, threads and children.
        click(
            client,
            Locator::Css(&format!("#procs tbody tr[data-pid='{me}']")),
        )
        .await;
        until_within(
            client,
            "the process's charts",
            "const c = window.__sondeCharts; return c['detail-cpu'].drawn() && c['detail-memory'].drawn();",
            20,
        )
        .await;
        let children: Vec<String> = serde_json::from_value(
            js(client, "return [...document.querySelectorAll('#children tbody tr')].map(r => r.dataset.pid);").await,
        )
        .unwrap();
        assert!(children.contains(&kid.to_string()), "{children:?}");
        let threads = js(
            client,
            "return document.querySelectorAll('#threads tbody tr').length;",
        )
        .await;
        assert!(
            threads.as_u64().unwrap() >= 2,
            "the test runs threads: {threads}"
        );
        // A host with a GPU offers the GPU column; on, it has a cell a row
        // (no process of this machine holds the fixture's GPU: a dash).
        click(client, Locator::Id("gpu")).await;
        until(
            client,
            "the GPU column",
            "const rows = [...document.querySelectorAll('#procs tbody tr')]; \
             return !document.getElementById('gpu-toggle').hidden && !document.getElementById('sort-gpu').hidden \
               && rows.length > 0 && rows.every(r => r.cells.length === 5);",
        )
        .await;
        click(client, Locator::Id("gpu")).await;
        // For the screenshots in docs/: a longer history, when asked.
        if let Some(dwell) = std::env::var("SONDE_SCREENSHOT_DWELL_S")
            .ok()
            .and_then(|s| s.parse().ok())
        {
            tokio::time::sleep(Duration::from_secs(dwell)).await;
        }
        screenshot(client, &format!("page-1440-{scheme}.png")).await;

        // A 2,560 px monitor: the panels spread over more columns.
        client.set_window_size(2560, 1600).await.unwrap();
        let columns = until(
            client,
            "a wide layout",
            "const xs = new Set([...document.querySelectorAll('section.panel:not([hidden])')].map(s => Math.round(s.getBoundingClientRect().left))); \
             return document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1 && xs.size >= 4 && xs.size;",
        )
        .await;
        assert!(columns.as_u64().unwrap() >= 4, "{columns}");
        screenshot(client, &format!("page-2560-{scheme}.png")).await;
        // A phone's width: one column, nothing wider than the screen.
        client.set_window_size(390, 2600).await.unwrap();
        assert_eq!(phone_width_overflow(client).await, json!("fits"));
        js(
            client,
            "document.getElementById('detail-close').click(); window.scrollTo(0, 0);",
        )
        .await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        screenshot(client, &format!("page-390-{scheme}.png")).await;

        no_page_errors(client).await;
        s.close().await;
    }
    drop(child);
}

/// Once the window is a phone's 390 px wide: `"fits"` where nothing
/// makes the page wider than the screen, else the elements reaching past
/// it.
async fn phone_width_overflow(client: &Client) -> Value {
    until(
        client,
        "a phone-width layout",
        "const d = document.documentElement; if (d.clientWidth > 390) return false; \
         if (d.scrollWidth <= d.clientWidth + 1) return 'fits'; \
         return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > d.clientWidth + 1) \
           .map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 8).join(', ');",
    )
    .await
}

/// A chart legend's label wider than a phone (a GPU's marketing name from
/// `pci.ids`, here a service's long name) made the whole page wider than
/// the screen: the legend did not wrap.
#[tokio::test]
async fn a_long_name_in_a_chart_legend_does_not_widen_the_page_on_a_phone_in_chromium() {
    let Some(s) = session("a_long_name_in_a_chart_legend", &[]).await else {
        return;
    };
    let client = &s.client;
    let dir = tempfile::tempdir().unwrap();
    let sys = common::amd_desktop_with_containers(dir.path());
    common::cgroup(
        &sys,
        "/system.slice/a-service-whose-name-is-wider-than-a-phone-screen-in-a-chart-legend.service",
        &[
            ("cpu.stat", "usage_usec 2000\n"),
            ("memory.current", "1048576\n"),
            ("pids.current", "1\n"),
        ],
    );
    let server = Server::start(&["--sys-root", sys.to_str().unwrap()]).await;
    client.set_window_size(390, 2600).await.unwrap();
    client
        .goto(&format!("http://{}/", server.addr))
        .await
        .unwrap();
    until(
        client,
        "the containers' chart with the long name in its legend",
        "const c = window.__sondeCharts['containers-cpu']; \
         return c && c.drawn() && document.getElementById('chart-containers-cpu').textContent.includes('wider-than-a-phone');",
    )
    .await;
    assert_eq!(phone_width_overflow(client).await, json!("fits"));
    no_page_errors(client).await;
    s.close().await;
}

#[tokio::test]
async fn the_gpu_column_shows_who_uses_the_gpu_in_chromium() {
    let Some(s) = session("the_gpu_column", &[]).await else {
        return;
    };
    let client = &s.client;
    let dir = tempfile::tempdir().unwrap();
    let sys = fixture_sys(dir.path());
    let proc = proc_with_a_gpu_client(dir.path(), 0);
    let server = Server::start(&["--sys-root", &sys, "--proc-root", &proc]).await;
    // The fixture's one process keeps the AMD GPU a quarter busy: 250 ms
    // of gfx time in every second.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy = {
        let (stop, root) = (std::sync::Arc::clone(&stop), dir.path().to_owned());
        std::thread::spawn(move || {
            let t0 = Instant::now();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                gpu_client(&root, t0.elapsed().as_nanos() as u64 / 4);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    client
        .goto(&format!("http://{}/", server.addr))
        .await
        .unwrap();
    until(
        client,
        "the GPU toggle on a host with a GPU",
        "return !document.getElementById('gpu-toggle').hidden;",
    )
    .await;
    js(
        client,
        "document.getElementById('gpu').click(); document.getElementById('sort-gpu').click(); \
             document.getElementById('procs-section').scrollIntoView();",
    )
    .await;
    let share = until(
        client,
        "the game's share of the GPU",
        "const row = document.querySelector('#procs tbody tr[data-pid=\"500\"]'); \
         const cell = row && row.cells[row.cells.length - 1].textContent; \
         return cell && cell.endsWith('%') && parseFloat(cell) > 15 && cell;",
    )
    .await;
    let percent: f64 = share
        .as_str()
        .unwrap()
        .trim_end_matches('%')
        .trim()
        .parse()
        .unwrap();
    assert!((15.0..=30.0).contains(&percent), "{share}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    screenshot(client, "page-gpu.png").await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    busy.join().unwrap();
    no_page_errors(client).await;
    s.close().await;
}

#[tokio::test]
async fn the_live_page_is_driven_by_the_keyboard_in_chromium() {
    let Some(s) = session("the_live_page_keyboard", &[]).await else {
        return;
    };
    let client = &s.client;
    let server = Server::start(&[]).await;
    client
        .goto(&format!("http://{}/", server.addr))
        .await
        .unwrap();
    until(
        client,
        "process rows",
        "return document.querySelectorAll('#procs tbody tr').length > 2;",
    )
    .await;
    // A reading this host lacks is asked for once: this machine has no
    // fans (a VM), so the page stops asking for sensors.
    let fans = std::fs::read_dir("/sys/class/hwmon")
        .into_iter()
        .flatten()
        .flatten()
        .any(|chip| {
            std::fs::read_dir(chip.path())
                .into_iter()
                .flatten()
                .flatten()
                .any(|f| {
                    let name = f.file_name();
                    let name = name.to_string_lossy();
                    name.starts_with("fan") && name.ends_with("_input")
                })
        });
    if !fans {
        until(
            client,
            "sensors no longer asked for",
            "return window.__sondeUnneeded.has('sensors') && document.getElementById('fans-section').hidden;",
        )
        .await;
    }
    // `/` goes to the filter; typing filters.
    let me = std::process::id().to_string();
    let body = client.find(Locator::Css("body")).await.unwrap();
    body.send_keys("/").await.unwrap();
    let focused = js(client, "return document.activeElement.id;").await;
    assert_eq!(focused, json!("filter"));
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(&me)
        .await
        .unwrap();
    until(
        client,
        "the filtered table",
        &format!("const r = [...document.querySelectorAll('#procs tbody tr')]; return r.length >= 1 && r.every(t => t.dataset.pid.startsWith('{me}'));"),
    )
    .await;
    // A row takes the focus, and Enter opens it; Escape closes it.
    let row = client
        .find(Locator::Css(&format!("#procs tbody tr[data-pid='{me}']")))
        .await
        .unwrap();
    client
        .execute(
            "arguments[0].focus();",
            vec![serde_json::to_value(&row).unwrap()],
        )
        .await
        .unwrap();
    row.send_keys("\u{E007}").await.unwrap();
    until(
        client,
        "the detail pane",
        "return !document.getElementById('detail-section').hidden && document.getElementById('detail').textContent.includes('command');",
    )
    .await;
    client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    until(
        client,
        "the pane closed",
        "return document.getElementById('detail-section').hidden;",
    )
    .await;
    no_page_errors(client).await;
    s.close().await;
}

#[tokio::test]
async fn the_live_page_says_it_lost_the_agent_and_comes_back_in_chromium() {
    let Some(s) = session("the_live_page_reconnects", &[]).await else {
        return;
    };
    let client = &s.client;
    let server = Server::start(&[]).await;
    let addr = server.addr.to_string();
    client.goto(&format!("http://{addr}/")).await.unwrap();
    let live = "return document.getElementById('status').textContent === 'live';";
    until(client, "live status", live).await;
    server.stop().await.unwrap();
    // The agent said goodbye (1001); then each try fails, and the wait
    // doubles (the page keeps the statuses it showed: each lasts a second
    // or two, less than a look may take on a loaded machine).
    let backed_off = "const log = window.__sondeStatus; \
         const bye = log.findIndex(s => s.startsWith('the agent is shutting down; reconnecting in 1 s')); \
         return bye >= 0 && log.slice(bye).some(s => /^disconnected; reconnecting in [2-4] s/.test(s)) \
           && document.getElementById('status').className === 'bad';";
    let t0 = Instant::now();
    while client.execute(backed_off, vec![]).await.unwrap() != json!(true) {
        if t0.elapsed() > Duration::from_secs(20) {
            let log = js(client, "return window.__sondeStatus;").await;
            panic!("no longer wait after a failed try; the statuses shown: {log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = Server::start_on(&addr, &[]).await;
    until(client, "live again", live).await;
    let before = js(
        client,
        "return Number(document.getElementById('updates').textContent);",
    )
    .await;
    until(
        client,
        "updates after the reconnect",
        &format!("return Number(document.getElementById('updates').textContent) > {before};"),
    )
    .await;
    no_page_errors(client).await;
    s.close().await;
    again.stop().await.unwrap();
}

#[tokio::test]
async fn a_page_opened_later_draws_the_minutes_another_page_watched_in_chromium() {
    let Some(s) = session("a_page_opened_later", &[]).await else {
        return;
    };
    let client = &s.client;
    // Not redacting: the connections' screenshot shows whom they talk to.
    let server = Server::start(&["--redact", "off"]).await;
    let base = format!("http://{}/", server.addr);
    client.set_window_size(1440, 1100).await.unwrap();
    client.goto(&base).await.unwrap();
    // The first page watches for a minute (120 samples at its 500 ms).
    until_within(
        client,
        "the first page's 120 samples",
        "return window.__sondeCharts.cpu.series.t.length >= 120;",
        150,
    )
    .await;
    assert_eq!(
        js(client, "return window.__sondeHistory.metrics.rows;").await,
        json!(0),
        "the first page found no history: nobody watched before it"
    );
    // A second page, opened now, draws them from the agent's history
    // before its first live sample.
    client.goto(&base).await.unwrap();
    let drawn = until(
        client,
        "the history drawn",
        "return window.__sondeHistory.metrics;",
    )
    .await;
    assert_eq!(drawn["liveBefore"], json!(0), "{drawn}");
    assert!(
        drawn["cpuPoints"].as_u64().unwrap() >= 50,
        "uPlot was given {drawn} before the first live sample"
    );
    assert!(
        js(client, "return window.__sondeCharts.cpu.drawn();")
            .await
            .as_bool()
            .unwrap()
    );
    // Every kind's history came before its live replies: none of its rows
    // was refused as older than a live sample.
    if std::path::Path::new("/proc/pressure/cpu").exists() {
        let pressure = js(client, "return [window.__sondeHistory.pressure.rows, window.__sondeCharts.pressure.series.t.length];").await;
        assert!(
            pressure[0].as_u64().unwrap() >= 10
                && pressure[1].as_u64().unwrap() >= pressure[0].as_u64().unwrap(),
            "pressure history rows and charted samples: {pressure}"
        );
    }
    // A time nobody watched is a gap (a null the chart does not bridge),
    // not a line from the last sample before it to the first after.
    let gap = js(client, "const s = new Series(); for (const t of [1, 2, 3, 100, 101]) s.push(t, { a: t }); return s.cols.get('a');").await;
    assert_eq!(gap, json!([1, 2, 3, null, 100, 101]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    screenshot(client, "page-history.png").await;
    // The disk I/O column appears when asked for, with each process's
    // rate, and sorts.
    click(client, Locator::Id("io")).await;
    until(
        client,
        "the disk I/O column",
        "const rows = [...document.querySelectorAll('#procs tbody tr')]; \
         return !document.getElementById('sort-io').hidden && rows.length > 0 \
           && rows.every(r => r.cells.length === 5) && rows.some(r => r.cells[4].textContent.endsWith('/s'));",
    )
    .await;
    click(client, Locator::Id("sort-io")).await;
    js(
        client,
        "document.getElementById('procs-section').scrollIntoView();",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    screenshot(client, "page-disk-io.png").await;
    let on = js(
        client,
        "return document.getElementById('sort-io').className;",
    )
    .await;
    assert_eq!(on, json!("num on"));
    // The network column: each process's TCP traffic (the agent's own
    // connection to this page moves bytes every second), sorted by it.
    // Clicked by script: the page's sticky header covers the row of
    // toggles once the table is scrolled into view.
    js(
        client,
        "document.getElementById('proc-net').click(); document.getElementById('sort-net').click();",
    )
    .await;
    until(
        client,
        "the network column",
        "const rows = [...document.querySelectorAll('#procs tbody tr')]; \
         return !document.getElementById('sort-net').hidden && rows.length > 0 \
           && rows.every(r => r.cells.length === 6) && rows[0].cells[5].textContent.endsWith('/s') \
           && rows[0].cells[5].textContent !== '0 B/s';",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    screenshot(client, "page-network.png").await;
    // The busiest process's drill-down lists its connections, like
    // `ss -tinp` for it.
    js(client, "document.querySelector('#procs tbody tr').click();").await;
    until(
        client,
        "the connections of the busiest process",
        "const rows = [...document.querySelectorAll('#connections tbody tr')]; \
         return !document.getElementById('connections-section').hidden \
           && rows.some(r => r.cells[2].textContent === 'established' && r.cells[3].textContent.endsWith('/s'));",
    )
    .await;
    js(
        client,
        "document.getElementById('detail-section').scrollIntoView();",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    screenshot(client, "page-connections.png").await;
    // A host without a GPU offers no GPU column.
    if !std::path::Path::new("/dev/dri").exists() {
        let offered = js(
            client,
            "return document.getElementById('gpu-toggle').hidden;",
        )
        .await;
        assert_eq!(offered, json!(true), "no GPU here, no GPU column");
    }
    no_page_errors(client).await;
    s.close().await;
}
