//! A consumer-group member (classic protocol, range assignor) reading one topic.
//!
//! [`GroupConsumer::join`] finds the group's coordinator (FindCoordinator), joins (JoinGroup,
//! answering MEMBER_ID_REQUIRED), and syncs (SyncGroup; as leader it computes every member's
//! range assignment). It then reads its partitions from the group's committed offsets (or the
//! reset position when none is committed) with a [`Consumer`]. A background task heartbeats
//! every `heartbeat_interval`; when the coordinator asks for a rebalance, expires the member or
//! moves, the next [`GroupConsumer::poll`] commits what it can and joins again.
//! [`GroupConsumer::close`] commits and leaves the group (LeaveGroup); dropping the consumer
//! without closing only stops the heartbeats, and the coordinator expires the member after its
//! session timeout.

mod offsets;
pub(crate) mod rpc;
mod wire;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use tokio::task::JoinHandle;

use crate::cluster::Client;
use crate::consumer::{Consumer, ConsumerConfig, StartAt};
use crate::records::FetchedBatch;
use crate::{ClientError, Result};
use rpc::Coordinator;

pub use offsets::GroupOffsets;

#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// The coordinator expires the member after this long without a heartbeat.
    pub session_timeout: Duration,
    /// How long the coordinator waits for members to rejoin during a rebalance; JoinGroup is held
    /// that long, so it must be below the client's request timeout.
    pub rebalance_timeout: Duration,
    pub heartbeat_interval: Duration,
    /// Where to start in a partition the group has no committed offset for.
    pub reset: StartAt,
    pub fetch: ConsumerConfig,
    /// Pause between retries of failed group calls.
    pub retry_backoff: Duration,
}

impl Default for GroupConfig {
    fn default() -> Self {
        Self {
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(25),
            heartbeat_interval: Duration::from_secs(3),
            reset: StartAt::Earliest,
            fetch: ConsumerConfig::default(),
            retry_backoff: Duration::from_millis(200),
        }
    }
}

/// Why the member must rejoin, set by the heartbeat task or a failed commit.
type Signal = Arc<Mutex<Option<ClientError>>>;

pub struct GroupConsumer {
    coord: Arc<Coordinator>,
    topic: String,
    cfg: GroupConfig,
    member_id: String,
    generation: i32,
    consumer: Consumer,
    signal: Signal,
    heartbeat: Option<JoinHandle<()>>,
}

impl Drop for GroupConsumer {
    fn drop(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
    }
}

fn ms(d: Duration) -> Result<i32> {
    i32::try_from(d.as_millis())
        .map_err(|_| ClientError::InvalidInput(format!("{d:?} is too long for the protocol")))
}

fn broker_code(e: &ClientError) -> Option<ResponseError> {
    match e {
        ClientError::Broker { code, .. } => Some(*code),
        ClientError::RetriesExhausted { last, .. } => broker_code(last),
        _ => None,
    }
}

/// Whether `e` means the coordinator is gone or moved (find it again).
fn coordinator_lost(e: &ClientError) -> bool {
    matches!(e, ClientError::Network { .. } | ClientError::Timeout { .. })
        || matches!(
            broker_code(e),
            Some(
                ResponseError::NotCoordinator
                    | ResponseError::CoordinatorNotAvailable
                    | ResponseError::CoordinatorLoadInProgress
            )
        )
}

fn lock(s: &Signal) -> std::sync::MutexGuard<'_, Option<ClientError>> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

impl GroupConsumer {
    /// Joins `group` subscribed to `topic` and waits for this member's assignment.
    pub async fn join(client: Client, group: &str, topic: &str, cfg: GroupConfig) -> Result<Self> {
        let request_timeout = client.config().request_timeout;
        if cfg.rebalance_timeout >= request_timeout {
            return Err(ClientError::InvalidInput(format!(
                "the rebalance timeout ({:?}) must be below the request timeout ({request_timeout:?}): JoinGroup is held that long",
                cfg.rebalance_timeout
            )));
        }
        if cfg.heartbeat_interval.is_zero() || cfg.heartbeat_interval >= cfg.session_timeout {
            return Err(ClientError::InvalidInput(
                "the heartbeat interval must be above zero and below the session timeout".into(),
            ));
        }
        let addr = rpc::find_coordinator(&client, group).await?;
        let coord = Arc::new(Coordinator {
            client: client.clone(),
            addr,
            group: group.to_owned(),
        });
        let consumer = Consumer::at(client, topic, BTreeMap::new(), cfg.fetch.clone());
        let mut me = GroupConsumer {
            coord,
            topic: topic.to_owned(),
            cfg,
            member_id: String::new(),
            generation: -1,
            consumer,
            signal: Signal::default(),
            heartbeat: None,
        };
        me.rejoin().await?;
        Ok(me)
    }

    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// This member's partitions and the next offset it reads in each.
    pub fn positions(&self) -> &BTreeMap<i32, i64> {
        self.consumer.positions()
    }

