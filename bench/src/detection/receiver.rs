//! A real HTTP receiver on 127.0.0.1 for the detector's alert hook: it
//! answers every POST with 200 and keeps each JSON body with the instant
//! its last byte arrived.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use serde_json::Value;

/// A body and when it was received.
pub type Received = (Instant, Value);

pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Listens on a free port; one thread per connection (the hook keeps
    /// its connection alive).
    pub fn start() -> anyhow::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the alert receiver")?;
        let url = format!("http://{}/alerts", listener.local_addr()?);
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let store = store.clone();
                std::thread::spawn(move || serve(stream, &store));
            }
        });
        Ok(Receiver { url, received })
    }

    pub fn count(&self) -> usize {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// The bodies received after the first `skip`, oldest first.
    pub fn since(&self, skip: usize) -> Vec<Received> {
        let received = self.received.lock().unwrap_or_else(|e| e.into_inner());
        received.get(skip..).unwrap_or_default().to_vec()
    }
}

/// Reads requests off one connection until it closes.
fn serve(stream: TcpStream, store: &Mutex<Vec<Received>>) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut stream = stream;
    while let Some(body) = read_request(&mut reader) {
        let at = Instant::now();
        if let Ok(value) = serde_json::from_slice(&body) {
            store
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((at, value));
        }
        if stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// One request's body (`Content-Length` or chunked); `None` when the
/// connection closed or spoke something else.
fn read_request(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().ok()?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.trim().eq_ignore_ascii_case("chunked");
        }
    }
    if !chunked {
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        return Some(body);
    }
    let mut body = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let size = usize::from_str_radix(line.trim().split(';').next()?, 16).ok()?;
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_length_and_chunked_bodies() {
        let text = "POST /a HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}\
                    POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\n{\"b\r\n4\r\n\":2}\r\n0\r\n\r\n";
        let mut reader = std::io::Cursor::new(text.as_bytes());
        assert_eq!(read_request(&mut reader).unwrap(), b"{\"a\":1}");
        assert_eq!(read_request(&mut reader).unwrap(), b"{\"b\":2}");
        assert!(read_request(&mut reader).is_none());
    }
}
