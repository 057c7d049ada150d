package chronik.clients;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.common.errors.ProducerFencedException;

/** The transactional producer, read_committed consumers and offsets sent with a transaction. */
class TransactionTests {
  private static final Map<String, Object> READ_COMMITTED =
      Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");

  private static KafkaProducer<byte[], byte[]> transactional(Kit kit, String id) {
    KafkaProducer<byte[], byte[]> p = kit.producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id));
    p.initTransactions();
    return p;
  }

  private static void send(KafkaProducer<byte[], byte[]> p, TopicPartition tp, String prefix, int n) {
    for (int i = 0; i < n; i++) {
      p.send(new ProducerRecord<>(tp.topic(), tp.partition(), null, (prefix + i).getBytes()));
    }
    // Sent before the transaction ends, so an abort leaves them in the log under its marker.
    p.flush();
  }

  private static List<String> values(List<ConsumerRecord<byte[], byte[]>> records) {
    List<String> out = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      out.add(new String(r.value()));
    }
    return out;
  }

  @Test("transactions")
  void readCommittedSeesOnlyCommittedTransactions(Kit kit) throws Exception {
    TopicPartition tp = new TopicPartition(kit.createTopic(Kit.unique("txn"), 1), 0);
    KafkaProducer<byte[], byte[]> p = transactional(kit, Kit.unique("tx"));
    p.beginTransaction();
    send(p, tp, "c", 3);
    p.commitTransaction();
    p.beginTransaction();
    send(p, tp, "a", 3);
    p.abortTransaction();
    p.beginTransaction();
    send(p, tp, "d", 2);
    p.commitTransaction();
    Check.equal(List.of("c0", "c1", "c2", "d0", "d1"),
        values(kit.readPartition(tp, 0, READ_COMMITTED)), "read_committed");
    Check.equal(List.of("c0", "c1", "c2", "a0", "a1", "a2", "d0", "d1"),
        values(kit.readPartition(tp, 0)), "read_uncommitted");
  }

  @Test("transactions")
  void offsetsSentWithATransactionCountWhenItCommits(Kit kit) throws Exception {
    TopicPartition src = new TopicPartition(kit.createTopic(Kit.unique("src"), 1), 0);
    TopicPartition out = new TopicPartition(kit.createTopic(Kit.unique("out"), 1), 0);
    KafkaProducer<byte[], byte[]> seed = kit.producer(Map.of());
    send(seed, src, "m", 6);
    String group = Kit.unique("ctp");
    KafkaConsumer<byte[], byte[]> c = kit.consumer(Map.of(ConsumerConfig.GROUP_ID_CONFIG, group,
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"));
    c.assign(List.of(src));
    List<ConsumerRecord<byte[], byte[]>> consumed = new ArrayList<>();
    Check.eventually(30_000, "six records consumed", () -> {
      c.poll(Duration.ofMillis(200)).forEach(consumed::add);
      return consumed.size() >= 6;
    });
    KafkaProducer<byte[], byte[]> p = transactional(kit, Kit.unique("tx"));
    for (boolean commit : new boolean[] {true, false}) {
      p.beginTransaction();
      int from = commit ? 0 : 4;
      int to = commit ? 4 : 6;
      for (ConsumerRecord<byte[], byte[]> r : consumed.subList(from, to)) {
        p.send(new ProducerRecord<>(out.topic(), 0, null, new String(r.value()).toUpperCase().getBytes()));
      }
      p.sendOffsetsToTransaction(Map.of(src, new OffsetAndMetadata(to)), c.groupMetadata());
      if (commit) {
        p.commitTransaction();
      } else {
        p.abortTransaction();
      }
    }
    Check.equal(4L, c.committed(java.util.Set.of(src)).get(src).offset(),
        "the group's offset after a committed and an aborted transaction");
    Check.equal(List.of("M0", "M1", "M2", "M3"), values(kit.readPartition(out, 0, READ_COMMITTED)),
        "records the committed transaction wrote");
  }

  @Test("transactions")
  void aSecondProducerWithTheSameIdFencesTheFirst(Kit kit) throws Exception {
    TopicPartition tp = new TopicPartition(kit.createTopic(Kit.unique("fence"), 1), 0);
    String id = Kit.unique("tx");
    KafkaProducer<byte[], byte[]> old = transactional(kit, id);
    old.beginTransaction();
    send(old, tp, "zombie", 1);
    KafkaProducer<byte[], byte[]> fresh = transactional(kit, id);
    try {
      old.commitTransaction();
      throw new AssertionError("the fenced producer committed");
    } catch (ProducerFencedException expected) {
      // the new producer's InitProducerId bumped the epoch and aborted the old transaction
    }
    fresh.beginTransaction();
    send(fresh, tp, "fresh", 1);
    fresh.commitTransaction();
    Check.equal(List.of("fresh0"), values(kit.readPartition(tp, 0, READ_COMMITTED)),
        "what read_committed sees");
  }

  @Test("transactions")
  void adminDescribesTransactionsAndProducers(Kit kit) throws Exception {
    TopicPartition tp = new TopicPartition(kit.createTopic(Kit.unique("txn-admin"), 1), 0);
    String id = Kit.unique("tx");
    KafkaProducer<byte[], byte[]> p = transactional(kit, id);
    p.beginTransaction();
    send(p, tp, "open", 2);
    TransactionDescription open = Check.get(kit.admin.describeTransactions(List.of(id)).description(id));
    Check.equal(TransactionState.ONGOING, open.state(), "state of the open transaction");
    Check.equal(java.util.Set.of(tp), open.topicPartitions(), "its partitions");
    Check.that(open.transactionStartTimeMs().isPresent(), "its start time is known");
    long producerId = open.producerId();
    boolean listed = false;
    for (TransactionListing l : Check.get(kit.admin.listTransactions().all())) {
      listed |= l.transactionalId().equals(id) && l.producerId() == producerId
          && l.state() == TransactionState.ONGOING;
    }
    Check.that(listed, "listTransactions names it as ongoing");
    List<ProducerState> producers = Check.get(kit.admin.describeProducers(List.of(tp)).partitionResult(tp))
        .activeProducers();
    Check.equal(1, producers.size(), "producers of the partition");
    Check.equal(producerId, producers.get(0).producerId(), "the producer's id");
    Check.equal(java.util.OptionalLong.of(0), producers.get(0).currentTransactionStartOffset(),
        "its open transaction starts at offset 0");
    Check.equal(1, producers.get(0).lastSequence(), "its last sequence");
    p.commitTransaction();
    Check.eventually(30_000, "the transaction completes", () -> {
      try {
        return Check.get(kit.admin.describeTransactions(List.of(id)).description(id)).state()
            == TransactionState.COMPLETE_COMMIT;
      } catch (Exception e) {
        return false;
      }
    });
  }

  @Test("transactions")
  void adminAbortsAHangingTransaction(Kit kit) throws Exception {
    TopicPartition tp = new TopicPartition(kit.createTopic(Kit.unique("hanging"), 1), 0);
    KafkaProducer<byte[], byte[]> p = transactional(kit, Kit.unique("tx"));
    p.beginTransaction();
    send(p, tp, "stuck", 2);
    Check.equal(0L, kit.consumer(READ_COMMITTED).endOffsets(List.of(tp)).get(tp),
        "read_committed end offset while the transaction is open");
    ProducerState hanging = Check.get(kit.admin.describeProducers(List.of(tp)).partitionResult(tp))
        .activeProducers().get(0);
    Check.get(kit.admin.abortTransaction(new AbortTransactionSpec(tp, hanging.producerId(),
        (short) hanging.producerEpoch(), hanging.coordinatorEpoch().orElse(-1))).all());
    Check.eventually(30_000, "the abort marker moves the last stable offset", () ->
        kit.consumer(READ_COMMITTED).endOffsets(List.of(tp)).get(tp) == 3L);
    Check.equal(List.of(), values(kit.readPartition(tp, 0, READ_COMMITTED)), "what read_committed sees");
  }
}

