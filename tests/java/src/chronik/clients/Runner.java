package chronik.clients;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.utils.AppInfoParser;

/**
 * Runs the Java client tests against one chronik-broker it starts and stops itself.
 *
 * <p>Usage: {@code java chronik.clients.Runner [FILTER]}; FILTER runs only the tests whose
 * {@code Class.method} name contains it. The broker binary comes from {@code $CHRONIK_BIN_DIR}
 * (default {@code target/debug}). Prints PASS/FAIL per test and exits 1 if any failed. With
 * {@code $CHRONIK_COMPAT_REPORT} set, also writes one line per test to that file: its name, its
 * outcome and the features its {@link Test} annotation names, separated by tabs.
 */
public final class Runner {
  private static final List<Class<?>> SUITES = List.of(AdminTests.class, ProduceTests.class,
      ConsumeTests.class, CompactionTests.class, GroupTests.class, GroupAdminTests.class,
      RestartTests.class, TransactionTests.class, OperatorAdminTests.class,
      FetchSessionTests.class, QuotaTests.class, ConsumerProtocolTests.class,
      BrokerConfigTests.class, SecurityTests.class);

  /**
   * Broker flags: no fsync (tests never crash the host), a cleaner that looks every 100 ms, and
   * consumer-protocol members that heartbeat every 500 ms, so hand-overs take less than a second.
   */
  private static final List<String> BROKER_ARGS = List.of("--fsync", "never",
      "--auto-create-topics", "false", "--log-cleaner-backoff-ms", "100",
      "--group-consumer-heartbeat-interval-ms", "500");

  private Runner() {}

  public static void main(String[] args) throws Exception {
    String filter = args.length > 0 ? args[0] : "";
    List<Method> tests = selected(filter);
    if (tests.isEmpty()) {
      System.out.println("no test matches '" + filter + "'");
      System.exit(2);
    }
    Path binDir = Path.of(System.getenv().getOrDefault("CHRONIK_BIN_DIR", "target/debug"));
    String expectedClient = System.getProperty("kafka.clients.expected");
    if (expectedClient != null && !expectedClient.equals(AppInfoParser.getVersion())) {
      System.out.println("kafka-clients is " + AppInfoParser.getVersion() + ", expected "
          + expectedClient + ": remove target/java/lib and target/java/wheel to fetch it again");
      System.exit(2);
    }
    System.out.println("kafka-clients " + AppInfoParser.getVersion() + ", " + tests.size()
        + " tests");
    long started = System.nanoTime();
    Broker broker = Broker.start(binDir, BROKER_ARGS);
    Thread stopOnExit = new Thread(() -> {
      try {
        broker.stop();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    Runtime.getRuntime().addShutdownHook(stopOnExit);
    System.out.printf("broker pid %d, node %d, cluster %s, on %s, dir %s (%d ms)%n", broker.pid(),
        broker.nodeId, broker.clusterId(), broker.bootstrap, broker.dir, ms(started));
    int passed = 0;
    int failed = 0;
    int expected = 0;
    StringBuilder report = new StringBuilder();
    try (Admin admin = Kit.admin(broker.bootstrap)) {
      for (Method test : tests) {
        Outcome outcome = run(test, broker, admin);
        switch (outcome) {
          case PASS -> passed++;
          case EXPECTED_FAILURE -> expected++;
          case FAIL -> failed++;
        }
        report.append(name(test)).append('\t').append(outcome.name().toLowerCase(Locale.ROOT))
            .append('\t').append(String.join(",", test.getAnnotation(Test.class).value()))
            .append('\n');
      }
    } finally {
      int code = broker.stop();
      Runtime.getRuntime().removeShutdownHook(stopOnExit);
      if (code != 0) {
        failed++;
        System.out.println("FAIL broker exited " + code + " after SIGTERM:\n" + broker.logTail());
      }
    }
    if (failed == 0) {
      broker.deleteDir();
    } else {
      System.out.println("broker log and data kept in " + broker.dir);
    }
    System.out.printf("took %d ms; %d expected failures%n", ms(started), expected);
    System.out.printf("java: %d passed, %d failed%n", passed, failed);
    String reportPath = System.getenv("CHRONIK_COMPAT_REPORT");
    if (reportPath != null) {
      Files.writeString(Path.of(reportPath), report);
    }
    System.exit(failed == 0 ? 0 : 1);
  }

  private enum Outcome { PASS, FAIL, EXPECTED_FAILURE }

  private static Outcome run(Method test, Broker broker, Admin admin) throws Exception {
    String name = name(test);
    ExpectedFailure known = test.getAnnotation(ExpectedFailure.class);
    long started = System.nanoTime();
    Throwable failure = null;
    try (Kit kit = new Kit(broker, admin)) {
      test.invoke(test.getDeclaringClass().getDeclaredConstructor().newInstance(), kit);
    } catch (InvocationTargetException e) {
      failure = e.getCause();
    }
    long took = ms(started);
    if (failure == null && known == null) {
      System.out.printf("PASS %s (%d ms)%n", name, took);
      return Outcome.PASS;
    }
    if (failure == null) {
      System.out.printf("FAIL %s (%d ms): passed, but is marked as failing because of: %s%n",
          name, took, known.value());
      return Outcome.FAIL;
    }
    if (known != null && String.valueOf(failure).contains(known.failure())) {
      System.out.printf("XFAIL %s (%d ms): %s%n  because of: %s%n", name, took, failure,
          known.value());
      return Outcome.EXPECTED_FAILURE;
    }
    StringWriter trace = new StringWriter();
    failure.printStackTrace(new PrintWriter(trace));
    System.out.printf("FAIL %s (%d ms): %s%n", name, took, trace);
    return Outcome.FAIL;
  }

  private static List<Method> selected(String filter) {
    List<Method> out = new ArrayList<>();
    for (Class<?> suite : SUITES) {
      Arrays.stream(suite.getDeclaredMethods())
          .filter(m -> m.isAnnotationPresent(Test.class))
          .filter(m -> (suite.getSimpleName() + "." + m.getName()).contains(filter))
          .sorted(Comparator.comparing(Method::getName))
          .forEach(out::add);
    }
    return out;
  }

  private static String name(Method test) {
    return test.getDeclaringClass().getSimpleName() + "." + test.getName();
  }

  private static long ms(long sinceNanos) {
    return (System.nanoTime() - sinceNanos) / 1_000_000;
  }
}
