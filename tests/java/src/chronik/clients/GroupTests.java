package chronik.clients;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.ConsumerGroupState;
import org.apache.kafka.common.TopicPartition;

/**
 * Subscribed consumer groups: the cooperative-sticky assignor, static membership and session
 * expiry, and partitions added to a subscribed topic.
 */
class GroupTests {
  private static final int PARTITIONS = 4;
  /** The broker's shortest allowed session timeout. */
  private static final int SHORTEST_SESSION_MS = 6_000;

  private static Map<String, Object> memberProps(String group, Map<String, Object> extra) {
    Map<String, Object> props = new HashMap<>(Map.of(
        ConsumerConfig.GROUP_ID_CONFIG, group,
        ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000,
        ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500,
        ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 30_000));
    props.putAll(extra);
    return props;
  }

  /** Produces `perPartition` records tagged `tag` to each of the topic's 4 partitions. */
  static void produce(Kit kit, String topic, int perPartition, String tag) {
    KafkaProducer<byte[], byte[]> producer = kit.producer(Map.of());
    for (int p = 0; p < PARTITIONS; p++) {
      for (int i = 0; i < perPartition; i++) {
        producer.send(new ProducerRecord<>(topic, p, null, (tag + i).getBytes()));
      }
    }
    producer.flush();
  }

  /** Runs `pollAll` until `done`, failing with `what` at the I/O deadline. */
  static void pollUntil(String what, Runnable pollAll, BooleanSupplier done) {
    Check.eventually(Kit.IO_TIMEOUT_MS, what, () -> {
      pollAll.run();
      return done.getAsBoolean();
    });
  }

  @Test({"groups", "cooperative-sticky"})
  void cooperativeStickySplitsPartitionsAndHandsThemOverOnLeave(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("coop"), PARTITIONS);
    String group = Kit.unique("coop-group");
    produce(kit, topic, 50, "first-");
    Map<String, Integer> consumed = new ConcurrentHashMap<>();
    Map<String, Object> props = memberProps(group, Map.of(
        ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
        CooperativeStickyAssignor.class.getName()));
    Member a = new Member("a", kit.consumer(props), topic, consumed);
    pollUntil("a alone owns every partition", a::poll, () -> a.owned.size() == PARTITIONS);
    Member b = new Member("b", kit.consumer(props), topic, consumed);
    pollUntil("a and b split the partitions 2/2 and consumed the first 200 records", () -> {
      a.poll();
      b.poll();
    }, () -> a.owned.size() == 2 && b.owned.size() == 2 && consumed.size() == 200);
    Set<TopicPartition> all = new HashSet<>(a.owned);
    all.addAll(b.owned);
    Check.equal(PARTITIONS, all.size(), "a and b own disjoint partitions");
    // Cooperative: a gave up exactly the partitions b took, and never lost them all at once.
    Check.equal(b.owned, a.revoked, "what a gave up is what b owns");
    Check.that(a.callbacks.stream().noneMatch(c -> c.startsWith("lost")), "a lost: " + a.callbacks);
    Check.equal("cooperative-sticky", Check.get(kit.admin.describeConsumerGroups(List.of(group))
        .describedGroups().get(group)).partitionAssignor(), "assignor the group runs");

