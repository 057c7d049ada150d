//! The values of Kafka's consumer-group coordinator records (key types 3–8 of
//! `__consumer_offsets`), byte-compatible with Kafka's: value version 0, flexible encoding
//! (compact strings and arrays, a tag section after every struct, UUIDs as 16 raw bytes).
//! Unknown tagged fields are skipped on read. Decoding checks every length against the bytes
//! left: damaged input is an error, never a panic or an allocation larger than the input.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use chronik_metadata::Uuid;

use super::assignment::Assignment;
use crate::flexible::{get_tagged, get_uvarint, put_compact_len as put_len, put_uvarint};
use crate::groups::records::RecordError;

const VALUE_VERSION: i16 = 0;

/// ConsumerGroupMetadataValue (key type 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupEpochValue {
    pub epoch: i32,
}

/// One topic of ConsumerGroupPartitionMetadataValue (key type 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicMetadata {
    pub id: Uuid,
    pub name: String,
    pub partitions: i32,
}

/// ConsumerGroupPartitionMetadataValue: the subscribed topics the target was computed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionMetadataValue {
    pub topics: Vec<TopicMetadata>,
}

/// ConsumerGroupMemberMetadataValue (key type 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberMetadataValue {
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub server_assignor: Option<String>,
    /// Tagged field 0: set for a member using the classic protocol.
    pub classic: Option<ClassicMemberMetadata>,
}

/// ClassicMemberMetadata: a classic member's session timeout and offered protocols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClassicMemberMetadata {
    pub session_timeout_ms: i32,
    /// (protocol name, its metadata).
    pub protocols: Vec<(String, Bytes)>,
}

/// The tag of ClassicMemberMetadata in ConsumerGroupMemberMetadataValue.
const CLASSIC_MEMBER_TAG: u64 = 0;

/// ConsumerGroupTargetAssignmentMetadataValue (key type 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetEpochValue {
    pub assignment_epoch: i32,
}

/// ConsumerGroupTargetAssignmentMemberValue (key type 7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetMemberValue {
    pub partitions: Assignment,
}

/// ConsumerGroupCurrentMemberAssignmentValue (key type 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CurrentAssignmentValue {
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    pub state: i8,
    pub assigned: Assignment,
    pub pending_revocation: Assignment,
}

impl GroupEpochValue {
    pub fn encode(&self) -> Result<Bytes, RecordError> {
        let mut w = start();
        w.put_i32(self.epoch);
        end_struct(&mut w);
        Ok(w.freeze())
    }

    pub fn decode(buf: &[u8]) -> Result<GroupEpochValue, RecordError> {
        read(buf, |r| {
            let epoch = r.i32("epoch")?;
            r.tags()?;
            Ok(GroupEpochValue { epoch })
        })
    }
}

impl PartitionMetadataValue {
    pub fn encode(&self) -> Result<Bytes, RecordError> {
        let mut w = start();
        put_len(&mut w, self.topics.len());
        for t in &self.topics {
            w.put_slice(&t.id.0);
            put_str(&mut w, &t.name, "topic name")?;
            w.put_i32(t.partitions);
            put_len(&mut w, 0); // partition racks: none known
            end_struct(&mut w);
        }
        end_struct(&mut w);
        Ok(w.freeze())
    }

    pub fn decode(buf: &[u8]) -> Result<PartitionMetadataValue, RecordError> {
        read(buf, |r| {
            let mut topics = Vec::new();
            for _ in 0..r.len("topics")? {
                let id = r.uuid("topic id")?;
                let name = r.string("topic name")?;
                let partitions = r.i32("partition count")?;
                for _ in 0..r.len("partition racks")? {
                    r.i32("partition")?;
                    for _ in 0..r.len("racks")? {
                        r.string("rack")?;
                    }
                    r.tags()?;
                }
                r.tags()?;
                topics.push(TopicMetadata {
                    id,
                    name,
                    partitions,
                });
            }
            r.tags()?;
            Ok(PartitionMetadataValue { topics })
        })
    }
}

