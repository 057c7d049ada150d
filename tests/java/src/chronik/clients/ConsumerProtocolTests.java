package chronik.clients;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.ListConsumerGroupsOptions;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.ConsumerGroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.TopicPartition;

/**
 * The consumer group protocol of KIP-848 (group.protocol=consumer): server-side assignment,
 * partitions handed over one member at a time, offsets committed with member epochs, and the
 * admin views of such a group.
 */
class ConsumerProtocolTests {
  private static final int PARTITIONS = 4;

  private static Map<String, Object> memberProps(String group, Map<String, Object> extra) {
    Map<String, Object> props = new HashMap<>(Map.of(
        ConsumerConfig.GROUP_ID_CONFIG, group,
        ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer",
        ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 30_000));
    props.putAll(extra);
    return props;
  }

  private static ConsumerGroupDescription describe(Kit kit, String group) throws Exception {
    return Check.get(kit.admin.describeConsumerGroups(List.of(group)).describedGroups()
        .get(group));
  }

  @Test({"groups", "kip-848"})
  void membersSplitPartitionsWithoutOverlapAndHandThemOverOnLeave(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("kip848"), PARTITIONS);
    String group = Kit.unique("kip848-group");
    GroupTests.produce(kit, topic, 50, "first-");
    Map<String, Integer> consumed = new ConcurrentHashMap<>();
    Member a = new Member("a", kit.consumer(memberProps(group, Map.of())), topic, consumed);
    GroupTests.pollUntil("a alone owns every partition", a::poll, () -> a.owned.size() == PARTITIONS);
    Member b = new Member("b", kit.consumer(memberProps(group, Map.of())), topic, consumed);
    GroupTests.pollUntil("a and b split the partitions 2/2 and consumed the first 200 records", () -> {
      a.poll();
      b.poll();
    }, () -> a.owned.size() == 2 && b.owned.size() == 2 && consumed.size() == 200);
    Set<TopicPartition> all = new HashSet<>(a.owned);
    all.addAll(b.owned);
    Check.equal(PARTITIONS, all.size(), "a and b own disjoint partitions");
    Check.equal(b.owned, a.revoked, "what a gave up is what b owns");
    Check.that(a.callbacks.stream().noneMatch(c -> c.startsWith("lost")), "a lost: " + a.callbacks);

    ConsumerGroupDescription d = describe(kit, group);
    Check.equal(GroupType.CONSUMER, d.type(), "group type");
    Check.equal(ConsumerGroupState.STABLE, d.state(), "group state");
    Check.equal("uniform", d.partitionAssignor(), "default server-side assignor");
    Map<String, Set<TopicPartition>> described = new HashMap<>();
    for (MemberDescription m : d.members()) {
      described.put(m.consumerId(), m.assignment().topicPartitions());
      Check.equal(m.assignment().topicPartitions(),
          m.targetAssignment().orElseThrow().topicPartitions(), "stable member's target");
    }
    Check.equal(Map.of(a.consumer.groupMetadata().memberId(), Set.copyOf(a.owned),
        b.consumer.groupMetadata().memberId(), Set.copyOf(b.owned)), described,
        "described members");

    GroupTests.produce(kit, topic, 50, "second-");
    GroupTests.pollUntil("b consumed part of the second 200 records", () -> {
      a.poll();
      b.poll();
    }, () -> consumed.size() > 250 && b.owned.stream().anyMatch(tp ->
        b.consumer.position(tp) > 50));
    b.consumer.close();
    Map<TopicPartition, Long> ends = a.consumer.endOffsets(new HashSet<>(all));
    GroupTests.pollUntil("a owns all partitions and reached their ends", a::poll, () ->
        a.owned.size() == PARTITIONS && ends.entrySet().stream().allMatch(e ->
            a.consumer.position(e.getKey()) >= e.getValue()));
    Check.equal(400, consumed.size(), "distinct records consumed");
    Member.assertConsumedOnce(consumed, "across the hand-overs");
    Map<TopicPartition, OffsetAndMetadata> committed = Check.get(
        kit.admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
    for (TopicPartition tp : all) {
      Check.equal(100L, committed.get(tp).offset(), "committed offset of " + tp);
    }
  }

