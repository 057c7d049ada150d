//! The keys and values the coordinator writes to `__consumer_offsets`.
//!
//! kafka-protocol 0.18 does not ship Kafka's internal coordinator schemas, so they are encoded
//! here by hand, byte-compatible with Kafka's non-flexible versions (a Kafka tool reading the
//! topic understands them):
//! - key version 1 `OffsetCommitKey`: group, topic, partition
//! - key version 2 `GroupMetadataKey`: group
//! - `OffsetCommitValue` v3: offset, leader epoch, metadata, commit timestamp
//! - `GroupMetadataValue` v3: protocol type, generation, protocol, leader, state timestamp,
//!   members (member id, instance id, client id, client host, rebalance and session timeouts,
//!   subscription, assignment)
//! - key versions 3–8: the consumer group (KIP-848) records, one key layout per type (group,
//!   or group and member id); their flexible-version values are in `consumer::records`
//!
//! A null value is a tombstone. Decoding checks every length against the bytes left, so damaged
//! input yields an error, never a panic or an allocation larger than the input. Encoding refuses
//! a string longer than a Kafka string can be rather than cutting it (requests are checked
//! before anything reaches here, so this is the last line of defence).

use bytes::{Buf, BufMut, Bytes, BytesMut};

const OFFSET_KEY_V0: i16 = 0;
const OFFSET_KEY_V1: i16 = 1;
const GROUP_KEY_V2: i16 = 2;
const CONSUMER_GROUP_KEY_V3: i16 = 3;
const PARTITION_METADATA_KEY_V4: i16 = 4;
const MEMBER_METADATA_KEY_V5: i16 = 5;
const TARGET_EPOCH_KEY_V6: i16 = 6;
const TARGET_MEMBER_KEY_V7: i16 = 7;
const CURRENT_ASSIGNMENT_KEY_V8: i16 = 8;
const OFFSET_VALUE_V3: i16 = 3;
const GROUP_VALUE_V3: i16 = 3;

/// Why a stored record could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum RecordError {
    #[error("record truncated while reading {0}")]
    Truncated(&'static str),
    #[error("unknown {what} version {version}")]
    UnknownVersion { what: &'static str, version: i16 },
    #[error("{0} is not valid UTF-8")]
    NotUtf8(&'static str),
    #[error("negative length for {0}")]
    NegativeLength(&'static str),
    #[error("{0} trailing bytes")]
    Trailing(usize),
    #[error("{what} is {len} bytes, over the {max}-byte limit of a stored record")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
}

/// What a `__consumer_offsets` key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordKey {
    Offset {
        group: String,
        topic: String,
        partition: i32,
    },
    Group {
        group: String,
    },
    /// A consumer group's own records (key types 3, 4 and 6).
    ConsumerGroup {
        kind: GroupRecord,
        group: String,
    },
    /// A consumer group member's records (key types 5, 7 and 8).
    ConsumerMember {
        kind: MemberRecord,
        group: String,
        member: String,
    },
}

/// The one-per-group records of a consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupRecord {
    /// ConsumerGroupMetadata: the group epoch.
    Epoch,
    /// ConsumerGroupPartitionMetadata: the subscribed topics' metadata.
    PartitionMetadata,
    /// ConsumerGroupTargetAssignmentMetadata: the target assignment's epoch.
    TargetEpoch,
}

/// The one-per-member records of a consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemberRecord {
    /// ConsumerGroupMemberMetadata: subscription, ids, timeouts.
    Metadata,
    /// ConsumerGroupTargetAssignmentMember: the member's target.
    Target,
    /// ConsumerGroupCurrentMemberAssignment: epoch, state, assigned and revoking partitions.
    Current,
}

impl GroupRecord {
    fn key_version(self) -> i16 {
        match self {
            GroupRecord::Epoch => CONSUMER_GROUP_KEY_V3,
            GroupRecord::PartitionMetadata => PARTITION_METADATA_KEY_V4,
            GroupRecord::TargetEpoch => TARGET_EPOCH_KEY_V6,
        }
    }
}

