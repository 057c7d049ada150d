//! The consumer protocol's embedded formats (subscription and assignment, each an `i16` version
//! followed by the body) and the range assignor.
//!
//! Other members' subscriptions arrive from the broker and are decoded through `guard`, so an
//! announced count never sizes an allocation.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::{ClientError, Result};

pub(crate) const PROTOCOL_TYPE: &str = "consumer";
pub(crate) const RANGE: &str = "range";

/// Versions of the embedded formats this client writes; it reads 0..=3 (a newer one is read as
/// 3: later versions only append fields).
const WRITE_VERSION: i16 = 0;
const READ_MAX: i16 = 3;

/// Partitions per topic.
pub(crate) type Assignment = BTreeMap<String, Vec<i32>>;

fn encode<T: Encodable>(what: &str, msg: &T) -> Result<Bytes> {
    let mut buf = BytesMut::new();
    buf.put_i16(WRITE_VERSION);
    msg.encode(&mut buf, WRITE_VERSION)
        .map_err(|e| ClientError::InvalidInput(format!("encoding the {what}: {e}")))?;
    Ok(buf.freeze())
}

fn decode<T: Decodable>(what: &str, mut data: Bytes) -> Result<T> {
    let bad =
        |reason: String| ClientError::InvalidInput(format!("a group member's {what}: {reason}"));
    if data.remaining() < 2 {
        return Err(bad("shorter than its version".into()));
    }
    let version = data.get_i16();
    if version < 0 {
        return Err(bad(format!("version {version}")));
    }
    crate::guard::decode_body::<T>(data, version.min(READ_MAX), false).map_err(bad)
}

/// This member's subscription to `topics`.
pub(crate) fn subscription(topics: &[String]) -> Result<Bytes> {
    let msg = ConsumerProtocolSubscription::default().with_topics(
        topics
            .iter()
            .map(|t| StrBytes::from_string(t.clone()))
            .collect(),
    );
    encode("subscription", &msg)
}

/// The topics of a member's subscription as JoinGroup reported it.
pub(crate) fn decode_subscription(data: Bytes) -> Result<Vec<String>> {
    let sub: ConsumerProtocolSubscription = decode("subscription", data)?;
    Ok(sub.topics.iter().map(|t| t.to_string()).collect())
}

pub(crate) fn assignment(parts: &Assignment) -> Result<Bytes> {
    let msg = ConsumerProtocolAssignment::default().with_assigned_partitions(
        parts
            .iter()
            .map(|(topic, partitions)| {
                AssignedTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(topic.clone())))
                    .with_partitions(partitions.clone())
            })
            .collect(),
    );
    encode("assignment", &msg)
}

/// The assignment SyncGroup handed this member; empty bytes mean no partitions.
pub(crate) fn decode_assignment(data: Bytes) -> Result<Assignment> {
    if data.is_empty() {
        return Ok(Assignment::new());
    }
    let a: ConsumerProtocolAssignment = decode("assignment", data)?;
    let mut out = Assignment::new();
    for t in a.assigned_partitions {
        out.entry(t.topic.to_string())
            .or_default()
            .extend(t.partitions);
    }
    for parts in out.values_mut() {
        parts.sort_unstable();
        parts.dedup();
    }
    Ok(out)
}

/// Kafka's range assignor: per topic, the sorted partitions are cut into contiguous ranges over
/// the subscribed members in member-id order, the first `partitions % members` getting one more.
/// `members` maps member id to subscribed topics; `partitions` lists each topic's partitions.
pub(crate) fn range_assign(
    members: &BTreeMap<String, Vec<String>>,
    partitions: &BTreeMap<String, Vec<i32>>,
) -> BTreeMap<String, Assignment> {
    let mut out: BTreeMap<String, Assignment> = members
        .keys()
        .map(|m| (m.clone(), Assignment::new()))
        .collect();
    let topics: BTreeSet<&String> = members.values().flatten().collect();
    for topic in topics {
        let Some(parts) = partitions.get(topic) else {
            continue;
        };
        let mut parts = parts.clone();
        parts.sort_unstable();
        let subscribed: Vec<&String> = members
            .iter()
            .filter(|(_, t)| t.contains(topic))
            .map(|(m, _)| m)
            .collect();
        let (per, extra) = (
            parts.len() / subscribed.len(),
            parts.len() % subscribed.len(),
        );
        let mut next = 0;
        for (i, member) in subscribed.into_iter().enumerate() {
            let n = per + usize::from(i < extra);
            if n > 0
                && let Some(a) = out.get_mut(member)
            {
                a.insert(topic.clone(), parts[next..next + n].to_vec());
            }
            next += n;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_and_assignment_round_trip() {
        let sub = subscription(&["a".into(), "b".into()]).unwrap();
        assert_eq!(decode_subscription(sub).unwrap(), vec!["a", "b"]);
        let a = Assignment::from([("t".to_string(), vec![0, 2])]);
        assert_eq!(decode_assignment(assignment(&a).unwrap()).unwrap(), a);
        assert!(decode_assignment(Bytes::new()).unwrap().is_empty());
    }

    #[test]
    fn hostile_member_data_is_refused_without_allocating() {
        // Version 0, then a topic count of i32::MAX with nothing behind it.
        let mut evil = BytesMut::new();
        evil.put_i16(0);
        evil.put_i32(i32::MAX);
        assert!(decode_subscription(evil.freeze()).is_err());
        assert!(decode_subscription(Bytes::from_static(&[0])).is_err());
        assert!(decode_assignment(Bytes::from_static(&[0xff, 0xff, 0, 0])).is_err());
    }

    #[test]
    fn range_assignor_splits_like_kafka() {
        let members = BTreeMap::from([
            ("m1".to_string(), vec!["t".to_string(), "u".to_string()]),
            ("m2".to_string(), vec!["t".to_string()]),
        ]);
        let partitions = BTreeMap::from([
            ("t".to_string(), vec![4, 3, 2, 1, 0]),
            ("u".to_string(), vec![0, 1]),
        ]);
        let a = range_assign(&members, &partitions);
        assert_eq!(a["m1"]["t"], vec![0, 1, 2]);
        assert_eq!(a["m2"]["t"], vec![3, 4]);
        assert_eq!(a["m1"]["u"], vec![0, 1]);
        assert!(!a["m2"].contains_key("u"));
        // More members than partitions: the extra members get nothing.
        let many: BTreeMap<String, Vec<String>> = (0..3)
            .map(|i| (format!("m{i}"), vec!["u".to_string()]))
            .collect();
        let a = range_assign(&many, &partitions);
        assert_eq!(a["m0"]["u"], vec![0]);
        assert_eq!(a["m1"]["u"], vec![1]);
        assert!(a["m2"].is_empty());
    }
}