  @Test({"groups", "kip-848"})
  void theRangeAssignorIsChosenWithGroupRemoteAssignor(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("kip848-range"), PARTITIONS);
    String group = Kit.unique("kip848-range-group");
    Map<String, Object> props = memberProps(group, Map.of(
        ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG, "range"));
    Map<String, Integer> consumed = new ConcurrentHashMap<>();
    Member a = new Member("a", kit.consumer(props), topic, consumed);
    Member b = new Member("b", kit.consumer(props), topic, consumed);
    GroupTests.pollUntil("a and b own 2 partitions each", () -> {
      a.poll();
      b.poll();
    }, () -> a.owned.size() == 2 && b.owned.size() == 2);
    Check.equal("range", describe(kit, group).partitionAssignor(), "assignor");
    // Range gives contiguous partitions: 0-1 to one member, 2-3 to the other.
    Set<Integer> first = new HashSet<>();
    for (TopicPartition tp : a.owned) {
      first.add(tp.partition());
    }
    Check.that(first.equals(Set.of(0, 1)) || first.equals(Set.of(2, 3)), "a owns " + first);
  }

  @Test({"groups", "kip-848"})
  void anEmptyClassicGroupContinuesUnderTheConsumerProtocolFromItsOffsets(Kit kit)
      throws Exception {
    String topic = kit.createTopic(Kit.unique("kip848-upgrade"), PARTITIONS);
    String group = Kit.unique("kip848-upgrade-group");
    GroupTests.produce(kit, topic, 25, "r-");
    Map<String, Integer> consumed = new ConcurrentHashMap<>();
    Map<String, Object> classic = new HashMap<>(Map.of(
        ConsumerConfig.GROUP_ID_CONFIG, group,
        ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000,
        ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500));
    Member old = new Member("classic", kit.consumer(classic), topic, consumed);
    GroupTests.pollUntil("the classic member consumed all 100 records", old::poll,
        () -> consumed.size() == 100);
    old.consumer.close();
    Check.eventually(Kit.IO_TIMEOUT_MS, "the classic group is empty", () -> {
      try {
        return describe(kit, group).state() == ConsumerGroupState.EMPTY;
      } catch (Exception e) {
        return false;
      }
    });
    GroupTests.produce(kit, topic, 25, "s-");
    Member upgraded = new Member("consumer", kit.consumer(memberProps(group, Map.of())), topic,
        consumed);
    GroupTests.pollUntil("the consumer-protocol member read the 100 new records", upgraded::poll,
        () -> consumed.size() == 200);
    Member.assertConsumedOnce(consumed, "across the upgrade");
    Check.equal(GroupType.CONSUMER, describe(kit, group).type(), "group type after the upgrade");

    Collection<ConsumerGroupListing> listed = Check.get(kit.admin.listConsumerGroups(
        new ListConsumerGroupsOptions().withTypes(Set.of(GroupType.CONSUMER))).all());
    Check.that(listed.stream().anyMatch(l -> l.groupId().equals(group)
        && l.type().equals(java.util.Optional.of(GroupType.CONSUMER))),
        "listed as a consumer group: " + listed);
    Collection<ConsumerGroupListing> classicOnly = Check.get(kit.admin.listConsumerGroups(
        new ListConsumerGroupsOptions().withTypes(Set.of(GroupType.CLASSIC))).all());
    Check.that(classicOnly.stream().noneMatch(l -> l.groupId().equals(group)),
        "not listed as classic: " + classicOnly);
  }

  @Test({"groups", "kip-848"})
  void aRunningGroupMigratesToTheConsumerProtocolAndBack(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("kip848-migrate"), PARTITIONS);
    String group = Kit.unique("kip848-migrate-group");
    GroupTests.produce(kit, topic, 25, "first-");
    Map<String, Integer> consumed = new ConcurrentHashMap<>();
    Map<String, Object> classic = new HashMap<>(Map.of(
        ConsumerConfig.GROUP_ID_CONFIG, group,
        ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000,
        ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500,
        ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 30_000,
        ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
        org.apache.kafka.clients.consumer.CooperativeStickyAssignor.class.getName()));
    Member a = new Member("a", kit.consumer(classic), topic, consumed);
    Member b = new Member("b", kit.consumer(classic), topic, consumed);
    GroupTests.pollUntil("classic members a and b split the partitions and read the first 100 records",
        () -> {
          a.poll();
          b.poll();
        }, () -> a.owned.size() == 2 && b.owned.size() == 2 && consumed.size() == 100);
    Check.equal(GroupType.CLASSIC, describe(kit, group).type(), "group type before");

    // b restarts with the consumer protocol while a keeps running the classic one.
    b.consumer.close();
    Member b2 = new Member("b2", kit.consumer(memberProps(group, Map.of())), topic, consumed);
    GroupTests.produce(kit, topic, 25, "second-");
    GroupTests.pollUntil("a (classic) and b2 (consumer protocol) share the group and read the next 100",
        () -> {
          a.poll();
          b2.poll();
        }, () -> !a.owned.isEmpty() && !b2.owned.isEmpty()
            && a.owned.size() + b2.owned.size() == PARTITIONS && consumed.size() == 200);
    Set<TopicPartition> overlap = new HashSet<>(a.owned);
    overlap.retainAll(b2.owned);
    Check.equal(Set.of(), overlap, "partitions owned by both");
    ConsumerGroupDescription mixed = describe(kit, group);
    Check.equal(GroupType.CONSUMER, mixed.type(), "group type with a consumer-protocol member");
    Check.equal(2, mixed.members().size(), "members of the mixed group");

    // b2 leaves: only the classic member is left, and the group goes back to classic.
    b2.consumer.close();
    GroupTests.produce(kit, topic, 25, "third-");
    GroupTests.pollUntil("a alone owns every partition and read the last 100", a::poll,
        () -> a.owned.size() == PARTITIONS && consumed.size() == 300);
    Check.equal(GroupType.CLASSIC, describe(kit, group).type(), "group type after");
    Member.assertConsumedOnce(consumed, "across the hand-overs");
  }
}
