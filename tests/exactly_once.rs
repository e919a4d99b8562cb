//! Exactly once from the log line to the topic and the index, against a
//! real broker of the test's own (it is stopped and started in the middle):
//! a writer appends numbered lines and rotates its file (rename + create,
//! copytruncate) while the collector — or `logwarden run`, everything in
//! one process — is killed with SIGKILL at random moments at least 20 times
//! and restarted. Afterwards every number is exactly once in what a
//! `read_committed` consumer reads from the topic, and exactly once among
//! the hits of the index, paged through with `search_after`.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use support::exactly::*;
use support::push::PrivateKafka;
use support::*;

const TIMEOUT: Duration = Duration::from_secs(240);
const KILLS: u64 = 20;

/// Writes and rotates until at least [`KILLS`] kills happened (the broker
/// stopped and started once, after the first third of them), starting
/// `logwarden ARGS` again after every kill; returns how many lines were
/// written and the kills.
fn storm(kafka: &PrivateKafka, log_dir: &std::path::Path, args: &[&str]) -> (u64, u64) {
    let start = {
        let (args, brokers) = (args.iter().map(|s| s.to_string()).collect::<Vec<_>>(), kafka.brokers());
        move || Proc::spawn(&args.iter().map(String::as_str).collect::<Vec<_>>(), &brokers, &[])
    };
    let mut writer = RotatingWriter::new(log_dir);
    writer.write(200, Duration::from_millis(5));
    let process = Arc::new(Mutex::new(Some(start())));
    let kills = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let killer = {
        let (process, kills, done) = (process.clone(), kills.clone(), done.clone());
        std::thread::spawn(move || {
            let mut rng = rand::rng();
            while !done.load(Ordering::SeqCst) {
                // Some kills land during the start (reading the positions,
                // fencing), most while lines are read and committed.
                std::thread::sleep(Duration::from_millis(rng.random_range(200..2500)));
                if let Some(running) = process.lock().unwrap().take() {
                    running.kill();
                }
                kills.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
                *process.lock().unwrap() = Some(start());
            }
        })
    };
    let pause = Duration::from_millis(15);
    let mut round = 0;
    let mut outage_done = false;
    while kills.load(Ordering::SeqCst) < KILLS || !outage_done {
        writer.write(150, pause);
        if round % 2 == 0 {
            writer.rotate_rename(pause);
        } else {
            writer.rotate_copytruncate();
        }
        writer.write(100, pause);
        round += 1;
        if !outage_done && kills.load(Ordering::SeqCst) >= KILLS / 3 {
            eprintln!("stopping the broker (after {} kills, {} lines)", kills.load(Ordering::SeqCst), writer.next);
            kafka.stop();
            writer.write(200, pause);
            writer.rotate_copytruncate();
            writer.write(100, pause);
            kafka.restart();
            eprintln!("broker started again");
            outage_done = true;
        }
    }
    done.store(true, Ordering::SeqCst);
    killer.join().unwrap();
    // The last one runs on to read what is left.
    if let Some(running) = process.lock().unwrap().take() {
        running.kill();
    }
    (writer.next, kills.load(Ordering::SeqCst))
}

#[test]
fn collector_killed_20_times_with_rotations_and_a_broker_restart_sends_every_line_exactly_once() {
    let kafka = PrivateKafka::start();
    let brokers = kafka.brokers();
    let dir = temp_dir("exactly-once-collector");
    let logs = dir.join("logs");
    let data = dir.join("data").display().to_string();
    let topic = unique("lw-exactly-once");
    let glob = RotatingWriter::new(&logs).glob();
    let args = ["collector", "--input", &glob, "--topic", &topic, "--data-dir", &data];
    let (total, kills) = storm(&kafka, &logs, &args);
    assert!(kills >= KILLS);

    // A last collector reads what is left, then stops cleanly.
    let last = Proc::spawn(&args, &brokers, &[]);
    let counts = wait_committed(&brokers, &topic, total, TIMEOUT);
    assert!(last.stop().success(), "the collector stops cleanly after SIGTERM");
    eprintln!("{kills} kills");
    assert_exactly_once("topic (read_committed) before the stop", &counts, total);
    assert_exactly_once("topic (read_committed)", &committed_counts(&brokers, &topic), total);

    // The indexer reads read_committed: the index holds each line once.
    let index = dir.join("index").display().to_string();
    let _indexer = Logwarden::start(&["indexer", "--brokers", &brokers, "--topic", &topic, "--group", &topic, "--data-dir", &index]);
    let api = Logwarden::start(&["query-api", "--brokers", &brokers, "--data-dir", &index, "--http-addr", "127.0.0.1:0"]);
    api.wait_for_count("*", total, TIMEOUT);
    assert_exactly_once("index (search_after pages)", &index_counts(&api), total);
    drop(api);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_killed_20_times_with_rotations_and_a_broker_restart_indexes_every_line_exactly_once() {
    let kafka = PrivateKafka::start();
    let brokers = kafka.brokers();
    let dir = temp_dir("exactly-once-run");
    let logs = dir.join("logs");
    let data = dir.join("data").display().to_string();
    let topic = unique("lw-exactly-once-run");
    let glob = RotatingWriter::new(&logs).glob();
    let args = [
        "run", "--input", &glob, "--topic", &topic, "--group", &topic, "--data-dir", &data, "--http-addr", "127.0.0.1:0",
        "--brokers", &brokers,
    ];
    let (total, kills) = storm(&kafka, &logs, &args);
    assert!(kills >= KILLS);

    let node = Logwarden::start(&args);
    node.wait_for_count("*", total, TIMEOUT);
    eprintln!("{kills} kills");
    assert_exactly_once("index (search_after pages)", &index_counts(&node), total);
    assert_exactly_once("topic (read_committed)", &committed_counts(&brokers, &topic), total);
    node.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}