    produce(kit, topic, 50, "second-");
    pollUntil("b consumed part of the second 200 records", () -> {
      a.poll();
      b.poll();
    }, () -> consumed.size() > 250 && b.owned.stream().anyMatch(tp ->
        b.consumer.position(tp) > 50));
    b.consumer.close();
    Map<TopicPartition, Long> ends = a.consumer.endOffsets(new HashSet<>(all));
    pollUntil("a owns all partitions and reached their ends", a::poll, () ->
        a.owned.size() == PARTITIONS && ends.entrySet().stream().allMatch(e ->
            a.consumer.position(e.getKey()) >= e.getValue()));
    Check.equal(400, consumed.size(), "distinct records consumed");
    Member.assertConsumedOnce(consumed, "across the hand-over");
  }

  @Test("static-membership")
  void aStaticMemberRestartKeepsItsAssignmentWithoutARebalance(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("static"), PARTITIONS);
    String group = Kit.unique("static-group");
    Map<String, Integer> consumed = new ConcurrentHashMap<>();
    Member a = new Member("a", kit.consumer(memberProps(group, Map.of(
        ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "a", ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG,
        30_000))), topic, consumed);
    pollUntil("a alone owns every partition", a::poll, () -> a.owned.size() == PARTITIONS);
    Member b = new Member("b", kit.consumer(memberProps(group, Map.of(
        ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "b", ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG,
        30_000))), topic, consumed);
    pollUntil("a and b own 2 partitions each", () -> {
      a.poll();
      b.poll();
    }, () -> a.owned.size() == 2 && b.owned.size() == 2);
    Set<TopicPartition> aOwned = Set.copyOf(a.owned);
    int generation = b.generation();
    int bCallbacks = b.callbacks.size();

    // A static member's close sends no LeaveGroup: the group keeps a's place for its session.
    a.consumer.close();
    Member restarted = new Member("a2", kit.consumer(memberProps(group, Map.of(
        ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "a", ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG,
        30_000))), topic, consumed);
    pollUntil("restarted a owns partitions again", () -> {
      restarted.poll();
      b.poll();
    }, () -> !restarted.owned.isEmpty());
    Check.equal(aOwned, restarted.owned, "restarted a's assignment");
    Check.equal(generation, restarted.generation(), "generation of the restarted member");
    Check.equal(generation, b.generation(), "b's generation (no rebalance)");
    Check.equal(bCallbacks, b.callbacks.size(), "b's rebalance callbacks " + b.callbacks);

    ConsumerGroupDescription d = Check.get(kit.admin.describeConsumerGroups(List.of(group))
        .describedGroups().get(group));
    Check.equal(ConsumerGroupState.STABLE, d.state(), "group state");
    Map<String, Set<TopicPartition>> byInstance = new HashMap<>();
    for (MemberDescription m : d.members()) {
      byInstance.put(m.groupInstanceId().orElse("(none)"), m.assignment().topicPartitions());
    }
    Check.equal(Map.of("a", aOwned, "b", Set.copyOf(b.owned)), byInstance,
        "described members by instance id");
  }

  @Test("static-membership")
  void aClosedStaticMemberLeavesWhenItsSessionTimesOut(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("static-expiry"), PARTITIONS);
    String group = Kit.unique("static-expiry-group");
    Map<String, Integer> consumed = new ConcurrentHashMap<>();
    Map<String, Object> extra = Map.of(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "a",
        ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, SHORTEST_SESSION_MS);
    Member a = new Member("a", kit.consumer(memberProps(group, extra)), topic, consumed);
    pollUntil("a alone owns every partition", a::poll, () -> a.owned.size() == PARTITIONS);
    Member b = new Member("b", kit.consumer(memberProps(group, Map.of(
        ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "b", ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG,
        SHORTEST_SESSION_MS))), topic, consumed);
    pollUntil("a and b own 2 partitions each", () -> {
      a.poll();
      b.poll();
    }, () -> a.owned.size() == 2 && b.owned.size() == 2);
    // No LeaveGroup from a static member: only its session timeout frees its partitions.
    long closed = System.nanoTime();
    a.consumer.close();
    pollUntil("b owns every partition", b::poll, () -> b.owned.size() == PARTITIONS);
    long tookMs = (System.nanoTime() - closed) / 1_000_000;
    Check.that(tookMs >= SHORTEST_SESSION_MS - 1_000, "b took a's partitions after " + tookMs
        + " ms, before a's session of " + SHORTEST_SESSION_MS + " ms ended");
    ConsumerGroupDescription d = Check.get(kit.admin.describeConsumerGroups(List.of(group))
        .describedGroups().get(group));
    Check.equal(List.of("b"), d.members().stream().map(m -> m.groupInstanceId().orElse("(none)"))
        .toList(), "members left");
  }

  @Test({"groups", "partitions"})
  void aSubscribedConsumerPicksUpAddedPartitions(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("growing"), 2);
    Map<String, Integer> consumed = new ConcurrentHashMap<>();
    Member a = new Member("a", kit.consumer(memberProps(Kit.unique("growing-group"), Map.of(
        ConsumerConfig.METADATA_MAX_AGE_CONFIG, 500))), topic, consumed);
    pollUntil("a owns both partitions", a::poll, () -> a.owned.size() == 2);
    Check.get(kit.admin.createPartitions(Map.of(topic,
        NewPartitions.increaseTo(3))).all());
    kit.producer(Map.of()).send(new ProducerRecord<>(topic, 2, null, "new".getBytes())).get();
    pollUntil("a consumed the record of the added partition", a::poll,
        () -> consumed.containsKey("2:0"));
    Check.equal(3, a.owned.size(), "partitions owned");
  }
}
