//! Followers copy their leaders' logs: one fetcher task per leader broker, multiplexing every
//! partition this broker follows it for over one connection. Before fetching in a new leader
//! epoch a partition truncates whatever diverged from the leader (OffsetForLeaderEpoch,
//! KIP-101/279); fetched batches are appended verbatim, with their offsets and epochs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chronik_client::{ConnConfig, Connection};
use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::fetch_request::{
    FetchPartition, FetchTopic, ForgottenTopic,
};
use chronik_kafka::kafka_protocol::messages::{BrokerId as KafkaBrokerId, FetchRequest, TopicName};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use chronik_metadata::BrokerId;
use chronik_types::TopicPartition;
use chronik_wal::Durable;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::session::{Outgoing, SessionClient};
use super::truncate::reset_producers;
use super::{Role, by_topic};

use crate::cluster::Cluster;
use crate::fetch_sessions::PartitionParams;
use crate::partitions::{Hosted, Partitions};

/// How long a fetch waits at the leader for new data (Kafka's `replica.fetch.wait.max.ms`):
/// appends answer it at once, so this only bounds an idle fetch.
const FETCH_WAIT_MS: i32 = 500;
/// Record bytes asked for per partition and per fetch.
const PARTITION_MAX_BYTES: i32 = 8 * 1024 * 1024;
const FETCH_MAX_BYTES: i32 = 32 * 1024 * 1024;
/// Pause after a failed round (leader unreachable, or every partition refused).
const BACKOFF: Duration = Duration::from_millis(100);

/// What the fetchers share.
pub(crate) struct Fetchers {
    pub cluster: Arc<Cluster>,
    pub partitions: Arc<Partitions>,
    /// Where a replica that starts over at its leader's local log start finds the producer
    /// state of the history it skips.
    pub remote: Option<chronik_tiered::RemoteStore>,
}

/// Keeps one fetcher running per leader this broker follows a partition of.
pub(crate) fn spawn(ctx: Arc<Fetchers>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut roles = ctx.partitions.subscribe_roles();
        let mut running: HashMap<BrokerId, JoinHandle<()>> = HashMap::new();
        loop {
            roles.borrow_and_update();
            let wanted = ctx.partitions.leaders_followed();
            running.retain(|leader, task| {
                let keep = wanted.contains(leader) && !task.is_finished();
                if !keep {
                    task.abort();
                }
                keep
            });
            for leader in wanted {
                running
                    .entry(leader)
                    .or_insert_with(|| tokio::spawn(fetch_from(leader, ctx.clone())));
            }
            // Also wakes periodically: a fetcher that gave up is restarted.
            let _ = tokio::time::timeout(Duration::from_secs(1), roles.changed()).await;
        }
    })
}

/// Fetches from `leader` for as long as this broker follows some partition of it.
async fn fetch_from(leader: BrokerId, ctx: Arc<Fetchers>) {
    let mut conn: Option<Connection> = None;
    // A fetcher started again opens a new session, which replaces its old one at the leader.
    let mut session = SessionClient::default();
    let mut roles = ctx.partitions.subscribe_roles();
    let mut rounds: usize = 0;
    loop {
        roles.borrow_and_update();
        let mut parts = ctx.partitions.following(leader);
        if parts.is_empty() {
            return;
        }
        // Each round starts at another partition, as Kafka's fetchers rotate theirs: once a
        // response holds data, a partition gets only batches that fit what is left of it, so
        // a fixed order could starve the last partitions behind busy first ones.
        let start = rounds % parts.len();
        parts.rotate_left(start);
        rounds = rounds.wrapping_add(1);
        let Some(peer) = ctx.cluster.peer_address(leader).await else {
            tokio::time::sleep(BACKOFF).await;
            continue;
        };
        let reuse = conn
            .take()
            .filter(|c| !c.is_closed() && c.addr() == peer.addr);
        let c = match reuse {
            Some(c) => c,
            None => match ctx.cluster.open_peer(&peer, conn_config()).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(leader, error = %e, "cannot reach the leader to fetch");
                    tokio::time::sleep(BACKOFF).await;
                    continue;
                }
            },
        };
        let Some(outcome) =
            round_unless_followed_set_changes(&ctx, leader, &c, &parts, &mut session, &mut roles)
                .await
        else {
            // The parked fetch does not ask for the new set: drop it with its connection
            // rather than wait up to the fetch wait for an answer that cannot help. Whether
            // the leader saw its session epoch is unknown: the next fetch is full.
            session.reset();
            continue;
        };
        match outcome {
            Ok(progressed) => {
                if !progressed {
                    tokio::time::sleep(BACKOFF).await;
                }
                conn = Some(c);
            }
            Err(e) => {
                session.reset();
                tracing::debug!(leader, error = %e, "fetch from the leader failed");
                tokio::time::sleep(BACKOFF).await;
            }
        }
    }
}

