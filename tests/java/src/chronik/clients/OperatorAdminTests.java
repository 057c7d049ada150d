package chronik.clients;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.QuorumInfo;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ElectionNotNeededException;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupSubscribedToTopicException;
import org.apache.kafka.common.errors.InvalidReplicaAssignmentException;
import org.apache.kafka.common.errors.NoReassignmentInProgressException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/** The admin calls operators and their tools run: offsets, log dirs, the quorum, elections. */
class OperatorAdminTests {
  @Test("group-admin")
  void deleteCommittedOffsetsOfTopicsTheGroupNoLongerConsumes(Kit kit) throws Exception {
    String consumed = kit.createTopic(Kit.unique("consumed"), 1);
    String dropped = kit.createTopic(Kit.unique("dropped"), 1);
    String group = Kit.unique("offset-delete");
    TopicPartition keep = new TopicPartition(consumed, 0);
    TopicPartition drop = new TopicPartition(dropped, 0);
    GroupAdminTests.commitOffsets(kit, group, consumed, Map.of(0, 3L));
    GroupAdminTests.commitOffsets(kit, group, dropped, Map.of(0, 4L));

    KafkaConsumer<byte[], byte[]> c = kit.consumer(Map.of(ConsumerConfig.GROUP_ID_CONFIG, group));
    c.subscribe(List.of(consumed));
    Check.eventually(Kit.IO_TIMEOUT_MS, "consumer assigned", () -> {
      c.poll(Duration.ofMillis(50));
      return !c.assignment().isEmpty();
    });
    var result = kit.admin.deleteConsumerGroupOffsets(group, Set.of(keep, drop));
    Check.get(result.partitionResult(drop));
    Check.fails(GroupSubscribedToTopicException.class, "delete offsets of a consumed topic",
        () -> Check.get(result.partitionResult(keep)));
    c.close();
    var left = Check.get(kit.admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
    Check.equal(Set.of(keep), left.keySet(), "offsets left");

    // With the member gone the rest may go too; unknown groups and topics are refused.
    Check.get(kit.admin.deleteConsumerGroupOffsets(group, Set.of(keep)).all());
    Check.that(Check.get(kit.admin.listConsumerGroupOffsets(group)
        .partitionsToOffsetAndMetadata()).isEmpty(), "no offsets left");
    Check.fails(GroupIdNotFoundException.class, "unknown group", () -> Check.get(
        kit.admin.deleteConsumerGroupOffsets(Kit.unique("no-group"), Set.of(keep)).all()));
    TopicPartition missing = new TopicPartition(Kit.unique("missing"), 0);
    GroupAdminTests.commitOffsets(kit, group, consumed, Map.of(0, 1L));
    Check.fails(UnknownTopicOrPartitionException.class, "unknown topic", () -> Check.get(
        kit.admin.deleteConsumerGroupOffsets(group, Set.of(missing)).partitionResult(missing)));
  }

  @Test("admin-ops")
  void describeLogDirsShowsEachHostedPartitionsSize(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("log-dirs"), 2);
    KafkaProducer<byte[], byte[]> producer = kit.producer(Map.of());
    for (int i = 0; i < 100; i++) {
      producer.send(new ProducerRecord<>(topic, 0, null, new byte[1000]));
    }
    producer.flush();
    Map<String, LogDirDescription> dirs = Check.get(kit.admin
        .describeLogDirs(List.of(kit.broker.nodeId)).allDescriptions()).get(kit.broker.nodeId);
    Check.equal(1, dirs.size(), "log dirs");
    LogDirDescription dir = dirs.values().iterator().next();
    Check.that(dir.error() == null, "log dir error: " + dir.error());
    ReplicaInfo written = dir.replicaInfos().get(new TopicPartition(topic, 0));
    ReplicaInfo empty = dir.replicaInfos().get(new TopicPartition(topic, 1));
    Check.that(written != null && empty != null, "both partitions listed: " + dir.replicaInfos());
    Check.that(written.size() >= 100_000, "size of 100 KB written: " + written.size());
    Check.equal(0L, empty.size(), "size of the empty partition");
    Check.equal(0L, written.offsetLag(), "offset lag");
    Check.that(dir.totalBytes().orElse(0) > 0, "total bytes " + dir.totalBytes());
    Check.that(dir.usableBytes().orElse(0) > 0, "usable bytes " + dir.usableBytes());
  }

