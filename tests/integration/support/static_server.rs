//! A small real HTTP server for documents beside registries (update graphs, signatures, chart repositories): it
//! answers GET requests whose path (query ignored) is one of its routes with that route's body, 404 otherwise, and
//! records every request target it was asked for. It may demand Basic credentials, as a private chart repository.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use super::http::read_head;

pub struct StaticServer {
    host: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl StaticServer {
    /// Serves `routes` (path → body) on 127.0.0.1, on a port of its own, until the test process ends.
    pub fn start(routes: Vec<(String, Vec<u8>)>) -> StaticServer {
        StaticServer::start_on(TcpListener::bind("127.0.0.1:0").unwrap(), routes, None)
    }

    /// [`start`](Self::start), answering 401 to requests without `user`:`password` (Basic).
    pub fn start_with_login(routes: Vec<(String, Vec<u8>)>, user: &str, password: &str) -> StaticServer {
        let expected = format!("Basic {}", super::basic_b64(user, password));
        StaticServer::start_on(TcpListener::bind("127.0.0.1:0").unwrap(), routes, Some(expected))
    }

    /// Serves `routes` on a listener the caller bound (to know the address before writing the routes).
    pub fn start_on(listener: TcpListener, routes: Vec<(String, Vec<u8>)>, login: Option<String>) -> StaticServer {
        let host = listener.local_addr().unwrap().to_string();
        let routes: Arc<HashMap<String, Vec<u8>>> = Arc::new(routes.into_iter().collect());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let login = Arc::new(login);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (routes, seen, login) = (routes.clone(), seen.clone(), login.clone());
                thread::spawn(move || serve(stream, &routes, &seen, login.as_deref()));
            }
        });
        StaticServer { host, requests }
    }

    /// `HOST:PORT`
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `http://HOST:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.host)
    }

    /// Every request target (path and query) received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, routes: &HashMap<String, Vec<u8>>, seen: &Mutex<Vec<String>>, login: Option<&str>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let Ok(Some(head)) = read_head(&mut reader) else {
        return;
    };
    let target = head.target().to_string();
    seen.lock().unwrap().push(target.clone());
    let path = target.split('?').next().unwrap_or("");
    let mut stream = stream;
    let authorized = login.is_none_or(|expected| head.get("authorization") == Some(expected));
    let (status, body) = match routes.get(path) {
        _ if !authorized => ("401 Unauthorized", &b"log in"[..]),
        Some(body) => ("200 OK", body.as_slice()),
        None => ("404 Not Found", &b"not found"[..]),
    };
    let challenge = if authorized {
        ""
    } else {
        "WWW-Authenticate: Basic realm=\"charts\"\r\n"
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\n{challenge}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(body);
}
