//! The wire format in one place: request parsing (both the JSON and the
//! socktop text forms), reply framing (the 768-byte gzip rule) and error
//! replies.

use std::io::Write;

use bytes::Bytes;
use serde::Serialize;

/// Replies whose encoded size is above this many bytes are gzip'd.
pub const GZIP_THRESHOLD_BYTES: usize = 768;

/// Frames larger than this are refused by closing with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// The `request` field of an error reply keeps at most this many characters.
const ECHO_CHARS: usize = 64;

/// A client request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// `{"type":"metrics"}` / `get_metrics`.
    Metrics,
    /// `{"type":"disks"}` / `get_disks`.
    Disks,
    /// `{"type":"processes"}` / `get_processes`.
    Processes,
    /// `{"type":"process_metrics","pid":N}` / `get_process_metrics:N`.
    ProcessMetrics(u32),
    /// `{"type":"journal_entries","pid":N}` / `get_journal_entries:N`.
    JournalEntries(u32),
    /// `{"type":"host"}` / `get_host`.
    Host,
    /// `{"type":"containers"}` / `get_containers`.
    Containers,
}

/// Why a request was refused; becomes the error reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct BadRequest {
    /// One clear sentence.
    pub reason: String,
    /// What was received, cut to 64 characters.
    pub received: String,
}

impl BadRequest {
    fn new(reason: impl Into<String>, received: &str) -> Self {
        BadRequest {
            reason: reason.into(),
            received: cut(received),
        }
    }
}

fn cut(s: &str) -> String {
    s.chars().take(ECHO_CHARS).collect()
}

/// The JSON form: only `type` and `pid` matter, other fields are ignored.
#[derive(serde::Deserialize)]
struct JsonRequest<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default)]
    pid: Option<serde_json::Value>,
}

const KNOWN: &str = "metrics, disks, processes, process_metrics, journal_entries, host, containers";

impl Request {
    /// Parses one text frame in either form; surrounding whitespace is ignored.
    pub fn parse(frame: &str) -> Result<Request, BadRequest> {
        let text = frame.trim();
        if text.starts_with('{') {
            return Self::parse_json(text);
        }
        match text {
            "get_metrics" => return Ok(Request::Metrics),
            "get_disks" => return Ok(Request::Disks),
            "get_processes" => return Ok(Request::Processes),
            "get_host" => return Ok(Request::Host),
            "get_containers" => return Ok(Request::Containers),
            _ => {}
        }
        if let Some(pid) = text.strip_prefix("get_process_metrics:") {
            return parse_pid_text(pid, text).map(Request::ProcessMetrics);
        }
        if let Some(pid) = text.strip_prefix("get_journal_entries:") {
            return parse_pid_text(pid, text).map(Request::JournalEntries);
        }
        Err(BadRequest::new(
            format!(
                "unknown request; send JSON such as {{\"type\":\"metrics\"}} (types: {KNOWN}) or get_metrics, get_disks, get_processes"
            ),
            text,
        ))
    }

    fn parse_json(text: &str) -> Result<Request, BadRequest> {
        let req: JsonRequest<'_> = serde_json::from_str(text).map_err(|e| {
            let reason = if e.is_data() {
                "request JSON needs a string field \"type\"".to_owned()
            } else {
                format!("malformed JSON: {e}")
            };
            BadRequest::new(reason, text)
        })?;
        let pid = || parse_pid_json(req.pid.as_ref(), text);
        match req.kind.as_ref() {
            "metrics" => Ok(Request::Metrics),
            "disks" => Ok(Request::Disks),
            "processes" => Ok(Request::Processes),
            "host" => Ok(Request::Host),
            "containers" => Ok(Request::Containers),
            "process_metrics" => pid().map(Request::ProcessMetrics),
            "journal_entries" => pid().map(Request::JournalEntries),
            other => Err(BadRequest::new(
                format!("unknown request type {other:?}; known types: {KNOWN}"),
                text,
            )),
        }
    }

    /// Number of request kinds, for per-kind counters.
    pub const KINDS: usize = 7;

    /// The request names, in [`Request::index`] order.
    pub const NAMES: [&'static str; Request::KINDS] = [
        "metrics",
        "disks",
        "processes",
        "process_metrics",
        "journal_entries",
        "host",
        "containers",
    ];

    /// This kind's position in [`Request::NAMES`].
    pub fn index(&self) -> usize {
        match self {
            Request::Metrics => 0,
            Request::Disks => 1,
            Request::Processes => 2,
            Request::ProcessMetrics(_) => 3,
            Request::JournalEntries(_) => 4,
            Request::Host => 5,
            Request::Containers => 6,
        }
    }

    /// The request's name as used in logs and error replies.
    pub fn name(&self) -> &'static str {
        Request::NAMES[self.index()]
    }
}

