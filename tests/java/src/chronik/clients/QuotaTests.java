package chronik.clients;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.AlterClientQuotasOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.common.quota.ClientQuotaFilter;
import org.apache.kafka.common.quota.ClientQuotaFilterComponent;

/**
 * Client quotas: alterClientQuotas and describeClientQuotas with Kafka's filters, and produce
 * and fetch byte rates held to their quota while an unthrottled client keeps going. Each test
 * runs on a broker of its own, so no quota reaches the other tests' clients.
 */
class QuotaTests {
  private static final double RATE = 1024 * 1024;
  /** Bytes the slow producer sends while measured: 20 s at its quota. */
  private static final long MEASURED_BYTES = 20 * (long) RATE;

  private static ClientQuotaEntity entity(String... typeAndName) {
    Map<String, String> parts = new HashMap<>();
    for (int i = 0; i < typeAndName.length; i += 2) {
      parts.put(typeAndName[i], typeAndName[i + 1]);
    }
    return new ClientQuotaEntity(parts);
  }

  private static void alter(Kit kit, ClientQuotaEntity entity, String key, Double value)
      throws Exception {
    Check.get(kit.admin.alterClientQuotas(List.of(new ClientQuotaAlteration(entity,
        List.of(new ClientQuotaAlteration.Op(key, value))))).all());
  }

  private static Map<ClientQuotaEntity, Map<String, Double>> describe(Kit kit,
      ClientQuotaFilter filter) throws Exception {
    return Check.get(kit.admin.describeClientQuotas(filter).entities());
  }

  @Test("quotas")
  void quotasAreStoredDescribedByFilterAndRemoved(Kit kit) throws Exception {
    Kit.onOwnBroker(kit, List.of(), own -> {
      ClientQuotaEntity slow = entity(ClientQuotaEntity.CLIENT_ID, "slow");
      ClientQuotaEntity anyClient = entity(ClientQuotaEntity.CLIENT_ID, null);
      ClientQuotaEntity pair = entity(ClientQuotaEntity.USER, "alice",
          ClientQuotaEntity.CLIENT_ID, "slow");
      alter(own, slow, "producer_byte_rate", 1048576.0);
      alter(own, slow, "request_percentage", 50.0);
      alter(own, anyClient, "consumer_byte_rate", 2097152.0);
      alter(own, pair, "producer_byte_rate", 4096.0);

      Check.equal(Map.of(slow, Map.of("producer_byte_rate", 1048576.0, "request_percentage", 50.0),
          anyClient, Map.of("consumer_byte_rate", 2097152.0),
          pair, Map.of("producer_byte_rate", 4096.0)),
          describe(own, ClientQuotaFilter.all()), "every quota");
      Check.equal(List.of(slow), List.copyOf(describe(own, ClientQuotaFilter.containsOnly(List.of(
          ClientQuotaFilterComponent.ofEntity(ClientQuotaEntity.CLIENT_ID, "slow")))).keySet()),
          "exactly client-id slow");
      Check.equal(2, describe(own, ClientQuotaFilter.contains(List.of(
          ClientQuotaFilterComponent.ofEntity(ClientQuotaEntity.CLIENT_ID, "slow")))).size(),
          "entities with client-id slow (alone or with a user)");
      Check.equal(List.of(anyClient), List.copyOf(describe(own, ClientQuotaFilter.containsOnly(
          List.of(ClientQuotaFilterComponent.ofDefaultEntity(ClientQuotaEntity.CLIENT_ID))))
          .keySet()), "the default client-id");
      Check.equal(List.of(pair), List.copyOf(describe(own, ClientQuotaFilter.contains(List.of(
          ClientQuotaFilterComponent.ofEntityType(ClientQuotaEntity.USER)))).keySet()),
          "entities with a user");

      alter(own, slow, "request_percentage", null);
      Check.equal(Map.of("producer_byte_rate", 1048576.0), describe(own, ClientQuotaFilter
          .containsOnly(List.of(ClientQuotaFilterComponent.ofEntity(ClientQuotaEntity.CLIENT_ID,
              "slow")))).get(slow), "after removing one key");
      alter(own, pair, "producer_byte_rate", null);
      Check.equal(2, describe(own, ClientQuotaFilter.all()).size(),
          "an entity without quotas is gone");

      Check.get(own.admin.alterClientQuotas(List.of(new ClientQuotaAlteration(
          entity(ClientQuotaEntity.CLIENT_ID, "dry-run"),
          List.of(new ClientQuotaAlteration.Op("producer_byte_rate", 5.0)))),
          new AlterClientQuotasOptions().validateOnly(true)).all());
      Check.equal(2, describe(own, ClientQuotaFilter.all()).size(), "validateOnly stores nothing");
    });
  }

