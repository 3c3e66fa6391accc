//! A throwaway PKI for TLS tests: a CA and a server certificate it signed (for `localhost` and
//! 127.0.0.1), plus a second, unrelated CA to show that a certificate it did not sign is refused.

use std::path::{Path, PathBuf};

/// PEM texts of a test CA and of a server certificate + key signed by it.
pub struct TestPki {
    /// The CA certificate (what the client trusts).
    pub ca_pem: String,
    /// The server's certificate (signed by the CA).
    pub cert_pem: String,
    /// The server's private key (PKCS#8).
    pub key_pem: String,
}

/// Paths of a [`TestPki`] written to a directory.
pub struct PkiFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestPki {
    /// A new CA and a server certificate for `localhost` and 127.0.0.1.
    pub fn new() -> TestPki {
        let ca_key = rcgen::KeyPair::generate().expect("ca key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "agentphone test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca cert");
        let key = rcgen::KeyPair::generate().expect("server key");
        let params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("server params");
        let cert = params.signed_by(&key, &ca).expect("server cert");
        TestPki {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// Write ca.pem, cert.pem and key.pem into `dir`.
    pub fn write(&self, dir: &Path) -> PkiFiles {
        std::fs::create_dir_all(dir).expect("pki dir");
        let files = PkiFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&files.ca, &self.ca_pem).expect("write ca.pem");
        std::fs::write(&files.cert, &self.cert_pem).expect("write cert.pem");
        std::fs::write(&files.key, &self.key_pem).expect("write key.pem");
        files
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}
