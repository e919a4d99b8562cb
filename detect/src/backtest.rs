//! `rules test`: the rules over events from a file or from stored history,
//! in one process, with the same evaluation and correlation as the stages.

use logwarden_event::Event;

use crate::alert::{Alert, EventRef};
use crate::correlator::Correlator;
use crate::rules::RuleSet;
use crate::stage::detect::{Output, outputs_of};

pub struct Backtest<'a> {
    rules: &'a RuleSet,
    correlator: Correlator,
    position: i64,
}

impl<'a> Backtest<'a> {
    /// Hits wait up to `lateness_secs` of event time for older ones.
    pub fn new(rules: &'a RuleSet, lateness_secs: i64) -> Backtest<'a> {
        Backtest { rules, correlator: Correlator::new(lateness_secs, usize::MAX), position: 0 }
    }

    /// The alerts that `event` completes (detections at once, correlations
    /// when the reorder buffer releases them).
    pub fn event(&mut self, event: &Event) -> Vec<Alert> {
        let reference = EventRef {
            event_id: event.id.clone(),
            stream: event.stream.clone(),
            partition: 0,
            offset: self.position,
            timestamp: event.timestamp,
        };
        self.position += 1;
        let mut alerts = Vec::new();
        for output in outputs_of(self.rules, event, reference) {
            match output {
                Output::Alert(alert) => alerts.push(alert),
                Output::Hit(_, hit) => alerts.extend(self.correlator.push(self.rules, hit)),
            }
        }
        alerts
    }

    /// The alerts of hits still held at the end.
    pub fn finish(mut self) -> Vec<Alert> {
        self.correlator.flush(self.rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    const FAILED_LOGIN: &str = r#"
title: SSH failed login
id: 11111111-1111-1111-1111-111111111111
logsource:
    product: linux
    service: sshd
detection:
    selection:
        event.outcome: failure
    condition: selection
"#;

    /// The failed login and a correlation of three of them in five minutes.
    fn brute_force() -> String {
        let correlation = crate::test_sigma::event_count(
            "SSH brute force",
            "44444444-4444-4444-4444-444444444444",
            "",
            &["11111111-1111-1111-1111-111111111111"],
            "5m",
            3,
        );
        format!("{FAILED_LOGIN}---\n{correlation}")
    }

    fn failure(ip: &str, secs: i64, n: usize) -> Event {
        let at: DateTime<Utc> = DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap();
        let mut event = Event::new(format!("Failed password for root from {ip}"), at);
        event.timestamp = at;
        event.id = Some(format!("line-{n}"));
        event.process_name = Some("sshd".into());
        event.event_outcome = Some("failure".into());
        event.source_ip = Some(ip.into());
        event
    }

    #[test]
    fn counts_per_group_within_the_window_and_starts_afresh_after_firing() {
        let rules = RuleSet::from_yaml(&brute_force()).unwrap();
        let mut backtest = Backtest::new(&rules, 60);
        let mut alerts = Vec::new();
        // 10.0.0.1: 3 within 5 minutes → alert; 2 more → none; then 1 more → a second.
        // 10.0.0.2: 3 spread over 20 minutes → none. Delivered out of order within the lateness.
        let events = [
            failure("10.0.0.1", 10, 0),
            failure("10.0.0.2", 0, 1),
            failure("10.0.0.1", 0, 2),
            failure("10.0.0.1", 20, 3),
            failure("10.0.0.1", 30, 4),
            failure("10.0.0.1", 40, 5),
            failure("10.0.0.2", 600, 6),
            failure("10.0.0.1", 50, 7),
            failure("10.0.0.2", 1200, 8),
        ];
        for event in &events {
            alerts.extend(backtest.event(event));
        }
        alerts.extend(backtest.finish());
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        assert!(alerts.iter().all(|a| a.group.key == "source.ip=10.0.0.1" && a.count == 3));
        assert_eq!(alerts[0].first_seen.timestamp(), 1_700_000_000, "the out-of-order first event opens the window");
        assert_eq!(alerts[1].first_seen.timestamp(), 1_700_000_030);
        assert_ne!(alerts[0].id, alerts[1].id);
        assert!(alerts[0].events.iter().any(|e| e.event_id.as_deref() == Some("line-2")));

        // The same events again: the same ids.
        let mut again = Backtest::new(&rules, 60);
        let mut ids = Vec::new();
        for event in &events {
            ids.extend(again.event(event).into_iter().map(|a| a.id));
        }
        ids.extend(again.finish().into_iter().map(|a| a.id));
        assert_eq!(ids, alerts.iter().map(|a| a.id.clone()).collect::<Vec<_>>());
    }
}
