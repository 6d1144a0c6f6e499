//! Request parsing: both the JSON form (`{"type":"metrics"}`) and the
//! socktop text form (`get_metrics`), for every kind of
//! [`crate::table::KINDS`], and the error reply for a refused request. The
//! framing of replies is [`crate::wire`]'s.

use crate::state::{Args, Asked, Kind};
use crate::table::KINDS as TABLE;
use crate::wire::{self, Frame, cut};

/// A client request: which kind, and what else it names (for keyed kinds
/// which process, for the history which kind since when).
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// The kind asked for.
    pub kind: &'static Kind,
    /// What it names besides.
    pub asked: Asked,
}

impl PartialEq for Request {
    fn eq(&self, other: &Request) -> bool {
        self.kind.name == other.kind.name && self.asked == other.asked
    }
}

impl Eq for Request {}

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

/// The JSON form: only `type`, `pid`, `kind`, `since_ms` and
/// `connections` matter, other fields are ignored.
#[derive(serde::Deserialize)]
struct JsonRequest<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default)]
    pid: Option<serde_json::Value>,
    #[serde(default, rename = "kind")]
    of: Option<serde_json::Value>,
    #[serde(default)]
    since_ms: Option<serde_json::Value>,
    #[serde(default)]
    connections: Option<serde_json::Value>,
}

/// The kinds a request can name (those with a WebSocket reply).
fn requestable() -> impl Iterator<Item = &'static Kind> {
    TABLE.iter().copied().filter(|k| k.reply.is_some())
}

