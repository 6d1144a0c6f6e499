//! The per-connection loop: one reply per request, in order.
//!
//! Bounds, all from `config.limits`: at most `max_connections` sessions (a
//! further upgrade is refused with 503 before it upgrades); one reply in
//! flight per connection, and a client that does not take it within the
//! send timeout is dropped, so nothing queues for a client that stopped
//! reading; a client silent for the idle timeout is pinged and, silent as
//! long again, dropped; frames over 64 KiB close with 1009. Pings are
//! answered by the WebSocket layer; the loop sends each pong out before it
//! reads the next frame, exactly as it does a reply, so a client that floods
//! pings and never reads holds one pending pong (its socket then pushes back
//! on the flood) and is dropped after the send timeout.
//!
//! The loop ([`serve`]) is generic over the socket's `Sink`/`Stream`, so
//! unit tests drive it through channels, with paused time for the idle
//! rules.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::listener::{Admission, ConnectionSlot, Refusal, SlotHold};
use crate::auth::Authorized;
use crate::protocol::{self, Request};
use crate::state::AppState;
use crate::wire::{self, MAX_FRAME_BYTES};

/// What a session holds while it is open: its place under the cap and its
/// TCP connection's slot.
pub struct Held {
    _session: Option<OwnedSemaphorePermit>,
    _slot: Option<SlotHold>,
}

impl Held {
    /// Nothing held: a session outside any cap (unit tests).
    pub fn nothing() -> Held {
        Held {
            _session: None,
            _slot: None,
        }
    }
}

/// `GET /ws`: authorize and take a session slot (both before the upgrade),
/// then upgrade.
pub async fn handler(
    _auth: Authorized,
    State(state): State<Arc<AppState>>,
    Extension(admission): Extension<Arc<Admission>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    slot: Option<Extension<ConnectionSlot>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Ok(session) = admission.sessions.clone().try_acquire_owned() else {
        let limit = admission.max_sessions;
        admission.note_refused(Refusal::WebsocketCap);
        debug!(%peer, limit, "WebSocket refused: at the connection limit");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, "5")],
            axum::Json(serde_json::json!({
                "error": format!("this agent serves at most {limit} WebSocket connections at once (--max-connections); try again shortly"),
                "max_connections": limit,
            })),
        )
            .into_response();
    };
    let held = Held {
        _session: Some(session),
        _slot: slot.and_then(|s| s.0.take()),
    };
    // Requests are tiny: a small read buffer keeps idle connections cheap
    // (the default is 128 KiB each); replies are written out at once.
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| {
            let shutdown = admission.shutdown.clone();
            admission
                .connections
                .track_future(serve(socket, state, shutdown, peer, held))
        })
}

/// The WebSocket layer's error behind a receive error.
fn cause(err: &axum::Error) -> Option<&tungstenite::Error> {
    std::error::Error::source(err).and_then(|e| e.downcast_ref::<tungstenite::Error>())
}

