//! The query API's audit path under SIGKILL, against a real broker of the
//! test's own: clients search while the query API is killed at random
//! moments at least 10 times and restarted on the same data directory, and
//! the broker is stopped for a while in the middle (calls are then answered
//! once their record is in the spool). Every call that got its answer has
//! its audit record exactly once in the topic (`read_committed`), and no
//! call, answered or cut by a kill, has two.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::Value;
use support::exactly::Proc;
use support::push::PrivateKafka;
use support::*;

const KILLS: u64 = 10;
const CLIENTS: u64 = 3;

/// A port free on 127.0.0.1 now, for a query API restarted on it.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The marker of an audited search (`q=auditmarkN` in `fields.url.query`).
fn marker(event: &Value) -> Option<u64> {
    let query = event["fields"]["url.query"].as_str()?;
    let rest = &query[query.find("auditmark")? + "auditmark".len()..];
    rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len())].parse().ok()
}

#[test]
fn every_answered_call_is_audited_exactly_once_across_kills() {
    let kafka = PrivateKafka::start();
    let brokers = kafka.brokers();
    let dir = temp_dir("audit-crash");
    let data = dir.join("data").display().to_string();
    let topic = unique("lw-audit-crash");
    let addr = format!("127.0.0.1:{}", free_port());
    let args = ["query-api", "--data-dir", &data, "--http-addr", &addr, "--topic", &topic];
    let start = {
        let (args, brokers) = (args.map(String::from), brokers.clone());
        move || Proc::spawn(&args.iter().map(String::as_str).collect::<Vec<_>>(), &brokers, &[])
    };

    let process = Arc::new(Mutex::new(Some(start())));
    let key_path = dir.join("data").join("admin.key");
    let started = Instant::now();
    let key = loop {
        match std::fs::read_to_string(&key_path) {
            Ok(key) if !key.trim().is_empty() => break key.trim().to_string(),
            _ => {
                assert!(started.elapsed() < Duration::from_secs(60), "no admin key at {}", key_path.display());
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    };

    let done = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(Mutex::new(BTreeSet::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (done, next, answered, key, addr) = (done.clone(), next.clone(), answered.clone(), key.clone(), addr.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
                while !done.load(Ordering::SeqCst) {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let url = format!("http://{addr}/api/v1/search?q=auditmark{n}&limit=1");
                    match client.get(&url).bearer_auth(&key).send() {
                        Ok(response) if response.status().is_success() => {
                            answered.lock().unwrap().insert(n);
                        }
                        // Refused while down or starting, or cut by a kill:
                        // the record may or may not be there, never twice.
                        Ok(_) | Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        })
        .collect();

    let mut rng = rand::rng();
    let mut answered_before_outage = 0;
    let mut answered_in_outage = 0;
    for kill in 0..KILLS {
        if kill == KILLS / 2 {
            eprintln!("stopping the broker after {kill} kills");
            kafka.stop();
            answered_before_outage = answered.lock().unwrap().len();
        }
        // While Kafka is down a process lives longer: a call waits
        // `collector.spool.kafka_timeout` for Kafka before its record is
        // spooled and it is answered, and a start waits for Kafka a while.
        let outage = (KILLS / 2..KILLS / 2 + 2).contains(&kill);
        let lives = if outage { 12_000..16_000 } else { 500..2500 };
        std::thread::sleep(Duration::from_millis(rng.random_range(lives)));
        if let Some(running) = process.lock().unwrap().take() {
            running.kill();
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        *process.lock().unwrap() = Some(start());
        if kill == KILLS / 2 + 1 {
            answered_in_outage = answered.lock().unwrap().len() - answered_before_outage;
            kafka.restart();
            eprintln!("broker started again ({answered_in_outage} calls answered while it was down)");
        }
    }
    // Calls answered by the last process too, then a clean stop.
    std::thread::sleep(Duration::from_secs(2));
    done.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    let last = process.lock().unwrap().take().unwrap();
    assert!(last.stop().success(), "the query API stops cleanly after SIGTERM");
    // What the last process left in its spool (nothing, after a clean stop
    // with Kafka up) is sent by the next start; one more start and stop
    // makes sure.
    let again = start();
    std::thread::sleep(Duration::from_secs(3));
    assert!(again.stop().success());

    let answered = answered.lock().unwrap().clone();
    let asked = next.load(Ordering::SeqCst);
    assert!(answered.len() >= 100, "only {} of {asked} calls answered across the kills", answered.len());
    assert!(answered_in_outage > 0, "no call was answered (from the spool) while Kafka was down");
    let mut counts: HashMap<u64, usize> = HashMap::new();
    read_committed(&brokers, &topic, Duration::from_secs(120), |message| {
        let Ok(event) = serde_json::from_slice::<Value>(rdkafka::message::Message::payload(message).unwrap_or_default()) else {
            return;
        };
        if let Some(n) = marker(&event) {
            *counts.entry(n).or_insert(0) += 1;
        }
    });
    let missing: Vec<u64> = answered.iter().copied().filter(|n| !counts.contains_key(n)).collect();
    let twice: Vec<(u64, usize)> = counts.iter().filter(|(_, c)| **c > 1).map(|(n, c)| (*n, *c)).collect();
    eprintln!(
        "{asked} calls, {} answered, {} audited ({} of them not answered: cut by a kill after their commit)",
        answered.len(),
        counts.len(),
        counts.keys().filter(|n| !answered.contains(n)).count()
    );
    assert!(missing.is_empty(), "{} answered calls without an audit record, e.g. {:?}", missing.len(), &missing[..missing.len().min(10)]);
    assert!(twice.is_empty(), "{} calls audited more than once, e.g. {:?}", twice.len(), &twice[..twice.len().min(10)]);
    std::fs::remove_dir_all(&dir).unwrap();
}