impl MemberMetadataValue {
    pub fn encode(&self) -> Result<Bytes, RecordError> {
        let mut w = start();
        put_opt_str(&mut w, self.instance_id.as_deref(), "instance id")?;
        put_opt_str(&mut w, self.rack_id.as_deref(), "rack id")?;
        put_str(&mut w, &self.client_id, "client id")?;
        put_str(&mut w, &self.client_host, "client host")?;
        put_len(&mut w, self.subscribed_topic_names.len());
        for name in &self.subscribed_topic_names {
            put_str(&mut w, name, "topic name")?;
        }
        put_opt_str(
            &mut w,
            self.subscribed_topic_regex.as_deref(),
            "topic regex",
        )?;
        w.put_i32(self.rebalance_timeout_ms);
        put_opt_str(&mut w, self.server_assignor.as_deref(), "assignor")?;
        match &self.classic {
            None => end_struct(&mut w),
            Some(classic) => {
                // A nullable struct in a tagged field: its size, a presence byte, the struct.
                let mut body = BytesMut::new();
                body.put_i32(classic.session_timeout_ms);
                put_len(&mut body, classic.protocols.len());
                for (name, metadata) in &classic.protocols {
                    put_str(&mut body, name, "protocol name")?;
                    put_len(&mut body, metadata.len());
                    body.put_slice(metadata);
                    end_struct(&mut body);
                }
                end_struct(&mut body);
                put_uvarint(&mut w, 1);
                put_uvarint(&mut w, CLASSIC_MEMBER_TAG);
                put_uvarint(&mut w, body.len() as u64 + 1);
                put_uvarint(&mut w, 1);
                w.put_slice(&body);
            }
        }
        Ok(w.freeze())
    }

    pub fn decode(buf: &[u8]) -> Result<MemberMetadataValue, RecordError> {
        read(buf, |r| {
            let instance_id = r.opt_string("instance id")?;
            let rack_id = r.opt_string("rack id")?;
            let client_id = r.string("client id")?;
            let client_host = r.string("client host")?;
            let mut subscribed_topic_names = Vec::new();
            for _ in 0..r.len("subscribed topics")? {
                subscribed_topic_names.push(r.string("topic name")?);
            }
            let mut value = MemberMetadataValue {
                instance_id,
                rack_id,
                client_id,
                client_host,
                subscribed_topic_names,
                subscribed_topic_regex: r.opt_string("topic regex")?,
                rebalance_timeout_ms: r.i32("rebalance timeout")?,
                server_assignor: r.opt_string("assignor")?,
                classic: None,
            };
            for (tag, field) in r.tagged()? {
                if tag == CLASSIC_MEMBER_TAG {
                    value.classic = read_classic(field)?;
                }
            }
            Ok(value)
        })
    }
}

impl TargetEpochValue {
    pub fn encode(&self) -> Result<Bytes, RecordError> {
        let mut w = start();
        w.put_i32(self.assignment_epoch);
        end_struct(&mut w);
        Ok(w.freeze())
    }

    pub fn decode(buf: &[u8]) -> Result<TargetEpochValue, RecordError> {
        read(buf, |r| {
            let assignment_epoch = r.i32("assignment epoch")?;
            r.tags()?;
            Ok(TargetEpochValue { assignment_epoch })
        })
    }
}

impl TargetMemberValue {
    pub fn encode(&self) -> Result<Bytes, RecordError> {
        let mut w = start();
        put_assignment(&mut w, &self.partitions);
        end_struct(&mut w);
        Ok(w.freeze())
    }

    pub fn decode(buf: &[u8]) -> Result<TargetMemberValue, RecordError> {
        read(buf, |r| {
            let partitions = r.assignment()?;
            r.tags()?;
            Ok(TargetMemberValue { partitions })
        })
    }
}

impl CurrentAssignmentValue {
    pub fn encode(&self) -> Result<Bytes, RecordError> {
        let mut w = start();
        w.put_i32(self.member_epoch);
        w.put_i32(self.previous_member_epoch);
        w.put_i8(self.state);
        put_assignment(&mut w, &self.assigned);
        put_assignment(&mut w, &self.pending_revocation);
        end_struct(&mut w);
        Ok(w.freeze())
    }

    pub fn decode(buf: &[u8]) -> Result<CurrentAssignmentValue, RecordError> {
        read(buf, |r| {
            let value = CurrentAssignmentValue {
                member_epoch: r.i32("member epoch")?,
                previous_member_epoch: r.i32("previous member epoch")?,
                state: r.i8("state")?,
                assigned: r.assignment()?,
                pending_revocation: r.assignment()?,
            };
            r.tags()?;
            Ok(value)
        })
    }
}

fn start() -> BytesMut {
    let mut w = BytesMut::new();
    w.put_i16(VALUE_VERSION);
    w
}

/// An empty tag section closes every struct.
fn end_struct(w: &mut BytesMut) {
    put_uvarint(w, 0);
}

fn put_str(w: &mut BytesMut, s: &str, what: &'static str) -> Result<(), RecordError> {
    put_opt_str(w, Some(s), what)
}

