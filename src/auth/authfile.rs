//! One credentials file (containers-auth.json(5), Docker's `config.json`, or the legacy `~/.dockercfg`): parsing,
//! key normalisation and the per-file lookup order. Secrets are decoded once, at load, and never appear in errors.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::{Map, Value};

use super::{AuthError, Credential};
use crate::reference::DOCKER_HUB;

/// Standard alphabet, padding optional: some tools write `auth` without the trailing `=`.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What a file says about one registry name, in the order containers/image asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileAnswer {
    /// `credHelpers[host]` names a helper: it alone answers for this host (the file's `auths` are not used for it).
    Helper(String),
    /// An `auths` entry holds a credential.
    Found(Credential),
    /// No usable `auths` entry, but `credsStore` names a default helper.
    Store(String),
    /// Nothing in this file.
    Nothing,
}

#[derive(Clone)]
struct Entry {
    /// The key as written in the file (for error messages and exact-match preference).
    key: String,
    /// The key as a `host[/namespace...]` scope (scheme and API path stripped, Docker Hub aliases mapped).
    scope: String,
    /// `None` for placeholders such as `{}` (written by `docker login` when a `credsStore` holds the secret).
    credential: Option<Credential>,
}

/// A parsed credentials file.
#[derive(Clone)]
pub(crate) struct AuthFile {
    path: PathBuf,
    legacy: bool,
    entries: Vec<Entry>,
    /// (normalised host, helper name)
    cred_helpers: Vec<(String, String)>,
    creds_store: Option<String>,
}

impl AuthFile {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and parses `path`. `legacy` selects the `~/.dockercfg` layout (the top level is the `auths` map).
    pub(crate) fn load(path: &Path, legacy: bool) -> Result<Self, AuthError> {
        let bytes = std::fs::read(path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                AuthError::Missing {
                    path: path.to_path_buf(),
                }
            } else {
                AuthError::Read {
                    path: path.to_path_buf(),
                    error,
                }
            }
        })?;
        Self::parse(&bytes, path, legacy)
    }

    pub(crate) fn parse(bytes: &[u8], path: &Path, legacy: bool) -> Result<Self, AuthError> {
        let malformed = |detail: String| AuthError::Malformed {
            path: path.to_path_buf(),
            detail,
        };
        // Only the position and the category of a JSON error are reported: serde_json's messages may quote values.
        let root: Value = serde_json::from_slice(bytes).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Eof => "the file ends early",
                serde_json::error::Category::Io => "it could not be read",
                _ => "a syntax error",
            };
            malformed(format!(
                "not valid JSON: {what} at line {}, column {}",
                e.line(),
                e.column()
            ))
        })?;
        let Value::Object(root) = root else {
            return Err(malformed("the top level is not a JSON object".into()));
        };

        let mut file = AuthFile {
            path: path.to_path_buf(),
            legacy,
            entries: Vec::new(),
            cred_helpers: Vec::new(),
            creds_store: None,
        };
        let auths = if legacy {
            Some(&root)
        } else {
            match root.get("auths") {
                None | Some(Value::Null) => None,
                Some(Value::Object(auths)) => Some(auths),
                Some(_) => return Err(malformed("`auths` is not an object".into())),
            }
        };
        if let Some(auths) = auths {
            for (key, value) in auths {
                let Value::Object(fields) = value else {
                    return Err(malformed(format!("the `auths` entry `{key}` is not an object")));
                };
                let credential = decode_entry(path, key, fields)?;
                file.entries.push(Entry {
                    key: key.clone(),
                    scope: normalize_key(key, legacy),
                    credential,
                });
            }
        }
        if legacy {
            return Ok(file);
        }

        match root.get("credHelpers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(helpers)) => {
                for (host, helper) in helpers {
                    let Value::String(helper) = helper else {
                        return Err(malformed(format!("`credHelpers` entry `{host}` is not a string")));
                    };
                    check_helper_name(path, helper)?;
                    file.cred_helpers.push((normalize_key(host, true), helper.clone()));
                }
            }
            Some(_) => return Err(malformed("`credHelpers` is not an object".into())),
        }
        match root.get("credsStore") {
            None | Some(Value::Null) => {}
            Some(Value::String(store)) if store.is_empty() => {}
            Some(Value::String(store)) => {
                check_helper_name(path, store)?;
                file.creds_store = Some(store.clone());
            }
            Some(_) => return Err(malformed("`credsStore` is not a string".into())),
        }
        Ok(file)
    }

    /// What this file answers for `name` (`host[:port][/namespace.../repo]`, Docker Hub as `docker.io`).
    pub(crate) fn answer(&self, name: &str) -> FileAnswer {
        let host = name.split('/').next().unwrap_or(name);
        if let Some((_, helper)) = self.cred_helpers.iter().find(|(h, _)| h == host) {
            return FileAnswer::Helper(helper.clone());
        }
        // Longest scope first: `host/ns/repo`, `host/ns`, `host`. Legacy files only know hosts.
        let mut candidate = Some(name);
        while let Some(scope) = candidate {
            if !self.legacy || scope == host {
                // An exact key wins over one that only matches after normalisation.
                let usable = |e: &&Entry| e.scope == scope && e.credential.is_some();
                let found = (self.entries.iter().filter(usable).find(|e| e.key == scope))
                    .or_else(|| self.entries.iter().find(usable));
                if let Some(credential) = found.and_then(|e| e.credential.clone()) {
                    return FileAnswer::Found(credential);
                }
            }
            candidate = scope.rfind('/').map(|slash| &scope[..slash]);
        }
        match &self.creds_store {
            Some(store) => FileAnswer::Store(store.clone()),
            None => FileAnswer::Nothing,
        }
    }
}

