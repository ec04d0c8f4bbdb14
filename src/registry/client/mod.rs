//! The registry client: the only code that speaks HTTP to registries. Scheme detection, authentication
//! (anonymous, Basic, Bearer tokens), retries, a concurrency limit per host, and the distribution API calls ferry uses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response, StatusCode};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

mod session;

use super::challenge::{self, Challenge, TokenResponse};
use super::error::RegistryError;
use super::retry::{self, RetryPolicy};
use crate::auth::{Credential, CredentialStore};
use crate::events::{Event, Reporter};
use crate::image::manifest::RawManifest;
use crate::image::media_type::MANIFEST_ACCEPT;
use crate::image::Digest;
use crate::reference::registry_api_host;
use crate::sync::Locked;

/// Manifests larger than this are refused (the distribution spec's limit is 4 MiB).
const MANIFEST_LIMIT: usize = 8 * 1024 * 1024;
const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";

/// How to talk to a set of registries (the source side or the destination side of a run).
#[derive(Debug, Clone)]
pub(crate) struct ClientOptions {
    /// false: accept any certificate and fall back to plain HTTP.
    pub tls_verify: bool,
    pub retry: RetryPolicy,
    /// Requests in flight to one host at a time.
    pub max_requests_per_host: usize,
    pub connect_timeout: Duration,
    /// Hears every retry, whatever the request, so progress can say why a run is slow.
    pub observer: RetryObserver,
}

/// Who is told about retries: a run's reporter (none in library use).
#[derive(Clone, Default)]
pub(crate) struct RetryObserver(Option<Arc<dyn Reporter>>);

impl RetryObserver {
    pub(crate) fn new(reporter: Arc<dyn Reporter>) -> RetryObserver {
        RetryObserver(Some(reporter))
    }

    /// Retry number `attempt` of `what` is about to happen, after `error`.
    pub(super) fn retrying(&self, what: &str, attempt: u32, error: &str) {
        if let Some(reporter) = &self.0 {
            reporter.event(Event::Retrying {
                what: what.to_string(),
                attempt,
                error: error.to_string(),
            });
        }
    }
}

impl std::fmt::Debug for RetryObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "RetryObserver(reporter)"
        } else {
            "RetryObserver(none)"
        })
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            tls_verify: true,
            retry: RetryPolicy::default(),
            max_requests_per_host: 32,
            connect_timeout: Duration::from_secs(15),
            observer: RetryObserver::default(),
        }
    }
}

/// A repository in a registry: `registry` as written by users (`docker.io`, `host:5000`), `path` inside it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Repo<'a> {
    pub registry: &'a str,
    pub path: &'a str,
}

impl Repo<'_> {
    fn name(&self) -> String {
        format!("{}/{}", self.registry, self.path)
    }

    /// `registry/repo:tag` or `registry/repo@sha256:...`, for messages.
    fn image(&self, selector: &str) -> String {
        let separator = if selector.contains(':') { '@' } else { ':' };
        format!("{}{separator}{selector}", self.name())
    }
}

/// Access a request needs, as a token scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Pull,
    Push,
    Delete,
}

#[derive(Debug, Clone)]
enum AuthScheme {
    Anonymous,
    Basic,
    Bearer { realm: String, service: Option<String> },
}

struct HostState {
    api_host: String,
    base_url: OnceCell<String>,
    permits: Arc<Semaphore>,
    scheme: Mutex<Option<AuthScheme>>,
    /// Bearer tokens per scope set, with the instant after which they are fetched anew.
    tokens: Mutex<HashMap<String, (String, Instant)>>,
    token_fetch: tokio::sync::Mutex<()>,
}

impl HostState {
    /// A cached bearer token for these scopes that is not about to expire.
    fn usable_token(&self, key: &str) -> Option<String> {
        let tokens = self.tokens.locked();
        tokens
            .get(key)
            .filter(|(_, refresh_at)| Instant::now() < *refresh_at)
            .map(|(token, _)| token.clone())
    }
}

/// A streaming blob download; holds its host's concurrency permit until dropped.
pub(crate) struct BlobDownload {
    pub size: Option<u64>,
    pub stream: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>,
    _permit: OwnedSemaphorePermit,
}

