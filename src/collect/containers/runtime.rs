//! Container names from a Docker-compatible runtime's API socket
//! (`--container-socket`): an HTTP client over a Unix socket.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::parser::parse_container_names;
use crate::collect::CollectError;

/// Asks the container runtime listening on `socket` (a Docker-compatible
/// API on a Unix socket) for its containers' names, within `timeout`.
pub async fn runtime_names(
    socket: &Path,
    timeout: Duration,
) -> Result<HashMap<String, String>, CollectError> {
    use http_body_util::BodyExt;
    let failed = |detail: String| CollectError::read(socket, std::io::Error::other(detail));
    let ask = async {
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| CollectError::read(socket, e))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| failed(e.to_string()))?;
        tokio::spawn(async move {
            // The connection ends with the reply; its error is the reply's.
            let _ = conn.await;
        });
        let request = hyper::Request::get("/containers/json")
            .header(hyper::header::HOST, "localhost")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|e| failed(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("answered {}", response.status())));
        }
        let body = http_body_util::Limited::new(response.into_body(), 16 << 20)
            .collect()
            .await
            .map_err(|e| failed(e.to_string()))?
            .to_bytes();
        Ok(parse_container_names(&String::from_utf8_lossy(&body))?)
    };
    tokio::time::timeout(timeout, ask)
        .await
        .map_err(|_| failed(format!("no answer within {} ms", timeout.as_millis())))?
}
