//! Source registry mirrors per containers-registries.conf(5), version 2 (and the deprecated version 1 lists):
//! which `[[registry]]` table governs an image, where its mirrors are, and in which order ferry tries them.
//! Used by enclaves: pull `quay.io/x` from `mirror.local/x`.
//!
//! What is honoured, following containers/image's `sysregistriesv2`:
//! * `[[registry]]` tables chosen by the longest `prefix` (default: `location`) that matches the whole image
//!   reference string at a `/`, `:` (tag), `@` (digest) boundary or its end; `*.example.com` matches hosts of
//!   any sub-domain (not `example.com` itself, not a host with a port). Equal lengths: the first table wins.
//! * `location` rewriting (the part of the reference matched by `prefix` is replaced), `insecure`, `blocked`,
//!   `mirror-by-digest-only`, and `[[registry.mirror]]` tables with `location`, `insecure`, `pull-from-mirror`
//!   (`all`, `digest-only`, `tag-only`). Mirrors come first, in file order, then the primary location.
//! * `blocked = true` blocks the primary location only: its mirrors still serve (OpenShift's
//!   `NeverContactSource`). A candidate whose own reference falls under another blocked table is dropped too.
//! * A mirror is insecure if its table says so or if a `[[registry]]` table governing the mirror's location does.
//!
//! Accepted and ignored, because they concern short names or credentials, not mirroring:
//! `unqualified-search-registries`, `short-name-mode`, `[aliases]`, `credential-helpers`,
//! `additional-layer-store-auth-helper`. Unknown keys are not errors (as in containers/image) but are reported by
//! [`RegistriesConf::warnings`]. Drop-in directories (`registries.conf.d`) are not read, and `/etc` is never read
//! unless named explicitly.

use std::ffi::OsString;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::reference::ImageReference;

/// Why a registries configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RegistriesConfError {
    #[error(
        "cannot read registries configuration {}: {error}\n  help: check the --registries-conf path (or $CONTAINERS_REGISTRIES_CONF)",
        path.display()
    )]
    Read { path: PathBuf, error: std::io::Error },
    #[error(
        "{}:{line}:{column}: {message}\n  help: the file must be TOML in the containers-registries.conf(5) format",
        path.display()
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}:{line}: {message}\n  help: see containers-registries.conf(5)", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// One place to pull an image from, in the order to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PullSource {
    /// The image at this source (rewritten for mirrors and relocated registries).
    pub reference: ImageReference,
    /// Skip certificate checks and allow plain HTTP for this source.
    pub insecure: bool,
    /// A mirror rather than the primary location.
    pub is_mirror: bool,
}

/// When a mirror may be used (`pull-from-mirror`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MirrorUse {
    All,
    DigestOnly,
    TagOnly,
}

#[derive(Debug, Clone)]
struct Mirror {
    location: String,
    insecure: bool,
    /// `None` when `pull-from-mirror` is unset or empty (then: all, unless `mirror-by-digest-only`).
    usage: Option<MirrorUse>,
}

#[derive(Debug, Clone)]
struct Registry {
    /// As written (after trimming a trailing `/`); `*.example.com` for wildcards.
    prefix: String,
    /// Empty only for wildcard prefixes: no rewriting.
    location: String,
    insecure: bool,
    blocked: bool,
    mirror_by_digest_only: bool,
    mirrors: Vec<Mirror>,
}

impl Registry {
    /// The byte length of `text` (a full reference string whose host is `host`) matched by this prefix.
    fn matched_len(&self, text: &str, host: &str) -> Option<usize> {
        if let Some(domain) = self.prefix.strip_prefix('*') {
            // `*.example.com`: any host ending in `.example.com`, longer than the suffix itself.
            return (host.len() > domain.len() && host.ends_with(domain)).then_some(host.len());
        }
        let rest = text.strip_prefix(self.prefix.as_str())?;
        let boundary = match rest.chars().next() {
            None | Some('/') | Some('@') => true,
            // After a bare host a `:` would start a port of another host; after a path it starts a tag.
            Some(':') => self.prefix.contains('/'),
            Some(_) => false,
        };
        boundary.then_some(self.prefix.len())
    }
}

/// A parsed registries configuration.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegistriesConf {
    registries: Vec<Registry>,
    warnings: Vec<String>,
}

impl RegistriesConf {
    /// No configuration: every image is pulled from where its reference says.
    pub(crate) fn empty() -> Self {
        Self::default()
    }

