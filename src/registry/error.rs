//! Registry errors, each with the help a user needs to act on it. Messages never contain credentials.

use crate::auth::AuthError;
use crate::image::manifest::ManifestError;
use crate::image::walk::WalkError;
use crate::image::Digest;

#[derive(Debug, thiserror::Error)]
pub(crate) enum RegistryError {
    #[error("cannot reach registry {host}: {detail}\n  help: check the address and that the registry is running; for a registry served over plain HTTP or with a self-signed certificate, pass --src-tls-verify=false or --dest-tls-verify=false")]
    Unreachable {
        host: String,
        detail: String,
        /// The TLS handshake failed: an untrusted certificate, or a server that speaks plain HTTP.
        tls: bool,
    },

    #[error("registry {host} refused the credentials for {repository} (HTTP 401){}\n  help: check the entry for {host} in your auth file or pass another one with --authfile", source_note(.credentials_from))]
    CredentialsRejected {
        host: String,
        repository: String,
        credentials_from: Option<String>,
    },

    #[error("registry {host} requires authentication for {repository} and no credentials were found for it\n  help: log in (e.g. `podman login {host}`) or pass --authfile with an entry for {host}")]
    CredentialsMissing { host: String, repository: String },

    #[error("registry {host} denied access to {repository}\n  help: the account needs pull rights on the source and push rights on the destination")]
    Denied { host: String, repository: String },

    #[error("registry {host} does not allow deleting manifests (HTTP 405)\n  help: enable deletes in the registry: for the CNCF distribution registry `storage.delete.enabled: true` in its configuration (or REGISTRY_STORAGE_DELETE_ENABLED=true); for Quay, an account with admin rights on the repositories")]
    DeletesDisabled { host: String },

    #[error("{what} was not found on {host} (HTTP 404)")]
    NotFound { host: String, what: String },

    #[error("registry {host} answered {status} to {operation}{}", error_detail(.code, .message))]
    Status {
        host: String,
        operation: String,
        status: u16,
        code: Option<String>,
        message: Option<String>,
    },

    #[error("registry {host} still failed after {attempts} attempts ({operation}): {last}\n  help: the registry is overloaded or unstable; raise --retry-times / --retry-delay or lower --parallel-images")]
    RetriesExhausted {
        host: String,
        operation: String,
        attempts: u32,
        last: String,
    },

    #[error("registry {host}: {detail}")]
    Protocol { host: String, detail: String },
    #[error("{host}: {operation}: the response body was cut short ({detail})")]
    BodyCut {
        host: String,
        operation: String,
        detail: String,
    },

    #[error("content of {expected} from {host} has digest {actual} ({bytes} bytes read): the download was corrupt or truncated")]
    DigestMismatch {
        host: String,
        expected: Digest,
        actual: Digest,
        bytes: u64,
    },

    #[error("manifest {what} from {host} is larger than {limit} bytes; refusing it")]
    ManifestTooLarge { host: String, what: String, limit: usize },

    #[error(transparent)]
    Manifest(#[from] ManifestError),

    #[error(transparent)]
    Walk(#[from] WalkError),

    #[error(transparent)]
    Auth(#[from] AuthError),
}

fn source_note(from: &Option<String>) -> String {
    from.as_ref()
        .map(|f| format!(" (credentials from {f})"))
        .unwrap_or_default()
}

fn error_detail(code: &Option<String>, message: &Option<String>) -> String {
    match (code, message) {
        (Some(c), Some(m)) => format!(": {c}: {m}"),
        (Some(c), None) => format!(": {c}"),
        (None, Some(m)) => format!(": {m}"),
        (None, None) => String::new(),
    }
}

impl RegistryError {
    /// The registry rejected an index because some children are missing: it does not accept sparse indexes.
    pub(crate) fn is_missing_children(&self) -> bool {
        matches!(self, RegistryError::Status { code: Some(code), status: 400, .. }
            if code == "MANIFEST_BLOB_UNKNOWN" || code == "MANIFEST_UNKNOWN" || code == "BLOB_UNKNOWN")
    }
}
