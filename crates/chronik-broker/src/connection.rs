//! One Kafka connection: a reader that decodes and dispatches requests in order and a writer
//! that sends their responses in the same order, so requests can be pipelined.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use chronik_kafka::kafka_protocol::messages::{ApiKey, RequestKind};
use chronik_kafka::{DecodedRequest, ProtocolError, decode_request, try_split_frame};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, watch};

use crate::handlers::{Pending, Reply, dispatch};
use crate::quotas::{Mute, Throttling, Timed};
use crate::services::Services;

/// Responses a connection may owe at once; the reader waits beyond that (backpressure).
const MAX_IN_FLIGHT: usize = 64;
const READ_CHUNK: usize = 64 * 1024;

pub(crate) struct Connection {
    services: Arc<Services>,
    stop: watch::Receiver<bool>,
}

impl Connection {
    pub fn new(services: Arc<Services>, stop: watch::Receiver<bool>) -> Self {
        Connection { services, stop }
    }

    /// Serves the connection until the peer closes it, it idles out, it sends something
    /// unanswerable, or the broker stops (requests already read are still answered).
    pub async fn run(mut self, socket: TcpStream, peer: SocketAddr) {
        let _ = socket.set_nodelay(true);
        let (reader, writer) = socket.into_split();
        let (tx, rx) = mpsc::channel(MAX_IN_FLIGHT);
        let writing = tokio::spawn(write_replies(writer, rx));
        // Allocated once bytes arrive: an idle connection holds no read buffer.
        let mut buf = BytesMut::new();
        let max = self.services.config.max_request_bytes;
        let idle = self.services.config.idle_timeout;
        // Each request must be complete within `idle` of the previous one (or of the accept):
        // silent clients and clients trickling a request byte by byte are both closed.
        let mut deadline = tokio::time::Instant::now() + idle;
        let mute = Arc::new(Mute::default());
        'conn: loop {
            loop {
                match try_split_frame(&mut buf, max) {
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
                        if tx.send(pending).await.is_err() {
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
            let ready = tokio::select! {
                _ = self.stop.wait_for(|s| *s) => break,
                _ = tx.closed() => break,
                r = tokio::time::timeout_at(deadline, reader.readable()) => r,
            };
            let read = match ready {
                Ok(Ok(())) => {
                    buf.reserve(READ_CHUNK);
                    reader.try_read_buf(&mut buf)
                }
                Ok(Err(e)) => Err(e),
                Err(_) => {
                    tracing::debug!(%peer, "no complete request within the idle timeout; closing");
                    break;
                }
            };
            match read {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "read failed");
                    break;
                }
            }
        }
        drop(tx);
        let _ = writing.await;
    }

    /// Decodes and dispatches one frame; `None` closes the connection.
    async fn serve_frame(
        &self,
        frame: Bytes,
        peer: SocketAddr,
        mute: &Arc<Mute>,
    ) -> Option<InFlight> {
        let started = Instant::now();
        let size = frame.len();
        metrics::counter!("chronik_broker_bytes_in_total").increment(size as u64 + 4);
        match decode_request(frame) {
            Ok(req) => {
                let api = req.api_key;
                let quotas = &self.services.quotas;
                let throttled = quotas.active() && !exempt_from_quotas(&req.request);
                let throttling = throttled.then(|| {
                    let client_id = req.client_id.as_ref().map_or("", |c| c.as_str());
                    Throttling::new(quotas.clone(), client_id, mute.clone(), size + 4)
                });
                // Boxed: the handlers' state stays off the connection's own future, which
                // every idle connection holds (about 4 KiB less each in a debug build).
                let pending = match throttling {
                    Some(t) => Box::pin(dispatch_counted(&self.services, req, t)).await,
                    None => Box::pin(dispatch(&self.services, req, None)).await,
                };
                Some(InFlight {
                    pending,
                    api: Some(api),
                    started,
                })
            }
            Err(e) => rejection(&e, peer).map(|b| InFlight {
                pending: Pending::Now(Reply::Frame(b)),
                api: None,
                started,
            }),
        }
    }
}

/// Dispatches a request of a client with quotas, counting the time spent handling it.
async fn dispatch_counted(services: &Arc<Services>, req: DecodedRequest, t: Throttling) -> Pending {
    let pending = Timed::new(dispatch(services, req, Some(t.clone())), t.busy()).await;
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
}

/// Counts a served request, its latency (read to response written) and the bytes sent.
fn record_served(api: ApiKey, started: Instant, bytes_out: usize) {
    let name = api_name(api);
    metrics::counter!("chronik_broker_requests_total", "api" => name).increment(1);
    metrics::histogram!("chronik_broker_request_seconds", "api" => name)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("chronik_broker_bytes_out_total").increment(bytes_out as u64);
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
async fn write_replies(mut writer: OwnedWriteHalf, mut rx: mpsc::Receiver<InFlight>) {
    while let Some(InFlight {
        pending,
        api,
        started,
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
            }
            Reply::Close => break,
        }
    }
    let _ = writer.shutdown().await;
}
