//! `chronik-bench e2e`: one producer sends at a fixed rate while a consumer reads the topic from
//! its end; latency runs from each record's intended send time (its slot in the schedule, carried
//! in the record's value) to the moment the consumer has it, so a stall anywhere is counted
//! (no coordinated omission). Records carry that slot's wall-clock time as their timestamp. Every
//! acknowledged record must arrive: those that do not are counted as `NeverArrived`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use bytes::{BufMut, Bytes, BytesMut};
use chronik_client::records::records;
use chronik_client::{Client, Consumer, ConsumerConfig, Producer, ProducerConfig, StartAt};
use tokio::task::JoinSet;

use super::produce::AcksArg;
use super::{BrokerReport, ConnArgs, ErrorTally, finish, prepare_topic};
use crate::latency::Latency;

/// Bytes at the front of every value: intended send time (µs since the run started), run id.
const STAMP: usize = 16;

#[derive(Debug, Clone, clap::Args)]
pub struct E2eArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Records per second.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub rate: u64,
    /// Seconds of sending.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: u64,
    /// Value size in bytes (at least 16: the timestamp and run id live there).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(16..))]
    pub record_size: u64,
    /// Partitions for `--create`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    pub partitions: i32,
    #[arg(long)]
    pub create: bool,
    /// 0: no answer (a record counts as sent once written to the socket); 1: the leader has
    /// it; all: every in-sync replica has it.
    #[arg(long, value_enum, default_value = "1")]
    pub acks: AcksArg,
    /// Wait this long after the last send for the consumer to catch up.
    #[arg(long, default_value_t = 10_000)]
    pub drain_ms: u64,
}

pub fn run(args: &E2eArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let report = runtime.block_on(bench(args))?;
    let title = format!(
        "end to end on {}: {} records/s for {} s",
        args.conn.topic, args.rate, args.duration
    );
    finish(&args.conn, report, title)
}

/// What the consumer side saw.
struct Received {
    records: u64,
    bytes: u64,
    latency: Latency,
    error: Option<chronik_client::ClientError>,
}

async fn bench(args: &E2eArgs) -> Result<BrokerReport> {
    let client = args.conn.client("chronik-bench-e2e").await?;
    let partitions = prepare_topic(&client, &args.conn.topic, args.create, args.partitions).await?;
    let consumer = Consumer::new(
        client.clone(),
        &args.conn.topic,
        None,
        StartAt::Latest,
        ConsumerConfig {
            max_wait: Duration::from_millis(100),
            ..Default::default()
        },
    )
    .await
    .context("cannot start the consumer")?;
    let run_id: u64 = rand::random();
    let t0 = Instant::now();
    let t0_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let acked = Arc::new(AtomicU64::new(0));
    let sending = Arc::new(AtomicBool::new(true));
    let drain = Duration::from_millis(args.drain_ms);
    let reader = tokio::spawn(consume(
        consumer,
        t0,
        run_id,
        acked.clone(),
        sending.clone(),
        drain,
    ));
    let clock = Clock { t0, t0_ms };
    let (errors, first_error) = produce(args, client, partitions, clock, run_id, &acked).await?;
    sending.store(false, Ordering::Release);
    let received = reader.await.context("the consumer task panicked")?;
    let mut errors = errors;
    let mut first_error = first_error;
    if let Some(e) = &received.error {
        errors.add(e);
        first_error.get_or_insert_with(|| e.to_string());
    }
    let acked = acked.load(Ordering::Acquire);
    let missing = acked.saturating_sub(received.records);
    // Counted under their own name: each one is a record lost between acknowledgement and
    // consumer, not a bad request.
    errors.add_named("NeverArrived", missing);
    let mut report = BrokerReport {
        mode: "e2e",
        topic: args.conn.topic.clone(),
        records: received.records,
        bytes: received.bytes,
        records_failed: errors.total(),
        errors,
        seconds: 0.0,
        records_per_sec: 0.0,
        mb_per_sec: 0.0,
        latency_ms: received.latency.ms_summary(),
        latency: "intended send time (fixed --rate schedule) to consumed",
        config: serde_json::json!({
            "rate": args.rate, "duration": args.duration, "record_size": args.record_size,
            "partitions": partitions, "acked": acked, "missing": missing,
            "acks": format!("{:?}", args.acks).to_lowercase(),
        }),
        transactions: None,
        commit_latency_ms: None,
        compare: None,
        first_error,
    };
    if missing > 0 {
        report
            .first_error
            .get_or_insert_with(|| format!("{missing} acknowledged records never arrived"));
    }
    report.rates(Duration::from_secs(args.duration));
    Ok(report)
}

