package chronik.clients;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * What a test gets: the broker, a shared admin client, and factories for clients that are
 * closed when the test ends (passed or not). Timeouts are short so a stuck call fails fast.
 */
final class Kit implements AutoCloseable {
  static final long IO_TIMEOUT_MS = 30_000;

  final Broker broker;
  final Admin admin;
  private final Deque<AutoCloseable> opened = new ArrayDeque<>();

  Kit(Broker broker, Admin admin) {
    this.broker = broker;
    this.admin = admin;
  }

  static Admin admin(String bootstrap) {
    return Admin.create(Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000));
  }

  /** A test run against a broker of its own. */
  interface OwnBrokerTest {
    void run(Kit own) throws Exception;
  }

  /**
   * Runs `test` against a new broker started with `moreArgs` after the suite's flags, removed
   * afterwards (kept, and named, on failure).
   */
  static void onOwnBroker(Kit kit, List<String> moreArgs, OwnBrokerTest test) throws Exception {
    Broker broker = kit.broker.startAnother(moreArgs);
    boolean passed = false;
    try (Admin admin = Kit.admin(broker.bootstrap); Kit own = new Kit(broker, admin)) {
      test.run(own);
      passed = true;
    } finally {
      int code = broker.stop();
      if (passed && code == 0) {
        broker.deleteDir();
      } else {
        System.out.println("  own broker exited " + code + "; log and data in " + broker.dir);
      }
    }
  }

  /** A topic name no other test uses. */
  static String unique(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** Creates `name` and waits until metadata shows all its partitions with our broker leading. */
  String createTopic(String name, int partitions, Map<String, String> configs) throws Exception {
    NewTopic topic = new NewTopic(name, Optional.of(partitions), Optional.empty()).configs(configs);
    Check.get(admin.createTopics(List.of(topic)).all());
    Check.eventually(IO_TIMEOUT_MS, "topic " + name + " has " + partitions + " led partitions",
        () -> {
          try {
            TopicDescription d = Check.get(admin.describeTopics(List.of(name)).topicNameValues()
                .get(name));
            return d.partitions().size() == partitions && d.partitions().stream()
                .allMatch(p -> p.leader() != null && p.leader().id() == broker.nodeId);
          } catch (Exception e) {
            return false;
          }
        });
    return name;
  }

  String createTopic(String name, int partitions) throws Exception {
    return createTopic(name, partitions, Map.of());
  }

  KafkaProducer<byte[], byte[]> producer(Map<String, Object> overrides) {
    Map<String, Object> props = new HashMap<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap,
        ProducerConfig.ACKS_CONFIG, "all",
        ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
        ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000,
        ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
        ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000));
    props.putAll(overrides);
    return track(new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer()));
  }

  /** A consumer; without a group.id in `overrides` it can only assign partitions. */
  KafkaConsumer<byte[], byte[]> consumer(Map<String, Object> overrides) {
    Map<String, Object> props = new HashMap<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap,
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
        ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
        ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000));
    props.putAll(overrides);
    return track(new KafkaConsumer<>(props, new ByteArrayDeserializer(),
        new ByteArrayDeserializer()));
  }

  /** Every record of `tp` from `from` up to its end offset, read by an assigned consumer. */
  List<ConsumerRecord<byte[], byte[]>> readPartition(TopicPartition tp, long from) {
    return readPartition(tp, from, Map.of());
  }

  /** {@link #readPartition(TopicPartition, long)} by a consumer with `overrides`. */
  List<ConsumerRecord<byte[], byte[]>> readPartition(TopicPartition tp, long from,
      Map<String, Object> overrides) {
    Map<String, Object> props = new HashMap<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap,
        ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
        ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000));
    props.putAll(overrides);
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      c.assign(List.of(tp));
      long end = c.endOffsets(List.of(tp)).get(tp);
      c.seek(tp, from);
      List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
      Check.eventually(IO_TIMEOUT_MS, "read " + tp + " from " + from + " to " + end, () -> {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
          out.add(r);
        }
        return c.position(tp) >= end;
      });
      return out;
    }
  }

  <T extends AutoCloseable> T track(T client) {
    opened.push(client);
    return client;
  }

  /** Closes the clients this test opened, newest first. */
  @Override
  public void close() {
    while (!opened.isEmpty()) {
      try {
        AutoCloseable c = opened.pop();
        if (c instanceof KafkaConsumer<?, ?> consumer) {
          consumer.close(Duration.ofSeconds(5));
        } else if (c instanceof KafkaProducer<?, ?> producer) {
          producer.close(Duration.ofSeconds(5));
        } else {
          c.close();
        }
      } catch (Exception e) {
        System.out.println("  closing a client failed: " + e);
      }
    }
  }
}
