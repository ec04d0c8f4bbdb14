//! Reading configuration files: document checks (one YAML document, `apiVersion`, `kind`), typed parsing with
//! serde errors turned into located [`Problem`]s, then validation.

use std::path::Path;

use super::error::{ConfigError, Location, Problem};
use super::locate::{locate, FieldPath};
use super::model::{ApiVersion, DeleteImageSetConfiguration, ImageSetConfiguration, KIND_DELETE, KIND_IMAGESET};
use super::validate::Issue;

/// Either kind of configuration file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AnyConfig {
    ImageSet(ImageSetConfiguration),
    Delete(DeleteImageSetConfiguration),
}

/// Reads, parses and validates a configuration of either kind.
pub(crate) fn load_any(path: &Path) -> Result<AnyConfig, ConfigError> {
    let text = read(path)?;
    parse_any(&text, path)
}

/// Reads, parses and validates an ImageSetConfiguration; a DeleteImageSetConfiguration is an error here.
pub(crate) fn load_imageset(path: &Path) -> Result<ImageSetConfiguration, ConfigError> {
    let text = read(path)?;
    parse_imageset(&text, path)
}

/// Parses and validates configuration text of either kind; `origin` names the file in messages.
pub(crate) fn parse_any(text: &str, origin: &Path) -> Result<AnyConfig, ConfigError> {
    let source = Source { text, origin };
    let (version, kind) = source.check_document(None)?;
    match kind {
        DocKind::ImageSet => source.finish_imageset(version).map(AnyConfig::ImageSet),
        DocKind::Delete => source.finish_delete(version).map(AnyConfig::Delete),
    }
}

/// Parses and validates an ImageSetConfiguration; `origin` names the file in messages.
pub(crate) fn parse_imageset(text: &str, origin: &Path) -> Result<ImageSetConfiguration, ConfigError> {
    let source = Source { text, origin };
    let (version, _) = source.check_document(Some(DocKind::ImageSet))?;
    source.finish_imageset(version)
}

/// Parses and validates a DeleteImageSetConfiguration; `origin` names the file in messages.
pub(crate) fn parse_delete(text: &str, origin: &Path) -> Result<DeleteImageSetConfiguration, ConfigError> {
    let source = Source { text, origin };
    let (version, _) = source.check_document(Some(DocKind::Delete))?;
    source.finish_delete(version)
}

fn read(path: &Path) -> Result<String, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| {
        let help = match source.kind() {
            std::io::ErrorKind::NotFound => {
                "check the path given with -c/--config; `ferry init > imageset-config.yaml` writes a starting point"
            }
            std::io::ErrorKind::PermissionDenied => {
                "make the file readable by this user, or copy it somewhere readable"
            }
            _ if path.is_dir() => "give the path of the YAML file itself, not of its directory",
            _ => "check that the path names a readable YAML file",
        };
        ConfigError::Io {
            file: path.to_path_buf(),
            source,
            help: help.to_string(),
        }
    })?;
    String::from_utf8(bytes).map_err(|e| ConfigError::Io {
        file: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
        help: "save the configuration as UTF-8 text".to_string(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocKind {
    ImageSet,
    Delete,
}

impl DocKind {
    fn name(self) -> &'static str {
        match self {
            DocKind::ImageSet => KIND_IMAGESET,
            DocKind::Delete => KIND_DELETE,
        }
    }

    fn with_article(self) -> &'static str {
        match self {
            DocKind::ImageSet => "an ImageSetConfiguration",
            DocKind::Delete => "a DeleteImageSetConfiguration",
        }
    }

    /// The section that holds the content of this kind.
    fn section(self) -> &'static str {
        match self {
            DocKind::ImageSet => "mirror",
            DocKind::Delete => "delete",
        }
    }
}

struct Source<'a> {
    text: &'a str,
    origin: &'a Path,
}

