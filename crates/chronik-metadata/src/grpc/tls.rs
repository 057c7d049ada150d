//! TLS with client certificates on every gRPC connection of a cluster: Raft traffic between
//! meta nodes, and brokers and tools calling the controller. Each side presents a certificate
//! signed by the cluster's CA and accepts only a peer that does the same, so a node without
//! such a certificate can neither join the quorum nor read or change the metadata.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use chronik_auth::AuthError;
use chronik_auth::tls::TlsFiles;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

/// How long a caller may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// This node's certificate and key and the cluster's CA, loaded and checked.
#[derive(Clone)]
pub struct ClusterTls {
    files: TlsFiles,
    identity: Identity,
    ca: Certificate,
}

impl fmt::Debug for ClusterTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The identity holds the private key: show where it came from, never its bytes.
        f.debug_struct("ClusterTls")
            .field("files", &self.files)
            .finish()
    }
}

impl ClusterTls {
    /// Loads the PEM files, failing with what is wrong with them: unreadable, no certificate,
    /// a key that does not match the certificate, or a CA that is not one.
    pub fn load(cert: &Path, key: &Path, ca: &Path) -> Result<ClusterTls, AuthError> {
        let files = TlsFiles {
            cert: cert.to_owned(),
            key: key.to_owned(),
            client_ca: Some(ca.to_owned()),
        };
        // tonic checks the PEM only at the first connection; rustls checks it now.
        chronik_auth::tls::server_config(&files)?;
        Ok(ClusterTls {
            identity: Identity::from_pem(read(cert)?, read(key)?),
            ca: Certificate::from_pem(read(ca)?),
            files,
        })
    }

    /// Where the certificate, key and CA were read from.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// The server side: this node's certificate, and a client certificate required of every
    /// caller. A caller that has not finished its handshake in time is dropped, so half-open
    /// handshakes cannot pile up.
    pub(crate) fn server(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(self.identity.clone())
            .client_ca_root(self.ca.clone())
            .timeout(HANDSHAKE_TIMEOUT)
    }

    fn client(&self) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .ca_certificate(self.ca.clone())
            .identity(self.identity.clone())
    }
}

fn read(path: &Path) -> Result<Vec<u8>, AuthError> {
    std::fs::read(path).map_err(|e| AuthError::Tls(format!("cannot read {}: {e}", path.display())))
}

/// An endpoint for the node at `address` (host:port): over TLS with this node's certificate
/// when `tls` is given, the server's certificate checked against `address`'s host.
pub(crate) fn endpoint(address: &str, tls: Option<&ClusterTls>) -> Result<Endpoint, String> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let endpoint = Endpoint::from_shared(format!("{scheme}://{address}"))
        .map_err(|e| format!("bad address '{address}': {e}"))?;
    match tls {
        None => Ok(endpoint),
        Some(tls) => (endpoint.tls_config(tls.client()))
            .map_err(|e| format!("TLS settings for {address}: {e}")),
    }
}
