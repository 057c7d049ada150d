//! The broker's listeners at run time: bound sockets, the TLS handshake, and which address
//! each listener's clients are told to dial.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chronik_auth::Principal;
use chronik_auth::tls::{ReloadableServerConfig, TlsFiles, certificate_principal};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::cluster::PeerTls;
use crate::config::BrokerConfig;
use crate::connection::Connection;
use crate::error::BrokerError;
use crate::listeners::{ListenerConfig, SecurityProtocol};
use crate::services::Services;

/// A bound listener and what its connections need.
#[derive(Debug)]
pub(crate) struct Listener {
    pub config: ListenerConfig,
    /// The address the socket is bound to.
    pub local: SocketAddr,
    /// The `host:port` clients of this listener are told to dial (and the metadata names this
    /// broker by, on this listener).
    pub advertised: (String, u16),
    /// The TLS configuration of an SSL or SASL_SSL listener.
    pub tls: Option<Arc<ReloadableServerConfig>>,
}

/// The listeners the configuration names: `--listeners`, else one PLAINTEXT `--listen`.
fn listener_configs(config: &BrokerConfig) -> Result<Vec<ListenerConfig>, BrokerError> {
    let listeners = if config.listeners.is_empty() {
        let advertised = match config.advertise.as_deref() {
            Some(text) => Some(parse_host_port(text)?),
            None => None,
        };
        vec![ListenerConfig::plaintext(config.listen, advertised)]
    } else {
        config.listeners.clone()
    };
    if let Some(first) = listeners.first() {
        check_inter_broker_listener(config, first)?;
    }
    Ok(listeners)
}

/// Replication between brokers goes through the first listener: in the clear, or, with
/// `--cluster-tls`, over SSL with client certificates so the fetching broker has a principal.
fn check_inter_broker_listener(
    config: &BrokerConfig,
    first: &ListenerConfig,
) -> Result<(), BrokerError> {
    if config.meta.is_empty() {
        return Ok(());
    }
    let (wanted, how) = if config.cluster_tls {
        (
            SecurityProtocol::Ssl,
            "must be SSL with --cluster-tls (brokers present their certificates to each other)",
        )
    } else {
        (
            SecurityProtocol::Plaintext,
            "must be PLAINTEXT, or SSL with --cluster-tls",
        )
    };
    if first.protocol != wanted {
        return Err(BrokerError::Config(format!(
            "the first listener ({}) carries replication between brokers and {how}; list that \
             listener first, on a private interface",
            first.name
        )));
    }
    Ok(())
}

/// Binds every listener, loading the TLS files of those that need them.
pub(crate) async fn bind_all(
    config: &BrokerConfig,
) -> Result<Vec<(TcpListener, Arc<Listener>)>, BrokerError> {
    let mut bound = Vec::new();
    for listener in listener_configs(config)? {
        let tls = match (listener.protocol.tls(), &config.tls) {
            (false, _) => None,
            (true, None) => {
                return Err(BrokerError::Config(format!(
                    "listener {} is {} but no certificate is given; pass --tls-cert and --tls-key",
                    listener.name, listener.protocol
                )));
            }
            (true, Some(files)) => Some(Arc::new(load_tls(&listener, files)?)),
        };
        let what = format!("listen on {}:{}", listener.bind_host(), listener.port);
        let socket = bind_listener(listener.bind_host(), listener.port)
            .await
            .map_err(|e| BrokerError::io(what.clone(), e))?;
        let local = socket
            .local_addr()
            .map_err(|e| BrokerError::io("read the bound address", e))?;
        let advertised = match &listener.advertised {
            Some(a) => a.clone(),
            None => (local.ip().to_string(), local.port()),
        };
        if local.ip().is_unspecified() && listener.advertised.is_none() {
            tracing::warn!(listener = %listener.name, address = %local,
                "clients will be told to dial an unspecified address; set --advertise or --advertised-listeners");
        }
        let listener = Listener {
            config: listener,
            local,
            advertised,
            tls,
        };
        bound.push((socket, listener));
    }
    Ok(bound.into_iter().map(|(s, l)| (s, Arc::new(l))).collect())
}

/// Connections the kernel completes and queues while the accept loop is busy. The default
/// backlog (128) overflows when hundreds of clients connect at once, after a failover or a
/// restart; each connection refused that way waits out a 1 s SYN retransmit. The kernel caps
/// it at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds the first address `host` resolves to that can be bound, as `TcpListener::bind` does,
/// with [`LISTEN_BACKLOG`].
async fn bind_listener(host: &str, port: u16) -> std::io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket
            .bind(addr)
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the host resolves to no address",
        )
    }))
}

/// Client certificates are asked for on SSL listeners only, as Kafka's `ssl.client.auth`
/// applies to them: SASL_SSL clients authenticate with SASL.
fn load_tls(
    listener: &ListenerConfig,
    files: &TlsFiles,
) -> Result<ReloadableServerConfig, BrokerError> {
    let mut files = files.clone();
    if listener.protocol.sasl() {
        files.client_ca = None;
    }
    ReloadableServerConfig::server(files)
        .map_err(|e| BrokerError::Config(format!("listener {}: {e}", listener.name)))
}

