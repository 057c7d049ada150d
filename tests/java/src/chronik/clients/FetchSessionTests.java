package chronik.clients;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * Fetch sessions (KIP-227) with the Java consumer, which opens one per broker: a consumer of
 * many partitions keeps one session and its idle fetches shrink to a few bytes; a consumer
 * whose session is evicted goes on with full fetches without noticing.
 */
class FetchSessionTests {
  private static final int PARTITIONS = 1000;
  /** Idle fetches measured: the consumer's default fetch.max.wait.ms is 500 ms. */
  private static final int IDLE_FETCHES = 10;

  @Test("fetch-sessions")
  void aConsumerOfManyPartitionsKeepsOneSessionAndIdlesCheaply(Kit kit) throws Exception {
    Idle withSessions = idleConsumer(kit, List.of());
    Idle withoutSessions = idleConsumer(kit, List.of("--fetch-session-cache-slots", "0"));
    System.out.printf("  idle consumer of %d partitions: %s with sessions, %s with full fetches%n",
        PARTITIONS, withSessions, withoutSessions);
    Check.that(withSessions.bytesPerFetch() * 50 < withoutSessions.bytesPerFetch(),
        "an idle fetch in a session is at least 50 times smaller than a full one: "
            + withSessions + " vs " + withoutSessions);
  }

  /** What an idle consumer costs the broker, per fetch and per second. */
  private record Idle(double fetches, double bytes, double seconds, double cpuSeconds) {
    double bytesPerFetch() {
      return bytes / fetches;
    }

    @Override
    public String toString() {
      return String.format("%.0f bytes/fetch, %.0f bytes/s, %.1f%% of a core",
          bytesPerFetch(), bytes / seconds, 100 * cpuSeconds / seconds);
    }
  }

  /**
   * On an own broker started with `moreArgs`: a consumer of every partition of a new topic
   * reads one record from each, then idles for {@link #IDLE_FETCHES} fetches; new records
   * still reach it. With sessions on, it holds one session of every partition.
   */
  private static Idle idleConsumer(Kit kit, List<String> moreArgs) throws Exception {
    int port = Broker.freePort();
    List<String> args = new ArrayList<>(List.of("--metrics-addr", "127.0.0.1:" + port));
    args.addAll(moreArgs);
    Idle[] idle = new Idle[1];
    Kit.onOwnBroker(kit, args, own -> {
      Metrics metrics = new Metrics(port);
      boolean sessions = moreArgs.isEmpty();
      String topic = own.createTopic(Kit.unique("many"), PARTITIONS);
      produce(own, topic, IntStream.range(0, PARTITIONS).boxed().toList(), "first");
      KafkaConsumer<byte[], byte[]> c = own.consumer(Map.of());
      c.assign(IntStream.range(0, PARTITIONS).mapToObj(p -> new TopicPartition(topic, p))
          .toList());
      Check.equal(PARTITIONS, pollUntil(c, PARTITIONS).size(), "records read");

      String counter = sessions ? "chronik_broker_incremental_fetches_total"
          : "chronik_broker_requests_total{api=\"Fetch\"}";
      // The first fetches after the reads carry every partition's new position.
      idleFetches(c, metrics, counter, 3);
      double fetches = metrics.get(counter);
      double bytes = metrics.get("chronik_broker_bytes_in_total")
          + metrics.get("chronik_broker_bytes_out_total");
      double cpu = cpuSeconds(own.broker.pid());
      long start = System.nanoTime();
      idleFetches(c, metrics, counter, IDLE_FETCHES);
      idle[0] = new Idle(metrics.get(counter) - fetches,
          metrics.get("chronik_broker_bytes_in_total")
              + metrics.get("chronik_broker_bytes_out_total") - bytes,
          (System.nanoTime() - start) / 1e9, cpuSeconds(own.broker.pid()) - cpu);
      if (sessions) {
        Check.equal(1.0, metrics.get("chronik_broker_fetch_sessions"), "fetch sessions");
        Check.equal((double) PARTITIONS,
            metrics.get("chronik_broker_fetch_session_partitions"), "partitions in the session");
      }
      List<Integer> some = IntStream.range(0, 50).map(i -> i * 20).boxed().toList();
      produce(own, topic, some, "second");
      List<ConsumerRecord<byte[], byte[]>> second = pollUntil(c, some.size());
      Check.equal(some.stream().map(p -> "second-" + p).sorted().toList(),
          second.stream().map(r -> new String(r.value(), StandardCharsets.UTF_8)).sorted()
              .toList(), "records produced after the idle time");
    });
    return idle[0];
  }

