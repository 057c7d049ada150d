//! One Kafka connection: a reader that decodes and dispatches requests in order and a writer
//! that sends their responses in the same order, so requests can be pipelined.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use chronik_auth::Principal;
use chronik_kafka::kafka_protocol::messages::{ApiKey, RequestKind};
use chronik_kafka::{DecodedRequest, ProtocolError, decode_request, try_split_frame};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{mpsc, watch};

use crate::accept::Listener;
use crate::handlers::authz::Who;
use crate::handlers::{Client, Header, Pending, Reply, dispatch};
use crate::quotas::{Mute, Throttling, Timed};
use crate::sasl::{Admission, MAX_UNAUTHENTICATED_REQUEST, SaslReply, SaslState};
use crate::services::Services;

/// Responses a connection may owe at once; the reader waits beyond that (backpressure).
const MAX_IN_FLIGHT: usize = 64;
const READ_CHUNK: usize = 64 * 1024;

pub(crate) struct Connection {
    services: Arc<Services>,
    stop: watch::Receiver<bool>,
    /// The listener the client connected to: its protocol, and the addresses it is told.
    listener: Arc<Listener>,
    /// Who the client is: its certificate's subject on an SSL listener with client
    /// certificates, else anonymous until SASL says otherwise.
    principal: Principal,
    /// `None` on listeners without SASL.
    sasl: Option<SaslState>,
    /// The principal and the peer's address, as the authorizer sees them.
    who: Who,
}

/// The read side of a connection: plain TCP waits for readability before taking a buffer,
/// so an idle connection holds none; a TLS stream reads through its own buffers.
pub(crate) trait FrameSource: Send {
    fn read_into(
        &mut self,
        buf: &mut BytesMut,
    ) -> impl Future<Output = std::io::Result<usize>> + Send;
}

impl FrameSource for OwnedReadHalf {
    async fn read_into(&mut self, buf: &mut BytesMut) -> std::io::Result<usize> {
        loop {
            self.readable().await?;
            buf.reserve(READ_CHUNK);
            match self.try_read_buf(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                read => return read,
            }
        }
    }
}

impl<S: AsyncRead + Send> FrameSource for ReadHalf<S> {
    async fn read_into(&mut self, buf: &mut BytesMut) -> std::io::Result<usize> {
        buf.reserve(READ_CHUNK);
        self.read_buf(buf).await
    }
}

impl Connection {
    pub fn new(
        services: Arc<Services>,
        stop: watch::Receiver<bool>,
        listener: Arc<Listener>,
        principal: Principal,
        peer: SocketAddr,
    ) -> Self {
        let sasl = listener
            .config
            .protocol
            .sasl()
            .then_some(SaslState::AwaitingHandshake);
        Connection {
            services,
            stop,
            listener,
            who: Who::new(&principal, peer),
            principal,
            sasl,
        }
    }

    pub async fn run_tcp(self, socket: TcpStream, peer: SocketAddr) {
        let (reader, writer) = socket.into_split();
        self.run(reader, writer, peer).await;
    }