/// One [`round`], cut short (`None`) when the partitions this broker follows `leader` for
/// change meanwhile: a partition just created or just handed to this broker as follower must
/// not wait for a fetch parked at the leader without it.
async fn round_unless_followed_set_changes(
    ctx: &Fetchers,
    leader: BrokerId,
    conn: &Connection,
    parts: &[Part],
    session: &mut SessionClient,
    roles: &mut watch::Receiver<u64>,
) -> Option<chronik_client::Result<bool>> {
    let work = round(ctx, leader, conn, parts, session);
    tokio::pin!(work);
    let mut watching = true;
    loop {
        tokio::select! {
            outcome = &mut work => return Some(outcome),
            changed = roles.changed(), if watching => {
                watching = changed.is_ok();
                if watching && !same_partitions(parts, &ctx.partitions.following(leader)) {
                    return None;
                }
            }
        }
    }
}

fn same_partitions(a: &[Part], b: &[Part]) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(tp, h)| b.iter().any(|(tp2, h2)| tp == tp2 && Arc::ptr_eq(h, h2)))
}

fn conn_config() -> ConnConfig {
    ConnConfig {
        client_id: "chronik-replica-fetcher".into(),
        request_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(3),
        max_response_bytes: 64 * 1024 * 1024,
        tls: None,
        sasl: None,
    }
}

pub(super) type Part = (TopicPartition, Arc<Hosted>);

/// One truncation pass (for partitions in a new epoch) and one fetch. Returns whether any
/// partition could be served (or, in a session, whether the leader had nothing new after its
/// wait), so a leader refusing everything is not asked in a busy loop.
async fn round(
    ctx: &Fetchers,
    leader: BrokerId,
    conn: &Connection,
    parts: &[Part],
    session: &mut SessionClient,
) -> chronik_client::Result<bool> {
    let me = ctx.cluster.me;
    let needs_truncation = |(_, h): &&Part| h.replica.read(|p| p.needs_truncation());
    let truncating: Vec<&Part> = parts.iter().filter(needs_truncation).collect();
    let mut progressed = false;
    if !truncating.is_empty() {
        progressed = super::truncate::truncate(me, conn, &truncating).await? > 0;
    }
    // Those just truncated are fetched in this round too: the next could be a fetch wait away.
    let ready: Vec<&Part> = parts.iter().filter(|p| !needs_truncation(p)).collect();
    if ready.is_empty() {
        return Ok(progressed);
    }
    // The role each partition was fetched for: an answer is applied only while it holds.
    let sent: HashMap<TopicPartition, (&Arc<Hosted>, Role)> = (ready.iter())
        .map(|(tp, h)| (tp.clone(), (h, h.replica.read(|p| p.role().clone()))))
        .collect();
    let out = session.request(
        ready
            .iter()
            .map(|(tp, h)| (tp.clone(), params_of(h)))
            .collect(),
    );
    let req = fetch_request(me, &out);
    let resp = conn.call(&req, "chronik-replica-fetcher").await?;
    session.answered(out, resp.error_code, resp.session_id);
    if resp.error_code != 0 {
        tracing::debug!(
            leader,
            code = resp.error_code,
            "leader refused the fetch session; fetching in full"
        );
        return Ok(progressed);
    }
    // An incremental answer without partitions: the leader waited and nothing changed.
    progressed |= resp.responses.is_empty();
    // Every partition's batches are appended before any append is waited for, so that their
    // logs are synced together.
    let mut restarted = Vec::new();
    let appended = chronik_wal::appends_together(|| {
        let mut appended = Vec::new();
        for topic in resp.responses {
            for part in topic.partitions {
                let tp = TopicPartition::new(topic.topic.0.as_str(), part.partition_index);
                let Some((hosted, role)) = sent.get(&tp) else {
                    continue;
                };
                if !matches!(role, Role::Follower { leader: l, .. } if *l == leader) {
                    continue;
                }
                match apply(&tp, hosted, role, part) {
                    Applied::Done(served) => progressed |= served,
                    Applied::Appended(a) => appended.push(a),
                    Applied::Restarted(at) => {
                        progressed = true;
                        restarted.push((tp, *hosted, at));
                    }
                }
            }
        }
        appended
    });
    for a in appended {
        progressed |= a.settle().await;
    }
    // Before the next fetch appends anything after the restart.
    if let Some(store) = &ctx.remote {
        for (tp, hosted, at) in restarted {
            crate::tiering::adopt_after_restart(store, &ctx.cluster, &tp, hosted, at).await;
        }
    }
    Ok(progressed)
}

