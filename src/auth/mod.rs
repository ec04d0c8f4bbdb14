//! Registry credentials per containers-auth.json(5): which files are read, in which order, and how a registry
//! name finds its credential (longest `host/namespace` key, `credHelpers`, `credsStore`). Secrets never reach
//! `Debug`, `Display` or error messages.
//!
//! # Which files
//! * `--authfile PATH` ([`CredentialStore::discover`] with `Some`): that file only; it must exist and parse.
//! * else `$REGISTRY_AUTH_FILE`, when set and the file exists: that file only (podman and skopeo treat this
//!   variable as a default `--authfile`).
//! * else, as containers-auth.json(5) says ("read in sequence until the valid credential is found"), every file
//!   of this list that exists, searched in order for each lookup: `$XDG_RUNTIME_DIR/containers/auth.json`
//!   (`/run/containers/$UID/auth.json` when the variable is unset), `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`,
//!   `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json` when `DOCKER_CONFIG` is unset), `~/.dockercfg`.
//!
//! A file that exists but cannot be read or parsed is an error naming it, as in containers/image.
//!
//! # Lookup within one file (containers/image's order)
//! 1. `credHelpers[host]`: that helper alone answers for the host (the spec: "the base64 encoded authentication
//!    will not be used" for registries that have a helper). Its "not found" moves on to the next file.
//! 2. `auths`: the longest of `host/ns/repo`, `host/ns`, `host` with a credential. Keys written as URLs
//!    (`https://index.docker.io/v1/`) count as their host; an exact key beats a normalised one; empty
//!    placeholders (`{}`) are skipped.
//! 3. `credsStore` (Docker's default helper), asked for the host.

mod authfile;
mod helper;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use authfile::{AuthFile, FileAnswer};
use helper::HelperRunner;

#[cfg(test)]
use crate::reference::ImageReference;
use crate::reference::DOCKER_HUB;

/// The server URL Docker stores Docker Hub credentials under in helpers.
const DOCKER_HUB_HELPER_URL: &str = "https://index.docker.io/v1/";

/// A credential for one registry scope.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// User name and password (or a registry token used as a password).
    Basic { username: String, password: String },
    /// An OAuth2 refresh token (`identitytoken`, or a helper's `<token>` user).
    IdentityToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credential::IdentityToken(_) => f.debug_tuple("IdentityToken").field(&"<redacted>").finish(),
        }
    }
}

/// Why credentials could not be loaded or looked up. Messages name files, keys and helpers, never secrets.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AuthError {
    #[error(
        "credentials file {} does not exist\n  help: check the --authfile path, or create it with `podman login --authfile {} REGISTRY`",
        path.display(),
        path.display()
    )]
    Missing { path: PathBuf },
    #[error(
        "cannot read credentials file {}: {error}\n  help: check its permissions, or point --authfile at another file",
        path.display()
    )]
    Read { path: PathBuf, error: std::io::Error },
    #[error(
        "credentials file {} is malformed: {detail}\n  help: it must be a containers-auth.json(5) / Docker config.json file; log in again with `podman login` or pass another --authfile",
        path.display()
    )]
    Malformed { path: PathBuf, detail: String },
    #[error(
        "the `auth` value of `{key}` in {} {reason}\n  help: it must be the base64 encoding of `username:password`; log in to that registry again",
        path.display()
    )]
    BadAuth { path: PathBuf, key: String, reason: String },
    #[error(
        "credential helper name `{helper}` in {} is not valid\n  help: a helper is named by the suffix of its program `docker-credential-<name>`",
        path.display()
    )]
    InvalidHelperName { path: PathBuf, helper: String },
    #[error(
        "credential helper `docker-credential-{helper}` (configured in {} for {server}) is not on PATH\n  help: install it, or remove the `credHelpers`/`credsStore` entry",
        path.display()
    )]
    HelperNotFound {
        helper: String,
        server: String,
        path: PathBuf,
    },
    #[error("credential helper `docker-credential-{helper}` failed for {server}: {detail}\n  help: run `echo {server} | docker-credential-{helper} get` to see what it says")]
    HelperFailed {
        helper: String,
        server: String,
        detail: String,
    },
    #[error("credential helper `docker-credential-{helper}` gave an answer for {server} that is not the expected JSON (`Username`, `Secret`)")]
    HelperBadOutput { helper: String, server: String },
}

/// The credentials files in effect, and the helpers they name.
#[derive(Clone)]
pub(crate) struct CredentialStore {
    files: Vec<AuthFile>,
    helpers: HelperRunner,
}

impl fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialStore")
            .field("files", &self.sources())
            .finish_non_exhaustive()
    }
}

impl Default for CredentialStore {
    fn default() -> Self {
        Self::empty()
    }
}

/// The process environment that discovery depends on, explicit so tests need not mutate the real one.
#[derive(Debug, Clone, Default)]
struct AuthEnv {
    registry_auth_file: Option<PathBuf>,
    xdg_runtime_dir: Option<PathBuf>,
    xdg_config_home: Option<PathBuf>,
    docker_config: Option<PathBuf>,
    home: Option<PathBuf>,
    uid: Option<u32>,
    /// Where helpers are searched; `None` = the process `PATH`.
    helper_path: Option<OsString>,
}

