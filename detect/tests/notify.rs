//! Hook delivery against the real broker (`scripts/kafka.sh`) and real HTTP
//! receivers on 127.0.0.1: payload shapes, a receiver down then up,
//! retries, dead letters, a restart and suppression.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Once};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use logwarden_config::{Config, RawConfig};
use logwarden_detect::alert::{AlertGroup, EventRef, RuleRef};
use logwarden_detect::{Alert, AlertKind, notify};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(60);

fn brokers() -> String {
    std::env::var("LOGWARDEN_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Waits (up to a minute) until `done` holds.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < WAIT, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- metrics: a recorder keeping counters by name and hook ----

#[derive(Default)]
struct Counters(Mutex<HashMap<String, Arc<AtomicU64>>>);

static COUNTERS: LazyLock<Counters> = LazyLock::new(Counters::default);

struct Recorder;

impl metrics::Recorder for Recorder {
    fn describe_counter(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_gauge(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_histogram(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}

    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let hook = key.labels().find(|l| l.key() == "hook").map(|l| l.value().to_string()).unwrap_or_default();
        let name = format!("{}{{{hook}}}", key.name());
        metrics::Counter::from_arc(COUNTERS.0.lock().unwrap().entry(name).or_default().clone())
    }

    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }

    fn register_histogram(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

fn install_recorder() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| metrics::set_global_recorder(Recorder).expect("no other recorder"));
}

/// `logwarden_detect_hook_<what>_total{hook}`.
fn counter(what: &str, hook: &str) -> u64 {
    let name = format!("logwarden_detect_hook_{what}_total{{{hook}}}");
    COUNTERS.0.lock().unwrap().get(&name).map_or(0, |c| c.load(Ordering::Relaxed))
}

// ---- the HTTP receiver ----

#[derive(Clone)]
struct Received {
    headers: HeaderMap,
    body: Value,
    at: Instant,
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    /// Answers to give, in order: status and `Retry-After`; then `otherwise`.
    script: Mutex<VecDeque<(u16, Option<&'static str>)>>,
    otherwise: Mutex<u16>,
}

struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    server: JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Receiver {
        Receiver::start_at(SocketAddr::from(([127, 0, 0, 1], 0)), &[], 200).await
    }

    async fn start_at(addr: SocketAddr, script: &[(u16, Option<&'static str>)], otherwise: u16) -> Receiver {
        let state = Arc::new(ReceiverState::default());
        state.script.lock().unwrap().extend(script.iter().copied());
        *state.otherwise.lock().unwrap() = otherwise;
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(receive).with_state(state.clone());
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { addr, state, server }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    fn bodies(&self) -> Vec<Value> {
        self.received().into_iter().map(|r| r.body).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> Response {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.received.lock().unwrap().push(Received { headers, body, at: Instant::now() });
    let (status, retry_after) = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((*state.otherwise.lock().unwrap(), None));
    let status = StatusCode::from_u16(status).unwrap();
    match retry_after {
        Some(after) => (status, [("retry-after", after)], "slow down").into_response(),
        None => (status, if status.is_success() { "ok" } else { "bad payload" }).into_response(),
    }
}

/// A port nothing listens on (yet).
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

// ---- Kafka and config ----

struct Setup {
    topic: String,
    dlq: String,
    group: String,
    data_dir: tempfile::TempDir,
}

impl Setup {
    async fn new(name: &str, partitions: u32) -> Setup {
        install_recorder();
        let setup = Setup {
            topic: unique(&format!("notify-{name}")),
            dlq: unique(&format!("notify-{name}-dlq")),
            group: unique(&format!("notify-{name}")),
            data_dir: tempfile::tempdir().unwrap(),
        };
        let kafka = logwarden_config::KafkaConfig::for_brokers(&brokers());
        logwarden_kafka::ensure_topic(&kafka, &setup.topic, partitions).await.unwrap();
        setup
    }

    /// The configuration with `detect` lines (before the hooks) and `hooks`.
    fn config(&self, detect: &str, hooks: &str) -> Config {
        self.config_with_group(&self.group, detect, hooks)
    }

    fn config_with_group(&self, group: &str, detect: &str, hooks: &str) -> Config {
        let text = format!(
            "data_dir = {:?}\n[kafka]\nbrokers = {:?}\n[detect]\nalerts_topic = {:?}\nalerts_dlq_topic = {:?}\n\
             notify_group = {group:?}\n{detect}\n{hooks}\n",
            self.data_dir.path().display().to_string(),
            brokers(),
            self.topic,
            self.dlq,
        );
        RawConfig::from_toml(&text).unwrap().validate().unwrap()
    }

    async fn produce(&self, alerts: &[Alert]) {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", brokers())
            .set("acks", "all")
            .create()
            .unwrap();
        for alert in alerts {
            let payload = serde_json::to_string(alert).unwrap();
            let record = FutureRecord::to(&self.topic).key(&alert.id).payload(&payload);
            producer.send(record, Duration::from_secs(10)).await.map_err(|(e, _)| e).unwrap();
        }
    }
}

fn hook(name: &str, kind: &str, url: &str, extra: &str) -> String {
    format!("[[detect.hooks]]\nname = {name:?}\ntype = {kind:?}\nurl = {url:?}\n{extra}\n")
}

/// The running deliverer.
struct Running {
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

fn start(config: Config) -> Running {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(notify::run(config, shutdown.clone()));
    Running { shutdown, task }
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        let result = tokio::time::timeout(WAIT, self.task).await.expect("run stops on shutdown");
        result.unwrap().unwrap();
    }
}

fn alert(id: &str, rule: &str, group: &str, first_seen: DateTime<Utc>) -> Alert {
    let mut values = BTreeMap::new();
    if let Some((field, value)) = group.split_once('=') {
        values.insert(field.to_string(), value.to_string());
    }
    Alert {
        id: id.to_string(),
        kind: AlertKind::Correlation,
        rule: RuleRef {
            id: rule.to_string(),
            title: format!("Rule {rule}"),
            level: "high".into(),
            tags: vec!["attack.t1110".into()],
            author: None,
            description: Some("many failed logins from one source".into()),
        },
        group: AlertGroup { key: group.to_string(), values },
        first_seen,
        last_seen: first_seen + chrono::Duration::seconds(30),
        count: 7,
        events: vec![EventRef {
            event_id: Some(format!("{id}-event")),
            stream: "auth".into(),
            partition: 0,
            offset: 1,
            timestamp: first_seen,
        }],
        fields: BTreeMap::new(),
        created: first_seen,
    }
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

/// Numbered alerts `0123…<n>` of one rule, each in its own group.
fn alerts(prefix: &str, n: usize) -> Vec<Alert> {
    (0..n)
        .map(|i| alert(&format!("{prefix}{i:04}aaaabbbbcccc"), "r-1", &format!("source.ip=10.0.0.{i}"), at(1_700_000_000)))
        .collect()
}

/// Alert ids in what a receiver saw (webhook bodies are the alert).
fn ids(receiver: &Receiver) -> Vec<String> {
    receiver.bodies().iter().map(|b| b["id"].as_str().unwrap_or_default().to_string()).collect()
}

fn distinct(ids: &[String]) -> usize {
    ids.iter().collect::<std::collections::HashSet<_>>().len()
}

fn delivered_lines(data_dir: &Path, hook: &str) -> usize {
    let path = data_dir.join("detect/delivered").join(format!("{hook}.ids"));
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

// ---- tests ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hooks_means_nothing_to_do() {
    let setup = Setup::new("nohooks", 1).await;
    let result = tokio::time::timeout(WAIT, notify::run(setup.config("", ""), CancellationToken::new())).await;
    assert!(result.expect("returns without shutdown").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hook_kind_gets_its_payload() {
    let setup = Setup::new("shapes", 2).await;
    let (am, slack, web) = (Receiver::start().await, Receiver::start().await, Receiver::start().await);
    let hooks = [
        hook("shape-am", "alertmanager", &am.url(), "external_url = \"https://siem.example\"\nheaders = { X-Token = \"t0k\" }"),
        hook("shape-slack", "slack", &slack.url(), ""),
        hook("shape-web", "webhook", &web.url(), ""),
    ]
    .concat();
    let running = start(setup.config("", &hooks));
    let mut alert = alert("00112233445566778899aabbccddeeff", "c-7", "source.ip=10.0.0.5", at(1_700_000_000));
    alert.rule.description = Some("x<&>".repeat(3000));
    setup.produce(std::slice::from_ref(&alert)).await;
    wait_until("every hook got the alert", || {
        !am.received().is_empty() && !slack.received().is_empty() && !web.received().is_empty()
    })
    .await;

    let request = &am.received()[0];
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.headers["x-token"], "t0k");
    let body = &request.body;
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "shape-am");
    assert_eq!(body["externalURL"], "https://siem.example");
    let sent = &body["alerts"][0];
    assert_eq!(
        sent["labels"],
        serde_json::json!({"alertname": "Rule c-7", "rule_id": "c-7", "severity": "high",
                           "kind": "correlation", "source_ip": "10.0.0.5"})
    );
    assert_eq!(sent["annotations"]["summary"], "[high] Rule c-7 (source.ip=10.0.0.5): 7 events");
    assert_eq!(sent["annotations"]["alert_id"], alert.id);
    assert_eq!(sent["annotations"]["tags"], "attack.t1110");
    assert_eq!(sent["startsAt"], "2023-11-14T22:13:20Z");
    assert_eq!(sent["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(sent["fingerprint"], "0011223344556677");
    assert_eq!(sent["generatorURL"], format!("https://siem.example/alerts/{}", alert.id));

    let slack_body = &slack.received()[0].body;
    assert_eq!(slack_body["text"], "[high] Rule c-7 (source.ip=10.0.0.5): 7 events");
    let blocks = slack_body["blocks"].as_array().unwrap();
    assert!(blocks.len() >= 3);
    for block in blocks {
        let text = block["text"]["text"].as_str().unwrap();
        assert!(text.chars().count() < 3000, "a section of {} characters", text.chars().count());
    }
    assert!(blocks.iter().any(|b| b["text"]["text"].as_str().unwrap().contains(&alert.id)));

    assert_eq!(serde_json::from_value::<Alert>(web.received()[0].body.clone()).unwrap(), alert);
    running.stop().await;
    for (receiver, name) in [(&am, "shape-am"), (&slack, "shape-slack"), (&web, "shape-web")] {
        assert_eq!(receiver.received().len(), 1, "{name}");
        assert_eq!(counter("sent", name), 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_then_up_gets_every_alert_once() {
    let setup = Setup::new("down", 2).await;
    let addr = free_port();
    let name = "down-web";
    let running = start(setup.config("", &hook(name, "webhook", &format!("http://{addr}/hook"), "")));
    let sent = alerts("d", 6);
    setup.produce(&sent).await;
    wait_until("deliveries were retried while the receiver is down", || counter("retried", name) >= 3).await;
    let receiver = Receiver::start_at(addr, &[], 200).await;
    wait_until("every alert arrived", || distinct(&ids(&receiver)) == sent.len()).await;
    wait_until("every alert is recorded", || delivered_lines(setup.data_dir.path(), name) == sent.len()).await;
    running.stop().await;
    let mut got = ids(&receiver);
    got.sort();
    let mut want: Vec<String> = sent.iter().map(|a| a.id.clone()).collect();
    want.sort();
    assert_eq!(got, want, "each alert exactly once");
    assert_eq!(counter("sent", name), 6);
    assert_eq!(counter("dead_lettered", name), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_rate_limits_are_retried() {
    let setup = Setup::new("retry", 1).await;
    let receiver = Receiver::start_at(free_port(), &[(500, None), (200, None), (429, Some("1")), (200, None)], 200).await;
    let name = "retry-web";
    let running = start(setup.config("", &hook(name, "webhook", &receiver.url(), "")));
    let sent = alerts("r", 2);
    setup.produce(&sent).await;
    wait_until("both alerts were delivered", || counter("sent", name) == 2).await;
    running.stop().await;
    let received = receiver.received();
    let got: Vec<&str> = received.iter().map(|r| r.body["id"].as_str().unwrap()).collect();
    assert_eq!(got, [&sent[0].id, &sent[0].id, &sent[1].id, &sent[1].id]);
    assert_eq!(counter("retried", name), 2);
    assert!(received[3].at - received[2].at >= Duration::from_millis(950), "Retry-After: 1 was honoured");
    assert_eq!(counter("dead_lettered", name), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_alert_is_dead_lettered_not_retried() {
    let setup = Setup::new("refused", 1).await;
    let receiver = Receiver::start_at(free_port(), &[], 400).await;
    let name = "refused-web";
    let running = start(setup.config("", &hook(name, "webhook", &receiver.url(), "")));
    let sent = alerts("x", 1);
    setup.produce(&sent).await;

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", unique("dlq-reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[&setup.dlq]).unwrap();
    let message = tokio::time::timeout(WAIT, async {
        loop {
            match consumer.recv().await {
                Ok(m) => return m.detach(),
                Err(e) => eprintln!("dlq read: {e}"),
            }
        }
    })
    .await
    .expect("a dead letter within a minute");
    assert_eq!(message.key(), Some(sent[0].id.as_bytes()));
    let letter: Value = serde_json::from_slice(message.payload().unwrap()).unwrap();
    assert_eq!(letter["hook"], name);
    assert_eq!(letter["status"], 400);
    assert_eq!(letter["attempts"], 1);
    assert!(letter["reason"].as_str().unwrap().contains("400"), "{letter}");
    assert!(DateTime::parse_from_rfc3339(letter["at"].as_str().unwrap()).is_ok());
    assert_eq!(serde_json::from_value::<Alert>(letter["alert"].clone()).unwrap(), sent[0]);
    wait_until("the alert is recorded as handled", || delivered_lines(setup.data_dir.path(), name) == 1).await;
    running.stop().await;
    assert_eq!(receiver.received().len(), 1, "a 400 is not retried");
    assert_eq!((counter("failed", name), counter("dead_lettered", name), counter("retried", name)), (1, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_retrying_keeps_the_alert_for_the_next_run() {
    let setup = Setup::new("stopretry", 1).await;
    let name = "stopretry-web";
    let receiver = Receiver::start_at(free_port(), &[], 503).await;
    let config = setup.config("", &hook(name, "webhook", &receiver.url(), ""));
    let running = start(config.clone());
    let sent = alerts("s", 1);
    setup.produce(&sent).await;
    wait_until("the delivery is being retried", || counter("retried", name) >= 1).await;
    running.stop().await;
    assert_eq!(delivered_lines(setup.data_dir.path(), name), 0, "not recorded");

    *receiver.state.otherwise.lock().unwrap() = 200;
    let running = start(config);
    wait_until("the alert is delivered by the next run", || counter("sent", name) == 1).await;
    running.stop().await;
    assert_eq!(ids(&receiver).last(), Some(&sent[0].id));
    assert_eq!(counter("dead_lettered", name), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_never_notifies_twice() {
    // One partition: the barrier alert comes after the others.
    let setup = Setup::new("restart", 1).await;
    let receiver = Receiver::start().await;
    let name = "restart-web";
    let hooks = hook(name, "webhook", &receiver.url(), "");
    let running = start(setup.config("", &hooks));
    let first = alerts("a", 4);
    setup.produce(&first).await;
    wait_until("the first alerts arrived", || receiver.received().len() == 4).await;
    running.stop().await;

    // A new consumer group reads every alert again: only the record stops them.
    let running = start(setup.config_with_group(&unique("restart-again"), "", &hooks));
    let barrier = alerts("b", 1);
    setup.produce(&barrier).await;
    wait_until("the new alert arrived", || receiver.received().len() >= 5).await;
    running.stop().await;
    let got = ids(&receiver);
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(distinct(&got), 5);
    assert_eq!(got[4], barrier[0].id);
    assert_eq!(delivered_lines(setup.data_dir.path(), name), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppression_sends_one_per_rule_and_group() {
    let setup = Setup::new("suppress", 1).await;
    let receiver = Receiver::start().await;
    let name = "suppress-web";
    let running = start(setup.config("suppress = \"10m\"", &hook(name, "webhook", &receiver.url(), "")));
    let mut sent: Vec<Alert> = (0..5)
        .map(|i| alert(&format!("p{i:04}"), "brute", "source.ip=10.0.0.9", at(1_700_000_000 + 60 * i)))
        .collect();
    // Another group of the same rule, then the first group after the window.
    sent.push(alert("q0000", "brute", "source.ip=10.0.0.10", at(1_700_000_100)));
    sent.push(alert("p0005", "brute", "source.ip=10.0.0.9", at(1_700_000_000 + 660)));
    setup.produce(&sent).await;
    wait_until("every alert is handled", || delivered_lines(setup.data_dir.path(), name) == sent.len()).await;
    running.stop().await;
    assert_eq!(ids(&receiver), ["p0000", "q0000", "p0005"]);
    assert_eq!(counter("suppressed", name), 4);
    assert_eq!(counter("sent", name), 3);
}
