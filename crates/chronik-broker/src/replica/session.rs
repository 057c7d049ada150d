//! A follower's side of its fetch session with one leader (KIP-227): the first fetch is full
//! and opens the session; after that a fetch names only the partitions whose position changed
//! and those no longer followed, and the leader answers only for partitions with something
//! new. Any failure (a refused session, a lost connection, a fetch abandoned midway, whose
//! epoch the leader may or may not have seen) starts again with a full fetch.

use std::collections::HashMap;

use chronik_types::TopicPartition;

use crate::fetch_sessions::PartitionParams;

/// The session a fetcher holds with its leader.
#[derive(Debug, Default)]
pub(super) struct SessionClient {
    /// The session's id; 0 while there is none. Kept after a failure, so the full fetch that
    /// follows closes it at the leader instead of leaving it to be evicted.
    id: i32,
    /// The epoch of the next fetch: 0 for a full one, which opens a session.
    epoch: i32,
    /// What the leader's session holds for each partition.
    sent: HashMap<TopicPartition, PartitionParams>,
}

/// One fetch to send, built by [`SessionClient::request`].
#[derive(Debug)]
pub(super) struct Outgoing {
    pub session_id: i32,
    pub epoch: i32,
    /// The partitions the request names.
    pub send: Vec<(TopicPartition, PartitionParams)>,
    /// The partitions the request drops from the session.
    pub forget: Vec<TopicPartition>,
    /// Everything the session holds once the leader has taken the request.
    wanted: HashMap<TopicPartition, PartitionParams>,
}

impl SessionClient {
    /// The fetch for `wanted`: full without a session (asking for one), otherwise only the
    /// differences from what the leader's session holds.
    pub fn request(&self, wanted: Vec<(TopicPartition, PartitionParams)>) -> Outgoing {
        if self.epoch == 0 {
            return Outgoing {
                session_id: self.id,
                epoch: 0,
                wanted: wanted.iter().cloned().collect(),
                send: wanted,
                forget: Vec::new(),
            };
        }
        let wanted: HashMap<TopicPartition, PartitionParams> = wanted.into_iter().collect();
        let send = (wanted.iter())
            .filter(|(tp, params)| self.sent.get(*tp) != Some(params))
            .map(|(tp, params)| (tp.clone(), *params))
            .collect();
        let forget = (self.sent.keys())
            .filter(|tp| !wanted.contains_key(*tp))
            .cloned()
            .collect();
        Outgoing {
            session_id: self.id,
            epoch: self.epoch,
            send,
            forget,
            wanted,
        }
    }

    /// Takes the leader's answer to `sent`: its top-level error code and session id.
    pub fn answered(&mut self, sent: Outgoing, error_code: i16, session_id: i32) {
        if error_code != 0 {
            self.reset();
            return;
        }
        if sent.epoch == 0 {
            // Without a session (id 0) the next fetch is full again and asks anew.
            self.id = session_id;
            self.epoch = i32::from(session_id != 0);
        } else {
            self.epoch = if self.epoch == i32::MAX {
                1
            } else {
                self.epoch + 1
            };
        }
        self.sent = sent.wanted;
    }

    /// Starts again: the next fetch is full, and closes the session if the leader has it.
    pub fn reset(&mut self) {
        self.epoch = 0;
        self.sent.clear();
    }

    /// Whether the next fetch is incremental.
    #[cfg(test)]
    pub fn in_session(&self) -> bool {
        self.epoch != 0
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::SessionClient;
    use crate::fetch_sessions::{Answer, FetchSessions, PartitionParams, SessionRequest, Shown};
    use chronik_types::TopicPartition;

    fn at(offset: i64) -> PartitionParams {
        PartitionParams {
            fetch_offset: offset,
            log_start_offset: 0,
            current_leader_epoch: 3,
            max_bytes: 1 << 20,
        }
    }

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    /// Sends `wanted` to `leader` and returns the partitions the leader read and those it
    /// answered (every partition idle at high watermark 10).
    fn fetch(
        client: &mut SessionClient,
        leader: &mut FetchSessions,
        wanted: &[(i32, i64)],
    ) -> (Vec<(i32, i64)>, usize) {
        let out = client.request(wanted.iter().map(|&(p, o)| (tp(p), at(o))).collect());
        let req = SessionRequest {
            session_id: out.session_id,
            epoch: out.epoch,
            follower: Some(2),
            partitions: out.send.clone(),
            forgotten: out.forget.clone(),
        };
        let plan = leader.begin(req, Instant::now()).expect("session accepted");
        let shown = Shown {
            high_watermark: 10,
            last_stable_offset: 10,
            log_start_offset: 0,
        };
        let answers: Vec<_> = (plan.partitions.iter())
            .map(|(tp, _)| {
                let answer = Answer {
                    shown,
                    has_records: false,
                    failed: false,
                };
                (tp.clone(), answer)
            })
            .collect();
        let carried = leader.finish(plan.context, &answers);
        client.answered(out, 0, plan.context.session_id());
        let mut read: Vec<(i32, i64)> = (plan.partitions.iter())
            .map(|(tp, p)| (tp.partition, p.fetch_offset))
            .collect();
        read.sort();
        (read, carried.iter().filter(|c| **c).count())
    }

    #[test]
    fn the_leader_reads_what_the_follower_wants_while_only_changes_travel() {
        let mut client = SessionClient::default();
        let mut leader = FetchSessions::new(10, Duration::from_secs(120));
        assert_eq!(fetch(&mut client, &mut leader, &[(0, 5), (1, 7)]).1, 2);
        assert!(client.in_session());
        let out = client.request(vec![(tp(0), at(5)), (tp(1), at(7))]);
        assert!(out.send.is_empty() && out.forget.is_empty(), "{out:?}");

        let (read, answered) = fetch(&mut client, &mut leader, &[(0, 5), (1, 7)]);
        assert_eq!(read, vec![(0, 5), (1, 7)]);
        assert_eq!(answered, 0, "nothing changed");

        let (read, _) = fetch(&mut client, &mut leader, &[(0, 9), (2, 0)]);
        assert_eq!(
            read,
            vec![(0, 9), (2, 0)],
            "moved, dropped and added partitions"
        );
    }

    #[test]
    fn an_error_or_no_session_means_full_fetches() {
        let mut client = SessionClient::default();
        let mut leader = FetchSessions::new(0, Duration::from_secs(120));
        fetch(&mut client, &mut leader, &[(0, 5)]);
        assert!(!client.in_session(), "the leader kept no session");

        let mut leader = FetchSessions::new(10, Duration::from_secs(120));
        fetch(&mut client, &mut leader, &[(0, 5)]);
        assert!(client.in_session());
        let out = client.request(vec![(tp(0), at(5))]);
        let id = out.session_id;
        client.answered(out, 70, 0);
        assert!(!client.in_session());
        let full = client.request(vec![(tp(0), at(5))]);
        assert_eq!(
            (full.session_id, full.epoch),
            (id, 0),
            "closes the old session"
        );
        assert_eq!(full.send.len(), 1);
    }
}
