//! Docker credential helpers (`docker-credential-<name> get`): finding the program, running it with a time limit,
//! and parsing its answer. Results are cached per (helper, server) by the store that owns a [`HelperRunner`].

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{AuthError, Credential};

/// The answer docker-credential-helpers give when they hold nothing for a server.
const NOT_FOUND: &str = "credentials not found";
/// A helper may wait for a keyring to unlock; past this it is considered hung.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// Runs credential helpers found on a search path (the process `PATH` unless tests inject one).
pub(crate) struct HelperRunner {
    search_path: Option<OsString>,
    cache: Mutex<HashMap<(String, String), Option<Credential>>>,
}

impl Clone for HelperRunner {
    fn clone(&self) -> Self {
        let cache = self.cache.lock().map(|c| c.clone()).unwrap_or_default();
        HelperRunner {
            search_path: self.search_path.clone(),
            cache: Mutex::new(cache),
        }
    }
}

impl HelperRunner {
    pub(crate) fn new(search_path: Option<OsString>) -> Self {
        HelperRunner {
            search_path,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Asks `helper` for `server`'s credential; `Ok(None)` when the helper has none. Answers are cached.
    pub(crate) fn get(
        &self,
        helper: &str,
        server: &str,
        configured_in: &Path,
    ) -> Result<Option<Credential>, AuthError> {
        let key = (helper.to_string(), server.to_string());
        if let Some(answer) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(answer);
        }
        let answer = self.run(helper, server, configured_in)?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, answer.clone());
        }
        Ok(answer)
    }

    fn find_program(&self, program: &str) -> Option<PathBuf> {
        let path = self.search_path.clone().or_else(|| std::env::var_os("PATH"))?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    }

    fn run(&self, helper: &str, server: &str, configured_in: &Path) -> Result<Option<Credential>, AuthError> {
        let program = format!("docker-credential-{helper}");
        let failed = |detail: String| AuthError::HelperFailed {
            helper: helper.to_string(),
            server: server.to_string(),
            detail,
        };
        let executable = self.find_program(&program).ok_or_else(|| AuthError::HelperNotFound {
            helper: helper.to_string(),
            server: server.to_string(),
            path: configured_in.to_path_buf(),
        })?;

        let mut child =
            spawn(&executable).map_err(|e| failed(format!("could not start {}: {e}", executable.display())))?;
        // The protocol: the server URL on stdin, then end of input.
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading its input is judged by its exit status below.
            let _ = stdin.write_all(server.as_bytes());
        }
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());

        let deadline = Instant::now() + TIME_LIMIT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(failed(format!(
                        "it did not answer within {} seconds",
                        TIME_LIMIT.as_secs()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(failed(format!("waiting for it failed: {e}"))),
            }
        };
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();

        if !status.success() {
            let out = String::from_utf8_lossy(&stdout);
            let err = String::from_utf8_lossy(&stderr);
            if out.contains(NOT_FOUND) || err.contains(NOT_FOUND) {
                return Ok(None);
            }
            return Err(failed(format!("it exited with {status}{}", summary(&err, &out))));
        }
        parse_answer(&stdout).ok_or_else(|| AuthError::HelperBadOutput {
            helper: helper.to_string(),
            server: server.to_string(),
        })
    }
}

fn spawn(executable: &Path) -> std::io::Result<std::process::Child> {
    let mut attempt = 0;
    loop {
        let result = Command::new(executable)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        match result {
            // ETXTBSY: a just-written helper is still open for writing in a child forked meanwhile; it passes.
            Err(e) if e.raw_os_error() == Some(26) && attempt < 20 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(25));
            }
            other => return other,
        }
    }
}

/// Reads a pipe to its end on a thread, so that a chatty helper cannot block on a full pipe.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

/// The first line a failing helper printed, bounded; dropped if it looks like a credential answer.
fn summary(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() { stdout } else { stderr };
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.is_empty() || line.contains("Secret") {
        return String::new();
    }
    let bounded: String = line.chars().take(200).collect();
    format!(": {bounded}")
}

/// `{"ServerURL": ..., "Username": ..., "Secret": ...}`; Username `<token>` marks an identity token.
fn parse_answer(stdout: &[u8]) -> Option<Option<Credential>> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let answer: Answer = serde_json::from_slice(stdout).ok()?;
    Some(match (answer.username.as_str(), answer.secret) {
        (_, secret) if secret.is_empty() && answer.username.is_empty() => None,
        ("<token>", secret) => Some(Credential::IdentityToken(secret)),
        (_, secret) => Some(Credential::Basic {
            username: answer.username,
            password: secret,
        }),
    })
}
