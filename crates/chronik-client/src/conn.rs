//! One pipelined connection to one broker: requests are written in order by a writer task,
//! responses are read by a reader task and matched to their waiters by correlation id (Kafka
//! answers in request order, so a mismatch means a broken peer). Many requests may be in flight.
//! Any failure closes the connection and fails every waiter; the owner opens a new one.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::ResponseHeader;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::versions::{BrokerVersions, client_range};
use crate::{ClientError, Result};

type Waiter = oneshot::Sender<Result<Bytes>>;

struct Outgoing {
    frame: Bytes,
    correlation: i32,
    /// `None` for requests the broker does not answer (Produce with acks=0).
    waiter: Option<Waiter>,
}

/// Waiters in write order, and the error that closed the connection (set once).
#[derive(Default)]
struct Shared {
    pending: VecDeque<(i32, Waiter)>,
    closed: Option<ClientError>,
}

type SharedState = Arc<Mutex<Shared>>;

fn lock(s: &SharedState) -> std::sync::MutexGuard<'_, Shared> {
    // A poisoned lock only means a task panicked mid-update; the queue itself stays usable.
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// Closes the connection with `err`: every waiter, now and later, gets it.
fn fail(shared: &SharedState, err: ClientError) {
    let mut s = lock(shared);
    if s.closed.is_none() {
        s.closed = Some(err.clone());
    }
    for (_, waiter) in s.pending.drain(..) {
        let _ = waiter.send(Err(err.clone()));
    }
}

