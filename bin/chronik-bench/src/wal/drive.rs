//! The appenders of `wal`: C async tasks, task i appending to partition i % N, each awaiting
//! its append's durability before the next, so under `--fsync always` the only way to get more
//! than one append per fsync is group commit across tasks. Tasks rather than OS threads because
//! a broker serves its producers from tasks: a thread per appender would measure the cost of
//! waking threads (about 12 µs of CPU per append on two cores), not the storage engine.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use chronik_records::build_batch;
use chronik_wal::PartitionLog;

use crate::latency::Latency;

/// How often the progress bar is refreshed (and the deadline checked between refreshes).
const TICK: Duration = Duration::from_millis(100);

/// When the appenders stop.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    Duration(Duration),
    /// At least this many records; whole batches, so up to one batch more.
    Records(u64),
}

/// What the appenders did, counted from acknowledged (durable) appends.
pub struct Outcome {
    pub records: u64,
    pub appends: u64,
    pub elapsed: Duration,
    pub latency: Latency,
}

/// One appender's job.
pub struct Workload<'a> {
    pub logs: &'a [Arc<PartitionLog>],
    pub concurrency: usize,
    pub batch_records: usize,
    pub record_size: usize,
    pub limit: Limit,
}

/// State every appender shares.
struct Shared {
    stop: AtomicBool,
    claimed: AtomicU64,
    acked: AtomicU64,
    budget: Option<u64>,
    batch_records: u64,
}

impl Shared {
    fn new(work: &Workload<'_>) -> Self {
        Self {
            stop: AtomicBool::new(false),
            claimed: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            budget: match work.limit {
                Limit::Records(n) => Some(n),
                Limit::Duration(_) => None,
            },
            batch_records: work.batch_records as u64,
        }
    }

    /// Claims the next batch, or says to stop.
    fn take_batch(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return false;
        }
        match self.budget {
            None => true,
            Some(budget) => {
                self.claimed
                    .fetch_add(self.batch_records, Ordering::Relaxed)
                    < budget
            }
        }
    }
}

/// Runs the appenders until the limit, showing progress on `bar`.
pub fn run(work: &Workload<'_>, bar: &indicatif::ProgressBar) -> Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_tasks(work, bar))
}

async fn run_tasks(work: &Workload<'_>, bar: &indicatif::ProgressBar) -> Result<Outcome> {
    let shared = Arc::new(Shared::new(work));
    let value = vec![b'x'; work.record_size];
    let batch: Arc<[u8]> =
        build_batch(&vec![value.as_slice(); work.batch_records], now_ms()).into();
    // Every task is spawned before the clock starts; they wait at this gate.
    let gate = Arc::new(tokio::sync::Barrier::new(work.concurrency + 1));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..work.concurrency {
        let log = work.logs[i % work.logs.len()].clone();
        let (shared, gate, batch) = (shared.clone(), gate.clone(), batch.clone());
        tasks.spawn(async move {
            gate.wait().await;
            let result = append_loop(&log, &batch, &shared).await;
            if result.is_err() {
                shared.stop.store(true, Ordering::Relaxed);
            }
            result
        });
    }
    gate.wait().await;
    let started = Instant::now();
    let latency = watch(work.limit, started, &shared, &mut tasks, bar).await?;
    Ok(Outcome {
        records: shared.acked.load(Ordering::Relaxed),
        appends: latency.count(),
        elapsed: started.elapsed(),
        latency,
    })
}

/// Appends the batch until told to stop; each append awaits its durability.
async fn append_loop(log: &PartitionLog, batch: &[u8], shared: &Shared) -> Result<Latency> {
    let mut latency = Latency::new();
    let mut buf = batch.to_vec();
    while shared.take_batch() {
        // The log rewrites the base offset and leader epoch in place: start from the template.
        buf.copy_from_slice(batch);
        let began = Instant::now();
        let info = log
            .append(&mut buf, 0)
            .with_context(|| format!("appending to {}", log.name()))?;
        info.durable
            .wait_async()
            .await
            .with_context(|| format!("waiting for durability on {}", log.name()))?;
        latency.record(began.elapsed());
        shared
            .acked
            .fetch_add(shared.batch_records, Ordering::Relaxed);
        // An append that need not wait for an fsync resolves at once; without yielding, a few
        // appenders would hold the runtime's threads and starve the others and the deadline.
        tokio::task::yield_now().await;
    }
    Ok(latency)
}

/// Refreshes progress until every appender has finished, raising the stop flag at the deadline,
/// and merges the appenders' histograms; the first failure wins.
async fn watch(
    limit: Limit,
    started: Instant,
    shared: &Shared,
    tasks: &mut tokio::task::JoinSet<Result<Latency>>,
    bar: &indicatif::ProgressBar,
) -> Result<Latency> {
    let deadline = match limit {
        Limit::Duration(d) => Some(started + d),
        Limit::Records(_) => None,
    };
    let mut total = Latency::new();
    let mut first_error = None;
    let mut ticker = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                None => break,
                Some(Ok(Ok(latency))) => total.merge(&latency)?,
                Some(Ok(Err(e))) => {
                    first_error.get_or_insert(e);
                }
                Some(Err(e)) => {
                    first_error.get_or_insert(anyhow!("an appender task failed: {e}"));
                }
            },
            _ = ticker.tick() => {
                bar.set_position(shared.acked.load(Ordering::Relaxed));
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    shared.stop.store(true, Ordering::Relaxed);
                }
            }
        }
    }
    bar.finish_and_clear();
    first_error.map_or(Ok(total), Err)
}

/// Wall-clock milliseconds, the records' timestamp.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