/// Kafka strings are at most i16::MAX bytes: a longer one is refused, never cut.
fn put_opt_str(w: &mut BytesMut, s: Option<&str>, what: &'static str) -> Result<(), RecordError> {
    match s {
        Some(s) if s.len() > i16::MAX as usize => Err(RecordError::TooLong {
            what,
            len: s.len(),
            max: i16::MAX as usize,
        }),
        Some(s) => {
            put_len(w, s.len());
            w.put_slice(s.as_bytes());
            Ok(())
        }
        None => {
            put_uvarint(w, 0);
            Ok(())
        }
    }
}

fn put_assignment(w: &mut BytesMut, a: &Assignment) {
    put_len(w, a.0.len());
    for (topic, partitions) in &a.0 {
        w.put_slice(&topic.0);
        put_len(w, partitions.len());
        for p in partitions {
            w.put_i32(*p);
        }
        end_struct(w);
    }
}

/// Reads a value: its version, then `body`, then nothing may be left.
fn read<T>(
    buf: &[u8],
    body: impl FnOnce(&mut Reader<'_>) -> Result<T, RecordError>,
) -> Result<T, RecordError> {
    let mut r = Reader(buf);
    let version = r.i16("value version")?;
    if version != VALUE_VERSION {
        let what = "consumer group value";
        return Err(RecordError::UnknownVersion { what, version });
    }
    let value = body(&mut r)?;
    match r.0.len() {
        0 => Ok(value),
        n => Err(RecordError::Trailing(n)),
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn i8(&mut self, what: &'static str) -> Result<i8, RecordError> {
        self.0
            .try_get_i8()
            .map_err(|_| RecordError::Truncated(what))
    }

    fn i16(&mut self, what: &'static str) -> Result<i16, RecordError> {
        self.0
            .try_get_i16()
            .map_err(|_| RecordError::Truncated(what))
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, RecordError> {
        self.0
            .try_get_i32()
            .map_err(|_| RecordError::Truncated(what))
    }

    fn uvarint(&mut self, what: &'static str) -> Result<u64, RecordError> {
        get_uvarint(&mut self.0).ok_or(RecordError::Truncated(what))
    }

    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], RecordError> {
        if self.0.len() < len {
            return Err(RecordError::Truncated(what));
        }
        let (head, tail) = self.0.split_at(len);
        self.0 = tail;
        Ok(head)
    }

    /// A compact array length; never more than the bytes left (each element takes one).
    fn len(&mut self, what: &'static str) -> Result<usize, RecordError> {
        match self.uvarint(what)? {
            0 => Err(RecordError::NegativeLength(what)),
            n => {
                let n = usize::try_from(n - 1).map_err(|_| RecordError::Truncated(what))?;
                if n > self.0.len() {
                    return Err(RecordError::Truncated(what));
                }
                Ok(n)
            }
        }
    }

    fn opt_string(&mut self, what: &'static str) -> Result<Option<String>, RecordError> {
        let n = self.uvarint(what)?;
        if n == 0 {
            return Ok(None);
        }
        let len = usize::try_from(n - 1).map_err(|_| RecordError::Truncated(what))?;
        let raw = self.take(len, what)?;
        let s = std::str::from_utf8(raw).map_err(|_| RecordError::NotUtf8(what))?;
        Ok(Some(s.to_owned()))
    }

    fn string(&mut self, what: &'static str) -> Result<String, RecordError> {
        self.opt_string(what)?
            .ok_or(RecordError::NegativeLength(what))
    }

    fn uuid(&mut self, what: &'static str) -> Result<Uuid, RecordError> {
        let raw = self.take(16, what)?;
        let mut id = [0u8; 16];
        id.copy_from_slice(raw);
        Ok(Uuid(id))
    }

    fn assignment(&mut self) -> Result<Assignment, RecordError> {
        let mut out = Assignment::default();
        for _ in 0..self.len("topic partitions")? {
            let topic = self.uuid("topic id")?;
            for _ in 0..self.len("partitions")? {
                out.insert(topic, self.i32("partition")?);
            }
            self.tags()?;
        }
        Ok(out)
    }

    /// Reads a tag section: each field's tag and bytes.
    fn tagged(&mut self) -> Result<Vec<(u64, &'a [u8])>, RecordError> {
        get_tagged(&mut self.0).ok_or(RecordError::Truncated("tagged field"))
    }

    fn bytes(&mut self, what: &'static str) -> Result<Bytes, RecordError> {
        let len = self.len(what)?;
        Ok(Bytes::copy_from_slice(self.take(len, what)?))
    }

    /// Skips a tag section (fields this reader does not know).
    fn tags(&mut self) -> Result<(), RecordError> {
        self.tagged().map(drop)
    }
}

/// The ClassicMemberMetadata of a tagged field (a presence byte, then the struct).
fn read_classic(field: &[u8]) -> Result<Option<ClassicMemberMetadata>, RecordError> {
    let mut r = Reader(field);
    if r.uvarint("classic member presence")? == 0 {
        return Ok(None);
    }
    let session_timeout_ms = r.i32("session timeout")?;
    let mut protocols = Vec::new();
    for _ in 0..r.len("protocols")? {
        let name = r.string("protocol name")?;
        let metadata = r.bytes("protocol metadata")?;
        r.tags()?;
        protocols.push((name, metadata));
    }
    r.tags()?;
    Ok(Some(ClassicMemberMetadata {
        session_timeout_ms,
        protocols,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> MemberMetadataValue {
        MemberMetadataValue {
            instance_id: Some("i".into()),
            rack_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            subscribed_topic_names: vec!["a".into(), "b".into()],
            subscribed_topic_regex: None,
            rebalance_timeout_ms: 300_000,
            server_assignor: Some("range".into()),
            classic: None,
        }
    }

    fn current() -> CurrentAssignmentValue {
        let t = Uuid([7; 16]);
        CurrentAssignmentValue {
            member_epoch: 5,
            previous_member_epoch: 4,
            state: 1,
            assigned: Assignment::from_pairs([(t, 0), (t, 2)]),
            pending_revocation: Assignment::from_pairs([(t, 1)]),
        }
    }

    #[test]
    fn values_round_trip() {
        assert_eq!(
            MemberMetadataValue::decode(&member().encode().unwrap()),
            Ok(member())
        );
        assert_eq!(
            CurrentAssignmentValue::decode(&current().encode().unwrap()),
            Ok(current())
        );
        let target = TargetMemberValue {
            partitions: current().assigned,
        };
        assert_eq!(
            TargetMemberValue::decode(&target.encode().unwrap()),
            Ok(target)
        );
        let meta = PartitionMetadataValue {
            topics: vec![TopicMetadata {
                id: Uuid([3; 16]),
                name: "t".into(),
                partitions: 12,
            }],
        };
        assert_eq!(
            PartitionMetadataValue::decode(&meta.encode().unwrap()),
            Ok(meta)
        );
        let epoch = GroupEpochValue { epoch: 9 };
        assert_eq!(GroupEpochValue::decode(&epoch.encode().unwrap()), Ok(epoch));
    }

    #[test]
    fn a_classic_members_metadata_round_trips_in_its_tagged_field() {
        let mut m = member();
        m.classic = Some(ClassicMemberMetadata {
            session_timeout_ms: 45_000,
            protocols: vec![("range".into(), Bytes::from_static(b"sub"))],
        });
        let bytes = m.encode().unwrap();
        assert_eq!(MemberMetadataValue::decode(&bytes), Ok(m));
        for cut in 0..bytes.len() {
            assert!(
                MemberMetadataValue::decode(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn kafka_layout_of_a_group_epoch_value() {
        // version 0, epoch 9, empty tag section.
        let bytes = GroupEpochValue { epoch: 9 }.encode().unwrap();
        assert_eq!(&bytes[..], &[0, 0, 0, 0, 0, 9, 0]);
    }

    #[test]
    fn tagged_fields_are_skipped() {
        let mut bytes = BytesMut::from(&member().encode().unwrap()[..]);
        bytes.truncate(bytes.len() - 1);
        // One tagged field this reader does not know (tag 5) of three bytes.
        bytes.put_slice(&[1, 5, 3, 1, 2, 3]);
        assert_eq!(MemberMetadataValue::decode(&bytes), Ok(member()));
    }

    #[test]
    fn damaged_values_are_errors_not_panics() {
        for bytes in [member().encode().unwrap(), current().encode().unwrap()] {
            for cut in 0..bytes.len() {
                assert!(MemberMetadataValue::decode(&bytes[..cut]).is_err());
                assert!(CurrentAssignmentValue::decode(&bytes[..cut]).is_err());
            }
        }
        // An array claiming 2^62 elements fails on the bytes present.
        let huge = [0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f];
        assert!(TargetMemberValue::decode(&huge).is_err());
        assert!(
            GroupEpochValue::decode(&[0, 1, 0, 0, 0, 9, 0]).is_err(),
            "version 1"
        );
    }
}
