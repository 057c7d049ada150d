//! A client's rate over a sliding window of 11 one-second samples, as Kafka's quota sensors
//! keep it, measured over exactly the time those samples cover: the last 10 whole seconds and
//! the current one, or less while the sensor is younger. Kafka measures a young sensor over 10 s
//! whatever its age, which lets a new client send 10 s worth of its quota at once and echoes
//! that burst each time it leaves the window; counting only the time that passed holds even a
//! new client to its rate. A throttle time is how long the client must wait for its rate to
//! fall back to the quota.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Samples kept (Kafka's `quota.window.num`).
pub(crate) const SAMPLES: u32 = 11;
/// Length of one sample (Kafka's `quota.window.size.seconds`).
pub(crate) const WINDOW: Duration = Duration::from_secs(1);

/// What a client did over the last [`SAMPLES`] windows: bytes, or percent-seconds of request
/// handling time.
#[derive(Debug)]
pub(crate) struct WindowedRate {
    /// Window `i` covers `[epoch + i * WINDOW, epoch + (i + 1) * WINDOW)`.
    epoch: Instant,
    /// (window index, value), oldest first; windows with nothing recorded are absent.
    samples: VecDeque<(u64, f64)>,
}

impl WindowedRate {
    /// A sensor whose first window starts at `now`.
    pub fn new(now: Instant) -> Self {
        WindowedRate {
            epoch: now,
            samples: VecDeque::new(),
        }
    }

    pub fn record(&mut self, value: f64, now: Instant) {
        let window = self.window_of(now);
        self.purge(window);
        match self.samples.back_mut() {
            Some((w, v)) if *w == window => *v += value,
            _ => self.samples.push_back((window, value)),
        }
    }

    /// Takes back a recorded value (a throttled fetch is answered without its data, so its
    /// bytes do not count).
    pub fn unrecord(&mut self, value: f64, now: Instant) {
        self.record(-value, now);
    }

    /// The rate per second now.
    pub fn measure(&mut self, now: Instant) -> f64 {
        self.purge(self.window_of(now));
        let total: f64 = self.samples.iter().map(|(_, v)| v).sum();
        total / self.covered(now).as_secs_f64()
    }

    /// How long the client must wait for its rate to fall back to `quota`: the time in which
    /// the quota earns the excess; zero within the quota, never more than the whole window.
    pub fn throttle_time(&mut self, quota: f64, now: Instant) -> Duration {
        let rate = self.measure(now);
        if quota <= 0.0 || rate <= quota {
            return Duration::ZERO;
        }
        let secs = (rate - quota) / quota * self.covered(now).as_secs_f64();
        Duration::from_secs_f64(secs.min((WINDOW * SAMPLES).as_secs_f64()))
    }

    /// Whether nothing was recorded for `idle`: the sensor can go.
    pub fn idle_for(&self, idle: Duration, now: Instant) -> bool {
        let last = self.samples.back().map_or(0, |(w, _)| *w);
        now.saturating_duration_since(self.epoch) >= WINDOW * (last as u32) + WINDOW + idle
    }

    fn window_of(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.epoch);
        (since.as_nanos() / WINDOW.as_nanos()) as u64
    }

    fn purge(&mut self, window: u64) {
        let first_kept = window.saturating_sub(u64::from(SAMPLES - 1));
        while self.samples.front().is_some_and(|(w, _)| *w < first_kept) {
            self.samples.pop_front();
        }
    }

    /// The time the samples cover: from the start of the oldest window kept (or the first
    /// window ever) to now, at least one window.
    fn covered(&self, now: Instant) -> Duration {
        let window = self.window_of(now);
        let first = window.saturating_sub(u64::from(SAMPLES - 1));
        let start = WINDOW.saturating_mul(u32::try_from(first).unwrap_or(u32::MAX));
        now.saturating_duration_since(self.epoch)
            .saturating_sub(start)
            .max(WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::WindowedRate;

    const MB: f64 = 1_000_000.0;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn a_new_client_is_measured_over_the_time_that_passed() {
        let t0 = Instant::now();
        let mut rate = WindowedRate::new(t0);
        rate.record(0.5 * MB, t0);
        assert_eq!(
            rate.throttle_time(MB, t0),
            Duration::ZERO,
            "half a second's worth"
        );
        rate.record(2.5 * MB, at(t0, 500));
        // 3 MB in the first second against 1 MB/s: 2 s more to earn the excess.
        assert_eq!(rate.throttle_time(MB, at(t0, 500)), Duration::from_secs(2));
        assert_eq!(rate.measure(at(t0, 3000)), MB, "3 MB over 3 s");
        assert_eq!(rate.throttle_time(MB, at(t0, 3000)), Duration::ZERO);
    }

    #[test]
    fn old_samples_leave_the_window() {
        let t0 = Instant::now();
        let mut rate = WindowedRate::new(t0);
        rate.record(20.0 * MB, t0);
        rate.record(1.0 * MB, at(t0, 5_000));
        // At 11.5 s the window is seconds 1 to 11: the 20 MB of second 0 are gone.
        let later = at(t0, 11_500);
        assert_eq!(rate.measure(later), MB / 10.5);
        assert!(!rate.idle_for(Duration::from_secs(60), later));
        assert!(rate.idle_for(Duration::from_secs(5), later));
    }

    #[test]
    fn a_client_held_to_its_throttle_times_sends_at_its_quota() {
        let t0 = Instant::now();
        let mut rate = WindowedRate::new(t0);
        let mut now = t0;
        let mut sent = 0.0;
        // A client that sends 64 KB whenever it may, for a minute.
        while now < at(t0, 60_000) {
            rate.record(65_536.0, now);
            sent += 65_536.0;
            now += rate.throttle_time(MB, now).max(Duration::from_millis(1));
        }
        let per_second = sent / now.duration_since(t0).as_secs_f64();
        assert!((per_second / MB - 1.0).abs() < 0.01, "{per_second}");
    }

    #[test]
    fn unrecorded_values_do_not_count() {
        let t0 = Instant::now();
        let mut rate = WindowedRate::new(t0);
        rate.record(30.0 * MB, t0);
        rate.unrecord(30.0 * MB, t0);
        assert_eq!(rate.throttle_time(MB, t0), Duration::ZERO);
    }
}
