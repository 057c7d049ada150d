//! A set of partitions by topic id: what a member owns, is assigned, or must give up.

use std::collections::{BTreeMap, BTreeSet};

use chronik_metadata::TopicId;

/// Partitions by topic id, kept sorted so records and answers are deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Assignment(pub BTreeMap<TopicId, BTreeSet<i32>>);

impl Assignment {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (TopicId, i32)>) -> Assignment {
        let mut out = Assignment::default();
        for (topic, partition) in pairs {
            out.insert(topic, partition);
        }
        out
    }

    pub fn insert(&mut self, topic: TopicId, partition: i32) {
        self.0.entry(topic).or_default().insert(partition);
    }

    pub fn remove(&mut self, topic: &TopicId, partition: i32) {
        if let Some(set) = self.0.get_mut(topic) {
            set.remove(&partition);
            if set.is_empty() {
                self.0.remove(topic);
            }
        }
    }

    pub fn contains(&self, topic: &TopicId, partition: i32) -> bool {
        self.0.get(topic).is_some_and(|s| s.contains(&partition))
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(BTreeSet::is_empty)
    }

    pub fn len(&self) -> usize {
        self.0.values().map(BTreeSet::len).sum()
    }

    /// Every (topic, partition), sorted.
    pub fn pairs(&self) -> impl Iterator<Item = (TopicId, i32)> + '_ {
        (self.0.iter()).flat_map(|(t, ps)| ps.iter().map(move |p| (*t, *p)))
    }

    /// The partitions of `self` that `other` also holds.
    pub fn intersection(&self, other: &Assignment) -> Assignment {
        Assignment::from_pairs(self.pairs().filter(|(t, p)| other.contains(t, *p)))
    }

    /// The partitions of `self` that `other` does not hold.
    pub fn difference(&self, other: &Assignment) -> Assignment {
        Assignment::from_pairs(self.pairs().filter(|(t, p)| !other.contains(t, *p)))
    }

    pub fn union(&self, other: &Assignment) -> Assignment {
        Assignment::from_pairs(self.pairs().chain(other.pairs()))
    }

    /// Whether every partition of `self` is in `other`.
    pub fn is_subset(&self, other: &Assignment) -> bool {
        self.pairs().all(|(t, p)| other.contains(&t, p))
    }

    /// Whether the two share any partition.
    pub fn overlaps(&self, other: &Assignment) -> bool {
        self.pairs().any(|(t, p)| other.contains(&t, p))
    }
}

#[cfg(test)]
mod tests {
    use chronik_metadata::Uuid;

    use super::*;

    fn t(n: u8) -> TopicId {
        Uuid([n; 16])
    }

    #[test]
    fn set_operations_work_per_partition_and_drop_empty_topics() {
        let a = Assignment::from_pairs([(t(1), 0), (t(1), 1), (t(2), 0)]);
        let b = Assignment::from_pairs([(t(1), 1), (t(3), 5)]);
        assert_eq!(a.intersection(&b), Assignment::from_pairs([(t(1), 1)]));
        assert_eq!(
            a.difference(&b),
            Assignment::from_pairs([(t(1), 0), (t(2), 0)])
        );
        assert_eq!(a.union(&b).len(), 4);
        assert!(a.overlaps(&b));
        assert!(Assignment::from_pairs([(t(2), 0)]).is_subset(&a));
        let mut c = Assignment::from_pairs([(t(2), 0)]);
        c.remove(&t(2), 0);
        assert!(c.is_empty());
        assert_eq!(c, Assignment::default(), "an emptied topic is dropped");
    }
}
