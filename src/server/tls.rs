//! `wss://`: a self-signed certificate made once, kept, and pinned by
//! clients; or an operator's own PEM files.
//!
//! A certificate that exists is never silently replaced (that would break
//! every client's pin): one that cannot be read, is corrupt or does not match
//! its key stops startup with the path. `sonde tls rotate` replaces it
//! explicitly. Files are written atomically (temp file, fsync, rename), the
//! directory 0700 and the key 0600.
//!
//! Validity: generated certificates last [`VALIDITY_DAYS`] (ten years). A pin
//! is the trust here, not a CA's expiry policy; a short life would only make
//! every client re-pin on a schedule. Startup warns within 30 days of expiry.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ResolvesServerCert;
use rustls::sign::CertifiedKey;
use sha2::Digest;
use time::OffsetDateTime;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::config::Config;

/// Lifetime of a generated certificate.
pub const VALIDITY_DAYS: i64 = 3650;

/// Warn when the certificate expires within this many days.
const EXPIRY_WARNING_DAYS: i64 = 30;

/// File names inside the TLS directory.
const CERT_FILE: &str = "cert.pem";
const KEY_FILE: &str = "key.pem";

/// What can go wrong with certificates. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The directory could not be created.
    #[error("cannot create the TLS directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The certificate file is not a usable PEM certificate.
    #[error("{path} is not a usable PEM certificate: {detail}")]
    BadCert {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The key file is not a usable PEM private key.
    #[error("{path} is not a usable PEM private key: {detail}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Certificate and key are each fine but not a pair.
    #[error("{cert} and {key} do not belong together: {detail}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        detail: String,
    },
    /// One of the two files is missing.
    #[error(
        "{present} exists but {missing} does not; not replacing a certificate clients may have pinned (restore the file, or run `sonde tls rotate`)"
    )]
    HalfPair {
        /// The file that is there.
        present: PathBuf,
        /// The file that is not.
        missing: PathBuf,
    },
    /// No certificate has been generated yet (for `tls show`).
    #[error("no certificate at {path} yet: start sonde with --tls, or run `sonde tls rotate`")]
    Missing {
        /// Where it would be.
        path: PathBuf,
    },
    /// Certificate generation failed.
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
    /// `tls rotate` with operator-supplied files.
    #[error(
        "--tls-cert/--tls-key are your own files; sonde only rotates the certificate it generated"
    )]
    NotManaged,
}

/// Where the certificate and key are, and whether sonde manages them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    /// The PEM certificate (chain).
    pub cert: PathBuf,
    /// The PEM private key.
    pub key: PathBuf,
    /// True for the generated pair (created when missing, rotatable).
    pub managed: bool,
}

/// Facts about the certificate in use.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// The certificate file.
    pub path: PathBuf,
    /// SHA-256 of the DER, colon-separated upper-case hex (as openssl prints it).
    pub fingerprint_sha256: String,
    /// DNS names and IP addresses it is valid for.
    pub names: Vec<String>,
    /// When it expires.
    pub not_after: OffsetDateTime,
    /// The certificate file's PEM text.
    pub pem: String,
}

/// Where the packaged unit (`packaging/sonde.service`, `StateDirectory=sonde`)
/// keeps its pair.
pub const UNIT_DIR: &str = "/var/lib/sonde/tls";

/// `$STATE_DIRECTORY/tls` under systemd (`StateDirectory=` sets it, so
/// the pin survives restarts and upgrades); else, where the packaged unit's
/// pair exists ([`UNIT_DIR`]), that one, so that `sonde tls show` and
/// `rotate` from an admin shell (which has no `STATE_DIRECTORY`) act on the
/// pair the service serves; else `$XDG_CONFIG_HOME/sonde/tls`, else
/// `~/.config/sonde/tls`.
pub fn default_dir() -> PathBuf {
    choose_dir(
        std::env::var_os("STATE_DIRECTORY").as_deref(),
        Path::new(UNIT_DIR),
        std::env::var_os("XDG_CONFIG_HOME").as_deref(),
        std::env::var_os("HOME").as_deref(),
    )
}