pub(super) fn epoch_of(hosted: &Hosted) -> i32 {
    hosted.replica.read(|p| p.role().epoch())
}

fn params_of(hosted: &Hosted) -> PartitionParams {
    PartitionParams {
        fetch_offset: hosted.log.end_offset(),
        log_start_offset: hosted.log.start_offset(),
        current_leader_epoch: epoch_of(hosted),
        max_bytes: PARTITION_MAX_BYTES,
    }
}

fn fetch_request(me: BrokerId, out: &Outgoing) -> FetchRequest {
    let sent = (out.send.iter()).map(|(tp, params)| {
        let partition = FetchPartition::default()
            .with_partition(tp.partition)
            .with_current_leader_epoch(params.current_leader_epoch)
            .with_fetch_offset(params.fetch_offset)
            .with_log_start_offset(params.log_start_offset)
            .with_partition_max_bytes(params.max_bytes);
        (tp.topic.as_str(), partition)
    });
    let topics = (by_topic(sent).into_iter())
        .map(|(topic, partitions)| {
            FetchTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(partitions)
        })
        .collect();
    let forget = (out.forget.iter()).map(|tp| (tp.topic.as_str(), tp.partition));
    let forgotten = (by_topic(forget).into_iter())
        .map(|(topic, partitions)| {
            ForgottenTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(partitions)
        })
        .collect();
    FetchRequest::default()
        .with_replica_id(KafkaBrokerId(me))
        .with_max_wait_ms(FETCH_WAIT_MS)
        .with_min_bytes(1)
        .with_max_bytes(FETCH_MAX_BYTES)
        .with_session_id(out.session_id)
        .with_session_epoch(out.epoch)
        .with_topics(topics)
        .with_forgotten_topics_data(forgotten)
}

pub(super) fn topic_name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_owned()))
}

/// What applying one partition's fetch answer left to do.
enum Applied<'a> {
    /// Nothing: whether the partition was served.
    Done(bool),
    /// Its batches are appended; the answer's marks apply once they are durable.
    Appended(Appending<'a>),
    /// Its log started over, empty, at this offset: the leader's local log start.
    Restarted(i64),
}

/// A partition whose fetched batches are appended.
struct Appending<'a> {
    tp: TopicPartition,
    hosted: &'a Hosted,
    /// The last append's, when the partition's flush policy makes appends wait for their fsync.
    durable: Option<Durable>,
    high_watermark: i64,
    log_start_offset: i64,
}

/// Applies one partition's fetch answer up to its appends.
fn apply<'a>(
    tp: &TopicPartition,
    hosted: &'a Hosted,
    role: &Role,
    part: chronik_kafka::kafka_protocol::messages::fetch_response::PartitionData,
) -> Applied<'a> {
    if hosted.replica.read(|p| p.role() != role) {
        return Applied::Done(false);
    }
    // Below the leader's local log, what the remote tier holds is not copied: the replica
    // starts over at the leader's local log start.
    if part.error_code == ResponseError::OffsetOutOfRange.code()
        || part.error_code == ResponseError::OffsetMovedToTieredStorage.code()
    {
        return match out_of_range(tp, hosted, part.log_start_offset, part.high_watermark) {
            Some(at) => Applied::Restarted(at),
            None => Applied::Done(true),
        };
    }
    if part.error_code != 0 {
        tracing::debug!(partition = %tp, code = part.error_code, "leader refused the fetch; waiting for metadata");
        return Applied::Done(false);
    }
    let records = part.records.unwrap_or_default();
    let durable = match records.is_empty() {
        true => None,
        false => match append(tp, hosted, role, &records) {
            Ok(durable) => durable,
            Err(()) => return Applied::Done(false),
        },
    };
    Applied::Appended(Appending {
        tp: tp.clone(),
        hosted,
        durable,
        high_watermark: part.high_watermark,
        log_start_offset: part.log_start_offset,
    })
}

