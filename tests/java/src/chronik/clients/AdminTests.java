package chronik.clients;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.TopicPartitionInfo;

/** Topic administration through the Java AdminClient. */
class AdminTests {
  @Test("metadata")
  void describeClusterNamesOurBrokerAsController(Kit kit) throws Exception {
    DescribeClusterResult cluster = kit.admin.describeCluster();
    Check.equal(kit.broker.clusterId(), Check.get(cluster.clusterId()), "cluster id");
    Check.equal(kit.broker.nodeId, Check.get(cluster.controller()).id(), "controller");
    Check.equal(List.of(kit.broker.nodeId),
        Check.get(cluster.nodes()).stream().map(n -> n.id()).toList(), "nodes");
  }

  @Test("topics")
  void createListDescribeAndDeleteTopics(Kit kit) throws Exception {
    String name = kit.createTopic(Kit.unique("admin"), 3, Map.of("retention.ms", "3600000"));
    Check.that(Check.get(kit.admin.listTopics().names()).contains(name), "listed: " + name);
    TopicDescription d = Check.get(kit.admin.describeTopics(List.of(name)).topicNameValues()
        .get(name));
    Check.that(!d.isInternal(), "not internal");
    Check.that(d.topicId() != null && !d.topicId().equals(Uuid.ZERO_UUID), "topic id set");
    Check.equal(List.of(0, 1, 2), d.partitions().stream().map(TopicPartitionInfo::partition)
        .toList(), "partitions");
    for (TopicPartitionInfo p : d.partitions()) {
      Check.equal(List.of(kit.broker.nodeId), p.replicas().stream().map(n -> n.id()).toList(),
          "replicas of " + p.partition());
      Check.equal(List.of(kit.broker.nodeId), p.isr().stream().map(n -> n.id()).toList(),
          "isr of " + p.partition());
    }
    // The same topic again is refused; an invalid config is refused and creates nothing.
    Check.fails(TopicExistsException.class, "create twice", () ->
        Check.get(kit.admin.createTopics(List.of(new NewTopic(name, 1, (short) 1))).all()));
    String bad = Kit.unique("bad-config");
    Check.fails(InvalidConfigurationException.class, "retention.ms=soon", () -> Check.get(
        kit.admin.createTopics(List.of(new NewTopic(bad, 1, (short) 1)
            .configs(Map.of("retention.ms", "soon")))).all()));
    Check.that(!Check.get(kit.admin.listTopics().names()).contains(bad), "bad topic absent");

    Check.get(kit.admin.deleteTopics(List.of(name)).all());
    Check.eventually(Kit.IO_TIMEOUT_MS, name + " no longer listed", () -> {
      try {
        return !Check.get(kit.admin.listTopics().names()).contains(name);
      } catch (Exception e) {
        return false;
      }
    });
    Check.fails(UnknownTopicOrPartitionException.class, "describe deleted", () ->
        Check.get(kit.admin.describeTopics(List.of(name)).allTopicNames()));
  }

  @Test("topics")
  void validateOnlyCreatesNothing(Kit kit) throws Exception {
    String name = Kit.unique("validate-only");
    Check.get(kit.admin.createTopics(List.of(new NewTopic(name, 2, (short) 1)),
        new CreateTopicsOptions().validateOnly(true)).all());
    Check.that(!Check.get(kit.admin.listTopics().names()).contains(name),
        "validateOnly created " + name);
  }

  @Test("topics")
  void listTopicsHidesInternalTopicsUnlessAsked(Kit kit) throws Exception {
    // A group commit makes the broker create __consumer_offsets.
    GroupAdminTests.commitOffsets(kit, Kit.unique("internal-probe"),
        kit.createTopic(Kit.unique("internal"), 1), Map.of(0, 1L));
    Set<String> visible = Check.get(kit.admin.listTopics().names());
    Set<String> all = Check.get(kit.admin.listTopics(new ListTopicsOptions().listInternal(true))
        .names());
    Check.that(!visible.contains("__consumer_offsets"), "internal topic listed: " + visible);
    Check.that(all.contains("__consumer_offsets"), "internal topic missing: " + all);
  }

