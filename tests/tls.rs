//! wss:// with a generated, persisted, pinned certificate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Server, json};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use sonde::server::tls;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

type TlsWs = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

/// A client whose only trust root is the PEM certificate at `pinned`.
async fn connect_pinned(server: &Server, pinned: &Path, query: &str) -> Result<TlsWs, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pinned).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(server.addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").unwrap();
    let stream = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let url = format!("wss://localhost:{}/ws{query}", server.addr.port());
    let (ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

async fn tls_server(dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--tls", "--tls-dir", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    Server::start(&args).await
}

#[tokio::test]
async fn a_client_pinning_the_generated_certificate_gets_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().join("sonde/tls");
    let server = tls_server(&tls_dir, &[]).await;
    let mut ws = connect_pinned(&server, &tls_dir.join("cert.pem"), "")
        .await
        .unwrap();
    assert!(json(&ask_tls(&mut ws, "get_metrics").await)["cpu_total"].is_number());

    let key_mode = std::fs::metadata(tls_dir.join("key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600, "key file mode");
    let dir_mode = std::fs::metadata(&tls_dir).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o777, 0o700, "directory mode");
}

async fn ask_tls(ws: &mut TlsWs, text: &str) -> common::Reply {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::Text(text.into())).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
    {
        Some(Ok(Message::Text(t))) => common::Reply::Text(t.to_string()),
        Some(Ok(Message::Binary(b))) => common::Reply::Binary(b.to_vec()),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_client_pinning_another_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = tls_server(&dir.path().join("a"), &[]).await;
    let other = dir.path().join("b");
    let files = tls::CertFiles {
        cert: other.join("cert.pem"),
        key: other.join("key.pem"),
        managed: true,
    };
    tls::generate(&files, &tls::subject_names(&[])).unwrap();
    let err = connect_pinned(&server, &files.cert, "").await.unwrap_err();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}

#[tokio::test]
async fn a_restart_keeps_the_same_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let first = tls_server(dir.path(), &[]).await;
    let pem1 = std::fs::read(dir.path().join("cert.pem")).unwrap();
    first.stop().await.unwrap();
    let second = tls_server(dir.path(), &[]).await;
    let pem2 = std::fs::read(dir.path().join("cert.pem")).unwrap();
    assert_eq!(pem1, pem2, "the pinned certificate survives a restart");
    let mut ws = connect_pinned(&second, &dir.path().join("cert.pem"), "")
        .await
        .unwrap();
    assert!(json(&ask_tls(&mut ws, "get_host").await)["arch"].is_string());
}

#[tokio::test]
async fn extra_sans_go_into_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let files = tls::CertFiles {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
        managed: true,
    };
    let info = tls::generate(
        &files,
        &tls::subject_names(&["box.lan".into(), "10.1.2.3".into()]),
    )
    .unwrap();
    for name in ["localhost", "127.0.0.1", "::1", "box.lan", "10.1.2.3"] {
        assert!(
            info.names.iter().any(|n| n == name),
            "{name} in {:?}",
            info.names
        );
    }
    let days = (info.not_after - time::OffsetDateTime::now_utc()).whole_days();
    assert!(days >= tls::VALIDITY_DAYS - 1, "{days} days");
}

