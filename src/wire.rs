//! The WebSocket framing, a leaf: the encoded [`Frame`], the 768-byte gzip
//! rule, JSON serialization of replies and the error frames. It imports
//! nothing of the server, so the cache, the kinds and the request parser
//! can all use it without forming a cycle.

use std::io::Write;

use bytes::Bytes;
use serde::Serialize;

/// Replies whose encoded size is above this many bytes are gzip'd.
pub const GZIP_THRESHOLD_BYTES: usize = 768;

/// Frames larger than this are refused by closing with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// The `request` field of an error reply keeps at most this many characters.
pub const ECHO_CHARS: usize = 64;

/// An encoded reply, ready to send (and cheap to clone: cached replies are
/// shared, not re-encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame (JSON of at most 768 bytes).
    Text(axum::extract::ws::Utf8Bytes),
    /// A binary frame (gzip'd JSON, or protobuf, gzip'd when large).
    Binary(Bytes),
}

impl Frame {
    /// The payload bytes as they go on the wire.
    pub fn payload(&self) -> &[u8] {
        match self {
            Frame::Text(t) => t.as_bytes(),
            Frame::Binary(b) => b,
        }
    }
}

impl From<Frame> for axum::extract::ws::Message {
    fn from(f: Frame) -> Self {
        match f {
            Frame::Text(t) => axum::extract::ws::Message::Text(t),
            Frame::Binary(b) => axum::extract::ws::Message::Binary(b),
        }
    }
}

/// `s` cut to [`ECHO_CHARS`] characters, for echoing what was received.
pub fn cut(s: &str) -> String {
    s.chars().take(ECHO_CHARS).collect()
}

/// gzip at the fast level: replies are small and CPU on the watched host is
/// what users count; level 1 still shrinks the process list about 3×.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3 + 64),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Frames JSON text: text frame up to 768 bytes, else binary gzip.
pub fn json_frame(json: Vec<u8>) -> Frame {
    if json.len() <= GZIP_THRESHOLD_BYTES {
        // serde_json writes valid UTF-8.
        match String::from_utf8(json) {
            Ok(s) => Frame::Text(s.into()),
            Err(e) => Frame::Binary(gzip(e.as_bytes()).into()),
        }
    } else {
        Frame::Binary(gzip(&json).into())
    }
}

/// Frames protobuf bytes: always binary, gzip'd when over 768 bytes.
pub fn binary_frame(data: Vec<u8>) -> Frame {
    if data.len() > GZIP_THRESHOLD_BYTES {
        Frame::Binary(gzip(&data).into())
    } else {
        Frame::Binary(data.into())
    }
}

/// Serializes a reply value to JSON bytes (the one place replies become
/// JSON; a value that cannot be serialized becomes an error object).
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "a reply could not be encoded");
        b"{\"error\":\"could not encode the reply\"}".to_vec()
    })
}

/// `{"error": reason, "request": received}` as a frame.
pub fn error_frame(reason: &str, received: &str) -> Frame {
    #[derive(Serialize)]
    struct ErrorReply<'a> {
        error: &'a str,
        request: String,
    }
    json_frame(to_json(&ErrorReply {
        error: reason,
        request: cut(received),
    }))
}

/// `{"error":"process N not found","request":KIND,"pid":N}`.
pub fn not_found_frame(request: &'static str, pid: u32) -> Frame {
    #[derive(Serialize)]
    struct NotFound {
        error: String,
        request: &'static str,
        pid: u32,
    }
    json_frame(to_json(&NotFound {
        error: format!("process {pid} not found"),
        request,
        pid,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gzip_rule() {
        let small = json_frame(vec![b'1'; GZIP_THRESHOLD_BYTES]);
        assert!(matches!(small, Frame::Text(_)));
        let big = json_frame(vec![b'1'; GZIP_THRESHOLD_BYTES + 1]);
        let Frame::Binary(b) = big else {
            panic!("large JSON must be binary")
        };
        assert_eq!(&b[..2], &[0x1f, 0x8b]);
        let Frame::Binary(p) = binary_frame(vec![0; 10]) else {
            panic!()
        };
        assert_eq!(p.len(), 10, "small protobuf is not gzip'd");
        let Frame::Binary(p) = binary_frame(vec![0; 769]) else {
            panic!()
        };
        assert_eq!(&p[..2], &[0x1f, 0x8b]);
    }

    #[test]
    fn error_reply_shape() {
        let Frame::Text(t) = error_frame("nope", "get_x") else {
            panic!()
        };
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v, serde_json::json!({"error":"nope","request":"get_x"}));
        let Frame::Text(t) = not_found_frame("process_metrics", 7) else {
            panic!()
        };
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error":"process 7 not found","request":"process_metrics","pid":7})
        );
    }
}