/// Accepts connections on one listener until `stop_accepting` is set; returns the socket so
/// the caller decides when the port closes.
pub(crate) async fn accept_loop(
    socket: TcpListener,
    listener: Arc<Listener>,
    services: Arc<Services>,
    limit: Arc<Semaphore>,
    stop: watch::Receiver<bool>,
    mut stop_accepting: watch::Receiver<bool>,
) -> TcpListener {
    loop {
        let permit = tokio::select! {
            _ = stopped(&mut stop_accepting) => break,
            p = limit.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (tcp, peer) = tokio::select! {
            _ = stopped(&mut stop_accepting) => break,
            accepted = socket.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(listener = %listener.config.name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let conn = (listener.clone(), services.clone(), stop.clone());
        tokio::spawn(serve_socket(conn, tcp, peer, permit));
    }
    socket
}

/// Resolves once `flag` is set (or its sender is gone), holding no borrow of it after.
async fn stopped(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|s| *s).await;
}

async fn serve_socket(
    (listener, services, stop): (Arc<Listener>, Arc<Services>, watch::Receiver<bool>),
    tcp: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
) {
    let _ = tcp.set_nodelay(true);
    let Some(tls) = listener.tls.clone() else {
        let conn = Connection::new(services, stop, listener, Principal::anonymous(), peer);
        conn.run_tcp(tcp, peer).await;
        drop(permit);
        return;
    };
    // The handshake must finish within the idle timeout, as a request must.
    let idle = services.config.idle_timeout;
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.current());
    let stream = match tokio::time::timeout(idle, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::info!(%peer, listener = %listener.config.name, error = %e, "TLS handshake failed");
            metrics::counter!("chronik_broker_authentication_failures_total").increment(1);
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake did not finish within the idle timeout");
            return;
        }
    };
    let principal = match stream.get_ref().1.peer_certificates() {
        None => Principal::anonymous(),
        Some(chain) => match certificate_principal(chain) {
            Some(principal) => principal,
            // A trusted certificate that names no one must not pass for anonymous.
            None => {
                tracing::info!(%peer, listener = %listener.config.name,
                    "client certificate has no subject CN; closing the connection");
                return;
            }
        },
    };
    let conn = Connection::new(services, stop, listener, principal, peer);
    conn.run_stream(stream, peer).await;
    drop(permit);
}

/// Reloads every TLS listener's certificate and key on SIGHUP, and the certificates this
/// broker presents to the rest of its cluster (`peer`); connections already up keep theirs. A
/// reload that fails keeps the previous files in force and says why.
pub(crate) fn spawn_tls_reloader(
    listeners: &[(TcpListener, Arc<Listener>)],
    peer: Option<PeerTls>,
) -> Result<Option<tokio::task::JoinHandle<()>>, BrokerError> {
    let tls: Vec<_> = (listeners.iter())
        .filter_map(|(_, l)| l.tls.clone().map(|t| (l.config.name.clone(), t)))
        .collect();
    if tls.is_empty() && peer.is_none() {
        return Ok(None);
    }
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())
        .map_err(|e| BrokerError::io("install the SIGHUP handler", e))?;
    Ok(Some(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            for (name, config) in &tls {
                match config.reload() {
                    Ok(()) => tracing::info!(listener = %name, "TLS certificate reloaded"),
                    Err(e) => tracing::error!(listener = %name, error = %e,
                        "TLS reload failed; the previous certificate stays in use"),
                }
            }
            match peer.as_ref().map(PeerTls::reload) {
                None => {}
                Some(Ok(())) => tracing::info!("cluster TLS certificate reloaded"),
                Some(Err(e)) => tracing::error!(error = %e,
                    "cluster TLS reload failed; the previous certificate stays in use"),
            }
        }
    })))
}

/// `HOST:PORT` (`[v6]:PORT` for IPv6), as `--advertise` takes it.
pub(crate) fn parse_host_port(text: &str) -> Result<(String, u16), BrokerError> {
    match crate::listeners::split_host_port(text) {
        Some((host, port)) if !host.is_empty() && port != 0 => Ok((host, port)),
        _ => Err(BrokerError::Config(format!(
            "advertise address '{text}' is not HOST:PORT"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;
    use std::time::Duration;

    use super::{bind_listener, parse_host_port};

    #[tokio::test]
    async fn a_burst_of_connections_queues_while_nothing_accepts() {
        let listener = bind_listener("127.0.0.1", 0).await.expect("bind");
        let addr = listener.local_addr().expect("bound address");
        // Well past the default backlog of 128: beyond it the kernel drops the SYNs, and each
        // connect would hang in retransmits until its timeout.
        let burst = tokio::task::spawn_blocking(move || {
            (0..512)
                .map(|i| {
                    TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                        .unwrap_or_else(|e| panic!("connection {i} not queued: {e}"))
                })
                .collect::<Vec<_>>()
        });
        let queued = burst.await.expect("connect burst");
        assert_eq!(queued.len(), 512);
        drop(listener);
    }

    #[test]
    fn advertise_addresses_parse_and_junk_is_refused() {
        let given = parse_host_port("kafka.example:19092").ok();
        assert_eq!(given, Some(("kafka.example".into(), 19092)));
        assert_eq!(parse_host_port("[::1]:9").ok(), Some(("::1".into(), 9)));
        for bad in ["nohost", ":9092", "host:99999", "host:x", "host:0"] {
            assert!(parse_host_port(bad).is_err(), "{bad}");
        }
    }
}
