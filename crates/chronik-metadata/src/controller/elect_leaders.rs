//! Leader elections an operator asks for (Kafka's ElectLeaders): preferred, which moves
//! leadership back to the first replica, and unclean, which brings an offline partition back
//! with any live replica when no in-sync one is left (acknowledged writes may be lost).

use crate::MetadataRecord;
use crate::controller::partition_change;
use crate::ids::{BrokerId, NO_LEADER};
use crate::state::{MetadataState, PartitionView};

/// Which election to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionType {
    /// Make the preferred replica (the first) leader, if it is live and in sync.
    Preferred,
    /// Give an offline partition a leader: an in-sync replica if one is live, else any live
    /// replica.
    Unclean,
}

/// What an election did for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionOutcome {
    /// A new leader was proposed.
    Elected,
    /// The partition already has the leader this election would give it.
    NotNeeded,
    /// The preferred replica is fenced or out of the ISR.
    PreferredNotAvailable,
    /// No replica of the offline partition is live.
    EligibleNotAvailable,
    /// No such topic or partition.
    UnknownPartition,
}

/// One partition's election result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionResult {
    pub topic: String,
    pub partition: i32,
    pub outcome: ElectionOutcome,
}

/// Runs `kind` for `partitions`, or for every partition when `None` (then partitions that
/// need no election are left out of the results, as Kafka does). Returns the records to
/// propose and each partition's outcome.
pub fn elect_leaders(
    state: &MetadataState,
    kind: ElectionType,
    partitions: Option<&[(String, i32)]>,
) -> (Vec<MetadataRecord>, Vec<ElectionResult>) {
    let mut records = Vec::new();
    let mut results = Vec::new();
    let mut run = |view: Option<PartitionView<'_>>, topic: &str, partition: i32, all: bool| {
        let (record, outcome) = match view {
            Some(p) => elect_one(state, p, kind),
            None => (None, ElectionOutcome::UnknownPartition),
        };
        records.extend(record);
        if !(all && outcome == ElectionOutcome::NotNeeded) {
            results.push(ElectionResult {
                topic: topic.to_owned(),
                partition,
                outcome,
            });
        }
    };
    match partitions {
        Some(list) => {
            for (topic, partition) in list {
                run(find(state, topic, *partition), topic, *partition, false);
            }
        }
        None => {
            for p in state.partitions() {
                run(Some(p), &p.topic.name, p.index, true);
            }
        }
    }
    (records, results)
}

fn find<'a>(state: &'a MetadataState, topic: &str, partition: i32) -> Option<PartitionView<'a>> {
    let t = state.topic_by_name(topic)?;
    let s = t.partition(partition)?;
    Some(PartitionView {
        topic: t,
        index: partition,
        state: s,
    })
}

