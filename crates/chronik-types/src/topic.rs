use std::fmt;

/// Kafka's limit on topic name length.
const MAX_TOPIC_NAME_LEN: usize = 249;

/// One partition of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid topic name '{name}': {reason}")]
pub struct InvalidTopicName {
    pub name: String,
    pub reason: &'static str,
}

/// Checks a topic name against Kafka's rules: 1 to 249 characters of `[a-zA-Z0-9._-]`,
/// and not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), InvalidTopicName> {
    let fail = |reason| {
        Err(InvalidTopicName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return fail("it is empty");
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return fail("it is longer than 249 characters");
    }
    if name == "." || name == ".." {
        return fail("'.' and '..' are reserved");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return fail("only ASCII letters, digits, '.', '_' and '-' are allowed");
    }
    Ok(())
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        Self {
            topic: topic.into(),
            partition,
        }
    }

    /// The directory name of this partition's log: `<topic>-<partition>`.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }

    /// Parses a directory name made by [`TopicPartition::dir_name`]. Topic names may contain
    /// '-', so the partition is what follows the last one.
    pub fn from_dir_name(name: &str) -> Option<Self> {
        let (topic, partition) = name.rsplit_once('-')?;
        let partition: i32 = partition.parse().ok().filter(|p| *p >= 0)?;
        validate_topic_name(topic).ok()?;
        if !partition_digits_canonical(name, topic) {
            return None;
        }
        Some(Self::new(topic, partition))
    }
}

fn partition_digits_canonical(name: &str, topic: &str) -> bool {
    let digits = &name[topic.len() + 1..];
    digits == "0" || !digits.starts_with('0')
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_names_round_trip_even_with_dashes() {
        let tp = TopicPartition::new("orders-eu-west", 12);
        assert_eq!(tp.dir_name(), "orders-eu-west-12");
        assert_eq!(TopicPartition::from_dir_name("orders-eu-west-12"), Some(tp));
    }

    #[test]
    fn rejects_names_that_are_not_partition_dirs() {
        for name in ["orders", "orders-", "-1", "orders-x", "orders-01", "a b-1"] {
            assert_eq!(TopicPartition::from_dir_name(name), None, "{name}");
        }
        // A topic may itself end in '-': the partition is what follows the last one.
        assert_eq!(
            TopicPartition::from_dir_name("orders--1"),
            Some(TopicPartition::new("orders-", 1))
        );
    }

    #[test]
    fn topic_name_rules() {
        assert!(validate_topic_name("a.b_c-D9").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("has space").is_err());
        assert!(validate_topic_name(&"x".repeat(250)).is_err());
    }
}
