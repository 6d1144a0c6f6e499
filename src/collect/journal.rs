//! What a process wrote to the systemd journal, via `journalctl`.
//!
//! sonde spawns `journalctl --output=json _PID=<pid> -n 101` rather than
//! reading journal files itself: the format (compression, sealing, rotation,
//! namespaces, permissions) is journalctl's to get right, and the one crate
//! binding `libsystemd` would make building sonde need a C library installed
//! by hand. The child runs off the async workers (tokio's process support),
//! is killed after a timeout, and its output is read up to a size bound.
//!
//! When the journal cannot be read, the reply has no entries and a one-line
//! `notice` saying why; entries are never invented.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

/// Newest entries returned.
pub const MAX_ENTRIES: usize = 100;

/// journalctl's output is read up to this many bytes.
const MAX_OUTPUT_BYTES: u64 = 4 << 20;

/// A message longer than this is cut (with `…`).
const MAX_MESSAGE_CHARS: usize = 4096;

/// One journal entry, in the wire shape of the `journal_entries` reply.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// RFC 3339, UTC.
    pub timestamp: String,
    /// Microseconds since the Unix epoch.
    pub timestamp_us: u64,
    /// `Emergency` … `Debug`.
    pub priority: &'static str,
    /// The message.
    pub message: String,
    /// `_SYSTEMD_UNIT`.
    pub unit: Option<String>,
    /// `_PID`.
    pub pid: Option<u32>,
    /// `_COMM`.
    pub comm: Option<String>,
    /// `_UID`.
    pub uid: Option<u32>,
    /// `_GID`.
    pub gid: Option<u32>,
}

/// The journal reply before encoding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Journal {
    /// Oldest first.
    pub entries: Vec<Entry>,
    /// True when older entries exist beyond those returned.
    pub truncated: bool,
    /// Why there are no (or only some) entries, in one sentence.
    pub notice: Option<String>,
}

impl Journal {
    /// Withholds every message (`--redact`); times, priorities and units
    /// stay, and the notice says why the messages are empty.
    pub fn redact(&mut self) {
        for e in &mut self.entries {
            e.message.clear();
        }
        if !self.entries.is_empty() {
            self.notice = Some("Messages are withheld by this agent (--redact).".to_owned());
        }
    }
}

/// Syslog priority number → name.
pub fn priority_name(priority: u8) -> &'static str {
    match priority {
        0 => "Emergency",
        1 => "Alert",
        2 => "Critical",
        3 => "Error",
        4 => "Warning",
        5 => "Notice",
        6 => "Info",
        _ => "Debug",
    }
}

/// A journal field: a string, or an array of bytes for non-UTF-8 values.
fn field(v: &serde_json::Value, key: &str) -> Option<String> {
    match v.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(bytes) => {
            let bytes: Vec<u8> = bytes
                .iter()
                .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        _ => None,
    }
}

/// Parses one line of `journalctl --output=json`.
pub fn parse_entry(line: &str) -> Option<Entry> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let timestamp_us: u64 = field(&v, "__REALTIME_TIMESTAMP")?.parse().ok()?;
    let timestamp =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(timestamp_us) * 1000)
            .ok()?
            .format(&time::format_description::well_known::Rfc3339)
            .ok()?;
    let mut message = field(&v, "MESSAGE").unwrap_or_default();
    if message.chars().count() > MAX_MESSAGE_CHARS {
        message = message.chars().take(MAX_MESSAGE_CHARS).collect();
        message.push('…');
    }
    let number = |key: &str| field(&v, key).and_then(|s| s.parse::<u32>().ok());
    Some(Entry {
        timestamp,
        timestamp_us,
        priority: priority_name(
            field(&v, "PRIORITY")
                .and_then(|p| p.parse().ok())
                .unwrap_or(6),
        ),
        message,
        unit: field(&v, "_SYSTEMD_UNIT"),
        pid: number("_PID"),
        comm: field(&v, "_COMM"),
        uid: number("_UID"),
        gid: number("_GID"),
    })
}

/// Where and how to read the journal.
#[derive(Debug, Clone)]
pub struct Source {
    /// The `journalctl` program.
    pub journalctl: PathBuf,
    /// Directories that hold journal files when there is a journal.
    pub journal_dirs: Vec<PathBuf>,
    /// How long a journal read may take, a wait for a free slot included.
    pub timeout: Duration,
    /// One permit per journalctl allowed to run at once.
    pub running: std::sync::Arc<tokio::sync::Semaphore>,
}

/// True when some `*.journal` file exists in `dirs` (or one level below,
/// where journald keeps a directory per machine id).
fn has_journal_files(dirs: &[PathBuf]) -> bool {
    let is_journal = |p: &Path| p.extension().is_some_and(|e| e == "journal");
    dirs.iter().any(|dir| {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let path = e.path();
                is_journal(&path)
                    || std::fs::read_dir(&path)
                        .into_iter()
                        .flatten()
                        .flatten()
                        .any(|f| is_journal(&f.path()))
            })
    })
}

fn notice(text: impl Into<String>) -> Journal {
    Journal {
        notice: Some(text.into()),
        ..Journal::default()
    }
}

