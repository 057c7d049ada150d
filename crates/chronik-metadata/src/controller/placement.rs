//! Where new partitions go: replicas and preferred leaders spread evenly over the live brokers.

use std::collections::BTreeMap;

use crate::configs::ConfigResource;
use crate::controller::Decision;
use crate::error::ControllerError;
use crate::ids::{BrokerId, MAX_PARTITIONS_PER_TOPIC, MAX_REPLICAS, TopicId, Uuid};
use crate::proto::metadata_record::Record;
use crate::proto::{CreatePartitions, CreateTopic, DeleteTopic, PartitionAssignment};
use crate::state::MetadataState;
use crate::state::validate::check_configs;
use crate::{MetadataRecord, Topic};

/// A CreateTopics request for one topic. The id comes from the caller (random), which keeps
/// this function deterministic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    pub topic_id: TopicId,
    pub partitions: i32,
    pub replication_factor: i16,
    pub configs: BTreeMap<String, String>,
    /// The replicas of each partition as the operator chose them (partition `i` is entry `i`,
    /// the preferred leader first); empty: placed over the live brokers, and `partitions` and
    /// `replication_factor` count instead.
    pub assignment: Vec<Vec<BrokerId>>,
}

/// Places a new topic over the live brokers (see [`assign_replicas`]), or as its manual
/// assignment says (see [`manual_assignment`]).
pub fn create_topic(state: &MetadataState, req: &NewTopic) -> Decision {
    chronik_types::validate_topic_name(&req.name)?;
    if state.topic_by_name(&req.name).is_some() {
        return Err(ControllerError::TopicAlreadyExists(req.name.clone()));
    }
    if req.topic_id == Uuid::ZERO {
        return Err(ControllerError::InvalidRequest(
            "the zero topic id is reserved".to_string(),
        ));
    }
    if state.topic(&req.topic_id).is_some() {
        return Err(ControllerError::TopicIdInUse(req.topic_id));
    }
    check_configs(&ConfigResource::Topic(req.name.clone()), &req.configs)
        .map_err(|e| ControllerError::InvalidConfig(e.to_string()))?;
    let partitions = match req.assignment.is_empty() {
        true => {
            let count = partition_count(req.partitions, 0)?;
            let live = placeable_brokers_for(state, i32::from(req.replication_factor))?;
            let start = state.total_partitions() % live.len();
            let rf = usize::try_from(req.replication_factor).unwrap_or(1);
            assign_replicas(&live, 0, count, rf, start)
        }
        false => manual_assignment(state, &req.assignment, 0)?,
    };
    let record = CreateTopic {
        name: req.name.clone(),
        topic_id: req.topic_id.to_vec(),
        partitions,
        configs: req.configs.clone(),
    };
    Ok(vec![MetadataRecord::new(Record::CreateTopic(record))])
}

/// Grows a topic to `total` partitions, placing the new ones like a new topic's, with the
/// replication factor of its first partition, or as `assignment` (replicas of each new
/// partition, in order) says when it is not empty.
pub fn create_partitions(
    state: &MetadataState,
    topic: &str,
    total: i32,
    assignment: &[Vec<BrokerId>],
) -> Decision {
    let existing = find_topic(state, topic)?;
    let current = existing.partitions.len();
    let added = partition_count(total, current)?;
    let rf = existing.partitions.first().map_or(1, |p| p.replicas.len());
    let partitions = if assignment.is_empty() {
        let live = placeable_brokers_for(state, i32::try_from(rf).unwrap_or(i32::MAX))?;
        let start = state.total_partitions() % live.len();
        assign_replicas(&live, current, added, rf, start)
    } else {
        let invalid = |reason: String| ControllerError::InvalidReplicaAssignment(reason);
        if assignment.len() != added {
            return Err(invalid(format!(
                "{} assignments for {added} new partitions; give one per new partition",
                assignment.len()
            )));
        }
        if let Some(other) = assignment.iter().find(|r| r.len() != rf) {
            return Err(invalid(format!(
                "a new partition with {} replicas; the topic's partitions have {rf}",
                other.len()
            )));
        }
        manual_assignment(state, assignment, current)?
    };
    let record = CreatePartitions {
        topic_id: existing.id.to_vec(),
        partitions,
    };
    Ok(vec![MetadataRecord::new(Record::CreatePartitions(record))])
}

