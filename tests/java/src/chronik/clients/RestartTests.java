package chronik.clients;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;

/** A restart of the broker (on its own port and data dir) under a running Java producer. */
class RestartTests {
  private static final int PER_PHASE = 1_000;

  @Test
  void idempotentSendsOffsetsAndConfigsSurviveABrokerRestart(Kit kit) throws Exception {
    Broker broker = kit.broker.startAnother();
    boolean passed = false;
    try (Admin admin = Kit.admin(broker.bootstrap); Kit own = new Kit(broker, admin)) {
      restartUnderLoad(own);
      passed = true;
    } finally {
      int code = broker.stop();
      if (passed && code == 0) {
        broker.deleteDir();
      } else {
        System.out.println("  restarted broker exited " + code + "; log and data in " + broker.dir);
      }
    }
  }

  private static void restartUnderLoad(Kit own) throws Exception {
    String topic = own.createTopic(Kit.unique("restart"), 2, Map.of("retention.ms", "-1"));
    String group = Kit.unique("restart-group");
    GroupAdminTests.commitOffsets(own, group, topic, Map.of(0, 100L, 1, 200L));
    KafkaProducer<byte[], byte[]> producer = own.producer(Map.of(
        ProducerConfig.LINGER_MS_CONFIG, 5,
        ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000));
    List<Future<RecordMetadata>> acks = new ArrayList<>();
    send(producer, topic, 0, acks);
    producer.flush();
    // The second half is in flight or buffered while the broker stops and starts again.
    send(producer, topic, PER_PHASE, acks);
    own.broker.restart();
    producer.flush();
    for (Future<RecordMetadata> ack : acks) {
      ack.get();
    }
    // How many sends crossed the restart (timing decides; printed, not asserted).
    producer.metrics().forEach((name, metric) -> {
      if (name.group().equals("producer-metrics") && name.name().equals("record-retry-total")) {
        System.out.println("  records the producer retried across the restart: "
            + metric.metricValue());
      }
    });
    for (int p = 0; p < 2; p++) {
      TopicPartition tp = new TopicPartition(topic, p);
      List<ConsumerRecord<byte[], byte[]>> read = own.readPartition(tp, 0);
      List<Integer> values = new ArrayList<>();
      for (ConsumerRecord<byte[], byte[]> r : read) {
        values.add(Integer.parseInt(new String(r.value(), StandardCharsets.UTF_8)));
      }
      Set<Integer> distinct = new HashSet<>(values);
      Check.equal(PER_PHASE, values.size(), tp + " records (no duplicate, none lost)");
      Check.equal(PER_PHASE, distinct.size(), tp + " distinct values");
      for (int i = 1; i < values.size(); i++) {
        Check.that(values.get(i) > values.get(i - 1), tp + " in send order at " + i + ": "
            + values.get(i - 1) + " then " + values.get(i));
      }
      Check.equal((long) PER_PHASE, ConsumeTests.list(own, tp, OffsetSpec.latest()).offset(),
          tp + " end offset");
    }
    Map<TopicPartition, OffsetAndMetadata> offsets = Check.get(own.admin
        .listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
    Check.equal(Map.of(new TopicPartition(topic, 0), 100L, new TopicPartition(topic, 1), 200L),
        Map.of(new TopicPartition(topic, 0), offsets.get(new TopicPartition(topic, 0)).offset(),
            new TopicPartition(topic, 1), offsets.get(new TopicPartition(topic, 1)).offset()),
        "committed offsets after the restart");
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
    Check.equal("-1", AdminTests.entry(own, resource, "retention.ms").value(),
        "topic config after the restart");
  }

  /** Sends values from..from+PER_PHASE-1 alternating over partitions 0 and 1. */
  private static void send(KafkaProducer<byte[], byte[]> producer, String topic, int from,
      List<Future<RecordMetadata>> acks) {
    for (int i = from; i < from + PER_PHASE; i++) {
      byte[] value = Integer.toString(i).getBytes(StandardCharsets.UTF_8);
      acks.add(producer.send(new ProducerRecord<>(topic, i % 2, null, value)));
    }
  }
}
