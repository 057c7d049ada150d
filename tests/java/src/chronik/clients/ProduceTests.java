package chronik.clients;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

/** The idempotent producer with every codec, headers, null keys and large records. */
class ProduceTests {
  private static final int RECORDS_PER_CODEC = 300;

  @Test({"idempotence", "produce"})
  void idempotentProducerWithoutCompression(Kit kit) throws Exception {
    roundTrip(kit, "none");
  }

  @Test({"idempotence", "compression"})
  void idempotentProducerWithGzip(Kit kit) throws Exception {
    roundTrip(kit, "gzip");
  }

  @Test({"idempotence", "compression"})
  void idempotentProducerWithSnappy(Kit kit) throws Exception {
    roundTrip(kit, "snappy");
  }

  @Test({"idempotence", "compression"})
  void idempotentProducerWithLz4(Kit kit) throws Exception {
    roundTrip(kit, "lz4");
  }

  @Test({"idempotence", "compression"})
  void idempotentProducerWithZstd(Kit kit) throws Exception {
    roundTrip(kit, "zstd");
  }

  /**
   * A topic's compression.type makes the broker recompress every batch that uses another codec;
   * the consumer decompresses what the broker wrote (each codec as a target once).
   */
  @Test({"compression", "topic-configs"})
  void topicCompressionTypeRecompressesBatches(Kit kit) throws Exception {
    String[][] pairs = {
      {"none", "gzip"}, {"lz4", "snappy"}, {"gzip", "lz4"}, {"snappy", "zstd"},
      {"zstd", "uncompressed"},
    };
    for (String[] pair : pairs) {
      roundTrip(kit, pair[0], Map.of("compression.type", pair[1]));
    }
  }

  private static void roundTrip(Kit kit, String codec) throws Exception {
    roundTrip(kit, codec, Map.of());
  }

  /**
   * Sends records of random bytes (some compressible, some not, a few empty) in batches of
   * `codec` to a new topic with `configs`, then reads every partition back and compares
   * offsets, keys and values byte by byte.
   */
  private static void roundTrip(Kit kit, String codec, Map<String, String> configs)
      throws Exception {
    String topic = kit.createTopic(Kit.unique("codec-" + codec), 2, configs);
    KafkaProducer<byte[], byte[]> producer = kit.producer(Map.of(
        ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
        ProducerConfig.LINGER_MS_CONFIG, 20,
        ProducerConfig.BATCH_SIZE_CONFIG, 16_384));
    Random random = new Random(codec.hashCode());
    List<List<byte[][]>> sent = List.of(new ArrayList<>(), new ArrayList<>());
    List<Future<RecordMetadata>> acks = new ArrayList<>();
    for (int i = 0; i < RECORDS_PER_CODEC; i++) {
      int partition = i % 2;
      byte[] key = ("key-" + i).getBytes(StandardCharsets.UTF_8);
      byte[] value = new byte[i % 50 == 0 ? 0 : random.nextInt(2_000)];
      if (i % 3 == 0) {
        random.nextBytes(value);
      } else {
        Arrays.fill(value, (byte) ('a' + i % 26));
      }
      sent.get(partition).add(new byte[][] {key, value});
      acks.add(producer.send(new ProducerRecord<>(topic, partition, key, value)));
    }
    producer.flush();
    for (int i = 0; i < acks.size(); i++) {
      RecordMetadata md = acks.get(i).get();
      Check.equal((long) (i / 2), md.offset(), codec + " offset of record " + i);
    }
    for (int partition = 0; partition < 2; partition++) {
      TopicPartition tp = new TopicPartition(topic, partition);
      List<ConsumerRecord<byte[], byte[]>> read = kit.readPartition(tp, 0);
      Check.equal(sent.get(partition).size(), read.size(), codec + " records read from " + tp);
      for (int j = 0; j < read.size(); j++) {
        ConsumerRecord<byte[], byte[]> r = read.get(j);
        Check.equal((long) j, r.offset(), codec + " offset");
        Check.equal(sent.get(partition).get(j)[0], r.key(), codec + " key at " + j);
        Check.equal(sent.get(partition).get(j)[1], r.value(), codec + " value at " + j);
      }
    }
  }