fn parse_pid_text(pid: &str, text: &str) -> Result<u32, BadRequest> {
    pid.parse::<u32>().map_err(|_| {
        BadRequest::new(
            format!(
                "pid must be a whole number from 0 to {}, got {pid:?}",
                u32::MAX
            ),
            text,
        )
    })
}

fn parse_pid_json(pid: Option<&serde_json::Value>, text: &str) -> Result<u32, BadRequest> {
    let Some(pid) = pid else {
        return Err(BadRequest::new("this request needs a \"pid\" field", text));
    };
    pid.as_u64()
        .and_then(|p| u32::try_from(p).ok())
        .ok_or_else(|| {
            BadRequest::new(
                format!(
                    "pid must be a whole number from 0 to {}, got {pid}",
                    u32::MAX
                ),
                text,
            )
        })
}

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

/// The WebSocket frame of each sample kind, from the sample's memoized
/// encodings: made once per sample, whoever asks.
pub mod frames {
    use bytes::Bytes;

    use super::{Frame, binary_frame, json_frame, not_found_frame, to_json};
    use crate::cache::Sample;
    use crate::collect::containers::ContainerTable;
    use crate::collect::disks::DiskTable;
    use crate::collect::host::HostFacts;
    use crate::collect::journal::Journal;
    use crate::collect::metrics::{Metrics, now_ms};
    use crate::collect::process_detail::{NotFound, ProcessDetail};
    use crate::collect::processes::ProcessTable;
    use crate::model;

    /// Unix seconds of a sample, for the `cached_at` fields.
    fn secs(sample_time: std::time::SystemTime) -> u64 {
        sample_time
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(now_ms() / 1000, |d| d.as_secs())
    }

    /// The `metrics` reply.
    pub fn metrics(s: &Sample<Metrics>) -> Frame {
        json_frame(metrics_json(s).to_vec())
    }

    /// The metrics reply's JSON, made once per sample (the frame and
    /// `/api/metrics` share it).
    pub fn metrics_json(s: &Sample<Metrics>) -> Bytes {
        s.json(|m| to_json(&model::Metrics::from(m)))
    }

    /// The `containers` reply.
    pub fn containers(s: &Sample<ContainerTable>) -> Frame {
        json_frame(containers_json(s).to_vec())
    }

    /// The containers reply's JSON, made once per sample.
    pub fn containers_json(s: &Sample<ContainerTable>) -> Bytes {
        let at_ms = s
            .taken_at()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or_else(|_| now_ms(), |d| d.as_millis() as u64);
        s.json(|t| to_json(&model::Containers::new(t, at_ms)))
    }

    /// The `disks` reply.
    pub fn disks(s: &Sample<DiskTable>) -> Frame {
        json_frame(disks_json(s).to_vec())
    }

    /// The disks reply's JSON, made once per sample: the measured
    /// filesystems (socktop's array has no place for the unavailable ones;
    /// `/metrics` reports them).
    pub fn disks_json(s: &Sample<DiskTable>) -> Bytes {
        s.json(|t| {
            to_json(
                &t.disks
                    .iter()
                    .map(model::DiskEntry::from)
                    .collect::<Vec<_>>(),
            )
        })
    }

    /// The `host` reply.
    pub fn host(s: &Sample<HostFacts>) -> Frame {
        json_frame(host_json(s).to_vec())
    }

    /// The host reply's JSON, made once per sample.
    pub fn host_json(s: &Sample<HostFacts>) -> Bytes {
        s.json(|h| to_json(&model::Host::from(h)))
    }

    /// The `processes` reply (protobuf).
    pub fn processes(s: &Sample<std::sync::Arc<ProcessTable>>) -> Frame {
        binary_frame(model::encode_processes(s.value()))
    }

    /// The `process_metrics` reply, or its not-found error.
    pub fn process_metrics(s: &Sample<Result<ProcessDetail, NotFound>>) -> Frame {
        match s.value() {
            Ok(_) => json_frame(process_metrics_json(s).to_vec()),
            Err(NotFound(pid)) => not_found_frame(*pid),
        }
    }

