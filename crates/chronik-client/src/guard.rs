//! Decoding responses without letting the server choose our allocations: kafka-protocol 0.18
//! reserves memory for an array count read from the wire before decoding it, so every response
//! goes through `chronik-kafka`'s guard, which refuses counts larger than the bytes left.

use bytes::Bytes;
use kafka_protocol::protocol::Decodable;

/// Decodes a response body (the header already removed) of type `T` at `version`, through
/// `chronik-kafka`'s guard.
pub(crate) fn decode_body<T: Decodable>(
    body: Bytes,
    version: i16,
    flexible: bool,
) -> Result<T, String> {
    chronik_kafka::decode_guarded(body, version, flexible)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::messages::MetadataResponse;
    use kafka_protocol::messages::metadata_response::MetadataResponseBroker;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    fn encoded(version: i16) -> Bytes {
        let resp = MetadataResponse::default().with_brokers(vec![
            MetadataResponseBroker::default()
                .with_host(StrBytes::from_static_str("localhost"))
                .with_port(9092),
        ]);
        let mut buf = BytesMut::new();
        resp.encode(&mut buf, version).unwrap();
        buf.freeze()
    }

    #[test]
    fn honest_responses_decode_in_both_modes() {
        let r: MetadataResponse = decode_body(encoded(12), 12, true).unwrap();
        assert_eq!(r.brokers[0].port, 9092);
        // Port 9092 exceeds the bytes left: the probe replaces it, the second pass restores it.
        let r: MetadataResponse = decode_body(encoded(1), 1, false).unwrap();
        assert_eq!(r.brokers[0].port, 9092);
    }

    #[test]
    fn impossible_counts_are_refused_without_allocating() {
        // v1: throttle? no, v1 starts with the brokers array count (i32).
        let mut v1 = encoded(1).to_vec();
        v1[..4].copy_from_slice(&i32::MAX.to_be_bytes());
        let err = decode_body::<MetadataResponse>(Bytes::from(v1), 1, false).unwrap_err();
        assert!(err.contains("exceeds"), "{err}");
        // v12: throttle_time_ms (4 bytes), then the compact brokers array count (varint).
        let mut v12 = encoded(12).to_vec();
        v12.splice(4..5, [0xff, 0xff, 0xff, 0xff, 0x07]);
        assert!(decode_body::<MetadataResponse>(Bytes::from(v12), 12, true).is_err());
    }
}
