//! The server-side assignors a consumer group chooses with `group.remote.assignor`: `uniform`
//! (balanced and sticky) and `range` (ranges per topic, co-partitioned, and sticky like
//! Kafka's server-side range assignor). Pure functions of the members, their subscriptions,
//! their previous assignments and the topics' partition counts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chronik_metadata::TopicId;

use super::assignment::Assignment;

/// One of the assignors this coordinator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Assignor {
    Uniform,
    Range,
}

impl Assignor {
    /// Every assignor, the default (Kafka's `group.consumer.assignors` order) first.
    pub const ALL: [Assignor; 2] = [Assignor::Uniform, Assignor::Range];

    pub fn name(self) -> &'static str {
        match self {
            Assignor::Uniform => "uniform",
            Assignor::Range => "range",
        }
    }

    pub fn by_name(name: &str) -> Option<Assignor> {
        Assignor::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The target assignment of every member (members without partitions get an empty one).
    pub fn assign(
        self,
        members: &[AssignorMember<'_>],
        topics: &BTreeMap<TopicId, i32>,
    ) -> BTreeMap<String, Assignment> {
        let mut sorted: Vec<&AssignorMember<'_>> = members.iter().collect();
        sorted.sort_by_key(|m| m.id);
        let owned = match self {
            Assignor::Uniform => uniform(&sorted, topics),
            Assignor::Range => range(&sorted, topics),
        };
        (sorted.iter().zip(owned))
            .map(|(m, a)| (m.id.to_owned(), a))
            .collect()
    }
}

/// What an assignor knows of a member.
#[derive(Debug, Clone)]
pub(crate) struct AssignorMember<'a> {
    pub id: &'a str,
    /// Ids of the existing topics it subscribes to.
    pub subscribed: BTreeSet<TopicId>,
    /// Its previous target assignment: both assignors keep what they can of it.
    pub previous: Option<&'a Assignment>,
}