/// True when a receive error is a frame or message over the size limit.
fn too_big(err: &axum::Error) -> bool {
    cause(err).is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

/// True when a receive error is a text frame that is not UTF-8.
fn not_utf8(err: &axum::Error) -> bool {
    cause(err).is_some_and(|e| matches!(e, tungstenite::Error::Utf8(_)))
}

async fn close<S>(socket: &mut S, code: u16, reason: &'static str)
where
    S: Sink<Message> + Unpin,
    S::Error: std::fmt::Display,
{
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if let Err(e) = socket.send(Message::Close(Some(frame))).await {
        debug!(error = %e, "close frame not delivered");
    }
}

/// Answers requests until the client leaves, an error, a limit, or
/// `shutdown`.
pub async fn serve<S>(
    mut socket: S,
    state: Arc<AppState>,
    shutdown: CancellationToken,
    peer: SocketAddr,
    held: Held,
) where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message> + Unpin,
    S::Error: std::fmt::Display,
{
    debug!(%peer, "connection open");
    let limits = &state.config.limits;
    let (idle, send_timeout) = (limits.idle_timeout(), limits.send_timeout());
    let mut heard = Instant::now();
    let mut pinged = false;
    let why = loop {
        // Silent for `idle`: ping once; silent for another `idle`: drop.
        let deadline = heard + if pinged { idle * 2 } else { idle };
        let received = tokio::select! {
            () = shutdown.cancelled() => {
                close(&mut socket, close_code::AWAY, "server shutting down").await;
                break "server shutting down";
            }
            () = tokio::time::sleep_until(deadline) => {
                if pinged {
                    close(&mut socket, close_code::POLICY, "idle: no request or pong").await;
                    break "idle timeout";
                }
                pinged = true;
                match tokio::time::timeout(send_timeout, socket.send(Message::Ping(Default::default()))).await {
                    Ok(Ok(())) => continue,
                    _ => break "ping not taken",
                }
            }
            received = socket.next() => received,
        };
        heard = Instant::now();
        pinged = false;
        let reply = match received {
            None => break "client went away",
            Some(Err(e)) if too_big(&e) => {
                close(&mut socket, close_code::SIZE, "frame over 64 KiB").await;
                break "frame over 64 KiB";
            }
            Some(Err(e)) if not_utf8(&e) => {
                close(&mut socket, close_code::INVALID, "text frame is not UTF-8").await;
                break "text frame not UTF-8";
            }
            Some(Err(_)) => break "protocol or I/O error",
            Some(Ok(Message::Text(text))) => match Request::parse(&text) {
                Ok(request) => state.reply(request.kind, request.asked).await,
                Err(bad) => protocol::bad_request_frame(&bad),
            },
            Some(Ok(Message::Binary(data))) => wire::error_frame(
                "binary frames are not requests; send a text frame such as get_metrics or {\"type\":\"metrics\"}",
                &format!("<binary frame of {} bytes>", data.len()),
            ),
            // The WebSocket layer has queued the pong: send it before reading
            // on. Reading on instead queues a pong per ping in its write
            // buffer, which grows without bound for a client that never reads.
            Some(Ok(Message::Ping(_))) => {
                match tokio::time::timeout(send_timeout, socket.flush()).await {
                    Ok(Ok(())) => continue,
                    Ok(Err(_)) => break "send failed",
                    Err(_) => break "client stopped reading (pong not taken)",
                }
            }
            Some(Ok(Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) => {
                // The WebSocket layer queued the answering close frame; send it.
                if let Err(e) = socket.flush().await {
                    debug!(error = %e, "close reply not delivered");
                }
                break "client closed";
            }
        };
        match tokio::time::timeout(send_timeout, socket.send(reply.into())).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => break "send failed",
            Err(_) => break "client stopped reading (send timeout)",
        }
    };
    drop(held);
    debug!(%peer, why, "connection closed");
}

#[cfg(test)]
mod tests {
    //! The loop driven through channels instead of a socket, with paused
    //! time: the idle rules and shutdown are checked without waiting.
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

    use super::*;
    use crate::config::Config;

    /// A socket made of two channels: what the client sends, what the
    /// server sent.
    struct Duplex {
        incoming: UnboundedReceiver<Result<Message, axum::Error>>,
        sent: UnboundedSender<Message>,
    }

    impl Stream for Duplex {
        type Item = Result<Message, axum::Error>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.incoming.poll_recv(cx)
        }
    }

    impl Sink<Message> for Duplex {
        type Error = std::io::Error;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
            self.sent.send(item).map_err(std::io::Error::other)
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
    }

    /// A session's ends: the client's sender, what the server sends, its
    /// shutdown and its task.
    type Session = (
        UnboundedSender<Result<Message, axum::Error>>,
        UnboundedReceiver<Message>,
        CancellationToken,
        tokio::task::JoinHandle<()>,
    );

    /// A session on its own task.
    fn session(args: &[&str]) -> Session {
        let argv = ["sonde"].iter().chain(args);
        let config = Config::parse_with(argv, |_| None).unwrap();
        let state = AppState::new(config, crate::table::KINDS);
        let (client, incoming) = unbounded_channel();
        let (sent, replies) = unbounded_channel();
        let shutdown = CancellationToken::new();
        let peer = SocketAddr::from(([127, 0, 0, 1], 1));
        let task = tokio::spawn(serve(
            Duplex { incoming, sent },
            state,
            shutdown.clone(),
            peer,
            Held::nothing(),
        ));
        (client, replies, shutdown, task)
    }

    fn error_of(m: &Message) -> String {
        let Message::Text(t) = m else {
            panic!("an error reply is a text frame: {m:?}")
        };
        let v: serde_json::Value = serde_json::from_str(t).unwrap();
        v["error"].as_str().unwrap().to_owned()
    }

    #[tokio::test(start_paused = true)]
    async fn bad_requests_get_an_error_reply_and_the_session_goes_on() {
        let (client, mut replies, _shutdown, _task) = session(&[]);
        client
            .send(Ok(Message::Text("get_everything".into())))
            .unwrap();
        assert!(error_of(&replies.recv().await.unwrap()).contains("unknown request"));
        client
            .send(Ok(Message::Binary(vec![1, 2, 3].into())))
            .unwrap();
        assert!(error_of(&replies.recv().await.unwrap()).contains("binary frames"));
        client
            .send(Ok(Message::Text("{\"type\":\"process_metrics\"}".into())))
            .unwrap();
        assert!(error_of(&replies.recv().await.unwrap()).contains("\"pid\""));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_is_pinged_then_dropped_with_1008() {
        let (_client, mut replies, _shutdown, task) = session(&["--idle-timeout-ms", "60000"]);
        let started = Instant::now();
        assert!(matches!(replies.recv().await.unwrap(), Message::Ping(_)));
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(60),
            "pinged after one idle period"
        );
        let Message::Close(Some(close)) = replies.recv().await.unwrap() else {
            panic!("closed after a second idle period")
        };
        assert_eq!(close.code, close_code::POLICY);
        assert_eq!(started.elapsed(), Duration::from_secs(120));
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_closes_the_session_with_1001() {
        let (_client, mut replies, shutdown, task) = session(&[]);
        shutdown.cancel();
        let Message::Close(Some(close)) = replies.recv().await.unwrap() else {
            panic!("a close frame on shutdown")
        };
        assert_eq!(close.code, close_code::AWAY);
        task.await.unwrap();
    }
}