impl BlobDownload {
    /// The chunks as an I/O stream that keeps the host permit until it ends.
    pub(crate) fn into_stream(self) -> std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>> {
        let permit = self._permit;
        Box::pin(self.stream.map(move |chunk| {
            let _held = &permit;
            chunk.map_err(std::io::Error::other)
        }))
    }
}

/// Whether a cross-repository mount happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MountOutcome {
    Mounted,
    Declined,
}

pub(crate) struct RegistryClient {
    http: reqwest::Client,
    options: ClientOptions,
    credentials: Arc<CredentialStore>,
    hosts: Mutex<HashMap<String, Arc<HostState>>>,
}

impl RegistryClient {
    pub(crate) fn new(
        options: ClientOptions,
        credentials: Arc<CredentialStore>,
    ) -> Result<RegistryClient, RegistryError> {
        // The process-wide TLS crypto provider; a second client finds it installed already, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(!options.tls_verify)
            .connect_timeout(options.connect_timeout)
            .read_timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(options.max_requests_per_host)
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError::Protocol {
                host: "-".into(),
                detail: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(RegistryClient {
            http,
            options,
            credentials,
            hosts: Mutex::new(HashMap::new()),
        })
    }

    // ----- the distribution API -----

    /// Contacts a registry once (`GET /v2/`): fails fast with a clear message when it cannot be reached.
    pub(crate) async fn check(&self, registry: &str) -> Result<(), RegistryError> {
        self.base_url(&self.host(registry)).await.map(|_| ())
    }

    /// GET a manifest by tag or digest, byte for byte. A digest request is verified against the body.
    /// A body cut short, or one that does not match the digest asked for, is fetched again within the retry budget.
    pub(crate) async fn get_manifest(&self, repo: Repo<'_>, selector: &str) -> Result<RawManifest, RegistryError> {
        let mut attempt = 0u32;
        loop {
            let error = match self.get_manifest_once(repo, selector).await {
                Err(error @ (RegistryError::BodyCut { .. } | RegistryError::DigestMismatch { .. })) => error,
                other => return other,
            };
            attempt += 1;
            if attempt > self.options.retry.times {
                return Err(RegistryError::RetriesExhausted {
                    host: repo.registry.to_string(),
                    operation: format!("GET manifest {}", repo.image(selector)),
                    attempts: attempt,
                    last: error.to_string(),
                });
            }
            let operation = format!("GET manifest {}", repo.image(selector));
            self.options.observer.retrying(&operation, attempt, &error.to_string());
            tokio::time::sleep(self.options.retry.backoff(attempt, None)).await;
        }
    }

    async fn get_manifest_once(&self, repo: Repo<'_>, selector: &str) -> Result<RawManifest, RegistryError> {
        let path = format!("/v2/{}/manifests/{selector}", repo.path);
        let operation = format!("GET manifest {}", repo.image(selector));
        let response = self
            .execute(repo, &[(repo.path, Access::Pull)], &operation, |http, base| {
                http.get(format!("{base}{path}")).header(ACCEPT, MANIFEST_ACCEPT)
            })
            .await?;
        let response = self
            .expect_success(
                repo,
                &operation,
                response,
                &format!("manifest {}", repo.image(selector)),
            )
            .await?;
        let declared = header_str(response.headers(), CONTENT_TYPE.as_str());
        let bytes = read_limited(repo.registry, &operation, response).await?;
        let manifest = RawManifest::new(bytes, declared.as_deref())?;
        if let Ok(expected) = selector.parse::<Digest>() {
            if manifest.digest != expected {
                return Err(RegistryError::DigestMismatch {
                    host: repo.registry.to_string(),
                    expected,
                    bytes: manifest.size(),
                    actual: manifest.digest,
                });
            }
        }
        Ok(manifest)
    }

    /// HEAD a manifest: its digest when it exists.
    pub(crate) async fn manifest_digest(
        &self,
        repo: Repo<'_>,
        selector: &str,
    ) -> Result<Option<Digest>, RegistryError> {
        Ok(self.manifest_head(repo, selector).await?.and_then(|head| head.digest))
    }

    /// HEAD a manifest: its digest and media type when it exists.
    pub(crate) async fn manifest_head(
        &self,
        repo: Repo<'_>,
        selector: &str,
    ) -> Result<Option<ManifestHead>, RegistryError> {
        let path = format!("/v2/{}/manifests/{selector}", repo.path);
        let operation = format!("HEAD manifest {}", repo.image(selector));
        let response = self
            .execute(repo, &[(repo.path, Access::Pull)], &operation, |http, base| {
                http.head(format!("{base}{path}")).header(ACCEPT, MANIFEST_ACCEPT)
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = self.expect_success(repo, &operation, response, "manifest").await?;
        Ok(Some(ManifestHead {
            digest: header_str(response.headers(), DOCKER_CONTENT_DIGEST).and_then(|d| d.parse().ok()),
            media_type: header_str(response.headers(), CONTENT_TYPE.as_str()),
        }))
    }

    /// PUT a manifest's exact bytes under a tag or its digest.
    pub(crate) async fn put_manifest(
        &self,
        repo: Repo<'_>,
        selector: &str,
        manifest: &RawManifest,
    ) -> Result<(), RegistryError> {
        let path = format!("/v2/{}/manifests/{selector}", repo.path);
        let operation = format!("PUT manifest {}", repo.image(selector));
        let response = self
            .execute(repo, &[(repo.path, Access::Push)], &operation, |http, base| {
                http.put(format!("{base}{path}"))
                    .header(CONTENT_TYPE, manifest.media_type())
                    .body(manifest.bytes.clone())
            })
            .await?;
        self.expect_success(repo, &operation, response, "manifest").await?;
        Ok(())
    }

    /// Whether the repository holds any tag (`GET /v2/<repo>/tags/list?n=1`); an unknown repository holds none.
    pub(crate) async fn repository_has_tags(&self, repo: Repo<'_>) -> Result<bool, RegistryError> {
        #[derive(serde::Deserialize)]
        struct Tags {
            tags: Option<Vec<String>>,
        }
        let path = format!("/v2/{}/tags/list?n=1", repo.path);
        let operation = format!("GET tags of {}", repo.name());
        let response = self
            .execute(repo, &[(repo.path, Access::Pull)], &operation, |http, base| {
                http.get(format!("{base}{path}"))
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        let response = self.expect_success(repo, &operation, response, "tag list").await?;
        let body = read_limited(repo.registry, &operation, response).await?;
        let tags: Tags = serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol {
            host: repo.registry.into(),
            detail: format!("{operation}: {e}"),
        })?;
        Ok(tags.tags.is_some_and(|t| !t.is_empty()))
    }

    /// Every tag of a repository, following `Link` pages; an unknown repository has none.
    pub(crate) async fn list_tags(&self, repo: Repo<'_>) -> Result<Vec<String>, RegistryError> {
        #[derive(serde::Deserialize)]
        struct Tags {
            tags: Option<Vec<String>>,
        }
        let mut tags = Vec::new();
        let mut next = Some(format!("/v2/{}/tags/list?n=1000", repo.path));
        let operation = format!("GET tags of {}", repo.name());
        while let Some(path) = next.take() {
            let response = self
                .execute(repo, &[(repo.path, Access::Pull)], &operation, |http, base| {
                    http.get(format!("{base}{path}"))
                })
                .await?;
            if response.status() == StatusCode::NOT_FOUND {
                break;
            }
            let response = self.expect_success(repo, &operation, response, "tag list").await?;
            next = header_str(response.headers(), "link").and_then(|link| next_page(&link));
            let body = read_limited(repo.registry, &operation, response).await?;
            let page: Tags = serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol {
                host: repo.registry.into(),
                detail: format!("{operation}: {e}"),
            })?;
            tags.extend(page.tags.unwrap_or_default());
        }
        Ok(tags)
    }

    /// The referrers of `digest` from the OCI 1.1 referrers API (an image index of descriptors); `None` when the
    /// registry does not serve the API (404), as registries before OCI 1.1 do.
    pub(crate) async fn referrers(
        &self,
        repo: Repo<'_>,
        digest: &Digest,
    ) -> Result<Option<RawManifest>, RegistryError> {
        let path = format!("/v2/{}/referrers/{digest}", repo.path);
        let operation = format!("GET referrers of {}", repo.image(digest.as_str()));
        let response = self
            .execute(repo, &[(repo.path, Access::Pull)], &operation, |http, base| {
                http.get(format!("{base}{path}"))
                    .header(ACCEPT, crate::image::media_type::OCI_INDEX)
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = self.expect_success(repo, &operation, response, "referrers").await?;
        let bytes = read_limited(repo.registry, &operation, response).await?;
        Ok(Some(RawManifest::new(
            bytes,
            Some(crate::image::media_type::OCI_INDEX),
        )?))
    }

    /// DELETE a manifest by digest (every tag that points at it goes with it). A manifest already gone is not an
    /// error; a registry that does not allow deletes says so, with the setting that allows them.
    pub(crate) async fn delete_manifest(&self, repo: Repo<'_>, digest: &Digest) -> Result<Deleted, RegistryError> {
        let path = format!("/v2/{}/manifests/{digest}", repo.path);
        let operation = format!("DELETE manifest {}", repo.image(digest.as_str()));
        let response = self
            .execute(repo, &[(repo.path, Access::Delete)], &operation, |http, base| {
                http.delete(format!("{base}{path}"))
            })
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(Deleted::AlreadyGone),
            StatusCode::METHOD_NOT_ALLOWED => Err(RegistryError::DeletesDisabled {
                host: repo.registry.to_string(),
            }),
            _ => {
                self.expect_success(repo, &operation, response, "manifest").await?;
                Ok(Deleted::Deleted)
            }
        }
    }

    /// HEAD a blob.
    pub(crate) async fn blob_exists(&self, repo: Repo<'_>, digest: &Digest) -> Result<bool, RegistryError> {
        let path = format!("/v2/{}/blobs/{digest}", repo.path);
        let operation = format!("HEAD blob {digest} in {}", repo.name());
        let response = self
            .execute(repo, &[(repo.path, Access::Pull)], &operation, |http, base| {
                http.head(format!("{base}{path}"))
            })
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(false),
            _ => self
                .expect_success(repo, &operation, response, "blob")
                .await
                .map(|_| true),
        }
    }

    /// GET a blob as a stream. The caller verifies the digest while consuming it.
    pub(crate) async fn get_blob(&self, repo: Repo<'_>, digest: &Digest) -> Result<BlobDownload, RegistryError> {
        let path = format!("/v2/{}/blobs/{digest}", repo.path);
        let operation = format!("GET blob {digest} from {}", repo.name());
        let state = self.host(repo.registry);
        let response = self
            .execute(repo, &[(repo.path, Access::Pull)], &operation, |http, base| {
                http.get(format!("{base}{path}"))
            })
            .await?;
        let response = self
            .expect_success(repo, &operation, response, &format!("blob {digest} in {}", repo.name()))
            .await?;
        let permit = state
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| closed(repo.registry))?;
        Ok(BlobDownload {
            size: response.content_length(),
            stream: Box::pin(response.bytes_stream()),
            _permit: permit,
        })
    }

    /// Tries a cross-repository mount of `digest` from `from` into `repo`.
    pub(crate) async fn mount_blob(
        &self,
        repo: Repo<'_>,
        digest: &Digest,
        from: &str,
    ) -> Result<MountOutcome, RegistryError> {
        let path = format!("/v2/{}/blobs/uploads/?mount={digest}&from={from}", repo.path);
        let operation = format!("mount blob {digest} into {}", repo.name());
        let response = self
            .execute(
                repo,
                &[(repo.path, Access::Push), (from, Access::Pull)],
                &operation,
                |http, base| http.post(format!("{base}{path}")).header(CONTENT_LENGTH, 0),
            )
            .await?;
        match response.status() {
            StatusCode::CREATED => Ok(MountOutcome::Mounted),
            StatusCode::ACCEPTED => {
                self.cancel_upload(repo, response.headers()).await;
                Ok(MountOutcome::Declined)
            }
            _ => {
                self.expect_success(repo, &operation, response, "blob mount").await?;
                Ok(MountOutcome::Declined)
            }
        }
    }

    /// Uploads a blob from a stream in one PUT. Not retried here: a stream cannot be replayed, so the caller
    /// retries the whole copy with a fresh source stream.
    pub(crate) async fn upload_blob<S>(
        &self,
        repo: Repo<'_>,
        digest: &Digest,
        size: u64,
        body: S,
    ) -> Result<(), RegistryError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let operation = format!("upload blob {digest} to {}", repo.name());
        let location = self.start_upload(repo, &operation).await?;
        let mut url = reqwest::Url::parse(&location).map_err(|e| RegistryError::Protocol {
            host: repo.registry.into(),
            detail: format!("bad upload location: {e}"),
        })?;
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let state = self.host(repo.registry);
        let permit = state
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| closed(repo.registry))?;
        let mut request = self
            .http
            .put(url)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, size)
            .body(reqwest::Body::wrap_stream(body));
        if let Some(header) = self.authorization(&state, repo, &[(repo.path, Access::Push)]).await? {
            request = request.header(AUTHORIZATION, header);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(repo.registry, &operation, &e))?;
        drop(permit);
        self.expect_success(repo, &operation, response, "blob upload").await?;
        Ok(())
    }

    async fn start_upload(&self, repo: Repo<'_>, operation: &str) -> Result<String, RegistryError> {
        let path = format!("/v2/{}/blobs/uploads/", repo.path);
        let response = self
            .execute(repo, &[(repo.path, Access::Push)], operation, |http, base| {
                http.post(format!("{base}{path}")).header(CONTENT_LENGTH, 0)
            })
            .await?;
        let response = self.expect_success(repo, operation, response, "blob upload").await?;
        let location = header_str(response.headers(), LOCATION.as_str()).ok_or_else(|| RegistryError::Protocol {
            host: repo.registry.into(),
            detail: "upload started without a Location".into(),
        })?;
        self.absolute_url(repo.registry, &location).await
    }

    async fn cancel_upload(&self, repo: Repo<'_>, headers: &HeaderMap) {
        if let Some(location) = header_str(headers, LOCATION.as_str()) {
            if let Ok(url) = self.absolute_url(repo.registry, &location).await {
                let state = self.host(repo.registry);
                let mut request = self.http.delete(url);
                if let Ok(Some(header)) = self.authorization(&state, repo, &[(repo.path, Access::Push)]).await {
                    request = request.header(AUTHORIZATION, header);
                }
                let _ = request.send().await;
            }
        }
    }

    async fn absolute_url(&self, registry: &str, location: &str) -> Result<String, RegistryError> {
        if location.starts_with("http://") || location.starts_with("https://") {
            return Ok(location.to_string());
        }
        let base = self.base_url(&self.host(registry)).await?;
        Ok(format!("{base}{location}"))
    }
}