    pub async fn run_stream<S>(self, stream: S, peer: SocketAddr)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (reader, writer) = tokio::io::split(stream);
        self.run(reader, writer, peer).await;
    }

    /// The largest request served now: small until SASL has authenticated the client.
    fn max_request(&self) -> usize {
        let max = self.services.config.max_request_bytes;
        match &self.sasl {
            Some(s) if s.principal().is_none() => max.min(MAX_UNAUTHENTICATED_REQUEST),
            _ => max,
        }
    }

    /// Serves the connection until the peer closes it, it idles out, it sends something
    /// unanswerable, or the broker stops (requests already read are still answered).
    async fn run<R, W>(mut self, mut reader: R, writer: W, peer: SocketAddr)
    where
        R: FrameSource,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(MAX_IN_FLIGHT);
        let writing = tokio::spawn(write_replies(writer, rx));
        // Allocated once bytes arrive: an idle connection holds no read buffer.
        let mut buf = BytesMut::new();
        let idle = self.services.config.idle_timeout;
        // Each request must be complete within `idle` of the previous one (or of the accept):
        // silent clients and clients trickling a request byte by byte are both closed.
        let mut deadline = tokio::time::Instant::now() + idle;
        let mute = Arc::new(Mute::default());
        'conn: loop {
            loop {
                match try_split_frame(&mut buf, self.max_request()) {
                    Ok(Some(frame)) => {
                        // A throttled client's next request waits out its throttle time.
                        if let Some(until) = mute.muted_until() {
                            tokio::select! {
                                _ = self.stop.wait_for(|s| *s) => break 'conn,
                                _ = tokio::time::sleep_until(until.into()) => {}
                            }
                        }
                        deadline = tokio::time::Instant::now() + idle;
                        let Some(pending) = self.serve_frame(frame, peer, &mute).await else {
                            metrics::counter!("chronik_broker_bad_requests_total").increment(1);
                            break 'conn;
                        };
                        let close = pending.close_after;
                        if tx.send(pending).await.is_err() || close {
                            break 'conn;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "closing connection");
                        break 'conn;
                    }
                }
            }
            let read = tokio::select! {
                _ = self.stop.wait_for(|s| *s) => break,
                _ = tx.closed() => break,
                r = tokio::time::timeout_at(deadline, reader.read_into(&mut buf)) => r,
            };
            match read {
                Ok(Ok(0)) => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "read failed");
                    break;
                }
                Err(_) => {
                    tracing::debug!(%peer, "no complete request within the idle timeout; closing");
                    break;
                }
            }
        }
        drop(tx);
        let _ = writing.await;
    }

    /// Decodes and dispatches one frame; `None` closes the connection.
    async fn serve_frame(
        &mut self,
        frame: Bytes,
        peer: SocketAddr,
        mute: &Arc<Mute>,
    ) -> Option<InFlight> {
        let started = Instant::now();
        let size = frame.len();
        static BYTES_IN: OnceLock<metrics::Counter> = OnceLock::new();
        (BYTES_IN.get_or_init(|| metrics::counter!("chronik_broker_bytes_in_total")))
            .increment(size as u64 + 4);
        if let Some(sasl) = self.sasl.as_mut().filter(|s| s.expects_raw_token()) {
            let answer = sasl.raw_token(&self.services, frame).await?;
            if let Some(principal) = sasl.principal() {
                self.principal = principal.clone();
                self.who = self.who.as_principal(principal);
            }
            return Some(InFlight {
                pending: Pending::Now(Reply::Frame(answer)),
                api: None,
                started,
                close_after: false,
            });
        }
        let req = match decode_request(frame) {
            Ok(req) => req,
            Err(e) => {
                return rejection(&e, peer).map(|b| InFlight {
                    pending: Pending::Now(Reply::Frame(b)),
                    api: None,
                    started,
                    close_after: false,
                });
            }
        };
        let api = req.api_key;
        if let Some(sasl) = &mut self.sasl {
            if let Admission::Close(why) = sasl.admits(api, started) {
                tracing::info!(%peer, api = ?api, "closing the connection: {why}");
                return None;
            }
            if let Some(reply) = self.serve_sasl(&req).await {
                let close_after = reply.close;
                let header = Header::unthrottled(&req);
                return Some(InFlight {
                    pending: Pending::Now(header.reply(Some(reply.body))),
                    api: Some(api),
                    started,
                    close_after,
                });
            }
        }
        let quotas = &self.services.quotas;
        let throttled = quotas.active() && !exempt_from_quotas(&req.request);
        let throttling = throttled.then(|| {
            let client_id = req.client_id.as_ref().map_or("", |c| c.as_str());
            Throttling::new(
                quotas.clone(),
                &self.principal.name,
                client_id,
                mute.clone(),
                size + 4,
            )
        });
        let client = Client {
            listener: &self.listener,
            who: &self.who,
        };
        // Boxed: the handlers' state stays off the connection's own future, which
        // every idle connection holds (about 4 KiB less each in a debug build).
        let pending = match throttling {
            Some(t) => Box::pin(dispatch_counted(&self.services, req, client, t)).await,
            None => Box::pin(dispatch(&self.services, req, client, None)).await,
        };
        Some(InFlight {
            pending,
            api: Some(api),
            started,
            close_after: false,
        })
    }

    /// Answers SaslHandshake and SaslAuthenticate, which change the connection's state;
    /// `None` for every other request.
    async fn serve_sasl(&mut self, req: &DecodedRequest) -> Option<SaslReply> {
        let sasl = self.sasl.as_mut()?;
        let reply = match &req.request {
            RequestKind::SaslHandshake(r) => {
                let enabled = &self.services.config.sasl_mechanisms;
                sasl.handshake(enabled, r.clone(), req.api_version)
            }
            RequestKind::SaslAuthenticate(r) => {
                sasl.authenticate(&self.services, r.clone(), req.api_version)
                    .await
            }
            _ => return None,
        };
        if let Some(principal) = sasl.principal() {
            self.principal = principal.clone();
            self.who = self.who.as_principal(principal);
        }
        Some(reply)
    }
}

/// Dispatches a request of a client with quotas, counting the time spent handling it.
async fn dispatch_counted(
    services: &Arc<Services>,
    req: DecodedRequest,
    client: Client<'_>,
    t: Throttling,
) -> Pending {
    let pending = Timed::new(dispatch(services, req, client, Some(t.clone())), t.busy()).await;
    // Handling time the response could not count: it was ready before dispatch returned.
    t.count_late();
    pending
}

