//! The session side of the registry client: per-host state (scheme, credentials, tokens, a concurrency limit),
//! authentication (Basic and Bearer, tokens per scope) and sending requests with retries.

use super::*;
use crate::sync::Locked;

impl RegistryClient {
    pub(super) fn host(&self, registry: &str) -> Arc<HostState> {
        let mut hosts = self.hosts.locked();
        hosts
            .entry(registry.to_string())
            .or_insert_with(|| {
                Arc::new(HostState {
                    api_host: registry_api_host(registry).to_string(),
                    base_url: OnceCell::new(),
                    permits: Arc::new(Semaphore::new(self.options.max_requests_per_host.max(1))),
                    scheme: Mutex::new(None),
                    tokens: Mutex::new(HashMap::new()),
                    token_fetch: tokio::sync::Mutex::new(()),
                })
            })
            .clone()
    }

    /// `https://host` or, when TLS verification is off and the host does not speak TLS, `http://host`.
    /// The first contact (`GET /v2/`) also learns the authentication scheme.
    pub(super) async fn base_url(&self, state: &HostState) -> Result<String, RegistryError> {
        state
            .base_url
            .get_or_try_init(|| async {
                let https = format!("https://{}", state.api_host);
                match self.ping(state, &https).await {
                    Ok(()) => Ok(https),
                    Err(e) if self.options.tls_verify => Err(e),
                    Err(_) => {
                        let http = format!("http://{}", state.api_host);
                        self.ping(state, &http).await.map(|()| http)
                    }
                }
            })
            .await
            .cloned()
    }

    pub(super) async fn ping(&self, state: &HostState, base: &str) -> Result<(), RegistryError> {
        let operation = "GET /v2/";
        let mut attempt = 0;
        loop {
            let outcome = self.http.get(format!("{base}/v2/")).send().await;
            let retry_wait = match outcome {
                Ok(response) if retry::is_retryable_status(response.status()) => {
                    retry::retry_after(response.headers()).or(Some(Duration::ZERO))
                }
                Ok(response) => {
                    if response.status() == StatusCode::UNAUTHORIZED {
                        if let Some(found) =
                            header_str(response.headers(), WWW_AUTHENTICATE.as_str()).and_then(|h| challenge::parse(&h))
                        {
                            self.set_scheme(state, found);
                        }
                    } else {
                        self.set_scheme_if_unknown(state, AuthScheme::Anonymous);
                    }
                    return Ok(());
                }
                Err(e) if e.is_connect() && !is_reset(&e) => return Err(unreachable(&state.api_host, &e)),
                Err(e) if retry::is_retryable_error(&e) => None,
                Err(e) => return Err(unreachable(&state.api_host, &e)),
            };
            attempt += 1;
            if attempt > self.options.retry.times {
                return Err(RegistryError::RetriesExhausted {
                    host: state.api_host.clone(),
                    operation: operation.into(),
                    attempts: attempt,
                    last: "no usable answer".into(),
                });
            }
            self.options.observer.retrying(operation, attempt, "no usable answer");
            tokio::time::sleep(self.options.retry.backoff(attempt, retry_wait.filter(|d| !d.is_zero()))).await;
        }
    }

    pub(super) fn set_scheme(&self, state: &HostState, found: Challenge) {
        let scheme = match found {
            Challenge::Basic => AuthScheme::Basic,
            Challenge::Bearer { realm, service, .. } => AuthScheme::Bearer { realm, service },
        };
        *state.scheme.locked() = Some(scheme);
    }

    pub(super) fn set_scheme_if_unknown(&self, state: &HostState, scheme: AuthScheme) {
        let mut current = state.scheme.locked();
        if current.is_none() {
            *current = Some(scheme);
        }
    }

    /// Sends a request built by `build`, authenticating on a 401 challenge and retrying transient failures.
    pub(super) async fn execute<F>(
        &self,
        repo: Repo<'_>,
        scopes: &[(&str, Access)],
        operation: &str,
        build: F,
    ) -> Result<Response, RegistryError>
    where
        F: Fn(&reqwest::Client, &str) -> RequestBuilder,
    {
        let state = self.host(repo.registry);
        let base = self.base_url(&state).await?;
        let mut attempt = 0u32;
        let mut reauthenticated = false;
        loop {
            let mut request = build(&self.http, &base);
            if let Some(header) = self.authorization(&state, repo, scopes).await? {
                request = request.header(AUTHORIZATION, header);
            }
            let permit = state.permits.acquire().await.map_err(|_| closed(repo.registry))?;
            let outcome = request.send().await;
            drop(permit);
            let (last, wait) = match outcome {
                Ok(response) if response.status() == StatusCode::UNAUTHORIZED && !reauthenticated => {
                    reauthenticated = true;
                    self.handle_challenge(&state, repo, scopes, response.headers())?;
                    continue;
                }
                Ok(response) if retry::is_retryable_status(response.status()) => (
                    format!("HTTP {}", response.status()),
                    retry::retry_after(response.headers()),
                ),
                Ok(response) => return Ok(response),
                Err(e) if retry::is_retryable_error(&e) || is_reset(&e) => (error_chain(&e), None),
                Err(e) => return Err(transport_error(repo.registry, operation, &e)),
            };
            attempt += 1;
            if attempt > self.options.retry.times {
                return Err(RegistryError::RetriesExhausted {
                    host: repo.registry.to_string(),
                    operation: operation.to_string(),
                    attempts: attempt,
                    last,
                });
            }
            self.options.observer.retrying(operation, attempt, &last);
            tokio::time::sleep(self.options.retry.backoff(attempt, wait)).await;
        }
    }

