//! A test PKI for the enterprise TLS tests: a CA made in the test (rcgen), a server
//! certificate it signs for a made-up host name, and a client certificate as PEM files and as a
//! PKCS#12 bundle.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A name no resolver knows: only `[target] resolve` (or a DNS Cache Manager) can reach it.
pub const HOST: &str = "api.enterprise-test.invalid";
/// The PKCS#12 bundle's password.
pub const P12_PASSWORD: &str = "p12-Pa55-never-shown";

/// A CA, a server certificate for [`HOST`], and a client certificate, written as files
/// (`ca.pem`, `client.pem`, `client.key`, `client.p12` under [`P12_PASSWORD`]).
pub struct Pki {
    dir: tempfile::TempDir,
    ca_der: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
}

impl Pki {
    pub fn new() -> Pki {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "surge enterprise test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf = |name: &str| {
            let key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(vec![name.to_string()]).unwrap();
            p.distinguished_name.push(DnType::CommonName, name);
            let cert = p.signed_by(&key, &issuer).unwrap();
            (cert, key)
        };
        let (server, server_key) = leaf(HOST);
        let (client, client_key) = leaf("surge-client");
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, text: &[u8]| std::fs::write(dir.path().join(name), text).unwrap();
        w("ca.pem", ca.pem().as_bytes());
        w("client.pem", client.pem().as_bytes());
        w("client.key", client_key.serialize_pem().as_bytes());
        // The same identity as a PKCS#12 bundle (as `keytool` or `openssl pkcs12` write them).
        let chain = p12_keystore::PrivateKeyChain::new(
            vec![1u8; 20],
            p12_keystore::PrivateKey::from_der(&client_key.serialize_der()).unwrap(),
            [
                p12_keystore::Certificate::from_der(client.der()).unwrap(),
                p12_keystore::Certificate::from_der(ca.der()).unwrap(),
            ],
        );
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(
            "client",
            p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
        );
        w("client.p12", &store.writer(P12_PASSWORD).write().unwrap());
        Pki {
            dir,
            ca_der: ca.der().clone(),
            server_chain: vec![server.der().clone(), ca.der().clone()],
            server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A TLS acceptor for [`HOST`]; requiring a client certificate this CA signed when `mutual`.
    pub fn acceptor(&self, mutual: bool) -> tokio_rustls::TlsAcceptor {
        let builder = rustls::ServerConfig::builder();
        let builder = if mutual {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca_der.clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let cfg = builder
            .with_single_cert(self.server_chain.clone(), self.server_key.clone_key())
            .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
    }
}
