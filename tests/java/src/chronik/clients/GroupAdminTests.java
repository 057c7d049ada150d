package chronik.clients;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.ConsumerGroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.errors.UnknownMemberIdException;

/** Consumer groups and their committed offsets through the AdminClient. */
class GroupAdminTests {
  /** Commits `offsets` (partition to offset) of `topic` for `group` from an assigned consumer. */
  static void commitOffsets(Kit kit, String group, String topic, Map<Integer, Long> offsets) {
    try (KafkaConsumer<byte[], byte[]> c = kit.consumer(Map.of(ConsumerConfig.GROUP_ID_CONFIG,
        group))) {
      Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
      offsets.forEach((p, o) -> commit.put(new TopicPartition(topic, p),
          new OffsetAndMetadata(o, "meta-" + o)));
      c.commitSync(commit);
    }
  }

  private static Map<TopicPartition, Long> listed(Kit kit, String group) throws Exception {
    return Check.get(kit.admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata())
        .entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey,
            e -> e.getValue().offset()));
  }

  private static ConsumerGroupDescription describe(Kit kit, String group) throws Exception {
    return Check.get(kit.admin.describeConsumerGroups(List.of(group)).describedGroups()
        .get(group));
  }

  private static ConsumerGroupListing listing(Kit kit, String group) throws Exception {
    return Check.get(kit.admin.listConsumerGroups().all()).stream()
        .filter(g -> g.groupId().equals(group)).findFirst().orElse(null);
  }

  @Test("group-admin")
  void listAndDescribeAnActiveGroupThenDeleteIt(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("described"), 2);
    String group = Kit.unique("described-group");
    KafkaConsumer<byte[], byte[]> c = kit.consumer(Map.of(ConsumerConfig.GROUP_ID_CONFIG, group,
        ConsumerConfig.CLIENT_ID_CONFIG, "describe-me"));
    c.subscribe(List.of(topic));
    Check.eventually(Kit.IO_TIMEOUT_MS, "consumer assigned both partitions", () -> {
      c.poll(Duration.ofMillis(50));
      return c.assignment().size() == 2;
    });
    ConsumerGroupListing listed = listing(kit, group);
    Check.that(listed != null, group + " not listed");
    Check.equal(ConsumerGroupState.STABLE, listed.state().orElse(null), "listed state");
    ConsumerGroupDescription d = describe(kit, group);
    Check.equal(ConsumerGroupState.STABLE, d.state(), "described state");
    Check.equal(kit.broker.nodeId, d.coordinator().id(), "coordinator");
    Check.equal(1, d.members().size(), "members");
    MemberDescription m = d.members().iterator().next();
    Check.equal("describe-me", m.clientId(), "member client id");
    Check.equal(c.assignment(), m.assignment().topicPartitions(), "member assignment");
    Check.that(!d.partitionAssignor().isEmpty(), "assignor named");

    Check.fails(GroupNotEmptyException.class, "delete a group with a member", () ->
        Check.get(kit.admin.deleteConsumerGroups(List.of(group)).all()));
    // With committed offsets the group outlives its last member (an empty group without
    // offsets may be dropped at once).
    c.commitSync(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(0)));
    c.close();
    Check.equal(ConsumerGroupState.EMPTY, describe(kit, group).state(), "state after close");
    Check.get(kit.admin.deleteConsumerGroups(List.of(group)).all());
    Check.that(listing(kit, group) == null, group + " still listed after delete");
    Check.fails(GroupIdNotFoundException.class, "delete twice", () ->
        Check.get(kit.admin.deleteConsumerGroups(List.of(group)).all()));
  }

  @Test("group-admin")
  void listAndAlterCommittedOffsets(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("offsets"), 2);
    String group = Kit.unique("offsets-group");
    TopicPartition p0 = new TopicPartition(topic, 0);
    TopicPartition p1 = new TopicPartition(topic, 1);
    KafkaProducer<byte[], byte[]> producer = kit.producer(Map.of());
    for (int i = 0; i < 20; i++) {
      producer.send(new ProducerRecord<>(topic, i % 2, null, new byte[1]));
    }
    producer.flush();
    commitOffsets(kit, group, topic, Map.of(0, 5L, 1, 7L));
    Check.equal(Map.of(p0, 5L, p1, 7L), listed(kit, group), "committed offsets");
    OffsetAndMetadata meta = Check.get(kit.admin.listConsumerGroupOffsets(group)
        .partitionsToOffsetAndMetadata()).get(p0);
    Check.equal("meta-5", meta.metadata(), "commit metadata");

    Check.get(kit.admin.alterConsumerGroupOffsets(group, Map.of(p0, new OffsetAndMetadata(2)))
        .all());
    Check.equal(Map.of(p0, 2L, p1, 7L), listed(kit, group), "offsets after alter");

    // While the group has a member, the admin client may not move its offsets.
    KafkaConsumer<byte[], byte[]> c = kit.consumer(Map.of(ConsumerConfig.GROUP_ID_CONFIG, group));
    c.subscribe(List.of(topic));
    Map<TopicPartition, Long> firstRead = new HashMap<>();
    Check.eventually(Kit.IO_TIMEOUT_MS, "consumer read both partitions", () -> {
      c.poll(Duration.ofMillis(50)).forEach(r -> firstRead.putIfAbsent(
          new TopicPartition(r.topic(), r.partition()), r.offset()));
      return firstRead.size() == 2;
    });
    Check.equal(2L, firstRead.get(p0), "first offset read from the altered partition");
    Check.equal(7L, firstRead.get(p1), "first offset read from the other partition");
    Check.fails(UnknownMemberIdException.class, "alter offsets of an active group", () ->
        Check.get(kit.admin.alterConsumerGroupOffsets(group, Map.of(p1,
            new OffsetAndMetadata(0))).all()));
    c.close();
    Check.equal(Set.of(p0, p1), listed(kit, group).keySet(), "offsets kept after the member left");
  }
}