    /// The JSON of a found process (`{}` for a missing one: its reply is the
    /// not-found error).
    pub fn process_metrics_json(s: &Sample<Result<ProcessDetail, NotFound>>) -> Bytes {
        let cached_at = secs(s.taken_at());
        s.json(|d| match d {
            Ok(detail) => to_json(&model::ProcessMetricsReply {
                process: detail.clone().into(),
                cached_at,
            }),
            Err(_) => b"{}".to_vec(),
        })
    }

    /// The `journal_entries` reply.
    pub fn journal(s: &Sample<Journal>) -> Frame {
        json_frame(journal_json(s).to_vec())
    }

    /// The JSON of a journal sample.
    pub fn journal_json(s: &Sample<Journal>) -> Bytes {
        let cached_at = secs(s.taken_at());
        s.json(|j| to_json(&model::JournalReply::new(j, cached_at)))
    }
}

/// `{"error": reason, "request": received}` as a frame.
pub fn error_frame(reason: &str, received: &str) -> Frame {
    #[derive(Serialize)]
    struct ErrorReply<'a> {
        error: &'a str,
        request: String,
    }
    json_reply_plain(&ErrorReply {
        error: reason,
        request: cut(received),
    })
}

/// `{"error":"process N not found","request":"process_metrics","pid":N}`.
pub fn not_found_frame(pid: u32) -> Frame {
    #[derive(Serialize)]
    struct NotFound {
        error: String,
        request: &'static str,
        pid: u32,
    }
    json_reply_plain(&NotFound {
        error: format!("process {pid} not found"),
        request: "process_metrics",
        pid,
    })
}

/// The error reply for a refused request.
pub fn bad_request_frame(bad: &BadRequest) -> Frame {
    error_frame(&bad.reason, &bad.received)
}

/// Like [`json_reply`] for values that cannot fail to serialize.
fn json_reply_plain<T: Serialize>(value: &T) -> Frame {
    json_frame(serde_json::to_vec(value).unwrap_or_else(|_| b"{\"error\":\"internal\"}".to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse() {
        let cases = [
            ("get_metrics", Request::Metrics),
            ("  get_disks\n", Request::Disks),
            ("get_processes", Request::Processes),
            ("get_host", Request::Host),
            ("get_containers", Request::Containers),
            (r#"{"type":"containers"}"#, Request::Containers),
            ("get_process_metrics:42", Request::ProcessMetrics(42)),
            ("get_journal_entries:7", Request::JournalEntries(7)),
            (r#"{"type":"metrics"}"#, Request::Metrics),
            (r#" {"type": "disks", "extra": [1,2]} "#, Request::Disks),
            (r#"{"type":"processes"}"#, Request::Processes),
            (r#"{"type":"host"}"#, Request::Host),
            (
                r#"{"type":"process_metrics","pid":1}"#,
                Request::ProcessMetrics(1),
            ),
            (
                r#"{"pid":9,"type":"journal_entries"}"#,
                Request::JournalEntries(9),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Request::parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_requests_say_why() {
        for (text, needle) in [
            ("hello", "unknown request"),
            ("{\"type\":\"metrics\"", "malformed JSON"),
            ("{\"kind\":\"metrics\"}", "\"type\""),
            ("{\"type\":\"cpu\"}", "unknown request type"),
            ("{\"type\":\"process_metrics\"}", "needs a \"pid\""),
            ("{\"type\":\"process_metrics\",\"pid\":-1}", "pid must be"),
            (
                "{\"type\":\"process_metrics\",\"pid\":4294967296}",
                "pid must be",
            ),
            (
                "{\"type\":\"process_metrics\",\"pid\":\"12\"}",
                "pid must be",
            ),
            ("get_process_metrics:abc", "pid must be"),
            ("get_journal_entries:-3", "pid must be"),
            ("", "unknown request"),
        ] {
            let err = Request::parse(text).unwrap_err();
            assert!(err.reason.contains(needle), "{text}: {}", err.reason);
        }
        let long = "x".repeat(500);
        assert_eq!(Request::parse(&long).unwrap_err().received.len(), 64);
        let wide = "é".repeat(100);
        assert_eq!(
            Request::parse(&wide).unwrap_err().received.chars().count(),
            64
        );
    }

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
    }
}
