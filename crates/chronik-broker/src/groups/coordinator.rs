//! The group coordinator: the groups of every `__consumer_offsets` partition this broker
//! leads, their loading, persistence, and the reaper that moves time forward.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::wall_clock::wall_ms;

use chronik_wal::PartitionLog;
use tokio::task::JoinHandle;

use super::consumer::ConsumerConfig;
use super::error::GroupError;
use super::group::Group;
use super::member::{GroupState, Ms};
use super::records::RecordKey;
use super::store::{self, KeyValue, Written};
use super::{OFFSETS_PARTITIONS, OFFSETS_TOPIC, offsets_partitions, partition_for};
use crate::cluster::Cluster;
use crate::partitions::{Hosted, Partitions};

/// How often sessions and rebalance deadlines are checked: the granularity of every timeout.
const TICK: Duration = Duration::from_millis(100);

/// After a failed membership append, the next attempt waits this long (ms).
const PERSIST_RETRY_MS: Ms = 1_000;

/// How often a partition's empty groups are checked for expired offsets (ms).
const EXPIRY_INTERVAL_MS: Ms = 1_000;

/// The groups of one `__consumer_offsets` partition.
pub(crate) enum Shard {
    Unloaded,
    /// Being read from the log for this leader epoch.
    Loading {
        epoch: i32,
        /// Transaction markers written meanwhile (offset, producer id, commit): those past what
        /// the load read are applied when it ends.
        markers: Vec<(i64, i64, bool)>,
    },
    Loaded {
        epoch: i32,
        groups: HashMap<String, Group>,
        /// When the reaper next looks for expired offsets.
        next_expiry: Ms,
    },
}

/// One partition's shard behind its own lock: appends for one partition never wait for
/// another's.
type Slot = Arc<Mutex<Shard>>;

/// Where a group's records go: its partition (led here) and the leader epoch to write with.
pub(crate) struct Place {
    pub hosted: Arc<Hosted>,
    pub epoch: i32,
    pub now: Ms,
}

pub(crate) struct Coordinator {
    pub(super) cluster: Arc<Cluster>,
    pub(super) partitions: Arc<Partitions>,
    /// Partition → its slot. This lock is held only to find or add a slot, never across I/O.
    slots: Mutex<HashMap<i32, Slot>>,
    clock: Instant,
    pub(super) max_record_bytes: usize,
    /// Kafka's `offsets.retention.minutes`, in ms: offsets of an Empty group expire this long
    /// after the group became Empty (or after the commit, if later).
    pub(super) offsets_retention_ms: i64,
    /// Kafka's `group.initial.rebalance.delay.ms`, given to each group a join reaches.
    pub(super) initial_rebalance_delay_ms: Ms,
    /// Kafka's `group.consumer.*` settings for consumer-protocol groups.
    pub(super) consumer: ConsumerConfig,
}

pub(super) fn lock(slot: &Slot) -> MutexGuard<'_, Shard> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

impl Coordinator {
    pub fn new(
        cluster: Arc<Cluster>,
        partitions: Arc<Partitions>,
        max_record_bytes: usize,
        offsets_retention: Duration,
        initial_rebalance_delay: Duration,
        consumer: ConsumerConfig,
    ) -> Coordinator {
        Coordinator {
            cluster,
            partitions,
            slots: Mutex::new(HashMap::new()),
            clock: Instant::now(),
            max_record_bytes,
            offsets_retention_ms: i64::try_from(offsets_retention.as_millis()).unwrap_or(i64::MAX),
            initial_rebalance_delay_ms: Ms::try_from(initial_rebalance_delay.as_millis())
                .unwrap_or(Ms::MAX),
            consumer,
        }
    }

    pub(super) fn now(&self) -> Ms {
        u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(super) fn slot(&self, partition: i32) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        (slots.entry(partition))
            .or_insert_with(|| Arc::new(Mutex::new(Shard::Unloaded)))
            .clone()
    }

    /// The partition count of `__consumer_offsets`, if it exists.
    fn partition_count(&self) -> Option<i32> {
        self.cluster.metadata(offsets_partitions)
    }

