//! TLS configuration from PEM files: servers (reloadable while connections stay up) and a
//! node's client side towards the rest of its cluster.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::{AuthError, Principal, Result};

/// Where a listener's certificate, key and (for client certificates) trusted CAs are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain, leaf first.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CAs whose client certificates are accepted; when set, every client must present one.
    pub client_ca: Option<PathBuf>,
}

/// A TLS configuration built from PEM files that can be read again while it is in use:
/// connections made afterwards take the new one; connections already up keep the session
/// they negotiated.
pub struct Reloadable<C> {
    files: TlsFiles,
    build: Box<Build<C>>,
    current: RwLock<Arc<C>>,
}

/// Builds a configuration from the files.
type Build<C> = dyn Fn(&TlsFiles) -> Result<Arc<C>> + Send + Sync;

/// A listener's server side, reloadable (SIGHUP).
pub type ReloadableServerConfig = Reloadable<ServerConfig>;

/// A node's client side towards the rest of its cluster, reloadable (SIGHUP).
pub type ReloadableClientConfig = Reloadable<ClientConfig>;

impl<C> std::fmt::Debug for Reloadable<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloadable")
            .field("files", &self.files)
            .finish()
    }
}

impl<C> Reloadable<C> {
    /// Builds the configuration from `files` with `build`, failing with what is wrong with them.
    pub fn load(
        files: TlsFiles,
        build: impl Fn(&TlsFiles) -> Result<Arc<C>> + Send + Sync + 'static,
    ) -> Result<Self> {
        let config = build(&files)?;
        Ok(Reloadable {
            files,
            build: Box::new(build),
            current: RwLock::new(config),
        })
    }

    pub fn current(&self) -> Arc<C> {
        match self.current.read() {
            Ok(config) => config.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the files again; on error the previous configuration stays in force.
    pub fn reload(&self) -> Result<()> {
        self.install(self.build()?);
        Ok(())
    }

    /// A configuration from the files as they are now, not yet in force.
    pub fn build(&self) -> Result<Arc<C>> {
        (self.build)(&self.files)
    }

    /// Puts `config` (from [`Reloadable::build`]) in force for connections made from now on.
    pub fn install(&self, config: Arc<C>) {
        match self.current.write() {
            Ok(mut current) => *current = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
    }

    pub fn files(&self) -> &TlsFiles {
        &self.files
    }
}

impl Reloadable<ServerConfig> {
    /// A server configuration from `files` (see [`server_config`]).
    pub fn server(files: TlsFiles) -> Result<Self> {
        Self::load(files, server_config)
    }

    /// A server configuration that also offers `protocols` by ALPN (HTTP/2's `h2` for gRPC).
    pub fn server_with_alpn(files: TlsFiles, protocols: Vec<Vec<u8>>) -> Result<Self> {
        Self::load(files, move |files| {
            let mut config = Arc::unwrap_or_clone(server_config(files)?);
            config.alpn_protocols = protocols.clone();
            Ok(Arc::new(config))
        })
    }
}

impl Reloadable<ClientConfig> {
    /// A client configuration from `files` (see [`client_config`]).
    pub fn client(files: TlsFiles) -> Result<Self> {
        Self::load(files, client_config)
    }
}

/// ring, the workspace's one crypto provider (SCRAM uses it too). rustls deprecates it only
/// because it lacks post-quantum key exchange, which no Kafka client negotiates today.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds a server configuration from PEM files.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>> {
    let chain = load_certs(&files.cert)?;
    let key = load_key(&files.key)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in load_certs(path)? {
                roots.add(cert).map_err(|e| {
                    tls_error(format!("bad CA certificate in {}: {e}", path.display()))
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider())
                .build()
                .map_err(|e| tls_error(format!("client CAs in {}: {e}", path.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(chain, key).map_err(|e| {
        tls_error(format!(
            "certificate {} and key {} do not make a server identity: {e}",
            files.cert.display(),
            files.key.display()
        ))
    })?;
    Ok(Arc::new(config))
}

/// A client configuration for connections to other nodes of the cluster: servers are checked
/// against `files.client_ca` (the CA that signs every node's certificate), and this node
/// presents `files.cert` when asked for a client certificate.
pub fn client_config(files: &TlsFiles) -> Result<Arc<ClientConfig>> {
    let ca = files.client_ca.as_deref().ok_or_else(|| {
        tls_error("connections to other nodes need the CA of their certificates".into())
    })?;
    client_config_for(ca, Some((&files.cert, &files.key)))
}

/// A client configuration trusting the CAs in `ca`, presenting `identity` (certificate and
/// key files) when the server asks for a client certificate.
pub fn client_config_for(ca: &Path, identity: Option<(&Path, &Path)>) -> Result<Arc<ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in load_certs(ca)? {
        roots
            .add(cert)
            .map_err(|e| tls_error(format!("bad CA certificate in {}: {e}", ca.display())))?;
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(e.to_string()))?
        .with_root_certificates(roots);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(load_certs(cert)?, load_key(key)?)
            .map_err(|e| {
                tls_error(format!(
                    "certificate {} and key {} do not make a client identity: {e}",
                    cert.display(),
                    key.display()
                ))
            })?,
    };
    Ok(Arc::new(config))
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        tls_error(format!(
            "cannot read a PEM private key from {}: {e}",
            path.display()
        ))
    })
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| {
            tls_error(format!(
                "cannot read PEM certificates from {}: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(tls_error(format!(
            "{} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// The principal of a verified client certificate chain: `User:<subject CN>`.
pub fn certificate_principal(chain: &[CertificateDer<'_>]) -> Option<Principal> {
    let leaf = chain.first()?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    let cn = cert.subject().iter_common_name().next()?.as_str().ok()?;
    Some(Principal::user(cn))
}

fn tls_error(message: String) -> AuthError {
    AuthError::Tls(message)
}