    /// Rejoins first when the group asked for it, then fetches from the assigned partitions
    /// (waits one fetch wait and returns nothing when none is assigned).
    pub async fn poll(&mut self) -> Result<Vec<FetchedBatch>> {
        let pending = lock(&self.signal).take();
        if let Some(reason) = pending {
            tracing::info!(group = %self.coord.group, %reason, "rejoining the group");
            if broker_code(&reason) == Some(ResponseError::RebalanceInProgress) {
                // The generation is still valid until we rejoin: keep what was consumed.
                if let Err(e) = self.commit_positions().await {
                    tracing::warn!(group = %self.coord.group, error = %e, "commit before rejoining failed");
                }
            }
            if broker_code(&reason) == Some(ResponseError::UnknownMemberId) {
                self.member_id.clear();
            }
            if coordinator_lost(&reason) {
                self.find_coordinator().await?;
            }
            self.rejoin().await?;
        }
        if self.consumer.positions().is_empty() {
            tokio::time::sleep(self.cfg.fetch.max_wait).await;
            return Ok(Vec::new());
        }
        self.consumer.poll().await
    }

    /// Commits the current positions (the next offset to read in each assigned partition).
    /// A commit the coordinator refuses because the group moved on makes the next poll rejoin.
    pub async fn commit(&mut self) -> Result<()> {
        let result = self.commit_positions().await;
        if let Err(e) = &result
            && (coordinator_lost(e)
                || matches!(
                    broker_code(e),
                    Some(
                        ResponseError::RebalanceInProgress
                            | ResponseError::IllegalGeneration
                            | ResponseError::UnknownMemberId
                    )
                ))
        {
            lock(&self.signal).get_or_insert_with(|| e.clone());
        }
        result
    }

    /// Stops heartbeating, commits and leaves the group; the first failure is returned (the
    /// leave is attempted even when the commit failed).
    pub async fn close(mut self) -> Result<()> {
        self.stop_heartbeat();
        let committed = self.commit_positions().await;
        let left = if self.member_id.is_empty() {
            Ok(())
        } else {
            self.coord.leave(&self.member_id).await
        };
        committed.and(left)
    }

    async fn commit_positions(&self) -> Result<()> {
        let positions = self.consumer.positions();
        if positions.is_empty() || self.member_id.is_empty() {
            return Ok(());
        }
        (self.coord)
            .commit(self.generation, &self.member_id, &self.topic, positions)
            .await
    }

    async fn find_coordinator(&mut self) -> Result<()> {
        let addr = rpc::find_coordinator(&self.coord.client, &self.coord.group).await?;
        self.coord = Arc::new(Coordinator {
            client: self.coord.client.clone(),
            addr,
            group: self.coord.group.clone(),
        });
        Ok(())
    }

    fn stop_heartbeat(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
    }

    /// JoinGroup and SyncGroup until this member has a generation and an assignment, retrying
    /// what a rebalance or a coordinator move makes fail, for at most a rebalance timeout plus a
    /// request timeout.
    async fn rejoin(&mut self) -> Result<()> {
        self.stop_heartbeat();
        let deadline = Instant::now()
            + self.cfg.rebalance_timeout
            + self.coord.client.config().request_timeout;
        loop {
            let err = match self.join_and_sync().await {
                Ok(assignment) => return self.start(assignment).await,
                Err(e) => e,
            };
            let code = broker_code(&err);
            let retry = coordinator_lost(&err)
                || matches!(
                    code,
                    Some(
                        ResponseError::MemberIdRequired
                            | ResponseError::UnknownMemberId
                            | ResponseError::RebalanceInProgress
                            | ResponseError::IllegalGeneration
                    )
                );
            if !retry || Instant::now() + self.cfg.retry_backoff >= deadline {
                return Err(err);
            }
            tracing::debug!(group = %self.coord.group, error = %err, "retrying the group join");
            match code {
                Some(ResponseError::MemberIdRequired | ResponseError::RebalanceInProgress) => {}
                Some(ResponseError::UnknownMemberId) => self.member_id.clear(),
                _ => tokio::time::sleep(self.cfg.retry_backoff).await,
            }
            if coordinator_lost(&err)
                && let Err(e) = self.find_coordinator().await
            {
                tracing::debug!(group = %self.coord.group, error = %e, "coordinator not found yet");
            }
        }
    }

