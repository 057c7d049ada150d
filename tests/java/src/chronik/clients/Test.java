package chronik.clients;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a public void method taking a {@link Kit} as a test the {@link Runner} runs. Its value
 * names the Kafka features it shows working with the Java client: the feature ids of the
 * compatibility table (docs/compatibility.md), which the Runner reports with each outcome.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Test {
  String[] value() default {};
}
