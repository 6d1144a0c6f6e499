//! Safe next to a browser: every request passes here before any handler,
//! upgrade or collection.
//!
//! - **Origin**: a request carrying an `Origin` other than the agent's own
//!   (same scheme, host and port it was reached on) and not allowed with
//!   `--cors-origin` is refused with 403. Browsers send `Origin` on every
//!   WebSocket upgrade and cross-origin fetch, so a page from another site
//!   cannot read the agent through its visitor. Clients without `Origin`
//!   (the socktop TUI, `socktop_connector`, scripts, Prometheus) pass.
//! - **Cross-site requests**: a request the browser marks as made by
//!   another site's page (`Sec-Fetch-Site: cross-site` or `same-site`, not
//!   a navigation) is refused with 403 before its token is looked at.
//! - **Host** (DNS rebinding): after rebinding, the attacker's page is
//!   same-origin with the agent; only its `Host` header gives it away, and
//!   it is the one header a page cannot set (Firefox lets a page's `fetch`
//!   set `User-Agent`, and a same-origin GET over plain HTTP carries neither
//!   `Origin` nor `Sec-Fetch-*`). Without a token, every request but
//!   `/healthz` must name an IP address, `localhost` (or `*.localhost`),
//!   this machine's hostname or a name `/etc/hosts` gives it (its FQDN), a
//!   TLS name, or an `--allowed-host`; otherwise 421. With a token, a
//!   rebound page cannot present it, so only requests that look like a
//!   browser's (`Origin`, `Sec-Fetch-*` or a `Mozilla/` user agent) are held
//!   to those names, and other clients may use any DNS alias.
//! - **Failed tokens**: an address that presents a wrong token
//!   [`FAILURES_ALLOWED`] times within [`FAILURE_WINDOW`] gets 429 with
//!   `Retry-After` for the rest of the window, logged once per address per
//!   window and counted on `/metrics`. A missing token does not count, nor
//!   does a wrong one whose `Referer` is another site's page; `/healthz` is
//!   never throttled. Other addresses are never slowed.
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

use crate::auth::WrongToken;
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
    /// Host names requests may use, lowercased; `*` allows any.
    hosts: Vec<String>,
    /// Failed tokens per address.
    failures: Mutex<HashMap<IpAddr, Failures>>,
    /// Requests refused for a wrong or missing token.
    pub failed_tokens: AtomicU64,
    /// Requests refused with 429 from a throttled address.
    pub throttled: AtomicU64,
    /// Requests refused for their `Origin`.
    pub bad_origins: AtomicU64,
    /// Requests refused for their `Host`.
    pub bad_hosts: AtomicU64,
    /// Requests refused as another site's (`Sec-Fetch-Site`).
    pub cross_site: AtomicU64,
}

impl Guard {
    /// The guard for `config`; warns when the host check is off.
    pub fn new(config: &Config) -> Arc<Guard> {
        let mut hosts: Vec<String> = super::tls::subject_names(&config.tls.extra_sans)
            .into_iter()
            .map(|n| n.to_ascii_lowercase())
            .collect();
        let hostname = hosts.first().cloned().unwrap_or_default();
        let etc_hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        hosts.extend(names_of_host(&etc_hosts, &hostname));
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
            cross_site: AtomicU64::new(0),
        })
    }

    /// Whether `origin` is the agent's own (reached as `host`) or allowed.
    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        let scheme = if self.tls { "https" } else { "http" };
        let own = host.map(|h| format!("{scheme}://{}", h.to_ascii_lowercase()));
        own.is_some_and(|own| own == origin) || self.origins.contains(&origin)
    }

    /// Whether a request may reach the agent by `host` (a `Host` header).
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

/// The names `/etc/hosts` gives `hostname` (its FQDN, its aliases): every
/// name on a line that names it.
fn names_of_host(etc_hosts: &str, hostname: &str) -> Vec<String> {
    let hostname = hostname.to_ascii_lowercase();
    if hostname.is_empty() {
        return Vec::new();
    }
    let mut names = Vec::new();
    for line in etc_hosts.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let on_line: Vec<String> = line
            .split_ascii_whitespace()
            .skip(1)
            .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        if on_line.contains(&hostname) {
            names.extend(on_line);
        }
    }
    names
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

/// True when the browser says another site's page made the request
/// (`Sec-Fetch-Site: cross-site` or `same-site`) and it is not a navigation
/// (a person following a link chose to open the agent).
fn from_another_site(headers: &HeaderMap) -> bool {
    let fetch = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    fetch("sec-fetch-site").is_some_and(|s| {
        s.eq_ignore_ascii_case("cross-site") || s.eq_ignore_ascii_case("same-site")
    }) && !fetch("sec-fetch-mode").is_some_and(|m| m.eq_ignore_ascii_case("navigate"))
}

/// The origin (`scheme://host[:port]`) of a `Referer`.
fn referer_origin(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let (scheme, rest) = referer.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(format!("{scheme}://{authority}"))
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

/// The middleware: the origin, cross-site, host and throttle checks, then
/// the request.
pub async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let has_origin = headers.contains_key(header::ORIGIN);
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
    if !has_origin && from_another_site(headers) {
        guard.cross_site.fetch_add(1, Ordering::Relaxed);
        return refuse(
            StatusCode::FORBIDDEN,
            "cross-site request refused: another site's page asked for this agent (Sec-Fetch-Site)"
                .to_owned(),
        );
    }
    let health = request.uri().path() == "/healthz";
    let host_refused = match host {
        Some(h) => (!guard.token_set || from_browser(headers)) && !guard.host_allowed(h),
        None => from_browser(headers),
    };
    if !health && host_refused {
        guard.bad_hosts.fetch_add(1, Ordering::Relaxed);
        let named = host.unwrap_or("(none)");
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "this agent was reached as {named:?}, a host name it does not know (DNS rebinding?); use its IP address or hostname, or add the name with --allowed-host"
            ),
        );
    }
    // A wrong token on a request another site's page made (its Referer says
    // so) is not the client's own guess: it does not count.
    let foreign_referer = referer_origin(headers).is_some_and(|o| !guard.origin_allowed(&o, host));
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let now = Instant::now();
    if guard.token_set
        && !health
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
    if response.status() == StatusCode::UNAUTHORIZED {
        guard.failed_tokens.fetch_add(1, Ordering::Relaxed);
        if response.extensions().get::<WrongToken>().is_some()
            && !foreign_referer
            && let Some(ip) = ip
        {
            guard.note_failure(ip, now);
        }
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
    fn etc_hosts_gives_the_hostname_s_fqdn_and_aliases() {
        let hosts = "127.0.0.1 localhost\n127.0.1.1\tweb1.prod.example.com web1 # this machine\n10.0.0.9 other\n";
        assert_eq!(
            names_of_host(hosts, "WEB1"),
            ["web1.prod.example.com", "web1"]
        );
        assert!(names_of_host(hosts, "").is_empty());
        assert!(names_of_host(hosts, "absent").is_empty());
    }

    #[test]
    fn another_site_s_subresource_is_told_from_a_navigation() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        assert!(from_another_site(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-mode", "no-cors")
        ])));
        assert!(from_another_site(&headers(&[
            ("sec-fetch-site", "same-site"),
            ("sec-fetch-mode", "cors")
        ])));
        assert!(!from_another_site(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-mode", "navigate")
        ])));
        assert!(!from_another_site(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(!from_another_site(&headers(&[])));
        let r = headers(&[("referer", "https://evil.example:8443/page?q=1")]);
        assert_eq!(
            referer_origin(&r).as_deref(),
            Some("https://evil.example:8443")
        );
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