impl Source<'_> {
    fn at(&self, line: usize, column: usize) -> Location {
        Location {
            file: self.origin.to_path_buf(),
            line,
            column,
        }
    }

    fn problem_at_path(&self, field: &str, message: String, help: String) -> Problem {
        let found = locate(self.text, &FieldPath::parse(field));
        Problem {
            at: self.at(found.line, found.column),
            field: field.to_string(),
            message,
            help,
        }
    }

    fn issues_to_error(&self, issues: Vec<Issue>) -> Result<(), ConfigError> {
        if issues.is_empty() {
            return Ok(());
        }
        let mut problems: Vec<Problem> = issues
            .into_iter()
            .map(|issue| self.problem_at_path(&issue.field, issue.message, issue.help))
            .collect();
        problems.sort_by_key(|p| (p.at.line, p.at.column));
        Err(ConfigError::Invalid(problems))
    }

    fn finish_imageset(&self, version: ApiVersion) -> Result<ImageSetConfiguration, ConfigError> {
        let isc: ImageSetConfiguration = serde_yaml::from_str(self.text).map_err(|e| self.schema_error(&e, version))?;
        self.issues_to_error(isc.check())?;
        Ok(isc)
    }

    fn finish_delete(&self, version: ApiVersion) -> Result<DeleteImageSetConfiguration, ConfigError> {
        let dsc: DeleteImageSetConfiguration =
            serde_yaml::from_str(self.text).map_err(|e| self.schema_error(&e, version))?;
        self.issues_to_error(dsc.check())?;
        Ok(dsc)
    }

    /// One YAML document, a mapping, with a supported `apiVersion` and `kind` (the expected one when given),
    /// and the content section of that kind.
    fn check_document(&self, expected: Option<DocKind>) -> Result<(ApiVersion, DocKind), ConfigError> {
        let root = self.single_document()?;
        let serde_yaml::Value::Mapping(map) = &root else {
            let found = locate(self.text, &FieldPath::default());
            return Err(ConfigError::Schema(Problem {
                at: self.at(found.line, found.column),
                field: String::new(),
                message: format!("the document is {}, not a mapping", describe(&root)),
                help: "a configuration is a mapping with `kind`, `apiVersion` and `mirror` (or `delete`); \
                       `ferry init` prints a commented example"
                    .to_string(),
            }));
        };
        let version = self.check_api_version(map.get("apiVersion"))?;
        let kind = self.check_kind(map.get("kind"), expected)?;
        let section = kind.section();
        let other = match kind {
            DocKind::ImageSet => DocKind::Delete,
            DocKind::Delete => DocKind::ImageSet,
        };
        if map.contains_key(other.section()) {
            return Err(ConfigError::Schema(self.problem_at_path(
                other.section(),
                format!("`{}` is not allowed in a {}", other.section(), kind.name()),
                format!(
                    "a {} lists its content under `{section}`; `{}` belongs in a {}",
                    kind.name(),
                    other.section(),
                    other.name()
                ),
            )));
        }
        if !map.contains_key(section) {
            let misspelt = map
                .keys()
                .filter_map(|k| k.as_str())
                .find(|k| did_you_mean(k, &[section.to_string()]).is_some());
            if let Some(key) = misspelt {
                return Err(ConfigError::Schema(self.problem_at_path(
                    key,
                    format!("unknown field `{key}`"),
                    format!(
                        "did you mean `{section}`? a {} lists its content under `{section}`",
                        kind.name()
                    ),
                )));
            }
            return Err(ConfigError::Schema(self.problem_at_path(
                "",
                format!("the configuration has no `{section}` section"),
                format!("add `{section}:` with the content to {section} (see `ferry init`)"),
            )));
        }
        Ok((version, kind))
    }

    fn single_document(&self) -> Result<serde_yaml::Value, ConfigError> {
        use serde::Deserialize;
        let mut documents = Vec::new();
        for document in serde_yaml::Deserializer::from_str(self.text) {
            let value = serde_yaml::Value::deserialize(document).map_err(|e| self.syntax_error(&e))?;
            documents.push(value);
        }
        match documents.len() {
            0 => Err(self.empty_error()),
            1 => {
                let value = documents.pop().unwrap_or_default();
                if value.is_null() {
                    Err(self.empty_error())
                } else {
                    Ok(value)
                }
            }
            n => {
                let (line, column) = second_document_marker(self.text).unwrap_or((1, 1));
                Err(ConfigError::Syntax(Problem {
                    at: self.at(line, column),
                    field: String::new(),
                    message: format!("the file holds {n} YAML documents; a configuration file holds exactly one"),
                    help: "split the documents (separated by `---` lines) into one file each".to_string(),
                }))
            }
        }
    }

    fn empty_error(&self) -> ConfigError {
        ConfigError::Syntax(Problem {
            at: self.at(1, 1),
            field: String::new(),
            message: "the file has no configuration in it".to_string(),
            help: "`ferry init` prints a commented ImageSetConfiguration to start from".to_string(),
        })
    }

    fn check_api_version(&self, value: Option<&serde_yaml::Value>) -> Result<ApiVersion, ConfigError> {
        let accepted = format!(
            "use `apiVersion: {}` (`{}`, oc-mirror v1's format, loads too)",
            ApiVersion::V2Alpha1,
            ApiVersion::V1Alpha2
        );
        let Some(value) = value else {
            return Err(ConfigError::UnsupportedVersion(self.problem_at_path(
                "",
                "the configuration has no `apiVersion`".to_string(),
                accepted,
            )));
        };
        let text = value.as_str().unwrap_or_default();
        if let Some(version) = ApiVersion::parse(text) {
            return Ok(version);
        }
        let (message, help) = if text.trim() == "mirror.openshift.io/v1alpha1" {
            (
                "apiVersion `mirror.openshift.io/v1alpha1` (oc-mirror's first format) is not supported".to_string(),
                format!(
                    "change it to `apiVersion: {}` and rename the fields that changed: `ocp` became `platform`, \
                     `headsOnly: false` became `full: true`, `startingVersion` became `minVersion`, helm `repos` \
                     became `repositories`",
                    ApiVersion::V2Alpha1
                ),
            )
        } else {
            (format!("unknown apiVersion `{}`", scalar_text(value)), accepted)
        };
        Err(ConfigError::UnsupportedVersion(self.problem_at_path(
            "apiVersion",
            message,
            help,
        )))
    }

    fn check_kind(&self, value: Option<&serde_yaml::Value>, expected: Option<DocKind>) -> Result<DocKind, ConfigError> {
        let accepted = match expected {
            Some(kind) => format!("this command reads `kind: {}`", kind.name()),
            None => format!("use `kind: {KIND_IMAGESET}` (or `kind: {KIND_DELETE}` for `ferry delete`)"),
        };
        let Some(value) = value else {
            return Err(ConfigError::WrongKind(self.problem_at_path(
                "",
                "the configuration has no `kind`".to_string(),
                accepted,
            )));
        };
        let text = value.as_str().unwrap_or_default().trim();
        let kind = match text {
            KIND_IMAGESET => Some(DocKind::ImageSet),
            KIND_DELETE => Some(DocKind::Delete),
            _ => None,
        };
        match (kind, expected) {
            (Some(kind), None) => Ok(kind),
            (Some(kind), Some(wanted)) if kind == wanted => Ok(kind),
            (Some(kind), Some(wanted)) => Err(ConfigError::WrongKind(self.problem_at_path(
                "kind",
                format!("this file is {}, not {}", kind.with_article(), wanted.with_article()),
                match wanted {
                    DocKind::ImageSet => "mirroring reads an ImageSetConfiguration; pass this file to `ferry delete`",
                    DocKind::Delete => "deletion reads a DeleteImageSetConfiguration, with the content under `delete`",
                }
                .to_string(),
            ))),
            (None, _) if text == "DeleteImageList" => Err(ConfigError::WrongKind(self.problem_at_path(
                "kind",
                "`DeleteImageList` is the list of images that `oc-mirror delete --generate` writes, not a configuration"
                    .to_string(),
                format!("give a `{KIND_DELETE}` (what to delete) or an `{KIND_IMAGESET}` (what to mirror)"),
            ))),
            (None, _) => Err(ConfigError::WrongKind(self.problem_at_path(
                "kind",
                format!("unknown kind `{}`", scalar_text(value)),
                accepted,
            ))),
        }
    }

    fn syntax_error(&self, error: &serde_yaml::Error) -> ConfigError {
        let (mut line, mut column) = error.location().map_or((1, 1), |l| (l.line(), l.column()));
        let message = strip_positions(&error.to_string());
        let duplicate = message
            .split_once("duplicate entry with key \"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(key, _)| key.to_string());
        if let Some((dup_line, dup_column)) = duplicate.as_deref().and_then(|key| repeated_key(self.text, key)) {
            (line, column) = (dup_line, dup_column);
        }
        let line_text = self.text.lines().nth(line.saturating_sub(1)).unwrap_or("");
        let help = if let Some(key) = duplicate {
            format!("`{key}` appears twice in the same mapping: keep one `{key}:` and put everything under it")
        } else if line_text.contains('\t') {
            "YAML indents with spaces only: replace the tab characters on this line with spaces".to_string()
        } else if message.contains("more than one document") {
            "split the documents (separated by `---` lines) into one file each".to_string()
        } else {
            "check the indentation and quoting on this line and the one before; a mapping entry is `key: value` \
             with a space after the colon, and list items start with `- `"
                .to_string()
        };
        ConfigError::Syntax(Problem {
            at: self.at(line, column),
            field: String::new(),
            message: format!("invalid YAML: {message}"),
            help,
        })
    }

    /// Turns a serde error (unknown field, wrong type, missing field...) into a located problem with help.
    fn schema_error(&self, error: &serde_yaml::Error, version: ApiVersion) -> ConfigError {
        let raw = strip_positions(&error.to_string());
        let (path, message) = split_path(&raw);
        // serde places errors raised inside a value's own deserializer at the enclosing mapping: locate those.
        let location = error
            .location()
            .filter(|_| !message.starts_with("unknown channel type"))
            .map(|l| (l.line(), l.column()));
        let (field, message, help) = explain(path, message, version);
        let (line, column) = location.unwrap_or_else(|| {
            let found = locate(self.text, &FieldPath::parse(&field));
            (found.line, found.column)
        });
        ConfigError::Schema(Problem {
            at: self.at(line, column),
            field,
            message,
            help,
        })
    }
}

