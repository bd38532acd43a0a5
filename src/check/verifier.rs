//! The one certificate verifier of the checks that judge certificates
//! their own way: libpq's `sslmode` below `verify-full` (`sql`), and the
//! `tls` check, which must still read a certificate that does not verify
//! to say when it expired. The handshake's signatures are always checked,
//! so the session is really with the holder of the certificate's key.

use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// What the verifier accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// libpq's `prefer` and `require`: encrypted, any certificate will do.
    AnyCertificate,
    /// libpq's `verify-ca`: the chain must lead to a trusted root; the name
    /// in the certificate may differ from the host connected to.
    AnyName,
    /// The chain and the name, like a browser.
    Full,
}

/// The server's certificate (DER) and whether it verified (the reason if not).
pub type Seen = (Vec<u8>, Result<(), String>);

#[derive(Debug)]
pub struct Verifier {
    provider: Arc<CryptoProvider>,
    /// The roots to verify against; `None` with `Policy::AnyCertificate`.
    chain: Option<Arc<WebPkiServerVerifier>>,
    policy: Policy,
    seen: Mutex<Option<Seen>>,
}

impl Verifier {
    pub fn new(
        provider: Arc<CryptoProvider>,
        chain: Option<Arc<WebPkiServerVerifier>>,
        policy: Policy,
    ) -> Verifier {
        Verifier {
            provider,
            chain,
            policy,
            seen: Mutex::new(None),
        }
    }

    /// The certificate the server showed, and the verdict on it.
    pub fn seen(&self) -> Option<Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match (&self.chain, self.policy) {
            (None, _) | (_, Policy::AnyCertificate) => Ok(ServerCertVerified::assertion()),
            (Some(chain), policy) => {
                match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                    Err(rustls::Error::InvalidCertificate(
                        CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. },
                    )) if policy == Policy::AnyName => Ok(ServerCertVerified::assertion()),
                    other => other,
                }
            }
        };
        let kept = verdict.as_ref().map(|_| ()).map_err(ToString::to_string);
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some((end_entity.to_vec(), kept));
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, self.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}

impl Verifier {
    fn algorithms(&self) -> &rustls::crypto::WebPkiSupportedAlgorithms {
        &self.provider.signature_verification_algorithms
    }
}
