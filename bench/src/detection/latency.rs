//! Alert latency on the running pipeline: once the corpus's own alerts
//! are delivered, alert triggers are written to the tailed file at a
//! steady pace, and each is timed until the hook's receiver gets its alert.

use std::time::{Duration, Instant};

use chrono::Utc;

use crate::kafka::{GroupOffsets, Watermarks, caught_up_transactional};
use crate::process;

use super::receiver::Receiver;
use super::rules::{self, DetectorNames};
use super::stage::{Inputs, stage};
use super::triggers::{AlertLatency, Triggers};

/// One alert trigger every this long; every tenth is a brute force, so
/// brute forces are 2.5 s apart and the correlation stage's hits go idle
/// (its reorder buffer is released after 1 s without hits) between them.
const TRIGGER_INTERVAL: Duration = Duration::from_millis(250);
/// How long alerts may take after the last trigger before they count as
/// never received (with background hits, correlation alerts wait for the
/// allowed lateness, 60 s by default).
const ALERT_WAIT: Duration = Duration::from_secs(90);
/// How long the detector's outputs must stay unchanged to count as settled.
const SETTLED: Duration = Duration::from_millis(1500);

/// Returns how many alerts the corpus itself raised (delivered before the
/// triggers) and the triggers' latency.
pub fn measure(
    cx: &Inputs<'_>,
    names: &DetectorNames,
    triggers: &mut Triggers,
    receiver: &Receiver,
    alive: &mut dyn FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<(usize, AlertLatency)> {
    let args = cx.args;
    stage("alert latency: waiting for the corpus's alerts to be delivered");
    wait_settled(cx, names, alive)?;
    let corpus_alerts = receiver.count();
    let count = args.alerts();
    let background = if args.alert_background > 0.0 {
        format!(
            ", with {} background failed logins per second",
            args.alert_background
        )
    } else {
        String::new()
    };
    stage(&format!(
        "alert latency: {count} alert triggers, one every {} ms, into a file the collector tails{background}",
        TRIGGER_INTERVAL.as_millis(),
    ));
    // Event time must move on from the corpus, as it does on a live
    // system: the generator's last lines may lie a little after now, and a
    // hit older than what the correlation stage already released is
    // correlated at once instead of through its reorder buffer.
    let corpus_end = cx
        .payloads
        .timestamps
        .iter()
        .max()
        .copied()
        .unwrap_or_default();
    let ahead = chrono::DateTime::from_timestamp_micros(corpus_end).unwrap_or_default()
        + chrono::Duration::seconds(2)
        - Utc::now();
    let skew = ahead.max(chrono::Duration::zero());
    let begun = Instant::now();
    let mut last_write = Instant::now();
    loop {
        process::check_interrupted()?;
        alive()?;
        let due = (begun.elapsed().as_secs_f64() / TRIGGER_INTERVAL.as_secs_f64()) as usize + 1;
        if triggers.written() < count && triggers.written() < due {
            triggers.write_next(Utc::now() + skew)?;
            last_write = Instant::now();
        }
        let background_due = (begun.elapsed().as_secs_f64() * args.alert_background) as usize;
        while triggers.background() < background_due {
            triggers.write_background(Utc::now() + skew)?;
        }
        if triggers.written() == count
            && (triggers.answered(&receiver.since(corpus_alerts)) == count
                || last_write.elapsed() > ALERT_WAIT)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut latency = triggers.result(&receiver.since(corpus_alerts), TRIGGER_INTERVAL);
    latency.event_time_ahead_ms = skew.num_milliseconds().max(0) as u64;
    latency.background_per_sec = args.alert_background;
    Ok((corpus_alerts, latency))
}

/// Waits until the correlation stage has read every hit and the hook every
/// alert, and the alerts topic has not grown for [`SETTLED`].
fn wait_settled(
    cx: &Inputs<'_>,
    names: &DetectorNames,
    alive: &mut dyn FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let brokers = cx.args.brokers.as_str();
    let hits = Watermarks::new(brokers, &names.hits_topic)?;
    let alerts = Watermarks::new(brokers, &names.alerts_topic)?;
    let correlated = GroupOffsets::new(brokers, &names.correlate_group, &hits)?;
    let notified = GroupOffsets::new(brokers, &names.hook_group(rules::HOOK), &alerts)?;
    let started = Instant::now();
    let mut last_change = Instant::now();
    let mut last_alerts = Vec::new();
    loop {
        process::check_interrupted()?;
        alive()?;
        let alert_highs = alerts.highs()?;
        if alert_highs != last_alerts {
            last_alerts = alert_highs.clone();
            last_change = Instant::now();
        }
        // Topics the detector writes in transactions end with a marker
        // (or are empty).
        let done = caught_up_transactional(&correlated.committed()?, &hits.highs()?)
            && caught_up_transactional(&notified.committed()?, &alert_highs);
        if done && last_change.elapsed() >= SETTLED {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < cx.args.stage_timeout,
            "the detector's alerts were not delivered within {:?}",
            cx.args.stage_timeout
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
