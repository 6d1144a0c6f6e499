//! The live page at `/`: one HTML document made once from the files in
//! `assets/` (the page's markup, style and script, and the vendored uPlot),
//! with every script inline, so it works offline and over wss with nothing
//! fetched from elsewhere. It carries no data (it reads `/ws` with the token
//! from its own address), but with a token set it is not served without
//! one either: only `/healthz` is open. It is compressed as the other HTTP
//! surfaces are, by the router's compression layer.

use std::sync::LazyLock;

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use crate::auth;

/// The page's markup, with `<!-- styles -->` and `<!-- scripts -->` where
/// the rest goes.
const INDEX: &str = include_str!("../../assets/index.html");
/// The page's own style and script.
const STYLE: &str = include_str!("../../assets/page.css");
const SCRIPT: &str = include_str!("../../assets/page.js");
/// uPlot, the charting library (`assets/vendor/uplot/README.md` says which
/// release and from where).
const UPLOT_STYLE: &str = include_str!("../../assets/vendor/uplot/uPlot.min.css");
const UPLOT_SCRIPT: &str = include_str!("../../assets/vendor/uplot/uPlot.iife.min.js");

/// The page as served, made on first use.
struct Page {
    /// The document.
    html: String,
    /// The CSP `script-src` sources: each inline script's SHA-256.
    script_sources: String,
}

static PAGE: LazyLock<Page> = LazyLock::new(|| {
    let scripts = [UPLOT_SCRIPT, SCRIPT];
    let html = compose(INDEX, &[UPLOT_STYLE, STYLE], &scripts);
    Page {
        html,
        script_sources: scripts.map(script_hash).join(" "),
    }
});

/// The document: `styles` inline where `<!-- styles -->` is, each of
/// `scripts` in its own `<script>` where `<!-- scripts -->` is.
pub fn compose(index: &str, styles: &[&str], scripts: &[&str]) -> String {
    let style = format!("<style>\n{}</style>", styles.join("\n"));
    let script: String = scripts
        .iter()
        .map(|s| format!("<script>{s}</script>\n"))
        .collect();
    index
        .replacen("<!-- styles -->", &style, 1)
        .replacen("<!-- scripts -->", &script, 1)
}

/// The CSP source allowing one inline script: its SHA-256.
pub fn script_hash(script: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(script.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// `GET /`: the live page, with a policy that lets it run only its own
/// scripts, talk only to this agent (HTTP and ws/wss on the host it was
/// reached as), never be framed, and never send its address (which may
/// carry `?token=`) as a referrer.
pub async fn handler(_auth: auth::Authorized, headers: HeaderMap) -> Response {
    // The Host header, when it is a plain host[:port], names the ws/wss
    // origins; anything else leaves only 'self'.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    let sockets = host.map_or(String::new(), |h| format!(" ws://{h} wss://{h}"));
    let page: &'static Page = &PAGE;
    let policy = format!(
        "default-src 'none'; script-src {}; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'{sockets}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        page.script_sources
    );
    let mut response = page.html.as_str().into_response();
    let out = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
        (header::CONTENT_SECURITY_POLICY, policy),
        (header::REFERRER_POLICY, "no-referrer".to_owned()),
        (header::X_FRAME_OPTIONS, "DENY".to_owned()),
    ] {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            out.insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_piece_lands_in_the_document() {
        let html = compose(
            "<head><!-- styles --></head><body><!-- scripts --></body>",
            &["a{}", "b{}"],
            &["one()", "two()"],
        );
        assert_eq!(
            html,
            "<head><style>\na{}\nb{}</style></head><body><script>one()</script>\n<script>two()</script>\n</body>"
        );
        let page = &*PAGE;
        assert!(page.html.contains("uPlot") && !page.html.contains("<!-- scripts -->"));
        assert_eq!(page.script_sources.matches("'sha256-").count(), 2);
        assert!(
            !UPLOT_SCRIPT.contains("</script") && !SCRIPT.contains("</script"),
            "a script that closes its own element would end early"
        );
    }
}