impl MemberRecord {
    fn key_version(self) -> i16 {
        match self {
            MemberRecord::Metadata => MEMBER_METADATA_KEY_V5,
            MemberRecord::Target => TARGET_MEMBER_KEY_V7,
            MemberRecord::Current => CURRENT_ASSIGNMENT_KEY_V8,
        }
    }
}

/// A committed offset as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OffsetValue {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
}

/// One member of a stored group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

/// A group's membership as stored after each completed generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupValue {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub timestamp: i64,
    pub members: Vec<StoredMember>,
}

impl RecordKey {
    pub fn encode(&self) -> Result<Bytes, RecordError> {
        let mut out = BytesMut::new();
        match self {
            RecordKey::Offset {
                group,
                topic,
                partition,
            } => {
                out.put_i16(OFFSET_KEY_V1);
                put_str(&mut out, group, "group")?;
                put_str(&mut out, topic, "topic")?;
                out.put_i32(*partition);
            }
            RecordKey::Group { group } => {
                out.put_i16(GROUP_KEY_V2);
                put_str(&mut out, group, "group")?;
            }
            RecordKey::ConsumerGroup { kind, group } => {
                out.put_i16(kind.key_version());
                put_str(&mut out, group, "group")?;
            }
            RecordKey::ConsumerMember {
                kind,
                group,
                member,
            } => {
                out.put_i16(kind.key_version());
                put_str(&mut out, group, "group")?;
                put_str(&mut out, member, "member id")?;
            }
        }
        Ok(out.freeze())
    }

    pub fn decode(mut buf: &[u8]) -> Result<RecordKey, RecordError> {
        let r = &mut buf;
        let version = get_i16(r, "key version")?;
        let key = match version {
            OFFSET_KEY_V0 | OFFSET_KEY_V1 => RecordKey::Offset {
                group: get_str(r, "group")?,
                topic: get_str(r, "topic")?,
                partition: get_i32(r, "partition")?,
            },
            GROUP_KEY_V2 => RecordKey::Group {
                group: get_str(r, "group")?,
            },
            CONSUMER_GROUP_KEY_V3 | PARTITION_METADATA_KEY_V4 | TARGET_EPOCH_KEY_V6 => {
                let kind = match version {
                    CONSUMER_GROUP_KEY_V3 => GroupRecord::Epoch,
                    PARTITION_METADATA_KEY_V4 => GroupRecord::PartitionMetadata,
                    _ => GroupRecord::TargetEpoch,
                };
                RecordKey::ConsumerGroup {
                    kind,
                    group: get_str(r, "group")?,
                }
            }
            MEMBER_METADATA_KEY_V5 | TARGET_MEMBER_KEY_V7 | CURRENT_ASSIGNMENT_KEY_V8 => {
                let kind = match version {
                    MEMBER_METADATA_KEY_V5 => MemberRecord::Metadata,
                    TARGET_MEMBER_KEY_V7 => MemberRecord::Target,
                    _ => MemberRecord::Current,
                };
                RecordKey::ConsumerMember {
                    kind,
                    group: get_str(r, "group")?,
                    member: get_str(r, "member id")?,
                }
            }
            version => {
                return Err(RecordError::UnknownVersion {
                    what: "key",
                    version,
                });
            }
        };
        done(r)?;
        Ok(key)
    }
}

impl OffsetValue {
    pub fn encode(&self) -> Result<Bytes, RecordError> {
        let mut out = BytesMut::new();
        out.put_i16(OFFSET_VALUE_V3);
        out.put_i64(self.offset);
        out.put_i32(self.leader_epoch);
        put_str(&mut out, &self.metadata, "metadata")?;
        out.put_i64(self.commit_timestamp);
        Ok(out.freeze())
    }

    pub fn decode(mut buf: &[u8]) -> Result<OffsetValue, RecordError> {
        let r = &mut buf;
        let version = get_i16(r, "offset value version")?;
        if version != OFFSET_VALUE_V3 {
            let what = "offset value";
            return Err(RecordError::UnknownVersion { what, version });
        }
        let value = OffsetValue {
            offset: get_i64(r, "offset")?,
            leader_epoch: get_i32(r, "leader epoch")?,
            metadata: get_str(r, "metadata")?,
            commit_timestamp: get_i64(r, "commit timestamp")?,
        };
        done(r)?;
        Ok(value)
    }
}