fn elect_one(
    state: &MetadataState,
    p: PartitionView<'_>,
    kind: ElectionType,
) -> (Option<MetadataRecord>, ElectionOutcome) {
    let s = p.state;
    match kind {
        ElectionType::Preferred => {
            let Some(&preferred) = s.replicas.first() else {
                return (None, ElectionOutcome::PreferredNotAvailable);
            };
            if s.leader == preferred {
                return (None, ElectionOutcome::NotNeeded);
            }
            if !s.isr.contains(&preferred) || !state.is_live(preferred) {
                return (None, ElectionOutcome::PreferredNotAvailable);
            }
            let record = partition_change(p, preferred, s.isr.clone());
            (Some(record), ElectionOutcome::Elected)
        }
        ElectionType::Unclean => {
            if s.leader != NO_LEADER {
                return (None, ElectionOutcome::NotNeeded);
            }
            let live_isr: Vec<BrokerId> = (s.isr.iter().copied())
                .filter(|id| state.is_live(*id))
                .collect();
            let clean = (s.replicas.iter().copied()).find(|r| live_isr.contains(r));
            let (leader, isr) = match clean {
                Some(leader) => (leader, live_isr),
                None => match s.replicas.iter().copied().find(|r| state.is_live(*r)) {
                    Some(leader) => (leader, vec![leader]),
                    None => return (None, ElectionOutcome::EligibleNotAvailable),
                },
            };
            (
                Some(partition_change(p, leader, isr)),
                ElectionOutcome::Elected,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{apply_all, change, cluster, create_topic, fence, topic_id};

    fn leader(state: &MetadataState, partition: i32) -> (BrokerId, Vec<BrokerId>) {
        let t = state.topic(&topic_id(1)).expect("topic");
        let p = t.partition(partition).expect("partition");
        (p.leader, p.isr.clone())
    }

    fn outcomes(results: &[ElectionResult]) -> Vec<(i32, ElectionOutcome)> {
        results.iter().map(|r| (r.partition, r.outcome)).collect()
    }

    /// Partition 0 led by its second replica, partition 1 by its preferred one.
    fn moved_leader() -> MetadataState {
        let mut state = cluster(3);
        apply_all(&mut state, &[create_topic("t", 1, &[&[1, 2], &[2, 3]])]);
        apply_all(&mut state, &[change(1, 0, 2, &[1, 2], 0)]);
        state
    }

    #[test]
    fn preferred_election_moves_leadership_back_to_the_first_replica() {
        let mut state = moved_leader();
        let asked = [
            ("t".to_owned(), 0),
            ("t".to_owned(), 1),
            ("t".to_owned(), 7),
        ];
        let (records, results) = elect_leaders(&state, ElectionType::Preferred, Some(&asked));
        assert_eq!(
            outcomes(&results),
            [
                (0, ElectionOutcome::Elected),
                (1, ElectionOutcome::NotNeeded),
                (7, ElectionOutcome::UnknownPartition)
            ]
        );
        apply_all(&mut state, &records);
        assert_eq!(leader(&state, 0), (1, vec![1, 2]));
    }

    #[test]
    fn preferred_election_of_every_partition_lists_only_those_that_needed_one() {
        let state = moved_leader();
        let (records, results) = elect_leaders(&state, ElectionType::Preferred, None);
        assert_eq!(records.len(), 1);
        assert_eq!(outcomes(&results), [(0, ElectionOutcome::Elected)]);
    }

    #[test]
    fn a_fenced_or_lagging_preferred_replica_is_not_elected() {
        let mut state = moved_leader();
        apply_all(&mut state, &[change(1, 0, 2, &[2], 1)]);
        let asked = [("t".to_owned(), 0)];
        let (records, results) = elect_leaders(&state, ElectionType::Preferred, Some(&asked));
        assert!(records.is_empty());
        assert_eq!(
            outcomes(&results),
            [(0, ElectionOutcome::PreferredNotAvailable)]
        );
        let mut state = moved_leader();
        apply_all(&mut state, &[fence(1)]);
        let (_, results) = elect_leaders(&state, ElectionType::Preferred, Some(&asked));
        assert_eq!(
            outcomes(&results),
            [(0, ElectionOutcome::PreferredNotAvailable)]
        );
    }

    #[test]
    fn unclean_election_revives_an_offline_partition_with_a_live_replica() {
        let mut state = cluster(3);
        apply_all(&mut state, &[create_topic("t", 1, &[&[1, 2]])]);
        // Only 1 is in sync when it dies: the partition goes offline.
        apply_all(&mut state, &[change(1, 0, 1, &[1], 0)]);
        apply_all(&mut state, &[fence(1), change(1, 0, NO_LEADER, &[1], 1)]);
        let asked = [("t".to_owned(), 0)];
        let (_, results) = elect_leaders(&state, ElectionType::Preferred, Some(&asked));
        assert_eq!(
            outcomes(&results),
            [(0, ElectionOutcome::PreferredNotAvailable)]
        );
        let (records, results) = elect_leaders(&state, ElectionType::Unclean, Some(&asked));
        assert_eq!(outcomes(&results), [(0, ElectionOutcome::Elected)]);
        apply_all(&mut state, &records);
        assert_eq!(leader(&state, 0), (2, vec![2]));
        let (records, results) = elect_leaders(&state, ElectionType::Unclean, Some(&asked));
        assert!(records.is_empty());
        assert_eq!(outcomes(&results), [(0, ElectionOutcome::NotNeeded)]);
    }

    #[test]
    fn unclean_election_without_a_live_replica_changes_nothing() {
        let mut state = cluster(2);
        apply_all(&mut state, &[create_topic("t", 1, &[&[1]])]);
        apply_all(&mut state, &[fence(1), change(1, 0, NO_LEADER, &[1], 0)]);
        let asked = [("t".to_owned(), 0)];
        let (records, results) = elect_leaders(&state, ElectionType::Unclean, Some(&asked));
        assert!(records.is_empty());
        assert_eq!(
            outcomes(&results),
            [(0, ElectionOutcome::EligibleNotAvailable)]
        );
    }
}
