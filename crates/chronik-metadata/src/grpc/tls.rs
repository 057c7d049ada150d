//! TLS with client certificates on every gRPC connection of a cluster: Raft traffic between
//! meta nodes, and brokers and tools calling the controller. Each side presents a certificate
//! signed by the cluster's CA and accepts only a peer that does the same, so a node without
//! such a certificate can neither join the quorum nor read or change the metadata.
//!
//! The certificates can be replaced while the node runs ([`ClusterTls::reload`]): connections
//! opened or accepted afterwards use the new files, connections already up keep their session.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chronik_auth::AuthError;
use chronik_auth::tls::{ReloadableServerConfig, TlsFiles};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// How long a caller may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes under way at once; further callers are closed until some finish.
const MAX_HANDSHAKES: usize = 1024;

/// This node's certificate and key and the cluster's CA, loaded and checked. Clones share
/// one set of files: reloading through one reloads them all.
#[derive(Clone)]
pub struct ClusterTls {
    inner: Arc<Loaded>,
}

struct Loaded {
    /// The gRPC server's side, offering HTTP/2 by ALPN as gRPC clients require.
    server: ReloadableServerConfig,
    /// The client side, in tonic's form: tonic builds its rustls configuration per endpoint.
    client: RwLock<ClientTlsConfig>,
}

/// A node's TLS files read again, not yet in force.
pub struct ReadAgain {
    server: Arc<tokio_rustls::rustls::ServerConfig>,
    client: ClientTlsConfig,
}

impl fmt::Debug for ClusterTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The identity holds the private key: show where it came from, never its bytes.
        f.debug_struct("ClusterTls")
            .field("files", self.files())
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
        let server = ReloadableServerConfig::server_with_alpn(files.clone(), vec![b"h2".to_vec()])?;
        let client = client_config(&files)?;
        Ok(ClusterTls {
            inner: Arc::new(Loaded {
                server,
                client: RwLock::new(client),
            }),
        })
    }

    /// Where the certificate, key and CA were read from.
    pub fn files(&self) -> &TlsFiles {
        self.inner.server.files()
    }

    /// Reads the files again, for connections made from now on. When they are not a valid
    /// set, nothing changes and the error says what is wrong.
    pub fn reload(&self) -> Result<(), AuthError> {
        let loaded = self.read_again()?;
        self.install(loaded);
        Ok(())
    }

    /// The files read again and checked, for [`ClusterTls::install`]: a caller that reloads
    /// other configurations too reads them all before it changes any.
    pub fn read_again(&self) -> Result<ReadAgain, AuthError> {
        Ok(ReadAgain {
            server: self.inner.server.build()?,
            client: client_config(self.files())?,
        })
    }

    /// Puts files read by [`ClusterTls::read_again`] in force.
    pub fn install(&self, loaded: ReadAgain) {
        self.inner.server.install(loaded.server);
        match self.inner.client.write() {
            Ok(mut current) => *current = loaded.client,
            Err(poisoned) => *poisoned.into_inner() = loaded.client,
        }
    }

    /// The server side for the next accepted connection: this node's certificate, and a
    /// client certificate required of every caller.
    pub(crate) fn server(&self) -> Arc<tokio_rustls::rustls::ServerConfig> {
        self.inner.server.current()
    }

    fn client(&self) -> ClientTlsConfig {
        match self.inner.client.read() {
            Ok(config) => config.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// tonic's client settings for `files`, after rustls has checked them (tonic checks the PEM
/// only at the first connection).
fn client_config(files: &TlsFiles) -> Result<ClientTlsConfig, AuthError> {
    chronik_auth::tls::client_config(files)?;
    let ca = (files.client_ca.as_deref())
        .ok_or_else(|| AuthError::Tls("gRPC over TLS needs the cluster's CA".into()))?;
    Ok(ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read(ca)?))
        .identity(Identity::from_pem(read(&files.cert)?, read(&files.key)?)))
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

/// The TLS connections accepted on `listener`, for the gRPC server. Each handshake runs on its
/// own task with the certificate current at accept time, so a slow or half-open caller holds
/// up no one, and is dropped after [`HANDSHAKE_TIMEOUT`]; beyond [`MAX_HANDSHAKES`] under way,
/// new callers are closed at once rather than queued behind them. Accepting stops, and
/// handshakes under way are dropped, when the server drops the stream.
pub(crate) fn incoming(
    listener: TcpListener,
    tls: ClusterTls,
) -> ReceiverStream<std::io::Result<TlsStream<TcpStream>>> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut handshakes = JoinSet::new();
        loop {
            let (tcp, peer) = tokio::select! {
                _ = tx.closed() => return,
                Some(_) = handshakes.join_next(), if !handshakes.is_empty() => continue,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, most likely: give connections time to close.
                        tracing::warn!(error = %e, "gRPC accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            if handshakes.len() >= MAX_HANDSHAKES {
                tracing::debug!(%peer, "too many gRPC TLS handshakes under way; closing");
                continue;
            }
            let _ = tcp.set_nodelay(true);
            let acceptor = TlsAcceptor::from(tls.server());
            let tx = tx.clone();
            handshakes.spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(Err(e)) => tracing::info!(%peer, error = %e, "gRPC TLS handshake failed"),
                    Err(_) => tracing::info!(%peer, "gRPC TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}