/// Helper names become part of a program name: keep them to a plain file-name alphabet.
fn check_helper_name(path: &Path, helper: &str) -> Result<(), AuthError> {
    let ok = !helper.is_empty()
        && !helper.starts_with('.')
        && helper
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::InvalidHelperName {
            path: path.to_path_buf(),
            helper: helper.to_string(),
        })
    }
}

fn string_field<'a>(path: &Path, key: &str, fields: &'a Map<String, Value>, field: &str) -> Result<&'a str, AuthError> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(_) => Err(AuthError::Malformed {
            path: path.to_path_buf(),
            detail: format!("the `{field}` field of `auths` entry `{key}` is not a string"),
        }),
    }
}

/// Turns one `auths` entry into a credential: `identitytoken` first (it is what the registry client must use),
/// then `auth` (base64 of `user:password`, the password may contain `:`), then `username`/`password`.
fn decode_entry(path: &Path, key: &str, fields: &Map<String, Value>) -> Result<Option<Credential>, AuthError> {
    let auth = string_field(path, key, fields, "auth")?.trim();
    let username = string_field(path, key, fields, "username")?;
    let password = string_field(path, key, fields, "password")?;
    let token = string_field(path, key, fields, "identitytoken")?;

    let bad = |reason: &str| AuthError::BadAuth {
        path: path.to_path_buf(),
        key: key.to_string(),
        reason: reason.to_string(),
    };
    let basic = if !auth.is_empty() {
        let decoded = BASE64.decode(auth).map_err(|_| bad("is not valid base64"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad("does not decode to UTF-8 text"))?;
        let (user, pass) = decoded
            .split_once(':')
            .ok_or_else(|| bad("does not decode to `username:password` (no `:`)"))?;
        // Docker pads some values with NULs; containers/image strips them too.
        Some((user.to_string(), pass.trim_matches('\0').to_string()))
    } else if !username.is_empty() {
        Some((username.to_string(), password.to_string()))
    } else {
        None
    };

    if !token.is_empty() {
        return Ok(Some(Credential::IdentityToken(token.to_string())));
    }
    Ok(basic
        .filter(|(user, pass)| !user.is_empty() || !pass.is_empty())
        .map(|(username, password)| Credential::Basic { username, password }))
}

/// Maps a key of `auths` or `credHelpers` to a `host[/namespace...]` scope.
///
/// Keys written as URLs (`https://index.docker.io/v1/`, `http://host:5000/v2/`), and every key of a legacy
/// file, are reduced to their host, as Docker and containers/image do. Other keys keep their path (namespaced
/// credentials), minus a trailing `/` and a trailing `/v1/` or `/v2/` API suffix. Docker Hub's aliases
/// (`index.docker.io`, `registry-1.docker.io`) become `docker.io`.
pub(crate) fn normalize_key(key: &str, host_only: bool) -> String {
    let key = key.trim();
    let stripped = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let had_scheme = stripped.len() != key.len();
    let mut scope = if had_scheme || host_only {
        stripped.split('/').next().unwrap_or(stripped)
    } else {
        let without_api = stripped
            .strip_suffix("/v1/")
            .or_else(|| stripped.strip_suffix("/v2/"))
            .unwrap_or(stripped);
        without_api.trim_end_matches('/')
    }
    .to_string();
    let host_end = scope.find('/').unwrap_or(scope.len());
    if is_docker_hub_alias(&scope[..host_end]) {
        scope.replace_range(..host_end, DOCKER_HUB);
    }
    scope
}

pub(crate) fn is_docker_hub_alias(host: &str) -> bool {
    matches!(host, "docker.io" | "index.docker.io" | "registry-1.docker.io")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_normalised() {
        assert_eq!(normalize_key("https://index.docker.io/v1/", false), "docker.io");
        assert_eq!(normalize_key("registry-1.docker.io", false), "docker.io");
        assert_eq!(normalize_key("http://localhost:5000/v2/", false), "localhost:5000");
        assert_eq!(normalize_key("https://quay.io", false), "quay.io");
        assert_eq!(normalize_key("quay.io/v2/", false), "quay.io");
        assert_eq!(normalize_key("quay.io/org/", false), "quay.io/org");
        assert_eq!(normalize_key("quay.io/org/repo", false), "quay.io/org/repo");
        assert_eq!(normalize_key("quay.io/org/repo", true), "quay.io");
        assert_eq!(normalize_key("index.docker.io/library", false), "docker.io/library");
    }
}
