//! `FaultProxy`: a small HTTP/1.1 reverse proxy on 127.0.0.1:<free port> in front of a (plain HTTP) registry that
//! injects faults (error statuses with Retry-After, connection resets, truncated blob bodies) per a `FaultPlan`.
//!
//! One thread per connection, one request per connection (`Connection: close` both ways). Requests are read whole
//! (chunked bodies are decoded and forwarded with a Content-Length); responses are streamed back until upstream EOF.
//! `Host` is rewritten to the upstream, and `Location`/`WWW-Authenticate` back to the proxy, so clients stay on it.
//! `injected()` counts the faults really delivered, so a test can prove its client met (and survived) them.
//! `max_concurrent_blob_gets` tells how many blob downloads through it overlapped (with `hold_blob_bodies`, each
//! lasts at least that long, so a client's concurrency shows whatever the machine's speed).

use super::http::{self, Head};
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Which faults to inject. Requests that pass the `only_*` filters are "matching" and numbered 1, 2, 3, ...;
/// matching request k gets, in this order of precedence:
/// 1. the statuses of `status_burst`, in order, while k <= the burst's total count;
/// 2. a connection reset for the `reset_first` requests after the burst;
/// 3. a connection reset if `reset_every_nth == Some(n)` and k is a multiple of n (n >= 2 leaves retries a way out);
/// 4. otherwise it is forwarded.
///
/// Independently, the `truncate_body_of_nth_blob_get`-th `GET .../blobs/sha256:...` (counting all blob GETs, 1-based)
/// that is forwarded and answered 200 gets its headers and only half its body, then the connection closes.
/// `FaultPlan::default()` forwards everything.
#[derive(Clone, Debug, Default)]
pub struct FaultPlan {
    /// Only requests with this method (e.g. "PUT") are matching.
    pub only_method: Option<String>,
    /// Only requests whose target contains this (e.g. "/blobs/uploads/", "/manifests/") are matching.
    pub only_path_containing: Option<String>,
    /// `(status, count)`: answer the first matching requests with these statuses, e.g. `vec![(429, 2), (503, 1)]`.
    pub status_burst: Vec<(u16, usize)>,
    /// `Retry-After` seconds sent with burst statuses.
    pub retry_after: Option<u32>,
    /// Reset the connection of this many matching requests right after the burst.
    pub reset_first: usize,
    /// Reset every nth matching request.
    pub reset_every_nth: Option<usize>,
    /// Truncate the body of the nth successful blob GET (1-based).
    pub truncate_body_of_nth_blob_get: Option<usize>,
    /// Truncate the bodies of this many matching requests (any kind, e.g. manifest GETs) right after the resets.
    pub truncate_first: usize,
    /// Wait this long between the head and the body of every successful blob GET.
    pub hold_blob_bodies: Option<Duration>,
    /// `(path, content type, body)`: answer GETs of exactly this path with 200 and this body instead of forwarding
    /// them: an endpoint the registry behind lacks (e.g. the OCI 1.1 referrers API).
    pub answers: Vec<(String, String, Vec<u8>)>,
}

/// Faults delivered so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Injected {
    /// Error statuses answered from `status_burst`.
    pub statuses: usize,
    /// Connections reset (request read, then closed with SO_LINGER 0, no response).
    pub resets: usize,
    /// Blob bodies cut in half (headers announce the full length, then the connection closes).
    pub truncations: usize,
}

impl Injected {
    pub fn total(&self) -> usize {
        self.statuses + self.resets + self.truncations
    }
}

enum Action {
    Status(u16),
    Reset,
    Forward { truncate: bool },
    Answer { content_type: String, body: Vec<u8> },
}

#[derive(Default)]
struct State {
    plan: FaultPlan,
    matching: usize,
    blob_get_count: usize,
    injected: Injected,
    forwarded: usize,
    log: Vec<String>,
    /// (Content-Length, start, end) of each successful blob GET, from its response head to its body's end.
    blob_gets: Vec<(u64, Instant, Instant)>,
}

