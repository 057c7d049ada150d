//! OffsetDelete's rules, as Kafka's group coordinator applies them: offsets of a topic a
//! consumer group's members subscribe to stay (GROUP_SUBSCRIBED_TO_TOPIC), since deleting them
//! under an active consumer would lose its position; an empty group's go; a non-consumer group
//! with members keeps all of them (NON_EMPTY_GROUP).

use std::collections::HashSet;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use chronik_kafka::kafka_protocol::messages::ConsumerProtocolSubscription;

use super::coordinator::Coordinator;
use super::error::GroupError;
use super::group::Group;
use super::records::RecordKey;
use super::store::Written;

/// The protocol type of Kafka's consumers: their member metadata is a subscription.
const CONSUMER_PROTOCOL: &str = "consumer";
/// Newest subscription format read; later versions only append fields.
const SUBSCRIPTION_READ_MAX: i16 = 3;

/// The topics a group's members consume, or `None` when a subscription cannot be read (then
/// every topic counts as consumed: an unreadable subscription must not let offsets go).
pub(crate) fn subscribed_topics(group: &Group) -> Option<HashSet<String>> {
    let mut topics = HashSet::new();
    for member in group.members.values() {
        let metadata: Vec<Bytes> = match &group.protocol {
            Some(p) => vec![member.metadata_for(p)],
            // Before the first protocol is chosen, every protocol a member offers counts.
            None => member
                .protocols
                .iter()
                .map(|p| p.metadata.clone())
                .collect(),
        };
        for m in metadata {
            topics.extend(decode_subscription(m)?);
        }
    }
    Some(topics)
}

fn decode_subscription(mut data: Bytes) -> Option<Vec<String>> {
    if data.remaining() < 2 {
        return None;
    }
    let version = data.get_i16();
    if version < 0 {
        return None;
    }
    let version = version.min(SUBSCRIPTION_READ_MAX);
    let sub: ConsumerProtocolSubscription =
        chronik_kafka::decode_guarded(data, version, false).ok()?;
    Some(sub.topics.iter().map(|t| t.to_string()).collect())
}

/// Each partition's outcome of an OffsetDelete, in request order, and the write of the
/// tombstones to wait for when any offset went.
pub(crate) type OffsetDeletion = (Vec<Result<(), GroupError>>, Option<Written>);

/// Which of `partitions` may lose their offsets: for each, `Ok` or why not. A group-wide
/// refusal is the outer error.
pub(crate) fn deletable(
    group: &Group,
    partitions: &[(String, i32)],
) -> Result<Vec<Result<(), GroupError>>, GroupError> {
    if let Some(cg) = &group.consumer {
        let subscribed = cg.subscribed_topics();
        return Ok((partitions.iter())
            .map(|(topic, _)| match subscribed.contains(topic) {
                true => Err(GroupError::SubscribedToTopic),
                false => Ok(()),
            })
            .collect());
    }
    let consumer = group.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL);
    if !consumer && !group.is_empty() {
        return Err(GroupError::NonEmptyGroup);
    }
    let subscribed = match consumer && !group.is_empty() {
        true => subscribed_topics(group),
        false => Some(HashSet::new()),
    };
    Ok((partitions.iter())
        .map(|(topic, _)| match &subscribed {
            Some(topics) if !topics.contains(topic) => Ok(()),
            _ => Err(GroupError::SubscribedToTopic),
        })
        .collect())
}

impl Coordinator {
    /// OffsetDelete: removes the committed offsets of those `partitions` no member consumes
    /// (tombstones, appended as one batch); the outcome per partition, in order, and the
    /// write to wait for when something was removed.
    pub fn delete_offsets(
        self: &Arc<Self>,
        group: &str,
        partitions: &[(String, i32)],
    ) -> Result<OffsetDeletion, GroupError> {
        super::api::check_group_id(group)?;
        self.with_groups(group, |groups, place| {
            let g = groups.get_mut(group).ok_or(GroupError::GroupIdNotFound)?;
            let outcomes = deletable(g, partitions)?;
            let removed: Vec<&(String, i32)> = (partitions.iter().zip(&outcomes))
                .filter(|(key, outcome)| outcome.is_ok() && g.offsets.contains_key(*key))
                .map(|(key, _)| key)
                .collect();
            if removed.is_empty() {
                return Ok((outcomes, None));
            }
            let records: Result<Vec<_>, _> = (removed.iter())
                .map(|(topic, partition)| {
                    let key = RecordKey::Offset {
                        group: group.to_owned(),
                        topic: topic.clone(),
                        partition: *partition,
                    };
                    key.encode().map(|b| (b, None))
                })
                .collect();
            let records = records.map_err(|e| {
                tracing::warn!(group, error = %e, "offset tombstones cannot be encoded");
                GroupError::InvalidRequest(format!("an offset key cannot be stored: {e}"))
            })?;
            let durable = self.append(place, &records)?;
            for key in removed {
                g.offsets.remove(key);
            }
            tracing::info!(group, offsets = records.len(), "committed offsets deleted");
            Ok((outcomes, Some(durable)))
        })?
    }
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, BytesMut};
    use chronik_kafka::kafka_protocol::protocol::{Encodable, StrBytes};

    use super::*;
    use crate::groups::JoinRequest;
    use crate::groups::member::Member;

    fn subscription(topics: &[&str]) -> Bytes {
        let msg = ConsumerProtocolSubscription::default().with_topics(
            (topics.iter())
                .map(|t| StrBytes::from_string((*t).to_owned()))
                .collect(),
        );
        let mut buf = BytesMut::new();
        buf.put_i16(1);
        msg.encode(&mut buf, 1).expect("encodes");
        buf.freeze()
    }

    fn group_with(protocol_type: &str, metadata: Bytes) -> Group {
        let mut g = Group::new("g");
        let req = JoinRequest::for_test(protocol_type, metadata);
        g.add_member(Member::from_join(&req, "c-1".into(), 1, 0));
        g
    }

    fn parts(topics: &[&str]) -> Vec<(String, i32)> {
        topics.iter().map(|t| ((*t).to_owned(), 0)).collect()
    }

    #[test]
    fn offsets_of_subscribed_topics_stay_while_members_consume_them() {
        let g = group_with("consumer", subscription(&["a", "b"]));
        let outcome = deletable(&g, &parts(&["a", "c"])).expect("consumer group");
        assert_eq!(outcome, vec![Err(GroupError::SubscribedToTopic), Ok(())]);
    }

    #[test]
    fn an_empty_group_loses_any_offsets() {
        let g = Group::new("g");
        let outcome = deletable(&g, &parts(&["a"])).expect("empty group");
        assert_eq!(outcome, vec![Ok(())]);
    }

    #[test]
    fn a_non_consumer_group_with_members_keeps_its_offsets() {
        let g = group_with("connect", Bytes::from_static(b"whatever"));
        assert_eq!(
            deletable(&g, &parts(&["a"])),
            Err(GroupError::NonEmptyGroup)
        );
    }

    #[test]
    fn an_unreadable_subscription_counts_as_subscribed_to_everything() {
        for garbage in [&b""[..], b"\x00", b"\xff\xff", b"\x00\x00\x7f\xff\xff\xff"] {
            let g = group_with("consumer", Bytes::copy_from_slice(garbage));
            assert_eq!(
                deletable(&g, &parts(&["a"])).expect("consumer group"),
                vec![Err(GroupError::SubscribedToTopic)],
                "{garbage:?}"
            );
        }
    }
}
