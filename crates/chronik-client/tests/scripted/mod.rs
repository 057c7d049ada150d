//! Plumbing of the scripted brokers the tests talk to: reading requests off a socket and
//! encoding the answers a test's script chooses.

use bytes::{Bytes, BytesMut};
use chronik_kafka::DecodedRequest;
use kafka_protocol::messages::metadata_response::MetadataResponseBroker;
use kafka_protocol::messages::{ApiKey, BrokerId, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The next request on `reader`, `buf` holding what was read past it; `None` once the client
/// has closed the connection.
pub async fn next_request<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
) -> Option<DecodedRequest> {
    loop {
        match chronik_kafka::try_split_frame(buf, 1 << 20) {
            Ok(Some(frame)) => {
                return Some(chronik_kafka::decode_request(frame).expect("a valid request"));
            }
            Ok(None) if reader.read_buf(buf).await.unwrap_or(0) > 0 => continue,
            _ => return None,
        }
    }
}

/// A request's API key, version and correlation id.
pub type Header = (ApiKey, i16, i32);

/// `body` framed as the answer to the request with `header`.
pub fn answer_to((api_key, version, correlation): Header, body: ResponseKind) -> Bytes {
    chronik_kafka::encode_response(api_key, version, correlation, body).expect("encode")
}

/// The broker list of a one-broker cluster: node 0 at 127.0.0.1:`port`.
pub fn node_0(port: u16) -> Vec<MetadataResponseBroker> {
    vec![
        MetadataResponseBroker::default()
            .with_node_id(BrokerId(0))
            .with_host(StrBytes::from_static_str("127.0.0.1"))
            .with_port(i32::from(port)),
    ]
}
