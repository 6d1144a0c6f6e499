//! Safe next to a browser: every request passes here before any handler,
//! upgrade or collection.
//!
//! - **Origin**: a request carrying an `Origin` other than the agent's own
//!   (same scheme, host and port it was reached on) and not allowed with
//!   `--cors-origin` is refused with 403. Browsers send `Origin` on every
//!   WebSocket upgrade and cross-origin fetch, so a page from another site
//!   cannot read the agent through its visitor. Clients without `Origin`
//!   (the socktop TUI, `socktop_connector`, scripts, Prometheus) pass.
//! - **Host** (DNS rebinding): after rebinding, the attacker's page is
//!   same-origin with the agent; only its `Host` header gives it away. A
//!   request that looks like a browser's (it carries `Origin`, a
//!   `Sec-Fetch-*` header or a browser's `Mozilla/` user agent) must name
//!   an IP address, `localhost` (or
//!   `*.localhost`), this machine's hostname, a TLS name, or an
//!   `--allowed-host`; otherwise 421. Other clients may use any DNS alias.
//! - **Failed tokens**: an address that presents a wrong token
//!   [`FAILURES_ALLOWED`] times within [`FAILURE_WINDOW`] gets 429 with
//!   `Retry-After` for the rest of the window, logged once per address per
//!   window and counted on `/metrics`. Other addresses are never slowed.
//! - Every response carries `X-Content-Type-Options: nosniff`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::warn;

use crate::config::Config;

/// Wrong tokens an address may present per window before it is slowed.
pub const FAILURES_ALLOWED: u32 = 10;
/// The window failed tokens are counted over.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at once (the oldest windows are dropped first), so
/// a flood from many addresses costs bounded memory.
const ADDRESSES_MAX: usize = 4096;

/// One address's failed tokens in its current window.
#[derive(Debug, Clone, Copy)]
struct Failures {
    since: Instant,
    count: u32,
    logged: bool,
}

/// What the guard allows, and what it has refused.
#[derive(Debug)]
pub struct Guard {
    /// The agent answers over TLS (its own origin is `https://`).
    tls: bool,
    /// A token is set (without one, nothing is ever refused for it).
    token_set: bool,
    /// Origins allowed beside the agent's own (`--cors-origin`).
    origins: Vec<String>,
    /// Host names browsers may use, lowercased; `*` allows any.
    hosts: Vec<String>,
    /// Failed tokens per address.
    failures: Mutex<HashMap<IpAddr, Failures>>,
    /// Requests refused for a wrong or missing token.
    pub failed_tokens: AtomicU64,
    /// Requests refused with 429 from a throttled address.
    pub throttled: AtomicU64,
    /// Requests refused for their `Origin`.
    pub bad_origins: AtomicU64,
    /// Browser requests refused for their `Host`.
    pub bad_hosts: AtomicU64,
}

impl Guard {
    /// The guard for `config`; warns when the host check is off.
    pub fn new(config: &Config) -> Arc<Guard> {
        let mut hosts: Vec<String> = super::tls::subject_names(&config.tls.extra_sans)
            .into_iter()
            .map(|n| n.to_ascii_lowercase())
            .collect();
        hosts.extend(config.http.allowed_hosts.iter().cloned());
        if hosts.iter().any(|h| h == "*") {
            warn!(
                "--allowed-host '*': browsers may reach this agent under any host name, so a DNS-rebinding page can read it"
            );
        }
        Arc::new(Guard {
            tls: config.tls.enabled,
            token_set: config.listen.token.is_some(),
            origins: config
                .http
                .cors_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
            hosts,
            failures: Mutex::new(HashMap::new()),
            failed_tokens: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            bad_origins: AtomicU64::new(0),
            bad_hosts: AtomicU64::new(0),
        })
    }

    /// Whether `origin` is the agent's own (reached as `host`) or allowed.
    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        let scheme = if self.tls { "https" } else { "http" };
        let own = host.map(|h| format!("{scheme}://{}", h.to_ascii_lowercase()));
        own.is_some_and(|own| own == origin) || self.origins.contains(&origin)
    }

    /// Whether a browser may reach the agent by `host` (a `Host` header).
    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        if name.parse::<IpAddr>().is_ok() || name == "localhost" || name.ends_with(".localhost") {
            return true;
        }
        self.hosts.iter().any(|h| {
            h == "*"
                || *h == name
                || h.strip_prefix("*.")
                    .is_some_and(|domain| name.ends_with(&format!(".{domain}")))
        })
    }

    /// Seconds `ip` must wait, when it is throttled now.
    fn throttled_for(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let f = failures.get(&ip)?;
        let left = FAILURE_WINDOW
            .checked_sub(now.duration_since(f.since))
            .filter(|left| !left.is_zero())?;
        (f.count >= FAILURES_ALLOWED).then(|| left.as_secs().max(1))
    }

    /// Counts a wrong token from `ip`; logs the address once per window
    /// when it crosses the limit.
    fn note_failure(&self, ip: IpAddr, now: Instant) {
        self.failed_tokens.fetch_add(1, Ordering::Relaxed);
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() >= ADDRESSES_MAX && !failures.contains_key(&ip) {
            failures.retain(|_, f| now.duration_since(f.since) < FAILURE_WINDOW);
            if failures.len() >= ADDRESSES_MAX
                && let Some(oldest) = failures
                    .iter()
                    .min_by_key(|(_, f)| f.since)
                    .map(|(a, _)| *a)
            {
                failures.remove(&oldest);
            }
        }
        let f = failures.entry(ip).or_insert(Failures {
            since: now,
            count: 0,
            logged: false,
        });
        if now.duration_since(f.since) >= FAILURE_WINDOW {
            *f = Failures {
                since: now,
                count: 0,
                logged: false,
            };
        }
        f.count = f.count.saturating_add(1);
        if f.count >= FAILURES_ALLOWED && !f.logged {
            f.logged = true;
            warn!(%ip, failures = f.count, window_secs = FAILURE_WINDOW.as_secs(), "wrong tokens from one address: answering it 429 for the rest of the window");
        }
    }
}