impl AuthEnv {
    fn from_process() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        AuthEnv {
            registry_auth_file: var("REGISTRY_AUTH_FILE"),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            docker_config: var("DOCKER_CONFIG"),
            home: var("HOME"),
            uid: current_uid(),
            helper_path: None,
        }
    }

    /// The implicit files, in search order, with whether each uses the legacy `.dockercfg` layout.
    fn default_files(&self) -> Vec<(PathBuf, bool)> {
        let mut files = Vec::new();
        match (&self.xdg_runtime_dir, self.uid) {
            (Some(dir), _) => files.push((dir.join("containers/auth.json"), false)),
            (None, Some(uid)) => files.push((PathBuf::from(format!("/run/containers/{uid}/auth.json")), false)),
            (None, None) => {}
        }
        let config_home = self
            .xdg_config_home
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".config")));
        if let Some(config_home) = config_home {
            files.push((config_home.join("containers/auth.json"), false));
        }
        let docker_dir = self
            .docker_config
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".docker")));
        if let Some(docker_dir) = docker_dir {
            files.push((docker_dir.join("config.json"), false));
        }
        if let Some(home) = &self.home {
            files.push((home.join(".dockercfg"), true));
        }
        files
    }
}

#[cfg(unix)]
fn current_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

#[cfg(not(unix))]
fn current_uid() -> Option<u32> {
    None
}

impl CredentialStore {
    /// No credentials: every lookup answers `None`.
    pub(crate) fn empty() -> Self {
        CredentialStore {
            files: Vec::new(),
            helpers: HelperRunner::new(None),
        }
    }

    /// The credentials in effect: `explicit` (`--authfile`) alone if given, else the environment's files
    /// (see the module documentation for the order and why several files may be searched).
    pub(crate) fn discover(explicit: Option<&Path>) -> Result<Self, AuthError> {
        Self::discover_in(explicit, &AuthEnv::from_process())
    }

    fn discover_in(explicit: Option<&Path>, env: &AuthEnv) -> Result<Self, AuthError> {
        let helpers = HelperRunner::new(env.helper_path.clone());
        if let Some(path) = explicit {
            let file = AuthFile::load(path, false)?;
            return Ok(CredentialStore {
                files: vec![file],
                helpers,
            });
        }
        if let Some(path) = env.registry_auth_file.as_deref().filter(|p| p.exists()) {
            let file = AuthFile::load(path, false)?;
            return Ok(CredentialStore {
                files: vec![file],
                helpers,
            });
        }
        let mut files = Vec::new();
        for (path, legacy) in env.default_files() {
            match AuthFile::load(&path, legacy) {
                Ok(file) => files.push(file),
                Err(AuthError::Missing { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(CredentialStore { files, helpers })
    }

    #[cfg(test)]
    /// One file alone (what `--authfile` does). Missing, unreadable or malformed files are errors naming it.
    pub(crate) fn from_file(path: &Path) -> Result<Self, AuthError> {
        Ok(CredentialStore {
            files: vec![AuthFile::load(path, false)?],
            helpers: HelperRunner::new(None),
        })
    }

    /// The credential for `name` (`host[:port]/namespace/repo`, or a bare host), or `None` for anonymous access.
    /// A `docker://` prefix, a tag or a digest are ignored; Docker Hub may be spelled `docker.io`,
    /// `index.docker.io` or `registry-1.docker.io`. May run a credential helper (a blocking process call).
    pub(crate) fn lookup(&self, name: &str) -> Result<Option<Credential>, AuthError> {
        Ok(self.lookup_with_source(name)?.map(|(credential, _)| credential))
    }

    #[cfg(test)]
    /// [`lookup`](Self::lookup) for an image reference.
    pub(crate) fn lookup_reference(&self, reference: &ImageReference) -> Result<Option<Credential>, AuthError> {
        self.lookup(&reference.name())
    }

    /// Like [`lookup`](Self::lookup), also naming the file whose entry (or helper) gave the credential.
    pub(crate) fn lookup_with_source(&self, name: &str) -> Result<Option<(Credential, &Path)>, AuthError> {
        let name = normalize_name(name);
        let host = name.split('/').next().unwrap_or(&name);
        for file in &self.files {
            let found = match file.answer(&name) {
                FileAnswer::Found(credential) => Some(credential),
                FileAnswer::Helper(helper) | FileAnswer::Store(helper) => {
                    self.ask_helper(&helper, host, file.path())?
                }
                FileAnswer::Nothing => None,
            };
            if let Some(credential) = found {
                return Ok(Some((credential, file.path())));
            }
        }
        Ok(None)
    }

    /// The primary credentials file (the first one searched), for messages. `None` when no file is in use.
    pub(crate) fn source(&self) -> Option<&Path> {
        self.files.first().map(AuthFile::path)
    }

    /// Every credentials file searched, in order.
    pub(crate) fn sources(&self) -> Vec<&Path> {
        self.files.iter().map(AuthFile::path).collect()
    }

    /// Helpers are asked for the host; Docker Hub under Docker's URL first, then as `docker.io` (podman's key).
    fn ask_helper(&self, helper: &str, host: &str, file: &Path) -> Result<Option<Credential>, AuthError> {
        if host == DOCKER_HUB {
            if let Some(credential) = self.helpers.get(helper, DOCKER_HUB_HELPER_URL, file)? {
                return Ok(Some(credential));
            }
        }
        self.helpers.get(helper, host, file)
    }
}

/// `docker://index.docker.io/library/busybox:1@sha256:...` → `docker.io/library/busybox`.
fn normalize_name(name: &str) -> String {
    let name = name.trim();
    let name = name.strip_prefix("docker://").unwrap_or(name);
    let name = name.split('@').next().unwrap_or(name);
    let last_slash = name.rfind('/').map(|i| i + 1).unwrap_or(0);
    let name = match name[last_slash..].find(':') {
        // A `:` after the last `/` is a tag, unless the name is a bare `host:port`.
        Some(colon) if last_slash > 0 => &name[..last_slash + colon],
        _ => name,
    };
    let name = name.trim_end_matches('/');
    let host_end = name.find('/').unwrap_or(name.len());
    if authfile::is_docker_hub_alias(&name[..host_end]) {
        format!("{DOCKER_HUB}{}", &name[host_end..])
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests;