/// Fields that exist only in oc-mirror v1's v1alpha2 format: not offered as valid in a v2alpha1 file.
const V1_ONLY_FIELDS: [&str; 5] = ["storageConfig", "targetName", "originalRef", "minBundle", "headsOnly"];
/// Lower-case spellings accepted for oc-mirror compatibility, never suggested.
const ALIASES: [&str; 2] = ["additionalimages", "blockedimages"];

/// Field path, message and help for one serde error message (already split from its path).
fn explain(path: &str, message: &str, version: ApiVersion) -> (String, String, String) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (unknown, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let help = unknown_field_help(path, unknown, expected, version);
        return (join(unknown), format!("unknown field `{unknown}`"), help);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let missing = rest.split('`').next().unwrap_or(rest);
        return (
            join(missing),
            format!("missing required field `{missing}`"),
            missing_field_help(missing),
        );
    }
    if let Some(rest) = message.strip_prefix("duplicate field `") {
        let duplicate = rest.split('`').next().unwrap_or(rest);
        return (
            join(duplicate),
            format!("`{duplicate}` is given more than once in this mapping"),
            "keep a single one".to_string(),
        );
    }
    if message.starts_with("unknown channel type") {
        let field = if path.ends_with(".type") {
            path.to_string()
        } else {
            join("type")
        };
        return (
            field,
            message.to_string(),
            "write `type: ocp` (the default), `type: okd`, or `type: fcos` for a Fedora CoreOS-style stream"
                .to_string(),
        );
    }
    let last_key = path
        .rsplit('.')
        .next()
        .map(|k| k.split('[').next().unwrap_or(k))
        .unwrap_or("");
    let help = field_help(last_key, path.ends_with(']'))
        .map_or_else(|| "see `ferry init` for an example".to_string(), str::to_string);
    (path.to_string(), message.to_string(), help)
}

