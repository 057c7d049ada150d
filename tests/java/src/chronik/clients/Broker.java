package chronik.clients;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.common.Node;

/**
 * A chronik-broker process this suite starts on a free loopback port with a temp data dir, checks
 * it talks to (node id and cluster id), and stops by its own PID only.
 */
final class Broker {
  private static final long START_DEADLINE_MS = 30_000;
  private static final long STOP_DEADLINE_MS = 30_000;

  final int nodeId;
  final int port;
  final String bootstrap;
  final Path dir;
  final Path log;
  /** The command line, kept for restarts on the same port and data dir. */
  private final List<String> command;
  private final Path binDir;
  private final List<String> extraArgs;
  private Process process;
  private String clusterId;

  private Broker(int nodeId, int port, Path dir, Path binDir, List<String> extraArgs) {
    this.nodeId = nodeId;
    this.port = port;
    this.bootstrap = "127.0.0.1:" + port;
    this.dir = dir;
    this.log = dir.resolve("broker.log");
    this.binDir = binDir;
    this.extraArgs = List.copyOf(extraArgs);
    List<String> cmd = new ArrayList<>(List.of(binDir.resolve("chronik-broker").toString(), "run",
        "--id", Integer.toString(nodeId), "--listen", bootstrap, "--data-dir",
        dir.resolve("data").toString()));
    // "{bootstrap}" in a flag stands for this broker's PLAINTEXT address (for --listeners).
    extraArgs.forEach(a -> cmd.add(a.replace("{bootstrap}", bootstrap)));
    this.command = List.copyOf(cmd);
  }

  /** Starts the broker in `binDir` with `extraArgs` and waits until it is ready. */
  static Broker start(Path binDir, List<String> extraArgs) throws Exception {
    Path binary = binDir.resolve("chronik-broker");
    if (!Files.isExecutable(binary)) {
      throw new IllegalStateException(binary + " is missing: build it with "
          + "`cargo build -p chronik-broker-bin` or point CHRONIK_BIN_DIR at its directory");
    }
    Path dir = Files.createTempDirectory("chronik-java-");
    // Not the default id 1: an answer naming our id comes from the process we started.
    int nodeId = ThreadLocalRandom.current().nextInt(2, 1000);
    int port = freePort();
    Broker broker = new Broker(nodeId, port, dir, binDir, extraArgs);
    broker.launch();
    return broker;
  }

  /** A new broker on its own port and data dir, with the same binary and flags as this one. */
  Broker startAnother() throws Exception {
    return startAnother(List.of());
  }

  /** {@link #startAnother()} with `moreArgs` after this broker's flags. */
  Broker startAnother(List<String> moreArgs) throws Exception {
    List<String> args = new ArrayList<>(extraArgs);
    args.addAll(moreArgs);
    return start(binDir, args);
  }

  /**
   * SIGTERMs the broker (it must exit 0), or SIGKILLs it when `kill`, and starts it again on the
   * same port and data dir.
   */
  void restart(boolean kill) throws Exception {
    if (kill) {
      process.destroyForcibly();
      process.waitFor();
    } else {
      Check.equal(0, stop(), "broker exit code after SIGTERM");
    }
    String before = clusterId;
    launch();
    Check.equal(before, clusterId, "cluster id after the restart");
  }

  private void launch() throws Exception {
    process = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
    try {
      awaitReady();
    } catch (Exception | AssertionError e) {
      System.out.println("broker log tail:\n" + logTail());
      stop();
      throw e;
    }
  }

  String clusterId() {
    return clusterId;
  }

  long pid() {
    return process.pid();
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress("127.0.0.1", 0));
      return socket.getLocalPort();
    }
  }

  private void awaitReady() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_DEADLINE_MS);
    Check.eventually(START_DEADLINE_MS, "broker accepts connections on " + bootstrap, () -> {
      assertAlive();
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 500);
        return true;
      } catch (IOException e) {
        return false;
      }
    });
    long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    try (Admin admin = Admin.create(Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) Math.max(left, 5_000),
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000))) {
      DescribeClusterResult cluster = admin.describeCluster();
      Collection<Node> nodes = cluster.nodes().get(left, TimeUnit.MILLISECONDS);
      String answered = cluster.clusterId().get(left, TimeUnit.MILLISECONDS);
      Node controller = cluster.controller().get(left, TimeUnit.MILLISECONDS);
      assertAlive();
      Check.equal(List.of(nodeId + "@127.0.0.1:" + port),
          nodes.stream().map(n -> n.id() + "@" + n.host() + ":" + n.port()).toList(),
          "brokers described by " + bootstrap);
      Check.equal(nodeId, controller.id(), "controller");
      // The embedded metadata node of our data dir wrote the cluster id it runs with.
      String stored = Files.readString(dir.resolve("data/meta/cluster.id")).trim();
      Check.equal(stored, answered, "cluster id answered vs stored in our data dir");
      clusterId = answered;
    }
  }

  private void assertAlive() {
    if (!process.isAlive()) {
      throw new IllegalStateException("broker exited early with " + process.exitValue());
    }
  }

  String logTail() {
    try {
      String text = Files.readString(log, StandardCharsets.UTF_8);
      return text.substring(Math.max(0, text.length() - 4000));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** SIGTERMs our process and waits; returns its exit code (SIGKILL after the deadline). */
  int stop() throws InterruptedException {
    if (!process.isAlive()) {
      return process.exitValue();
    }
    process.destroy();
    if (!process.waitFor(STOP_DEADLINE_MS, TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      process.waitFor();
      return -9;
    }
    return process.exitValue();
  }

  /** Removes the temp dir (data and log). */
  void deleteDir() throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
