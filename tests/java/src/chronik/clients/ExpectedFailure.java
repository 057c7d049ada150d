package chronik.clients;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A test that fails because of a known broker bug, named in {@link #value}. The runner counts its
 * failure as expected and reports a pass as a failure, so a fixed bug cannot go unnoticed.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface ExpectedFailure {
  /** The broker bug that makes the test fail. */
  String value();
}
