//! `TokenRegistry`: a real `docker-registry` configured with `auth: token:` plus `TokenServer`, a small token
//! service in this process that issues the JWTs distribution verifies, the way quay.io and registry.redhat.io work.
//!
//! The flow under test (distribution's "token authentication specification"): the registry answers 401 with
//! `WWW-Authenticate: Bearer realm="http://127.0.0.1:TPORT/token",service="...",scope="repository:NAME:pull,push"`;
//! the client GETs the realm with `service` and `scope` query parameters (and HTTP Basic credentials, if it has
//! some), and sends the returned `token` as `Authorization: Bearer`.
//!
//! The token server:
//! - knows one user/password: with them every requested `repository` scope gets the requested `pull`/`push`
//!   (`pull` only if not `user_can_push`);
//! - refuses wrong credentials with 401 (as distribution's spec asks: "the token server should return a 401");
//! - without credentials issues a token granting `pull` only if `anonymous_pull`, else a token granting nothing
//!   (like Docker Hub: the registry then answers 401 `insufficient_scope`);
//! - answers 400 to a request for another `service`.
//!
//! Tokens are RS256 JWTs whose header carries the signing certificate in `x5c`; that self-signed certificate is the
//! registry's `rootcertbundle` (distribution 2.8 `registry/auth/token/token.go`: `x5c[0]` must verify against the
//! bundle, then its key checks the signature). The RSA key and certificate are made with the `openssl` CLI, and each
//! token is signed by `openssl dgst -sha256 -sign` in a subprocess. Claims: iss, sub, aud (= service), exp, nbf, iat,
//! jti, access.
//!
//! One thread per connection, one request per connection (`Connection: close`). Passwords are never recorded.

use super::http::{self, Head};
use super::registry::{RegistryOptions, TestRegistry};
use base64::Engine as _;
use std::fs;
use std::io::{self, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `service` (JWT audience) the registry and the token server agree on.
pub const TOKEN_SERVICE: &str = "ferry-test-registry";
/// The `iss` the registry trusts.
pub const TOKEN_ISSUER: &str = "ferry-test-token-server";
/// Seconds a token is valid (`exp - iat`, and `expires_in` in the answer).
pub const TOKEN_LIFETIME_SECS: u64 = 300;

/// Who may do what.
#[derive(Clone, Debug)]
pub struct TokenAuthOptions {
    pub user: String,
    pub password: String,
    /// Requests without credentials get `pull` (else a token that grants nothing).
    pub anonymous_pull: bool,
    /// The user gets `push` too (else pull only, like a read-only robot account).
    pub user_can_push: bool,
}

impl TokenAuthOptions {
    pub fn new(user: &str, password: &str) -> Self {
        TokenAuthOptions {
            user: user.into(),
            password: password.into(),
            anonymous_pull: false,
            user_can_push: true,
        }
    }
}

/// One request the token server answered.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// `GET /token?...` with the query percent-decoded.
    pub method: String,
    /// The Basic user sent (right or wrong password), `None` when anonymous. Passwords are never kept.
    pub user: Option<String>,
    /// Whether the Basic credentials (if any) were the right ones.
    pub authenticated: bool,
    /// The `scope` values asked for, e.g. `repository:ns/app:pull,push`.
    pub scopes: Vec<String>,
    /// What the issued token grants, in the same `repository:NAME:ACTIONS` form (empty when nothing was issued).
    pub granted: Vec<String>,
    /// HTTP status answered (200 when a token was issued).
    pub status: u16,
}

impl TokenRequest {
    /// A token was issued that grants `push` on some repository.
    pub fn issued_push(&self) -> bool {
        self.status == 200
            && self
                .granted
                .iter()
                .any(|g| g.rsplit(':').next().unwrap_or("").contains("push"))
    }
}

#[derive(Default)]
struct State {
    requests: Vec<TokenRequest>,
    errors: Vec<String>,
    next_jti: u64,
}

struct Signer {
    key: PathBuf,
    /// Base64 (standard, padded) DER of the signing certificate: the `x5c` entry.
    cert_der_b64: String,
}

struct Ctx {
    options: TokenAuthOptions,
    signer: Signer,
    state: Mutex<State>,
}

