//! Client quotas as Kafka enforces them: produce and fetch byte rates and the share of request
//! handling time (`request_percentage`), per user, client id or both, with defaults, read
//! from the replicated metadata so every broker holds clients to the same limits (each broker
//! measures the traffic it serves, as in Kafka). A client over a quota is not refused: its
//! response carries the time to wait (`throttle_time_ms`) and its connection reads no further
//! request until then (KIP-219). A consumer over its fetch quota gets an empty response, so
//! the data it would have got does not count against it.
//!
//! A client that did not authenticate is the user `ANONYMOUS`, as in Kafka; one that did is
//! its principal's name (its SASL user, or its certificate's subject CN).

mod rate;
mod resolve;
mod throttle;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chronik_kafka::kafka_protocol::messages::{ApiKey, ResponseKind};
use chronik_metadata::MetadataState;
use chronik_metadata::quotas::{CLIENT_ID, CONSUMER_BYTE_RATE, PRODUCER_BYTE_RATE};
use chronik_metadata::quotas::{REQUEST_PERCENTAGE, USER};
use tokio::sync::watch;

use crate::cluster::Cluster;
use rate::WindowedRate;
use resolve::{Limits, Part, SensorKey, resolve};

pub(crate) use throttle::{Mute, Timed};

/// A sensor unused this long is dropped; a client coming back starts with a fresh window.
const SENSOR_EXPIRY: Duration = Duration::from_secs(600);
/// Resolutions cached at most; beyond that the cache starts over.
const MAX_RESOLVED: usize = 10_000;
/// Sensors kept at most (each a client's usage of one quota).
const MAX_SENSORS: usize = 100_000;

/// What a quota limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum QuotaKind {
    /// Bytes of produce requests per second.
    Produce,
    /// Record bytes of fetch responses per second (consumers only).
    Fetch,
    /// Percent of one thread's time spent handling the client's requests.
    Request,
}

impl QuotaKind {
    fn key(self) -> &'static str {
        match self {
            QuotaKind::Produce => PRODUCER_BYTE_RATE,
            QuotaKind::Fetch => CONSUMER_BYTE_RATE,
            QuotaKind::Request => REQUEST_PERCENTAGE,
        }
    }

    fn label(self) -> &'static str {
        match self {
            QuotaKind::Produce => "produce",
            QuotaKind::Fetch => "fetch",
            QuotaKind::Request => "request",
        }
    }
}

/// The broker's quota limits and the usage it measured.
pub(crate) struct Quotas {
    cluster: Arc<Cluster>,
    /// The metadata version, read without a lock on every request.
    version: watch::Receiver<u64>,
    /// The metadata version the limits were read at (`u64::MAX` before the first read).
    loaded: AtomicU64,
    /// Whether any quota is configured, as of `loaded`.
    any: AtomicBool,
    inner: Mutex<Inner>,
}

/// The sensor a client's usage is counted in, and its quota.
type Applied = (SensorKey, f64);

struct Inner {
    limits: Limits,
    /// Which sensor and quota a (user, client id)'s usage of a kind goes to, if any.
    resolved: HashMap<(Arc<str>, Arc<str>, QuotaKind), Option<Applied>>,
    sensors: HashMap<(QuotaKind, SensorKey), WindowedRate>,
    last_sweep: Instant,
}

impl Quotas {
    pub fn new(cluster: Arc<Cluster>) -> Self {
        let inner = Inner {
            limits: Limits::new(),
            resolved: HashMap::new(),
            sensors: HashMap::new(),
            last_sweep: Instant::now(),
        };
        Quotas {
            version: cluster.subscribe(),
            cluster,
            loaded: AtomicU64::new(u64::MAX),
            any: AtomicBool::new(false),
            inner: Mutex::new(inner),
        }
    }

    /// Whether any quota is configured: without one, requests skip all accounting (and take
    /// no lock).
    pub fn active(&self) -> bool {
        let version = *self.version.borrow();
        if self.loaded.load(Ordering::Acquire) != version {
            drop(self.lock());
        }
        self.any.load(Ordering::Acquire)
    }