impl State {
    fn decide(&mut self, head: &Head) -> Action {
        let plan = &self.plan;
        let path = head.target().split('?').next().unwrap_or("");
        if let Some((_, content_type, body)) = plan
            .answers
            .iter()
            .find(|(p, _, _)| head.method() == "GET" && p == path)
        {
            return Action::Answer {
                content_type: content_type.clone(),
                body: body.clone(),
            };
        }
        let is_matching = plan
            .only_method
            .as_deref()
            .is_none_or(|m| head.method().eq_ignore_ascii_case(m))
            && plan
                .only_path_containing
                .as_deref()
                .is_none_or(|p| head.target().contains(p));
        if is_matching {
            self.matching += 1;
            let k = self.matching;
            let mut burst_end = 0;
            for &(status, count) in &plan.status_burst {
                burst_end += count;
                if k <= burst_end {
                    return Action::Status(status);
                }
            }
            if k <= burst_end + plan.reset_first || plan.reset_every_nth.is_some_and(|n| n > 0 && k.is_multiple_of(n)) {
                return Action::Reset;
            }
            if k <= burst_end + plan.reset_first + plan.truncate_first {
                return Action::Forward { truncate: true };
            }
        }
        let mut truncate = false;
        if head.method() == "GET" && head.target().contains("/blobs/sha256:") {
            self.blob_get_count += 1;
            truncate = plan.truncate_body_of_nth_blob_get == Some(self.blob_get_count);
        }
        Action::Forward { truncate }
    }
}

