//! `collector.delivery = "at_least_once"` against the real broker: the
//! collector is killed with SIGKILL while a writer appends numbered lines
//! and rotates its file; afterwards every number is in the topic at least
//! once (duplicates are what this mode allows), the file's position in the
//! checkpoints topic reached the end of the file after a clean stop, and a
//! restart resumes from it instead of sending the file again.

mod support;

use std::time::Duration;

use rand::Rng;
use support::exactly::*;
use support::*;

const TIMEOUT: Duration = Duration::from_secs(180);
const KILLS: usize = 6;

/// Asserts every number below `total` was seen at least once, and nothing
/// that is not a whole numbered line; returns how many were seen twice or more.
fn assert_at_least_once(what: &str, counts: &Counts, total: u64) -> usize {
    let missing: Vec<u64> = (0..total).filter(|n| !counts.contains_key(n)).collect();
    let extra: Vec<u64> = counts.keys().filter(|n| **n >= total).copied().collect();
    let repeated = counts.values().filter(|c| **c > 1).count();
    eprintln!("{what}: {total} numbers written, {} missing, {repeated} sent more than once", missing.len());
    assert!(missing.is_empty(), "{what}: {} of {total} missing, e.g. {:?}", missing.len(), &missing[..missing.len().min(10)]);
    assert!(extra.is_empty(), "{what}: events that are not whole numbered lines: {}", extra.len());
    repeated
}

#[test]
fn at_least_once_collector_killed_with_sigkill_loses_no_line_and_resumes_from_its_positions() {
    let brokers = brokers();
    let dir = temp_dir("at-least-once");
    let logs = dir.join("logs");
    let data = dir.join("data").display().to_string();
    let config = dir.join("logwarden.toml");
    std::fs::write(&config, "[collector]\ndelivery = \"at_least_once\"\ncommit_interval = \"200ms\"\n").unwrap();
    let config = config.display().to_string();
    let topic = unique("lw-at-least-once");
    let mut writer = RotatingWriter::new(&logs);
    let glob = writer.glob();
    let args = ["collector", "--config", &config, "--input", &glob, "--topic", &topic, "--data-dir", &data];
    let pause = Duration::from_millis(10);

    // Killed at random moments while lines are written and the file rotated.
    writer.write(300, pause);
    let mut rng = rand::rng();
    for kill in 0..KILLS {
        let running = Proc::spawn(&args, &brokers, &[]);
        let first = writer.next;
        writer.write(rng.random_range(100..400), pause);
        if kill % 2 == 1 {
            writer.rotate_rename(pause);
        }
        // Killed once it sends this round's lines, at a random moment after.
        let started = std::time::Instant::now();
        while !committed_counts(&brokers, &topic).keys().any(|n| (first..writer.next).contains(n)) {
            assert!(started.elapsed() < TIMEOUT, "the collector sent none of lines {first}..{}", writer.next);
            std::thread::sleep(Duration::from_millis(100));
        }
        writer.write(rng.random_range(20..200), pause);
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        running.kill();
    }
    writer.write(200, pause);

    // A last collector reads what is left, then stops cleanly.
    let last = Proc::spawn(&args, &brokers, &[]);
    let total = writer.next;
    let counts = wait_committed(&brokers, &topic, total, TIMEOUT);
    assert!(last.stop().success(), "the collector stops cleanly after SIGTERM");
    let counts_after_stop = committed_counts(&brokers, &topic);
    assert_at_least_once("topic after the kills", &counts_after_stop, total);
    assert!(counts_after_stop.values().sum::<usize>() >= counts.values().sum::<usize>());

    // The clean stop wrote the position of the file past its last line.
    let current = logs.join("app.log");
    let length = std::fs::metadata(&current).unwrap().len();
    assert_eq!(committed_file_offset(&brokers, &current), Some(length), "the position of {} after the stop", current.display());

    // A restart resumes from the positions: new lines arrive, none of the
    // lines before them is sent again.
    let again = Proc::spawn(&args, &brokers, &[]);
    writer.write(50, pause);
    let total = writer.next;
    let counts = wait_committed(&brokers, &topic, total, TIMEOUT);
    assert!(again.stop().success(), "the collector stops cleanly after SIGTERM");
    assert_at_least_once("topic after the restart", &counts, total);
    let resent: Vec<u64> =
        counts_after_stop.iter().filter(|(n, c)| counts.get(n) != Some(c)).map(|(n, _)| *n).collect();
    assert!(resent.is_empty(), "{} lines sent again after a clean stop and restart, e.g. {:?}", resent.len(), &resent[..resent.len().min(10)]);
    let length = std::fs::metadata(&current).unwrap().len();
    assert_eq!(committed_file_offset(&brokers, &current), Some(length), "the position advanced with the new lines");
    std::fs::remove_dir_all(&dir).unwrap();
}