    /// The partition and leader epoch of `partition` if this broker leads it, else why group
    /// requests are refused (another leader, no topic yet, or the log has not taken up the
    /// leadership yet).
    fn led(&self, partition: i32) -> Result<(Arc<Hosted>, i32), GroupError> {
        let found = self.cluster.metadata(|s| {
            let p = s.topic_by_name(OFFSETS_TOPIC)?.partition(partition)?;
            Some((p.leader, p.leader_epoch))
        });
        let Some((leader, epoch)) = found else {
            return Err(GroupError::NoOffsetsTopic);
        };
        if leader != self.cluster.me {
            return Err(GroupError::NotCoordinator { partition });
        }
        match self.partitions.get_hosted(&offsets_tp(partition)) {
            Some(h) if h.replica.leader_epoch() == Some(epoch) => Ok((h, epoch)),
            _ => Err(GroupError::LoadInProgress { partition }),
        }
    }

    /// Runs `f` on the groups of `group`'s partition once it is led here and loaded; starts
    /// loading it on first use or after a leader epoch change.
    pub(super) fn with_groups<R>(
        self: &Arc<Self>,
        group: &str,
        f: impl FnOnce(&mut HashMap<String, Group>, &Place) -> R,
    ) -> Result<R, GroupError> {
        let Some(count) = self.partition_count() else {
            return Err(GroupError::NoOffsetsTopic);
        };
        let partition = partition_for(group, count);
        let led = self.led(partition);
        let slot = self.slot(partition);
        let mut shard = lock(&slot);
        let (hosted, epoch) = match led {
            Ok(found) => found,
            Err(e) => {
                if matches!(e, GroupError::NotCoordinator { .. }) {
                    unload(&mut shard, partition);
                }
                return Err(e);
            }
        };
        match &mut *shard {
            Shard::Loaded {
                epoch: e, groups, ..
            } if *e == epoch => {
                let place = Place {
                    hosted,
                    epoch,
                    now: self.now(),
                };
                Ok(f(groups, &place))
            }
            Shard::Loading { epoch: e, .. } if *e == epoch => {
                Err(GroupError::LoadInProgress { partition })
            }
            _ => {
                let log = hosted.log.clone();
                self.start_load(shard, partition, &slot, log, epoch);
                Err(GroupError::LoadInProgress { partition })
            }
        }
    }

    /// Forgets what the shard held and loads it again for `epoch`.
    fn start_load(
        self: &Arc<Self>,
        mut shard: MutexGuard<'_, Shard>,
        partition: i32,
        slot: &Slot,
        log: Arc<PartitionLog>,
        epoch: i32,
    ) {
        unload(&mut shard, partition);
        *shard = Shard::Loading {
            epoch,
            markers: Vec::new(),
        };
        drop(shard);
        self.spawn_load(partition, slot.clone(), log, epoch);
    }

    /// Rebuilds a partition's groups and offsets from its log off the async threads.
    fn spawn_load(
        self: &Arc<Self>,
        partition: i32,
        slot: Slot,
        log: Arc<PartitionLog>,
        epoch: i32,
    ) {
        let this = self.clone();
        tokio::spawn(async move {
            let started = this.now();
            let reader = log.clone();
            let now = started;
            let config = this.consumer.clone();
            let loaded = tokio::task::spawn_blocking(move || {
                super::load::load_groups(&reader, now, &config)
            })
            .await;
            let mut shard = lock(&slot);
            let markers = match &mut *shard {
                Shard::Loading { epoch: e, markers } if *e == epoch => std::mem::take(markers),
                _ => return,
            };
            match loaded {
                Ok(Ok((mut groups, read_to))) => {
                    for &(_, producer_id, commit) in markers.iter().filter(|m| m.0 >= read_to) {
                        for g in groups.values_mut() {
                            g.end_txn(producer_id, commit);
                        }
                    }
                    tracing::info!(
                        partition,
                        epoch,
                        groups = groups.len(),
                        ms = this.now().saturating_sub(started),
                        "group partition loaded"
                    );
                    *shard = Shard::Loaded {
                        epoch,
                        groups,
                        next_expiry: 0,
                    };
                }
                Ok(Err(e)) => {
                    tracing::error!(partition, error = %e, "cannot load group partition");
                    *shard = Shard::Unloaded;
                }
                Err(e) => {
                    tracing::error!(partition, error = %e, "group partition load task failed");
                    *shard = Shard::Unloaded;
                }
            }
        });
    }

