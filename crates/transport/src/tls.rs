//! TLS for every HTTPS request surge makes: rustls, verifying against the system's roots (the
//! platform verifier; `SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured as OpenSSL honours them)
//! plus the certificates of the scenario's `ca_cert`. Built once per run and shared by the hot
//! path and the OAuth token requests, so both trust exactly the same authorities.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;

/// TLS set-up failures. Messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// `ca_cert` could not be read or holds no certificate.
    #[error("target.ca_cert: {path}: {message}")]
    CaCert {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The client certificate (`client_cert`/`client_key` or `client_p12`) cannot be used.
    #[error("{0}")]
    ClientCert(surge_plan::identity::IdentityError),
    /// TLS refuses the client certificate read (a v1 certificate, a key that is not its own).
    #[error("{0}")]
    ClientCertRefused(String),
    /// rustls could not be set up (no roots at all, a certificate rustls rejects).
    #[error("TLS set-up: {0}")]
    Setup(String),
}

/// Installs the rustls crypto provider once per process (idempotent).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Reads every certificate of a PEM file (the scenario's `ca_cert`), as the plan checked it.
///
/// # Errors
/// [`TlsError::CaCert`]: unreadable, not PEM, or no `CERTIFICATE` block.
pub fn load_ca(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    surge_plan::pem::read_certificates(path).map_err(|e| TlsError::CaCert {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Which protocols to offer in ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// `h2`, then `http/1.1`: the server chooses.
    Both,
    /// `http/1.1` only.
    Http1,
    /// `h2` only.
    Http2,
}

/// A client config trusting the system's roots and `extra` (the scenario's `ca_cert`),
/// presenting `identity` (mutual TLS) when a server asks for a client certificate; its `&str`
/// names it in errors (the field and the files).
///
/// # Errors
/// [`TlsError::Setup`] when rustls rejects a certificate or key, or there are no roots at all.
pub fn client_config(
    extra: &[CertificateDer<'static>],
    identity: Option<(surge_plan::identity::Identity, &str)>,
    alpn: Alpn,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    install_crypto();
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
        extra.iter().cloned(),
        provider.clone(),
    )
    .map_err(|e| TlsError::Setup(e.to_string()))?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut cfg = match identity {
        None => builder.with_no_client_auth(),
        Some((id, named)) => builder
            .with_client_auth_cert(id.certs, id.key)
            .map_err(|e| {
                let why = match e {
                    rustls::Error::InvalidCertificate(rustls::CertificateError::Other(o))
                        if format!("{o:?}").contains("UnsupportedCertVersion") =>
                    {
                        "an X.509 v1 certificate, which TLS refuses: issue a v3 one (openssl x509 -req … -extfile with its extensions)".to_string()
                    }
                    rustls::Error::InconsistentKeys(_) => {
                        "the private key is not the certificate's".to_string()
                    }
                    e => format!("TLS cannot use it ({e})"),
                };
                TlsError::ClientCertRefused(format!("{named}: {why}"))
            })?,
    };
    cfg.alpn_protocols = match alpn {
        Alpn::Both => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        Alpn::Http1 => vec![b"http/1.1".to_vec()],
        Alpn::Http2 => vec![b"h2".to_vec()],
    };
    Ok(Arc::new(cfg))
}
