//! Loading a `__consumer_offsets` partition: its records replayed into groups (classic and
//! consumer protocol) and committed offsets, the last record of each key winning.

use std::collections::HashMap;

use chronik_wal::PartitionLog;

use super::consumer::{ConsumerConfig, ConsumerGroup};
use super::group::Group;
use super::member::Ms;
use super::records::{GroupValue, OffsetValue, RecordKey};
use super::store;

/// Replays a partition's log into groups; the last record of each key wins.
pub(super) fn load_groups(
    log: &PartitionLog,
    now: Ms,
    config: &ConsumerConfig,
) -> Result<(HashMap<String, Group>, i64), chronik_wal::WalError> {
    let mut groups: HashMap<String, Group> = HashMap::new();
    let (open, read_to) = store::read_all(log, |key, value| match key {
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
                // The later record decides the protocol: a classic record ends a consumer group.
                g.consumer = None;
                g.apply_value(v, now);
            }
            Some(Err(e)) => tracing::warn!(group, error = %e, "skipping a damaged group record"),
            None => {
                if groups.get(&group).is_some_and(|g| g.consumer.is_none()) {
                    groups.remove(&group);
                }
            }
        },
        RecordKey::ConsumerGroup { kind, group } => {
            let cg = consumer_entry(&mut groups, &group);
            if let Err(e) = cg.replay_group(kind, value.as_deref()) {
                tracing::warn!(group, error = %e, "skipping a damaged consumer group record");
            }
        }
        RecordKey::ConsumerMember {
            kind,
            group,
            member,
        } => {
            let cg = consumer_entry(&mut groups, &group);
            if let Err(e) = cg.replay_member(kind, &member, value.as_deref()) {
                tracing::warn!(group, member, error = %e, "skipping a damaged consumer member record");
            }
        }
    })?;
    for (producer_id, records) in open {
        for (key, value) in records {
            let RecordKey::Offset {
                group,
                topic,
                partition,
            } = key
            else {
                continue;
            };
            if let Some(Ok(v)) = value.map(|v| OffsetValue::decode(&v)) {
                let g = groups
                    .entry(group.clone())
                    .or_insert_with(|| Group::new(&group));
                let pending = g.txn_offsets.entry(producer_id).or_default();
                pending.insert((topic, partition), v);
            }
        }
    }
    for g in groups.values_mut() {
        if let Some(cg) = g.consumer.as_mut() {
            cg.rebuild_owners();
            cg.restart_sessions(now, config);
        }
    }
    groups.retain(|_, g| !(g.is_empty() && g.offsets.is_empty() && g.txn_offsets.is_empty()));
    Ok((groups, read_to))
}

/// The consumer group `group` while loading, made one if it was classic (the later record
/// decides the protocol).
fn consumer_entry<'a>(
    groups: &'a mut HashMap<String, Group>,
    group: &str,
) -> &'a mut ConsumerGroup {
    let g = groups
        .entry(group.to_owned())
        .or_insert_with(|| Group::new(group));
    if g.consumer.is_none() {
        let offsets = std::mem::take(&mut g.offsets);
        let txn_offsets = std::mem::take(&mut g.txn_offsets);
        *g = Group::new(group);
        g.offsets = offsets;
        g.txn_offsets = txn_offsets;
    }
    g.consumer.get_or_insert_with(ConsumerGroup::default)
}