    /// Counts `value` of `kind` for a client; how long it must now wait (zero when within its
    /// quota or when none applies).
    pub fn record(
        &self,
        kind: QuotaKind,
        user: &Arc<str>,
        client: &Arc<str>,
        value: f64,
    ) -> Duration {
        let now = Instant::now();
        let mut inner = self.lock();
        let Some((sensor, quota)) = inner.resolve(kind, user, client) else {
            return Duration::ZERO;
        };
        let rate = inner.sensor(kind, sensor, now);
        rate.record(value, now);
        rate.throttle_time(quota, now)
    }

    /// Takes back a value [`Quotas::record`] counted.
    pub fn unrecord(&self, kind: QuotaKind, user: &Arc<str>, client: &Arc<str>, value: f64) {
        let mut inner = self.lock();
        if let Some((sensor, _)) = inner.resolve(kind, user, client)
            && let Some(rate) = inner.sensors.get_mut(&(kind, sensor))
        {
            rate.unrecord(value, Instant::now());
        }
    }

    /// The state, with the limits read again if the metadata changed since.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let version = *self.version.borrow();
        if self.loaded.load(Ordering::Acquire) != version {
            let limits = self.cluster.metadata(limits_of);
            if limits != inner.limits {
                inner.limits = limits;
                inner.resolved.clear();
            }
            self.any.store(!inner.limits.is_empty(), Ordering::Release);
            self.loaded.store(version, Ordering::Release);
        }
        inner.sweep(Instant::now());
        inner
    }
}

impl Inner {
    fn resolve(
        &mut self,
        kind: QuotaKind,
        user: &Arc<str>,
        client: &Arc<str>,
    ) -> Option<(SensorKey, f64)> {
        let key = (user.clone(), client.clone(), kind);
        if let Some(found) = self.resolved.get(&key) {
            return found.clone();
        }
        if self.resolved.len() >= MAX_RESOLVED {
            self.resolved.clear();
        }
        let found = resolve(&self.limits, user, client, kind.key());
        self.resolved.insert(key, found.clone());
        found
    }

    /// The sensor of `sensor`'s `kind`, made when missing; at [`MAX_SENSORS`] an arbitrary
    /// one goes first (its client starts a fresh window), so clients cycling through client
    /// ids cannot grow the broker's memory.
    fn sensor(&mut self, kind: QuotaKind, sensor: SensorKey, now: Instant) -> &mut WindowedRate {
        let key = (kind, sensor);
        if !self.sensors.contains_key(&key) && self.sensors.len() >= MAX_SENSORS {
            let victim = self.sensors.keys().next().cloned();
            if let Some(victim) = victim {
                self.sensors.remove(&victim);
            }
        }
        self.sensors
            .entry(key)
            .or_insert_with(|| WindowedRate::new(now))
    }

    fn sweep(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_sweep) < SENSOR_EXPIRY / 10 {
            return;
        }
        self.last_sweep = now;
        self.sensors
            .retain(|_, rate| !rate.idle_for(SENSOR_EXPIRY, now));
    }
}

/// The configured quotas in the shape [`resolve`] looks them up in.
fn limits_of(state: &MetadataState) -> Limits {
    let part = |name: Option<Option<&str>>| match name {
        None => Part::Absent,
        Some(None) => Part::Default,
        Some(Some(n)) => Part::Named(n.to_owned()),
    };
    (state.client_quotas().iter())
        .map(|(entity, values)| {
            let at = (part(entity.name_of(USER)), part(entity.name_of(CLIENT_ID)));
            let values = (values.iter()).map(|(k, v)| (k.clone(), v.0)).collect();
            (at, values)
        })
        .collect()
}

/// A client id as quotas count it: a longer one than any quota entity may name (255 bytes) is
/// shortened to a prefix and a hash of the whole, still longer than any entity name, so the
/// broker keeps at most a few hundred bytes per client however long the ids clients send.
fn bounded_client_id(client_id: &str) -> std::borrow::Cow<'_, str> {
    const KEPT: usize = 240;
    if client_id.len() <= chronik_metadata::quotas::MAX_QUOTA_NAME_LEN {
        return client_id.into();
    }
    let mut end = KEPT;
    while !client_id.is_char_boundary(end) {
        end -= 1;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(client_id, &mut hasher);
    let hash = std::hash::Hasher::finish(&hasher);
    format!("{}...#{hash:016x}", &client_id[..end]).into()
}