/// The fields valid where `unknown` was written (a close one suggested first), or why it is not valid there.
fn unknown_field_help(path: &str, unknown: &str, expected: &str, version: ApiVersion) -> String {
    let mut valid: Vec<String> = backticked(expected)
        .into_iter()
        .filter(|f| !ALIASES.contains(&f.as_str()))
        .filter(|f| version == ApiVersion::V1Alpha2 || !V1_ONLY_FIELDS.contains(&f.as_str()))
        .collect();
    valid.dedup();
    let place = if path.is_empty() {
        "at the top level".to_string()
    } else {
        format!("in `{path}`")
    };
    let help = if valid.is_empty() {
        "this mapping takes no fields".to_string()
    } else {
        let names: Vec<String> = valid.iter().map(|f| format!("`{f}`")).collect();
        format!("valid fields {place}: {}", names.join(", "))
    };
    if let Some(suggestion) = did_you_mean(unknown, &valid) {
        format!("did you mean `{suggestion}`? {help}")
    } else if version == ApiVersion::V2Alpha1 && V1_ONLY_FIELDS.contains(&unknown) {
        format!("`{unknown}` exists only in oc-mirror v1's mirror.openshift.io/v1alpha2; {help}")
    } else {
        help
    }
}

/// What to add for a missing required field.
fn missing_field_help(missing: &str) -> String {
    match missing {
        "name" => "every entry here needs a `name`".to_string(),
        "catalog" => "each operator entry needs `catalog: registry/namespace/index:tag`".to_string(),
        "url" => "each helm repository needs the `url` of its index".to_string(),
        "mirror" => "add a `mirror:` section with the content to mirror".to_string(),
        "delete" => "add a `delete:` section with the content to delete".to_string(),
        "imageURL" => "give the metadata image as `imageURL: registry/ns/name:tag`".to_string(),
        "path" => "give the directory as `path: DIR`".to_string(),
        other => format!("add `{other}`"),
    }
}