    /// `explicit` (`--registries-conf`), else `$CONTAINERS_REGISTRIES_CONF`, else [`empty`](Self::empty).
    /// A named file must exist; `/etc/containers/registries.conf` is not read unless named.
    pub(crate) fn load(explicit: Option<&Path>) -> Result<Self, RegistriesConfError> {
        Self::load_with(explicit, std::env::var_os("CONTAINERS_REGISTRIES_CONF"))
    }

    fn load_with(explicit: Option<&Path>, env: Option<OsString>) -> Result<Self, RegistriesConfError> {
        let from_env = env.filter(|v| !v.is_empty()).map(PathBuf::from);
        let Some(path) = explicit.map(Path::to_path_buf).or(from_env) else {
            return Ok(Self::empty());
        };
        let text = std::fs::read_to_string(&path).map_err(|error| RegistriesConfError::Read {
            path: path.clone(),
            error,
        })?;
        Self::parse(&text, &path)
    }

    /// Parses `text`; `origin` names the file in errors and warnings.
    pub(crate) fn parse(text: &str, origin: &Path) -> Result<Self, RegistriesConfError> {
        let root = DeTable::parse(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_column(text, s.start)).unwrap_or((1, 1));
            RegistriesConfError::Syntax {
                path: origin.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        let mut parser = Parser {
            text,
            origin,
            warnings: Vec::new(),
        };
        let registries = parser.document(root.get_ref())?;
        parser.check_conflicts(&registries)?;
        Ok(RegistriesConf {
            registries: registries.into_iter().map(|(_, r)| r).collect(),
            warnings: parser.warnings,
        })
    }

    #[cfg(test)]
    /// Whether no `[[registry]]` table is configured.
    pub(crate) fn is_empty(&self) -> bool {
        self.registries.is_empty()
    }

    /// Keys that were ignored because they are unknown, with their line, for the caller to show.
    pub(crate) fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The table governing `reference`, and the length of the reference string its prefix matched.
    fn find(&self, reference: &ImageReference) -> Option<(&Registry, usize)> {
        let text = reference.to_string();
        let mut best: Option<(&Registry, usize)> = None;
        for registry in &self.registries {
            if let Some(matched) = registry.matched_len(&text, &reference.registry) {
                if best.is_none_or(|(b, _)| registry.prefix.len() > b.prefix.len()) {
                    best = Some((registry, matched));
                }
            }
        }
        best
    }

    /// Sources to try for `reference`, in order: the usable mirrors of the governing table, then the primary
    /// location (rewritten by `location`) unless it is blocked. Empty when everything is blocked.
    /// A rewritten reference that is not a valid image reference is left out.
    pub(crate) fn pull_sources(&self, reference: &ImageReference) -> Vec<PullSource> {
        let Some((registry, matched)) = self.find(reference) else {
            return vec![PullSource {
                reference: reference.clone(),
                insecure: false,
                is_mirror: false,
            }];
        };
        let text = reference.to_string();
        let rest = &text[matched..];
        let by_digest = reference.digest.is_some();

        let mut sources = Vec::new();
        for mirror in &registry.mirrors {
            let usable = if registry.mirror_by_digest_only {
                by_digest
            } else {
                match mirror.usage {
                    None | Some(MirrorUse::All) => true,
                    Some(MirrorUse::DigestOnly) => by_digest,
                    Some(MirrorUse::TagOnly) => !by_digest,
                }
            };
            if !usable {
                continue;
            }
            let Ok(rewritten) = format!("{}{rest}", mirror.location).parse::<ImageReference>() else {
                continue;
            };
            let governing = self.find(&rewritten).map(|(r, _)| r);
            if governing.is_some_and(|r| r.blocked) {
                continue;
            }
            sources.push(PullSource {
                insecure: mirror.insecure || governing.is_some_and(|r| r.insecure),
                reference: rewritten,
                is_mirror: true,
            });
        }
        if !registry.blocked {
            let primary = if registry.location.is_empty() {
                Some(reference.clone())
            } else {
                format!("{}{rest}", registry.location).parse::<ImageReference>().ok()
            };
            if let Some(primary) = primary {
                sources.push(PullSource {
                    reference: primary,
                    insecure: registry.insecure,
                    is_mirror: false,
                });
            }
        }
        sources
    }

    #[cfg(test)]
    /// Whether the primary location of `reference` is blocked (its mirrors may still serve it).
    pub(crate) fn is_blocked(&self, reference: &ImageReference) -> bool {
        self.find(reference).is_some_and(|(r, _)| r.blocked)
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Walks the spanned TOML tree so that every error carries the line it is about.
struct Parser<'a> {
    text: &'a str,
    origin: &'a Path,
    warnings: Vec<String>,
}

type Value<'i> = Spanned<DeValue<'i>>;

impl Parser<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        line_column(self.text, span.start).0
    }

