package chronik.clients;

import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.common.KafkaFuture;

/** Assertions and deadline waits for the tests (no test framework is on the class path). */
final class Check {
  private Check() {}

  static void that(boolean condition, String what) {
    if (!condition) {
      throw new AssertionError(what);
    }
  }

  static void equal(Object expected, Object actual, String what) {
    boolean same = expected instanceof byte[] && actual instanceof byte[]
        ? Arrays.equals((byte[]) expected, (byte[]) actual)
        : Objects.equals(expected, actual);
    if (!same) {
      throw new AssertionError(what + ": expected " + expected + ", got " + actual);
    }
  }

  /** Polls `condition` every 50 ms until it holds; fails naming `what` after `timeoutMs`. */
  static void eventually(long timeoutMs, String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + timeoutMs + " ms: " + what);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what);
      }
    }
  }

  /** The value of an admin future, waiting at most 30 s. */
  static <T> T get(KafkaFuture<T> future) throws Exception {
    try {
      return future.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
    }
  }

  /** Runs `call` and returns the exception of class `expected` it must fail with. */
  static <E extends Throwable> E fails(Class<E> expected, String what, ThrowingRunnable call) {
    try {
      call.run();
    } catch (Throwable e) {
      Throwable cause = e;
      while (cause != null && !expected.isInstance(cause)) {
        cause = cause.getCause();
      }
      if (cause == null) {
        throw new AssertionError(what + ": expected " + expected.getSimpleName() + ", got " + e, e);
      }
      return expected.cast(cause);
    }
    throw new AssertionError(what + ": expected " + expected.getSimpleName()
        + ", but it succeeded");
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }
}