/// A running token server on 127.0.0.1:<free port>; stops accepting on Drop.
pub struct TokenServer {
    addr: SocketAddr,
    ctx: Arc<Ctx>,
    dir: tempfile::TempDir,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl TokenServer {
    /// Makes a signing key and certificate, then starts serving `GET /token`.
    pub fn start(options: TokenAuthOptions) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ferry-token-server-")
            .tempdir()
            .expect("token server temp dir");
        let signer = make_signer(dir.path());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind token server");
        let addr = listener.local_addr().unwrap();
        let ctx = Arc::new(Ctx {
            options,
            signer,
            state: Mutex::new(State::default()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (stop_flag, accept_ctx) = (stop.clone(), ctx.clone());
        let accept_thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let ctx = accept_ctx.clone();
                std::thread::spawn(move || {
                    if let Err(e) = ctx.handle(conn) {
                        ctx.state.lock().unwrap().errors.push(format!("connection error: {e}"));
                    }
                });
            }
        });
        TokenServer {
            addr,
            ctx,
            dir,
            stop,
            accept_thread: Some(accept_thread),
        }
    }

    /// "127.0.0.1:PORT" of the token server.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The realm the registry sends clients to: `http://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// PEM of the self-signed signing certificate: the registry's `rootcertbundle`.
    pub fn cert_bundle(&self) -> PathBuf {
        self.dir.path().join("token-signer.crt")
    }

    /// The registry config section that makes distribution trust this server.
    pub fn registry_auth_yaml(&self) -> String {
        format!(
            "auth:\n  token:\n    realm: \"{}\"\n    service: \"{TOKEN_SERVICE}\"\n    issuer: \"{TOKEN_ISSUER}\"\n    \
             rootcertbundle: \"{}\"\n",
            self.realm(),
            self.cert_bundle().display()
        )
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.ctx.state.lock().unwrap().requests.clone()
    }

    /// Tokens issued so far (200 answers).
    pub fn tokens_issued(&self) -> usize {
        self.requests().iter().filter(|r| r.status == 200).count()
    }

    /// Tokens issued so far that grant `push` on some repository.
    pub fn push_tokens_issued(&self) -> usize {
        self.requests().iter().filter(|r| r.issued_push()).count()
    }

    /// Requests refused because of wrong credentials (401 answers).
    pub fn refusals(&self) -> usize {
        self.requests().iter().filter(|r| r.status == 401).count()
    }

    /// One line per request and connection error, for failure messages.
    pub fn describe(&self) -> String {
        let state = self.ctx.state.lock().unwrap();
        let mut lines: Vec<String> = state
            .requests
            .iter()
            .map(|r| {
                format!(
                    "{} user={:?} authenticated={} scopes={:?} -> {} granted={:?}",
                    r.method, r.user, r.authenticated, r.scopes, r.status, r.granted
                )
            })
            .collect();
        lines.extend(state.errors.iter().cloned());
        lines.join("\n")
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- requests of token server {} ---\n{}\n--- end of token server requests ---",
                self.addr,
                self.describe()
            );
        }
    }
}