    /// Learns the scheme from a 401 and drops tokens that no longer work.
    pub(super) fn handle_challenge(
        &self,
        state: &HostState,
        repo: Repo<'_>,
        scopes: &[(&str, Access)],
        headers: &HeaderMap,
    ) -> Result<(), RegistryError> {
        let found = header_str(headers, WWW_AUTHENTICATE.as_str()).and_then(|h| challenge::parse(&h));
        let Some(found) = found else {
            return Err(self.unauthorized(repo));
        };
        let previous = state.scheme.locked().clone();
        if matches!(previous, Some(AuthScheme::Basic)) && found == Challenge::Basic {
            // Basic credentials were already sent and refused.
            return Err(self.unauthorized(repo));
        }
        state.tokens.locked().remove(&scope_key(scopes));
        self.set_scheme(state, found);
        Ok(())
    }

    pub(super) fn unauthorized(&self, repo: Repo<'_>) -> RegistryError {
        match self.credentials.lookup(&repo.name()) {
            Ok(Some(_)) => RegistryError::CredentialsRejected {
                host: repo.registry.to_string(),
                repository: repo.path.to_string(),
                credentials_from: self.credentials.source().map(|p| p.display().to_string()),
            },
            _ => RegistryError::CredentialsMissing {
                host: repo.registry.to_string(),
                repository: repo.path.to_string(),
            },
        }
    }

