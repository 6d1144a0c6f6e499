//! Token authentication as an extractor: a request without the right token
//! is refused with 401 before the handler (and so the WebSocket upgrade)
//! runs. The comparison is constant-time; the token is never logged.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::state::AppState;

/// Proof that the request carried the configured token (or that none is set).
#[derive(Debug, Clone, Copy)]
pub struct Authorized;

/// Marks a 401 for a token that was presented and is wrong, as opposed to
/// one that is missing: only a wrong token counts against its address
/// ([`crate::server::guard`]), so a page that makes its visitor's browser request
/// the agent without one cannot get the operator throttled.
#[derive(Debug, Clone, Copy)]
pub struct WrongToken;

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The path prefix of the Glances API, whose clients send HTTP Basic.
pub const GLANCES_PREFIX: &str = "/api/4/";

/// The password of `Authorization: Basic …` (any user name): how Glances'
/// clients (Home Assistant, Homepage) send a password, taken as the token
/// on the Glances API's paths only.
fn basic_password(headers: &HeaderMap) -> Option<String> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (_user, password) = text.split_once(':')?;
    Some(password.to_owned())
}

fn matches(presented: &str, expected: &str) -> bool {
    bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// The 401 reply: one line, and the scheme a client should use (Basic on
/// the Glances API); marked [`WrongToken`] when a token was presented.
fn unauthorized(presented: bool, glances: bool) -> Response {
    let (scheme, text) = if glances {
        (
            "Basic realm=\"sonde\"",
            "missing or invalid token: pass it as the Basic password (any user name), ?token=... or Authorization: Bearer ...\n",
        )
    } else {
        (
            "Bearer",
            "missing or invalid token: pass ?token=... or Authorization: Bearer ...\n",
        )
    };
    let mut response = (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, scheme)],
        text,
    )
        .into_response();
    if presented {
        response.extensions_mut().insert(WrongToken);
    }
    response
}

impl FromRequestParts<Arc<AppState>> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Some(expected) = state.config.listen.token.as_deref() else {
            return Ok(Authorized);
        };
        let header_token = bearer(&parts.headers);
        let query_token = Query::<TokenQuery>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|q| q.0.token);
        let glances = parts.uri.path().starts_with(GLANCES_PREFIX);
        let basic = glances.then(|| basic_password(&parts.headers)).flatten();
        let by_header = header_token.is_some_and(|t| matches(t, expected));
        let by_query = query_token.as_deref().is_some_and(|t| matches(t, expected));
        let by_basic = basic.as_deref().is_some_and(|t| matches(t, expected));
        if by_header || by_query || by_basic {
            Ok(Authorized)
        } else {
            Err(unauthorized(
                header_token.is_some() || query_token.is_some() || basic.is_some(),
                glances,
            ))
        }
    }
}