    /// Appends records for a group's partition.
    pub(super) fn append(
        &self,
        place: &Place,
        records: &[KeyValue],
    ) -> Result<Written, GroupError> {
        self.append_batch(place, records, None)
    }

    /// [`Coordinator::append`], as a transactional batch of `producer` (id, epoch) when given:
    /// its transaction opens in the partition's producer state, as a produce would open it.
    pub(super) fn append_batch(
        &self,
        place: &Place,
        records: &[KeyValue],
        producer: Option<(i64, i16)>,
    ) -> Result<Written, GroupError> {
        let log = &place.hosted.log;
        let mut producers = place.hosted.producers();
        if let Some((id, epoch)) = producer {
            producers
                .check_marker(id, epoch, -1)
                .map_err(|_| GroupError::FencedProducer)?;
        }
        let (timestamp, max) = (wall_ms(), self.max_record_bytes);
        let appended = store::append_batch(log, place.epoch, records, timestamp, max, producer);
        if let (Ok(info), Some((id, epoch))) = (&appended, producer) {
            let fields = chronik_records::ProducerFields {
                producer_id: id,
                epoch,
                first_seq: -1,
                last_seq: -1,
            };
            producers.record(&fields, (info.base_offset, info.base_offset), timestamp);
            producers.txn_written(id, info.base_offset);
        }
        drop(producers);
        match appended {
            Ok(info) => {
                let end = log.end_offset();
                place.hosted.replica.update(|p| p.advance(end));
                place.hosted.replica.changed();
                Ok(Written {
                    durable: info.durable,
                    marks: place.hosted.replica.subscribe(),
                    base_offset: info.base_offset,
                    epoch: place.epoch,
                })
            }
            Err(e) => {
                tracing::error!(log = log.name(), error = %e, "group record append failed");
                Err(GroupError::Storage(e.to_string()))
            }
        }
    }

    /// Writes a group's membership record if it changed. A failed write keeps the group dirty
    /// and is retried by the reaper after [`PERSIST_RETRY_MS`].
    pub(super) fn persist_if_dirty(&self, group: &mut Group, place: &Place) -> Option<Written> {
        if !group.dirty || place.now < group.persist_after {
            return None;
        }
        let timestamp = wall_ms();
        let key = RecordKey::Group {
            group: group.id.clone(),
        };
        let encoded = (key.encode()).and_then(|k| Ok((k, group.to_value(timestamp).encode()?)));
        let written = match encoded {
            Ok((key, value)) => self.append(place, &[(key, Some(value))]).ok(),
            Err(e) => {
                tracing::error!(group = %group.id, error = %e, "cannot encode the group record");
                None
            }
        };
        match written {
            Some(durable) => {
                group.dirty = false;
                group.state_timestamp = Some(timestamp);
                if group.state == GroupState::Empty {
                    tracing::info!(group = %group.id, generation = group.generation, "group is empty");
                }
                Some(durable)
            }
            None => {
                group.persist_after = place.now.saturating_add(PERSIST_RETRY_MS);
                tracing::warn!(group = %group.id, "group record not written; will retry");
                None
            }
        }
    }

    /// Every loaded group's partition, for ListGroups: `Err` while any led partition loads.
    pub(super) fn all_groups<R>(
        self: &Arc<Self>,
        mut f: impl FnMut(&Group) -> Option<R>,
    ) -> Result<Vec<R>, GroupError> {
        let mut out = Vec::new();
        for partition in 0..self.partition_count().unwrap_or(0) {
            let Ok((hosted, epoch)) = self.led(partition) else {
                continue;
            };
            let slot = self.slot(partition);
            let shard = lock(&slot);
            match &*shard {
                Shard::Loaded {
                    epoch: e, groups, ..
                } if *e == epoch => {
                    out.extend(groups.values().filter_map(&mut f));
                }
                Shard::Loading { epoch: e, .. } if *e == epoch => {
                    return Err(GroupError::LoadInProgress { partition });
                }
                _ => {
                    let log = hosted.log.clone();
                    self.start_load(shard, partition, &slot, log, epoch);
                    return Err(GroupError::LoadInProgress { partition });
                }
            }
        }
        Ok(out)
    }

