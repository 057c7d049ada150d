//! Offsets retention (Kafka's `offsets.retention.minutes`): the committed offsets of an Empty
//! group expire once the retention has passed since the group became Empty (and since the
//! commit, so offsets just reset by a tool are kept); a group left with no members, offsets or
//! pending member ids is dropped. Both are written as tombstones, so a reload agrees.

use std::collections::HashMap;

use super::coordinator::{Coordinator, Place};
use super::group::{Group, OffsetKey};
use super::member::GroupState;
use super::records::RecordKey;
use super::store::KeyValue;

/// Tombstones in one expiry batch at most (the rest go in later passes), so the batch stays
/// far below the record size limit whatever a group holds.
pub(crate) const MAX_TOMBSTONES: usize = 1_000;

impl Group {
    /// Up to `limit` offsets that have expired at wall-clock `now` (ms): none unless the group
    /// is Empty with no member id pending.
    pub fn expired_offsets(&self, now: i64, retention_ms: i64, limit: usize) -> Vec<OffsetKey> {
        if let Some(cg) = &self.consumer {
            // A consumer-protocol group's offsets of topics no member subscribes to expire by
            // their commit time (Kafka's rule for these groups).
            let subscribed = cg.subscribed_topics();
            return (self.offsets.iter())
                .filter(|((topic, _), v)| {
                    !subscribed.contains(topic)
                        && now.saturating_sub(v.commit_timestamp) >= retention_ms
                })
                .map(|(k, _)| k.clone())
                .take(limit)
                .collect();
        }
        if self.state != GroupState::Empty || !self.pending.is_empty() {
            return Vec::new();
        }
        let empty_since = self.state_timestamp.unwrap_or(i64::MIN);
        (self.offsets.iter())
            .filter(|(_, v)| {
                now.saturating_sub(v.commit_timestamp.max(empty_since)) >= retention_ms
            })
            .map(|(k, _)| k.clone())
            .take(limit)
            .collect()
    }

    /// Whether nothing is left to remember once `expiring` offsets are gone.
    fn forgettable_after(&self, expiring: usize) -> bool {
        self.is_empty()
            && self.state == GroupState::Empty
            && self.pending.is_empty()
            && !self.dirty
            && expiring == self.offsets.len()
            && self.txn_offsets.is_empty()
    }
}

impl Coordinator {
    /// Writes tombstones for expired offsets and for groups with nothing left; `now` is the
    /// wall clock in ms.
    pub(super) fn expire(&self, groups: &mut HashMap<String, Group>, place: &Place, now: i64) {
        let mut forgotten = Vec::new();
        for group in groups.values_mut() {
            if group.dirty {
                // Its membership record goes first; expiry waits for the next pass.
                continue;
            }
            let expired = group.expired_offsets(now, self.offsets_retention_ms, MAX_TOMBSTONES);
            let forget = group.forgettable_after(expired.len());
            if expired.is_empty() && !forget {
                continue;
            }
            let mut keys: Vec<RecordKey> = (expired.iter())
                .map(|(topic, partition)| RecordKey::Offset {
                    group: group.id.clone(),
                    topic: topic.clone(),
                    partition: *partition,
                })
                .collect();
            if forget && group.consumer.is_none() {
                keys.push(RecordKey::Group {
                    group: group.id.clone(),
                });
            }
            let mut records: Result<Vec<KeyValue>, _> =
                keys.iter().map(|k| k.encode().map(|b| (b, None))).collect();
            if let (true, Some(cg), Ok(r)) = (forget, &group.consumer, &mut records) {
                match super::consumer::store::tombstones(&group.id, cg) {
                    Ok(t) => r.extend(t),
                    Err(e) => records = Err(e),
                }
            }
            let records = match records {
                Ok(records) => records,
                Err(e) => {
                    tracing::error!(group = %group.id, error = %e, "cannot encode tombstones");
                    continue;
                }
            };
            if self.append(place, &records).is_err() {
                continue;
            }
            for key in &expired {
                group.offsets.remove(key);
            }
            if !expired.is_empty() {
                tracing::info!(group = %group.id, offsets = expired.len(), "offsets expired");
            }
            if forget {
                forgotten.push(group.id.clone());
            }
        }
        for id in forgotten {
            groups.remove(&id);
            tracing::info!(group = %id, "empty group without offsets removed");
        }
    }
}
