//! Configuration: flags and environment, parsed once into [`Config`].
//!
//! Every option has a sonde flag and a `SONDE_*` variable; the names the
//! socktop agent used keep working beside them (precedence: flag, then
//! `SONDE_*`, then the socktop name, then the default). A bad value stops
//! startup with a message naming the flag or variable.

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};

use crate::collect::Roots;
use crate::collect::pattern::Pattern;

mod aliases;
mod collection;
mod exporter;
mod history;
mod http;
mod limits;
mod listen;
mod tls;
mod ttl;

pub use aliases::*;
pub use collection::*;
pub use exporter::*;
pub use history::*;
pub use http::*;
pub use limits::*;
pub use listen::*;
pub use tls::*;
pub use ttl::*;

/// sonde's configuration, in groups.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "sonde",
    version = crate::LONG_VERSION,
    about = "On-demand host metrics over WebSocket: a drop-in socktop agent.",
    args_override_self = true
)]
pub struct Config {
    /// Where and for whom to listen.
    #[command(flatten)]
    pub listen: Listen,

    /// How long each kind of sample is reused.
    #[command(flatten)]
    pub ttl: CacheTtls,

    /// What to collect and where the host's files are.
    #[command(flatten)]
    pub collection: Collection,

    /// wss:// and its certificate.
    #[command(flatten)]
    pub tls: TlsOptions,

    /// The HTTP surfaces beside /ws: JSON, Prometheus.
    #[command(flatten)]
    pub http: HttpOptions,

    /// Bounds on what clients may hold or cause.
    #[command(flatten)]
    pub limits: Limits,

    /// The charted kinds' history: how long, within what memory.
    #[command(flatten)]
    pub history: HistoryOptions,

    /// node_exporter's collectors on /metrics: which, and their filters.
    #[command(flatten)]
    pub exporter: Exporter,

    /// Log filter: error, warn, info, debug, trace, or tracing directives.
    #[arg(global = true, long, env = "SONDE_LOG", default_value = "info", value_parser = parse_log)]
    pub log: String,

    /// What to do: serve (no subcommand), or manage the TLS certificate.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Manage the TLS certificate.
    Tls {
        /// What to do with it.
        #[command(subcommand)]
        action: TlsAction,
    },
    /// Collect every kind once and say what this host gives, with timings;
    /// fails when a source is broken.
    Check,
    /// Ask the server on this host's configured port for /healthz (for
    /// container health checks); fails unless it answers. With --tls, it
    /// checks that the server completes a TLS handshake instead.
    Healthcheck {
        /// How long to wait, ms.
        #[arg(long, default_value_t = 3000, value_parser = parse_timeout)]
        timeout_ms: u64,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    Man,
}

/// `sonde tls …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TlsAction {
    /// Print the certificate's path, SHA-256 fingerprint, names and expiry.
    Show {
        /// Print the PEM certificate instead, for copying to a client.
        #[arg(long)]
        pem: bool,
    },
    /// Replace the generated certificate and key with a new pair (a running
    /// sonde serves it within 2 s, without a restart; clients that pinned
    /// the old one must pin the new one).
    Rotate,
}

impl Config {
    /// Parses the command line and the process environment.
    pub fn from_env_and_args<I, T>(args: I) -> Result<Config, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Self::parse_with(args, |name| std::env::var(name).ok())
    }

    /// Parses `args`, resolving socktop variable names through `env`
    /// (sonde's own `SONDE_*` variables are read by clap).
    pub fn parse_with<I, T>(
        args: I,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let program = if args.is_empty() {
            OsString::from("sonde")
        } else {
            args.remove(0)
        };
        // Socktop names go first, so that flags given on the command line
        // (later, `args_override_self`) win over them.
        let mut full = vec![program];
        for alias in ALIASES {
            if env(alias.sonde_env).is_some() {
                continue;
            }
            let Some(value) = env(alias.socktop_env) else {
                continue;
            };
            let value = (alias.check)(&value).map_err(|why| {
                clap::Error::raw(
                    clap::error::ErrorKind::ValueValidation,
                    format!(
                        "invalid value {value:?} in {} (sonde's {}): {why}\n",
                        alias.socktop_env, alias.flag
                    ),
                )
            })?;
            full.push(format!("{}={value}", alias.flag).into());
        }
        full.extend(args);
        let mut command = Config::cli();
        let matches = command.try_get_matches_from_mut(full)?;
        Config::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
    }

    /// The command line as `--help` and the man page show it, with the
    /// socktop names section.
    pub fn cli() -> clap::Command {
        Config::command().after_help(socktop_names_help())
    }

    /// The port to listen on: as given, else 3000 (8443 with TLS).
    pub fn port(&self) -> u16 {
        self.listen
            .port
            .unwrap_or(if self.tls.enabled { 8443 } else { 3000 })
    }

    /// Whether command lines, working directories, executable paths and
    /// journal messages are withheld: as `--redact` says, else on without a
    /// token and off with one (a first run answers anyone who can reach its
    /// port, and a command line can hold a password).
    pub fn redact(&self) -> bool {
        self.http.redact.unwrap_or(self.listen.token.is_none())
    }

    /// Where collectors read the host from.
    pub fn roots(&self) -> Roots {
        let c = &self.collection;
        Roots {
            proc: c.proc_root.clone(),
            sys: c.sys_root.clone(),
            etc: c.etc_root.clone(),
            rootfs: c.rootfs.clone(),
        }
    }
}