    /// Up to `limit` committed offsets of loaded groups: (group, topic, partition, offset).
    pub(crate) fn committed_offsets(&self, limit: usize) -> Vec<(String, String, i32, i64)> {
        let slots: Vec<Slot> = (self.slots.lock().unwrap_or_else(|p| p.into_inner()))
            .values()
            .cloned()
            .collect();
        let mut out = Vec::new();
        for slot in slots {
            if let Shard::Loaded { groups, .. } = &*lock(&slot) {
                for g in groups.values() {
                    for ((topic, partition), v) in &g.offsets {
                        if out.len() >= limit {
                            return out;
                        }
                        out.push((g.id.clone(), topic.clone(), *partition, v.offset));
                    }
                }
            }
        }
        out
    }

    /// Groups held across every loaded partition (the bound on their number).
    pub(crate) fn group_count(&self) -> usize {
        let slots: Vec<Slot> = (self.slots.lock().unwrap_or_else(|p| p.into_inner()))
            .values()
            .cloned()
            .collect();
        (slots.iter())
            .map(|slot| match &*lock(slot) {
                Shard::Loaded { groups, .. } => groups.len(),
                Shard::Loading { .. } | Shard::Unloaded => 0,
            })
            .sum()
    }

    /// Creates the offsets topic, loads led partitions, expires sessions and rebalances.
    pub fn spawn_reaper(self: &Arc<Self>) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(TICK);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if !this.cluster.offsets_topic_exists() {
                    if let Err(e) = this.cluster.create_offsets_topic(OFFSETS_PARTITIONS).await {
                        tracing::debug!(error = %e, "cannot create {OFFSETS_TOPIC} yet");
                    }
                    let (cluster, partitions) = (this.cluster.clone(), this.partitions.clone());
                    if let Err(e) =
                        tokio::task::spawn_blocking(move || cluster.reconcile(&partitions)).await
                    {
                        tracing::error!(error = %e, "reconciling the offsets topic failed");
                    }
                    continue;
                }
                this.reap();
            }
        })
    }

    /// One reaper pass over every partition, each under its own lock in turn.
    fn reap(self: &Arc<Self>) {
        for partition in 0..self.partition_count().unwrap_or(0) {
            let led = self.led(partition);
            let slot = self.slot(partition);
            let mut shard = lock(&slot);
            match (led, &mut *shard) {
                (
                    Ok((hosted, epoch)),
                    Shard::Loaded {
                        epoch: e,
                        groups,
                        next_expiry,
                    },
                ) if *e == epoch => {
                    let place = Place {
                        hosted,
                        epoch,
                        now: self.now(),
                    };
                    self.tick_groups(groups, &place);
                    if place.now >= *next_expiry {
                        *next_expiry = place.now + EXPIRY_INTERVAL_MS;
                        self.expire(groups, &place, wall_ms());
                    }
                }
                (Ok((_, epoch)), Shard::Loading { epoch: e, .. }) if *e == epoch => {}
                (Ok((hosted, epoch)), _) => {
                    let log = hosted.log.clone();
                    self.start_load(shard, partition, &slot, log, epoch)
                }
                (Err(_), _) => unload(&mut shard, partition),
            }
        }
    }

    fn tick_groups(&self, groups: &mut HashMap<String, Group>, place: &Place) {
        for group in groups.values_mut() {
            group.tick(place.now);
            self.persist_if_dirty(group, place);
        }
        self.tick_consumer_groups(groups, place);
    }
}

pub(crate) fn offsets_tp(partition: i32) -> chronik_types::TopicPartition {
    chronik_types::TopicPartition::new(OFFSETS_TOPIC, partition)
}

/// Forgets a partition's groups (leadership moved): held answers are told to find the new
/// coordinator.
fn unload(shard: &mut Shard, partition: i32) {
    if let Shard::Loaded { mut groups, .. } = std::mem::replace(shard, Shard::Unloaded) {
        let moved = GroupError::NotCoordinator { partition };
        for g in groups.values_mut() {
            g.fail_all(&moved);
        }
        tracing::info!(partition, groups = groups.len(), "group partition unloaded");
    }
}