/// [`default_dir`] over its inputs.
pub fn choose_dir(
    state_directory: Option<&std::ffi::OsStr>,
    unit_dir: &Path,
    xdg_config_home: Option<&std::ffi::OsStr>,
    home: Option<&std::ffi::OsStr>,
) -> PathBuf {
    // systemd may list several directories, separated by colons: the first
    // is the unit's own.
    if let Some(state) = state_directory
        && let Some(first) = state.to_string_lossy().split(':').next()
        && !first.is_empty()
    {
        return PathBuf::from(first).join("tls");
    }
    if unit_dir.join(CERT_FILE).exists() {
        return unit_dir.to_path_buf();
    }
    let base = xdg_config_home
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("sonde").join("tls")
}

/// The files the configuration points at.
pub fn files(config: &Config) -> CertFiles {
    match (&config.tls.cert, &config.tls.key) {
        (Some(cert), Some(key)) => CertFiles {
            cert: cert.clone(),
            key: key.clone(),
            managed: false,
        },
        _ => {
            let dir = config.tls.dir.clone().unwrap_or_else(default_dir);
            CertFiles {
                cert: dir.join(CERT_FILE),
                key: dir.join(KEY_FILE),
                managed: true,
            }
        }
    }
}

/// The names a generated certificate carries: the hostname, `localhost`,
/// `127.0.0.1`, `::1`, then the extras.
pub fn subject_names(extra: &[String]) -> Vec<String> {
    let hostname = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let mut names = Vec::new();
    for name in [hostname.as_str(), "localhost", "127.0.0.1", "::1"]
        .into_iter()
        .chain(extra.iter().map(String::as_str))
    {
        if !name.is_empty() && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

/// SHA-256 fingerprint, `AB:CD:…`.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = sha2::Sha256::digest(der);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

/// Generates a new pair into `files` (ECDSA P-256), replacing any there.
pub fn generate(files: &CertFiles, names: &[String]) -> Result<CertInfo, TlsError> {
    let generate_err = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(generate_err)?;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(VALIDITY_DAYS);
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!(
            "sonde on {}",
            names.first().map_or("localhost", String::as_str)
        ),
    );
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(generate_err)?;
    let cert = params.self_signed(&key).map_err(generate_err)?;
    if let Some(dir) = files.cert.parent() {
        create_private_dir(dir)?;
    }
    write_atomic(&files.key, key.serialize_pem().as_bytes(), 0o600)?;
    write_atomic(&files.cert, cert.pem().as_bytes(), 0o644)?;
    info(&files.cert, cert.der(), cert.pem())
}

fn create_private_dir(dir: &Path) -> Result<(), TlsError> {
    let dir_err = |source| TlsError::Dir {
        path: dir.to_path_buf(),
        source,
    };
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent).map_err(dir_err)?;
    }
    fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(dir_err)?;
    // The umask may have narrowed the mode; never widened it, but make sure.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(dir_err)
}

/// Writes `data` to a temporary file beside `path`, syncs, then renames it
/// over `path`: a crash leaves the old file or the new one, never half.
fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), TlsError> {
    let write_err = |source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension(format!("pem.tmp{}", std::process::id()));
    // A leftover from a crashed run is ours to discard.
    let _ = fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(write_err)?;
    // Root rotating the service's pair (`sudo sonde tls rotate` beside a
    // unit running as its own user) must leave files that user can read:
    // they take the directory's owner.
    if let Some(dir) = path.parent()
        && let Ok(meta) = fs::metadata(dir)
        && meta.uid() != rustix::process::geteuid().as_raw()
    {
        let _ = rustix::fs::fchown(
            &file,
            Some(rustix::fs::Uid::from_raw(meta.uid())),
            Some(rustix::fs::Gid::from_raw(meta.gid())),
        );
    }
    file.write_all(data).map_err(write_err)?;
    file.sync_all().map_err(write_err)?;
    drop(file);
    fs::rename(&tmp, path).map_err(write_err)?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(write_err)?;
    }
    Ok(())
}

