//! An idle quorum keeps its leader: no elections without a failure (pre-vote and check-quorum,
//! election timeout well above the heartbeat).

mod support;

use std::time::{Duration, Instant};

use support::{Cluster, eventually};

const IDLE: Duration = Duration::from_secs(30);

/// (leader, every voter's term) as the status command reports them.
fn view(cluster: &Cluster, addresses: &str) -> (Option<u64>, Vec<Option<u64>>) {
    let (_, doc) = cluster.status(addresses);
    let terms = (doc["voters"].as_array().into_iter().flatten())
        .map(|v| v["term"].as_u64())
        .collect();
    (doc["leader_id"].as_u64(), terms)
}

#[test]
fn idle_quorum_keeps_its_term_and_leader_for_30_seconds() {
    let _serial = support::serial();
    let mut cluster = Cluster::new(3);
    let all = cluster.addresses();
    cluster.start_all();
    cluster.wait_leader(&all, Duration::from_secs(10));
    let (leader, terms) = eventually("all voters in one term", Duration::from_secs(10), || {
        let (leader, terms) = view(&cluster, &all);
        let settled = terms.len() == 3 && terms.iter().all(|t| t.is_some() && *t == terms[0]);
        (leader.is_some() && settled).then_some((leader, terms))
    });
    let deadline = Instant::now() + IDLE;
    let mut polls = 0;
    while Instant::now() < deadline {
        let next = Instant::now() + Duration::from_secs(1);
        assert_eq!(
            view(&cluster, &all),
            (leader, terms.clone()),
            "term or leader changed after {polls} polls"
        );
        polls += 1;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    eprintln!(
        "leader {leader:?} kept term {:?} over {polls} polls",
        terms[0]
    );
    assert!(polls >= 25, "only {polls} polls in {IDLE:?}");
}