  /**
   * With one slot and a 1 s eviction time: a 5-partition consumer's session, once idle, is
   * evicted by a 10-partition consumer's; the evicted consumer goes on with full fetches (it
   * cannot take the slot back: the other session is larger and busy) and both read everything.
   */
  @Test("fetch-sessions")
  void anEvictedSessionFallsBackToFullFetches(Kit kit) throws Exception {
    int port = Broker.freePort();
    Kit.onOwnBroker(kit, List.of("--metrics-addr", "127.0.0.1:" + port,
        "--fetch-session-cache-slots", "1", "--fetch-session-eviction-ms", "1000"), own -> {
          Metrics metrics = new Metrics(port);
          String topic = own.createTopic(Kit.unique("evict"), 15);
          List<Integer> all = IntStream.range(0, 15).boxed().toList();
          produce(own, topic, all, "first");
          KafkaConsumer<byte[], byte[]> small = own.consumer(Map.of());
          small.assign(all.subList(0, 5).stream().map(p -> new TopicPartition(topic, p)).toList());
          Check.equal(5, pollUntil(small, 5).size(), "records read by the 5-partition consumer");
          Check.eventually(Kit.IO_TIMEOUT_MS, "the 5-partition session", () -> {
            small.poll(Duration.ofMillis(100));
            return metrics.get("chronik_broker_fetch_session_partitions") == 5.0;
          });
          // The small consumer idles; the larger one gets the slot once it is stale.
          KafkaConsumer<byte[], byte[]> big = own.consumer(Map.of());
          big.assign(all.subList(5, 15).stream().map(p -> new TopicPartition(topic, p)).toList());
          Check.equal(10, pollUntil(big, 10).size(), "records read by the 10-partition consumer");
          Check.eventually(Kit.IO_TIMEOUT_MS, "the idle session evicted for the larger one", () -> {
            big.poll(Duration.ofMillis(100));
            return metrics.get("chronik_broker_fetch_session_partitions") == 10.0;
          });
          Check.equal(1.0, metrics.get("chronik_broker_fetch_session_evictions_total"),
              "sessions evicted");

          produce(own, topic, all, "second");
          Map<String, List<String>> read = new HashMap<>();
          Check.eventually(Kit.IO_TIMEOUT_MS, "both consumers read the second round", () -> {
            for (KafkaConsumer<byte[], byte[]> c : List.of(small, big)) {
              for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                read.computeIfAbsent(c == small ? "small" : "big", k -> new ArrayList<>())
                    .add(new String(r.value(), StandardCharsets.UTF_8));
              }
            }
            return read.values().stream().mapToInt(List::size).sum() >= 15;
          });
          Check.equal(all.subList(0, 5).stream().map(p -> "second-" + p).toList(),
              read.get("small").stream().sorted().toList(), "the evicted consumer's records");
          Check.equal(all.subList(5, 15).stream().map(p -> "second-" + p).sorted().toList(),
              read.get("big").stream().sorted().toList(), "the session holder's records");
          Check.equal(1.0, metrics.get("chronik_broker_fetch_session_evictions_total"),
              "sessions evicted: the smaller one cannot take the slot back");
          Check.equal(10.0, metrics.get("chronik_broker_fetch_session_partitions"),
              "partitions in the one session");
        });
  }

  /** Polls `c`, which must get no record, until `counter` grew by `fetches`. */
  private static void idleFetches(KafkaConsumer<byte[], byte[]> c, Metrics metrics,
      String counter, int fetches) {
    double from = metrics.get(counter);
    Check.eventually(Kit.IO_TIMEOUT_MS, fetches + " idle fetches", () -> {
      Check.equal(0, c.poll(Duration.ofMillis(100)).count(), "records while idle");
      return metrics.get(counter) >= from + fetches;
    });
  }

  /** One record "PREFIX-P" to each partition P of `partitions`. */
  private static void produce(Kit own, String topic, List<Integer> partitions, String prefix)
      throws Exception {
    KafkaProducer<byte[], byte[]> p = own.producer(Map.of());
    for (int partition : partitions) {
      p.send(new ProducerRecord<>(topic, partition, null,
          (prefix + "-" + partition).getBytes(StandardCharsets.UTF_8))).get();
    }
  }

  private static List<ConsumerRecord<byte[], byte[]>> pollUntil(KafkaConsumer<byte[], byte[]> c,
      int count) throws Exception {
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    Check.eventually(Kit.IO_TIMEOUT_MS, count + " records", () -> {
      c.poll(Duration.ofMillis(100)).forEach(out::add);
      return out.size() >= count;
    });
    return out;
  }

  /** User and system CPU seconds of process `pid` so far, from /proc. */
  private static double cpuSeconds(long pid) throws Exception {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    // Fields after the command name (which may hold spaces) start after its closing paren.
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    return ticks / 100.0;
  }

  /** A broker's Prometheus metrics, read over HTTP. */
  private record Metrics(int port) {
    /** The value of one series (name with its labels, as exported); 0 when not exported. */
    double get(String series) {
      HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
          .timeout(Duration.ofSeconds(5)).build();
      String text;
      try {
        text = HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString()).body();
      } catch (IOException e) {
        throw new UncheckedIOException("metrics of the broker on port " + port, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted reading metrics");
      }
      for (String line : text.split("\n")) {
        if (line.startsWith(series + " ")) {
          return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      return 0.0;
    }
  }
}
