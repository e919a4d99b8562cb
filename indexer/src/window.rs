//! Event-time windows: which split an event belongs to, and when a window
//! closes.
//!
//! Placement must give the same answer when a message is read again after a
//! crash, so it depends only on the message itself: the event's `@timestamp`
//! against the Kafka message timestamp (when the collector produced it), not
//! against the indexer's clock. An event whose window would already have
//! closed when it was produced, or that starts more than a window after it,
//! goes to the stream's late split instead of opening a tiny split of its own
//! (see Quickwit issues #5848 and #5431 for what tiny splits cost).

use std::time::Duration;

use chrono::{DateTime, Utc};

use logwarden_store::storage::SplitKind;

#[derive(Debug, Clone, Copy)]
pub struct Windowing {
    /// Window length in seconds.
    window: i64,
    /// How long after its end a window stays open, in seconds.
    grace: i64,
}

impl Windowing {
    pub fn new(window: Duration, grace: Duration) -> Windowing {
        Windowing {
            window: window.as_secs().max(1) as i64,
            grace: grace.as_secs() as i64,
        }
    }

    pub fn window_secs(&self) -> i64 {
        self.window
    }

    /// Start (Unix seconds) of the window holding `time`.
    pub fn start_of(&self, time: DateTime<Utc>) -> i64 {
        time.timestamp().div_euclid(self.window) * self.window
    }

    /// Where an event with `timestamp`, produced at `produced`, belongs.
    pub fn place(&self, timestamp: DateTime<Utc>, produced: DateTime<Utc>) -> SplitKind {
        let start = self.start_of(timestamp);
        let produced = produced.timestamp();
        let closed_before_produced = start + self.window + self.grace <= produced;
        let too_far_ahead = start > produced + self.window;
        if closed_before_produced || too_far_ahead {
            SplitKind::Late
        } else {
            SplitKind::Window(start)
        }
    }

    /// Whether the window starting at `start` is closed at `now` (wall clock).
    pub fn is_closed(&self, start: i64, now: DateTime<Utc>) -> bool {
        start + self.window + self.grace <= now.timestamp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn events_go_to_their_hour_unless_late_or_far_ahead() {
        let w = Windowing::new(Duration::from_secs(3600), Duration::from_secs(300));
        let produced = at("2026-11-24T10:02:00Z");
        let hour = |t: &str| SplitKind::Window(at(t).timestamp());
        assert_eq!(
            w.place(at("2026-11-24T10:01:59Z"), produced),
            hour("2026-11-24T10:00:00Z")
        );
        // The previous hour is still within its grace period.
        assert_eq!(
            w.place(at("2026-11-24T09:59:00Z"), produced),
            hour("2026-11-24T09:00:00Z")
        );
        assert_eq!(
            w.place(at("2026-11-24T09:00:00Z"), at("2026-11-24T10:05:00Z")),
            SplitKind::Late
        );
        assert_eq!(
            w.place(at("2015-12-10T06:55:46Z"), produced),
            SplitKind::Late
        );
        // One hour ahead is a clock skew we accept; more is not.
        assert_eq!(
            w.place(at("2026-11-24T11:30:00Z"), produced),
            hour("2026-11-24T11:00:00Z")
        );
        assert_eq!(
            w.place(at("2026-11-24T13:00:00Z"), produced),
            SplitKind::Late
        );
    }

    #[test]
    fn windows_close_after_their_grace() {
        let w = Windowing::new(Duration::from_secs(3600), Duration::from_secs(300));
        let start = at("2026-11-24T09:00:00Z").timestamp();
        assert!(!w.is_closed(start, at("2026-11-24T10:04:59Z")));
        assert!(w.is_closed(start, at("2026-11-24T10:05:00Z")));
        assert_eq!(w.start_of(at("1969-12-31T23:30:00Z")), -3600);
    }
}
