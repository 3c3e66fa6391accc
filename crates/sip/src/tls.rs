//! Settings for SIP over TLS (RFC 3261 §26.2): rustls with the ring provider, certificates, keys
//! and CAs from PEM files. The endpoint accepts TLS on its own port (5061 by default) when given
//! a server config, and opens TLS connections — verifying the server's certificate against the
//! configured roots — when given a client config.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

pub use rustls::{ClientConfig, ServerConfig};

/// Debian's bundle of public CAs: the roots used when no CA file is configured.
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Why a TLS setting could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// A file does not hold what it should.
    #[error("{path}: {what}")]
    Pem { path: String, what: String },
    /// rustls refused the certificate/key pair or the roots.
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
    /// Not a DNS name or IP address.
    #[error("not a valid TLS server name: {0}")]
    ServerName(String),
}

/// Where and how the endpoint speaks TLS. Default: not at all.
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    /// Accept SIP over TLS on this address (port 0: any free port) with this certificate.
    pub listen: Option<(SocketAddr, Arc<ServerConfig>)>,
    /// Open TLS connections with this config (None: a TLS send without an open connection
    /// fails).
    pub client: Option<TlsClient>,
}

/// How we open TLS connections.
#[derive(Clone, Debug)]
pub struct TlsClient {
    /// Roots to verify the server's certificate against.
    pub config: Arc<ClientConfig>,
    /// The name the server's certificate must carry (None: the IP address we connect to).
    pub server_name: Option<ServerName<'static>>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn certs_from_pem(pem: &[u8], origin: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: origin.to_string(),
            what: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: origin.to_string(),
            what: "no PEM certificate in it".into(),
        });
    }
    Ok(certs)
}

/// A server config from a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1).
pub fn server_config_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    origin: &str,
) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = certs_from_pem(cert_pem, origin)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Pem {
        path: origin.to_string(),
        what: format!("private key: {e}"),
    })?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}

/// A server config from the certificate and key files.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let origin = format!("{} / {}", cert.display(), key.display());
    server_config_from_pem(&read(cert)?, &read(key)?, &origin)
}

/// A client config trusting the CA certificates in `ca_pem`.
pub fn client_config_from_pem(ca_pem: &[u8], origin: &str) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs_from_pem(ca_pem, origin)? {
        roots.add(cert)?;
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A client config trusting the CAs in `ca` (a custom CA), or the system's bundle.
pub fn client_config(ca: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let path = ca.unwrap_or(Path::new(SYSTEM_CA_BUNDLE));
    client_config_from_pem(&read(path)?, &path.display().to_string())
}

/// The name to verify a server's certificate against: a DNS name or an IP address.
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string()).map_err(|_| TlsError::ServerName(host.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_pem_is_a_clear_error() {
        let err = server_config_from_pem(b"nothing", b"nothing", "x.pem").unwrap_err();
        assert_eq!(err.to_string(), "x.pem: no PEM certificate in it");
        let err = client_config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("cannot read /nonexistent/ca.pem"));
        assert!(server_name("sip.example.com").is_ok());
        assert!(server_name("[::1]").is_ok());
        assert!(server_name("bad name!").is_err());
    }
}
