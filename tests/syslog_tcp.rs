//! Syslog over TLS with a real certificate (made by the openssl CLI), and
//! the TCP connection limit and idle timeout.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use support::push::*;
use support::tls::make_certificates;
use support::*;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

const TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn tls_listener_takes_octet_counted_and_newline_messages() {
    let dir = temp_dir("syslog-tls");
    let (ca, cert, key) = make_certificates(&dir);
    let config = key_config(
        &dir,
        &format!(
            "[collector.tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            cert.display(),
            key.display()
        ),
    );
    let topic = unique("lw-tls");
    let data = dir.join("data");
    let collector = Collector::start(
        &[
            "collector",
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--topic",
            &topic,
            "--syslog",
            "tls://127.0.0.1:0",
        ],
        &brokers(),
        &["syslog tls"],
    );

    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_file_iter(&ca).unwrap() {
        roots.add(der.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server = ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(client_config), server).unwrap();
    let socket = TcpStream::connect(collector.addr("syslog tls")).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, socket);
    let octet = "<38>Jan  2 03:04:05 tlshost sshd[99]: over tls octet-counted";
    write!(tls, "{} {octet}", octet.len()).unwrap();
    tls.write_all(b"<38>Jan  2 03:04:05 tlshost sshd[99]: over tls newline\n")
        .unwrap();
    tls.flush().unwrap();
    tls.conn.send_close_notify();
    let _ = tls.flush();

    let events = read_topic(&brokers(), &topic, TIMEOUT, |e| e.len() >= 2);
    let counts = message_counts(&events);
    assert_eq!(counts.get("over tls octet-counted"), Some(&1), "{events:?}");
    assert_eq!(counts.get("over tls newline"), Some(&1), "{events:?}");
    for event in &events {
        assert_eq!(
            (event["host.name"].as_str(), event["process.pid"].as_u64()),
            (Some("tlshost"), Some(99))
        );
        assert_eq!(event["stream"], "auth");
    }
    collector.stop();
}

#[test]
fn extra_connections_are_refused_and_idle_ones_closed() {
    let dir = temp_dir("syslog-limits");
    let config = key_config(
        &dir,
        "[[collector.syslog]]\nlisten = \"tcp://127.0.0.1:0\"\nmax_connections = 2\n\
         [[collector.syslog]]\nlisten = \"tcp://127.0.0.1:0\"\nidle_timeout = \"1s\"\n",
    );
    let topic = unique("lw-limits");
    let data = dir.join("data");
    let collector = Collector::start(
        &[
            "collector",
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--topic",
            &topic,
            "--http-ingest",
            "127.0.0.1:0",
        ],
        &brokers(),
        &["syslog tcp", "syslog tcp #2", "http ingest"],
    );
    let limited = collector.addr("syslog tcp").to_string();
    let mut held: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(&limited).unwrap())
        .collect();
    for (i, stream) in held.iter_mut().enumerate() {
        writeln!(stream, "<13>Jan  1 00:00:00 h limits: held {i}").unwrap();
    }
    // Both held connections are being served once their messages are in Kafka.
    let events = read_topic(&brokers(), &topic, TIMEOUT, |e| e.len() >= 2);
    assert_eq!(events.len(), 2);

    let mut third = TcpStream::connect(&limited).unwrap();
    third.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut buf = [0u8; 16];
    let closed = matches!(third.read(&mut buf), Ok(0) | Err(_));
    assert!(
        closed,
        "a third connection beyond max_connections = 2 is closed by the collector"
    );
    assert!(collector.metric("logwarden_collector_connections_refused_total") >= 1.0);

    let mut idle = TcpStream::connect(collector.addr("syslog tcp #2")).unwrap();
    idle.set_read_timeout(Some(TIMEOUT)).unwrap();
    assert!(
        matches!(idle.read(&mut buf), Ok(0)),
        "an idle connection is closed after idle_timeout"
    );
    drop(held);
    collector.stop();
}
