//! The group coordinator: the groups of every `__consumer_offsets` partition this broker
//! leads, their loading, persistence, and the reaper that moves time forward.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_wal::{Durable, PartitionLog};
use tokio::task::JoinHandle;

use super::group::Group;
use super::member::{GroupState, Ms};
use super::records::{GroupValue, OffsetValue, RecordKey};
use super::store::{self, KeyValue};
use super::{OFFSETS_PARTITIONS, OFFSETS_TOPIC, partition_for};
use crate::cluster::Cluster;
use crate::partitions::Partitions;

/// How often sessions and rebalance deadlines are checked: the granularity of every timeout.
const TICK: Duration = Duration::from_millis(100);

/// The groups of one `__consumer_offsets` partition.
pub(crate) enum Shard {
    Loading,
    Loaded {
        epoch: i32,
        groups: HashMap<String, Group>,
    },
}

/// Where a group's records go: its partition's log and the leader epoch to write with.
pub(crate) struct Place {
    pub log: Arc<PartitionLog>,
    pub epoch: i32,
    pub now: Ms,
}

pub(crate) struct Coordinator {
    pub(super) cluster: Arc<Cluster>,
    pub(super) partitions: Arc<Partitions>,
    shards: Mutex<HashMap<i32, Shard>>,
    clock: Instant,
    pub(super) max_record_bytes: usize,
}

/// Milliseconds since the Unix epoch (commit and state timestamps).
pub(crate) fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Coordinator {
    pub fn new(
        cluster: Arc<Cluster>,
        partitions: Arc<Partitions>,
        max_record_bytes: usize,
    ) -> Coordinator {
        Coordinator {
            cluster,
            partitions,
            shards: Mutex::new(HashMap::new()),
            clock: Instant::now(),
            max_record_bytes,
        }
    }

    pub(super) fn now(&self) -> Ms {
        u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(super) fn shards(&self) -> MutexGuard<'_, HashMap<i32, Shard>> {
        self.shards.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The log and leader epoch of `partition` if this broker leads it, else the error for
    /// group requests (NOT_COORDINATOR, or COORDINATOR_NOT_AVAILABLE before the topic exists).
    fn led(&self, partition: i32) -> Result<(Arc<PartitionLog>, i32), i16> {
        let found = self.cluster.metadata(|s| {
            let p = s.topic_by_name(OFFSETS_TOPIC)?.partition(partition)?;
            Some((p.leader, p.leader_epoch))
        });
        let Some((leader, epoch)) = found else {
            return Err(ResponseError::CoordinatorNotAvailable.code());
        };
        if leader != self.cluster.me {
            return Err(ResponseError::NotCoordinator.code());
        }
        match self.partitions.get(&offsets_tp(partition)) {
            Some(log) => Ok((log, epoch)),
            None => Err(ResponseError::CoordinatorLoadInProgress.code()),
        }
    }

    /// Runs `f` on the groups of `group`'s partition once it is led here and loaded; starts
    /// loading it on first use or after a leader epoch change.
    pub(super) fn with_groups<R>(
        self: &Arc<Self>,
        group: &str,
        f: impl FnOnce(&mut HashMap<String, Group>, &Place) -> R,
    ) -> Result<R, i16> {
        let partition = partition_for(group);
        let led = self.led(partition);
        let mut shards = self.shards();
        let (log, epoch) = match led {
            Ok(found) => found,
            Err(code) => {
                if code == ResponseError::NotCoordinator.code() {
                    unload(&mut shards, partition);
                }
                return Err(code);
            }
        };
        match shards.get_mut(&partition) {
            Some(Shard::Loaded { epoch: e, groups }) if *e == epoch => {
                let place = Place {
                    log,
                    epoch,
                    now: self.now(),
                };
                Ok(f(groups, &place))
            }
            Some(Shard::Loading) => Err(ResponseError::CoordinatorLoadInProgress.code()),
            _ => {
                unload(&mut shards, partition);
                shards.insert(partition, Shard::Loading);
                drop(shards);
                self.spawn_load(partition, log, epoch);
                Err(ResponseError::CoordinatorLoadInProgress.code())
            }
        }
    }

    /// Rebuilds a partition's groups and offsets from its log off the async threads.
    fn spawn_load(self: &Arc<Self>, partition: i32, log: Arc<PartitionLog>, epoch: i32) {
        let this = self.clone();
        tokio::spawn(async move {
            let started = this.now();
            let reader = log.clone();
            let now = started;
            let loaded = tokio::task::spawn_blocking(move || load_groups(&reader, now)).await;
            let mut shards = this.shards();
            if !matches!(shards.get(&partition), Some(Shard::Loading)) {
                return;
            }
            match loaded {
                Ok(Ok(groups)) => {
                    tracing::info!(
                        partition,
                        epoch,
                        groups = groups.len(),
                        ms = this.now().saturating_sub(started),
                        "group partition loaded"
                    );
                    shards.insert(partition, Shard::Loaded { epoch, groups });
                }
                Ok(Err(e)) => {
                    tracing::error!(partition, error = %e, "cannot load group partition");
                    shards.remove(&partition);
                }
                Err(e) => {
                    tracing::error!(partition, error = %e, "group partition load task failed");
                    shards.remove(&partition);
                }
            }
        });
    }

    /// Appends records for a group's partition; the error code when it cannot.
    pub(super) fn append(&self, place: &Place, records: &[KeyValue]) -> Result<Durable, i16> {
        let durable = store::append(
            &place.log,
            place.epoch,
            records,
            wall_ms(),
            self.max_record_bytes,
        );
        match durable {
            Ok(d) => {
                self.partitions.appended();
                Ok(d)
            }
            Err(e) => {
                tracing::error!(log = place.log.name(), error = %e, "group record append failed");
                Err(ResponseError::KafkaStorageError.code())
            }
        }
    }

    /// Writes a group's membership record if it changed.
    pub(super) fn persist_if_dirty(&self, group: &mut Group, place: &Place) -> Option<Durable> {
        if !std::mem::take(&mut group.dirty) {
            return None;
        }
        if group.state == GroupState::Empty {
            tracing::info!(group = %group.id, generation = group.generation, "group is empty");
        }
        let key = RecordKey::Group {
            group: group.id.clone(),
        };
        let value = group.to_value(wall_ms()).encode();
        self.append(place, &[(key.encode(), Some(value))]).ok()
    }

    /// Every loaded group's partition, for ListGroups: `Err` while any led partition loads.
    pub(super) fn all_groups<R>(
        self: &Arc<Self>,
        mut f: impl FnMut(&Group) -> Option<R>,
    ) -> Result<Vec<R>, i16> {
        let mut out = Vec::new();
        for partition in 0..OFFSETS_PARTITIONS {
            let Ok((log, epoch)) = self.led(partition) else {
                continue;
            };
            let mut shards = self.shards();
            match shards.get(&partition) {
                Some(Shard::Loaded { epoch: e, groups }) if *e == epoch => {
                    out.extend(groups.values().filter_map(&mut f));
                }
                Some(Shard::Loading) => return Err(ResponseError::CoordinatorLoadInProgress.code()),
                _ => {
                    shards.insert(partition, Shard::Loading);
                    drop(shards);
                    self.spawn_load(partition, log, epoch);
                    return Err(ResponseError::CoordinatorLoadInProgress.code());
                }
            }
        }
        Ok(out)
    }

    /// Groups held across every loaded partition (the bound on their number).
    pub(super) fn group_count(&self) -> usize {
        (self.shards().values())
            .map(|s| match s {
                Shard::Loaded { groups, .. } => groups.len(),
                Shard::Loading => 0,
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
                    this.cluster.reconcile(&this.partitions);
                    continue;
                }
                this.reap();
            }
        })
    }

    /// One reaper pass over every partition.
    fn reap(self: &Arc<Self>) {
        for partition in 0..OFFSETS_PARTITIONS {
            let led = self.led(partition);
            let mut shards = self.shards();
            match (led, shards.get_mut(&partition)) {
                (Ok((log, epoch)), Some(Shard::Loaded { epoch: e, groups })) if *e == epoch => {
                    let place = Place {
                        log,
                        epoch,
                        now: self.now(),
                    };
                    self.tick_groups(groups, &place);
                }
                (Ok(_), Some(Shard::Loading)) => {}
                (Ok((log, epoch)), _) => {
                    unload(&mut shards, partition);
                    shards.insert(partition, Shard::Loading);
                    drop(shards);
                    self.spawn_load(partition, log, epoch);
                }
                (Err(_), Some(_)) => unload(&mut shards, partition),
                (Err(_), None) => {}
            }
        }
    }

    fn tick_groups(&self, groups: &mut HashMap<String, Group>, place: &Place) {
        let mut forgotten = Vec::new();
        for group in groups.values_mut() {
            group.tick(place.now);
            self.persist_if_dirty(group, place);
            if group.state == GroupState::Empty
                && group.offsets.is_empty()
                && group.pending.is_empty()
            {
                forgotten.push(group.id.clone());
            }
        }
        for id in forgotten {
            // Nothing left to remember: a tombstone keeps a reload from bringing it back.
            let key = RecordKey::Group { group: id.clone() }.encode();
            if self.append(place, &[(key, None)]).is_ok() {
                groups.remove(&id);
                tracing::info!(group = %id, "empty group without offsets removed");
            }
        }
    }
}