impl Ctx {
    fn handle(&self, stream: TcpStream) -> io::Result<()> {
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let Some(head) = http::read_head(&mut reader)? else {
            return Ok(());
        };
        http::read_request_body(&mut reader, &head)?;
        let (status, extra, body) = self.answer(&head);
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            _ => "Error",
        };
        let mut response = Head {
            start_line: format!("HTTP/1.1 {status} {reason}"),
            headers: Vec::new(),
        };
        response.set("Content-Type", "application/json");
        response.set("Content-Length", &body.len().to_string());
        for (name, value) in extra {
            response.set(name, &value);
        }
        response.set("Connection", "close");
        let mut w = &stream;
        w.write_all(&response.to_bytes())?;
        w.write_all(body.as_bytes())?;
        w.flush()?;
        let _ = stream.shutdown(Shutdown::Write);
        Ok(())
    }

    /// (status, extra headers, JSON body) for one request; records it.
    fn answer(&self, head: &Head) -> (u16, Vec<(&'static str, String)>, String) {
        let (path, query) = head.target().split_once('?').unwrap_or((head.target(), ""));
        let params: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        let param = |name: &str| -> Vec<String> {
            params
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let scopes: Vec<String> = param("scope")
            .iter()
            .flat_map(|v| v.split(' '))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let (user, authenticated) = match basic_credentials(head) {
            Some((user, password)) => {
                let ok = user == self.options.user && password == self.options.password;
                (Some(user), ok)
            }
            None => (None, false),
        };
        let mut record = TokenRequest {
            method: format!("{} {path}?{}", head.method(), percent_decode(query)),
            user: user.clone(),
            authenticated,
            scopes: scopes.clone(),
            granted: Vec::new(),
            status: 0,
        };
        let error = |code: &str, message: &str| format!(r#"{{"errors":[{{"code":"{code}","message":"{message}"}}]}}"#);
        let (status, extra, body) = if head.method() != "GET" || path != "/token" {
            (404, vec![], error("NOT_FOUND", "only GET /token is served"))
        } else if param("service") != [TOKEN_SERVICE] {
            (400, vec![], error("INVALID_REQUEST", "unknown or missing service"))
        } else if user.is_some() && !authenticated {
            (
                401,
                vec![(
                    "WWW-Authenticate",
                    "Basic realm=\"ferry test token server\"".to_string(),
                )],
                error("UNAUTHORIZED", "invalid username or password"),
            )
        } else {
            let allowed: &[&str] = match (authenticated, self.options.anonymous_pull) {
                (true, _) if self.options.user_can_push => &["pull", "push"],
                (true, _) => &["pull"],
                (false, true) => &["pull"],
                (false, false) => &[],
            };
            let access = grant(&scopes, allowed);
            record.granted = access
                .iter()
                .map(|(name, actions)| format!("repository:{name}:{}", actions.join(",")))
                .collect();
            match self.issue(user.as_deref().unwrap_or(""), &access) {
                Ok(token) => (
                    200,
                    vec![],
                    serde_json::json!({
                        "token": token,
                        "access_token": token,
                        "expires_in": TOKEN_LIFETIME_SECS,
                    })
                    .to_string(),
                ),
                Err(e) => {
                    record.granted.clear();
                    self.state.lock().unwrap().errors.push(format!("signing failed: {e}"));
                    (500, vec![], error("UNKNOWN", "signing failed"))
                }
            }
        };
        record.status = status;
        self.state.lock().unwrap().requests.push(record);
        (status, extra, body)
    }

    /// A signed JWT for `sub` granting `access` (repository name, actions).
    fn issue(&self, subject: &str, access: &[(String, Vec<String>)]) -> Result<String, String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let jti = {
            let mut state = self.state.lock().unwrap();
            state.next_jti += 1;
            format!("ferry-test-{}-{}", state.next_jti, now)
        };
        let header = serde_json::json!({
            "typ": "JWT",
            "alg": "RS256",
            "x5c": [self.signer.cert_der_b64],
        });
        let claims = serde_json::json!({
            "iss": TOKEN_ISSUER,
            "sub": subject,
            "aud": TOKEN_SERVICE,
            "exp": now + TOKEN_LIFETIME_SECS,
            "nbf": now.saturating_sub(5),
            "iat": now,
            "jti": jti,
            "access": access
                .iter()
                .map(|(name, actions)| serde_json::json!({"type": "repository", "name": name, "actions": actions}))
                .collect::<Vec<_>>(),
        });
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let signing_input = format!("{}.{}", b64.encode(header.to_string()), b64.encode(claims.to_string()));
        let signature = openssl_sign(&self.signer.key, signing_input.as_bytes())?;
        Ok(format!("{signing_input}.{}", b64.encode(signature)))
    }
}

/// For each `repository:NAME:ACTIONS` scope, the requested actions that are in `allowed` (scopes of other types, and
/// repositories left with no action, get nothing).
fn grant(scopes: &[String], allowed: &[&str]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for scope in scopes {
        let Some((kind, rest)) = scope.split_once(':') else {
            continue;
        };
        let Some((name, actions)) = rest.rsplit_once(':') else {
            continue;
        };
        if kind != "repository" || name.is_empty() {
            continue;
        }
        let actions: Vec<String> = actions
            .split(',')
            .filter(|a| allowed.contains(a))
            .map(str::to_string)
            .collect();
        if actions.is_empty() {
            continue;
        }
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, existing)) => {
                for action in actions {
                    if !existing.contains(&action) {
                        existing.push(action);
                    }
                }
            }
            None => out.push((name.to_string(), actions)),
        }
    }
    out
}

