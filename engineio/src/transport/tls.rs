//! TLS the engine terminates itself, with rustls: on its own listener when given a
//! certificate ([`crate::EngineServer::listen_tls_on`]), and on the connections of a host's
//! TLS server that it takes over as they are accepted ([`crate::EngineServer::serve_adopted_tls`]).

use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use tokio_rustls::server::TlsStream;

/// Node's `https.Server` waits this long for a handshake by default (`handshakeTimeout`).
const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a certificate and key cannot serve TLS.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error("the TLS certificate holds no PEM `CERTIFICATE` block")]
    NoCertificate,
    #[error(
        "the TLS key holds no unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1): \
         decrypt an encrypted key first"
    )]
    NoPrivateKey,
    #[error("the TLS certificate or key is not valid PEM: {0}")]
    Pem(String),
    #[error("the TLS key and certificate cannot be used together: {0}")]
    Rejected(#[from] rustls::Error),
}

/// A server certificate chain and its key, ready to accept connections (cheap to clone).
#[derive(Clone)]
pub struct TlsSettings {
    acceptor: tokio_rustls::TlsAcceptor,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl TlsSettings {
    /// From PEM text: `cert_chain` holds the server's certificate first, then any
    /// intermediates; `key` its private key. Offers ALPN `http/1.1`, as Node's `https.Server`
    /// does.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<TlsSettings, TlsConfigError> {
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsConfigError::Pem(e.to_string()))?;
        if certs.is_empty() {
            return Err(TlsConfigError::NoCertificate);
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => TlsConfigError::NoPrivateKey,
            other => TlsConfigError::Pem(other.to_string()),
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsSettings {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        })
    }

    /// How long a client has to complete its handshake (120 s unless set).
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> TlsSettings {
        self.handshake_timeout = timeout;
        self
    }

    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// The handshake on `io`, bounded by the handshake timeout.
    pub async fn accept<IO>(&self, io: IO) -> io::Result<TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        match tokio::time::timeout(self.handshake_timeout, self.acceptor.accept(io)).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the TLS handshake did not finish in time",
            )),
        }
    }
}

/// What a TLS connection negotiated, as a host's TLS socket would report it.
#[derive(Debug, Clone, Default)]
pub struct TlsSessionInfo {
    /// "TLSv1.3" or "TLSv1.2", spelled as Node and OpenSSL do.
    pub protocol: Option<String>,
    /// The cipher suite's IANA name.
    pub cipher: Option<String>,
    /// The protocol agreed through ALPN.
    pub alpn: Option<String>,
    /// The host name the client asked for (SNI).
    pub server_name: Option<String>,
}

impl TlsSessionInfo {
    pub fn of<IO>(stream: &TlsStream<IO>) -> TlsSessionInfo {
        let (_, conn) = stream.get_ref();
        TlsSessionInfo {
            protocol: conn.protocol_version().map(|v| match v {
                rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
                rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
                other => format!("{other:?}"),
            }),
            cipher: conn
                .negotiated_cipher_suite()
                .and_then(|s| s.suite().as_str())
                .map(str::to_string),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            server_name: conn.server_name().map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tls");
        std::fs::read(dir.join(name)).expect("the TLS fixtures are in the repository")
    }

    #[test]
    fn a_pem_certificate_and_key_make_settings() {
        let tls = TlsSettings::from_pem(
            &fixture("localhost-cert.pem"),
            &fixture("localhost-key.pem"),
        )
        .expect("the fixture serves TLS");
        assert_eq!(tls.handshake_timeout(), DEFAULT_HANDSHAKE_TIMEOUT);
        let tls = tls.with_handshake_timeout(Duration::from_millis(300));
        assert_eq!(tls.handshake_timeout(), Duration::from_millis(300));
    }

    #[test]
    fn a_missing_or_mismatched_part_is_a_clear_error() {
        let cert = fixture("localhost-cert.pem");
        let key = fixture("localhost-key.pem");
        assert!(matches!(
            TlsSettings::from_pem(&key, &key),
            Err(TlsConfigError::NoCertificate)
        ));
        assert!(matches!(
            TlsSettings::from_pem(&cert, &cert),
            Err(TlsConfigError::NoPrivateKey)
        ));
        // A key of its own, not the certificate's.
        let other_key = b"-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgvFeZkBUCSoajLWEA
0fX4otOJh91DD1/Sl1697AURNMuhRANCAAQdILWCFigl+u1jogE/O29LOuwOC9dB
OMIW1tdIrZMHGjhRweeqoDJJ/XwLkov4XwKsWUOWetW9FqOsIcg9BvGk
-----END PRIVATE KEY-----
";
        assert!(matches!(
            TlsSettings::from_pem(&cert, other_key),
            Err(TlsConfigError::Rejected(_))
        ));
    }
}
