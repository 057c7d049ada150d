//! Reads as leader: consumers up to the high watermark, followers up to the log end (their
//! fetch offsets are their progress, which moves the high watermark and may bring them back
//! into the ISR), offset lookups, and the per-partition wake-ups parked fetches wait on.

use bytes::Bytes;
use chronik_metadata::BrokerId;
use chronik_types::TopicPartition;
use chronik_wal::{AbortedTxn, PartitionLog};
use tokio_stream::StreamMap;
use tokio_stream::wrappers::WatchStream;

use super::remote::{CommittedView, RemoteSpan, segment_id};
use super::{Leading, PartitionError, PartitionLayer, Result};
use crate::producers::ProducerSummary;
use crate::replica::{Role, divergence};

/// Who reads: what it may see and whether its read is replication progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reader {
    /// Sees what every ISR member holds (below the high watermark).
    Consumer,
    /// A follower replica copying the log: sees everything, and its fetch offset is its log end.
    Follower(BrokerId),
}

/// Where to read one partition from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadRequest {
    pub fetch_offset: i64,
    /// The reader's own log start offset: a follower's, which DeleteRecords waits on (-1 for
    /// consumers).
    pub log_start_offset: i64,
    /// The leader epoch the reader believes current (-1: unchecked).
    pub current_leader_epoch: i32,
    /// At most this many bytes of batches.
    pub max_bytes: usize,
    /// Whether a first batch larger than `max_bytes` is still returned whole, so a consumer
    /// always makes progress (only until a fetch response holds data, as in Kafka).
    pub first_whole: bool,
    /// What a consumer may see (followers see everything).
    pub isolation: Isolation,
}

/// A consumer's `isolation.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isolation {
    /// Everything below the high watermark, aborted transactions included.
    ReadUncommitted,
    /// Only below the last stable offset, told which transactions were aborted.
    ReadCommitted,
}

impl Isolation {
    /// The `isolation_level` of a Fetch or ListOffsets request (0, or 1 for read_committed).
    pub fn from_wire(level: i8) -> Isolation {
        match level {
            1 => Isolation::ReadCommitted,
            _ => Isolation::ReadUncommitted,
        }
    }
}

/// One partition's read.
#[derive(Debug)]
pub(crate) struct PartitionRead {
    /// Whole stored batches, byte for byte.
    pub records: Bytes,
    pub high_watermark: i64,
    /// Below it every transaction is decided (at most the high watermark).
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    /// For a read_committed reader, the aborted transactions the records may hold.
    pub aborted: Option<Vec<AbortedTxn>>,
    /// For a consumer's offset that only the remote tier holds: where to read it (the
    /// records are empty).
    pub remote: Option<RemoteSpan>,
}

/// Which offset ListOffsets asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OffsetQuery {
    /// Where a consumer's next record will be: the high watermark.
    Latest,
    /// The log start over both tiers.
    Earliest,
    /// The local log's start (KIP-405's EARLIEST_LOCAL_TIMESTAMP, -4).
    EarliestLocal,
    /// The last offset the remote tier holds (KIP-1005's LATEST_TIERED_TIMESTAMP, -5).
    LatestTiered,
    /// The first record with a timestamp at or after this one.
    Timestamp(i64),
    /// The first record holding the largest timestamp (KIP-734).
    MaxTimestamp,
}

/// Yields when any watched partition changes (an append, a high-watermark or leadership move)
/// or any partition's role changes on this broker.
pub(crate) type Changes = StreamMap<usize, WatchStream<u64>>;

