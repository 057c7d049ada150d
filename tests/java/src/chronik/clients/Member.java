package chronik.clients;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;

/**
 * A subscribed group member that commits what it consumed after every poll and, for partitions
 * it gives up, in its revocation callback, so no record is consumed twice across rebalances.
 */
final class Member implements ConsumerRebalanceListener {
  final String name;
  final KafkaConsumer<byte[], byte[]> consumer;
  final Set<TopicPartition> owned = new HashSet<>();
  final Set<TopicPartition> revoked = new HashSet<>();
  final List<String> callbacks = new ArrayList<>();
  /** (partition, offset) of every record this member consumed, with how often. */
  final Map<String, Integer> consumed;

  Member(String name, KafkaConsumer<byte[], byte[]> consumer, String topic,
      Map<String, Integer> consumed) {
    this.name = name;
    this.consumer = consumer;
    this.consumed = consumed;
    consumer.subscribe(List.of(topic), this);
  }

  void poll() {
    boolean any = false;
    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(50))) {
      consumed.merge(r.partition() + ":" + r.offset(), 1, Integer::sum);
      any = true;
    }
    if (any) {
      try {
        consumer.commitSync();
      } catch (RebalanceInProgressException e) {
        // The partitions that move are committed by onPartitionsRevoked in the next poll.
      }
    }
  }

  /** Fails naming every record (partition:offset) in `consumed` read more than once. */
  static void assertConsumedOnce(Map<String, Integer> consumed, String when) {
    Map<String, Integer> twice = new HashMap<>(consumed);
    twice.values().removeIf(n -> n == 1);
    Check.equal(Map.of(), twice, "records consumed more than once " + when);
  }

  int generation() {
    return consumer.groupMetadata().generationId();
  }

  @Override
  public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
    callbacks.add("revoked " + partitions);
    Map<TopicPartition, OffsetAndMetadata> positions = new HashMap<>();
    for (TopicPartition tp : partitions) {
      positions.put(tp, new OffsetAndMetadata(consumer.position(tp)));
    }
    if (!positions.isEmpty()) {
      consumer.commitSync(positions);
    }
    owned.removeAll(partitions);
    revoked.addAll(partitions);
  }

  @Override
  public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
    callbacks.add("assigned " + partitions);
    owned.addAll(partitions);
  }

  @Override
  public void onPartitionsLost(Collection<TopicPartition> partitions) {
    callbacks.add("lost " + partitions);
    owned.removeAll(partitions);
  }
}
