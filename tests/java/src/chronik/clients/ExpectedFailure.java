package chronik.clients;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A test that fails because of a known broker bug, named in {@link #value}, with a failure whose
 * text contains {@link #failure}. The runner counts that failure as expected; any other failure,
 * and a pass, count as failures, so neither a new bug nor a fixed one goes unnoticed.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface ExpectedFailure {
  /** The broker bug that makes the test fail. */
  String value();

  /** Text the expected failure's message contains. */
  String failure();
}