/// What a field takes, for type errors.
fn field_help(key: &str, in_list: bool) -> Option<&'static str> {
    if in_list && key == "platforms" {
        return Some(
            "a platform is `os/architecture[/variant]` such as `linux/arm64`, or `{os: linux, architecture: arm64}`",
        );
    }
    if in_list && key == "architectures" {
        return Some("an architecture is one of `amd64`, `arm64`, `ppc64le`, `s390x`, `multi`");
    }
    if in_list && matches!(key, "imagePaths" | "valuesFiles") {
        return Some("each entry is a string");
    }
    Some(match key {
        "archiveSize" => "a whole number of GiB, at least 1, such as `archiveSize: 4`",
        "full" | "graph" | "shortestPath" | "skipDependencies" | "kubeVirtContainer" | "skipTLS" | "headsOnly" => {
            "`true` or `false`"
        }
        "minVersion" | "maxVersion" => "a version such as `4.16.3` (quoting it, `'4.16.3'`, is always safe)",
        "platforms" => "a list of platforms, such as `- linux/arm64` or `- {os: linux, architecture: arm64}`",
        "architectures" => "a list of `amd64`, `arm64`, `ppc64le`, `s390x` or `multi`",
        "operators" | "additionalImages" | "blockedImages" | "samples" | "channels" | "packages" | "bundles"
        | "charts" | "repositories" | "local" => "a list of entries, each starting with `- `",
        "imagePaths" | "valuesFiles" => "a list of strings",
        "values" => "a mapping of helm values",
        "type" => "`ocp`, `okd` or `fcos`",
        "mirror" | "delete" | "platform" | "helm" | "storageConfig" | "registry" => {
            "a mapping of fields (see `ferry init`)"
        }
        "name"
        | "catalog"
        | "targetCatalog"
        | "targetTag"
        | "targetRepo"
        | "targetName"
        | "url"
        | "path"
        | "version"
        | "release"
        | "defaultChannel"
        | "targetCatalogSourceTemplate"
        | "imageURL" => "a string",
        _ => return None,
    })
}

/// The words between backticks in serde's "expected one of `a`, `b`" list.
fn backticked(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// A valid field close to `unknown`: same letters in another case, or one or two edits away.
fn did_you_mean(unknown: &str, valid: &[String]) -> Option<String> {
    if let Some(same) = valid.iter().find(|v| v.eq_ignore_ascii_case(unknown)) {
        return Some(same.clone());
    }
    let limit = if unknown.len() > 5 { 2 } else { 1 };
    valid
        .iter()
        .map(|v| (edit_distance(&unknown.to_ascii_lowercase(), &v.to_ascii_lowercase()), v))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(current + 1);
            prev = current;
        }
    }
    row[b.len()]
}

/// Removes serde_yaml's ` at line L column C` / ` at position N` from a message (the location is reported apart).
fn strip_positions(message: &str) -> String {
    static POSITION: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r" at (line \d+ column \d+|position \d+)").expect("valid regex"));
    POSITION.replace_all(message, "").into_owned()
}

/// serde_yaml prefixes messages with the path of the value (`mirror.operators[0]: ...`) unless it is the root.
fn split_path(message: &str) -> (&str, &str) {
    if let Some((path, rest)) = message.split_once(": ") {
        let looks_like_path = !path.is_empty()
            && path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '[' | ']' | '_' | '-' | '?'));
        if looks_like_path {
            return (path, rest);
        }
    }
    ("", message)
}

