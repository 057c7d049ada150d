package chronik.clients;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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

/**
 * A restart, clean or after SIGKILL, of a broker of the test's own while an idempotent Java
 * producer keeps sending.
 */
class RestartTests {
  /** Acknowledged records before the restart, and again after it, before sending stops. */
  private static final int ACKED_EACH_SIDE = 2_000;

  @Test("restart")
  void idempotentSendsOffsetsAndConfigsSurviveABrokerRestart(Kit kit) throws Exception {
    Kit.onOwnBroker(kit, List.of(), own -> restartUnderLoad(own, false));
  }

  @Test("restart")
  void idempotentSendsOffsetsAndConfigsSurviveABrokerSigkill(Kit kit) throws Exception {
    Kit.onOwnBroker(kit, List.of(), own -> restartUnderLoad(own, true));
  }

  private static void restartUnderLoad(Kit own, boolean kill) throws Exception {
    String topic = own.createTopic(Kit.unique("restart"), 2, Map.of("retention.ms", "-1"));
    String group = Kit.unique("restart-group");
    GroupAdminTests.commitOffsets(own, group, topic, Map.of(0, 100L, 1, 200L));
    // Small batches and a small buffer: send() blocks while the broker is behind or away, so
    // the sender is paced by acknowledgements and always has requests in flight.
    KafkaProducer<byte[], byte[]> producer = own.producer(Map.of(
        ProducerConfig.BATCH_SIZE_CONFIG, 1_024,
        ProducerConfig.BUFFER_MEMORY_CONFIG, 64 * 1_024,
        ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000));
    AtomicInteger acked = new AtomicInteger();
    AtomicBoolean stop = new AtomicBoolean();
    List<Future<RecordMetadata>> acks = new ArrayList<>();
    CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
      for (int i = 0; !stop.get(); i++) {
        byte[] value = Integer.toString(i).getBytes(StandardCharsets.UTF_8);
        acks.add(producer.send(new ProducerRecord<>(topic, i % 2, null, value),
            (md, e) -> acked.incrementAndGet()));
      }
    });
    try {
      Check.eventually(Kit.IO_TIMEOUT_MS, ACKED_EACH_SIDE + " sends acknowledged",
          () -> acked.get() >= ACKED_EACH_SIDE || sender.isDone());
      own.broker.restart(kill);
      int atRestart = acked.get();
      Check.eventually(Kit.IO_TIMEOUT_MS, ACKED_EACH_SIDE + " more sends acknowledged",
          () -> acked.get() >= atRestart + ACKED_EACH_SIDE || sender.isDone());
    } finally {
      stop.set(true);
    }
    sender.get(30, TimeUnit.SECONDS);
    producer.flush();
    for (Future<RecordMetadata> ack : acks) {
      ack.get();
    }
    producer.metrics().forEach((name, metric) -> {
      if (name.group().equals("producer-metrics") && name.name().equals("record-retry-total")) {
        System.out.println("  " + acks.size() + " records sent, " + metric.metricValue()
            + " retried across the restart");
      }
    });
    checkStoredOnceInOrder(own, topic, acks.size());
    Map<TopicPartition, OffsetAndMetadata> offsets = Check.get(own.admin
        .listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
    TopicPartition p0 = new TopicPartition(topic, 0);
    TopicPartition p1 = new TopicPartition(topic, 1);
    Check.equal(List.of(100L, 200L), List.of(offsets.get(p0).offset(), offsets.get(p1).offset()),
        "committed offsets after the restart");
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
    Check.equal("-1", AdminTests.entry(own, resource, "retention.ms").value(),
        "topic config after the restart");
  }

  /** Values 0..sent-1 alternate over partitions 0 and 1: each must be there once, in order. */
  private static void checkStoredOnceInOrder(Kit own, String topic, int sent) throws Exception {
    for (int p = 0; p < 2; p++) {
      TopicPartition tp = new TopicPartition(topic, p);
      List<Integer> values = new ArrayList<>();
      for (ConsumerRecord<byte[], byte[]> r : own.readPartition(tp, 0)) {
        values.add(Integer.parseInt(new String(r.value(), StandardCharsets.UTF_8)));
      }
      int expected = (sent + 1 - p) / 2;
      Set<Integer> distinct = new HashSet<>(values);
      Check.equal(expected, distinct.size(), tp + " distinct values (none lost)");
      Check.equal(expected, values.size(), tp + " records (no duplicate)");
      for (int i = 0; i < values.size(); i++) {
        Check.equal(2 * i + p, values.get(i), tp + " value at offset " + i);
      }
      Check.equal((long) expected, ConsumeTests.list(own, tp, OffsetSpec.latest()).offset(),
          tp + " end offset");
    }
  }
}