impl Appending<'_> {
    /// Waits until the appends are durable (the next fetch tells the leader they are here, and
    /// acks=all counts on that), then follows the leader's marks; returns whether the
    /// partition was served.
    async fn settle(self) -> bool {
        let (tp, hosted) = (&self.tp, self.hosted);
        if let Some(d) = self.durable
            && let Err(e) = d.wait_async().await
        {
            hosted.check_failed();
            tracing::warn!(partition = %tp, error = %e, "replicated batches not made durable");
            return false;
        }
        let end = hosted.log.end_offset();
        let high_watermark = (hosted.replica).update(|p| {
            p.follow_high_watermark(self.high_watermark, end);
            p.high_watermark()
        });
        follow_log_start(tp, hosted, self.log_start_offset.min(high_watermark));
        true
    }
}

/// Moves this replica's log start up to the leader's (DeleteRecords there), within what this
/// replica knows to be committed; the next fetch reports it, which the leader's DeleteRecords
/// waits for.
fn follow_log_start(tp: &TopicPartition, hosted: &Hosted, leader_start: i64) {
    if leader_start <= hosted.log.start_offset() {
        return;
    }
    if let Err(e) = hosted.log.advance_start(leader_start) {
        hosted.check_failed();
        tracing::warn!(partition = %tp, error = %e, "cannot move the log start to the leader's");
    }
}

/// Appends fetched batches verbatim (skipping any this log already holds); returns the last
/// append's durable handle.
fn append(
    tp: &TopicPartition,
    hosted: &Hosted,
    role: &Role,
    records: &Bytes,
) -> Result<Option<Durable>, ()> {
    let batches = match chronik_records::split_stored_batches(records, usize::MAX) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(partition = %tp, error = %e, "leader sent an invalid batch; fetching again");
            return Err(());
        }
    };
    // Appended under the replica's lock, role checked: once this broker leads the partition
    // (or follows another leader), nothing from this answer may reach the log.
    hosted.replica.read(|p| {
        if p.role() != role {
            return Err(());
        }
        let mut durable = None;
        for batch in batches {
            let bytes = &records[batch.range];
            if batch.header.last_offset() < hosted.log.end_offset() {
                continue;
            }
            match hosted.log.append_replicated(bytes, &batch.header) {
                Ok(info) => {
                    hosted.producers().apply_stored(bytes, &batch.header);
                    durable = Some(info.durable);
                }
                Err(e) => {
                    hosted.check_failed();
                    tracing::warn!(partition = %tp, error = %e, "cannot append a replicated batch");
                    return Err(());
                }
            }
        }
        Ok(durable)
    })
}

/// The leader does not have our fetch offset: it deleted older data (start over at its log
/// start) or we hold more than it (cut back to its log end).
/// Moves the log into the leader's range; returns the offset it started over at, when it did.
fn out_of_range(
    tp: &TopicPartition,
    hosted: &Hosted,
    leader_start: i64,
    leader_end: i64,
) -> Option<i64> {
    let log = &hosted.log;
    let restarting = log.end_offset() < leader_start;
    let result = if restarting {
        tracing::info!(partition = %tp, leader_start, "the leader deleted what this replica lacks; starting over at its log start");
        log.restart_at(leader_start)
    } else if leader_end >= 0 && log.end_offset() > leader_end {
        tracing::info!(partition = %tp, leader_end, "this replica is ahead of its leader; truncating");
        log.truncate_to(leader_end).map(drop)
    } else {
        return None;
    };
    let moved = match result {
        Ok(()) => {
            reset_producers(tp, hosted);
            true
        }
        Err(e) => {
            tracing::warn!(partition = %tp, error = %e, "cannot move the log to the leader's range");
            false
        }
    };
    let end = log.end_offset();
    let epoch = epoch_of(hosted);
    hosted.replica.update(|p| p.truncated(epoch, end));
    (moved && restarting).then_some(leader_start)
}
