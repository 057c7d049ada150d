//! `chronik-bench produce`: C independent producers (each with its own client and connection)
//! send fixed-size records; each keeps at most `--in-flight` records unacknowledged.
//!
//! Latency is from the record's intended send time to its acknowledgement. Without `--rate` the
//! intended time is when the producer was ready to send it; with `--rate` it is the record's slot
//! in the fixed schedule, so a stall shows up as latency instead of silently lowering the load
//! (no coordinated omission). The acknowledgement time is when the batch's answer reached the
//! client (stamped by the producer), however late the producer task gets to count it, and no
//! task is spawned per record. The first failed record stops new sends; the run then waits for
//! the records in flight (each bounded by `--timeout-ms`) and exits non-zero naming the errors.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use bytes::Bytes;
use chronik_client::{Acks, ClientError, Compression, Delivery, Producer, ProducerConfig};
use indicatif::ProgressBar;
use tokio::task::JoinSet;

use super::{BrokerReport, ConnArgs, ErrorTally, finish, prepare_topic};
use crate::latency::Latency;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AcksArg {
    #[value(name = "0")]
    Zero,
    #[value(name = "1")]
    One,
    All,
}

impl AcksArg {
    pub fn acks(self) -> Acks {
        match self {
            AcksArg::Zero => Acks::None,
            AcksArg::One => Acks::Leader,
            AcksArg::All => Acks::All,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompressionArg {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Partitions for `--create`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    pub partitions: i32,
    /// Create the topic first (an existing topic is used as is).
    #[arg(long)]
    pub create: bool,
    /// Stop after this many records (default: 10 s when neither this nor --duration is given).
    #[arg(long, conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
    pub records: Option<u64>,
    /// Run for this many seconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: Option<u64>,
    /// Value size of every record, in bytes (keys are null).
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// Bytes per batch before it is sent; 0 sends every record in its own batch.
    #[arg(long, default_value_t = 16 * 1024)]
    pub batch_size: usize,
    /// How long a partition waits for more records before sending a batch that is not full.
    #[arg(long, default_value_t = 0)]
    pub linger_ms: u64,
    /// 0: no answer; 1: the leader has it; all: every in-sync replica has it.
    #[arg(long, value_enum, default_value = "1")]
    pub acks: AcksArg,
    /// Independent producers, each with its own connection.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub concurrency: u64,
    /// Records each producer may have unacknowledged. 1 = send one record, wait for its ack,
    /// send the next (with --concurrency 128: 128 clients each doing one write at a time).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub in_flight: u64,
    /// Total records per second across all producers (default: as fast as possible).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub rate: Option<u64>,
    /// Idempotent producers (InitProducerId + sequence numbers); needs --acks all.
    #[arg(long)]
    pub idempotent: bool,
    /// Transactional producers (each its own transactional id; needs --idempotent): every
    /// producer adds all partitions to a transaction, sends this many records, waits for their
    /// acknowledgements and commits; the report adds the commit latency.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub transaction_records: Option<u64>,
    #[arg(long, value_enum, default_value = "none")]
    pub compression: CompressionArg,
}

impl ProduceArgs {
    pub fn producer_config(&self) -> ProducerConfig {
        ProducerConfig {
            acks: self.acks.acks(),
            batch_size: self.batch_size,
            linger: Duration::from_millis(self.linger_ms),
            compression: match self.compression {
                CompressionArg::None => Compression::None,
                CompressionArg::Gzip => Compression::Gzip,
                CompressionArg::Snappy => Compression::Snappy,
                CompressionArg::Lz4 => Compression::Lz4,
                CompressionArg::Zstd => Compression::Zstd,
            },
            idempotent: self.idempotent,
            delivery_timeout: self.conn.timeout(),
            retry_backoff: Duration::from_millis(100),
            max_in_flight: 5,
            queue_records: usize::try_from(self.in_flight).unwrap_or(usize::MAX),
            transactional_id: None,
            transaction_timeout: Duration::from_secs(60),
        }
    }
}

/// When sending stops.
#[derive(Clone, Copy)]
enum Stop {
    At(Instant),
    After(u64),
}

/// State the producers share.
struct Run {
    args: ProduceArgs,
    partitions: i32,
    payload: Bytes,
    stop: Stop,
    start: Instant,
    /// Wall-clock milliseconds at `start`.
    start_ms: i64,
    claimed: AtomicU64,
    abort: AtomicBool,
    bar: ProgressBar,
}

impl Run {
    /// A record's timestamp: its intended send time on the wall clock, in milliseconds (derived
    /// from the one clock read per record the latency needs anyway).
    fn wall_ms(&self, intended: Instant) -> i64 {
        let since = intended.saturating_duration_since(self.start).as_millis();
        self.start_ms
            .saturating_add(i64::try_from(since).unwrap_or(i64::MAX))
    }
}

/// What one producer saw.
#[derive(Default)]
struct Outcome {
    acked: u64,
    failed: u64,
    errors: ErrorTally,
    first_error: Option<String>,
    latency: Option<Latency>,
    transactions: u64,
    commit_latency: Option<Latency>,
}

pub fn run(args: &ProduceArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let report = runtime.block_on(bench(args))?;
    let title = format!(
        "produce to {}: {} producers, {} B records, acks={:?}",
        args.conn.topic, args.concurrency, args.record_size, args.acks
    );
    finish(&args.conn, report, title)
}

/// Random capital letters: realistic for compression, unlike zeros.
pub fn payload(size: usize) -> Bytes {
    (0..size)
        .map(|_| rand::random_range(b'A'..=b'Z'))
        .collect::<Vec<u8>>()
        .into()
}

async fn bench(args: &ProduceArgs) -> Result<BrokerReport> {
    if args.idempotent && args.acks != AcksArg::All {
        anyhow::bail!("--idempotent needs --acks all");
    }
    if args.transaction_records.is_some() && !args.idempotent {
        anyhow::bail!("--transaction-records needs --idempotent (and so --acks all)");
    }
    let admin = args.conn.client("chronik-bench-admin").await?;
    let partitions = prepare_topic(&admin, &args.conn.topic, args.create, args.partitions).await?;
    let start = Instant::now();
    let stop = match (args.records, args.duration) {
        (Some(n), _) => Stop::After(n),
        (None, secs) => Stop::At(start + Duration::from_secs(secs.unwrap_or(10))),
    };
    let run = Arc::new(Run {
        args: args.clone(),
        partitions,
        payload: payload(args.record_size),
        stop,
        start,
        start_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        claimed: AtomicU64::new(0),
        abort: AtomicBool::new(false),
        bar: chronik_cli::progress(args.records, "records acknowledged"),
    });
    let mut tasks = JoinSet::new();
    for id in 0..args.concurrency {
        tasks.spawn(producer_task(id, run.clone()));
    }
    let mut total = Outcome::default();
    let mut latency = Latency::new();
    let mut commit_latency = Latency::new();
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined.context("a producer task panicked")??;
        total.acked += outcome.acked;
        total.failed += outcome.failed;
        total.errors.merge(&outcome.errors);
        total.first_error = total.first_error.or(outcome.first_error);
        if let Some(l) = &outcome.latency {
            latency.merge(l)?;
        }
        if let Some(l) = &outcome.commit_latency {
            commit_latency.merge(l)?;
        }
        total.transactions += outcome.transactions;
    }
    let elapsed = start.elapsed();
    run.bar.finish_and_clear();
    let mut report = BrokerReport {
        mode: "produce",
        topic: args.conn.topic.clone(),
        records: total.acked,
        bytes: total.acked * args.record_size as u64,
        errors: total.errors,
        records_failed: total.failed,
        seconds: 0.0,
        records_per_sec: 0.0,
        mb_per_sec: 0.0,
        latency_ms: latency.ms_summary(),
        latency: if args.rate.is_some() {
            "intended send time (fixed --rate schedule) to acknowledgement"
        } else {
            "send to acknowledgement"
        },
        config: config_json(args, partitions),
        transactions: args.transaction_records.map(|_| total.transactions),
        commit_latency_ms: args
            .transaction_records
            .map(|_| commit_latency.ms_summary()),
        compare: None,
        first_error: total.first_error,
    };
    report.rates(elapsed);
    Ok(report)
}

fn config_json(args: &ProduceArgs, partitions: i32) -> serde_json::Value {
    serde_json::json!({
        "partitions": partitions,
        "record_size": args.record_size,
        "batch_size": args.batch_size,
        "linger_ms": args.linger_ms,
        "acks": format!("{:?}", args.acks).to_lowercase(),
        "concurrency": args.concurrency,
        "in_flight": args.in_flight,
        "rate": args.rate,
        "idempotent": args.idempotent,
        "transaction_records": args.transaction_records,
        "compression": format!("{:?}", args.compression).to_lowercase(),
        "timeout_ms": args.conn.timeout_ms,
        "security_protocol": format!("{:?}", args.conn.security.security_protocol),
    })
}

async fn producer_task(id: u64, run: Arc<Run>) -> Result<Outcome> {
    let client = run.args.conn.client(&format!("chronik-bench-{id}")).await?;
    let mut cfg = run.args.producer_config();
    if run.args.transaction_records.is_some() {
        cfg.transactional_id = Some(format!("chronik-bench-{}-{id}", run.start_ms));
    }
    let producer = Producer::new(client, cfg).await?;
    let mut out = Outcome {
        latency: Some(Latency::new()),
        commit_latency: Some(Latency::new()),
        ..Default::default()
    };
    let mut txn = match run.args.transaction_records {
        Some(size) => {
            producer.init_transactions().await?;
            Some(Txn::new(size, run.partitions))
        }
        None => None,
    };
    let interval = run
        .args
        .rate
        .map(|r| Duration::from_secs_f64(run.args.concurrency as f64 / r as f64));
    // Records not yet counted, oldest first, each with its intended send time. The client stamps
    // every outcome with the time its answer arrived, so counting late changes no latency.
    let mut pending: VecDeque<(Instant, Delivery)> = VecDeque::new();
    let mut partition = (id % run.partitions as u64) as i32;
    let mut sent = 0u32;
    while let Some(intended) = next_slot(&run, interval, sent).await {
        sent = sent.saturating_add(1);
        if let Some(t) = txn.as_mut() {
            t.before_send(&producer, &run, &mut out, &mut pending)
                .await?;
        }
        settled(&run, &mut out, &mut pending);
        // At the limit, wait for the oldest record (later ones already acknowledged count until
        // it is: records are counted in send order).
        while pending.len() as u64 >= run.args.in_flight {
            if let Some((intended, d)) = pending.pop_front() {
                record(&run, &mut out, intended, d.outcome().await);
                settled(&run, &mut out, &mut pending);
            }
        }
        let value = Some(run.payload.clone());
        match producer
            .send(
                &run.args.conn.topic,
                partition,
                None,
                value,
                Some(run.wall_ms(intended)),
            )
            .await
        {
            Ok(d) => pending.push_back((intended, d)),
            Err(e) => fail(&run, &mut out, &e),
        }
        partition = (partition + 1) % run.partitions;
    }
    while let Some((intended, d)) = pending.pop_front() {
        record(&run, &mut out, intended, d.outcome().await);
    }
    if let Some(t) = txn.as_mut() {
        t.commit(&producer, &run, &mut out).await?;
    }
    producer.close().await;
    Ok(out)
}

/// One producer's transactions: each begins (AddPartitionsToTxn of every partition) before
/// its first record and commits once `size` records were sent and acknowledged.
struct Txn {
    size: u64,
    partitions: Vec<i32>,
    /// Records sent in the open transaction (`None`: no transaction open).
    sent: Option<u64>,
}

impl Txn {
    fn new(size: u64, partitions: i32) -> Self {
        Txn {
            size,
            partitions: (0..partitions).collect(),
            sent: None,
        }
    }

    async fn before_send(
        &mut self,
        producer: &Producer,
        run: &Run,
        out: &mut Outcome,
        pending: &mut VecDeque<(Instant, Delivery)>,
    ) -> Result<()> {
        if self.sent == Some(self.size) {
            while let Some((intended, d)) = pending.pop_front() {
                record(run, out, intended, d.outcome().await);
            }
            self.commit(producer, run, out).await?;
        }
        if self.sent.is_none() {
            (producer
                .add_to_transaction(&run.args.conn.topic, &self.partitions)
                .await)
                .context("AddPartitionsToTxn failed")?;
            self.sent = Some(0);
        }
        self.sent = self.sent.map(|n| n + 1);
        Ok(())
    }

    /// Commits the open transaction (every record of it already counted).
    async fn commit(&mut self, producer: &Producer, run: &Run, out: &mut Outcome) -> Result<()> {
        if self.sent.take().is_none() || run.abort.load(Ordering::Relaxed) {
            return Ok(());
        }
        let started = Instant::now();
        producer
            .end_transaction(true)
            .await
            .context("EndTxn failed")?;
        out.transactions += 1;
        if let Some(l) = out.commit_latency.as_mut() {
            l.record(started.elapsed());
        }
        Ok(())
    }
}

/// The intended send time of the next record, or `None` when the run is over.
async fn next_slot(run: &Run, interval: Option<Duration>, sent: u32) -> Option<Instant> {
    if run.abort.load(Ordering::Relaxed) {
        return None;
    }
    let intended = match interval {
        Some(iv) => run.start + iv * sent,
        None => Instant::now(),
    };
    match run.stop {
        Stop::After(n) if run.claimed.fetch_add(1, Ordering::Relaxed) >= n => return None,
        Stop::At(end) if intended >= end => return None,
        _ => {}
    }
    if interval.is_some() {
        tokio::time::sleep_until(intended.into()).await;
    }
    Some(intended)
}

/// Counts the records at the front of `pending` that are settled, without waiting.
fn settled(run: &Run, out: &mut Outcome, pending: &mut VecDeque<(Instant, Delivery)>) {
    let before = out.acked;
    while let Some(outcome) = pending.front().and_then(|(_, d)| d.try_outcome()) {
        if let Some((intended, _)) = pending.pop_front() {
            count(run, out, intended, outcome);
        }
    }
    if out.acked > before {
        run.bar.inc(out.acked - before);
    }
}

/// Counts one record awaited on its own.
fn record(run: &Run, out: &mut Outcome, intended: Instant, outcome: chronik_client::Outcome) {
    let acked = out.acked;
    count(run, out, intended, outcome);
    if out.acked > acked {
        run.bar.inc(1);
    }
}

fn count(run: &Run, out: &mut Outcome, intended: Instant, outcome: chronik_client::Outcome) {
    match outcome.result {
        Ok(_) => {
            out.acked += 1;
            if let Some(l) = out.latency.as_mut() {
                l.record(outcome.at.saturating_duration_since(intended));
            }
        }
        Err(e) => fail(run, out, &e),
    }
}

fn fail(run: &Run, out: &mut Outcome, e: &ClientError) {
    out.failed += 1;
    out.errors.add(e);
    if out.first_error.is_none() {
        out.first_error = Some(e.to_string());
    }
    run.abort.store(true, Ordering::Relaxed);
}
