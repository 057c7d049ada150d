package chronik.clients;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConfigEntry.ConfigSource;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.RecordTooLargeException;

/**
 * Broker configs changed at runtime through the Java AdminClient, each test on a broker of its
 * own: the cluster-wide defaults (the broker resource named "") under one broker's own values,
 * DescribeConfigs' sources and synonyms, and Produce following a changed default at once.
 */
class BrokerConfigTests {
  private static final ConfigResource CLUSTER_WIDE =
      new ConfigResource(ConfigResource.Type.BROKER, "");

  @Test("broker-configs")
  void clusterWideAndPerBrokerConfigsLayerOverTheFlags(Kit kit) throws Exception {
    Kit.onOwnBroker(kit, List.of(), own -> {
      ConfigResource broker =
          new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(own.broker.nodeId));
      String topic = own.createTopic(Kit.unique("layers"), 1);
      ConfigResource topicResource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      Check.equal(List.of(), describe(own, CLUSTER_WIDE).entries().stream().toList(),
          "no cluster-wide config set yet");

      set(own, CLUSTER_WIDE, "log.retention.ms", "3600000");
      ConfigEntry wide = describe(own, CLUSTER_WIDE).get("log.retention.ms");
      Check.equal("3600000", wide.value(), "cluster-wide value");
      Check.equal(ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG, wide.source(), "its source");
      Check.equal(1, describe(own, CLUSTER_WIDE).entries().size(), "only what is set");
      ConfigEntry ofTopic = describe(own, topicResource).get("retention.ms");
      Check.equal("3600000", ofTopic.value(), "the topic's default");
      Check.equal(ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG, ofTopic.source(), "from the cluster");

      set(own, broker, "log.retention.ms", "7200000");
      ConfigEntry layered = describe(own, topicResource).get("retention.ms");
      Check.equal("7200000", layered.value(), "the broker's own value wins");
      Check.equal(List.of(ConfigSource.DYNAMIC_BROKER_CONFIG,
          ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG, ConfigSource.DEFAULT_CONFIG),
          layered.synonyms().stream().map(s -> s.source()).collect(Collectors.toList()),
          "synonyms, highest first");
      ConfigEntry ofBroker = describe(own, broker).get("log.retention.ms");
      Check.equal(ConfigSource.DYNAMIC_BROKER_CONFIG, ofBroker.source(), "broker's source");
      Check.that(!ofBroker.isReadOnly(), "log.retention.ms can change");
      Check.that(describe(own, broker).get("node.id").isReadOnly(), "node.id is read-only");

      alter(own, broker, new AlterConfigOp(new ConfigEntry("log.retention.ms", ""),
          AlterConfigOp.OpType.DELETE));
      Check.equal("3600000", describe(own, topicResource).get("retention.ms").value(),
          "back to the cluster-wide value");
    });
  }

  @Test("broker-configs")
  void produceFollowsAChangedClusterWideDefaultAtOnce(Kit kit) throws Exception {
    Kit.onOwnBroker(kit, List.of(), own -> {
      String topic = own.createTopic(Kit.unique("max-bytes"), 1);
      KafkaProducer<byte[], byte[]> producer = own.producer(Map.of());
      byte[] value = new byte[5000];
      producer.send(new ProducerRecord<>(topic, value)).get();
      set(own, CLUSTER_WIDE, "message.max.bytes", "2000");
      Check.fails(RecordTooLargeException.class, "5000 bytes over message.max.bytes=2000",
          () -> producer.send(new ProducerRecord<>(topic, value)).get());
      Check.fails(InvalidConfigurationException.class, "node.id is read-only",
          () -> set(own, CLUSTER_WIDE, "node.id", "5"));
      Check.fails(InvalidConfigurationException.class, "an invalid value",
          () -> set(own, CLUSTER_WIDE, "message.max.bytes", "lots"));
      Check.equal("2000", describe(own, CLUSTER_WIDE).get("message.max.bytes").value(),
          "the refused changes left it");
      alter(own, CLUSTER_WIDE, new AlterConfigOp(new ConfigEntry("message.max.bytes", ""),
          AlterConfigOp.OpType.DELETE));
      producer.send(new ProducerRecord<>(topic, value)).get();
    });
  }

  private static Config describe(Kit kit, ConfigResource resource) throws Exception {
    DescribeConfigsOptions options = new DescribeConfigsOptions().includeSynonyms(true);
    return Check.get(kit.admin.describeConfigs(List.of(resource), options).all()).get(resource);
  }

  private static void set(Kit kit, ConfigResource r, String name, String value) throws Exception {
    alter(kit, r, new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET));
  }

  private static void alter(Kit kit, ConfigResource r, AlterConfigOp op) throws Exception {
    Check.get(kit.admin.incrementalAlterConfigs(Map.of(r, List.of(op))).all());
  }
}
