//! The high watermarks of the hosted partitions, saved in one file of the data dir (as
//! Kafka's `replication-offset-checkpoint`), so a restarted broker starts each partition from
//! what it last knew was on every ISR member instead of its log start — which would show
//! consumers an empty partition and answer ListOffsets latest with 0 until followers fetch
//! again. Losing or damaging the file is harmless: the marks then start at the log starts.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use chronik_types::TopicPartition;

const FILE_NAME: &str = "high-watermarks";

/// A saved high watermark and the topic incarnation (id) it belongs to.
pub(crate) type Saved = HashMap<TopicPartition, (String, i64)>;

/// The file's text: one `topic partition topic-id high-watermark` line per partition, sorted.
pub(crate) fn render(marks: &[(TopicPartition, String, i64)]) -> String {
    let mut lines: Vec<String> = (marks.iter())
        .map(|(tp, id, hw)| format!("{} {} {id} {hw}\n", tp.topic, tp.partition))
        .collect();
    lines.sort();
    lines.concat()
}

/// Writes `text` (from [`render`]) atomically: temp file, fsync, rename.
pub(crate) fn save(data_dir: &Path, text: &str) -> std::io::Result<()> {
    let tmp = data_dir.join(format!("{FILE_NAME}.tmp"));
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_data()?;
    }
    std::fs::rename(&tmp, data_dir.join(FILE_NAME))
}

/// The saved marks; empty when there is no file, and when it is damaged (with a warning).
pub(crate) fn load(data_dir: &Path) -> Saved {
    let file = data_dir.join(FILE_NAME);
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Saved::new();
    };
    parse(&text).unwrap_or_else(|| {
        tracing::warn!(file = %file.display(), "damaged high-watermark checkpoint ignored; marks start at the log starts");
        Saved::new()
    })
}

fn parse(text: &str) -> Option<Saved> {
    let mut saved = Saved::new();
    for line in text.lines() {
        let mut fields = line.split(' ');
        let (Some(topic), Some(partition), Some(id), Some(hw), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return None;
        };
        let partition: i32 = partition.parse().ok().filter(|p| *p >= 0)?;
        let hw: i64 = hw.parse().ok().filter(|hw| *hw >= 0)?;
        if topic.is_empty() || id.is_empty() {
            return None;
        }
        saved.insert(TopicPartition::new(topic, partition), (id.to_string(), hw));
    }
    Some(saved)
}

#[cfg(test)]
mod tests {
    use chronik_types::TopicPartition;

    use super::{load, render, save};

    #[test]
    fn saved_marks_load_back_and_a_damaged_file_is_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(load(dir.path()).is_empty(), "nothing saved yet");
        let a = TopicPartition::new("orders", 0);
        let b = TopicPartition::new("orders", 1);
        let text = render(&[
            (b.clone(), "id-1".into(), 7),
            (a.clone(), "id-1".into(), 1234),
        ]);
        assert_eq!(text, "orders 0 id-1 1234\norders 1 id-1 7\n");
        save(dir.path(), &text).expect("save");
        let saved = load(dir.path());
        assert_eq!(saved.get(&a), Some(&("id-1".to_string(), 1234)));
        assert_eq!(saved.get(&b), Some(&("id-1".to_string(), 7)));
        for damage in [
            "orders 0 id-1\n",
            "orders x id-1 5\n",
            "orders 0 id-1 -5\n",
            "a 0 b 1 2\n",
            "\u{1}\n",
        ] {
            std::fs::write(dir.path().join("high-watermarks"), damage).expect("damage");
            assert!(load(dir.path()).is_empty(), "{damage:?} is damage");
        }
    }
}