/// The (user, password) of an `Authorization: Basic` header.
fn basic_credentials(head: &Head) -> Option<(String, String)> {
    let value = head.get("authorization")?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space, `%XX` a byte).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(byte) = hex {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An RSA key and a self-signed certificate for it in `dir` (`token-signer.key`, `token-signer.crt`).
fn make_signer(dir: &Path) -> Signer {
    let key = dir.join("token-signer.key");
    let crt = dir.join("token-signer.crt");
    let der = dir.join("token-signer.der");
    let p = |p: &Path| p.to_str().unwrap().to_string();
    let runs: [Vec<String>; 2] = [
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "3",
            "-subj",
            "/CN=ferry-test-token-signer",
        ]
        .map(String::from)
        .into_iter()
        .chain(["-keyout".into(), p(&key), "-out".into(), p(&crt)])
        .collect(),
        ["x509", "-outform", "DER", "-in"]
            .map(String::from)
            .into_iter()
            .chain([p(&crt), "-out".into(), p(&der)])
            .collect(),
    ];
    for args in runs {
        let out = Command::new("openssl")
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run openssl to make the token signing key: {e}"));
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let cert_der_b64 = base64::engine::general_purpose::STANDARD.encode(fs::read(&der).unwrap());
    Signer { key, cert_der_b64 }
}

/// RSASSA-PKCS1-v1_5 with SHA-256 (JWS `RS256`) of `data` with the PEM key at `key`.
fn openssl_sign(key: &Path, data: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-binary", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(data)
        .map_err(|e| format!("writing to openssl: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("openssl: {e}"))?;
    if !out.status.success() || out.stdout.is_empty() {
        return Err(format!(
            "openssl dgst -sign failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out.stdout)
}

/// A plain-HTTP `docker-registry` that requires Bearer tokens from its own `TokenServer`.
/// Fields drop in order: the registry is killed before the token server stops.
pub struct TokenRegistry {
    pub registry: TestRegistry,
    pub server: TokenServer,
}

impl TokenRegistry {
    /// Pull and push for `user`/`password` only; anonymous clients get tokens that grant nothing.
    pub fn start(user: &str, password: &str) -> Self {
        Self::start_with(TokenAuthOptions::new(user, password))
    }

    pub fn start_with(options: TokenAuthOptions) -> Self {
        let server = TokenServer::start(options);
        let registry = TestRegistry::start_with_config_yaml(RegistryOptions::default(), &server.registry_auth_yaml());
        TokenRegistry { registry, server }
    }

    /// "127.0.0.1:PORT" of the registry.
    pub fn host(&self) -> String {
        self.registry.host()
    }

    /// `docker://127.0.0.1:PORT/<repo_ref>`.
    pub fn docker_ref(&self, repo_ref: &str) -> String {
        self.registry.docker_ref(repo_ref)
    }

    /// The (user, password) the token server accepts.
    pub fn credentials(&self) -> (&str, &str) {
        let options = &self.server.ctx.options;
        (options.user.as_str(), options.password.as_str())
    }

    pub fn tokens_issued(&self) -> usize {
        self.server.tokens_issued()
    }

    pub fn push_tokens_issued(&self) -> usize {
        self.server.push_tokens_issued()
    }

    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.server.requests()
    }

    /// The registry's log (token verification failures are logged at info level).
    pub fn log(&self) -> String {
        self.registry.log()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_granted_per_repository_within_what_is_allowed() {
        let scopes = vec![
            "repository:ns/app:pull,push".to_string(),
            "repository:other/app:pull".to_string(),
            "registry:catalog:*".to_string(),
            "repository:ns/app:delete".to_string(),
        ];
        assert_eq!(
            grant(&scopes, &["pull", "push"]),
            vec![
                ("ns/app".to_string(), vec!["pull".to_string(), "push".to_string()]),
                ("other/app".to_string(), vec!["pull".to_string()]),
            ]
        );
        assert_eq!(
            grant(&scopes[..1], &["pull"]),
            vec![("ns/app".to_string(), vec!["pull".to_string()])]
        );
        assert!(grant(&scopes, &[]).is_empty());
    }

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(
            percent_decode("repository%3Ans%2Fapp%3Apull%2Cpush"),
            "repository:ns/app:pull,push"
        );
        assert_eq!(percent_decode("a+b%2"), "a b%2");
    }
}