/// A running fault-injecting proxy; stops accepting on Drop.
pub struct FaultProxy {
    addr: SocketAddr,
    upstream: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` ("127.0.0.1:PORT", e.g. `registry.host()`) with `plan`.
    pub fn start(upstream: &str, plan: FaultPlan) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            plan,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let ctx = Arc::new(Ctx {
            upstream: upstream.to_string(),
            me: addr.to_string(),
            state: state.clone(),
        });
        let stop_flag = stop.clone();
        let accept_thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let ctx = ctx.clone();
                std::thread::spawn(move || {
                    if let Err(e) = ctx.handle(conn) {
                        ctx.state.lock().unwrap().log.push(format!("connection error: {e}"));
                    }
                });
            }
        });
        FaultProxy {
            addr,
            upstream: upstream.to_string(),
            state,
            stop,
            accept_thread: Some(accept_thread),
        }
    }

    /// "127.0.0.1:PORT" of the proxy: use it in place of the registry's host.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Faults delivered so far (cumulative across `set_plan`).
    pub fn injected(&self) -> Injected {
        self.state.lock().unwrap().injected
    }

    /// Requests forwarded to the upstream so far.
    pub fn forwarded(&self) -> usize {
        self.state.lock().unwrap().forwarded
    }

    /// One line per request handled, e.g. `GET /v2/ -> 429 (injected)`, `PUT /v2/a/manifests/v1 -> 201`.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    /// Replaces the plan and restarts its request numbering (injected counts are kept).
    /// The most successful blob GETs of at least `min_length` bytes that were in progress at the same time.
    pub fn max_concurrent_blob_gets(&self, min_length: u64) -> usize {
        let state = self.state.lock().unwrap();
        let mut edges: Vec<(Instant, i32)> = Vec::new();
        for &(_, start, end) in state.blob_gets.iter().filter(|(l, ..)| *l >= min_length) {
            edges.push((start, 1));
            edges.push((end, -1));
        }
        // At equal instants an end comes before a start: touching spans do not overlap.
        edges.sort();
        let (mut now, mut most) = (0i32, 0i32);
        for (_, step) in edges {
            now += step;
            most = most.max(now);
        }
        usize::try_from(most).unwrap_or(0)
    }

    pub fn set_plan(&self, plan: FaultPlan) {
        let mut s = self.state.lock().unwrap();
        s.plan = plan;
        s.matching = 0;
        s.blob_get_count = 0;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
    }
}

struct Ctx {
    upstream: String,
    me: String,
    state: Arc<Mutex<State>>,
}

impl Ctx {
    fn log(&self, line: String) {
        self.state.lock().unwrap().log.push(line);
    }

    fn handle(&self, client: TcpStream) -> io::Result<()> {
        client.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut reader = BufReader::new(client.try_clone()?);
        let Some(mut head) = http::read_head(&mut reader)? else {
            return Ok(());
        };
        if head
            .get("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
        {
            (&client).write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            head.remove("expect");
        }
        let had_body = head.is_chunked() || head.content_length().is_some();
        let body = http::read_request_body(&mut reader, &head)?;
        let what = format!("{} {}", head.method(), head.target());
        let action = self.state.lock().unwrap().decide(&head);
        match action {
            Action::Status(status) => {
                let retry_after = self.state.lock().unwrap().plan.retry_after;
                self.state.lock().unwrap().injected.statuses += 1;
                self.log(format!("{what} -> {status} (injected)"));
                answer_status(&client, status, retry_after)
            }
            Action::Reset => {
                self.state.lock().unwrap().injected.resets += 1;
                self.log(format!("{what} -> reset (injected)"));
                reset(client);
                Ok(())
            }
            Action::Forward { truncate } => self.forward(client, head, had_body, body, truncate, what),
            Action::Answer { content_type, body } => {
                self.log(format!("{what} -> 200 (answered)"));
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                (&client).write_all(head.as_bytes())?;
                (&client).write_all(&body)
            }
        }
    }

    fn forward(
        &self,
        mut client: TcpStream,
        mut head: Head,
        had_body: bool,
        body: Vec<u8>,
        truncate: bool,
        what: String,
    ) -> io::Result<()> {
        let upstream = match TcpStream::connect(&self.upstream) {
            Ok(u) => u,
            Err(e) => {
                self.log(format!("{what} -> 502 (upstream {}: {e})", self.upstream));
                return answer_status(&client, 502, None);
            }
        };
        upstream.set_read_timeout(Some(Duration::from_secs(60)))?;
        head.set("Host", &self.upstream);
        for h in ["connection", "keep-alive", "proxy-connection", "transfer-encoding"] {
            head.remove(h);
        }
        if had_body || !body.is_empty() {
            head.set("Content-Length", &body.len().to_string());
        }
        head.set("Connection", "close");
        (&upstream).write_all(&head.to_bytes())?;
        (&upstream).write_all(&body)?;
        let mut up = BufReader::new(&upstream);
        let Some(mut resp) = http::read_head(&mut up)? else {
            self.log(format!("{what} -> upstream closed without answering"));
            reset(client);
            return Ok(());
        };
        for h in ["connection", "keep-alive"] {
            resp.remove(h);
        }
        resp.headers.push(("Connection".into(), "close".into()));
        for (name, value) in resp.headers.iter_mut() {
            if name.eq_ignore_ascii_case("location") || name.eq_ignore_ascii_case("www-authenticate") {
                *value = value.replace(&self.upstream, &self.me);
            }
        }
        let status = resp.status();
        self.state.lock().unwrap().forwarded += 1;
        client.write_all(&resp.to_bytes())?;
        let length = resp.content_length().unwrap_or(0);
        if truncate && status == 200 && length >= 2 {
            io::copy(&mut (&mut up).take(length / 2), &mut client)?;
            client.flush()?;
            self.state.lock().unwrap().injected.truncations += 1;
            self.log(format!(
                "{what} -> {status}, body truncated to {} of {length} bytes (injected)",
                length / 2
            ));
            // A clean FIN: the client reads half the body, then EOF before Content-Length is reached.
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
        self.log(format!("{what} -> {status}"));
        let is_blob_get = what.starts_with("GET ") && what.contains("/blobs/sha256:") && status == 200;
        let started = Instant::now();
        let hold = self.state.lock().unwrap().plan.hold_blob_bodies;
        if let Some(hold) = hold.filter(|_| is_blob_get) {
            std::thread::sleep(hold);
        }
        io::copy(&mut up, &mut client)?;
        client.flush()?;
        if is_blob_get {
            self.state
                .lock()
                .unwrap()
                .blob_gets
                .push((length, started, Instant::now()));
        }
        let _ = client.shutdown(Shutdown::Write);
        Ok(())
    }
}

fn answer_status(mut client: &TcpStream, status: u16, retry_after: Option<u32>) -> io::Result<()> {
    let (reason, code) = match status {
        429 => ("Too Many Requests", "TOOMANYREQUESTS"),
        500 => ("Internal Server Error", "UNKNOWN"),
        502 => ("Bad Gateway", "UNAVAILABLE"),
        503 => ("Service Unavailable", "UNAVAILABLE"),
        504 => ("Gateway Timeout", "UNAVAILABLE"),
        _ => ("Injected Fault", "UNKNOWN"),
    };
    let body = format!(r#"{{"errors":[{{"code":"{code}","message":"injected by the ferry test proxy"}}]}}"#);
    let mut head = Head {
        start_line: format!("HTTP/1.1 {status} {reason}"),
        headers: Vec::new(),
    };
    head.set("Content-Type", "application/json");
    head.set("Content-Length", &body.len().to_string());
    if let Some(s) = retry_after {
        head.set("Retry-After", &s.to_string());
    }
    head.set("Connection", "close");
    client.write_all(&head.to_bytes())?;
    client.write_all(body.as_bytes())?;
    client.flush()?;
    let _ = client.shutdown(Shutdown::Write);
    Ok(())
}

/// Closes with SO_LINGER 0: the peer gets a TCP RST ("connection reset by peer").
fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}
