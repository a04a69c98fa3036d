//! A tiny HTTP/1.1 server on 127.0.0.1 for the source and sync tests: fixed replies per path,
//! including the failures a feed server shows (error statuses, stalls, bodies cut short), or the
//! files of a directory read at each request (a mirror the test changes between syncs). It
//! serves a bounded number of connections, one thread each, then stops.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MAX_CONNECTIONS: usize = 64;

#[derive(Clone)]
pub(crate) enum Reply {
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
    pub(crate) fn ok(body: Vec<u8>) -> Self {
        Self::Ok(body)
    }
    pub(crate) fn status(code: u16) -> Self {
        Self::Status(code)
    }
    pub(crate) fn chunked(body: Vec<u8>) -> Self {
        Self::Chunked(body)
    }
    pub(crate) fn slow(delay: Duration) -> Self {
        Self::Slow(delay)
    }
    pub(crate) fn truncated(body: Vec<u8>, sent: usize) -> Self {
        Self::Truncated(body, sent)
    }
    pub(crate) fn truncated_chunked(body: Vec<u8>, sent: usize) -> Self {
        Self::TruncatedChunked(body, sent)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) path: String,
    pub(crate) authorization: Option<String>,
}

pub(crate) struct TestServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl TestServer {
    pub(crate) fn start(routes: Vec<(&str, Reply)>) -> Self {
        Self::serve(routes, None)
    }

    /// Serves `GET /a/b` from `root/a/b` as it is at the time of the request; 404 when absent.
    pub(crate) fn serve_dir(root: &Path) -> Self {
        Self::serve(Vec::new(), Some(root.to_path_buf()))
    }

    fn serve(routes: Vec<(&str, Reply)>, root: Option<PathBuf>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let routes: Arc<HashMap<String, Reply>> =
            Arc::new(routes.into_iter().map(|(p, r)| (p.to_owned(), r)).collect());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let root = Arc::new(root);
        std::thread::spawn(move || {
            for stream in listener.incoming().take(MAX_CONNECTIONS).flatten() {
                let routes = Arc::clone(&routes);
                let seen = Arc::clone(&seen);
                let root = Arc::clone(&root);
                std::thread::spawn(move || serve(stream, &routes, root.as_deref(), &seen));
            }
        });
        Self { addr, requests }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

fn serve(
    mut stream: TcpStream,
    routes: &HashMap<String, Reply>,
    root: Option<&Path>,
    seen: &Mutex<Vec<Request>>,
) {
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
    let reply = routes
        .get(&path)
        .cloned()
        .or_else(|| root.and_then(|root| from_dir(root, &path)))
        .unwrap_or(Reply::Status(404));
    let _ = write_reply(&mut stream, reply);
}

/// The file under `root` a request path names (plain segments only).
fn from_dir(root: &Path, path: &str) -> Option<Reply> {
    let relative = Path::new(path.trim_start_matches('/'));
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    std::fs::read(root.join(relative)).ok().map(Reply::Ok)
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