/// Each topic's partitions in ranges over its subscribers in member id order: every subscriber
/// gets `count / n` of them and the first `count % n` one more. A member first keeps the
/// lowest-numbered partitions it held, up to its share; the partitions left go out in ascending
/// ranges. With no previous assignment, members subscribed to the same topics get the same
/// partition numbers of each (Kafka's co-partitioning), and a member joining or leaving moves
/// only the partitions it must.
fn range(members: &[&AssignorMember<'_>], topics: &BTreeMap<TopicId, i32>) -> Vec<Assignment> {
    let mut out = vec![Assignment::default(); members.len()];
    for (topic, &count) in topics {
        let subscribers: Vec<usize> = (0..members.len())
            .filter(|&i| members[i].subscribed.contains(topic))
            .collect();
        let Ok(n) = i32::try_from(subscribers.len()) else {
            continue;
        };
        if n == 0 {
            continue;
        }
        let shares = RangeShares {
            per: count / n,
            extra: count % n,
        };
        let previous: Vec<Vec<i32>> = (subscribers.iter())
            .map(|&i| held(members[i], topic, count))
            .collect();
        for (slot, partitions) in shares.split(count, &previous).into_iter().enumerate() {
            for p in partitions {
                out[subscribers[slot]].insert(*topic, p);
            }
        }
    }
    out
}

/// The partitions of `topic` below `count` that `member` held, ascending.
fn held(member: &AssignorMember<'_>, topic: &TopicId, count: i32) -> Vec<i32> {
    let pairs = member.previous.into_iter().flat_map(Assignment::pairs);
    pairs
        .filter(|(t, p)| t == topic && *p < count)
        .map(|(_, p)| p)
        .collect()
}

/// One topic's share per subscriber under the range assignor.
struct RangeShares {
    /// What every subscriber gets at least.
    per: i32,
    /// How many subscribers get one more.
    extra: i32,
}

impl RangeShares {
    /// The partitions of each subscriber (in the order of `previous`, what each held), keeping
    /// held ones within its share.
    fn split(&self, count: i32, previous: &[Vec<i32>]) -> Vec<Vec<i32>> {
        let per = usize::try_from(self.per).unwrap_or(0);
        let mut extra = self.extra;
        let mut taken = BTreeSet::new();
        let mut out: Vec<Vec<i32>> = Vec::with_capacity(previous.len());
        // (subscriber, partitions it still needs) of those that may take more.
        let mut unfilled = Vec::new();
        for (slot, held) in previous.iter().enumerate() {
            let held: Vec<i32> = held
                .iter()
                .copied()
                .filter(|p| !taken.contains(p))
                .collect();
            let mut kept: Vec<i32> = held.iter().copied().take(per).collect();
            if held.len() > per && extra > 0 {
                extra -= 1;
                kept.extend(held.get(per).copied());
            } else {
                unfilled.push((slot, per - kept.len()));
            }
            taken.extend(kept.iter().copied());
            out.push(kept);
        }
        let mut free = (0..count).filter(|p| !taken.contains(p));
        for (slot, mut need) in unfilled {
            if extra > 0 {
                extra -= 1;
                need += 1;
            }
            out[slot].extend(free.by_ref().take(need));
        }
        out
    }
}

/// Balanced and sticky: every partition of a subscribed topic goes to a subscriber; members
/// keep what they had while it stays within balance; counts among members that could take
/// each other's partitions differ by at most one.
fn uniform(members: &[&AssignorMember<'_>], topics: &BTreeMap<TopicId, i32>) -> Vec<Assignment> {
    let eligible = |i: usize, t: &TopicId| members[i].subscribed.contains(t);
    let mut owned = vec![Assignment::default(); members.len()];
    let mut owner: HashMap<(TopicId, i32), usize> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        for (t, p) in m.previous.into_iter().flat_map(Assignment::pairs) {
            let exists = topics.get(&t).is_some_and(|&n| p < n);
            if exists && eligible(i, &t) && !owner.contains_key(&(t, p)) {
                owner.insert((t, p), i);
                owned[i].insert(t, p);
            }
        }
    }
    let homogeneous = members
        .windows(2)
        .all(|w| w[0].subscribed == w[1].subscribed);
    if homogeneous && !members.is_empty() {
        trim_to_quotas(&mut owned, &mut owner, members[0], topics);
    }
    let mut unassigned: Vec<(usize, TopicId, i32)> = (topics.iter())
        .flat_map(|(t, &n)| (0..n).map(move |p| (*t, p)))
        .filter(|tp| !owner.contains_key(tp))
        .map(|(t, p)| {
            let choices = (0..members.len()).filter(|&i| eligible(i, &t)).count();
            (choices, t, p)
        })
        .filter(|(choices, ..)| *choices > 0)
        .collect();
    unassigned.sort();
    for (_, t, p) in unassigned {
        let least = (0..members.len())
            .filter(|&i| eligible(i, &t))
            .min_by_key(|&i| (owned[i].len(), i));
        if let Some(i) = least {
            owner.insert((t, p), i);
            owned[i].insert(t, p);
        }
    }
    balance(&mut owned, members);
    owned
}

/// With identical subscriptions: members keep at most `total / n` partitions, and up to
/// `total % n` of them (those holding more, in member order) one more; the rest is freed.
fn trim_to_quotas(
    owned: &mut [Assignment],
    owner: &mut HashMap<(TopicId, i32), usize>,
    any: &AssignorMember<'_>,
    topics: &BTreeMap<TopicId, i32>,
) {
    let total: usize = (topics.iter())
        .filter(|(t, _)| any.subscribed.contains(t))
        .map(|(_, &n)| usize::try_from(n).unwrap_or(0))
        .sum();
    let n = owned.len();
    let (quota, mut extra) = (total / n, total % n);
    for a in owned.iter_mut() {
        let mut cap = quota;
        if a.len() > quota && extra > 0 {
            extra -= 1;
            cap += 1;
        }
        while a.len() > cap {
            let Some(last) = a.pairs().last() else { break };
            a.remove(&last.0, last.1);
            owner.remove(&last);
        }
    }
}

/// Most moves one balancing pass makes: with very different subscriptions over many
/// partitions the assignment may stay a little uneven rather than cost the coordinator long.
const MAX_BALANCING_MOVES: usize = 10_000;

/// Moves partitions from a member to a subscriber holding at least two fewer until no such
/// move exists (each move lowers the sum of squared counts, so this ends) or the move budget
/// is spent.
fn balance(owned: &mut [Assignment], members: &[&AssignorMember<'_>]) {
    let total = owned.iter().map(Assignment::len).sum::<usize>();
    let budget = total.saturating_mul(4).min(MAX_BALANCING_MOVES);
    for _ in 0..budget {
        let mut order: Vec<usize> = (0..owned.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(owned[i].len()));
        let found = order.iter().find_map(|&from| {
            owned[from].pairs().find_map(|(t, p)| {
                (0..owned.len())
                    .filter(|&to| members[to].subscribed.contains(&t))
                    .filter(|&to| owned[to].len() + 1 < owned[from].len())
                    .min_by_key(|&to| (owned[to].len(), to))
                    .map(|to| (from, to, t, p))
            })
        });
        let Some((from, to, t, p)) = found else {
            return;
        };
        owned[from].remove(&t, p);
        owned[to].insert(t, p);
    }
}

#[cfg(test)]
mod tests {
    use chronik_metadata::Uuid;

    use super::*;

    fn t(n: u8) -> TopicId {
        Uuid([n; 16])
    }

    fn member<'a>(
        id: &'a str,
        topics: &[u8],
        previous: Option<&'a Assignment>,
    ) -> AssignorMember<'a> {
        AssignorMember {
            id,
            subscribed: topics.iter().map(|n| t(*n)).collect(),
            previous,
        }
    }

    fn counts(out: &BTreeMap<String, Assignment>) -> Vec<usize> {
        out.values().map(Assignment::len).collect()
    }

    /// Every partition of every subscribed topic is assigned exactly once, to a subscriber.
    fn assert_complete(
        out: &BTreeMap<String, Assignment>,
        members: &[AssignorMember<'_>],
        topics: &BTreeMap<TopicId, i32>,
    ) {
        let mut seen = BTreeSet::new();
        for m in members {
            for (tp, p) in out[m.id].pairs() {
                assert!(
                    m.subscribed.contains(&tp),
                    "{} got an unsubscribed topic",
                    m.id
                );
                assert!(seen.insert((tp, p)), "partition {p} assigned twice");
            }
        }
        let wanted: usize = (topics.iter())
            .filter(|(tp, _)| members.iter().any(|m| m.subscribed.contains(tp)))
            .map(|(_, n)| *n as usize)
            .sum();
        assert_eq!(seen.len(), wanted);
    }

    #[test]
    fn uniform_balances_and_keeps_what_members_had() {
        let topics = BTreeMap::from([(t(1), 7), (t(2), 3)]);
        let first = [member("a", &[1, 2], None), member("b", &[1, 2], None)];
        let out = Assignor::Uniform.assign(&first, &topics);
        assert_complete(&out, &first, &topics);
        assert_eq!(counts(&out), vec![5, 5]);
        let (a, b) = (out["a"].clone(), out["b"].clone());
        let second = [
            member("a", &[1, 2], Some(&a)),
            member("b", &[1, 2], Some(&b)),
            member("c", &[1, 2], None),
        ];
        let out = Assignor::Uniform.assign(&second, &topics);
        assert_complete(&out, &second, &topics);
        let mut c = counts(&out);
        c.sort();
        assert_eq!(c, vec![3, 3, 4]);
        assert!(out["a"].is_subset(&a) && out["b"].is_subset(&b), "sticky");
    }

    #[test]
    fn uniform_respects_different_subscriptions() {
        let topics = BTreeMap::from([(t(1), 6), (t(2), 6)]);
        let members = [
            member("a", &[1], None),
            member("b", &[1, 2], None),
            member("c", &[2], None),
        ];
        let out = Assignor::Uniform.assign(&members, &topics);
        assert_complete(&out, &members, &topics);
        assert_eq!(counts(&out), vec![4, 4, 4]);
    }

    #[test]
    fn a_member_subscribed_to_nothing_gets_nothing() {
        let topics = BTreeMap::from([(t(1), 2)]);
        let members = [member("a", &[1], None), member("b", &[], None)];
        for assignor in Assignor::ALL {
            let out = assignor.assign(&members, &topics);
            assert_complete(&out, &members, &topics);
            assert!(out["b"].is_empty());
        }
    }

    #[test]
    fn range_gives_contiguous_co_partitioned_ranges() {
        let topics = BTreeMap::from([(t(1), 5), (t(2), 5)]);
        let members = [member("b", &[1, 2], None), member("a", &[1, 2], None)];
        let out = Assignor::Range.assign(&members, &topics);
        assert_complete(&out, &members, &topics);
        let a = Assignment::from_pairs([
            (t(1), 0),
            (t(1), 1),
            (t(1), 2),
            (t(2), 0),
            (t(2), 1),
            (t(2), 2),
        ]);
        assert_eq!(out["a"], a);
    }

    #[test]
    fn range_keeps_held_partitions_when_a_member_leaves_or_joins() {
        let topics = BTreeMap::from([(t(1), 6)]);
        let pairs = |ps: &[i32]| Assignment::from_pairs(ps.iter().map(|p| (t(1), *p)));
        let (a, b) = (pairs(&[0, 1]), pairs(&[2, 3]));
        // c (4, 5) left: a and b keep theirs and split c's.
        let members = [member("a", &[1], Some(&a)), member("b", &[1], Some(&b))];
        let out = Assignor::Range.assign(&members, &topics);
        assert_complete(&out, &members, &topics);
        assert_eq!(
            (&out["a"], &out["b"]),
            (&pairs(&[0, 1, 4]), &pairs(&[2, 3, 5]))
        );
        // c joins a and b holding three each: each gives up one, c gets those.
        let (a, b) = (pairs(&[0, 1, 2]), pairs(&[3, 4, 5]));
        let members = [
            member("a", &[1], Some(&a)),
            member("b", &[1], Some(&b)),
            member("c", &[1], None),
        ];
        let out = Assignor::Range.assign(&members, &topics);
        assert_complete(&out, &members, &topics);
        assert_eq!(out["a"], pairs(&[0, 1]));
        assert_eq!(out["b"], pairs(&[3, 4]));
        assert_eq!(out["c"], pairs(&[2, 5]));
    }

    #[test]
    fn range_keeps_an_extra_partition_only_while_extras_are_left() {
        let topics = BTreeMap::from([(t(1), 5)]);
        let pairs = |ps: &[i32]| Assignment::from_pairs(ps.iter().map(|p| (t(1), *p)));
        let (a, b) = (pairs(&[0, 1, 2]), pairs(&[3, 4]));
        let members = [
            member("a", &[1], Some(&a)),
            member("b", &[1], Some(&b)),
            member("c", &[1], Some(&b)),
        ];
        let out = Assignor::Range.assign(&members, &topics);
        assert_complete(&out, &members, &topics);
        // 5 over 3: each gets 1 and two get one more. a keeps 0 and, as an extra, 1; b keeps 3
        // and 4 the same way; c names b's partitions too, cannot take them again, and gets the
        // one left.
        assert_eq!(out["a"], pairs(&[0, 1]));
        assert_eq!(out["b"], pairs(&[3, 4]));
        assert_eq!(out["c"], pairs(&[2]));
    }

    #[test]
    fn stale_previous_partitions_are_dropped() {
        let topics = BTreeMap::from([(t(1), 2)]);
        let gone = Assignment::from_pairs([(t(1), 5), (t(9), 0)]);
        let members = [member("a", &[1], Some(&gone))];
        let out = Assignor::Uniform.assign(&members, &topics);
        assert_eq!(out["a"], Assignment::from_pairs([(t(1), 0), (t(1), 1)]));
    }
}
