//! A tiny HTTP/1.1 server on 127.0.0.1 for the source tests: fixed replies per path, including
//! the failures a feed server shows (error statuses, stalls, bodies cut short). It serves a
//! bounded number of connections, one thread each, then stops.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MAX_CONNECTIONS: usize = 64;

#[derive(Clone)]
pub(super) enum Reply {
    Ok(Vec<u8>),
    Status(u16),
    /// `Transfer-Encoding: chunked`, no length declared.
    Chunked(Vec<u8>),
    /// Headers only after this long.
    Slow(Duration),
    /// Declares the whole length, sends only the first bytes, closes.
    Truncated(Vec<u8>, usize),
    /// Chunked, closes after the first bytes without the final chunk.
    TruncatedChunked(Vec<u8>, usize),
}

impl Reply {
    pub(super) fn ok(body: Vec<u8>) -> Self {
        Self::Ok(body)
    }
    pub(super) fn status(code: u16) -> Self {
        Self::Status(code)
    }
    pub(super) fn chunked(body: Vec<u8>) -> Self {
        Self::Chunked(body)
    }
    pub(super) fn slow(delay: Duration) -> Self {
        Self::Slow(delay)
    }
    pub(super) fn truncated(body: Vec<u8>, sent: usize) -> Self {
        Self::Truncated(body, sent)
    }
    pub(super) fn truncated_chunked(body: Vec<u8>, sent: usize) -> Self {
        Self::TruncatedChunked(body, sent)
    }
}

#[derive(Debug, Clone)]
pub(super) struct Request {
    pub(super) path: String,
    pub(super) authorization: Option<String>,
}

pub(super) struct TestServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl TestServer {
    pub(super) fn start(routes: Vec<(&str, Reply)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let routes: Arc<HashMap<String, Reply>> =
            Arc::new(routes.into_iter().map(|(p, r)| (p.to_owned(), r)).collect());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().take(MAX_CONNECTIONS).flatten() {
                let routes = Arc::clone(&routes);
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || serve(stream, &routes, &seen));
            }
        });
        Self { addr, requests }
    }

    pub(super) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(super) fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

fn serve(mut stream: TcpStream, routes: &HashMap<String, Reply>, seen: &Mutex<Vec<Request>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 << 10 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.lines();
    let path = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/")
        .to_owned();
    let authorization = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value.trim().to_owned());
    if let Ok(mut seen) = seen.lock() {
        seen.push(Request {
            path: path.clone(),
            authorization,
        });
    }
    let reply = routes.get(&path).cloned().unwrap_or(Reply::Status(404));
    let _ = write_reply(&mut stream, reply);
}

fn write_reply(stream: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    let fixed = |stream: &mut TcpStream, status: &str, body: &[u8], declared: usize| {
        write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
        )?;
        stream.write_all(body)
    };
    let chunked = |stream: &mut TcpStream, body: &[u8], finish: bool| {
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )?;
        for chunk in body.chunks(1000) {
            write!(stream, "{:x}\r\n", chunk.len())?;
            stream.write_all(chunk)?;
            stream.write_all(b"\r\n")?;
        }
        if finish {
            stream.write_all(b"0\r\n\r\n")?;
        }
        Ok(())
    };
    match reply {
        Reply::Ok(body) => fixed(stream, "200 OK", &body, body.len()),
        Reply::Status(code) => fixed(stream, &format!("{code} Status"), b"error", 5),
        Reply::Chunked(body) => chunked(stream, &body, true),
        Reply::Slow(delay) => {
            std::thread::sleep(delay);
            fixed(stream, "200 OK", b"{}", 2)
        }
        Reply::Truncated(body, sent) => fixed(stream, "200 OK", &body[..sent], body.len()),
        Reply::TruncatedChunked(body, sent) => chunked(stream, &body[..sent], false),
    }?;
    stream.flush()
}