/// Deletes a topic by name.
pub fn delete_topic(state: &MetadataState, topic: &str) -> Decision {
    let existing = find_topic(state, topic)?;
    let record = DeleteTopic {
        topic_id: existing.id.to_vec(),
    };
    Ok(vec![MetadataRecord::new(Record::DeleteTopic(record))])
}

/// Kafka's rack-unaware assignment. Partition `first_index + i` gets its preferred leader at
/// `brokers[(start + i) % n]`, so leaders go round-robin; followers follow the leader at a
/// distance that shifts by one every `n` partitions, so follower sets vary too. `start`
/// rotates between calls (the caller passes the cluster's partition count) so that many small
/// topics do not all lead on the same broker. Requires `1 <= rf <= brokers.len()`.
pub fn assign_replicas(
    brokers: &[BrokerId],
    first_index: usize,
    count: usize,
    rf: usize,
    start: usize,
) -> Vec<PartitionAssignment> {
    let n = brokers.len();
    if n == 0 || rf == 0 || rf > n {
        return Vec::new();
    }
    (0..count)
        .map(|i| {
            let first = (start + i) % n;
            let shift = start + i / n;
            let mut replicas = Vec::with_capacity(rf);
            replicas.push(brokers[first]);
            for j in 0..rf - 1 {
                replicas.push(brokers[(first + 1 + (shift + j) % (n - 1)) % n]);
            }
            PartitionAssignment {
                partition_index: i32::try_from(first_index + i).unwrap_or(i32::MAX),
                leader: brokers[first],
                isr: replicas.clone(),
                replicas,
            }
        })
        .collect()
}

/// An operator's replica placement of partitions `first_index..`, checked as Kafka checks it:
/// every partition has the same number of distinct, registered replicas. The unfenced ones
/// form the ISR and the first of them leads; a partition whose replicas are all fenced is
/// refused.
pub fn manual_assignment(
    state: &MetadataState,
    assignment: &[Vec<BrokerId>],
    first_index: usize,
) -> Result<Vec<PartitionAssignment>, ControllerError> {
    let count = i32::try_from(assignment.len()).unwrap_or(i32::MAX);
    partition_count(count, 0)?;
    let invalid = |reason: String| ControllerError::InvalidReplicaAssignment(reason);
    let rf = assignment.first().map_or(0, Vec::len);
    if rf == 0 || rf > MAX_REPLICAS {
        return Err(invalid(format!(
            "partition {first_index} has {rf} replicas; give each partition 1 to {MAX_REPLICAS}"
        )));
    }
    let first = i32::try_from(first_index).unwrap_or(i32::MAX);
    (assignment.iter().zip(first..))
        .map(|(replicas, index)| {
            if replicas.len() != rf {
                return Err(invalid(format!(
                    "partition {index} has {} replicas and the first has {rf}; give every partition the same number",
                    replicas.len()
                )));
            }
            if let Some(dup) = crate::state::validate::first_duplicate(replicas) {
                return Err(invalid(format!(
                    "broker {dup} appears twice in partition {index}'s replicas"
                )));
            }
            if let Some(unknown) = replicas.iter().find(|id| state.broker(**id).is_none()) {
                return Err(invalid(format!(
                    "partition {index} names broker {unknown}, which is not registered"
                )));
            }
            let isr: Vec<BrokerId> = (replicas.iter().copied())
                .filter(|id| state.is_live(*id))
                .collect();
            let Some(&leader) = isr.first() else {
                return Err(invalid(format!(
                    "every replica of partition {index} is fenced; name at least one live broker"
                )));
            };
            Ok(PartitionAssignment {
                partition_index: index,
                replicas: replicas.clone(),
                leader,
                isr,
            })
        })
        .collect()
}

fn find_topic<'a>(state: &'a MetadataState, name: &str) -> Result<&'a Topic, ControllerError> {
    state
        .topic_by_name(name)
        .ok_or_else(|| ControllerError::UnknownTopic(name.to_string()))
}

/// How many partitions to add to reach `total` from `current`.
fn partition_count(total: i32, current: usize) -> Result<usize, ControllerError> {
    let invalid = |reason: String| ControllerError::InvalidPartitions {
        requested: total,
        reason,
    };
    let total_usize = usize::try_from(total).map_err(|_| invalid("it is negative".into()))?;
    if total_usize > MAX_PARTITIONS_PER_TOPIC {
        return Err(invalid(format!(
            "a topic may have at most {MAX_PARTITIONS_PER_TOPIC} partitions"
        )));
    }
    if total_usize <= current {
        let reason = match current {
            0 => "a topic needs at least one partition".to_string(),
            _ => format!("the topic already has {current} partitions and can only grow"),
        };
        return Err(invalid(reason));
    }
    Ok(total_usize - current)
}