  @Test("headers-nulls")
  void headersNullKeysAndEmptyValuesSurvive(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("headers"), 1);
    KafkaProducer<byte[], byte[]> producer = kit.producer(Map.of());
    RecordHeaders headers = new RecordHeaders();
    headers.add("trace", "abc".getBytes(StandardCharsets.UTF_8));
    headers.add("trace", "second value of a repeated key".getBytes(StandardCharsets.UTF_8));
    headers.add("null-value", null);
    headers.add("binary", new byte[] {0, (byte) 0xff, 7});
    headers.add("", new byte[0]);
    long timestamp = 1_700_000_000_123L;
    producer.send(new ProducerRecord<>(topic, 0, timestamp, null, "no key".getBytes(), headers))
        .get();
    producer.send(new ProducerRecord<>(topic, 0, null, new byte[0])).get();
    producer.send(new ProducerRecord<>(topic, 0, new byte[0], "empty key".getBytes())).get();

    List<ConsumerRecord<byte[], byte[]>> read = kit.readPartition(new TopicPartition(topic, 0), 0);
    Check.equal(3, read.size(), "records");
    ConsumerRecord<byte[], byte[]> first = read.get(0);
    Check.equal(null, first.key(), "null key");
    Check.equal("no key", new String(first.value()), "value");
    Check.equal(timestamp, first.timestamp(), "create time kept");
    List<Header> got = Arrays.asList(first.headers().toArray());
    List<Header> want = Arrays.asList(headers.toArray());
    Check.equal(want.size(), got.size(), "header count");
    for (int i = 0; i < want.size(); i++) {
      Check.equal(want.get(i).key(), got.get(i).key(), "header key " + i);
      Check.equal(want.get(i).value(), got.get(i).value(), "header value " + i);
    }
    Check.equal(null, read.get(1).key(), "second null key");
    Check.equal(0, read.get(1).value().length, "empty value (not null)");
    Check.equal(0, read.get(2).key().length, "empty key (not null)");
    Check.equal(0, read.get(2).headers().toArray().length, "no headers");
  }

  @Test("large-records")
  void largeRecordsRoundTripAndOversizedOnesAreRefused(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("large"), 1, Map.of("max.message.bytes",
        "1000000"));
    KafkaProducer<byte[], byte[]> producer = kit.producer(Map.of(
        ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 * 1024 * 1024));
    Random random = new Random(900);
    List<byte[]> values = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      byte[] value = new byte[900 * 1024];
      random.nextBytes(value);
      values.add(value);
      producer.send(new ProducerRecord<>(topic, 0, ("big-" + i).getBytes(), value)).get();
    }
    List<ConsumerRecord<byte[], byte[]>> read = kit.readPartition(new TopicPartition(topic, 0), 0);
    Check.equal(3, read.size(), "large records read");
    for (int i = 0; i < 3; i++) {
      Check.equal(values.get(i), read.get(i).value(), "large value " + i);
    }
    // Fetch limits far below a record: the broker still returns the first batch whole.
    List<ConsumerRecord<byte[], byte[]>> limited = kit.readPartition(new TopicPartition(topic, 0),
        0, Map.of(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 1024,
            ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 1024));
    Check.equal(3, limited.size(), "large records read with 1 KiB fetch limits");
    Check.equal(values.get(2), limited.get(2).value(), "last large value with fetch limits");
    // Above the topic's max.message.bytes: the broker refuses the batch.
    byte[] tooBig = new byte[1_200_000];
    random.nextBytes(tooBig);
    Check.fails(RecordTooLargeException.class, "1.2 MB record on a 1 MB topic", () ->
        producer.send(new ProducerRecord<>(topic, 0, null, tooBig)).get());
    Check.equal(3, kit.readPartition(new TopicPartition(topic, 0), 0).size(),
        "nothing stored from the refused batch");
  }
}