/// The run's start on the monotonic clock (the latency schedule) and on the wall clock (record
/// timestamps).
#[derive(Clone, Copy)]
struct Clock {
    t0: Instant,
    t0_ms: i64,
}

async fn produce(
    args: &E2eArgs,
    client: Client,
    partitions: i32,
    clock: Clock,
    run_id: u64,
    acked: &AtomicU64,
) -> Result<(ErrorTally, Option<String>)> {
    let cfg = ProducerConfig {
        acks: args.acks.acks(),
        linger: Duration::ZERO,
        delivery_timeout: args.conn.timeout(),
        ..Default::default()
    };
    let producer = Producer::new(client, cfg).await?;
    let Clock { t0, t0_ms } = clock;
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let end = t0 + Duration::from_secs(args.duration);
    let padding = vec![b'x'; args.record_size as usize - STAMP];
    let mut pending = JoinSet::new();
    let (mut errors, mut first_error) = (ErrorTally::default(), None);
    for i in 0u32.. {
        let intended = t0 + interval * i;
        if intended >= end {
            break;
        }
        tokio::time::sleep_until(intended.into()).await;
        let mut value = BytesMut::with_capacity(args.record_size as usize);
        value.put_u64(intended.duration_since(t0).as_micros() as u64);
        value.put_u64(run_id);
        value.put_slice(&padding);
        let partition = (i % partitions as u32) as i32;
        let topic = &args.conn.topic;
        // The wall-clock time of the record's slot: time-based retention judges records by
        // their timestamp, and one stamped 0 (1970) is deleted at the broker's next retention
        // pass, out from under a consumer reading a few records behind the head.
        let since = i64::try_from(intended.duration_since(t0).as_millis()).unwrap_or(i64::MAX);
        let timestamp = Some(t0_ms.saturating_add(since));
        match producer
            .send(topic, partition, None, Some(value.freeze()), timestamp)
            .await
        {
            Ok(d) => {
                pending.spawn(d.wait());
            }
            Err(e) => {
                errors.add(&e);
                first_error.get_or_insert_with(|| e.to_string());
                break;
            }
        }
        while let Some(done) = pending.try_join_next() {
            tally(done, acked, &mut errors, &mut first_error);
        }
    }
    while let Some(done) = pending.join_next().await {
        tally(done, acked, &mut errors, &mut first_error);
    }
    producer.close().await;
    Ok((errors, first_error))
}

fn tally(
    done: Result<chronik_client::Result<chronik_client::Written>, tokio::task::JoinError>,
    acked: &AtomicU64,
    errors: &mut ErrorTally,
    first: &mut Option<String>,
) {
    match done {
        Ok(Ok(_)) => {
            acked.fetch_add(1, Ordering::AcqRel);
        }
        Ok(Err(e)) => {
            errors.add(&e);
            first.get_or_insert_with(|| e.to_string());
        }
        Err(e) => {
            first.get_or_insert_with(|| format!("delivery task: {e}"));
        }
    }
}

/// Reads until sending stopped and every acknowledged record arrived, or `drain` passes with
/// nothing new after sending stopped.
async fn consume(
    mut consumer: Consumer,
    t0: Instant,
    run_id: u64,
    acked: Arc<AtomicU64>,
    sending: Arc<AtomicBool>,
    drain: Duration,
) -> Received {
    let mut got = Received {
        records: 0,
        bytes: 0,
        latency: Latency::new(),
        error: None,
    };
    let mut last_progress = Instant::now();
    loop {
        let stopped = !sending.load(Ordering::Acquire);
        if stopped && got.records >= acked.load(Ordering::Acquire) {
            break;
        }
        if stopped && last_progress.elapsed() >= drain {
            break;
        }
        let batches = match consumer.poll().await {
            Ok(b) => b,
            Err(e) => {
                got.error = Some(e);
                break;
            }
        };
        let now = t0.elapsed();
        for batch in &batches {
            let recs = match records(batch) {
                Ok(r) => r,
                Err(e) => {
                    got.error = Some(e);
                    return got;
                }
            };
            for r in recs {
                let Some(value) = r.value else { continue };
                let Some((intended_us, id)) = stamp(&value) else {
                    continue;
                };
                if id != run_id {
                    continue;
                }
                got.records += 1;
                got.bytes += value.len() as u64;
                got.latency
                    .record(now.saturating_sub(Duration::from_micros(intended_us)));
                last_progress = Instant::now();
            }
        }
    }
    got
}

fn stamp(value: &Bytes) -> Option<(u64, u64)> {
    let head: &[u8; STAMP] = value.first_chunk()?;
    let (t, id) = head.split_at(8);
    Some((
        u64::from_be_bytes(t.try_into().ok()?),
        u64::from_be_bytes(id.try_into().ok()?),
    ))
}