#[tokio::test]
async fn corrupt_or_half_pairs_stop_startup_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = tls::CertFiles {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
        managed: true,
    };
    tls::generate(&files, &tls::subject_names(&[])).unwrap();
    let good_key = std::fs::read(&files.key).unwrap();

    std::fs::write(
        &files.key,
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let err = tls::ensure_cert(&files, &[]).err().unwrap().to_string();
    assert!(err.contains("key.pem"), "{err}");

    std::fs::write(&files.key, &good_key).unwrap();
    std::fs::write(&files.cert, "garbage").unwrap();
    let err = tls::ensure_cert(&files, &[]).err().unwrap().to_string();
    assert!(err.contains("cert.pem"), "{err}");

    // A key from another pair: the mismatch names both files.
    let other = tempfile::tempdir().unwrap();
    let other_files = tls::CertFiles {
        cert: other.path().join("cert.pem"),
        key: other.path().join("key.pem"),
        managed: true,
    };
    tls::generate(&other_files, &tls::subject_names(&[])).unwrap();
    std::fs::copy(&other_files.cert, &files.cert).unwrap();
    let loaded = tls::ensure_cert(&files, &[]).unwrap();
    let err = tls::server_config(&files, loaded)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("do not belong together"), "{err}");

    std::fs::remove_file(&files.cert).unwrap();
    let err = tls::ensure_cert(&files, &[]).err().unwrap().to_string();
    assert!(err.contains("cert.pem") && err.contains("rotate"), "{err}");
    assert!(files.key.exists(), "nothing was replaced");
}

/// sonde serving the operator's own PEM pair.
async fn operator_server(cert: &Path, key: &Path) -> Server {
    Server::start(&[
        "--tls",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ])
    .await
}

#[tokio::test]
async fn operator_certificates_work() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (dir.path().join("my.crt"), dir.path().join("my.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let server = operator_server(&cert_path, &key_path).await;
    let mut ws = connect_pinned(&server, &cert_path, "").await.unwrap();
    assert!(json(&ask_tls(&mut ws, "get_metrics").await)["mem_total"].is_u64());
}

#[tokio::test]
async fn operator_rsa_certificates_work() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("rsa.crt"), dir.path().join("rsa.key"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key_path)
        .arg("-out")
        .arg(&cert_path)
        .output();
    if !made.as_ref().is_ok_and(|o| o.status.success()) {
        common::skipped("SKIPPED operator_rsa_certificates_work: openssl is not installed");
        return;
    }
    let server = operator_server(&cert_path, &key_path).await;
    let mut ws = connect_pinned(&server, &cert_path, "").await.unwrap();
    assert!(json(&ask_tls(&mut ws, "get_disks").await).is_array());
}

#[tokio::test]
async fn plain_ws_against_the_tls_port_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    let server = tls_server(dir.path(), &[]).await;
    let t0 = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(server.url("/ws")),
    )
    .await
    .expect("no hang");
    assert!(result.is_err());
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

#[tokio::test]
async fn token_auth_still_answers_401_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let server = tls_server(dir.path(), &["--token", "tls-secret"]).await;
    let cert = dir.path().join("cert.pem");
    let err = connect_pinned(&server, &cert, "?token=wrong")
        .await
        .unwrap_err();
    assert!(err.contains("401"), "{err}");
    let mut ws = connect_pinned(&server, &cert, "?token=tls-secret")
        .await
        .unwrap();
    assert!(json(&ask_tls(&mut ws, "get_metrics").await)["cpu_total"].is_number());
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_the_handshake_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = tls_server(dir.path(), &["--tls-handshake-timeout-ms", "300"]).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let t0 = Instant::now();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .expect("dropped before 5 s")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without a byte");
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    // Others are unaffected.
    let mut ws = connect_pinned(&server, &dir.path().join("cert.pem"), "")
        .await
        .unwrap();
    assert!(json(&ask_tls(&mut ws, "get_metrics").await)["cpu_total"].is_number());
}

#[tokio::test]
async fn shutdown_closes_wss_clients_with_1001_and_returns() {
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let mut server = tls_server(dir.path(), &[]).await;
    let mut ws = connect_pinned(&server, &dir.path().join("cert.pem"), "")
        .await
        .unwrap();
    assert!(json(&ask_tls(&mut ws, "get_metrics").await)["cpu_total"].is_number());
    server.signal_stop();
    let closed = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("closed within 5 s");
    match closed {
        Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(c)))) => {
            assert_eq!(u16::from(c.code), 1001)
        }
        other => panic!("expected close 1001, got {other:?}"),
    }
    tokio::time::timeout(Duration::from_secs(5), server.join())
        .await
        .expect("run returns")
        .unwrap();
}
