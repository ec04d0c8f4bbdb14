//! A minimal blocking HTTP/1.1 client and message parser over `std::net`, shared by the raw pusher and the proxy.
//!
//! Plain HTTP only (no TLS). `request` sends `Connection: close`, so a response ends at EOF at the latest;
//! `Connection` keeps one connection open across requests (HTTP/1.1 keep-alive), for the benchmarks' raw copier.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The start line and headers of an HTTP message, in wire order.
#[derive(Clone, Debug)]
pub struct Head {
    /// `GET /v2/ HTTP/1.1` or `HTTP/1.1 200 OK`.
    pub start_line: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first header of that name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces every header of that name with one `name: value`.
    pub fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.headers.push((name.to_string(), value.to_string()));
    }

    pub fn remove(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Request method (first word of the start line).
    pub fn method(&self) -> &str {
        self.start_line.split(' ').next().unwrap_or("")
    }

    /// Request target (second word of the start line).
    pub fn target(&self) -> &str {
        self.start_line.split(' ').nth(1).unwrap_or("")
    }

    /// Response status (second word of the start line), 0 if unparsable.
    pub fn status(&self) -> u16 {
        self.start_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    pub fn content_length(&self) -> Option<u64> {
        self.get("content-length").and_then(|v| v.trim().parse().ok())
    }

    pub fn is_chunked(&self) -> bool {
        self.get("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }

    /// The head as it goes on the wire, ending with the empty line.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.start_line);
        for (n, v) in &self.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

/// Reads a message head. `Ok(None)` on EOF before the first byte.
pub fn read_head<R: BufRead>(r: &mut R) -> io::Result<Option<Head>> {
    let mut start_line = String::new();
    if r.read_line(&mut start_line)? == 0 {
        return Ok(None);
    }
    let start_line = start_line.trim_end().to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "EOF inside HTTP head"));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (n, v) = line
            .split_once(':')
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad header line {line:?}")))?;
        headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    Ok(Some(Head { start_line, headers }))
}

/// Reads a request body: chunked, by Content-Length, or empty.
pub fn read_request_body<R: BufRead>(r: &mut R, head: &Head) -> io::Result<Vec<u8>> {
    if head.is_chunked() {
        read_chunked(r)
    } else if let Some(len) = head.content_length() {
        let mut body = vec![0; len as usize];
        r.read_exact(&mut body)?;
        Ok(body)
    } else {
        Ok(Vec::new())
    }
}

/// Reads a response body: none for HEAD/1xx/204/304, chunked, by Content-Length, or up to EOF.
pub fn read_response_body<R: BufRead>(r: &mut R, head: &Head, request_method: &str) -> io::Result<Vec<u8>> {
    let status = head.status();
    if request_method == "HEAD" || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Vec::new());
    }
    if head.is_chunked() {
        return read_chunked(r);
    }
    let mut body = Vec::new();
    if let Some(len) = head.content_length() {
        body.resize(len as usize, 0);
        r.read_exact(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
    }
    Ok(body)
}

fn read_chunked<R: BufRead>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line)?;
        let size = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {line:?}")))?;
        if size == 0 {
            // Trailers, then the empty line.
            loop {
                let mut t = String::new();
                if r.read_line(&mut t)? == 0 || t.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        r.read_exact(&mut crlf)?;
    }
}