/// Requests no quota applies to: ApiVersions (a client must always learn the versions) and
/// the traffic between brokers (follower fetches and truncation, transaction markers), as in
/// Kafka.
fn exempt_from_quotas(req: &RequestKind) -> bool {
    match req {
        RequestKind::ApiVersions(_) | RequestKind::WriteTxnMarkers(_) => true,
        RequestKind::Fetch(r) => r.replica_id.0 >= 0,
        RequestKind::OffsetForLeaderEpoch(r) => r.replica_id.0 >= 0,
        _ => false,
    }
}

/// A response owed to the client, with what its metrics need.
struct InFlight {
    pending: Pending,
    /// The request's API; `None` for an answer to an undecodable request.
    api: Option<ApiKey>,
    started: Instant,
    /// Close the connection once this response is written (a failed authentication).
    close_after: bool,
}

/// Counts a served request, its latency (read to response written) and the bytes sent.
fn record_served(api: ApiKey, started: Instant, bytes_out: usize) {
    static BYTES_OUT: OnceLock<metrics::Counter> = OnceLock::new();
    /// Each API's metrics, looked up in the recorder's registry (hashing the name and label)
    /// at its first request, not at every one; the array has a slot for every key Kafka has
    /// defined.
    static KEPT: [OnceLock<ServedMetrics>; 128] = [const { OnceLock::new() }; 128];
    let seconds = started.elapsed().as_secs_f64();
    match KEPT.get(api as i16 as usize) {
        Some(kept) => kept.get_or_init(|| ServedMetrics::of(api)).record(seconds),
        None => ServedMetrics::of(api).record(seconds),
    }
    BYTES_OUT
        .get_or_init(|| metrics::counter!("chronik_broker_bytes_out_total"))
        .increment(bytes_out as u64);
}

/// The metrics every request of one API records.
struct ServedMetrics {
    requests: metrics::Counter,
    seconds: metrics::Histogram,
}

impl ServedMetrics {
    fn of(api: ApiKey) -> Self {
        let name = api_name(api);
        ServedMetrics {
            requests: metrics::counter!("chronik_broker_requests_total", "api" => name),
            seconds: metrics::histogram!("chronik_broker_request_seconds", "api" => name),
        }
    }

    fn record(&self, seconds: f64) {
        self.requests.increment(1);
        self.seconds.record(seconds);
    }
}

/// A static label per API, so recording a metric allocates nothing per request.
pub(crate) fn api_name(api: ApiKey) -> &'static str {
    static NAMES: OnceLock<HashMap<i16, &'static str>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        (chronik_kafka::SUPPORTED.iter())
            .map(|(key, _, _)| {
                let name: &'static str = Box::leak(format!("{key:?}").into_boxed_str());
                (*key as i16, name)
            })
            .collect()
    });
    names.get(&(api as i16)).copied().unwrap_or("Other")
}

/// The answer to a request that cannot be decoded: an unsupported ApiVersions version gets
/// the version list (clients retry with v0), anything else closes the connection, as Kafka
/// does, because no response of the right shape can be built.
fn rejection(e: &ProtocolError, peer: SocketAddr) -> Option<Bytes> {
    if let ProtocolError::UnsupportedVersion {
        api_key: ApiKey::ApiVersions,
        correlation_id,
        ..
    } = e
    {
        return chronik_kafka::unsupported_api_versions_response(*correlation_id).ok();
    }
    tracing::debug!(%peer, error = %e, "undecodable request; closing connection");
    None
}

/// Writes responses in request order, each as soon as it and all before it are ready.
async fn write_replies<W: AsyncWrite + Unpin>(mut writer: W, mut rx: mpsc::Receiver<InFlight>) {
    while let Some(InFlight {
        pending,
        api,
        started,
        close_after,
    }) = rx.recv().await
    {
        let reply = match pending {
            Pending::Now(reply) => reply,
            Pending::Later(task) => match task.await {
                Ok(reply) => reply,
                Err(e) => {
                    tracing::error!(error = %e, "request handler failed; closing connection");
                    Reply::Close
                }
            },
        };
        match reply {
            Reply::Nothing => api.into_iter().for_each(|a| record_served(a, started, 0)),
            Reply::Frame(frame) => {
                if writer.write_all(&frame).await.is_err() {
                    break;
                }
                api.into_iter()
                    .for_each(|a| record_served(a, started, frame.len()));
                if close_after {
                    break;
                }
            }
            Reply::Close => break,
        }
    }
    let _ = writer.shutdown().await;
}
