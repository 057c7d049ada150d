//! The cleaner's I/O rate limit (Kafka's `log.cleaner.io.max.bytes.per.second`), as pure
//! state: callers pass the time and sleep for what it returns.

use std::time::{Duration, Instant};

/// How long a measuring window lasts before it starts over (Kafka's throttler checks every
/// 300 ms).
const WINDOW: Duration = Duration::from_millis(300);

/// Bytes read and written by a cleaner, held to a rate.
#[derive(Debug)]
pub struct Throttle {
    /// Bytes per second; `None`: unlimited.
    rate: Option<f64>,
    window_start: Instant,
    bytes_in_window: u64,
}

impl Throttle {
    pub fn new(rate: Option<f64>, now: Instant) -> Self {
        Throttle {
            rate: rate.filter(|r| *r > 0.0),
            window_start: now,
            bytes_in_window: 0,
        }
    }

    /// Counts `bytes` of I/O at `now`; returns how long to sleep to stay within the rate.
    pub fn account(&mut self, bytes: u64, now: Instant) -> Duration {
        let Some(rate) = self.rate else {
            return Duration::ZERO;
        };
        self.bytes_in_window = self.bytes_in_window.saturating_add(bytes);
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed < WINDOW {
            return Duration::ZERO;
        }
        let allowed = Duration::from_secs_f64(self.bytes_in_window as f64 / rate);
        let sleep = allowed.saturating_sub(elapsed);
        self.window_start = now + sleep;
        self.bytes_in_window = 0;
        sleep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unlimited_throttle_never_sleeps() {
        let now = Instant::now();
        let mut t = Throttle::new(None, now);
        assert_eq!(t.account(u64::MAX, now + WINDOW * 2), Duration::ZERO);
    }

    #[test]
    fn the_sleeps_hold_the_rate() {
        let start = Instant::now();
        let mut t = Throttle::new(Some(1_000_000.0), start);
        let mut now = start;
        let mut total = 0u64;
        // 100 KB every 10 ms of work is 10 MB/s asked: the sleeps bring it down to 1 MB/s.
        for _ in 0..500 {
            now += Duration::from_millis(10);
            total += 100_000;
            now += t.account(100_000, now);
        }
        let rate = total as f64 / now.duration_since(start).as_secs_f64();
        assert!((900_000.0..1_100_000.0).contains(&rate), "rate {rate}");
    }

    #[test]
    fn slow_work_is_not_slowed_further() {
        let start = Instant::now();
        let mut t = Throttle::new(Some(1_000_000.0), start);
        assert_eq!(
            t.account(100_000, start + Duration::from_secs(1)),
            Duration::ZERO
        );
    }
}
