//! The mechanics of throttling: the throttle time written into a response, the connection
//! muted meanwhile, and the handling time a request's futures spend being polled.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use chronik_kafka::kafka_protocol::messages::ResponseKind;

/// A connection's throttle: it reads no request before this instant.
#[derive(Debug, Default)]
pub(crate) struct Mute {
    until: Mutex<Option<Instant>>,
}

impl Mute {
    /// Mutes the connection until `deadline` (or longer, if it already is).
    pub fn until(&self, deadline: Instant) {
        let mut until = self.until.lock().unwrap_or_else(|p| p.into_inner());
        *until = Some(until.map_or(deadline, |u| u.max(deadline)));
    }

    /// When the connection may read again, if it is muted now.
    pub fn muted_until(&self) -> Option<Instant> {
        let until = *self.until.lock().unwrap_or_else(|p| p.into_inner());
        until.filter(|u| *u > Instant::now())
    }
}

/// A future whose time being polled (the handling work itself, not its waits) is added to a
/// counter, for the request quota.
pub(crate) struct Timed<F> {
    inner: Pin<Box<F>>,
    busy: Arc<AtomicU64>,
}

impl<F: Future> Timed<F> {
    pub fn new(inner: F, busy: Arc<AtomicU64>) -> Self {
        Timed {
            inner: Box::pin(inner),
            busy,
        }
    }
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let started = Instant::now();
        let polled = self.inner.as_mut().poll(cx);
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.busy.fetch_add(nanos, Ordering::Relaxed);
        polled
    }
}

/// Writes `throttle` into the response's `throttle_time_ms`, for versions that have it (an
/// older client is throttled by the muted connection alone).
pub(crate) fn set_throttle_time(body: &mut ResponseKind, version: i16, throttle: Duration) {
    let ms = i32::try_from(throttle.as_millis()).unwrap_or(i32::MAX);
    macro_rules! throttled {
        ($($kind:ident since $v:literal),* $(,)?) => {
            match body {
                $(ResponseKind::$kind(r) if version >= $v => r.throttle_time_ms = ms,)*
                _ => {}
            }
        };
    }
    throttled!(
        Produce since 1,
        Fetch since 1,
        ListOffsets since 2,
        Metadata since 3,
        OffsetCommit since 3,
        OffsetFetch since 3,
        FindCoordinator since 1,
        JoinGroup since 2,
        Heartbeat since 1,
        LeaveGroup since 1,
        SyncGroup since 1,
        DescribeGroups since 1,
        ListGroups since 1,
        CreateTopics since 2,
        DeleteTopics since 1,
        DeleteRecords since 0,
        InitProducerId since 0,
        OffsetForLeaderEpoch since 2,
        AddPartitionsToTxn since 0,
        AddOffsetsToTxn since 0,
        EndTxn since 0,
        TxnOffsetCommit since 0,
        DescribeConfigs since 0,
        AlterConfigs since 0,
        DescribeLogDirs since 0,
        CreatePartitions since 0,
        DeleteGroups since 0,
        ElectLeaders since 0,
        IncrementalAlterConfigs since 0,
        AlterPartitionReassignments since 0,
        ListPartitionReassignments since 0,
        OffsetDelete since 0,
        DescribeClientQuotas since 0,
        AlterClientQuotas since 0,
        DescribeCluster since 0,
        DescribeProducers since 0,
        DescribeTransactions since 0,
        ListTransactions since 0,
        ConsumerGroupHeartbeat since 0,
        ConsumerGroupDescribe since 0,
    );
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chronik_kafka::kafka_protocol::messages::ResponseKind;

    use super::set_throttle_time;

    /// Every served version of every response type encodes with a throttle time set: a
    /// version the table wrongly says has the field would fail to encode.
    #[test]
    fn throttle_times_encode_in_every_served_version() {
        for &(api, low, high) in chronik_kafka::SUPPORTED {
            let Some(body) = chronik_kafka::default_response(api) else {
                continue;
            };
            for version in low..=high {
                let mut body = body.clone();
                set_throttle_time(&mut body, version, Duration::from_millis(250));
                let encoded = chronik_kafka::encode_response(api, version, 1, body);
                assert!(encoded.is_ok(), "{api:?} v{version}: {encoded:?}");
            }
        }
    }

    #[test]
    fn versions_before_the_field_are_left_alone() {
        let mut metadata = ResponseKind::Metadata(Default::default());
        set_throttle_time(&mut metadata, 2, Duration::from_millis(5));
        assert!(matches!(&metadata, ResponseKind::Metadata(r) if r.throttle_time_ms == 0));
        let mut produce = ResponseKind::Produce(Default::default());
        set_throttle_time(&mut produce, 7, Duration::from_secs(3));
        assert!(matches!(&produce, ResponseKind::Produce(r) if r.throttle_time_ms == 3000));
    }
}