/// One request's part in the quotas: who sent it, what it cost, and its connection, which
/// stops reading requests while the client is throttled.
#[derive(Clone)]
pub(crate) struct Throttling {
    quotas: Arc<Quotas>,
    user: Arc<str>,
    client_id: Arc<str>,
    mute: Arc<Mute>,
    /// Handling time (nanoseconds) not yet counted against the request quota.
    busy: Arc<AtomicU64>,
    request_bytes: usize,
}

impl Throttling {
    pub fn new(
        quotas: Arc<Quotas>,
        user: &str,
        client_id: &str,
        mute: Arc<Mute>,
        request_bytes: usize,
    ) -> Self {
        Throttling {
            quotas,
            user: Arc::from(user),
            client_id: Arc::from(bounded_client_id(client_id).as_ref()),
            mute,
            busy: Arc::default(),
            request_bytes,
        }
    }

    /// Where the time spent handling this request adds up (see [`Timed`]).
    pub fn busy(&self) -> Arc<AtomicU64> {
        self.busy.clone()
    }

    /// Counts handling time measured after the response was settled, muting the connection
    /// if that puts the client over its request quota.
    pub fn count_late(&self) {
        let late = self.count_busy();
        if !late.is_zero() {
            self.mute.until(Instant::now() + late);
        }
    }

    /// Counts the handling time measured so far against the request quota.
    fn count_busy(&self) -> Duration {
        let nanos = self.busy.swap(0, Ordering::Relaxed);
        // request_percentage is percent of one thread: percent-seconds per second.
        let percent_seconds = nanos as f64 * 100.0 / 1e9;
        self.record(QuotaKind::Request, percent_seconds)
    }

    /// Counts a consumer's fetched bytes; when that puts it over its quota they are taken
    /// back, and the fetch must be answered without data, with the returned throttle time.
    pub fn fetched(&self, bytes: usize) -> Duration {
        let throttle = self.record(QuotaKind::Fetch, bytes as f64);
        if !throttle.is_zero() {
            (self.quotas).unrecord(QuotaKind::Fetch, &self.user, &self.client_id, bytes as f64);
        }
        throttle
    }

    /// Settles the request's quotas when its response (`None` for acks=0) is ready: the
    /// longest throttle any of them asks for goes into the response, when its version has
    /// the field, and mutes the connection.
    pub fn on_reply(&self, api: ApiKey, version: i16, body: Option<&mut ResponseKind>) {
        let mut throttle = self.count_busy();
        if api == ApiKey::Produce {
            throttle = throttle.max(self.record(QuotaKind::Produce, self.request_bytes as f64));
        }
        if let Some(ResponseKind::Fetch(r)) = &body {
            let fetch = Duration::from_millis(u64::try_from(r.throttle_time_ms).unwrap_or(0));
            throttle = throttle.max(fetch);
        }
        if throttle.is_zero() {
            return;
        }
        if let Some(body) = body {
            throttle::set_throttle_time(body, version, throttle);
        }
        self.mute.until(Instant::now() + throttle);
    }

    fn record(&self, kind: QuotaKind, value: f64) -> Duration {
        let throttle = (self.quotas).record(kind, &self.user, &self.client_id, value);
        if !throttle.is_zero() {
            metrics::counter!("chronik_broker_throttled_responses_total", "quota" => kind.label())
                .increment(1);
            metrics::counter!("chronik_broker_throttle_milliseconds_total", "quota" => kind.label())
                .increment(throttle.as_millis() as u64);
        }
        throttle
    }
}

#[cfg(test)]
mod tests {
    use super::bounded_client_id;

    #[test]
    fn long_client_ids_are_bounded_and_never_match_a_named_quota() {
        assert_eq!(bounded_client_id("producer-1"), "producer-1");
        let long = "é".repeat(300);
        let bounded = bounded_client_id(&long);
        assert!(bounded.len() > chronik_metadata::quotas::MAX_QUOTA_NAME_LEN);
        assert!(bounded.len() < 300, "{}", bounded.len());
        assert_eq!(
            bounded,
            bounded_client_id(&long),
            "the same id, the same key"
        );
        let other = format!("{long}x");
        assert_ne!(
            bounded,
            bounded_client_id(&other),
            "ids differing past the prefix"
        );
    }
}
