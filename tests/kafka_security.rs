//! The whole pipeline through a Kafka that requires SASL_SSL (SCRAM-SHA-512
//! over TLS with a CA made by scripts/kafka.sh): the collector's producer,
//! the admin client, the indexer's consumers and dead-letter producer and
//! the query API's audit producer all connect with the one `[kafka]`
//! section. A wrong password stops the start with an error naming the key.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use logwarden_config::auth::hash_key;
use support::push::PrivateKafka;
use support::*;

const ADMIN: &str = "lw-kafka-security-admin-key-00000000";

fn write_config(dir: &Path, kafka: &PrivateKafka, mechanism: &str) -> String {
    let secure = kafka.secure();
    let topic = unique("lw-sasl");
    let text = format!(
        "data_dir = \"{data}\"\n\
         [kafka]\nbrokers = \"127.0.0.1:{port}\"\ntopic = \"{topic}\"\n\
         [kafka.sasl]\nmechanism = \"{mechanism}\"\nusername = \"logwarden\"\npassword_env = \"LW_TEST_KAFKA_PASSWORD\"\n\
         [kafka.tls]\nca = \"{ca}\"\n\
         [indexer]\ngroup = \"{topic}\"\ndlq_topic = \"{topic}.dlq\"\n\
         [[auth.keys]]\nname = \"boss\"\nrole = \"admin\"\nhash = \"{hash}\"\n",
        data = dir.join("data").display(),
        port = secure.port,
        ca = secure.ca.display(),
        hash = hash_key(ADMIN),
    );
    let path = dir.join("logwarden.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn the_whole_pipeline_runs_through_sasl_ssl_and_a_wrong_password_is_named() {
    let kafka = PrivateKafka::start_secure();
    let dir = temp_dir("kafka-sasl");
    let config = write_config(&dir, &kafka, "SCRAM-SHA-512");
    let openssh = loghub("OpenSSH_2k.log").display().to_string();
    // SAFETY: the variable is set before any thread of this test reads it.
    unsafe { std::env::set_var("LW_TEST_KAFKA_PASSWORD", &kafka.secure().password) };
    // --brokers: Logwarden::start points LOGWARDEN_KAFKA_BROKERS at the shared plain broker.
    let brokers = format!("127.0.0.1:{}", kafka.secure().port);
    let mut node = Logwarden::start(&["run", "--config", &config, "--brokers", &brokers, "--http-addr", "127.0.0.1:0", "--input", &openssh]);
    node.key = Some(ADMIN.to_string());
    // Every line produced, consumed and indexed through SASL_SSL.
    node.wait_for_count("*", 2000, Duration::from_secs(180));
    // The search above was audited through the audit producer, over SASL_SSL too.
    let started = Instant::now();
    while node.search_with(&[("stream", "audit"), ("limit", "0")])["total"].as_u64().unwrap() == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "no audit record arrived");
        std::thread::sleep(Duration::from_millis(300));
    }
    node.stop();

    // A wrong password: the start stops with an error naming the key, not a hang.
    let wrong = dir.join("wrong");
    std::fs::create_dir_all(&wrong).unwrap();
    let config = write_config(&wrong, &kafka, "SCRAM-SHA-256");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(["run", "--config", &config, "--brokers", &brokers, "--http-addr", "127.0.0.1:0", "--input", &openssh])
        .env("LW_TEST_KAFKA_PASSWORD", "not-the-password")
        .env("LOGWARDEN_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a wrong password must stop the start: {stderr}");
    assert!(stderr.contains("kafka refused the login of user `logwarden`"), "{stderr}");
    assert!(stderr.contains("kafka.sasl.password_env (LW_TEST_KAFKA_PASSWORD)"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60), "refused within the start-up check, not after a hang");
}