impl PartitionLayer {
    /// Reads `tp` for `reader` from `req.fetch_offset`.
    pub fn read(
        &self,
        tp: &TopicPartition,
        req: &ReadRequest,
        reader: Reader,
    ) -> Result<PartitionRead> {
        let leading = self.leader_at(tp, req.current_leader_epoch)?;
        let log = leading.log();
        let (start, end) = (log.start_offset(), log.end_offset());
        let hw = leading.high_watermark();
        let lso = leading.hosted.last_stable_offset(hw);
        let committed = req.isolation == Isolation::ReadCommitted;
        let visible = match reader {
            Reader::Follower(_) => end,
            Reader::Consumer if committed => lso,
            Reader::Consumer => hw,
        };
        // Consumers see the log from its start over both tiers; followers only the local one.
        let reported_start = match reader {
            Reader::Consumer => leading.hosted.log_start_offset(),
            Reader::Follower(_) => start,
        };
        if (0..start).contains(&req.fetch_offset)
            && let Some((copy, later_copies)) =
                self.remote_copy_at(&leading.hosted, tp, req.fetch_offset)
        {
            let committed = (committed && reader == Reader::Consumer).then(|| CommittedView {
                last_stable_offset: lso,
                later_copies,
                local_aborted: log.aborted_txns(start, lso),
            });
            return match reader {
                Reader::Follower(_) => Err(PartitionError::OffsetMovedToTieredStorage {
                    offset: req.fetch_offset,
                    local_start: start,
                }),
                Reader::Consumer => Ok(PartitionRead {
                    records: Bytes::new(),
                    high_watermark: hw,
                    last_stable_offset: lso,
                    log_start_offset: self.log_start_over_tiers(&leading.hosted, tp),
                    aborted: None,
                    remote: Some(RemoteSpan {
                        id: segment_id(&copy),
                        offset: req.fetch_offset,
                        committed,
                    }),
                }),
            };
        }
        if req.fetch_offset < start || req.fetch_offset > end {
            let log_start = match reader {
                Reader::Consumer => self.log_start_over_tiers(&leading.hosted, tp),
                Reader::Follower(_) => start,
            };
            return Err(PartitionError::OffsetOutOfRange {
                offset: req.fetch_offset,
                log_start,
                log_end: end,
                visible_end: visible,
            });
        }
        let records = if req.max_bytes == 0 || req.fetch_offset >= visible {
            Bytes::new()
        } else {
            let read = if req.first_whole {
                log.read_bounded(req.fetch_offset, req.max_bytes, visible)
            } else {
                log.read_fitting(req.fetch_offset, req.max_bytes, visible)
            };
            match read {
                Ok(read) => read.data,
                Err(e) => {
                    tracing::error!(partition = %tp, error = %e, "read failed");
                    return Err(PartitionError::Storage(tp.clone()));
                }
            }
        };
        let aborted = (committed && reader == Reader::Consumer)
            .then(|| log.aborted_txns(req.fetch_offset, visible));
        Ok(PartitionRead {
            records,
            high_watermark: hw,
            last_stable_offset: lso,
            log_start_offset: reported_start,
            aborted,
            remote: None,
        })
    }

    /// Records a follower's fetch of `tp` from `fetch_offset` (its log end): it may move the
    /// high watermark (waking consumers and acks=all produces by itself) and, for a follower
    /// outside the ISR, wakes the ISR task. A fetch this broker cannot serve as leader in the
    /// epoch the follower names records nothing.
    pub fn follower_fetched(
        &self,
        follower: BrokerId,
        tp: &TopicPartition,
        (fetch_offset, log_start): (i64, i64),
        current_leader_epoch: i32,
    ) {
        let Ok(leading) = self.leader_at(tp, current_leader_epoch) else {
            return;
        };
        let end = leading.log().end_offset();
        let now = std::time::Instant::now();
        let (outside_isr, start_moved) = leading.hosted.replica.update(|p| {
            let start_moved = p.follower_log_start(follower, log_start);
            p.follower_fetched(follower, fetch_offset, end, now);
            let outside = matches!(p.role(), Role::Leader { isr, .. } if !isr.contains(&follower));
            (outside, start_moved)
        });
        if start_moved {
            // A DeleteRecords may be waiting for the ISR's log starts.
            leading.hosted.replica.changed();
        }
        if outside_isr {
            self.isr_check.notify_one();
        }
    }

