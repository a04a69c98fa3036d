//! A scripted HTTP/1.1 server on 127.0.0.1 for the failures a real registry will not produce
//! on demand: 429 and 500 answers, a connection dropped mid-body, a server that never
//! answers, bodies that do not match their digest, endless manifests; and a fake operator
//! ingest API for the analyzer Job. One request per connection (`Connection: close`), one
//! thread per connection, every request logged with its body.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body, when the request announced its `Content-Length`.
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub enum Reply {
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Announces the whole body's length, sends `sent` bytes of it, closes the connection.
    Truncated {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        sent: usize,
    },
    /// Reads the request and says nothing for this long.
    Hang(Duration),
    /// Chunked body that never ends (until the client hangs up).
    Endless {
        headers: Vec<(String, String)>,
        chunk: Vec<u8>,
    },
}

impl Reply {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self::Full {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }
    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self::Full {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        }
    }
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        match &mut self {
            Self::Full { headers, .. }
            | Self::Truncated { headers, .. }
            | Self::Endless { headers, .. } => headers.push((name.into(), value.into())),
            Self::Hang(_) => {}
        }
        self
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

pub struct FakeServer {
    pub addr: String,
    log: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl FakeServer {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (log, handler) = (log.clone(), handler.clone());
                    std::thread::spawn(move || serve(conn, &log, handler.as_ref()));
                }
            });
        }
        Self { addr, log, stop }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .count()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(&self.addr);
    }
}

fn serve(conn: TcpStream, log: &Mutex<Vec<Request>>, handler: &Handler) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    // A TLS ClientHello (record type 0x16) on this plain-HTTP port: answer like Go's
    // net/http does, with a plain 400, which the TLS client then fails to parse.
    if reader.fill_buf().is_ok_and(|b| b.first() == Some(&0x16)) {
        log.lock().unwrap().push(Request {
            method: "TLS".into(),
            path: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
        });
        let mut out = conn;
        let _ = out.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        let _ = out.shutdown(std::net::Shutdown::Both);
        return;
    }
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
        body.clear();
    }
    let req = Request {
        method,
        path,
        headers,
        body,
    };
    log.lock().unwrap().push(req.clone());
    let mut out = conn;
    let head = |status: u16, headers: &[(String, String)], extra: &str| {
        let mut s = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n{extra}");
        for (n, v) in headers {
            s.push_str(&format!("{n}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s
    };
    match handler(&req) {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let h = head(
                status,
                &headers,
                &format!("Content-Length: {}\r\n", body.len()),
            );
            let _ = out.write_all(h.as_bytes());
            if req.method != "HEAD" {
                let _ = out.write_all(&body);
            }
        }
        Reply::Truncated {
            status,
            headers,
            body,
            sent,
        } => {
            let h = head(
                status,
                &headers,
                &format!("Content-Length: {}\r\n", body.len()),
            );
            let _ = out.write_all(h.as_bytes());
            let _ = out.write_all(&body[..sent.min(body.len())]);
            let _ = out.flush();
        }
        Reply::Hang(d) => std::thread::sleep(d),
        Reply::Endless { headers, chunk } => {
            let h = head(200, &headers, "Transfer-Encoding: chunked\r\n");
            if out.write_all(h.as_bytes()).is_err() {
                return;
            }
            let framed = [
                format!("{:x}\r\n", chunk.len()).into_bytes(),
                chunk,
                b"\r\n".to_vec(),
            ]
            .concat();
            while out.write_all(&framed).is_ok() {}
        }
    }
    let _ = out.shutdown(std::net::Shutdown::Both);
}

/// Serves an image like a registry would (manifests by tag and digest, blobs by digest) at
/// repository `repo`, letting `fault` replace any answer.
pub struct FakeRegistry {
    pub server: FakeServer,
}

pub type Fault = dyn Fn(&Request, usize) -> Option<Reply> + Send + Sync;

impl FakeRegistry {
    /// `objects`: `(path under /v2/<repo>/, content type, bytes)`; `fault(request, nth)` sees
    /// every request with how many came before it to the same path.
    pub fn start(
        repo: &str,
        objects: Vec<(String, String, Vec<u8>)>,
        fault: impl Fn(&Request, usize) -> Option<Reply> + Send + Sync + 'static,
    ) -> Self {
        let prefix = format!("/v2/{repo}/");
        let seen: Mutex<std::collections::HashMap<String, usize>> = Mutex::default();
        let server = FakeServer::start(move |req| {
            let nth = {
                let mut s = seen.lock().unwrap();
                let n = s.entry(req.path.clone()).or_insert(0);
                *n += 1;
                *n - 1
            };
            if let Some(r) = fault(req, nth) {
                return r;
            }
            if req.path == "/v2/" {
                return Reply::status(200, "{}");
            }
            let Some(rest) = req.path.strip_prefix(&prefix) else {
                return Reply::status(404, r#"{"errors":[{"code":"NAME_UNKNOWN"}]}"#);
            };
            match objects.iter().find(|(p, _, _)| p == rest) {
                Some((_, ct, body)) => {
                    let digest = super::image::sha256(body);
                    Reply::ok(ct, body.clone()).with_header("Docker-Content-Digest", &digest)
                }
                None => Reply::status(404, r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#),
            }
        });
        Self { server }
    }

    pub fn host(&self) -> &str {
        &self.server.addr
    }
}