  @Test("admin-ops")
  void describeMetadataQuorumNamesTheEmbeddedVoter(Kit kit) throws Exception {
    QuorumInfo quorum = Check.get(kit.admin.describeMetadataQuorum().quorumInfo());
    Check.equal(kit.broker.nodeId, quorum.leaderId(), "quorum leader");
    Check.that(quorum.leaderEpoch() >= 1, "leader epoch " + quorum.leaderEpoch());
    Check.that(quorum.highWatermark() > 0, "high watermark " + quorum.highWatermark());
    Check.equal(List.of(kit.broker.nodeId),
        quorum.voters().stream().map(QuorumInfo.ReplicaState::replicaId).toList(), "voters");
    Check.that(quorum.voters().get(0).logEndOffset() >= quorum.highWatermark(),
        "the leader holds what it committed");
    QuorumInfo.Node node = quorum.nodes().get(kit.broker.nodeId);
    Check.that(node != null, "the voter among the nodes " + quorum.nodes());
    Check.equal(1, node.endpoints().size(), "its endpoints " + node.endpoints());
    Check.equal("127.0.0.1", node.endpoints().get(0).host(), "its meta node's host");
    Check.that(node.endpoints().get(0).port() > 0, "its meta node's port");
  }

  @Test("admin-ops")
  void electLeadersAnswersPerPartition(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("elect"), 1);
    TopicPartition tp = new TopicPartition(topic, 0);
    TopicPartition unknown = new TopicPartition(Kit.unique("unknown"), 0);
    for (ElectionType type : ElectionType.values()) {
      Map<TopicPartition, Optional<Throwable>> results = Check.get(
          kit.admin.electLeaders(type, Set.of(tp, unknown)).partitions());
      Check.that(results.get(tp).orElse(null) instanceof ElectionNotNeededException,
          type + " on a led partition: " + results.get(tp));
      Check.that(results.get(unknown).orElse(null) instanceof UnknownTopicOrPartitionException,
          type + " on an unknown partition: " + results.get(unknown));
    }
  }

  @Test("admin-ops")
  void reassignmentsAreListedAndBadOnesRefused(Kit kit) throws Exception {
    String topic = kit.createTopic(Kit.unique("reassign"), 1);
    TopicPartition tp = new TopicPartition(topic, 0);
    int me = kit.broker.nodeId;
    Check.that(Check.get(kit.admin.listPartitionReassignments().reassignments()).isEmpty(),
        "nothing is being reassigned");
    // Onto the replica it already has: done at once.
    Check.get(kit.admin.alterPartitionReassignments(Map.of(tp,
        Optional.of(new NewPartitionReassignment(List.of(me))))).all());
    Check.that(Check.get(kit.admin.listPartitionReassignments(Set.of(tp)).reassignments())
        .isEmpty(), "a reassignment onto the current replicas finishes at once");
    Check.fails(NoReassignmentInProgressException.class, "cancel where none runs", () ->
        Check.get(kit.admin.alterPartitionReassignments(Map.of(tp, Optional.empty())).all()));
    Check.fails(InvalidReplicaAssignmentException.class, "onto a broker that does not exist",
        () -> Check.get(kit.admin.alterPartitionReassignments(Map.of(tp,
            Optional.of(new NewPartitionReassignment(List.of(me + 1000))))).all()));
    Check.fails(UnknownTopicOrPartitionException.class, "an unknown partition", () ->
        Check.get(kit.admin.alterPartitionReassignments(Map.of(new TopicPartition(topic, 5),
            Optional.of(new NewPartitionReassignment(List.of(me))))).all()));
  }

  @Test("topics")
  void createTopicAndPartitionsWithManualReplicaAssignments(Kit kit) throws Exception {
    String name = Kit.unique("manual");
    int me = kit.broker.nodeId;
    Check.get(kit.admin.createTopics(List.of(new NewTopic(name,
        Map.of(0, List.of(me), 1, List.of(me))))).all());
    TopicDescription d = Check.get(kit.admin.describeTopics(List.of(name)).topicNameValues()
        .get(name));
    Check.equal(2, d.partitions().size(), "partitions");
    String unknownBroker = Kit.unique("manual-bad");
    Check.fails(InvalidReplicaAssignmentException.class, "a broker that does not exist", () ->
        Check.get(kit.admin.createTopics(List.of(new NewTopic(unknownBroker,
            Map.of(0, List.of(me + 1000))))).all()));
    String gap = Kit.unique("manual-gap");
    Check.fails(InvalidReplicaAssignmentException.class, "partitions 0 and 2 only", () ->
        Check.get(kit.admin.createTopics(List.of(new NewTopic(gap,
            Map.of(0, List.of(me), 2, List.of(me))))).all()));
    Check.that(!Check.get(kit.admin.listTopics().names()).contains(unknownBroker),
        "a refused topic is not created");

    // New partitions with their replicas given, one list per new partition.
    Check.get(kit.admin.createPartitions(Map.of(name,
        NewPartitions.increaseTo(4, List.of(List.of(me), List.of(me))))).all());
    Check.fails(InvalidReplicaAssignmentException.class, "one list for two new partitions", () ->
        Check.get(kit.admin.createPartitions(Map.of(name,
            NewPartitions.increaseTo(6, List.of(List.of(me))))).all()));
    Check.equal(4, Check.get(kit.admin.describeTopics(List.of(name)).topicNameValues()
        .get(name)).partitions().size(), "partitions after createPartitions");
  }
}
