//! Checks a `--log-format json` log: every line one JSON object with the documented keys.

use serde_json::{Map, Value};

/// Parses every line of `log` as a JSON object with "timestamp", "level", "target" and
/// "message" (the event's fields sit beside them); panics naming the first line that is not.
pub fn parse_json_log(log: &str) -> Vec<Map<String, Value>> {
    assert!(
        !log.contains('\x1b'),
        "ANSI escape codes in a JSON log:\n{log}"
    );
    assert!(
        log.ends_with('\n'),
        "the log does not end with a whole line:\n{log}"
    );
    log.lines()
        .enumerate()
        .map(|(number, line)| {
            let Ok(Value::Object(object)) = serde_json::from_str::<Value>(line) else {
                panic!("log line {} is not a JSON object: {line}", number + 1);
            };
            for key in ["timestamp", "level", "target", "message"] {
                assert!(
                    object.get(key).is_some_and(Value::is_string),
                    "log line {} has no string {key:?}: {line}",
                    number + 1
                );
            }
            object
        })
        .collect()
}

/// The lines whose message is `message`.
pub fn with_message<'a>(
    lines: &'a [Map<String, Value>],
    message: &str,
) -> Vec<&'a Map<String, Value>> {
    (lines.iter())
        .filter(|l| l.get("message").and_then(Value::as_str) == Some(message))
        .collect()
}