fn parse_switch(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" => Ok(true),
        "0" | "off" | "false" | "no" => Ok(false),
        _ => Err("expected on/off (or 1/0, true/false, yes/no)".to_owned()),
    }
}

fn parse_log(v: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(v)
        .map(|_| v.to_owned())
        .map_err(|e| format!("not a log filter: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
        Config::parse_with(std::iter::once("sonde").chain(args.iter().copied()), |k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let c = parse(&[], &[]).unwrap();
        assert_eq!(c.port(), 3000);
        assert_eq!(c.listen.bind.to_string(), "0.0.0.0");
        assert_eq!(
            (
                c.ttl.metrics_ttl_ms,
                c.ttl.processes_ttl_ms,
                c.ttl.disks_ttl_ms
            ),
            (250, 1000, 1000)
        );
        assert!(c.collection.gpu && c.collection.temp);
        assert!(c.listen.token.is_none());
    }

    #[test]
    fn a_scrape_takes_nine_tenths_of_prometheus_timeout_or_of_the_flag() {
        let c = parse(&["--scrape-timeout-ms", "2000"], &[]).unwrap();
        let ms = |v| c.exporter.scrape_budget(v).as_millis();
        assert_eq!(ms(None), 1800);
        assert_eq!(ms(Some("10")), 9000);
        assert_eq!(ms(Some(" 0.5 ")), 450);
        for bad in ["0", "-1", "NaN", "inf", "ten"] {
            assert_eq!(ms(Some(bad)), 1800, "{bad}");
        }
        let e = parse(&["--scrape-timeout-ms", "0"], &[]).unwrap_err();
        assert!(e.contains("--scrape-timeout-ms"), "{e}");
    }

    #[test]
    fn socktop_names_work_and_flags_win() {
        let env = [
            ("SOCKTOP_PORT", "4000"),
            ("SOCKTOP_AGENT_GPU", "0"),
            ("SOCKTOP_AGENT_TEMP", "0"),
            ("SOCKTOP_AGENT_METRICS_TTL_MS", "0"),
            ("SOCKTOP_TOKEN", "s3cret"),
        ];
        let c = parse(&[], &env).unwrap();
        assert_eq!(c.port(), 4000);
        assert!(!c.collection.gpu && !c.collection.temp);
        assert_eq!(c.ttl.metrics_ttl_ms, 0);
        assert_eq!(c.listen.token.as_deref(), Some("s3cret"));
        let c = parse(&["-p", "5000"], &env).unwrap();
        assert_eq!(c.port(), 5000);
        let c = parse(&["--port", "5001"], &env).unwrap();
        assert_eq!(c.port(), 5001);
    }

    #[test]
    fn bad_values_name_the_option() {
        let e = parse(&["--port", "abc"], &[]).unwrap_err();
        assert!(e.contains("--port"), "{e}");
        let e = parse(&[], &[("SOCKTOP_AGENT_METRICS_TTL_MS", "-5")]).unwrap_err();
        assert!(e.contains("SOCKTOP_AGENT_METRICS_TTL_MS"), "{e}");
        let e = parse(&[], &[("SOCKTOP_AGENT_GPU", "maybe")]).unwrap_err();
        assert!(e.contains("SOCKTOP_AGENT_GPU"), "{e}");
        let e = parse(&["--bind", "localhost:80"], &[]).unwrap_err();
        assert!(e.contains("--bind"), "{e}");
        let e = parse(&["--token", ""], &[]).unwrap_err();
        assert!(e.contains("--token"), "{e}");
    }

    #[test]
    fn tls_names_and_default_port() {
        for (args, env) in [
            (&["--tls"][..], &[][..]),
            (&["--enableSSL"][..], &[][..]),
            (&["--tls=on"][..], &[][..]),
            (&[][..], &[("SOCKTOP_ENABLE_SSL", "1")][..]),
        ] {
            let c = parse(args, env).unwrap();
            assert!(c.tls.enabled, "{args:?} {env:?}");
            assert_eq!(c.port(), 8443);
        }
        let c = parse(&["--tls", "--port", "9000"], &[]).unwrap();
        assert_eq!(c.port(), 9000);
        assert!(
            !parse(&[], &[("SOCKTOP_ENABLE_SSL", "0")])
                .unwrap()
                .tls
                .enabled
        );
    }

    #[test]
    fn extra_sans_are_validated() {
        let c = parse(
            &[],
            &[("SOCKTOP_AGENT_EXTRA_SANS", "box.lan,10.0.0.7,fe80::1")],
        )
        .unwrap();
        assert_eq!(c.tls.extra_sans, ["box.lan", "10.0.0.7", "fe80::1"]);
        let e = parse(&[], &[("SOCKTOP_AGENT_EXTRA_SANS", "ok.lan,bad name")]).unwrap_err();
        assert!(
            e.contains("SOCKTOP_AGENT_EXTRA_SANS") && e.contains("bad name"),
            "{e}"
        );
        let e = parse(&["--tls-extra-sans", "a..b"], &[]).unwrap_err();
        assert!(e.contains("--tls-extra-sans"), "{e}");
        assert!(
            parse(&["--tls-cert", "c.pem"], &[]).is_err(),
            "--tls-cert needs --tls-key"
        );
    }

    /// `--allowed-host '*.'` was trimmed of its dot to `*`, which turns the
    /// host check off: a typo opened the agent to DNS rebinding.
    #[test]
    fn regression_allowed_host_star_dot_turned_the_host_check_off() {
        for typo in ["*.", "*..", " *. "] {
            let e = parse(&["--allowed-host", typo], &[]).unwrap_err();
            assert!(e.contains("--allowed-host"), "{typo:?}: {e}");
        }
        assert_eq!(
            parse(&["--allowed-host", "*"], &[])
                .unwrap()
                .http
                .allowed_hosts,
            ["*"]
        );
    }

    #[test]
    fn http_options_are_validated() {
        let c = parse(
            &[
                "--cors-origin",
                "https://dash.example:8080",
                "--cors-origin",
                "http://b.lan",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            c.http.cors_origins,
            ["https://dash.example:8080", "http://b.lan"]
        );
        for bad in [
            "dash.example",
            "https://dash.example/path",
            "ftp://x",
            "https://",
        ] {
            let e = parse(&["--cors-origin", bad], &[]).unwrap_err();
            assert!(e.contains("--cors-origin"), "{bad}: {e}");
        }
        let c = parse(
            &[
                "--allowed-host",
                "Box.LAN.,*.corp.example",
                "--allowed-host",
                "*",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(c.http.allowed_hosts, ["box.lan", "*.corp.example", "*"]);
        for bad in ["http://box.lan", "box lan", "box.lan/x", "a*b"] {
            let e = parse(&["--allowed-host", bad], &[]).unwrap_err();
            assert!(e.contains("--allowed-host"), "{bad:?}: {e}");
        }
        assert!(parse(&["--redact", "on"], &[]).unwrap().redact());
        assert!(parse(&[], &[]).unwrap().redact(), "on without a token");
        assert!(
            !parse(&["--token", "0123456789abcdef"], &[])
                .unwrap()
                .redact(),
            "off with one"
        );
        assert!(
            !parse(&["--redact", "off"], &[]).unwrap().redact(),
            "off when asked, token or not"
        );
        let e = parse(&["--redact", "maybe"], &[]).unwrap_err();
        assert!(e.contains("--redact"), "{e}");
        assert_eq!(
            parse(&["--prometheus-processes", "10"], &[])
                .unwrap()
                .http
                .prometheus_processes,
            10
        );
        let e = parse(&["--prometheus-processes", "5000"], &[]).unwrap_err();
        assert!(e.contains("--prometheus-processes"), "{e}");
        let e = parse(&["--gpu-ttl-ms", "soon"], &[]).unwrap_err();
        assert!(e.contains("--gpu-ttl-ms"), "{e}");
    }

    #[test]
    fn ipv6_bind() {
        let c = parse(&["--bind", "::1"], &[]).unwrap();
        assert!(c.listen.bind.is_ipv6());
    }

    #[test]
    fn every_alias_is_in_the_help() {
        let help = Config::parse_with(["sonde", "--help"], |_| None)
            .unwrap_err()
            .to_string();
        for alias in ALIASES {
            assert!(help.contains(alias.socktop_shown), "{}", alias.socktop_env);
            // The alias feeds the flag it names: a bad value names both.
            let e = parse(&[], &[(alias.socktop_env, "\u{7}bad value")]).unwrap_err();
            assert!(
                e.contains(alias.socktop_env) && e.contains(alias.flag),
                "{e}"
            );
        }
    }
}