/// Every kind's `type`, for the hint of an unknown request.
fn known_types() -> String {
    requestable().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

/// Every kind's text form, a keyed one with `:PID`.
fn known_texts() -> String {
    requestable()
        .map(|k| match k.args {
            Args::Pid => format!("{}:PID", k.text),
            Args::History => format!("{}[:KIND[:SINCE_MS]]", k.text),
            Args::None => k.text.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Request {
    /// A request of `kind` (for keyed kinds, about `pid`).
    pub fn new(kind: &'static Kind, pid: u32) -> Request {
        Request {
            kind,
            asked: Asked::pid(pid),
        }
    }

    /// The process it names (0 for an unkeyed kind).
    pub fn pid(&self) -> u32 {
        self.asked.pid
    }

    /// Parses one text frame in either form; surrounding whitespace is ignored.
    pub fn parse(frame: &str) -> Result<Request, BadRequest> {
        let text = frame.trim();
        if text.starts_with('{') {
            return Self::parse_json(text);
        }
        for kind in requestable() {
            let Some(rest) = text.strip_prefix(kind.text) else {
                continue;
            };
            match (kind.args, rest.strip_prefix(':')) {
                (Args::None | Args::History, _) if rest.is_empty() => {
                    return Ok(Request::new(kind, 0));
                }
                (Args::Pid, Some(pid)) => {
                    return parse_pid_text(pid, text).map(|p| Request::new(kind, p));
                }
                (Args::History, Some(args)) => {
                    let (of, since) = args.split_once(':').unwrap_or((args, "0"));
                    let asked = Asked {
                        of: history_of(of, text)?,
                        since_ms: since.parse().map_err(|_| bad_since(since, text))?,
                        ..Asked::default()
                    };
                    return Ok(Request { kind, asked });
                }
                _ => {}
            }
        }
        Err(BadRequest::new(
            format!(
                "unknown request; send JSON such as {{\"type\":\"metrics\"}} (types: {}) or one of {}",
                known_types(),
                known_texts()
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
        let Some(kind) = requestable().find(|k| k.name == req.kind) else {
            return Err(BadRequest::new(
                format!(
                    "unknown request type {:?}; known types: {}",
                    req.kind,
                    known_types()
                ),
                text,
            ));
        };
        match kind.args {
            Args::None => Ok(Request::new(kind, 0)),
            Args::Pid => {
                let pid = parse_pid_json(req.pid.as_ref(), text)?;
                let connections = match &req.connections {
                    None | Some(serde_json::Value::Bool(false)) => false,
                    Some(serde_json::Value::Bool(true)) => true,
                    Some(other) => {
                        return Err(BadRequest::new(
                            format!("connections must be true or false, got {other}"),
                            text,
                        ));
                    }
                };
                Ok(Request {
                    kind,
                    asked: Asked {
                        connections,
                        ..Asked::pid(pid)
                    },
                })
            }
            Args::History => {
                let of = match &req.of {
                    None => "",
                    Some(serde_json::Value::String(of)) => history_of(of, text)?,
                    Some(other) => return Err(bad_of(&other.to_string(), text)),
                };
                let since_ms = match &req.since_ms {
                    None => 0,
                    Some(v) => v.as_u64().ok_or_else(|| bad_since(&v.to_string(), text))?,
                };
                Ok(Request {
                    kind,
                    asked: Asked {
                        of,
                        since_ms,
                        ..Asked::default()
                    },
                })
            }
        }
    }

    /// The request's kind name, as used in logs and error replies.
    pub fn name(&self) -> &'static str {
        self.kind.name
    }
}

/// The kind a history request names: one of the table's.
fn history_of(of: &str, text: &str) -> Result<&'static str, BadRequest> {
    requestable()
        .find(|k| k.name == of && k.args == Args::None)
        .map(|k| k.name)
        .ok_or_else(|| bad_of(&format!("{of:?}"), text))
}

fn bad_of(of: &str, text: &str) -> BadRequest {
    BadRequest::new(
        format!("history needs \"kind\", the name of a kind (such as \"metrics\"), got {of}"),
        text,
    )
}

fn bad_since(since: &str, text: &str) -> BadRequest {
    BadRequest::new(
        format!("since_ms must be a whole number of Unix milliseconds, got {since}"),
        text,
    )
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

/// The error reply for a refused request.
pub fn bad_request_frame(bad: &BadRequest) -> Frame {
    wire::error_frame(&bad.reason, &bad.received)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse() {
        let cases = [
            ("get_metrics", "metrics", 0),
            ("  get_disks\n", "disks", 0),
            ("get_processes", "processes", 0),
            ("get_host", "host", 0),
            ("get_containers", "containers", 0),
            (r#"{"type":"containers"}"#, "containers", 0),
            ("get_process_metrics:42", "process_metrics", 42),
            ("get_journal_entries:7", "journal_entries", 7),
            (r#"{"type":"metrics"}"#, "metrics", 0),
            (r#" {"type": "disks", "extra": [1,2]} "#, "disks", 0),
            (r#"{"type":"processes"}"#, "processes", 0),
            (r#"{"type":"host"}"#, "host", 0),
            (
                r#"{"type":"process_metrics","pid":1}"#,
                "process_metrics",
                1,
            ),
            (
                r#"{"pid":9,"type":"journal_entries"}"#,
                "journal_entries",
                9,
            ),
        ];
        for (text, name, pid) in cases {
            let got = Request::parse(text).unwrap();
            assert_eq!((got.name(), got.pid()), (name, pid), "{text}");
        }
        // Every requestable kind in the table parses in both forms.
        for kind in requestable() {
            let text = if kind.keyed() {
                format!("{}:3", kind.text)
            } else {
                kind.text.to_owned()
            };
            let json = format!(r#"{{"type":"{}","pid":3}}"#, kind.name);
            for form in [text, json] {
                assert_eq!(Request::parse(&form).unwrap().name(), kind.name, "{form}");
            }
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
            ("get_metrics:5", "unknown request"),
            ("get_process_metrics", "unknown request"),
            ("get_metricsx", "unknown request"),
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
}

#[cfg(test)]
mod hint {
    use super::*;

    /// The unknown-request hint once named 3 of the 7 text forms; it is
    /// now made from the table, so it names every kind in both forms.
    #[test]
    fn regression_unknown_request_hint_names_every_kind() {
        let text = Request::parse("hello").unwrap_err().reason;
        let json = Request::parse(r#"{"type":"cpu"}"#).unwrap_err().reason;
        for kind in requestable() {
            assert!(text.contains(kind.text), "{text} lacks {}", kind.text);
            assert!(text.contains(kind.name), "{text} lacks {}", kind.name);
            assert!(json.contains(kind.name), "{json} lacks {}", kind.name);
        }
    }

    /// The `node` kind serves `/metrics` only: requests cannot name it,
    /// and its empty text form must not match every frame (or none).
    #[test]
    fn a_kind_without_a_reply_cannot_be_requested() {
        assert!(TABLE.iter().any(|k| k.reply.is_none()));
        let refused = Request::parse(r#"{"type":"node"}"#).unwrap_err();
        assert!(
            refused.reason.contains("unknown request type"),
            "{}",
            refused.reason
        );
        assert!(!refused.reason.contains("node,"), "{}", refused.reason);
        assert!(Request::parse("").is_err());
        assert!(Request::parse("anything").is_err());
        assert_eq!(Request::parse("get_metrics").unwrap().name(), "metrics");
    }
}