pub(crate) fn offsets_tp(partition: i32) -> chronik_types::TopicPartition {
    chronik_types::TopicPartition::new(OFFSETS_TOPIC, partition)
}

/// Forgets a partition's groups (leadership moved): held answers get NOT_COORDINATOR.
fn unload(shards: &mut HashMap<i32, Shard>, partition: i32) {
    if let Some(Shard::Loaded { mut groups, .. }) = shards.remove(&partition) {
        for g in groups.values_mut() {
            g.fail_all(ResponseError::NotCoordinator.code());
        }
        tracing::info!(partition, groups = groups.len(), "group partition unloaded");
    }
}

/// Replays a partition's log into groups; the last record of each key wins.
fn load_groups(
    log: &PartitionLog,
    now: Ms,
) -> Result<HashMap<String, Group>, chronik_wal::WalError> {
    let mut groups: HashMap<String, Group> = HashMap::new();
    store::read_all(log, |key, value| match key {
        RecordKey::Offset {
            group,
            topic,
            partition,
        } => match value.map(|v| OffsetValue::decode(&v)) {
            Some(Ok(v)) => {
                let g = groups
                    .entry(group.clone())
                    .or_insert_with(|| Group::new(&group));
                g.offsets.insert((topic, partition), v);
            }
            Some(Err(e)) => tracing::warn!(group, error = %e, "skipping a damaged offset record"),
            None => {
                if let Some(g) = groups.get_mut(&group) {
                    g.offsets.remove(&(topic, partition));
                }
            }
        },
        RecordKey::Group { group } => match value.map(|v| GroupValue::decode(&v)) {
            Some(Ok(v)) => {
                let g = groups
                    .entry(group.clone())
                    .or_insert_with(|| Group::new(&group));
                g.apply_value(v, now);
            }
            Some(Err(e)) => tracing::warn!(group, error = %e, "skipping a damaged group record"),
            None => {
                groups.remove(&group);
            }
        },
    })?;
    groups.retain(|_, g| !(g.is_empty() && g.offsets.is_empty()));
    Ok(groups)
}