    /// A stream of the changes of `partitions` (those this broker hosts) and of role changes.
    /// Subscribe before reading, so that a change during the read is not missed.
    pub fn changes<'a>(&self, partitions: impl IntoIterator<Item = &'a TopicPartition>) -> Changes {
        let mut changes = StreamMap::new();
        changes.insert(
            0,
            WatchStream::from_changes(self.partitions.subscribe_roles()),
        );
        for tp in partitions {
            if let Some(hosted) = self.partitions.get_hosted(tp) {
                let key = changes.len();
                changes.insert(
                    key,
                    WatchStream::from_changes(hosted.replica.subscribe_changes()),
                );
            }
        }
        changes
    }

    /// The offset `query` names in `tp`, with its timestamp (-1 when it has none) and the
    /// leader epoch; `None` when no record is that late.
    pub fn offset_for(
        &self,
        tp: &TopicPartition,
        current_leader_epoch: i32,
        query: OffsetQuery,
        isolation: Isolation,
    ) -> Result<(Option<(i64, i64)>, i32)> {
        let leading = self.leader(tp)?;
        // Consumers see up to the high watermark (read_committed ones, the last stable
        // offset): "latest" is that, not the log end.
        let hw = match isolation {
            Isolation::ReadUncommitted => leading.high_watermark(),
            Isolation::ReadCommitted => leading.hosted.last_stable_offset(leading.high_watermark()),
        };
        super::check_epoch(current_leader_epoch, leading.epoch)?;
        let log = leading.log();
        let found = match query {
            OffsetQuery::Latest => Some((hw, -1)),
            OffsetQuery::Earliest => Some((self.log_start_over_tiers(&leading.hosted, tp), -1)),
            OffsetQuery::EarliestLocal => Some((log.start_offset(), -1)),
            OffsetQuery::LatestTiered => {
                let copies = self.remote_copies(&leading.hosted, tp);
                let last = copies.iter().map(|c| c.next_offset - 1).max();
                Some((last.unwrap_or(-1), -1))
            }
            OffsetQuery::Timestamp(ts) if ts < 0 => {
                return Err(PartitionError::InvalidTimestamp(ts));
            }
            OffsetQuery::Timestamp(ts) => by_timestamp(tp, log, ts, hw)?,
            OffsetQuery::MaxTimestamp => match log.max_timestamp() {
                -1 => None,
                max => by_timestamp(tp, log, max, hw)?,
            },
        };
        Ok((found, leading.epoch))
    }
}

impl PartitionLayer {
    /// DescribeProducers: the producers `tp`'s leader (this broker) knows.
    pub fn producers_of(&self, tp: &TopicPartition) -> Result<Vec<ProducerSummary>> {
        let leading = self.leader(tp)?;
        Ok(leading.hosted.producers().summaries())
    }
}

impl Leading {
    /// Where `requested` ended in this leader's log, per its leader-epoch checkpoint (Kafka's
    /// OffsetForLeaderEpoch answer, see [`divergence::epoch_end`]); `None` when undefined (a
    /// future epoch, or an empty log).
    pub fn epoch_end(&self, requested: i32) -> Option<(i32, i64)> {
        let log = self.log();
        let first_start = log.epochs().first().map(|e| e.start_offset);
        let end = divergence::epoch_end(
            requested,
            self.epoch,
            log.end_offset(),
            log.end_offset_for_epoch(requested),
            first_start,
        );
        (end != divergence::UNDEFINED).then_some(end)
    }
}

/// The first record at or after `target` inside the batch the time index found (which starts
/// at `offset` and ends at `max_ts`); the batch itself when its records cannot be read here.
/// The first record with a timestamp at or after `ts`, and its timestamp; as in Kafka, a
/// record at or above the high watermark (not readable yet) is no answer.
fn by_timestamp(
    tp: &TopicPartition,
    log: &PartitionLog,
    ts: i64,
    hw: i64,
) -> Result<Option<(i64, i64)>> {
    match log.offset_for_timestamp(ts) {
        Ok(hit) => Ok(hit
            .map(|h| refine_to_record(log, h.offset, h.timestamp, ts))
            .filter(|&(offset, _)| offset < hw)),
        Err(e) => {
            tracing::error!(partition = %tp, error = %e, "timestamp lookup failed");
            Err(PartitionError::Storage(tp.clone()))
        }
    }
}

fn refine_to_record(log: &PartitionLog, offset: i64, max_ts: i64, target: i64) -> (i64, i64) {
    let read = log.read_bounded(offset, 1, log.end_offset());
    read.ok()
        .and_then(|r| chronik_records::first_record_at_or_after(&r.data, target))
        .unwrap_or((offset, max_ts))
}

/// A fetch waiting for data, counted in `chronik_broker_fetches_parked{kind}` for as long as
/// it waits (Kafka's fetch purgatory size).
pub(crate) struct Parked(&'static str);

impl Parked {
    pub fn new(reader: Reader) -> Self {
        let kind = match reader {
            Reader::Follower(_) => "follower",
            Reader::Consumer => "consumer",
        };
        metrics::gauge!("chronik_broker_fetches_parked", "kind" => kind).increment(1.0);
        Parked(kind)
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        metrics::gauge!("chronik_broker_fetches_parked", "kind" => self.0).decrement(1.0);
    }
}