/// The placeable brokers (live, not being decommissioned), by id, if there are at least `rf`
/// of them.
fn placeable_brokers_for(state: &MetadataState, rf: i32) -> Result<Vec<BrokerId>, ControllerError> {
    if rf < 1 || usize::try_from(rf).map_or(true, |rf| rf > MAX_REPLICAS) {
        return Err(ControllerError::InvalidReplicationFactor(rf));
    }
    let live: Vec<BrokerId> = state.placeable_brokers().map(|b| b.id).collect();
    if usize::try_from(rf).map_or(true, |rf| rf > live.len()) {
        return Err(ControllerError::NotEnoughBrokers {
            replication_factor: rf,
            live: live.len(),
        });
    }
    Ok(live)
}

#[cfg(test)]
mod manual_tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::testing::{apply_all, cluster, fence, register, topic_id};

    fn manual(name: &str, assignment: &[&[BrokerId]]) -> NewTopic {
        NewTopic {
            name: name.into(),
            topic_id: topic_id(9),
            partitions: -1,
            replication_factor: -1,
            configs: BTreeMap::new(),
            assignment: assignment.iter().map(|r| r.to_vec()).collect(),
        }
    }

    #[test]
    fn a_manual_assignment_is_used_as_given_with_fenced_replicas_out_of_the_isr() {
        let mut state = cluster(3);
        apply_all(&mut state, &[fence(1)]);
        let records = create_topic(&state, &manual("m", &[&[1, 3], &[2, 1], &[3, 2]]))
            .expect("valid assignment");
        apply_all(&mut state, &records);
        let t = state.topic_by_name("m").expect("created");
        let shape: Vec<(Vec<BrokerId>, BrokerId, Vec<BrokerId>)> = (t.partitions.iter())
            .map(|p| (p.replicas.clone(), p.leader, p.isr.clone()))
            .collect();
        assert_eq!(
            shape,
            [
                (vec![1, 3], 3, vec![3]),
                (vec![2, 1], 2, vec![2]),
                (vec![3, 2], 3, vec![3, 2])
            ]
        );
    }

    #[test]
    fn bad_manual_assignments_are_refused() {
        let mut state = cluster(3);
        // 4 registers fenced and stays so; 3 is fenced.
        apply_all(&mut state, &[register(4), fence(3)]);
        let cases: [&[&[BrokerId]]; 6] = [
            &[&[1, 2], &[1]],
            &[&[1, 1]],
            &[&[1, 9]],
            &[&[]],
            &[&[3, 4]],
            &[&[1], &[2, 3]],
        ];
        for assignment in cases {
            let err = create_topic(&state, &manual("m", assignment)).expect_err("refused");
            assert_eq!(
                err.kind(),
                ErrorKind::InvalidReplicaAssignment,
                "{assignment:?}: {err}"
            );
        }
        let err = create_topic(&state, &manual("m", &[])).map(drop);
        assert!(err.is_err(), "no partitions at all");
    }

    #[test]
    fn new_partitions_go_where_the_assignment_says_if_it_fits_the_topic() {
        let mut state = cluster(3);
        let records = create_topic(&state, &manual("m", &[&[1, 2]])).expect("created");
        apply_all(&mut state, &records);
        let refused = |total: i32, assignment: &[&[BrokerId]]| {
            let assignment: Vec<Vec<BrokerId>> = assignment.iter().map(|r| r.to_vec()).collect();
            create_partitions(&state, "m", total, &assignment).map_err(|e| e.kind())
        };
        let invalid = Err(ErrorKind::InvalidReplicaAssignment);
        assert_eq!(refused(3, &[&[2, 3]]), invalid, "one assignment for two");
        assert_eq!(refused(2, &[&[3]]), invalid, "another replication factor");
        assert_eq!(refused(2, &[&[3, 9]]), invalid, "an unknown broker");
        assert_eq!(refused(2, &[&[3, 3]]), invalid, "a repeated broker");
        let records = create_partitions(&state, "m", 3, &[vec![3, 1], vec![2, 3]]).expect("fits");
        apply_all(&mut state, &records);
        let t = state.topic_by_name("m").expect("topic");
        let replicas: Vec<Vec<BrokerId>> =
            t.partitions.iter().map(|p| p.replicas.clone()).collect();
        assert_eq!(replicas, [vec![1, 2], vec![3, 1], vec![2, 3]]);
    }
}