impl GroupValue {
    pub fn encode(&self) -> Result<Bytes, RecordError> {
        let mut out = BytesMut::new();
        out.put_i16(GROUP_VALUE_V3);
        put_str(&mut out, &self.protocol_type, "protocol type")?;
        out.put_i32(self.generation);
        put_opt_str(&mut out, self.protocol.as_deref(), "protocol")?;
        put_opt_str(&mut out, self.leader.as_deref(), "leader")?;
        out.put_i64(self.timestamp);
        out.put_i32(len_i32(self.members.len(), "members")?);
        for m in &self.members {
            put_str(&mut out, &m.member_id, "member id")?;
            put_opt_str(&mut out, m.instance_id.as_deref(), "instance id")?;
            put_str(&mut out, &m.client_id, "client id")?;
            put_str(&mut out, &m.client_host, "client host")?;
            out.put_i32(m.rebalance_timeout_ms);
            out.put_i32(m.session_timeout_ms);
            put_bytes(&mut out, &m.subscription, "subscription")?;
            put_bytes(&mut out, &m.assignment, "assignment")?;
        }
        Ok(out.freeze())
    }

    pub fn decode(mut buf: &[u8]) -> Result<GroupValue, RecordError> {
        let r = &mut buf;
        let version = get_i16(r, "group value version")?;
        if version != GROUP_VALUE_V3 {
            let what = "group value";
            return Err(RecordError::UnknownVersion { what, version });
        }
        let protocol_type = get_str(r, "protocol type")?;
        let generation = get_i32(r, "generation")?;
        let protocol = get_opt_str(r, "protocol")?;
        let leader = get_opt_str(r, "leader")?;
        let timestamp = get_i64(r, "timestamp")?;
        let count = get_i32(r, "member count")?;
        let count = usize::try_from(count).map_err(|_| RecordError::NegativeLength("members"))?;
        // No pre-allocation by `count`: each member is decoded from bytes actually present.
        let mut members = Vec::new();
        for _ in 0..count {
            members.push(StoredMember {
                member_id: get_str(r, "member id")?,
                instance_id: get_opt_str(r, "instance id")?,
                client_id: get_str(r, "client id")?,
                client_host: get_str(r, "client host")?,
                rebalance_timeout_ms: get_i32(r, "rebalance timeout")?,
                session_timeout_ms: get_i32(r, "session timeout")?,
                subscription: get_bytes(r, "subscription")?,
                assignment: get_bytes(r, "assignment")?,
            });
        }
        done(r)?;
        Ok(GroupValue {
            protocol_type,
            generation,
            protocol,
            leader,
            timestamp,
            members,
        })
    }
}

fn put_str(out: &mut BytesMut, s: &str, what: &'static str) -> Result<(), RecordError> {
    put_opt_str(out, Some(s), what)
}

/// Kafka strings are at most i16::MAX bytes; a longer one is an error, never cut.
fn put_opt_str(out: &mut BytesMut, s: Option<&str>, what: &'static str) -> Result<(), RecordError> {
    match s {
        Some(s) => {
            let len = i16::try_from(s.len()).map_err(|_| RecordError::TooLong {
                what,
                len: s.len(),
                max: i16::MAX as usize,
            })?;
            out.put_i16(len);
            out.put_slice(s.as_bytes());
        }
        None => out.put_i16(-1),
    }
    Ok(())
}

fn len_i32(len: usize, what: &'static str) -> Result<i32, RecordError> {
    i32::try_from(len).map_err(|_| RecordError::TooLong {
        what,
        len,
        max: i32::MAX as usize,
    })
}

fn put_bytes(out: &mut BytesMut, b: &[u8], what: &'static str) -> Result<(), RecordError> {
    out.put_i32(len_i32(b.len(), what)?);
    out.put_slice(b);
    Ok(())
}

fn get_i16(r: &mut &[u8], what: &'static str) -> Result<i16, RecordError> {
    r.try_get_i16().map_err(|_| RecordError::Truncated(what))
}

fn get_i32(r: &mut &[u8], what: &'static str) -> Result<i32, RecordError> {
    r.try_get_i32().map_err(|_| RecordError::Truncated(what))
}