/// What a HEAD of a manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManifestHead {
    pub digest: Option<Digest>,
    pub media_type: Option<String>,
}

/// What a DELETE did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deleted {
    Deleted,
    /// The registry no longer had it.
    AlreadyGone,
}

/// The next page of a paged listing: the target of a `Link: <...>; rel="next"` header.
fn next_page(link: &str) -> Option<String> {
    link.split(',')
        .find(|part| part.contains("rel=\"next\"") || part.contains("rel=next"))
        .and_then(|part| Some(part[part.find('<')? + 1..part.find('>')?].to_string()))
}

fn scope_key(scopes: &[(&str, Access)]) -> String {
    scopes
        .iter()
        .map(|(path, access)| format!("{path}:{access:?}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A Bearer challenge saying the token was valid but lacked the access asked for (RFC 6750 `insufficient_scope`).
fn is_insufficient_scope(headers: &HeaderMap) -> bool {
    header_str(headers, WWW_AUTHENTICATE.as_str()).is_some_and(|h| h.contains("insufficient_scope"))
}

fn basic_header(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
    )
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

async fn read_limited(host: &str, operation: &str, response: Response) -> Result<Bytes, RegistryError> {
    if response.content_length().is_some_and(|l| l as usize > MANIFEST_LIMIT) {
        return Err(RegistryError::ManifestTooLarge {
            host: host.into(),
            what: operation.into(),
            limit: MANIFEST_LIMIT,
        });
    }
    let mut stream = response.bytes_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| RegistryError::BodyCut {
            host: host.into(),
            operation: operation.into(),
            detail: error_chain(&e),
        })?;
        if body.len() + chunk.len() > MANIFEST_LIMIT {
            return Err(RegistryError::ManifestTooLarge {
                host: host.into(),
                what: operation.into(),
                limit: MANIFEST_LIMIT,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// `{"errors":[{"code":..,"message":..}]}` per the distribution spec.
fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        code: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_slice::<Errors>(body) {
        Ok(parsed) => parsed
            .errors
            .into_iter()
            .next()
            .map(|e| (e.code, e.message))
            .unwrap_or((None, None)),
        Err(_) => (None, None),
    }
}

fn transport_error(host: &str, operation: &str, error: &reqwest::Error) -> RegistryError {
    if error.is_connect() && !is_reset(error) {
        unreachable(host, error)
    } else {
        RegistryError::Protocol {
            host: host.into(),
            detail: format!("{operation}: {}", error_chain(error)),
        }
    }
}

fn unreachable(host: &str, error: &reqwest::Error) -> RegistryError {
    RegistryError::Unreachable {
        host: host.into(),
        detail: error_chain(error),
        tls: is_tls_failure(error),
    }
}

/// Whether a request failed in the TLS handshake: some cause in the chain is a rustls error, or I/O errors that
/// carry one.
fn is_tls_failure(error: &reqwest::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if carries_rustls_error(current) {
            return true;
        }
        cause = current.source();
    }
    false
}

fn carries_rustls_error(error: &(dyn std::error::Error + 'static)) -> bool {
    if error.is::<rustls::Error>() {
        return true;
    }
    match error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
        Some(inner) => carries_rustls_error(inner),
        None => false,
    }
}

fn closed(host: &str) -> RegistryError {
    RegistryError::Protocol {
        host: host.into(),
        detail: "client is shutting down".into(),
    }
}

/// A reset or an early close after the request was sent (retryable, unlike a refused connection).
fn is_reset(error: &reqwest::Error) -> bool {
    let chain = error_chain(error).to_ascii_lowercase();
    chain.contains("reset")
        || chain.contains("connection closed")
        || chain.contains("incomplete message")
        || chain.contains("broken pipe")
}

/// The error with its causes, without the URL's query (which may carry upload state).
pub(super) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_read() {
        let (code, message) =
            parse_error_body(br#"{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}"#);
        assert_eq!(code.as_deref(), Some("MANIFEST_BLOB_UNKNOWN"));
        assert_eq!(message.as_deref(), Some("blob unknown to registry"));
        assert_eq!(parse_error_body(b"<html>"), (None, None));
    }

    #[tokio::test]
    async fn tls_failures_are_told_from_other_connection_failures() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().build().unwrap();
        let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let plain_port = plain.local_addr().unwrap().port();
        tokio::spawn(async move {
            if let Ok((mut socket, _)) = plain.accept().await {
                let answer = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
                let _ = tokio::io::AsyncWriteExt::write_all(&mut socket, answer).await;
            }
        });
        let error = http
            .get(format!("https://127.0.0.1:{plain_port}/v2/"))
            .send()
            .await
            .unwrap_err();
        assert!(is_tls_failure(&error), "{}", error_chain(&error));

        let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let error = http
            .get(format!("https://127.0.0.1:{closed_port}/v2/"))
            .send()
            .await
            .unwrap_err();
        assert!(!is_tls_failure(&error), "{}", error_chain(&error));
    }

    #[test]
    fn basic_header_encodes_user_and_password() {
        assert_eq!(basic_header("u", "p:w"), "Basic dTpwOnc=");
    }
}