/// The host name of a `Host` header value: without its port, and without
/// the brackets of an IPv6 literal.
fn host_name(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default().to_owned();
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_owned(),
        _ => host,
    }
    .trim_end_matches('.')
    .to_owned()
}

/// True when the request carries what browsers send: `Origin`, a
/// `Sec-Fetch-*` header, or a browser's `User-Agent` (`Mozilla/…`). The
/// last matters most: over plain HTTP to a name that is not `localhost`,
/// Chromium sends neither `Origin` nor `Sec-Fetch-*` on a same-origin GET,
/// which is exactly what a page does after rebinding; and a page's script
/// cannot change its browser's `User-Agent`.
fn from_browser(headers: &HeaderMap) -> bool {
    headers.contains_key(header::ORIGIN)
        || headers.keys().any(|k| k.as_str().starts_with("sec-fetch-"))
        || headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ua| ua.starts_with("Mozilla/"))
}

/// A one-line refusal.
fn refuse(status: StatusCode, line: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        line + "\n",
    )
        .into_response()
}

/// The middleware: the origin, host and throttle checks, then the request.
pub async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("(not text)");
        if !guard.origin_allowed(origin, host) {
            guard.bad_origins.fetch_add(1, Ordering::Relaxed);
            return refuse(
                StatusCode::FORBIDDEN,
                format!(
                    "cross-origin request refused: Origin {origin} is not this agent's; allow it with --cors-origin"
                ),
            );
        }
    }
    if from_browser(headers) && !host.is_some_and(|h| guard.host_allowed(h)) {
        guard.bad_hosts.fetch_add(1, Ordering::Relaxed);
        let named = host.unwrap_or("(none)");
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "a browser reached this agent as {named:?}, a host name it does not know (DNS rebinding?); add it with --allowed-host"
            ),
        );
    }
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let now = Instant::now();
    if guard.token_set
        && let Some(ip) = ip
        && let Some(wait) = guard.throttled_for(ip, now)
    {
        guard.throttled.fetch_add(1, Ordering::Relaxed);
        let mut r = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many wrong tokens from {ip}; try again in {wait} s"),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return r;
    }
    let mut response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED
        && let Some(ip) = ip
    {
        guard.note_failure(ip, now);
    }
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(args: &[&str]) -> Arc<Guard> {
        let argv = ["sonde"].iter().chain(args);
        Guard::new(&Config::parse_with(argv, |_| None).unwrap())
    }

    #[test]
    fn own_and_allowed_origins() {
        let g = guard(&["--cors-origin", "https://dash.example"]);
        assert!(g.origin_allowed("http://127.0.0.1:3000", Some("127.0.0.1:3000")));
        assert!(!g.origin_allowed("http://127.0.0.1:3001", Some("127.0.0.1:3000")));
        assert!(
            !g.origin_allowed("https://127.0.0.1:3000", Some("127.0.0.1:3000")),
            "scheme"
        );
        assert!(!g.origin_allowed("http://evil.example", Some("127.0.0.1:3000")));
        assert!(!g.origin_allowed("null", Some("127.0.0.1:3000")));
        assert!(g.origin_allowed("https://dash.example", Some("127.0.0.1:3000")));
    }

    #[test]
    fn known_host_names() {
        let g = guard(&["--allowed-host", "box.lan,*.corp.example"]);
        for ok in [
            "127.0.0.1:3000",
            "[::1]:3000",
            "localhost:3000",
            "app.localhost",
            "10.1.2.3",
            "box.lan:3000",
            "a.corp.example",
        ] {
            assert!(g.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example:3000",
            "corp.example.evil",
            "localhost.evil.example",
            "box.lan.evil",
        ] {
            assert!(!g.host_allowed(bad), "{bad}");
        }
        assert!(guard(&["--allowed-host", "*"]).host_allowed("evil.example"));
    }

    #[test]
    fn a_burst_of_wrong_tokens_is_throttled_for_its_window_only() {
        let g = guard(&["--token", "a-long-enough-token"]);
        let (bad, good): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..FAILURES_ALLOWED - 1 {
            g.note_failure(bad, t0);
        }
        assert_eq!(g.throttled_for(bad, t0), None);
        g.note_failure(bad, t0);
        assert_eq!(g.throttled_for(bad, t0), Some(60));
        assert_eq!(
            g.throttled_for(good, t0),
            None,
            "other addresses are never slowed"
        );
        assert_eq!(
            g.throttled_for(bad, t0 + FAILURE_WINDOW),
            None,
            "the window ends"
        );
    }
}
