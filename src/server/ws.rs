//! The per-connection loop: one reply per request, in order.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use tracing::debug;

use super::auth::Authorized;
use crate::protocol::{self, MAX_FRAME_BYTES, Request};
use crate::state::AppState;

/// `GET /ws`: authorize (before the upgrade), then upgrade.
pub async fn handler(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Requests are tiny: a small read buffer keeps idle connections cheap
    // (the default is 128 KiB each); replies are written out at once.
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| {
            let tracker = state.connections.clone();
            tracker.track_future(serve(socket, state, peer))
        })
}

/// True when a receive error is a frame or message over the size limit.
fn too_big(err: &axum::Error) -> bool {
    std::error::Error::source(err)
        .and_then(|e| e.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if let Err(e) = socket.send(Message::Close(Some(frame))).await {
        debug!(error = %e, "close frame not delivered");
    }
}

/// Answers requests until the client leaves, an error, or shutdown.
async fn serve(mut socket: WebSocket, state: Arc<AppState>, peer: SocketAddr) {
    debug!(%peer, "connection open");
    let why = loop {
        let received = tokio::select! {
            () = state.shutdown.cancelled() => {
                close(&mut socket, close_code::AWAY, "server shutting down").await;
                break "server shutting down";
            }
            received = socket.recv() => received,
        };
        let reply = match received {
            None => break "client went away",
            Some(Err(e)) if too_big(&e) => {
                close(&mut socket, close_code::SIZE, "frame over 64 KiB").await;
                break "frame over 64 KiB";
            }
            Some(Err(_)) => break "protocol or I/O error",
            Some(Ok(Message::Text(text))) => match Request::parse(&text) {
                Ok(request) => state.reply(request).await,
                Err(bad) => protocol::bad_request_frame(&bad),
            },
            Some(Ok(Message::Binary(data))) => protocol::error_frame(
                "binary frames are not requests; send a text frame such as get_metrics or {\"type\":\"metrics\"}",
                &format!("<binary frame of {} bytes>", data.len()),
            ),
            // Pongs to pings are queued by the WebSocket layer itself.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) => {
                // The WebSocket layer queued the answering close frame; send it.
                if let Err(e) = futures_util::SinkExt::flush(&mut socket).await {
                    debug!(error = %e, "close reply not delivered");
                }
                break "client closed";
            }
        };
        if socket.send(reply.into()).await.is_err() {
            break "send failed";
        }
    };
    debug!(%peer, why, "connection closed");
}