  @Test("quotas")
  void invalidQuotasAreRefusedAndChangeNothing(Kit kit) throws Exception {
    Kit.onOwnBroker(kit, List.of(), own -> {
      List<ClientQuotaAlteration> bad = List.of(
          new ClientQuotaAlteration(entity("group", "g"),
              List.of(new ClientQuotaAlteration.Op("producer_byte_rate", 1000.0))),
          new ClientQuotaAlteration(entity(ClientQuotaEntity.IP, "127.0.0.1"),
              List.of(new ClientQuotaAlteration.Op("connection_creation_rate", 10.0))),
          new ClientQuotaAlteration(entity(ClientQuotaEntity.CLIENT_ID, "c"),
              List.of(new ClientQuotaAlteration.Op("no_such_quota", 10.0))),
          new ClientQuotaAlteration(entity(ClientQuotaEntity.CLIENT_ID, "c"),
              List.of(new ClientQuotaAlteration.Op("producer_byte_rate", 10.5))),
          new ClientQuotaAlteration(entity(ClientQuotaEntity.CLIENT_ID, "c"),
              List.of(new ClientQuotaAlteration.Op("request_percentage", -1.0))));
      Map<ClientQuotaEntity, org.apache.kafka.common.KafkaFuture<Void>> results =
          own.admin.alterClientQuotas(bad).values();
      for (ClientQuotaAlteration alteration : bad) {
        InvalidRequestException e = Check.fails(InvalidRequestException.class,
            "altering " + alteration, () -> Check.get(results.get(alteration.entity())));
        Check.that(e.getMessage() != null && !e.getMessage().isEmpty(),
            "the refusal says why: " + e.getMessage());
      }
      Check.equal(Map.of(), describe(own, ClientQuotaFilter.all()), "nothing stored");
      Check.fails(InvalidRequestException.class, "a filter on an unknown entity type",
          () -> describe(own, ClientQuotaFilter.contains(List.of(
              ClientQuotaFilterComponent.ofEntityType("group")))));
    });
  }

