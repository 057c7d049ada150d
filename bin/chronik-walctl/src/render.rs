//! How values look to people and scripts: timestamps, byte strings, optional numbers.

/// The largest millisecond timestamp RFC 3339 can show (9999-12-31T23:59:59.999Z).
const MAX_RFC3339_MS: i64 = 253_402_300_799_999;

/// A millisecond timestamp as RFC 3339 UTC (`2023-11-14T22:13:20.000Z`), or as raw milliseconds
/// when it is outside 1970..=9999 (Kafka uses -1 for "no timestamp").
pub fn timestamp(ms: i64) -> String {
    if !(0..=MAX_RFC3339_MS).contains(&ms) {
        return format!("{ms} ms");
    }
    let (days, rem) = (ms / 86_400_000, ms % 86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute) = (rem / 3_600_000, rem / 60_000 % 60);
    let (second, milli) = (rem / 1000 % 60, rem % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

/// Year, month and day of a count of days since 1970-01-01 (Howard Hinnant's algorithm), so the
/// tool needs no date library.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `min .. max` as timestamps, or `-` when there is none.
pub fn time_range(min: Option<i64>, max: Option<i64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("{} .. {}", timestamp(min), timestamp(max)),
        (Some(t), None) | (None, Some(t)) => timestamp(t),
        (None, None) => "-".to_string(),
    }
}

/// An optional timestamp, `-` when absent.
pub fn opt_timestamp(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".to_string(), timestamp)
}

/// An optional number, `-` when absent.
/// A dirty ratio as a percentage; `-` for a log the cleaner never cleaned.
pub fn dirty_ratio(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0))
}

pub fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Text when the bytes are printable UTF-8, otherwise `0x` and hex. Text that itself starts with
/// `0x` is shown as hex too, so the two forms can never be confused.
pub fn bytes_text(bytes: &[u8]) -> String {
    match printable(bytes) {
        Some(text) if !text.starts_with("0x") => text.to_string(),
        _ => hex(bytes),
    }
}

fn printable(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .then_some(text)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(2 + bytes.len() * 2);
    out.push_str("0x");
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(timestamp(MAX_RFC3339_MS), "9999-12-31T23:59:59.999Z");
        assert_eq!(timestamp(-1), "-1 ms");
        assert_eq!(timestamp(i64::MAX), format!("{} ms", i64::MAX));
    }

    #[test]
    fn bytes_are_text_or_hex() {
        assert_eq!(bytes_text(b"hello world"), "hello world");
        assert_eq!(bytes_text(&[0xde, 0xad, 0x00]), "0xdead00");
        assert_eq!(bytes_text(b"0x12"), "0x30783132");
        assert_eq!(bytes_text(b""), "");
    }
}
