//! A test certificate authority made in the test (rcgen) and a server certificate it signs, for
//! TLS servers on loopback that surge must trust through `ca_cert` (or `SSL_CERT_FILE`).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA (its PEM, for `ca_cert`) and a TLS acceptor whose certificate it signed.
pub struct TestCa {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// Serves the leaf certificate, offering `alpn` protocols.
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// The server config (for servers that speak HTTP/2 by ALPN).
    pub config: Arc<rustls::ServerConfig>,
}

/// A new CA and a server certificate for `names` (DNS names or IP addresses), offering `alpn`.
pub fn ca_for(names: &[&str], alpn: &[&[u8]]) -> TestCa {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "surge test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, names[0]);
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    let chain = vec![
        CertificateDer::from(leaf.der().to_vec()),
        CertificateDer::from(ca_cert.der().to_vec()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let config = Arc::new(config);
    TestCa {
        ca_pem: ca_cert.pem(),
        acceptor: tokio_rustls::TlsAcceptor::from(config.clone()),
        config,
    }
}