  /**
   * On a broker of its own: client id "slow" held to 1 MiB/s of produce and "slow-reader" to
   * 1 MiB/s of fetch, measured while the slow producer gets 20 MiB acknowledged (20 s at its
   * quota), while client id "fast" produces unthrottled.
   */
  @Test("quotas")
  void byteRatesAreHeldToTheirQuotaWhileOthersKeepGoing(Kit kit) throws Exception {
    Kit.onOwnBroker(kit, List.of(), own -> {
      String topic = own.createTopic(Kit.unique("quota"), 2, Map.of("retention.ms", "-1"));
      alter(own, entity(ClientQuotaEntity.CLIENT_ID, "slow"), "producer_byte_rate", RATE);
      alter(own, entity(ClientQuotaEntity.CLIENT_ID, "slow-reader"), "consumer_byte_rate", RATE);
      byte[] value = new byte[10_000];
      // What the reader will read: more than 20 s at its quota could take.
      KafkaProducer<byte[], byte[]> filler = own.producer(Map.of());
      for (int i = 0; i < 3_000; i++) {
        filler.send(new ProducerRecord<>(topic, 1, null, value));
      }
      filler.flush();

      AtomicBoolean stop = new AtomicBoolean();
      KafkaProducer<byte[], byte[]> slow = producer(own, "slow");
      KafkaProducer<byte[], byte[]> fast = producer(own, "fast");
      AtomicLong slowBytes = new AtomicLong();
      AtomicLong fastBytes = new AtomicLong();
      AtomicLong readBytes = new AtomicLong();
      List<CompletableFuture<Void>> clients = List.of(
          CompletableFuture.runAsync(() -> send(slow, topic, value, slowBytes, stop)),
          CompletableFuture.runAsync(() -> send(fast, topic, value, fastBytes, stop)),
          CompletableFuture.runAsync(() -> read(own, topic, readBytes, stop)));
      long start = System.nanoTime();
      try {
        Check.eventually(3 * Kit.IO_TIMEOUT_MS, "20 s of acknowledged sends at the quota",
            () -> slowBytes.get() >= MEASURED_BYTES || clients.stream().anyMatch(c -> c.isDone()));
      } finally {
        stop.set(true);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      for (CompletableFuture<Void> c : clients) {
        c.get(60, TimeUnit.SECONDS);
      }
      double slowRate = slowBytes.get() / seconds;
      double readRate = readBytes.get() / seconds;
      double fastRate = fastBytes.get() / seconds;
      System.out.printf("  over %.1f s: slow producer %.2f MiB/s, slow reader %.2f MiB/s "
          + "(quotas 1 MiB/s), unthrottled producer %.2f MiB/s%n", seconds, slowRate / RATE,
          readRate / RATE, fastRate / RATE);
      Check.that(Math.abs(slowRate / RATE - 1) <= 0.1,
          "the slow producer's rate is within 10 % of its quota: " + slowRate / RATE);
      Check.that(Math.abs(readRate / RATE - 1) <= 0.1,
          "the slow reader's rate is within 10 % of its quota: " + readRate / RATE);
      Check.that(throttleMax(slow) > 0, "the slow producer was told to wait");
      Check.equal(0.0, throttleMax(fast), "the fast producer's longest throttle time");
      Check.that(fastRate > 3 * RATE, "the fast producer outpaces the quota: " + fastRate / RATE);
    });
  }

  /**
   * A producer of 64 KiB batches whose buffer holds 4 of them: send() blocks while the broker
   * throttles it, and what is left to send after the measurement is little.
   */
  private static KafkaProducer<byte[], byte[]> producer(Kit own, String clientId) {
    return own.producer(Map.of(ProducerConfig.CLIENT_ID_CONFIG, clientId,
        ProducerConfig.LINGER_MS_CONFIG, 5, ProducerConfig.BATCH_SIZE_CONFIG, 64 * 1024,
        ProducerConfig.BUFFER_MEMORY_CONFIG, 256 * 1024));
  }

  /** Sends `value` until `stop`, counting the bytes acknowledged before it. */
  private static void send(KafkaProducer<byte[], byte[]> producer, String topic, byte[] value,
      AtomicLong acked, AtomicBoolean stop) {
    while (!stop.get()) {
      producer.send(new ProducerRecord<>(topic, 0, null, value), (md, e) -> {
        if (e == null && !stop.get()) {
          acked.addAndGet(value.length);
        }
      });
    }
    producer.flush();
  }

  /**
   * Reads partition 1 from the start as client id "slow-reader" until `stop`, 256 KiB per
   * fetch: a fetch over the quota is answered without data, so smaller fetches waste less.
   */
  private static void read(Kit own, String topic, AtomicLong bytes, AtomicBoolean stop) {
    KafkaConsumer<byte[], byte[]> c = own.consumer(Map.of(ConsumerConfig.CLIENT_ID_CONFIG,
        "slow-reader", ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 256 * 1024));
    c.assign(List.of(new TopicPartition(topic, 1)));
    while (!stop.get()) {
      for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
        bytes.addAndGet(r.value().length);
      }
    }
  }

  private static double throttleMax(KafkaProducer<byte[], byte[]> producer) {
    return producer.metrics().entrySet().stream()
        .filter(e -> e.getKey().group().equals("producer-metrics")
            && e.getKey().name().equals("produce-throttle-time-max"))
        .mapToDouble(e -> ((Number) e.getValue().metricValue()).doubleValue())
        .max().orElse(Double.NaN);
  }
}