    /// The `Authorization` header for a request, fetching a bearer token when needed.
    pub(super) async fn authorization(
        &self,
        state: &HostState,
        repo: Repo<'_>,
        scopes: &[(&str, Access)],
    ) -> Result<Option<String>, RegistryError> {
        let scheme = state.scheme.locked().clone();
        match scheme {
            None | Some(AuthScheme::Anonymous) => Ok(None),
            Some(AuthScheme::Basic) => match self.credentials.lookup(&repo.name())? {
                Some(Credential::Basic { username, password }) => Ok(Some(basic_header(&username, &password))),
                Some(Credential::IdentityToken(_)) | None => Err(self.unauthorized(repo)),
            },
            Some(AuthScheme::Bearer { realm, service }) => {
                let key = scope_key(scopes);
                if let Some(token) = state.usable_token(&key) {
                    return Ok(Some(format!("Bearer {token}")));
                }
                // One token request per host at a time: concurrent requests wait and reuse its answer.
                let _fetching = state.token_fetch.lock().await;
                if let Some(token) = state.usable_token(&key) {
                    return Ok(Some(format!("Bearer {token}")));
                }
                let (token, usable_for) = self.fetch_token(repo, &realm, service.as_deref(), scopes).await?;
                let refresh_at = Instant::now() + usable_for;
                state.tokens.locked().insert(key, (token.clone(), refresh_at));
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    pub(super) async fn fetch_token(
        &self,
        repo: Repo<'_>,
        realm: &str,
        service: Option<&str>,
        scopes: &[(&str, Access)],
    ) -> Result<(String, Duration), RegistryError> {
        let url = token_url(repo, realm, service, scopes)?;
        let credential = self.credentials.lookup(&repo.name())?;
        let mut attempt = 0;
        loop {
            let (cause, wait) = match self.token_attempt(repo, &url, credential.as_ref()).await {
                Ok(token) => return Ok(token),
                Err(TokenAttempt::Final(error)) => return Err(error),
                Err(TokenAttempt::Transient(error, wait)) if attempt < self.options.retry.times => (error, wait),
                Err(TokenAttempt::Transient(error, _)) => return Err(error),
            };
            attempt += 1;
            self.options
                .observer
                .retrying("token request", attempt, &cause.to_string());
            tokio::time::sleep(self.options.retry.backoff(attempt, wait)).await;
        }
    }

    /// One token request: the token, or why not and whether another attempt may do better (a retryable status, a
    /// reset, a body cut short).
    async fn token_attempt(
        &self,
        repo: Repo<'_>,
        url: &reqwest::Url,
        credential: Option<&Credential>,
    ) -> Result<(String, Duration), TokenAttempt> {
        let response = match self.token_request(url, credential).send().await {
            Ok(response) => response,
            Err(e) if retry::is_retryable_error(&e) => {
                return Err(TokenAttempt::Transient(
                    transport_error(repo.registry, "token request", &e),
                    None,
                ))
            }
            Err(e) => return Err(TokenAttempt::Final(transport_error(repo.registry, "token request", &e))),
        };
        let status = response.status();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(TokenAttempt::Final(self.unauthorized(repo)));
        }
        if !status.is_success() {
            let error = RegistryError::Status {
                host: repo.registry.into(),
                operation: "token request".into(),
                status: status.as_u16(),
                code: None,
                message: None,
            };
            return Err(if retry::is_retryable_status(status) {
                TokenAttempt::Transient(error, retry::retry_after(response.headers()))
            } else {
                TokenAttempt::Final(error)
            });
        }
        let bytes = response.bytes().await.map_err(|e| {
            TokenAttempt::Transient(
                RegistryError::BodyCut {
                    host: repo.registry.into(),
                    operation: "token request".into(),
                    detail: error_chain(&e),
                },
                None,
            )
        })?;
        parse_token(repo, &bytes).map_err(TokenAttempt::Final)
    }

    /// The token request for a credential: Basic auth, an OAuth2 refresh-token grant, or anonymous.
    fn token_request(&self, url: &reqwest::Url, credential: Option<&Credential>) -> RequestBuilder {
        match credential {
            Some(Credential::Basic { username, password }) => self
                .http
                .get(url.clone())
                .header(AUTHORIZATION, basic_header(username, password)),
            Some(Credential::IdentityToken(token)) => {
                let mut form = url.clone();
                form.query_pairs_mut()
                    .append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", token)
                    .append_pair("client_id", "ferry");
                self.http
                    .post(url.as_str())
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.query().unwrap_or("").to_string())
            }
            None => self.http.get(url.clone()),
        }
    }

    /// Turns a non-success answer into the matching error.
    pub(super) async fn expect_success(
        &self,
        repo: Repo<'_>,
        operation: &str,
        response: Response,
        what: &str,
    ) -> Result<Response, RegistryError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        match status {
            StatusCode::UNAUTHORIZED => Err(match self.unauthorized(repo) {
                // A token was issued for these credentials but grants less than asked (e.g. no push):
                // the account lacks rights, its credentials are fine.
                RegistryError::CredentialsRejected { host, repository, .. }
                    if is_insufficient_scope(response.headers()) =>
                {
                    RegistryError::Denied { host, repository }
                }
                other => other,
            }),
            StatusCode::FORBIDDEN => Err(RegistryError::Denied {
                host: repo.registry.into(),
                repository: repo.path.into(),
            }),
            StatusCode::NOT_FOUND if !operation.starts_with("PUT") => Err(RegistryError::NotFound {
                host: repo.registry.into(),
                what: what.to_string(),
            }),
            _ => {
                let body = response.bytes().await.unwrap_or_default();
                let (code, message) = parse_error_body(&body);
                Err(RegistryError::Status {
                    host: repo.registry.into(),
                    operation: operation.into(),
                    status: status.as_u16(),
                    code,
                    message,
                })
            }
        }
    }
}

/// A token attempt that failed: for good, or worth another try (after the server's `Retry-After`, if it gave one).
enum TokenAttempt {
    Final(RegistryError),
    Transient(RegistryError, Option<Duration>),
}

/// The token endpoint's URL with the service and the scopes asked for.
fn token_url(
    repo: Repo<'_>,
    realm: &str,
    service: Option<&str>,
    scopes: &[(&str, Access)],
) -> Result<reqwest::Url, RegistryError> {
    let mut url = reqwest::Url::parse(realm).map_err(|e| RegistryError::Protocol {
        host: repo.registry.into(),
        detail: format!("bad token realm `{realm}`: {e}"),
    })?;
    {
        let mut query = url.query_pairs_mut();
        if let Some(service) = service {
            query.append_pair("service", service);
        }
        for (path, access) in scopes {
            let actions = match access {
                Access::Pull => "pull",
                Access::Push => "pull,push",
                Access::Delete => "pull,delete",
            };
            query.append_pair("scope", &format!("repository:{path}:{actions}"));
        }
    }
    Ok(url)
}

fn parse_token(repo: Repo<'_>, bytes: &[u8]) -> Result<(String, Duration), RegistryError> {
    let body: TokenResponse = serde_json::from_slice(bytes).map_err(|e| RegistryError::Protocol {
        host: repo.registry.into(),
        detail: format!("token endpoint answered something that is not a token: {e}"),
    })?;
    body.into_token().ok_or_else(|| RegistryError::Protocol {
        host: repo.registry.into(),
        detail: "token endpoint answered without a token".into(),
    })
}