/// Line and column of the second `key:` in one mapping (a key given twice), told apart from the same key in
/// sibling list items by the line that opens each mapping.
fn repeated_key(text: &str, key: &str) -> Option<(usize, usize)> {
    struct Entry<'a> {
        indent: usize,
        content_col: usize,
        is_item: bool,
        content: &'a str,
    }
    let lines: Vec<Option<Entry<'_>>> = text
        .lines()
        .map(|line| {
            let trimmed = line.trim_start_matches(' ');
            if trimmed.is_empty() || trimmed.starts_with('#') {
                return None;
            }
            let indent = line.len() - trimmed.len();
            let (is_item, content) = match trimmed.strip_prefix("- ") {
                Some(rest) => (true, rest.trim_start_matches(' ')),
                None => (false, trimmed),
            };
            Some(Entry {
                indent,
                content_col: line.len() - content.len(),
                is_item,
                content,
            })
        })
        .collect();
    let is_key = |content: &str| {
        let bare = content.trim_start_matches(['"', '\'']);
        bare.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start_matches(['"', '\'']).trim_start().starts_with(':'))
    };
    let mut seen = Vec::new();
    for (i, entry) in lines.iter().enumerate() {
        let Some(entry) = entry else { continue };
        if !is_key(entry.content) {
            continue;
        }
        let col = entry.content_col;
        let parent = if entry.is_item {
            Some(i)
        } else {
            (0..i).rev().find(|&j| {
                lines[j]
                    .as_ref()
                    .is_some_and(|p| (p.is_item && p.content_col == col) || p.indent < col)
            })
        };
        if seen.contains(&(parent, col)) {
            return Some((i + 1, col + 1));
        }
        seen.push((parent, col));
    }
    None
}

/// Line and column of the `---` that starts the second document.
fn second_document_marker(text: &str) -> Option<(usize, usize)> {
    let mut seen_content = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed.starts_with("--- ") {
            if seen_content {
                return Some((i + 1, 1));
            }
            continue;
        }
        let content = trimmed.trim_start();
        if !content.is_empty() && !content.starts_with('#') {
            seen_content = true;
        }
    }
    None
}

fn describe(value: &serde_yaml::Value) -> &'static str {
    match value {
        serde_yaml::Value::Null => "empty",
        serde_yaml::Value::Bool(_) => "a boolean",
        serde_yaml::Value::Number(_) => "a number",
        serde_yaml::Value::String(_) => "a string",
        serde_yaml::Value::Sequence(_) => "a list",
        serde_yaml::Value::Mapping(_) => "a mapping",
        serde_yaml::Value::Tagged(_) => "a tagged value",
    }
}