fn info(path: &Path, der: &[u8], pem: String) -> Result<CertInfo, TlsError> {
    let bad = |detail: String| TlsError::BadCert {
        path: path.to_path_buf(),
        detail,
    };
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| bad(e.to_string()))?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(d) => names.push((*d).to_owned()),
                x509_parser::extensions::GeneralName::IPAddress(ip) => {
                    let ip = match ip.len() {
                        4 => <[u8; 4]>::try_from(*ip).ok().map(std::net::IpAddr::from),
                        16 => <[u8; 16]>::try_from(*ip).ok().map(std::net::IpAddr::from),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        names.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    Ok(CertInfo {
        path: path.to_path_buf(),
        fingerprint_sha256: fingerprint(der),
        names,
        not_after: cert.validity().not_after.to_datetime(),
        pem,
    })
}

/// A loaded, validated pair.
pub struct Loaded {
    /// The chain, leaf first.
    pub certs: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: PrivateKeyDer<'static>,
    /// Facts about the leaf.
    pub info: CertInfo,
}

/// Reads and checks the pair (PEM, parseable, key matches certificate).
pub fn load(files: &CertFiles) -> Result<Loaded, TlsError> {
    let read = |path: &Path| {
        fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let cert_pem = read(&files.cert)?;
    let key_pem = read(&files.key)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::BadCert {
            path: files.cert.clone(),
            detail: e.to_string(),
        })?;
    let Some(leaf) = certs.first() else {
        return Err(TlsError::BadCert {
            path: files.cert.clone(),
            detail: "no CERTIFICATE block".to_owned(),
        });
    };
    let info = info(
        &files.cert,
        leaf,
        String::from_utf8_lossy(&cert_pem).into_owned(),
    )?;
    let bad_key = |detail: String| TlsError::BadKey {
        path: files.key.clone(),
        detail,
    };
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| bad_key(e.to_string()))?;
    // PEM decoding accepts any bytes; make sure they are a key rustls can use.
    rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| bad_key(e.to_string()))?;
    Ok(Loaded { certs, key, info })
}

/// Makes sure a managed pair exists (generating it the first time) and
/// loads it; operator files are only loaded.
pub fn ensure_cert(files: &CertFiles, names: &[String]) -> Result<Loaded, TlsError> {
    if files.managed {
        match (files.cert.exists(), files.key.exists()) {
            (false, false) => {
                let info = generate(files, names)?;
                info!(path = %info.path.display(), "generated a new TLS certificate");
            }
            (true, false) => {
                return Err(TlsError::HalfPair {
                    present: files.cert.clone(),
                    missing: files.key.clone(),
                });
            }
            (false, true) => {
                return Err(TlsError::HalfPair {
                    present: files.key.clone(),
                    missing: files.cert.clone(),
                });
            }
            (true, true) => {}
        }
    }
    load(files)
}

/// How often a handshake looks at the pair's files for a rotation.
pub const RELOAD_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// The files' modification times: what tells a rotated pair.
fn stamps(files: &CertFiles) -> (Option<std::time::SystemTime>, Option<std::time::SystemTime>) {
    let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    (mtime(&files.cert), mtime(&files.key))
}

/// A loaded pair as rustls serves it (the key checked against the
/// certificate).
fn certified(files: &CertFiles, loaded: Loaded) -> Result<CertifiedKey, TlsError> {
    CertifiedKey::from_der(
        loaded.certs,
        loaded.key,
        &rustls::crypto::ring::default_provider(),
    )
    .map_err(|e| TlsError::Mismatch {
        cert: files.cert.clone(),
        key: files.key.clone(),
        detail: e.to_string(),
    })
}

/// The pair on disk, served to each handshake: a pair rotated while the
/// server runs (`sonde tls rotate`, or an operator's renewed files) is
/// picked up within [`RELOAD_CHECK`], without a restart, so re-pinning
/// after a rotation works at once. A pair that does not load (half
/// written, mismatched) is logged and the one in use stays.
#[derive(Debug)]
struct Reloading {
    files: CertFiles,
    current: std::sync::Mutex<Current>,
}

#[derive(Debug)]
struct Current {
    key: Arc<CertifiedKey>,
    stamps: (Option<std::time::SystemTime>, Option<std::time::SystemTime>),
    checked: std::time::Instant,
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.checked.elapsed() >= RELOAD_CHECK {
            current.checked = std::time::Instant::now();
            // Two stats every RELOAD_CHECK at most: microseconds on the
            // local filesystem the pair lives on.
            let now = stamps(&self.files);
            if now != current.stamps {
                match load(&self.files).and_then(|l| {
                    let info = l.info.clone();
                    Ok((certified(&self.files, l)?, info))
                }) {
                    Ok((key, info)) => {
                        info!(
                            path = %info.path.display(),
                            fingerprint_sha256 = %info.fingerprint_sha256,
                            "TLS certificate changed on disk; serving the new one"
                        );
                        current.key = Arc::new(key);
                        current.stamps = now;
                    }
                    Err(e) => {
                        warn!(error = %e, "TLS certificate changed on disk but does not load; still serving the previous one")
                    }
                }
            }
        }
        Some(current.key.clone())
    }
}

