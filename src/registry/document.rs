//! Documents fetched over plain HTTP(S) beside registries: update graphs, release signatures. The same TLS choice,
//! proxy from the environment and retry policy as registry calls; a body cut short, a reset or a retryable status
//! is retried within `--retry-times`. Bodies are small and bounded: they are read whole.

use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;

use super::client::error_chain;
use super::retry::{is_retryable_error, is_retryable_status, retry_after, RetryPolicy};
use crate::auth::Credential;

/// Documents bigger than this are refused (update graphs are a few MB, signatures a few KB).
const DOCUMENT_LIMIT: usize = 64 << 20;

/// Why a document could not be fetched.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DocumentError {
    #[error("GET {url}: {detail}\n  help: check the URL and that this machine can reach it (proxy settings come from HTTPS_PROXY / NO_PROXY)")]
    Unreachable { url: String, detail: String },
    #[error("GET {url}: the server answered {status}")]
    Status { url: String, status: StatusCode },
    #[error("GET {url}: the server answered {status}\n  help: add credentials for {host} to the auth file ferry reads (`podman login {host}`, or --authfile); {}", if *.sent { "the ones found were refused" } else { "none were found" })]
    Unauthorized {
        url: String,
        host: String,
        status: StatusCode,
        sent: bool,
    },
    #[error("GET {url}: the document is larger than {} MiB", DOCUMENT_LIMIT >> 20)]
    TooLarge { url: String },
}

/// An HTTP client for documents.
#[derive(Clone)]
pub(crate) struct DocumentClient {
    http: reqwest::Client,
    retry: RetryPolicy,
}

impl DocumentClient {
    /// `tls_verify` false accepts any certificate (as `--src-tls-verify=false`).
    pub(crate) fn new(tls_verify: bool, retry: RetryPolicy) -> Result<DocumentClient, DocumentError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(!tls_verify)
            .connect_timeout(Duration::from_secs(15))
            .read_timeout(Duration::from_secs(120))
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DocumentError::Unreachable {
                url: "-".into(),
                detail: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(DocumentClient { http, retry })
    }

    /// GET `url` with `accept`, retrying transient failures; `on_retry` hears each retry (attempt, cause).
    pub(crate) async fn get(
        &self,
        url: &str,
        accept: &str,
        on_retry: &(dyn Fn(u32, &str) + Sync),
    ) -> Result<Bytes, DocumentError> {
        self.get_as(url, accept, None, on_retry).await
    }

    /// [`get`](Self::get), sending `credential` (Basic) when there is one: chart repositories behind a login.
    pub(crate) async fn get_as(
        &self,
        url: &str,
        accept: &str,
        credential: Option<&Credential>,
        on_retry: &(dyn Fn(u32, &str) + Sync),
    ) -> Result<Bytes, DocumentError> {
        let mut attempt = 0;
        loop {
            let (error, wait) = match self.attempt(url, accept, credential).await {
                Ok(body) => return Ok(body),
                Err(Attempt::Final(error)) => return Err(error),
                Err(Attempt::Transient(error, server_wait)) => (error, server_wait),
            };
            attempt += 1;
            if attempt > self.retry.times {
                return Err(error);
            }
            on_retry(attempt, &error.to_string());
            tokio::time::sleep(self.retry.backoff(attempt, wait)).await;
        }
    }

    async fn attempt(&self, url: &str, accept: &str, credential: Option<&Credential>) -> Result<Bytes, Attempt> {
        let unreachable = |e: reqwest::Error| DocumentError::Unreachable {
            url: url.to_string(),
            detail: error_chain(&e),
        };
        let mut request = self.http.get(url).header(reqwest::header::ACCEPT, accept);
        if let Some(Credential::Basic { username, password }) = credential {
            request = request.basic_auth(username, Some(password));
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) if is_retryable_error(&e) => return Err(Attempt::Transient(unreachable(e), None)),
            Err(e) => return Err(Attempt::Final(unreachable(e))),
        };
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(Attempt::Final(DocumentError::Unauthorized {
                url: url.to_string(),
                host: authority(response.url()),
                status,
                sent: credential.is_some(),
            }));
        }
        if !status.is_success() {
            let error = DocumentError::Status {
                url: url.to_string(),
                status,
            };
            return Err(if is_retryable_status(status) {
                Attempt::Transient(error, retry_after(response.headers()))
            } else {
                Attempt::Final(error)
            });
        }
        if response.content_length().is_some_and(|n| n > DOCUMENT_LIMIT as u64) {
            return Err(Attempt::Final(DocumentError::TooLarge { url: url.to_string() }));
        }
        // A body cut short (fewer bytes than Content-Length, a reset) fails here and is retried.
        match response.bytes().await {
            Ok(body) if body.len() > DOCUMENT_LIMIT => {
                Err(Attempt::Final(DocumentError::TooLarge { url: url.to_string() }))
            }
            Ok(body) => Ok(body),
            Err(e) => Err(Attempt::Transient(unreachable(e), None)),
        }
    }
}

/// `host[:port]`, as auth files key credentials.
fn authority(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

enum Attempt {
    Transient(DocumentError, Option<Duration>),
    Final(DocumentError),
}