/// A complete response.
#[derive(Debug)]
pub struct Response {
    pub head: Head,
    pub body: Vec<u8>,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.head.status()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.get(name)
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request to `host` ("127.0.0.1:PORT") over a fresh connection and reads the whole response.
/// `path` is the request target ("/v2/"); `Host`, `Content-Length` and `Connection: close` are added.
pub fn request(host: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> io::Result<Response> {
    let stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut head = Head {
        start_line: format!("{method} {path} HTTP/1.1"),
        headers: Vec::new(),
    };
    head.set("Host", host);
    for (n, v) in headers {
        head.headers.push((n.to_string(), v.to_string()));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        head.set("Content-Length", &body.len().to_string());
    }
    head.set("Connection", "close");
    let mut w = &stream;
    w.write_all(&head.to_bytes())?;
    w.write_all(body)?;
    w.flush()?;
    let mut r = BufReader::new(&stream);
    let head = read_head(&mut r)?
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before a response"))?;
    let body = read_response_body(&mut r, &head, method)?;
    Ok(Response { head, body })
}

/// Turns a `Location` header value (absolute `http://host/path?q` or relative `/path?q`) into a request target.
pub fn location_target(location: &str) -> String {
    match location
        .strip_prefix("http://")
        .or_else(|| location.strip_prefix("https://"))
    {
        Some(rest) => rest
            .find('/')
            .map(|i| rest[i..].to_string())
            .unwrap_or_else(|| "/".to_string()),
        None => location.to_string(),
    }
}

/// `Authorization` header value for HTTP basic auth.
pub fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A kept-alive HTTP/1.1 connection to one host: requests go one after another over the same socket, reconnecting
/// when the server closed it. Bodies are delimited by Content-Length (or chunked, for responses).
pub struct Connection {
    host: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Connection {
    pub fn new(host: &str) -> Self {
        Connection {
            host: host.to_string(),
            stream: None,
        }
    }

    fn stream(&mut self) -> io::Result<&mut BufReader<TcpStream>> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.host)?;
            stream.set_read_timeout(Some(Duration::from_secs(300)))?;
            stream.set_write_timeout(Some(Duration::from_secs(300)))?;
            stream.set_nodelay(true)?;
            self.stream = Some(BufReader::new(stream));
        }
        Ok(self.stream.as_mut().expect("connected above"))
    }

    /// Writes a request head (`Host` and, for a body, `Content-Length: body_len` added); the body, if any, follows
    /// with `write_body`.
    pub fn send_head(&mut self, method: &str, target: &str, headers: &[(&str, &str)], body_len: u64) -> io::Result<()> {
        let mut head = Head {
            start_line: format!("{method} {target} HTTP/1.1"),
            headers: Vec::new(),
        };
        head.set("Host", &self.host);
        for (n, v) in headers {
            head.headers.push((n.to_string(), v.to_string()));
        }
        if body_len > 0 || matches!(method, "POST" | "PUT" | "PATCH") {
            head.set("Content-Length", &body_len.to_string());
        }
        self.stream()?.get_mut().write_all(&head.to_bytes())
    }

    pub fn write_body(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream()?.get_mut().write_all(bytes)
    }

    /// Reads a response head; its body is then read with `read_body` or `reader`.
    pub fn read_head(&mut self) -> io::Result<Head> {
        let head = read_head(self.stream()?)?;
        head.ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before a response"))
    }

    /// The connection's reader, to stream a response body of known length.
    pub fn reader(&mut self) -> io::Result<&mut BufReader<TcpStream>> {
        self.stream()
    }

    /// Reads the body of the response `head` answers to `method`, then closes the connection if the server asked.
    pub fn read_body(&mut self, head: &Head, method: &str) -> io::Result<Vec<u8>> {
        let body = read_response_body(self.stream()?, head, method)?;
        self.finish(head);
        Ok(body)
    }

    /// After a response read to its end: forgets the connection if the server closes it.
    pub fn finish(&mut self, head: &Head) {
        if head.get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
            self.stream = None;
        }
    }

    /// One whole request and response. A request that fails on a reused connection the server had already closed
    /// is retried once on a fresh one.
    pub fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Response> {
        let reused = self.stream.is_some();
        match self.try_request(method, target, headers, body) {
            Err(e) if reused && is_stale_connection(&e) => self.try_request(method, target, headers, body),
            other => other,
        }
    }

    fn try_request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Response> {
        let result = (|| {
            self.send_head(method, target, headers, body.len() as u64)?;
            self.write_body(body)?;
            let head = self.read_head()?;
            let body = self.read_body(&head, method)?;
            Ok(Response { head, body })
        })();
        if result.is_err() {
            self.stream = None;
        }
        result
    }
}

/// What writing to or reading from a kept-alive connection the server has closed in the meantime gives.
fn is_stale_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    )
}
