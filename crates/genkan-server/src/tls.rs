//! HTTPS: the rustls server configuration (TLS 1.3 and 1.2 only, ECDHE with AEAD
//! ciphers only — rustls offers nothing else), certificate loading, a self-signed
//! certificate for demos and tests, and the plain-HTTP listener that only redirects.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Builds the TLS configuration from PEM files.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading tls.cert_file {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| {
            format!(
                "tls.cert_file {} is not a PEM certificate chain",
                cert.display()
            )
        })?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("tls.key_file {} is not a PEM private key", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Writes a self-signed certificate for `hostnames` (plus localhost and 127.0.0.1)
/// as `cert.pem` and `key.pem` (mode 600) into `dir`; returns their paths.
pub fn generate_self_signed(
    dir: &Path,
    hostnames: &[String],
) -> anyhow::Result<(PathBuf, PathBuf)> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut names: Vec<String> = hostnames.to_vec();
    for default in ["localhost", "127.0.0.1"] {
        if !names.iter().any(|n| n == default) {
            names.push(default.to_owned());
        }
    }
    let certified =
        rcgen::generate_simple_self_signed(names).context("generating a certificate")?;
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem())?;
    let mut key = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&key_path)?;
    key.write_all(certified.signing_key.serialize_pem().as_bytes())?;
    Ok((cert_path, key_path))
}

/// A router that answers every plain-HTTP request with a permanent redirect to
/// the same path under `public_url` (nothing else is served without TLS).
pub fn redirect_router(public_url: &str) -> Router {
    let base = public_url.trim_end_matches('/').to_owned();
    Router::new().fallback(move |uri: Uri| {
        let base = base.clone();
        async move {
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            (
                StatusCode::PERMANENT_REDIRECT,
                [(header::LOCATION, format!("{base}{path}"))],
            )
                .into_response()
        }
    })
}

/// Serves the redirect router on `addr` until the process ends, with the security
/// headers of every answer (HSTS excepted: it means nothing over plain HTTP) and the
/// same request-head deadline as the main listener.
pub async fn serve_redirects(
    addr: SocketAddr,
    public_url: String,
    header_read_timeout: std::time::Duration,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on tls.redirect_listen {addr}"))?;
    let app = redirect_router(&public_url).layer(axum::middleware::from_fn_with_state(
        crate::routes::Transport { https: false },
        crate::routes::security_headers,
    ));
    crate::http::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
        header_read_timeout,
        std::future::pending(),
    )
    .await
    .context("redirect listener")
}