fn scalar_text(value: &serde_yaml::Value) -> String {
    match value {
        serde_yaml::Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn parse(text: &str) -> Result<AnyConfig, ConfigError> {
        parse_any(text, Path::new("isc.yaml"))
    }

    fn err(text: &str) -> (String, Problem) {
        let e = parse(text).expect_err("should fail");
        let p = e.problems().first().map(|p| (*p).clone()).expect("a problem");
        (e.to_string(), p)
    }

    const HEAD: &str = "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\n";

    #[test]
    fn loads_a_minimal_configuration() {
        let text = format!("{HEAD}mirror:\n  additionalImages:\n  - name: quay.io/a/b:1\n");
        let AnyConfig::ImageSet(isc) = parse(&text).unwrap() else {
            panic!("not an ImageSet")
        };
        assert_eq!(isc.spec.mirror.additional_images[0].name, "quay.io/a/b:1");
    }

    #[test]
    fn unknown_field_lists_valid_fields_and_suggests_the_closest() {
        let text = format!("{HEAD}mirror:\n  operators:\n  - catalog: quay.io/a/b:1\n    packages:\n    - name: p\n      minVersoin: 1.0.0\n");
        let (display, p) = err(&text);
        assert_eq!(p.field, "mirror.operators[0].packages[0].minVersoin");
        assert_eq!((p.at.line, p.at.column), (8, 7));
        assert_eq!(p.message, "unknown field `minVersoin`");
        assert!(p.help.starts_with("did you mean `minVersion`?"), "{}", p.help);
        assert!(p.help.contains("`defaultChannel`"), "{}", p.help);
        assert!(
            !p.help.contains("minBundle"),
            "v1-only fields are not offered in v2alpha1: {}",
            p.help
        );
        assert!(
            display.starts_with("isc.yaml:8:7: `mirror.operators[0].packages[0].minVersoin`"),
            "{display}"
        );
    }

    #[test]
    fn case_mistakes_are_pointed_out() {
        let (_, p) = err(&format!("{HEAD}mirror:\n  AdditionalImages: []\n"));
        assert!(p.help.starts_with("did you mean `additionalImages`?"), "{}", p.help);
    }

    #[test]
    fn v1_only_fields_are_rejected_in_v2alpha1() {
        let (_, p) = err(&format!(
            "{HEAD}storageConfig:\n  local:\n    path: /tmp\nmirror: {{}}\n"
        ));
        assert_eq!(p.field, "storageConfig");
        assert!(p.message.contains("oc-mirror v1"), "{}", p.message);
        let v1 = "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v1alpha2\nstorageConfig:\n  local:\n    path: /tmp\nmirror: {}\n";
        assert!(parse(v1).is_ok());
    }

    #[test]
    fn type_errors_say_what_the_field_takes() {
        let (display, p) = err(&format!("{HEAD}archiveSize: lots\nmirror: {{}}\n"));
        assert_eq!(p.field, "archiveSize");
        assert_eq!((p.at.line, p.at.column), (3, 14));
        assert!(p.message.contains("invalid type"), "{}", p.message);
        assert!(p.help.contains("whole number of GiB"), "{display}");
    }

    #[test]
    fn channel_types_are_explained() {
        let (_, p) = err(&format!(
            "{HEAD}mirror:\n  platform:\n    channels:\n    - name: a\n      type: rhel\n"
        ));
        assert_eq!(p.field, "mirror.platform.channels[0].type");
        assert_eq!((p.at.line, p.at.column), (7, 7));
        assert!(p.help.contains("`type: okd`"), "{}", p.help);
    }

    #[test]
    fn missing_fields_are_named() {
        let (_, p) = err(&format!("{HEAD}mirror:\n  operators:\n  - full: true\n"));
        assert_eq!(p.field, "mirror.operators[0].catalog");
        assert_eq!(p.message, "missing required field `catalog`");
    }

    #[test]
    fn platforms_accept_both_spellings_and_reject_nonsense() {
        let ok = format!("{HEAD}mirror:\n  additionalImages:\n  - name: quay.io/a/b:1\n    platforms: [linux/arm64/v8, {{os: linux, architecture: amd64}}]\n");
        assert!(parse(&ok).is_ok());
        let (_, p) = err(&format!(
            "{HEAD}mirror:\n  additionalImages:\n  - name: quay.io/a/b:1\n    platforms: [arm64]\n"
        ));
        assert!(
            p.field.starts_with("mirror.additionalImages[0].platforms"),
            "{}",
            p.field
        );
        assert!(p.message.contains("is not a platform"), "{}", p.message);
    }

    #[test]
    fn api_version_and_kind_are_checked_with_the_accepted_values() {
        let (display, p) = err("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v1alpha1\nmirror: {}\n");
        assert_eq!((p.at.line, p.field.as_str()), (2, "apiVersion"));
        assert!(p.message.contains("is not supported"), "{display}");
        assert!(p.help.contains("mirror.openshift.io/v2alpha1"), "{display}");
        let (_, p) = err("kind: ImageSetConfiguration\napiVersion: v1\nmirror: {}\n");
        assert!(p.message.contains("unknown apiVersion `v1`"), "{}", p.message);
        assert!(p.help.contains("v2alpha1") && p.help.contains("v1alpha2"), "{}", p.help);
        let (_, p) = err("kind: Pod\napiVersion: mirror.openshift.io/v2alpha1\nmirror: {}\n");
        assert_eq!((p.at.line, p.message.as_str()), (1, "unknown kind `Pod`"));
        assert!(p.help.contains("ImageSetConfiguration") && p.help.contains("DeleteImageSetConfiguration"));
        let (_, p) = err("apiVersion: mirror.openshift.io/v2alpha1\nmirror: {}\n");
        assert!(p.message.contains("no `kind`"), "{}", p.message);
    }

    #[test]
    fn sections_must_match_the_kind() {
        let (_, p) = err(&format!("{HEAD}delete: {{}}\nmirror: {{}}\n"));
        assert_eq!(p.field, "delete");
        assert!(p.message.contains("not allowed"), "{}", p.message);
        let (_, p) = err(HEAD);
        assert!(p.message.contains("no `mirror` section"), "{}", p.message);
        let (_, p) = err(&format!("{HEAD}mirrors: {{}}\n"));
        assert_eq!((p.field.as_str(), p.at.line), ("mirrors", 3));
        assert!(p.help.starts_with("did you mean `mirror`?"), "{}", p.help);
    }

    #[test]
    fn load_imageset_rejects_a_delete_configuration() {
        let text = "kind: DeleteImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\ndelete:\n  additionalImages:\n  - name: quay.io/a/b:1\n";
        let e = parse_imageset(text, Path::new("d.yaml")).unwrap_err();
        assert!(matches!(e, ConfigError::WrongKind(_)));
        assert!(
            e.to_string()
                .contains("is a DeleteImageSetConfiguration, not an ImageSetConfiguration"),
            "{e}"
        );
        assert!(matches!(parse(text), Ok(AnyConfig::Delete(_))));
        assert!(parse_delete(text, Path::new("d.yaml")).is_ok());
    }

    #[test]
    fn syntax_errors_are_located() {
        let text = format!("{HEAD}mirror:\n  operators:\n  - catalog: a\n   packages: []\n");
        let e = parse(&text).unwrap_err();
        assert!(matches!(e, ConfigError::Syntax(_)), "{e}");
        let p = e.problems()[0];
        assert_eq!(p.at.line, 6);
        assert!(p.message.starts_with("invalid YAML:"), "{}", p.message);
        assert!(!p.message.contains(" at line "), "{}", p.message);
        let tabbed = format!("{HEAD}mirror:\n\tadditionalImages: []\n");
        assert!(parse(&tabbed).unwrap_err().to_string().contains("tab"));
    }

    #[test]
    fn a_key_given_twice_is_located_at_its_second_occurrence() {
        let text = format!("{HEAD}mirror:\narchiveSize: 1\nmirror:\n  additionalImages: []\n");
        let e = parse(&text).unwrap_err();
        let p = e.problems()[0];
        assert_eq!((p.at.line, p.at.column), (5, 1), "{e}");
        assert!(p.help.contains("`mirror` appears twice"), "{e}");
        let items = "x:\n- name: a\n  tag: 1\n- name: b\n  other: 2\n  name: c\n";
        assert_eq!(repeated_key(items, "name"), Some((6, 3)));
        assert_eq!(repeated_key("a:\n  - name: x\n  - name: y\n", "name"), None);
    }

    #[test]
    fn empty_and_multi_document_files_are_refused() {
        assert!(parse("").unwrap_err().to_string().contains("no configuration in it"));
        assert!(parse("# nothing\n")
            .unwrap_err()
            .to_string()
            .contains("no configuration in it"));
        let two = format!("{HEAD}mirror: {{}}\n---\n{HEAD}mirror: {{}}\n");
        let e = parse(&two).unwrap_err();
        assert!(e.to_string().contains("holds 2 YAML documents"), "{e}");
        assert_eq!(e.location().unwrap().line, 4);
        let leading = format!("# comment\n---\n{HEAD}mirror: {{}}\n");
        assert!(parse(&leading).is_ok());
    }

    #[test]
    fn io_errors_name_the_file() {
        let e = load_any(Path::new("/nonexistent/isc.yaml")).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("/nonexistent/isc.yaml: cannot read"), "{text}");
        assert!(text.contains("ferry init"), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let e = load_any(dir.path()).unwrap_err();
        assert!(e.to_string().contains("not of its directory"), "{e}");
    }

    #[test]
    fn validation_problems_are_located_by_field_path() {
        let text = format!("{HEAD}mirror:\n  operators:\n  - catalog: quay.io/a/b:1\n    packages:\n    - name: p\n      minVersion: 2.0.0\n      maxVersion: 1.0.0\n");
        let e = parse(&text).unwrap_err();
        assert!(matches!(e, ConfigError::Invalid(_)), "{e}");
        let p = e.problems()[0];
        assert_eq!(p.field, "mirror.operators[0].packages[0].minVersion");
        assert_eq!((p.at.line, p.at.column), (8, 7));
        assert_eq!(p.at.file, PathBuf::from("isc.yaml"));
    }

    #[test]
    fn paths_are_split_from_messages() {
        assert_eq!(
            split_path("mirror.operators[0]: missing field `x`"),
            ("mirror.operators[0]", "missing field `x`")
        );
        assert_eq!(
            split_path("invalid type: string, expected u64"),
            ("", "invalid type: string, expected u64")
        );
        assert_eq!(
            strip_positions("bad at line 3 column 4, while x at line 1 column 1"),
            "bad, while x"
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(
            did_you_mean("catalogue", &["catalog".to_string()]),
            Some("catalog".to_string())
        );
        assert_eq!(did_you_mean("zzz", &["catalog".to_string()]), None);
    }
}