fn get_i64(r: &mut &[u8], what: &'static str) -> Result<i64, RecordError> {
    r.try_get_i64().map_err(|_| RecordError::Truncated(what))
}

fn take<'a>(r: &mut &'a [u8], len: usize, what: &'static str) -> Result<&'a [u8], RecordError> {
    if r.len() < len {
        return Err(RecordError::Truncated(what));
    }
    let (head, tail) = r.split_at(len);
    *r = tail;
    Ok(head)
}

fn get_opt_str(r: &mut &[u8], what: &'static str) -> Result<Option<String>, RecordError> {
    let len = get_i16(r, what)?;
    if len < 0 {
        return Ok(None);
    }
    let raw = take(r, len as usize, what)?;
    let s = std::str::from_utf8(raw).map_err(|_| RecordError::NotUtf8(what))?;
    Ok(Some(s.to_owned()))
}

fn get_str(r: &mut &[u8], what: &'static str) -> Result<String, RecordError> {
    get_opt_str(r, what)?.ok_or(RecordError::NegativeLength(what))
}

fn get_bytes(r: &mut &[u8], what: &'static str) -> Result<Bytes, RecordError> {
    let len = get_i32(r, what)?;
    let len = usize::try_from(len).map_err(|_| RecordError::NegativeLength(what))?;
    Ok(Bytes::copy_from_slice(take(r, len, what)?))
}

fn done(r: &[u8]) -> Result<(), RecordError> {
    match r.len() {
        0 => Ok(()),
        n => Err(RecordError::Trailing(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> GroupValue {
        GroupValue {
            protocol_type: "consumer".into(),
            generation: 7,
            protocol: Some("range".into()),
            leader: Some("c-1".into()),
            timestamp: 99,
            members: vec![StoredMember {
                member_id: "c-1".into(),
                instance_id: Some("i1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout_ms: 300_000,
                session_timeout_ms: 45_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        }
    }

    #[test]
    fn keys_and_values_round_trip() {
        let keys = [
            RecordKey::Offset {
                group: "g".into(),
                topic: "t".into(),
                partition: 3,
            },
            RecordKey::Group { group: "g".into() },
        ];
        for key in keys {
            let bytes = key.encode().expect("encodes");
            assert_eq!(RecordKey::decode(&bytes), Ok(key));
        }
        let offset = OffsetValue {
            offset: 42,
            leader_epoch: -1,
            metadata: "m".into(),
            commit_timestamp: 5,
        };
        assert_eq!(
            OffsetValue::decode(&offset.encode().expect("o")),
            Ok(offset)
        );
        assert_eq!(
            GroupValue::decode(&group().encode().expect("g")),
            Ok(group())
        );
    }

    #[test]
    fn over_long_strings_are_refused_not_cut() {
        let long = "x".repeat(i16::MAX as usize + 1);
        let key = RecordKey::Group {
            group: long.clone(),
        };
        assert!(matches!(
            key.encode(),
            Err(RecordError::TooLong { what: "group", .. })
        ));
        let mut value = group();
        value.members[0].instance_id = Some(long);
        assert!(matches!(
            value.encode(),
            Err(RecordError::TooLong {
                what: "instance id",
                ..
            })
        ));
        let fits = RecordKey::Group {
            group: "y".repeat(i16::MAX as usize),
        };
        let bytes = fits.encode().expect("exactly the limit fits");
        assert_eq!(RecordKey::decode(&bytes), Ok(fits));
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let bytes = group().encode().expect("encodes");
        for cut in 0..bytes.len() {
            assert!(GroupValue::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = BytesMut::from(&bytes[..]);
        // Member count field claims 2^31-1 members: fails on the bytes present.
        let at = bytes.len() - member_bytes_len();
        huge[at - 4..at].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(GroupValue::decode(&huge).is_err());
        assert!(RecordKey::decode(&[0, 9]).is_err());
        assert!(
            RecordKey::decode(&[0, 2, 0, 1, b'g', 0]).is_err(),
            "trailing"
        );
        assert!(OffsetValue::decode(&[0, 3, 0xff]).is_err());
    }

    fn member_bytes_len() -> usize {
        let mut one = group();
        one.members.clear();
        group().encode().expect("g").len() - one.encode().expect("g").len()
    }
}
