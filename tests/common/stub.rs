//! A small HTTP server the Worker fetches from in tests (a client's `jwks_uri`), with the
//! behaviours an attacker would choose: redirects, endless bodies, silence, errors. It counts
//! what it was asked for and how many body bytes it managed to write.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

#[derive(Default)]
struct State {
    documents: HashMap<String, Value>,
    hits: HashMap<String, usize>,
}

/// Paths served:
/// * `/doc/{name}`: the JSON document set with [`Stub::set`] (404 when unset).
/// * `/redirect/{name}`: 302 to `/doc/{name}`.
/// * `/fail`: 500.
/// * `/huge`: 200 with a JSON-looking body of 64 MiB, written until the reader goes away.
/// * `/hang`: reads the request and never answers (until the test process ends).
pub struct Stub {
    pub base: String,
    state: Arc<Mutex<State>>,
    written: Arc<AtomicUsize>,
}

impl Stub {
    pub fn start() -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state = Arc::new(Mutex::new(State::default()));
        let written = Arc::new(AtomicUsize::new(0));
        let (st, wr) = (state.clone(), written.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (st, wr) = (st.clone(), wr.clone());
                std::thread::spawn(move || serve(conn, &st, &wr));
            }
        });
        Stub { base, state, written }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn set(&self, name: &str, doc: Value) {
        self.state.lock().unwrap().documents.insert(name.to_string(), doc);
    }

    /// How often a path was requested.
    pub fn hits(&self, path: &str) -> usize {
        self.state.lock().unwrap().hits.get(path).copied().unwrap_or(0)
    }

    /// Body bytes written by `/huge` so far.
    pub fn huge_bytes_written(&self) -> usize {
        self.written.load(Ordering::SeqCst)
    }
}

fn read_request_path(conn: &mut TcpStream) -> Option<String> {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf).lines().next()?.to_string();
    line.split(' ').nth(1).map(str::to_string)
}

fn respond(conn: &mut TcpStream, status: &str, headers: &str, body: &[u8]) {
    let head = format!("HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body);
}

fn serve(mut conn: TcpStream, state: &Mutex<State>, written: &AtomicUsize) {
    let Some(path) = read_request_path(&mut conn) else { return };
    *state.lock().unwrap().hits.entry(path.clone()).or_default() += 1;
    if let Some(name) = path.strip_prefix("/doc/") {
        let doc = state.lock().unwrap().documents.get(name).cloned();
        match doc {
            Some(d) => respond(&mut conn, "200 OK", "Content-Type: application/json\r\n", d.to_string().as_bytes()),
            None => respond(&mut conn, "404 Not Found", "", b"not found"),
        }
    } else if let Some(name) = path.strip_prefix("/redirect/") {
        respond(&mut conn, "302 Found", &format!("Location: /doc/{name}\r\n"), b"");
    } else if path == "/fail" {
        respond(&mut conn, "500 Internal Server Error", "", b"boom");
    } else if path == "/huge" {
        let total: usize = 64 << 20;
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n"
        );
        if conn.write_all(head.as_bytes()).is_err() {
            return;
        }
        let mut block = vec![b' '; 64 * 1024];
        block[0] = b'[';
        let mut sent = 0;
        while sent < total {
            match conn.write(&block) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    sent += n;
                    written.fetch_add(n, Ordering::SeqCst);
                    block[0] = b' ';
                }
            }
        }
    } else if path == "/hang" {
        std::thread::sleep(Duration::from_secs(600));
    } else {
        respond(&mut conn, "404 Not Found", "", b"");
    }
}