  @Test("topic-configs")
  void describeAndIncrementallyAlterTopicConfigs(Kit kit) throws Exception {
    String name = kit.createTopic(Kit.unique("configs"), 1);
    ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, name);
    ConfigEntry before = entry(kit, topic, "retention.ms");
    Check.equal("604800000", before.value(), "default retention.ms");
    Check.equal(ConfigEntry.ConfigSource.DEFAULT_CONFIG, before.source(), "default's source");
    Check.equal("delete", entry(kit, topic, "cleanup.policy").value(), "cleanup.policy");

    alter(kit, topic, new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"),
        AlterConfigOp.OpType.SET), new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"),
        AlterConfigOp.OpType.APPEND));
    ConfigEntry set = entry(kit, topic, "retention.ms");
    Check.equal("3600000", set.value(), "retention.ms after SET");
    Check.equal(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, set.source(), "source after SET");
    Check.equal(Set.of("delete", "compact"),
        Set.of(entry(kit, topic, "cleanup.policy").value().split(",")), "policy after APPEND");

    // A bad value is refused and changes nothing.
    Check.fails(InvalidConfigurationException.class, "retention.ms=-5x", () -> alter(kit, topic,
        new AlterConfigOp(new ConfigEntry("retention.ms", "-5x"), AlterConfigOp.OpType.SET)));
    Check.equal("3600000", entry(kit, topic, "retention.ms").value(), "after refused SET");

    alter(kit, topic, new AlterConfigOp(new ConfigEntry("retention.ms", ""),
        AlterConfigOp.OpType.DELETE), new AlterConfigOp(new ConfigEntry("cleanup.policy",
        "compact"), AlterConfigOp.OpType.SUBTRACT));
    Check.equal("604800000", entry(kit, topic, "retention.ms").value(), "after DELETE");
    Check.equal("delete", entry(kit, topic, "cleanup.policy").value(), "after SUBTRACT");
  }

  @Test("partitions")
  void createPartitionsGrowsATopicAndRefusesShrinking(Kit kit) throws Exception {
    String name = kit.createTopic(Kit.unique("grow"), 1);
    Check.get(kit.admin.createPartitions(Map.of(name, NewPartitions.increaseTo(4))).all());
    Check.eventually(Kit.IO_TIMEOUT_MS, name + " has 4 partitions", () -> {
      try {
        return Check.get(kit.admin.describeTopics(List.of(name)).topicNameValues().get(name))
            .partitions().size() == 4;
      } catch (Exception e) {
        return false;
      }
    });
    KafkaProducer<byte[], byte[]> producer = kit.producer(Map.of());
    RecordMetadata md = producer.send(new ProducerRecord<>(name, 3, null, "p3".getBytes())).get();
    Check.equal(3, md.partition(), "written to the new partition");
    Check.fails(InvalidPartitionsException.class, "shrink to 2", () -> Check.get(
        kit.admin.createPartitions(Map.of(name, NewPartitions.increaseTo(2))).all()));
  }

  @Test("topic-configs")
  void describeConfigsOfAMissingTopicFails(Kit kit) {
    ConfigResource missing = new ConfigResource(ConfigResource.Type.TOPIC, Kit.unique("missing"));
    Check.fails(UnknownTopicOrPartitionException.class, "describe configs of a missing topic",
        () -> Check.get(kit.admin.describeConfigs(List.of(missing)).all()));
  }

  static ConfigEntry entry(Kit kit, ConfigResource resource, String key) throws Exception {
    Config config = Check.get(kit.admin.describeConfigs(List.of(resource)).all()).get(resource);
    ConfigEntry e = config.get(key);
    Check.that(e != null, key + " missing from " + names(config.entries()));
    return e;
  }

  private static Set<String> names(Collection<ConfigEntry> entries) {
    return entries.stream().map(ConfigEntry::name).collect(Collectors.toSet());
  }

  private static void alter(Kit kit, ConfigResource r, AlterConfigOp... ops) throws Exception {
    Check.get(kit.admin.incrementalAlterConfigs(Map.of(r, List.of(ops))).all());
  }
}