/// The rustls server configuration: TLS 1.2 and 1.3, ALPN `http/1.1`,
/// the pair served from disk as it is rotated ([`Reloading`]).
pub fn server_config(
    files: &CertFiles,
    loaded: Loaded,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let stamps = stamps(files);
    let key = certified(files, loaded)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Generate(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Reloading {
            files: files.clone(),
            current: std::sync::Mutex::new(Current {
                key: Arc::new(key),
                stamps,
                checked: std::time::Instant::now(),
            }),
        }));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Makes the certificate if there is none yet, so that it exists before
/// the server says it listens: a client that pins it (`sonde tls show`)
/// may read it as soon as it sees that line.
pub fn prepare(config: &Config) -> Result<(), TlsError> {
    ensure_cert(&files(config), &subject_names(&config.tls.extra_sans)).map(|_| ())
}

/// Everything startup needs: ensure/load the pair, log its fingerprint, warn
/// near expiry, build the acceptor.
pub fn setup(config: &Config) -> Result<(TlsAcceptor, CertInfo), TlsError> {
    let files = files(config);
    let loaded = ensure_cert(&files, &subject_names(&config.tls.extra_sans))?;
    let info = loaded.info.clone();
    let acceptor = TlsAcceptor::from(server_config(&files, loaded)?);
    info!(
        path = %info.path.display(),
        fingerprint_sha256 = %info.fingerprint_sha256,
        "TLS certificate"
    );
    warn_if_expiring(&info);
    Ok((acceptor, info))
}

fn warn_if_expiring(info: &CertInfo) {
    let left = info.not_after - OffsetDateTime::now_utc();
    if left < time::Duration::days(EXPIRY_WARNING_DAYS) {
        let verb = if left.is_negative() {
            "expired"
        } else {
            "expires"
        };
        warn!(
            path = %info.path.display(),
            "TLS certificate {verb} on {}; run `sonde tls rotate` and re-pin clients",
            info.not_after.date()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_format() {
        let fp = fingerprint(b"abc");
        assert_eq!(fp.len(), 32 * 3 - 1);
        assert!(fp.starts_with("BA:78:16:BF"), "{fp}");
    }

    #[test]
    fn names_always_include_loopback() {
        let names = subject_names(&["box.lan".into(), "localhost".into()]);
        assert!(names.contains(&"localhost".to_owned()));
        assert!(names.contains(&"127.0.0.1".to_owned()));
        assert!(names.contains(&"::1".to_owned()));
        assert_eq!(names.last().map(String::as_str), Some("box.lan"));
        assert_eq!(names.iter().filter(|n| *n == "localhost").count(), 1);
    }

    /// An admin shell has no `STATE_DIRECTORY`: `sonde tls show` read
    /// `~/.config/sonde/tls`, failed, and suggested a rotation that made a
    /// pair the service never used.
    #[test]
    fn regression_an_admin_shell_looked_for_the_units_pair_in_its_home() {
        let root = tempfile::tempdir().unwrap();
        let unit = root.path().join("var/lib/sonde/tls");
        let home = root.path().join("root");
        let os = |p: &Path| p.as_os_str().to_owned();
        let shell = || choose_dir(None, &unit, None, Some(&os(&home)));
        assert_eq!(shell(), home.join(".config/sonde/tls"), "no unit pair yet");
        fs::create_dir_all(&unit).unwrap();
        fs::write(unit.join(CERT_FILE), "x").unwrap();
        assert_eq!(shell(), unit, "the unit's pair, from an admin shell");
        let state = std::ffi::OsString::from("/var/lib/private/sonde:/other");
        assert_eq!(
            choose_dir(Some(&state), &unit, None, Some(&os(&home))),
            PathBuf::from("/var/lib/private/sonde/tls"),
            "the service itself"
        );
        assert_eq!(
            choose_dir(
                None,
                &root.path().join("none"),
                Some(&os(root.path())),
                None
            ),
            root.path().join("sonde/tls")
        );
    }
}