    fn invalid(&self, span: Range<usize>, message: impl Into<String>) -> RegistriesConfError {
        RegistriesConfError::Invalid {
            path: self.origin.to_path_buf(),
            line: self.line(span),
            message: message.into(),
        }
    }

    fn unknown(&mut self, key: &Spanned<std::borrow::Cow<'_, str>>, within: &str) {
        let line = self.line(key.span());
        self.warnings.push(format!(
            "{}:{line}: unknown key `{}`{within} is ignored",
            self.origin.display(),
            key.get_ref()
        ));
    }

    fn string(&self, key: &str, value: &Value<'_>) -> Result<String, RegistriesConfError> {
        match value.get_ref() {
            DeValue::String(s) => Ok(s.to_string()),
            other => Err(self.invalid(
                value.span(),
                format!("`{key}` must be a string, not {}", other.type_str()),
            )),
        }
    }

    fn boolean(&self, key: &str, value: &Value<'_>) -> Result<bool, RegistriesConfError> {
        match value.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            other => Err(self.invalid(
                value.span(),
                format!("`{key}` must be true or false, not {}", other.type_str()),
            )),
        }
    }

    fn strings(&self, key: &str, value: &Value<'_>) -> Result<Vec<String>, RegistriesConfError> {
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.invalid(value.span(), format!("`{key}` must be an array of strings")));
        };
        items.iter().map(|item| self.string(key, item)).collect()
    }

    fn tables<'v, 'i>(&self, key: &str, value: &'v Value<'i>) -> Result<Vec<&'v Value<'i>>, RegistriesConfError> {
        match value.get_ref() {
            DeValue::Array(items) if items.iter().all(|i| matches!(i.get_ref(), DeValue::Table(_))) => {
                Ok(items.iter().collect())
            }
            _ => Err(self.invalid(
                value.span(),
                format!("`{key}` must be an array of tables (`[[{key}]]`)"),
            )),
        }
    }

    /// `host[:port][/path...]`, possibly with a tag or digest; no scheme. Returns it without a trailing `/`.
    fn location(&self, key: &str, value: &Value<'_>) -> Result<String, RegistriesConfError> {
        let raw = self.string(key, value)?;
        let trimmed = raw.trim_end_matches('/').to_string();
        let bad = |why: &str| self.invalid(value.span(), format!("`{key}` \"{raw}\" {why}"));
        if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
            return Err(bad("must not have a URL scheme (write `host[:port][/namespace]`)"));
        }
        if trimmed.chars().any(char::is_whitespace) || trimmed.contains("//") {
            return Err(bad("is not a `host[:port][/namespace]` name"));
        }
        Ok(trimmed)
    }

    fn document(&mut self, root: &DeTable<'_>) -> Result<Vec<(Range<usize>, Registry)>, RegistriesConfError> {
        let mut registries = Vec::new();
        let mut v1: Vec<(Range<usize>, Registry)> = Vec::new();
        for (key, value) in root.iter() {
            match key.get_ref().as_ref() {
                "registry" => {
                    for table in self.tables("registry", value)? {
                        registries.push((table.span(), self.registry(table)?));
                    }
                }
                "registries" => v1 = self.v1(value)?,
                "unqualified-search-registries" | "credential-helpers" => {
                    self.strings(key.get_ref(), value)?;
                }
                "short-name-mode" => {
                    let mode = self.string("short-name-mode", value)?;
                    if !matches!(mode.as_str(), "" | "enforcing" | "permissive" | "disabled") {
                        return Err(self.invalid(
                            value.span(),
                            format!("`short-name-mode` \"{mode}\" must be enforcing, permissive or disabled"),
                        ));
                    }
                }
                "additional-layer-store-auth-helper" => {
                    self.string(key.get_ref(), value)?;
                }
                "aliases" => {
                    let DeValue::Table(aliases) = value.get_ref() else {
                        return Err(self.invalid(value.span(), "`aliases` must be a table of name = \"reference\""));
                    };
                    for (name, target) in aliases.iter() {
                        self.string(name.get_ref(), target)?;
                    }
                }
                _ => self.unknown(key, ""),
            }
        }
        if !v1.is_empty() {
            if !registries.is_empty() {
                return Err(self.invalid(
                    v1[0].0.clone(),
                    "mixing the version 1 `[registries.*]` lists with version 2 `[[registry]]` tables is not supported",
                ));
            }
            return Ok(v1);
        }
        Ok(registries)
    }

    fn registry(&mut self, table: &Value<'_>) -> Result<Registry, RegistriesConfError> {
        let DeValue::Table(fields) = table.get_ref() else {
            unreachable!("checked by tables()")
        };
        let mut prefix: Option<(String, Range<usize>)> = None;
        let mut registry = Registry {
            prefix: String::new(),
            location: String::new(),
            insecure: false,
            blocked: false,
            mirror_by_digest_only: false,
            mirrors: Vec::new(),
        };
        for (key, value) in fields.iter() {
            match key.get_ref().as_ref() {
                "prefix" => prefix = Some((self.location("prefix", value)?, value.span())),
                "location" => registry.location = self.location("location", value)?,
                "insecure" => registry.insecure = self.boolean("insecure", value)?,
                "blocked" => registry.blocked = self.boolean("blocked", value)?,
                "mirror-by-digest-only" => {
                    registry.mirror_by_digest_only = self.boolean("mirror-by-digest-only", value)?
                }
                "mirror" => {
                    for mirror in self.tables("registry.mirror", value)? {
                        registry.mirrors.push(self.mirror(mirror)?);
                    }
                }
                "pull-from-mirror" => {
                    return Err(self.invalid(
                        key.span(),
                        "`pull-from-mirror` belongs in a `[[registry.mirror]]` table, not in `[[registry]]`",
                    ))
                }
                _ => self.unknown(key, " in [[registry]]"),
            }
        }

        registry.prefix = self.registry_prefix(prefix, &registry.location, table)?;
        if !registry.location.is_empty() {
            self.check_host(&registry.location, "location", table.span())?;
        }
        if registry.mirror_by_digest_only && registry.mirrors.iter().any(|m| m.usage.is_some()) {
            return Err(self.invalid(
                table.span(),
                format!(
                    "[[registry]] \"{}\" sets both `mirror-by-digest-only` and a mirror's `pull-from-mirror`; keep only one",
                    registry.prefix
                ),
            ));
        }
        Ok(registry)
    }

    /// The prefix a `[[registry]]` matches: a `*.` wildcard, an explicit prefix (with a location), or the location.
    fn registry_prefix(
        &mut self,
        prefix: Option<(String, Range<usize>)>,
        location: &str,
        table: &Value<'_>,
    ) -> Result<String, RegistriesConfError> {
        match prefix {
            Some((prefix, span)) if prefix.contains('*') => {
                let domain = prefix.strip_prefix("*.").unwrap_or("");
                if domain.is_empty() || domain.contains(['*', '/', ':', '@']) {
                    return Err(self.invalid(
                        span,
                        format!(
                            "wildcard prefix \"{prefix}\" must have the form `*.example.com` (a `*.` then a host name)"
                        ),
                    ));
                }
                Ok(prefix)
            }
            Some((prefix, span)) if !prefix.is_empty() => {
                if location.is_empty() {
                    return Err(self.invalid(
                        span,
                        format!("[[registry]] with prefix \"{prefix}\" needs a `location` (only `*.` wildcard prefixes may omit it)"),
                    ));
                }
                self.check_host(&prefix, "prefix", span)?;
                Ok(prefix)
            }
            _ if location.is_empty() => {
                Err(self.invalid(table.span(), "[[registry]] needs a `location` or a `prefix`"))
            }
            _ => Ok(location.to_string()),
        }
    }

    fn mirror(&mut self, table: &Value<'_>) -> Result<Mirror, RegistriesConfError> {
        let DeValue::Table(fields) = table.get_ref() else {
            unreachable!("checked by tables()")
        };
        let mut mirror = Mirror {
            location: String::new(),
            insecure: false,
            usage: None,
        };
        for (key, value) in fields.iter() {
            match key.get_ref().as_ref() {
                "location" => mirror.location = self.location("location", value)?,
                "insecure" => mirror.insecure = self.boolean("insecure", value)?,
                "pull-from-mirror" => {
                    mirror.usage = match self.string("pull-from-mirror", value)?.as_str() {
                        "" => None,
                        "all" => Some(MirrorUse::All),
                        "digest-only" => Some(MirrorUse::DigestOnly),
                        "tag-only" => Some(MirrorUse::TagOnly),
                        other => {
                            return Err(self.invalid(
                                value.span(),
                                format!("`pull-from-mirror` \"{other}\" must be all, digest-only or tag-only"),
                            ))
                        }
                    }
                }
                _ => self.unknown(key, " in [[registry.mirror]]"),
            }
        }
        if mirror.location.is_empty() {
            return Err(self.invalid(table.span(), "[[registry.mirror]] needs a `location`"));
        }
        self.check_host(&mirror.location, "mirror location", table.span())?;
        Ok(mirror)
    }

    /// The first component of a location must be a registry host, or rewritten references would be read as
    /// Docker Hub repositories.
    fn check_host(&self, location: &str, what: &str, span: Range<usize>) -> Result<(), RegistriesConfError> {
        let host = location.split(['/', '@']).next().unwrap_or("");
        let host_name = host.split(':').next().unwrap_or("");
        if host_name.contains('.') || host.contains(':') || host_name == "localhost" {
            Ok(())
        } else {
            Err(self.invalid(
                span,
                format!(
                    "{what} \"{location}\" must start with a registry host (with a `.` or a `:port`, or `localhost`)"
                ),
            ))
        }
    }

    /// Version 1: `[registries.search|insecure|block] registries = [...]`, hosts only.
    fn v1(&mut self, value: &Value<'_>) -> Result<Vec<(Range<usize>, Registry)>, RegistriesConfError> {
        let DeValue::Table(lists) = value.get_ref() else {
            return Err(self.invalid(value.span(), "`registries` must be a table (version 1 format)"));
        };
        let mut out: Vec<(Range<usize>, Registry)> = Vec::new();
        for (kind, list) in lists.iter() {
            let kind_name = kind.get_ref().as_ref();
            if !matches!(kind_name, "search" | "insecure" | "block") {
                self.unknown(kind, " in [registries]");
                continue;
            }
            let DeValue::Table(fields) = list.get_ref() else {
                return Err(self.invalid(list.span(), format!("`registries.{kind_name}` must be a table")));
            };
            for (key, hosts) in fields.iter() {
                if key.get_ref() != "registries" {
                    self.unknown(key, &format!(" in [registries.{kind_name}]"));
                    continue;
                }
                for host in self.strings("registries", hosts)? {
                    let host = host.trim_end_matches('/').to_string();
                    if kind_name == "search" {
                        continue;
                    }
                    let index = match out.iter().position(|(_, r)| r.location == host) {
                        Some(i) => i,
                        None => {
                            out.push((
                                hosts.span(),
                                Registry {
                                    prefix: host.clone(),
                                    location: host.clone(),
                                    insecure: false,
                                    blocked: false,
                                    mirror_by_digest_only: false,
                                    mirrors: Vec::new(),
                                },
                            ));
                            out.len() - 1
                        }
                    };
                    match kind_name {
                        "insecure" => out[index].1.insecure = true,
                        _ => out[index].1.blocked = true,
                    }
                }
            }
        }
        Ok(out)
    }

    /// A location may appear in several tables (different prefixes), but with one `insecure` and one `blocked`.
    fn check_conflicts(&self, registries: &[(Range<usize>, Registry)]) -> Result<(), RegistriesConfError> {
        for (i, (span, a)) in registries.iter().enumerate() {
            if a.location.is_empty() {
                continue;
            }
            for (_, b) in &registries[..i] {
                if b.location != a.location {
                    continue;
                }
                let setting = if a.insecure != b.insecure {
                    "insecure"
                } else if a.blocked != b.blocked {
                    "blocked"
                } else {
                    continue;
                };
                return Err(self.invalid(
                    span.clone(),
                    format!(
                        "registry \"{}\" is defined several times with conflicting `{setting}` settings",
                        a.location
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> RegistriesConf {
        RegistriesConf::parse(text, Path::new("registries.conf")).unwrap()
    }

    fn err(text: &str) -> RegistriesConfError {
        RegistriesConf::parse(text, Path::new("/etc/test/registries.conf")).unwrap_err()
    }

    fn r(s: &str) -> ImageReference {
        s.parse().unwrap()
    }

    /// Sources as `reference` strings, mirrors marked with `m:` and insecure ones with `!`.
    fn sources(conf: &RegistriesConf, reference: &str) -> Vec<String> {
        conf.pull_sources(&r(reference))
            .into_iter()
            .map(|s| {
                format!(
                    "{}{}{}",
                    if s.is_mirror { "m:" } else { "" },
                    if s.insecure { "!" } else { "" },
                    s.reference
                )
            })
            .collect()
    }

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn no_configuration_pulls_from_the_reference() {
        let empty = RegistriesConf::empty();
        assert_eq!(sources(&empty, "quay.io/a/b:1"), vec!["quay.io/a/b:1"]);
        assert!(!empty.is_blocked(&r("quay.io/a/b")));
        assert!(RegistriesConf::load_with(None, None).unwrap().is_empty());
        assert!(RegistriesConf::load_with(None, Some(OsString::new()))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn the_manual_page_example_rewrites_mirrors_and_location() {
        let conf = conf(
            r#"
unqualified-search-registries = ["example.com"]
short-name-mode = "enforcing"
credential-helpers = ["containers-auth.json"]

[aliases]
"myimage" = "example.com/foo/myimage"

[[registry]]
prefix = "example.com/foo"
insecure = false
blocked = false
location = "internal-registry-for-example.com/bar"

[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"

[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true
"#,
        );
        assert_eq!(
            sources(&conf, "example.com/foo/image:latest"),
            vec![
                "m:example-mirror-0.local/mirror-for-foo/image:latest",
                "m:!example-mirror-1.local/mirrors/foo/image:latest",
                "internal-registry-for-example.com/bar/image:latest",
            ]
        );
        assert_eq!(
            sources(&conf, "example.com/foobar/image:1"),
            vec!["example.com/foobar/image:1"]
        );
        assert!(conf.warnings().is_empty(), "{:?}", conf.warnings());
    }

    #[test]
    fn the_longest_prefix_wins_at_component_boundaries() {
        let conf = conf(
            r#"
[[registry]]
location = "quay.io"
[[registry.mirror]]
location = "mirror.local/quay"

[[registry]]
prefix = "quay.io/openshift-release-dev"
location = "quay.io/openshift-release-dev"
[[registry.mirror]]
location = "mirror.local:5000/ocp"

[[registry]]
prefix = "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64"
location = "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64"
[[registry.mirror]]
location = "pinned.local/release:4.15"
"#,
        );
        assert_eq!(
            sources(&conf, "quay.io/org/app:1"),
            vec!["m:mirror.local/quay/org/app:1", "quay.io/org/app:1"]
        );
        assert_eq!(
            sources(
                &conf,
                &format!("quay.io/openshift-release-dev/ocp-v4.0-art-dev@{DIGEST}")
            ),
            vec![
                format!("m:mirror.local:5000/ocp/ocp-v4.0-art-dev@{DIGEST}"),
                format!("quay.io/openshift-release-dev/ocp-v4.0-art-dev@{DIGEST}"),
            ]
        );
        assert_eq!(
            sources(&conf, "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64")[0],
            "m:pinned.local/release:4.15"
        );
        // `:4.15.0-x86_64` is a tag boundary; `openshift-release-devel` is not a path boundary.
        assert_eq!(
            sources(&conf, "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64-extra")[0],
            "m:mirror.local:5000/ocp/ocp-release:4.15.0-x86_64-extra"
        );
        assert_eq!(
            sources(&conf, "quay.io/openshift-release-devel/x:1")[0],
            "m:mirror.local/quay/openshift-release-devel/x:1"
        );
        // A host prefix does not match the same host with a port.
        assert_eq!(sources(&conf, "quay.io:443/org/app:1"), vec!["quay.io:443/org/app:1"]);
    }

    #[test]
    fn docker_hub_references_match_with_their_library_namespace() {
        let conf = conf(
            r#"
[[registry]]
prefix = "docker.io/library"
location = "hub-mirror.local/library"
"#,
        );
        assert_eq!(sources(&conf, "busybox:1"), vec!["hub-mirror.local/library/busybox:1"]);
        assert_eq!(sources(&conf, "docker.io/org/app:1"), vec!["docker.io/org/app:1"]);
    }

    #[test]
    fn digest_only_and_tag_only_mirrors() {
        let conf = conf(
            r#"
[[registry]]
location = "registry.redhat.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "mirror.local/rh"

[[registry]]
location = "quay.io"
[[registry.mirror]]
location = "digest.local/q"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "tag.local/q"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "all.local/q"
pull-from-mirror = "all"
"#,
        );
        let by_digest = format!("registry.redhat.io/ubi9/ubi@{DIGEST}");
        assert_eq!(
            sources(&conf, &by_digest),
            vec![format!("m:mirror.local/rh/ubi9/ubi@{DIGEST}"), by_digest.clone()]
        );
        assert_eq!(
            sources(&conf, "registry.redhat.io/ubi9/ubi:9"),
            vec!["registry.redhat.io/ubi9/ubi:9"]
        );

        assert_eq!(
            sources(&conf, &format!("quay.io/a/b@{DIGEST}")),
            vec![
                format!("m:digest.local/q/a/b@{DIGEST}"),
                format!("m:all.local/q/a/b@{DIGEST}"),
                format!("quay.io/a/b@{DIGEST}"),
            ]
        );
        assert_eq!(
            sources(&conf, "quay.io/a/b:1"),
            vec!["m:tag.local/q/a/b:1", "m:all.local/q/a/b:1", "quay.io/a/b:1"]
        );
        // Tag and digest together: the digest decides.
        assert_eq!(
            sources(&conf, &format!("quay.io/a/b:1@{DIGEST}"))[0],
            format!("m:digest.local/q/a/b:1@{DIGEST}")
        );
    }

    #[test]
    fn wildcard_prefixes_match_sub_domains() {
        let conf = conf(
            r#"
[[registry]]
prefix = "*.example.com"
insecure = true
[[registry.mirror]]
location = "mirror.local/ex"

[[registry]]
prefix = "*.internal.example.com"
location = "relocated.local/internal"

[[registry]]
prefix = "*.blocked.io"
blocked = true
"#,
        );
        assert_eq!(
            sources(&conf, "a.example.com/ns/app:1"),
            vec!["m:mirror.local/ex/ns/app:1", "!a.example.com/ns/app:1"]
        );
        assert_eq!(sources(&conf, "x.y.example.com/app:1")[1], "!x.y.example.com/app:1");
        assert_eq!(
            sources(&conf, "example.com/app:1"),
            vec!["example.com/app:1"],
            "the bare domain is not a sub-domain"
        );
        assert_eq!(
            sources(&conf, "a.example.com:5000/app:1"),
            vec!["a.example.com:5000/app:1"]
        );
        assert_eq!(sources(&conf, "notexample.com/app:1"), vec!["notexample.com/app:1"]);
        // The longer wildcard wins and rewrites the host.
        assert_eq!(
            sources(&conf, "r.internal.example.com/ns/app:1"),
            vec!["relocated.local/internal/ns/app:1"]
        );
        assert!(conf.is_blocked(&r("c.blocked.io/app")));
        assert!(conf.pull_sources(&r("c.blocked.io/app")).is_empty());
    }

    #[test]
    fn blocked_registries_keep_their_mirrors() {
        let conf = conf(
            r#"
[[registry]]
location = "quay.io"
blocked = true
mirror-by-digest-only = true
[[registry.mirror]]
location = "mirror.local/quay"
[[registry.mirror]]
location = "forbidden.io/quay"

[[registry]]
location = "forbidden.io"
blocked = true

[[registry]]
location = "mirror.local"
insecure = true
"#,
        );
        let reference = r(&format!("quay.io/org/app@{DIGEST}"));
        assert!(conf.is_blocked(&reference));
        assert!(!conf.is_blocked(&r("mirror.local/quay/org/app")));
        // The second mirror is itself blocked; the first is insecure through its own [[registry]] table.
        assert_eq!(
            sources(&conf, &reference.to_string()),
            vec![format!("m:!mirror.local/quay/org/app@{DIGEST}")]
        );
        assert!(
            conf.pull_sources(&r("quay.io/org/app:1")).is_empty(),
            "tags use no mirror and the source is blocked"
        );
    }

    #[test]
    fn insecure_location_applies_to_the_original() {
        let conf = conf("[[registry]]\nlocation = \"localhost:5000\"\ninsecure = true\n");
        let sources = conf.pull_sources(&r("localhost:5000/app:1"));
        assert_eq!(
            sources,
            vec![PullSource {
                reference: r("localhost:5000/app:1"),
                insecure: true,
                is_mirror: false
            }]
        );
    }

    #[test]
    fn version_1_lists_are_accepted() {
        let conf = conf(
            r#"
[registries.search]
registries = ["registry.access.redhat.com"]
[registries.insecure]
registries = ["insecure.local:5000"]
[registries.block]
registries = ["docker.io"]
"#,
        );
        assert!(conf.is_blocked(&r("busybox")));
        assert_eq!(
            sources(&conf, "insecure.local:5000/a:1"),
            vec!["!insecure.local:5000/a:1"]
        );
        let mixed = err("[registries.block]\nregistries = [\"a.io\"]\n[[registry]]\nlocation = \"b.io\"\n");
        assert!(mixed.to_string().contains("mixing"), "{mixed}");
    }

    #[test]
    fn malformed_toml_is_reported_with_file_and_line() {
        let e = err("[[registry]]\nlocation = \"quay.io\"\nblocked = tru\n");
        let RegistriesConfError::Syntax { line, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(*line, 3);
        let shown = e.to_string();
        assert!(shown.starts_with("/etc/test/registries.conf:3:"), "{shown}");
        assert!(shown.contains("help:"), "{shown}");
    }

    #[test]
    fn invalid_settings_are_reported_with_their_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("[[registry]]\nlocation = \"quay.io\"\ninsecure = \"yes\"\n", 3, "true or false"),
            ("\n[[registry]]\nlocation = \"https://quay.io\"\n", 3, "scheme"),
            ("[[registry]]\nprefix = \"quay.io\"\n", 2, "needs a `location`"),
            ("[[registry]]\nprefix = \"foo.*.com\"\n", 2, "*.example.com"),
            ("[[registry]]\nprefix = \"*.example.com/ns\"\n", 2, "*.example.com"),
            ("[[registry]]\nlocation = \"quay.io\"\n[[registry.mirror]]\ninsecure = true\n", 3, "needs a `location`"),
            (
                "[[registry]]\nlocation = \"quay.io\"\n[[registry.mirror]]\nlocation = \"m.local\"\npull-from-mirror = \"sometimes\"\n",
                5,
                "digest-only",
            ),
            (
                "[[registry]]\nlocation = \"quay.io\"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = \"m.local\"\npull-from-mirror = \"tag-only\"\n",
                1,
                "both",
            ),
            ("[[registry]]\nlocation = \"quay.io\"\npull-from-mirror = \"all\"\n", 3, "[[registry.mirror]]"),
            ("[[registry]]\nlocation = \"quay.io\"\n[[registry]]\nlocation = \"quay.io\"\ninsecure = true\n", 3, "conflicting"),
            ("[[registry]]\nlocation = \"quay.io\"\n[[registry.mirror]]\nlocation = \"mirror/quay\"\n", 3, "registry host"),
            ("short-name-mode = \"sometimes\"\n", 1, "enforcing"),
        ];
        for (text, line, needle) in cases {
            let e = err(text);
            let shown = e.to_string();
            assert!(shown.contains(needle), "{text}: {shown}");
            match &e {
                RegistriesConfError::Invalid { line: got, .. } | RegistriesConfError::Syntax { line: got, .. } => {
                    assert_eq!(got, line, "{text}: {shown}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn unknown_keys_are_warnings() {
        let conf = conf("colour = 1\n[[registry]]\nlocation = \"quay.io\"\nmirror-by-digest-onyl = true\n");
        assert_eq!(conf.warnings().len(), 2, "{:?}", conf.warnings());
        assert!(
            conf.warnings()[1].contains("registries.conf:4: unknown key `mirror-by-digest-onyl`"),
            "{:?}",
            conf.warnings()
        );
    }

    #[test]
    fn load_reads_the_explicit_file_then_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let explicit = dir.path().join("explicit.conf");
        let from_env = dir.path().join("env.conf");
        std::fs::write(&explicit, "[[registry]]\nlocation = \"a.io\"\nblocked = true\n").unwrap();
        std::fs::write(&from_env, "[[registry]]\nlocation = \"b.io\"\nblocked = true\n").unwrap();

        let conf = RegistriesConf::load_with(Some(&explicit), Some(from_env.clone().into())).unwrap();
        assert!(conf.is_blocked(&r("a.io/x")) && !conf.is_blocked(&r("b.io/x")));
        let conf = RegistriesConf::load_with(None, Some(from_env.clone().into())).unwrap();
        assert!(conf.is_blocked(&r("b.io/x")));

        let missing = dir.path().join("missing.conf");
        let e = RegistriesConf::load_with(Some(&missing), None).unwrap_err();
        assert!(matches!(e, RegistriesConfError::Read { .. }));
        assert!(e.to_string().contains(&missing.display().to_string()));
        assert!(RegistriesConf::load_with(None, Some(missing.into())).is_err());
    }
}
