package chronik.clients;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.InvalidRecordException;

/** Tombstones on a compacted topic, cleaned by the broker's log cleaner. */
class CompactionTests {
  private static final Map<String, String> COMPACTED = Map.of(
      "cleanup.policy", "compact",
      "segment.bytes", "2048",
      "min.cleanable.dirty.ratio", "0.01",
      "delete.retention.ms", "0");
  private static final int KEYS = 10;
  private static final int ROUNDS = 20;
  private static final int FILLERS = 50;

  @Test({"compaction", "headers-nulls"})
  void tombstonesAreReadAsNullValuesAndCleanedAway(Kit kit) throws Exception {
    TopicPartition tp = new TopicPartition(kit.createTopic(Kit.unique("compacted"), 1,
        COMPACTED), 0);
    KafkaProducer<byte[], byte[]> producer = kit.producer(Map.of(
        ProducerConfig.LINGER_MS_CONFIG, 0, ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4"));
    Map<String, String> latest = new HashMap<>();
    for (int round = 0; round < ROUNDS; round++) {
      for (int k = 0; k < KEYS; k++) {
        String value = "v" + k + "-" + round;
        producer.send(new ProducerRecord<>(tp.topic(), 0, ("k" + k).getBytes(), value.getBytes()));
        latest.put("k" + k, value);
      }
    }
    for (int k : List.of(2, 5)) {
      producer.send(new ProducerRecord<>(tp.topic(), 0, ("k" + k).getBytes(), null));
      latest.remove("k" + k);
    }
    long tombstonesEnd = ROUNDS * KEYS + 2;
    producer.flush();
    // The tombstones read back as null values before the cleaner runs on them.
    List<ConsumerRecord<byte[], byte[]>> before = kit.readPartition(tp, ROUNDS * KEYS);
    Check.equal(2, before.size(), "tombstones read");
    for (ConsumerRecord<byte[], byte[]> r : before) {
      Check.equal(null, r.value(), "tombstone value at " + r.offset());
    }
    // Incompressible records after them roll the segment holding the tombstones out of the
    // active one (the cleaner cleans only sealed segments).
    Random random = new Random(7);
    for (int i = 0; i < FILLERS; i++) {
      byte[] value = new byte[200];
      random.nextBytes(value);
      producer.send(new ProducerRecord<>(tp.topic(), 0, ("filler-" + i % 3).getBytes(), value));
    }
    producer.flush();
    long end = tombstonesEnd + FILLERS;
    AtomicReference<List<ConsumerRecord<byte[], byte[]>>> cleaned = new AtomicReference<>();
    Check.eventually(30_000, "the cleaner kept one record per live key and no tombstone", () -> {
      List<ConsumerRecord<byte[], byte[]>> read = kit.readPartition(tp, 0);
      cleaned.set(read);
      return read.stream().filter(r -> r.offset() < tombstonesEnd).count() == latest.size()
          && read.stream().noneMatch(r -> r.value() == null);
    });
    Map<String, String> live = new HashMap<>();
    long previous = -1;
    for (ConsumerRecord<byte[], byte[]> r : cleaned.get()) {
      Check.that(r.offset() > previous, "offsets increase: " + r.offset() + " after " + previous);
      previous = r.offset();
      String key = new String(r.key());
      if (!key.startsWith("filler")) {
        live.put(key, new String(r.value()));
      }
    }
    Check.equal(latest, live, "latest value of each key");
    Check.equal(0L, ConsumeTests.list(kit, tp, OffsetSpec.earliest()).offset(), "log start kept");
    Check.equal(end, ConsumeTests.list(kit, tp, OffsetSpec.latest()).offset(), "log end kept");
  }

  @Test("compaction")
  void aCompactedTopicRefusesRecordsWithoutAKey(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("compacted-nokey"), 1, COMPACTED);
    KafkaProducer<byte[], byte[]> producer = kit.producer(Map.of());
    Check.fails(InvalidRecordException.class, "a null key on a compacted topic", () ->
        producer.send(new ProducerRecord<>(topic, 0, null, "v".getBytes())).get());
    Check.equal(0L, producer.send(new ProducerRecord<>(topic, 0, "k".getBytes(),
        "v".getBytes())).get().offset(), "the next keyed record is the first stored");
  }
}
