//! Token authentication: refused with 401 before any upgrade.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use common::{Server, ask, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error, http};

/// Tries to open a WebSocket; Ok(()) on upgrade, Err(status) when refused.
async fn try_ws(server: &Server, path: &str, bearer: Option<&str>) -> Result<(), u16> {
    let mut req = server.url(path).into_client_request().unwrap();
    if let Some(token) = bearer {
        req.headers_mut().insert(
            http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((mut ws, _)) => {
            assert!(json(&ask(&mut ws, "get_metrics").await)["cpu_total"].is_number());
            Ok(())
        }
        Err(Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[tokio::test]
async fn no_token_configured_means_open() {
    let server = Server::start(&[]).await;
    assert_eq!(try_ws(&server, "/ws", None).await, Ok(()));
    assert_eq!(try_ws(&server, "/ws?token=anything", None).await, Ok(()));
}

#[tokio::test]
async fn token_by_query_or_bearer() {
    let server = Server::start(&["--token", "s3cr3t-t0ken"]).await;
    assert_eq!(
        try_ws(&server, "/ws?token=s3cr3t-t0ken", None).await,
        Ok(())
    );
    assert_eq!(try_ws(&server, "/ws", Some("s3cr3t-t0ken")).await, Ok(()));
    assert_eq!(
        try_ws(&server, "/ws?other=1&token=s3cr3t-t0ken", None).await,
        Ok(())
    );
}

#[tokio::test]
async fn missing_wrong_or_empty_tokens_get_401_before_upgrade() {
    let server = Server::start(&["--token", "s3cr3t-t0ken"]).await;
    for (path, bearer) in [
        ("/ws", None),
        ("/ws?token=wrong", None),
        ("/ws?token=", None),
        ("/ws?token=s3cr3t-t0ke", None),
        ("/ws?token=s3cr3t-t0ken2", None),
        ("/ws", Some("wrong")),
        ("/ws", Some("")),
    ] {
        assert_eq!(
            try_ws(&server, path, bearer).await,
            Err(401),
            "{path} {bearer:?}"
        );
    }
    // The raw reply: a 401 with a one-line body, no 101 Switching Protocols.
    let (status, text) = server
        .http_get(
            "/ws?token=nope",
            &[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Version", "13"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ],
        )
        .await;
    assert_eq!(status, 401);
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(body.trim_end().lines().count(), 1, "{body}");
    assert!(!body.contains("s3cr3t"), "the token is never echoed");
}

#[tokio::test]
async fn percent_encoded_tokens_match() {
    let server = Server::start(&["--token", "a+b/c=d&e"]).await;
    assert_eq!(
        try_ws(&server, "/ws?token=a%2Bb%2Fc%3Dd%26e", None).await,
        Ok(())
    );
}