    /// One JoinGroup + SyncGroup round: this member's partitions of the topic.
    async fn join_and_sync(&mut self) -> Result<Vec<i32>> {
        let metadata = wire::subscription(std::slice::from_ref(&self.topic))?;
        let (session, rebalance) = (
            ms(self.cfg.session_timeout)?,
            ms(self.cfg.rebalance_timeout)?,
        );
        let (code, joined) = (self.coord)
            .join(&self.member_id, session, rebalance, metadata)
            .await?;
        if code == ResponseError::MemberIdRequired.code() {
            // The coordinator named us; join again with that id.
            self.member_id = joined.member_id.clone();
        }
        let group = self.coord.group.clone();
        ClientError::check(code, || format!("join group {group}"))?;
        if let Some(p) = joined.protocol.as_deref().filter(|p| *p != wire::RANGE) {
            return Err(ClientError::InvalidInput(format!(
                "group {group} chose assignor {p}; this client only speaks {}",
                wire::RANGE
            )));
        }
        self.member_id = joined.member_id.clone();
        self.generation = joined.generation;
        let assignments = if joined.leader == joined.member_id {
            self.assign(&joined.members).await?
        } else {
            Vec::new()
        };
        let (code, data) = (self.coord)
            .sync(self.generation, &self.member_id, assignments)
            .await?;
        ClientError::check(code, || format!("sync group {group}"))?;
        let mut assignment = wire::decode_assignment(data)?;
        Ok(assignment.remove(&self.topic).unwrap_or_default())
    }

    /// The leader's job: every member's range assignment over their subscriptions.
    async fn assign(
        &self,
        members: &[(String, bytes::Bytes)],
    ) -> Result<Vec<(String, bytes::Bytes)>> {
        let mut subscriptions = BTreeMap::new();
        for (id, metadata) in members {
            subscriptions.insert(id.clone(), wire::decode_subscription(metadata.clone())?);
        }
        let mut topics: Vec<String> = subscriptions.values().flatten().cloned().collect();
        topics.sort_unstable();
        topics.dedup();
        let client = &self.coord.client;
        client.refresh_metadata(&topics).await?;
        let meta = client.metadata();
        let partitions = (topics.iter())
            .filter_map(|t| {
                let parts = meta.topics.get(t)?;
                Some((t.clone(), parts.iter().map(|p| p.partition).collect()))
            })
            .collect();
        let plan = wire::range_assign(&subscriptions, &partitions);
        tracing::debug!(group = %self.coord.group, ?plan, "range assignment");
        plan.iter()
            .map(|(member, a)| Ok((member.clone(), wire::assignment(a)?)))
            .collect()
    }

    /// Reads `partitions` from their committed offsets and starts heartbeating.
    async fn start(&mut self, partitions: Vec<i32>) -> Result<()> {
        let client = self.coord.client.clone();
        let mut positions = self.coord.fetch_offsets(&self.topic, &partitions).await?;
        for &p in &partitions {
            if let std::collections::btree_map::Entry::Vacant(v) = positions.entry(p) {
                v.insert(self.cfg.reset.resolve(&client, &self.topic, p).await?);
            }
        }
        tracing::debug!(group = %self.coord.group, generation = self.generation, ?positions, "assigned");
        self.consumer = Consumer::at(client, &self.topic, positions, self.cfg.fetch.clone());
        self.heartbeat = Some(tokio::spawn(heartbeat(
            self.coord.clone(),
            self.generation,
            self.member_id.clone(),
            self.cfg.clone(),
            self.signal.clone(),
        )));
        Ok(())
    }
}

/// Heartbeats until the coordinator answers with an error (a rebalance, an expired member) or
/// cannot be reached for a session timeout; then records why in `signal` and stops.
async fn heartbeat(
    coord: Arc<Coordinator>,
    generation: i32,
    member_id: String,
    cfg: GroupConfig,
    signal: Signal,
) {
    let mut last_ok = Instant::now();
    loop {
        tokio::time::sleep(cfg.heartbeat_interval).await;
        let answer =
            tokio::time::timeout(cfg.session_timeout, coord.heartbeat(generation, &member_id));
        let err = match answer.await {
            Ok(Ok(0)) => {
                last_ok = Instant::now();
                continue;
            }
            Ok(Ok(code)) => {
                match ClientError::check(code, || format!("heartbeat in group {}", coord.group)) {
                    Err(e) => e,
                    Ok(()) => continue,
                }
            }
            Ok(Err(e)) if e.is_retriable() && last_ok.elapsed() < cfg.session_timeout => {
                tracing::debug!(group = %coord.group, error = %e, "heartbeat failed; retrying");
                continue;
            }
            Ok(Err(e)) => e,
            Err(_) => ClientError::Timeout {
                api: kafka_protocol::messages::ApiKey::Heartbeat,
                addr: coord.addr.to_string(),
                after: cfg.session_timeout,
            },
        };
        lock(&signal).get_or_insert(err);
        return;
    }
}