pub struct Connection {
    addr: SocketAddr,
    tx: mpsc::Sender<Outgoing>,
    shared: SharedState,
    next_correlation: AtomicI32,
    timeout: Duration,
    versions: BrokerVersions,
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Connection {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ConnConfig {
    pub client_id: String,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Largest response frame accepted; bigger ones close the connection before allocating.
    pub max_response_bytes: usize,
    /// Speak TLS with this configuration (trusted CAs, and a client certificate if the
    /// broker asks for one); `None` speaks in the clear.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Authenticate each new connection with SASL before anything else.
    pub sasl: Option<crate::SaslConfig>,
}

/// `step` on `addr`, failed with a network error when it errs or outlasts `limit`.
async fn within<T, E: std::fmt::Display>(
    limit: Duration,
    addr: SocketAddr,
    step: &str,
    future: impl Future<Output = std::result::Result<T, E>>,
) -> Result<T> {
    match tokio::time::timeout(limit, future).await {
        Err(_) => Err(ClientError::network(
            addr,
            format!("{step} timed out after {limit:?}"),
        )),
        Ok(Err(e)) => Err(ClientError::network(addr, format!("{step}: {e}"))),
        Ok(Ok(value)) => Ok(value),
    }
}

impl Connection {
    /// Connects and negotiates API versions; over TLS (when `cfg.tls` is set) the broker's
    /// certificate must name `addr`'s IP address.
    pub async fn open(addr: SocketAddr, cfg: &ConnConfig) -> Result<Connection> {
        Connection::open_as(addr, &addr.ip().to_string(), cfg).await
    }

    /// As [`Connection::open`], for a broker whose certificate names it `server_name` (the
    /// host it advertises).
    pub async fn open_as(
        addr: SocketAddr,
        server_name: &str,
        cfg: &ConnConfig,
    ) -> Result<Connection> {
        let stream = within(
            cfg.connect_timeout,
            addr,
            "connect",
            TcpStream::connect(addr),
        )
        .await?;
        let _ = stream.set_nodelay(true);
        let mut conn = match &cfg.tls {
            None => {
                let (read, write) = stream.into_split();
                Connection::start(read, write, addr, cfg)
            }
            Some(tls) => {
                let name = ServerName::try_from(server_name.to_owned()).map_err(|e| {
                    ClientError::network(
                        addr,
                        format!("'{server_name}' is no TLS server name: {e}"),
                    )
                })?;
                let connector = tokio_rustls::TlsConnector::from(Arc::clone(tls));
                let handshake = connector.connect(name, stream);
                let stream = within(cfg.connect_timeout, addr, "TLS handshake", handshake).await?;
                let (read, write) = tokio::io::split(stream);
                Connection::start(read, write, addr, cfg)
            }
        };
        conn.versions = conn.negotiate(&cfg.client_id).await?;
        if let Some(sasl) = &cfg.sasl {
            crate::sasl::authenticate(&conn, sasl, &cfg.client_id).await?;
        }
        Ok(conn)
    }

    fn start<R, W>(read: R, write: W, addr: SocketAddr, cfg: &ConnConfig) -> Connection
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let shared = SharedState::default();
        let (tx, rx) = mpsc::channel(1024);
        let reader = tokio::spawn(read_loop(
            read,
            addr,
            shared.clone(),
            cfg.max_response_bytes,
        ));
        let writer = tokio::spawn(write_loop(write, addr, rx, shared.clone()));
        Connection {
            addr,
            tx,
            shared,
            next_correlation: AtomicI32::new(1),
            timeout: cfg.request_timeout,
            versions: BrokerVersions::default(),
            tasks: [reader, writer],
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn is_closed(&self) -> bool {
        lock(&self.shared).closed.is_some()
    }

    /// ApiVersions v3, falling back to v0 when the broker refuses v3 (as old brokers do).
    async fn negotiate(&self, client_id: &str) -> Result<BrokerVersions> {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("chronik-client"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let resp: ApiVersionsResponse = self.call_at(&req, 3, client_id).await?;
        let resp = if resp.error_code == 35 {
            self.call_at(&ApiVersionsRequest::default(), 0, client_id)
                .await?
        } else {
            resp
        };
        ClientError::check(resp.error_code, || format!("ApiVersions to {}", self.addr))?;
        Ok(BrokerVersions::from_response(&resp))
    }

    /// The negotiated version of `key`.
    pub fn version(&self, key: ApiKey) -> Result<i16> {
        self.versions.pick(key).ok_or(ClientError::UnsupportedApi {
            addr: self.addr,
            api: key,
            ours: client_range(key).unwrap_or((-1, -1)),
            theirs: self.versions.range(key),
        })
    }

    /// Sends `req` at the negotiated version and waits for its response.
    pub async fn call<R: Request>(&self, req: &R, client_id: &str) -> Result<R::Response> {
        let version = self.version(api_key::<R>()?)?;
        self.call_at(req, version, client_id).await
    }

    /// Sends a request the broker will not answer (Produce with acks=0); returns once queued.
    pub async fn send_only<R: Request>(&self, req: &R, client_id: &str) -> Result<()> {
        let key = api_key::<R>()?;
        let version = self.version(key)?;
        let (frame, correlation) = self.encode(req, key, version, client_id)?;
        self.enqueue(Outgoing {
            frame,
            correlation,
            waiter: None,
        })
        .await
    }

    /// Sends `req` at `version` and waits for its response.
    pub async fn call_at<R: Request>(
        &self,
        req: &R,
        version: i16,
        client_id: &str,
    ) -> Result<R::Response> {
        self.submit(req, version, client_id).await?.await
    }

    /// Queues `req` at `version` for writing and returns the wait for its response: requests
    /// submitted one after another go out, and are answered, in that order.
    pub async fn submit<R: Request>(
        &self,
        req: &R,
        version: i16,
        client_id: &str,
    ) -> Result<impl Future<Output = Result<R::Response>> + Send + 'static + use<R>> {
        let key = api_key::<R>()?;
        let (frame, correlation) = self.encode(req, key, version, client_id)?;
        let (tx, rx) = oneshot::channel();
        self.enqueue(Outgoing {
            frame,
            correlation,
            waiter: Some(tx),
        })
        .await?;
        let (addr, timeout, shared) = (self.addr, self.timeout, self.shared.clone());
        Ok(async move {
            let frame = match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(result)) => result?,
                Ok(Err(_)) => return Err(ClientError::network(addr, "connection closed")),
                Err(_) => {
                    let err = ClientError::Timeout {
                        api: key,
                        addr: addr.to_string(),
                        after: timeout,
                    };
                    // The stream may be wedged mid-response: later answers cannot be trusted.
                    fail(&shared, err.clone());
                    return Err(err);
                }
            };
            decode::<R::Response>(addr, frame, key, version)
        })
    }

    fn encode<R: Request>(
        &self,
        req: &R,
        key: ApiKey,
        version: i16,
        client_id: &str,
    ) -> Result<(Bytes, i32)> {
        let correlation = self.next_correlation.fetch_add(1, Ordering::Relaxed);
        // Sized up front: a Produce request carries whole record batches, and growing the buffer
        // by doubling would copy them several times.
        let body = req.compute_size(version).unwrap_or(0);
        let mut buf = BytesMut::with_capacity(body + client_id.len() + 64);
        buf.extend_from_slice(&[0; 4]);
        let bad =
            |e: String| ClientError::InvalidInput(format!("encoding {key:?} v{version}: {e}"));
        RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation)
            .with_client_id(Some(StrBytes::from_string(client_id.to_owned())))
            .encode(&mut buf, R::header_version(version))
            .map_err(|e| bad(e.to_string()))?;
        req.encode(&mut buf, version)
            .map_err(|e| bad(e.to_string()))?;
        let len = i32::try_from(buf.len() - 4)
            .map_err(|_| bad("request larger than 2 GiB".to_string()))?;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        Ok((buf.freeze(), correlation))
    }

