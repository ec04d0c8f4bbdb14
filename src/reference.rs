//! Image references (`registry/repo[:tag][@digest]`) and transports (`docker://`, `oci://`, `file://`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::image::Digest;

/// The registry that names without a host belong to.
pub(crate) const DOCKER_HUB: &str = "docker.io";
/// The host that actually serves Docker Hub's registry API.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ReferenceError {
    #[error("`{input}` is not an image reference: {reason}")]
    Invalid { input: String, reason: String },
    #[error("`{0}` has an unknown transport: use docker://, oci:// or file://")]
    UnknownTransport(String),
}

fn invalid(input: &str, reason: &str) -> ReferenceError {
    ReferenceError::Invalid {
        input: input.to_string(),
        reason: reason.to_string(),
    }
}

/// A fully normalised image reference in a registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ImageReference {
    /// Registry host, with port when given (`quay.io`, `127.0.0.1:5000`); Docker Hub is `docker.io`.
    pub registry: String,
    /// Repository path inside the registry (`library/busybox`, `openshift/release`).
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl ImageReference {
    #[cfg(test)]
    /// The host to send registry API requests to.
    pub(crate) fn api_host(&self) -> &str {
        registry_api_host(&self.registry)
    }

    /// `registry/repository`, without tag or digest.
    pub(crate) fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// What to ask the registry for: the digest when pinned, else the tag, else `latest`.
    pub(crate) fn manifest_selector(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    #[cfg(test)]
    /// Whether this name is in the given registry host/namespace scope (`quay.io`, `quay.io/org`, `quay.io/org/repo`).
    pub(crate) fn is_within(&self, scope: &str) -> bool {
        let name = self.name();
        name == scope || name.starts_with(&format!("{scope}/"))
    }
}

/// Docker Hub's API lives on another host than its name.
pub(crate) fn registry_api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB || registry == "index.docker.io" {
        DOCKER_HUB_API
    } else {
        registry
    }
}

impl FromStr for ImageReference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let trimmed = input.strip_prefix("docker://").unwrap_or(input);
        if trimmed.is_empty() {
            return Err(invalid(input, "it is empty"));
        }
        if trimmed.chars().any(|c| c.is_whitespace()) {
            return Err(invalid(input, "it contains whitespace"));
        }
        let (rest, digest) = match trimmed.split_once('@') {
            Some((rest, digest)) => {
                let digest = digest.parse::<Digest>().map_err(|e| invalid(input, &e.to_string()))?;
                (rest, Some(digest))
            }
            None => (trimmed, None),
        };
        let (name, tag) = split_tag(rest);
        if let Some(tag) = tag {
            validate_tag(input, tag)?;
        }
        let (registry, repository) = split_registry(name);
        validate_repository(input, &repository)?;
        if registry.is_empty() {
            return Err(invalid(input, "the registry host is empty"));
        }
        Ok(ImageReference {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }
}

/// Splits `name:tag`, taking care that a `:` before the last `/` belongs to a registry port.
fn split_tag(rest: &str) -> (&str, Option<&str>) {
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match rest[last_slash..].rfind(':') {
        Some(colon) => (&rest[..last_slash + colon], Some(&rest[last_slash + colon + 1..])),
        None => (rest, None),
    }
}

fn split_registry(name: &str) -> (String, String) {
    let (first, remainder) = match name.split_once('/') {
        Some((first, remainder)) => (first, Some(remainder)),
        None => (name, None),
    };
    let looks_like_host = first.contains('.') || first.contains(':') || first == "localhost";
    match remainder {
        Some(remainder) if looks_like_host => {
            let registry = if first == "index.docker.io" { DOCKER_HUB } else { first };
            let repository = if registry == DOCKER_HUB && !remainder.contains('/') {
                format!("library/{remainder}")
            } else {
                remainder.to_string()
            };
            (registry.to_string(), repository)
        }
        _ if !name.contains('/') => (DOCKER_HUB.to_string(), format!("library/{name}")),
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    }
}

fn validate_tag(input: &str, tag: &str) -> Result<(), ReferenceError> {
    let valid = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid {
        Ok(())
    } else {
        Err(invalid(
            input,
            &format!("tag `{tag}` must be 1-128 of [A-Za-z0-9_.-], not starting with . or -"),
        ))
    }
}

