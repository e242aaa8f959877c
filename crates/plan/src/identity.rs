//! The client certificate a scenario presents for mutual TLS (`[target] client_cert` +
//! `client_key`, or `client_p12` with its password from the environment), read and checked when
//! the scenario is read, so a file that holds no certificate or no key is named with its field
//! before anything runs. The transport builds its TLS set-up from the same reading.

use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::Serialize;
use surge_record::limits;

/// Where the client certificate comes from. Holds file names and the name of the variable that
/// holds the PKCS#12 password, never the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClientCert {
    /// A PEM certificate chain and a PEM private key.
    Pem {
        /// `client_cert`: the certificate (then its intermediates).
        cert: PathBuf,
        /// `client_key`: the private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// A PKCS#12 bundle (`.p12`, `.pfx`).
    Pkcs12 {
        /// `client_p12`.
        file: PathBuf,
        /// `client_p12_password_env`: the variable holding its password.
        password_env: String,
    },
}

impl std::fmt::Display for ClientCert {
    /// The files, as an error names them (`client.pem` with `client.key`, or the bundle).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientCert::Pem { cert, key } => {
                write!(f, "{} with {}", cert.display(), key.display())
            }
            ClientCert::Pkcs12 { file, .. } => write!(f, "{}", file.display()),
        }
    }
}

/// A certificate chain and its key, ready for a TLS handshake.
#[derive(Debug)]
pub struct Identity {
    /// The client's certificate first, then its intermediates.
    pub certs: Vec<CertificateDer<'static>>,
    /// The private key of the first certificate.
    pub key: PrivateKeyDer<'static>,
}

/// Why a client certificate cannot be used: the field to blame and the reason (which names the
/// file; never the password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct IdentityError {
    /// `target.client_cert`, `target.client_key`, `target.client_p12` or
    /// `target.client_p12_password_env`.
    pub field: &'static str,
    /// Why, naming the file.
    pub message: String,
}

fn fail(field: &'static str, path: &Path, why: impl std::fmt::Display) -> IdentityError {
    IdentityError {
        field,
        message: format!("{}: {why}", path.display()),
    }
}

/// Reads the certificate and key `cc` names (a PKCS#12 password from its variable).
///
/// # Errors
/// [`IdentityError`]: a file unreadable, too large, not PEM or PKCS#12, without a certificate or
/// a key; a wrong password; the password's variable not set.
pub fn load(cc: &ClientCert) -> Result<Identity, IdentityError> {
    match cc {
        ClientCert::Pem { cert, key } => {
            let certs = read_pem_certs(cert).map_err(|e| fail("target.client_cert", cert, e))?;
            let key = read_pem_key(key).map_err(|e| fail("target.client_key", key, e))?;
            Ok(Identity { certs, key })
        }
        ClientCert::Pkcs12 { file, password_env } => {
            let password = std::env::var(password_env).map_err(|_| IdentityError {
                field: "target.client_p12_password_env",
                message: format!(
                    "environment variable {password_env} is not set (it holds the password of {})",
                    file.display()
                ),
            })?;
            read_p12(file, &password).map_err(|e| fail("target.client_p12", file, e))
        }
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    limits::read(path, limits::CERT_FILE_BYTES).map_err(|e| e.to_string())
}

/// Every certificate of a PEM file.
fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = read_file(path)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not a PEM file ({e})"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}

/// The first private key of a PEM file.
fn read_pem_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = read_file(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => {
            "holds no PEM private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)"
                .to_string()
        }
        e => format!("not a PEM private key ({e})"),
    })
}

/// The first key and its chain of a PKCS#12 bundle.
fn read_p12(path: &Path, password: &str) -> Result<Identity, String> {
    let bytes = read_file(path)?;
    let store = p12_keystore::KeyStore::from_pkcs12(
        &bytes,
        password,
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .map_err(|e| match e {
        p12_keystore::error::Error::MacError(_) => {
            "the password is wrong, or the file is damaged (its MAC does not match)".to_string()
        }
        e => format!("not a PKCS#12 bundle ({e})"),
    })?;
    let Some((_, chain)) = store.private_key_chain() else {
        return Err("holds no private key".into());
    };
    if chain.certs().is_empty() {
        return Err("holds a private key but no certificate for it".into());
    }
    Ok(Identity {
        certs: chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_hold_no_certificate_or_key_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "nothing here\n").unwrap();
        let e = load(&ClientCert::Pem {
            cert: empty.clone(),
            key: empty.clone(),
        })
        .unwrap_err();
        assert_eq!(e.field, "target.client_cert");
        assert!(
            e.message.contains("empty.pem: holds no PEM certificate"),
            "{e}"
        );
        let e = load(&ClientCert::Pkcs12 {
            file: empty.clone(),
            password_env: "SURGE_TEST_P12_PASS_UNSET_ANYWHERE".into(),
        })
        .unwrap_err();
        assert_eq!(e.field, "target.client_p12_password_env");
        assert!(
            e.message
                .contains("SURGE_TEST_P12_PASS_UNSET_ANYWHERE is not set"),
            "{e}"
        );
        let e = read_p12(&empty, "pw").unwrap_err();
        assert!(e.starts_with("not a PKCS#12 bundle"), "{e}");
    }

    #[test]
    fn an_endless_file_stops_at_its_limit() {
        let e = read_pem_key(Path::new("/dev/zero")).unwrap_err();
        assert!(e.contains("larger than 4 MiB"), "{e}");
    }
}