    async fn enqueue(&self, out: Outgoing) -> Result<()> {
        if let Some(err) = lock(&self.shared).closed.clone() {
            return Err(err);
        }
        self.tx
            .send(out)
            .await
            .map_err(|_| ClientError::network(self.addr, "connection closed"))
    }
}

fn api_key<R: Request>() -> Result<ApiKey> {
    ApiKey::try_from(R::KEY)
        .map_err(|_| ClientError::InvalidInput(format!("unknown api key {}", R::KEY)))
}

fn decode<T: Decodable + HeaderVersion>(
    addr: SocketAddr,
    mut frame: Bytes,
    key: ApiKey,
    version: i16,
) -> Result<T> {
    let protocol = |reason: String| ClientError::Protocol {
        addr,
        reason: format!("{key:?} v{version} response: {reason}"),
    };
    ResponseHeader::decode(&mut frame, key.response_header_version(version))
        .map_err(|e| protocol(format!("header: {e}")))?;
    let flexible = key.request_header_version(version) >= 2;
    crate::guard::decode_body::<T>(frame, version, flexible).map_err(protocol)
}

async fn write_loop(
    write: impl AsyncWrite + Unpin,
    addr: SocketAddr,
    mut rx: mpsc::Receiver<Outgoing>,
    shared: SharedState,
) {
    let mut out = BufWriter::with_capacity(256 * 1024, write);
    let mut batch = Vec::with_capacity(64);
    while rx.recv_many(&mut batch, 64).await > 0 {
        {
            let mut s = lock(&shared);
            for o in batch.iter_mut() {
                let Some(waiter) = o.waiter.take() else {
                    continue;
                };
                match &s.closed {
                    Some(err) => {
                        let _ = waiter.send(Err(err.clone()));
                    }
                    // Registered before the bytes leave, so the reader always finds its waiter.
                    None => s.pending.push_back((o.correlation, waiter)),
                }
            }
            if s.closed.is_some() {
                return;
            }
        }
        for o in batch.drain(..) {
            if let Err(e) = out.write_all(&o.frame).await {
                return fail(&shared, ClientError::network(addr, format!("write: {e}")));
            }
        }
        if let Err(e) = out.flush().await {
            return fail(&shared, ClientError::network(addr, format!("write: {e}")));
        }
    }
}

async fn read_loop(
    mut read: impl AsyncRead + Unpin,
    addr: SocketAddr,
    shared: SharedState,
    max: usize,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        match chronik_kafka::try_split_frame(&mut buf, max) {
            Ok(Some(frame)) => {
                if let Err(e) = deliver(&shared, addr, frame) {
                    return fail(&shared, e);
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                let reason = format!("response frame refused: {e}");
                return fail(&shared, ClientError::Protocol { addr, reason });
            }
        }
        match read.read_buf(&mut buf).await {
            Ok(0) => {
                return fail(
                    &shared,
                    ClientError::network(addr, "connection closed by the broker"),
                );
            }
            Ok(_) => {}
            Err(e) => return fail(&shared, ClientError::network(addr, format!("read: {e}"))),
        }
    }
}

/// Hands one response frame to the oldest waiter, checking it is the one it answers.
fn deliver(shared: &SharedState, addr: SocketAddr, frame: Bytes) -> Result<()> {
    let Some(correlation) = frame.first_chunk::<4>().map(|c| i32::from_be_bytes(*c)) else {
        let reason = "response shorter than its correlation id".to_string();
        return Err(ClientError::Protocol { addr, reason });
    };
    let mut s = lock(shared);
    match s.pending.pop_front() {
        Some((expected, waiter)) if expected == correlation => {
            let _ = waiter.send(Ok(frame));
            Ok(())
        }
        Some((expected, waiter)) => {
            let reason = format!("got correlation id {correlation}, expected {expected}");
            let err = ClientError::Protocol { addr, reason };
            let _ = waiter.send(Err(err.clone()));
            Err(err)
        }
        None => {
            let reason = format!("unrequested response (correlation id {correlation})");
            Err(ClientError::Protocol { addr, reason })
        }
    }
}
