//! Certificate files a scenario names (`[target] ca_cert`), read and checked when the scenario is
//! read, so a file that holds no certificate is named with its field before anything runs. The
//! transport builds its TLS set-up from the same reading.

use std::path::Path;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;

/// Why a certificate file cannot be used (the caller names the file and the field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PemError(String);

/// Reads every certificate of a PEM file.
///
/// # Errors
/// Unreadable, not PEM, or no `CERTIFICATE` block.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let bytes = surge_record::limits::read(path, surge_record::limits::CERT_FILE_BYTES)
        .map_err(|e| PemError(e.to_string()))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| PemError(format!("not a PEM file ({e})")))?;
    if certs.is_empty() {
        return Err(PemError(
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    Ok(certs)
}