/// The newest [`MAX_ENTRIES`] entries written by `pid`, oldest first.
pub async fn read(source: &Source, pid: u32) -> Journal {
    // A directory walk: on the blocking pool, not the async workers.
    let dirs = source.journal_dirs.clone();
    let has_files = tokio::task::spawn_blocking(move || has_journal_files(&dirs)).await;
    if !has_files.unwrap_or(false) {
        return notice(
            "This host keeps no systemd journal, so there are no journal entries to show.",
        );
    }
    let deadline = tokio::time::Instant::now() + source.timeout;
    let busy = || {
        notice(format!(
            "Other journal reads kept every slot busy for {} s; ask again in a moment.",
            source.timeout.as_secs_f32()
        ))
    };
    let Ok(Ok(_running)) = tokio::time::timeout_at(deadline, source.running.acquire()).await else {
        return busy();
    };
    // A slot freed just before the deadline leaves journalctl no time to
    // answer: starting it would only cost a process.
    if deadline.saturating_duration_since(tokio::time::Instant::now()) < source.timeout / 4 {
        return busy();
    }
    let limit = (MAX_ENTRIES + 1).to_string();
    let spawned = tokio::process::Command::new(&source.journalctl)
        .args(["--output=json", "--no-pager", "--quiet", "-n", &limit])
        .arg(format!("_PID={pid}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return notice(
                "journalctl is not installed on this host, so the journal cannot be read.",
            );
        }
        Err(e) => return notice(format!("journalctl could not be started: {e}.")),
    };
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return notice("journalctl's output could not be read.");
    };
    let run = async {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let (mut stdout, mut stderr) = (stdout.take(MAX_OUTPUT_BYTES), stderr.take(64 * 1024));
        let (r1, r2) = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        // A read error only shortens what there is to interpret.
        for e in [r1.err(), r2.err()].into_iter().flatten() {
            tracing::debug!(error = %e, "reading journalctl output");
        }
        let status = child.wait().await.ok();
        (out, err, status)
    };
    let Ok((out, err, status)) = tokio::time::timeout_at(deadline, run).await else {
        return notice(format!(
            "The journal did not answer within {} s.",
            source.timeout.as_secs_f32()
        ));
    };
    interpret(
        &out,
        &String::from_utf8_lossy(&err),
        status.is_some_and(|s| s.success()),
    )
}

/// Turns journalctl's output into the reply.
pub fn interpret(stdout: &[u8], stderr: &str, succeeded: bool) -> Journal {
    let text = String::from_utf8_lossy(stdout);
    let mut entries: Vec<Entry> = text.lines().filter_map(parse_entry).collect();
    let truncated = entries.len() > MAX_ENTRIES;
    if truncated {
        entries.drain(..entries.len() - MAX_ENTRIES);
    }
    let notice = if stderr.contains("not seeing messages from other users") {
        Some("sonde's user cannot read the whole system journal (add it to the systemd-journal group), so entries may be missing.".to_owned())
    } else if !succeeded && entries.is_empty() {
        let first = stderr.lines().next().unwrap_or("no reason given").trim();
        Some(format!("journalctl failed: {first}"))
    } else {
        None
    };
    Journal {
        entries,
        truncated,
        notice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"__REALTIME_TIMESTAMP":"1700000000123456","PRIORITY":"3","MESSAGE":"disk on fire","_SYSTEMD_UNIT":"ssh.service","_PID":"812","_COMM":"sshd","_UID":"0","_GID":"0","__CURSOR":"s=abc"}"#;

    #[test]
    fn parses_an_entry() {
        let e = parse_entry(LINE).unwrap();
        assert_eq!(e.timestamp, "2023-11-14T22:13:20.123456Z");
        assert_eq!(e.timestamp_us, 1_700_000_000_123_456);
        assert_eq!(e.priority, "Error");
        assert_eq!(e.message, "disk on fire");
        assert_eq!(e.unit.as_deref(), Some("ssh.service"));
        assert_eq!((e.pid, e.uid, e.gid), (Some(812), Some(0), Some(0)));
        assert_eq!(e.comm.as_deref(), Some("sshd"));
    }

    #[test]
    fn binary_messages_and_missing_fields() {
        let e = parse_entry(r#"{"__REALTIME_TIMESTAMP":"1","MESSAGE":[104,105,255]}"#).unwrap();
        assert_eq!(e.message, "hi\u{fffd}");
        assert_eq!(e.priority, "Info");
        assert_eq!((e.unit, e.pid, e.comm), (None, None, None));
        assert!(parse_entry("not json").is_none());
        assert!(parse_entry(r#"{"MESSAGE":"no time"}"#).is_none());
    }

    #[test]
    fn keeps_the_newest_hundred() {
        let lines: String = (0..150u64)
            .map(|i| {
                format!(
                    "{{\"__REALTIME_TIMESTAMP\":\"{}\",\"MESSAGE\":\"m{i}\"}}\n",
                    1000 + i
                )
            })
            .collect();
        let j = interpret(lines.as_bytes(), "", true);
        assert_eq!(j.entries.len(), MAX_ENTRIES);
        assert!(j.truncated);
        assert_eq!(j.entries[0].message, "m50");
        assert_eq!(j.entries[99].message, "m149");
        assert_eq!(j.notice, None);
    }

    #[test]
    fn notices() {
        let j = interpret(
            b"",
            "Hint: You are currently not seeing messages from other users and the system.\n",
            true,
        );
        assert!(j.notice.unwrap().contains("systemd-journal group"));
        let j = interpret(b"", "Failed to open journal: Permission denied\n", false);
        assert_eq!(
            j.notice.as_deref(),
            Some("journalctl failed: Failed to open journal: Permission denied")
        );
        assert_eq!(interpret(b"", "", true), Journal::default());
    }

    #[test]
    fn priorities() {
        let names: Vec<_> = (0..8).map(priority_name).collect();
        assert_eq!(
            names,
            [
                "Emergency",
                "Alert",
                "Critical",
                "Error",
                "Warning",
                "Notice",
                "Info",
                "Debug"
            ]
        );
    }
}
