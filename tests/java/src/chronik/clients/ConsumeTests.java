package chronik.clients;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;

/** Assigned consumers: seeks, offset lookups by time, end offsets, and DeleteRecords. */
class ConsumeTests {
  private static final long BASE_TIME = 1_700_000_000_000L;
  private static final int RECORDS = 20;

  /**
   * A one-partition topic whose record i has timestamp BASE_TIME + 1000 * i (kept forever:
   * retention by time would delete such old records).
   */
  private static TopicPartition timedTopic(Kit kit, String prefix) throws Exception {
    TopicPartition tp = new TopicPartition(kit.createTopic(Kit.unique(prefix), 1,
        Map.of("retention.ms", "-1")), 0);
    KafkaProducer<byte[], byte[]> producer = kit.producer(Map.of());
    for (int i = 0; i < RECORDS; i++) {
      producer.send(new ProducerRecord<>(tp.topic(), 0, BASE_TIME + 1000L * i, null,
          ("v" + i).getBytes()));
    }
    producer.flush();
    return tp;
  }

  @Test({"assign-seek", "offsets-for-times"})
  void assignSeekAndLookUpOffsets(Kit kit) throws Exception {
    TopicPartition tp = timedTopic(kit, "seek");
    KafkaConsumer<byte[], byte[]> c = kit.consumer(Map.of());
    c.assign(List.of(tp));
    Check.equal(Map.of(tp, 0L), c.beginningOffsets(List.of(tp)), "beginning offsets");
    Check.equal(Map.of(tp, (long) RECORDS), c.endOffsets(List.of(tp)), "end offsets");

    c.seek(tp, 7);
    Check.equal(7L, firstRecord(c).offset(), "first record after seek(7)");
    c.seekToBeginning(List.of(tp));
    Check.equal(0L, c.position(tp), "position after seekToBeginning");
    Check.equal("v0", new String(firstRecord(c).value()), "first record from the beginning");
    c.seekToEnd(List.of(tp));
    Check.equal((long) RECORDS, c.position(tp), "position after seekToEnd");

    OffsetAndTimestamp at = c.offsetsForTimes(Map.of(tp, BASE_TIME + 10_000)).get(tp);
    Check.equal(List.of(10L, BASE_TIME + 10_000), List.of(at.offset(), at.timestamp()),
        "offset and time for an exact time");
    at = c.offsetsForTimes(Map.of(tp, BASE_TIME + 10_500)).get(tp);
    Check.equal(List.of(11L, BASE_TIME + 11_000), List.of(at.offset(), at.timestamp()),
        "offset and time between two records' times");
    at = c.offsetsForTimes(Map.of(tp, BASE_TIME + 1000L * RECORDS)).get(tp);
    Check.equal(null, at, "offset for a time after the last record");
    // Without transactions everything below the high watermark is committed.
    Check.equal(RECORDS, kit.readPartition(tp, 0, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG,
        "read_committed")).size(), "records read by a read_committed consumer");
  }

  @Test("offsets-for-times")
  void adminListOffsetsByEarliestLatestAndTime(Kit kit) throws Exception {
    TopicPartition tp = timedTopic(kit, "list-offsets");
    Check.equal(0L, list(kit, tp, OffsetSpec.earliest()).offset(), "earliest");
    Check.equal((long) RECORDS, list(kit, tp, OffsetSpec.latest()).offset(), "latest");
    ListOffsetsResultInfo t5 = list(kit, tp, OffsetSpec.forTimestamp(BASE_TIME + 5_000));
    Check.equal(5L, t5.offset(), "offset for time 5");
    Check.equal(BASE_TIME + 5_000, t5.timestamp(), "timestamp for time 5");
    Check.equal(-1L, list(kit, tp, OffsetSpec.forTimestamp(BASE_TIME + 100_000)).offset(),
        "offset for a time after every record");
  }

  @Test("offsets-for-times")
  void adminListOffsetsOfTheMaxTimestamp(Kit kit) throws Exception {
    TopicPartition tp = timedTopic(kit, "max-timestamp");
    // One record out of time order: the max timestamp is not the last record's.
    KafkaProducer<byte[], byte[]> producer = kit.producer(Map.of());
    producer.send(new ProducerRecord<>(tp.topic(), 0, BASE_TIME + 100_000, null, "max".getBytes()))
        .get();
    producer.send(new ProducerRecord<>(tp.topic(), 0, BASE_TIME, null, "late".getBytes())).get();
    ListOffsetsResultInfo max = list(kit, tp, OffsetSpec.maxTimestamp());
    Check.equal((long) RECORDS, max.offset(), "offset of the max timestamp");
    Check.equal(BASE_TIME + 100_000, max.timestamp(), "max timestamp");
  }

  @Test("delete-records")
  void deleteRecordsMovesTheLogStart(Kit kit) throws Exception {
    TopicPartition tp = timedTopic(kit, "delete-records");
    long low = Check.get(kit.admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(12)))
        .lowWatermarks().get(tp)).lowWatermark();
    Check.equal(12L, low, "low watermark");
    Check.equal(12L, list(kit, tp, OffsetSpec.earliest()).offset(), "earliest after delete");
    Check.equal((long) RECORDS, list(kit, tp, OffsetSpec.latest()).offset(), "latest unchanged");

    KafkaConsumer<byte[], byte[]> c = kit.consumer(Map.of());
    c.assign(List.of(tp));
    c.seekToBeginning(List.of(tp));
    Check.equal(12L, firstRecord(c).offset(), "first record from the beginning");
    Check.equal(12L, kit.readPartition(tp, 12).get(0).offset(), "read from the new start");

    // A consumer without auto.offset.reset positioned before the start gets out of range.
    KafkaConsumer<byte[], byte[]> strict = kit.consumer(Map.of("auto.offset.reset", "none"));
    strict.assign(List.of(tp));
    strict.seek(tp, 3);
    Check.fails(OffsetOutOfRangeException.class, "fetch below the log start", () -> {
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (System.nanoTime() < deadline) {
        strict.poll(Duration.ofMillis(100));
      }
    });
    // Deleting up to the end (-1 = high watermark) empties the partition.
    low = Check.get(kit.admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(-1)))
        .lowWatermarks().get(tp)).lowWatermark();
    Check.equal((long) RECORDS, low, "low watermark after deleting all");
  }

  static ListOffsetsResultInfo list(Kit kit, TopicPartition tp, OffsetSpec spec) throws Exception {
    return Check.get(kit.admin.listOffsets(Map.of(tp, spec)).partitionResult(tp));
  }

  /** The first record `c` returns, polling up to the IO timeout. */
  static ConsumerRecord<byte[], byte[]> firstRecord(KafkaConsumer<byte[], byte[]> c) {
    List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
    Check.eventually(Kit.IO_TIMEOUT_MS, "a record", () -> {
      c.poll(Duration.ofMillis(100)).forEach(got::add);
      return !got.isEmpty();
    });
    return got.get(0);
  }
}