fn validate_repository(input: &str, repository: &str) -> Result<(), ReferenceError> {
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-'))
            && c.chars().next().is_some_and(|ch| ch.is_ascii_alphanumeric())
            && c.chars().last().is_some_and(|ch| ch.is_ascii_alphanumeric())
    };
    if repository.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(invalid(
            input,
            &format!("repository `{repository}` must be lowercase path components of [a-z0-9._-]"),
        ))
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Where images come from or go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// `docker://HOST[:PORT][/NAMESPACE]`: a registry, optionally under a namespace.
    Registry { registry: String, namespace: String },
    /// `oci://PATH[:REF]`: an OCI image layout directory.
    OciLayout { path: PathBuf, reference: Option<String> },
    /// `file://PATH`: a ferry working directory (archives and state).
    Directory(PathBuf),
}

impl FromStr for Location {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = input.strip_prefix("docker://") {
            let rest = rest.trim_end_matches('/');
            let (registry, namespace) = rest.split_once('/').unwrap_or((rest, ""));
            if registry.is_empty() {
                return Err(invalid(input, "the registry host is empty"));
            }
            if !namespace.is_empty() {
                validate_repository(input, namespace)?;
            }
            return Ok(Location::Registry {
                registry: registry.to_string(),
                namespace: namespace.to_string(),
            });
        }
        if let Some(rest) = input.strip_prefix("oci://") {
            return parse_oci_layout(input, rest);
        }
        if let Some(rest) = input.strip_prefix("file://") {
            if rest.is_empty() {
                return Err(invalid(input, "the directory is empty"));
            }
            return Ok(Location::Directory(PathBuf::from(rest)));
        }
        Err(ReferenceError::UnknownTransport(input.to_string()))
    }
}

fn parse_oci_layout(input: &str, rest: &str) -> Result<Location, ReferenceError> {
    if rest.is_empty() {
        return Err(invalid(input, "the layout path is empty"));
    }
    // `oci://dir:ref`: the first `:` separates the directory from the image name inside the layout, as in the
    // containers tools' `oci:` transport (names may contain `/` and `:`, directories may not contain `:`).
    let (path, reference) = match rest.split_once(':') {
        Some((path, reference)) => (path, Some(reference.to_string())),
        None => (rest, None),
    };
    Ok(Location::OciLayout {
        path: PathBuf::from(path),
        reference: reference.filter(|r| !r.is_empty()),
    })
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Registry { registry, namespace } if namespace.is_empty() => write!(f, "docker://{registry}"),
            Location::Registry { registry, namespace } => write!(f, "docker://{registry}/{namespace}"),
            Location::OciLayout {
                path,
                reference: Some(r),
            } => write!(f, "oci://{}:{r}", path.display()),
            Location::OciLayout { path, reference: None } => write!(f, "oci://{}", path.display()),
            Location::Directory(path) => write!(f, "file://{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ImageReference {
        s.parse().unwrap()
    }

    #[test]
    fn docker_hub_names_are_normalised() {
        let r = parse("busybox");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "library/busybox")
        );
        assert_eq!(parse("docker.io/busybox:1").repository, "library/busybox");
        assert_eq!(parse("index.docker.io/org/app").name(), "docker.io/org/app");
        assert_eq!(parse("org/app").name(), "docker.io/org/app");
        assert_eq!(r.api_host(), "registry-1.docker.io");
    }

    #[test]
    fn ports_tags_and_digests() {
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let r = parse(&format!("docker://127.0.0.1:5000/ns/app:v1@{d}"));
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "ns/app");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.digest.as_ref().map(Digest::as_str), Some(d));
        assert_eq!(r.manifest_selector(), d);
        let untagged = parse("localhost:5000/app");
        assert_eq!(untagged.tag, None);
        assert_eq!(untagged.manifest_selector(), "latest");
        assert_eq!(parse("quay.io/a/b:1.0").to_string(), "quay.io/a/b:1.0");
    }

    #[test]
    fn invalid_references_are_rejected() {
        for bad in [
            "",
            "Quay.io/UPPER/app",
            "quay.io/app:",
            "quay.io/app@sha256:zz",
            "quay.io/a b",
        ] {
            assert!(bad.parse::<ImageReference>().is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn locations() {
        assert_eq!(
            "docker://localhost:5000/mirror/ns".parse::<Location>().unwrap(),
            Location::Registry {
                registry: "localhost:5000".into(),
                namespace: "mirror/ns".into()
            }
        );
        assert_eq!(
            "oci://examples/layout:app".parse::<Location>().unwrap(),
            Location::OciLayout {
                path: "examples/layout".into(),
                reference: Some("app".into())
            }
        );
        assert_eq!(
            "file://out".parse::<Location>().unwrap(),
            Location::Directory("out".into())
        );
        assert!("s3://bucket".parse::<Location>().is_err());
    }

    #[test]
    fn scopes() {
        let r = parse("quay.io/org/app:1");
        assert!(r.is_within("quay.io"));
        assert!(r.is_within("quay.io/org"));
        assert!(!r.is_within("quay.io/or"));
    }
}
