//! A scripted loopback HTTP/1.1 server for the fetch tests: it records
//! every request it reads and answers each with the [`Reply`] a handler
//! picks, optionally cutting the body short or stalling. It accepts
//! connections for a bounded time only, so no test can hang on it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a server accepts connections before giving up on its own.
const LIFETIME: Duration = Duration::from_secs(30);
/// Requests served on one connection at most.
const MAX_PER_CONN: usize = 4;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Request {
    pub line: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
#[derive(Clone, Debug)]
pub struct Reply {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Send only this many body bytes, then close.
    cut: Option<usize>,
    /// Pause after the head, before the body.
    stall: Duration,
    /// Keep reading requests on this connection (CONNECT tunnels).
    keep_open: bool,
    /// Advertised Content-Length, when not the body's length.
    length: Option<u64>,
}

impl Reply {
    pub fn status(code: u16, reason: &str) -> Reply {
        Reply {
            status: format!("{code} {reason}"),
            headers: Vec::new(),
            body: Vec::new(),
            cut: None,
            stall: Duration::ZERO,
            keep_open: false,
            length: None,
        }
    }

    pub fn ok(body: &[u8]) -> Reply {
        Reply::status(200, "OK").body(body)
    }

    pub fn body(mut self, body: &[u8]) -> Reply {
        self.body = body.to_vec();
        self
    }

    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    pub fn cut(mut self, n: usize) -> Reply {
        self.cut = Some(n);
        self
    }

    pub fn stall(mut self, d: Duration) -> Reply {
        self.stall = d;
        self
    }

    pub fn length(mut self, n: u64) -> Reply {
        self.length = Some(n);
        self
    }

    /// `200 Connection established` to a CONNECT, then go on reading.
    pub fn tunnel() -> Reply {
        Reply {
            keep_open: true,
            ..Reply::status(200, "Connection established")
        }
    }

    fn write_to(&self, out: &mut TcpStream) -> std::io::Result<()> {
        let mut head = format!("HTTP/1.1 {}\r\n", self.status);
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if !self.keep_open {
            let len = self.length.unwrap_or(self.body.len() as u64);
            head.push_str(&format!("Content-Length: {len}\r\nConnection: close\r\n"));
        }
        head.push_str("\r\n");
        out.write_all(head.as_bytes())?;
        out.flush()?;
        thread::sleep(self.stall);
        let n = self.cut.unwrap_or(self.body.len()).min(self.body.len());
        out.write_all(&self.body[..n])?;
        out.flush()
    }
}

type Handler = dyn Fn(usize, &Request) -> Reply + Send + Sync;

/// A running server; stops accepting when dropped.
pub struct Server {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serve with `handler(index_of_request, request)`.
    pub fn start(handler: impl Fn(usize, &Request) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (reqs, stopping) = (requests.clone(), stop.clone());
        let thread = thread::spawn(move || accept_loop(&listener, &handler, &reqs, &stopping));
        Server {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    handler: &Arc<Handler>,
    requests: &Arc<Mutex<Vec<Request>>>,
    stop: &AtomicBool,
) {
    let deadline = Instant::now() + LIFETIME;
    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
        match listener.accept() {
            Ok((conn, _)) => serve(conn, handler, requests),
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn serve(mut conn: TcpStream, handler: &Arc<Handler>, requests: &Arc<Mutex<Vec<Request>>>) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    for _ in 0..MAX_PER_CONN {
        let Some(req) = read_request(&mut conn) else {
            return;
        };
        let index = {
            let Ok(mut all) = requests.lock() else {
                return;
            };
            all.push(req.clone());
            all.len() - 1
        };
        let reply = handler(index, &req);
        if reply.write_to(&mut conn).is_err() || !reply.keep_open {
            return;
        }
    }
}

fn read_request(conn: &mut TcpStream) -> Option<Request> {
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    while !data.ends_with(b"\r\n\r\n") {
        if data.len() > 64 * 1024 || conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        data.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&data);
    let mut lines = text.split("\r\n");
    let line = lines.next()?.to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Request { line, headers })
}
