//! Reading file-based catalogs: a directory tree, or files already in memory (from image layers).
//!
//! Files named `*.json` hold JSON streams (objects one after another), `*.yaml`/`*.yml` YAML multi-document
//! streams; the content decides (an opening `{` is JSON), as opm's YAML-or-JSON decoder does. Other files, hidden
//! files and directories, and paths matched by `.indexignore` patterns are skipped. Files are parsed one at a time:
//! nothing holds the text of the whole catalog at once.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::model::{Blob, DeclarativeConfig, Source};
use super::CatalogError;

/// The file opm and ferry read ignore patterns from, in any directory of the catalog.
pub(crate) const INDEX_IGNORE: &str = ".indexignore";

impl DeclarativeConfig {
    /// Loads every catalog file under `root` and checks the result with [`check`](Self::check).
    pub(crate) fn load_dir(root: &Path) -> Result<DeclarativeConfig, CatalogError> {
        let meta = fs::metadata(root).map_err(|source| CatalogError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            let mut config = DeclarativeConfig::default();
            let bytes = fs::read(root).map_err(|source| CatalogError::Io {
                path: root.to_path_buf(),
                source,
            })?;
            config.add_bytes(root, &bytes)?;
            config.check()?;
            return Ok(config);
        }
        let mut files = Vec::new();
        let mut ignores = IgnoreRules::default();
        walk(root, Path::new(""), &mut files, &mut ignores)?;
        files.sort();
        let mut config = DeclarativeConfig::default();
        for relative in files.iter().filter(|p| ignores.keeps(p)) {
            let path = root.join(relative);
            let bytes = fs::read(&path).map_err(|source| CatalogError::Io { path, source })?;
            config.add_bytes(relative, &bytes)?;
        }
        config.check()?;
        Ok(config)
    }

    /// Loads catalog files given as (path relative to the catalog root, content), such as the files of the catalog
    /// directory extracted from image layers; the same selection rules as [`load_dir`](Self::load_dir) apply
    /// (`.indexignore` files among them are honoured). Each file's bytes are released once parsed.
    pub(crate) fn from_files<I>(files: I) -> Result<DeclarativeConfig, CatalogError>
    where
        I: IntoIterator<Item = (PathBuf, Vec<u8>)>,
    {
        let mut files: Vec<(PathBuf, Vec<u8>)> = files.into_iter().collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut ignores = IgnoreRules::default();
        for (path, bytes) in &files {
            if path.file_name().and_then(|n| n.to_str()) == Some(INDEX_IGNORE) {
                let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
                ignores.add(dir, &String::from_utf8_lossy(bytes));
            }
        }
        let mut config = DeclarativeConfig::default();
        for (path, bytes) in files {
            if is_catalog_file(&path) && !is_hidden(&path) && ignores.keeps(&path) {
                config.add_bytes(&path, &bytes)?;
            }
        }
        config.check()?;
        Ok(config)
    }

    /// Parses one file's content and appends its blobs.
    pub(crate) fn add_bytes(&mut self, name: &Path, bytes: &[u8]) -> Result<(), CatalogError> {
        let source: Source = Arc::from(name.to_string_lossy().as_ref());
        let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
        match start.map(|i| bytes[i]) {
            None => Ok(()),
            Some(b'{') | Some(b'[') => self.add_json(&source, bytes),
            Some(_) => self.add_yaml(&source, bytes),
        }
    }

    fn add_json(&mut self, source: &Source, bytes: &[u8]) -> Result<(), CatalogError> {
        let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
        loop {
            let offset = stream.byte_offset();
            let Some(item) = stream.next() else {
                return Ok(());
            };
            let value = item.map_err(|e| CatalogError::Syntax {
                path: source.to_string(),
                line: e.line(),
                column: e.column(),
                message: format!("invalid JSON: {}", without_position(&e.to_string())),
            })?;
            let blob = Blob::from_value(value, source).map_err(|error| {
                let start = offset + bytes[offset..].iter().take_while(|b| b.is_ascii_whitespace()).count();
                let line = 1 + bytes[..start].iter().filter(|&&b| b == b'\n').count();
                CatalogError::Blob {
                    path: source.to_string(),
                    at: format!("object at line {line}"),
                    error,
                }
            })?;
            self.push(blob);
        }
    }

    fn add_yaml(&mut self, source: &Source, bytes: &[u8]) -> Result<(), CatalogError> {
        for (i, document) in serde_yaml::Deserializer::from_slice(bytes).enumerate() {
            let value = Value::deserialize(document).map_err(|e| {
                let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                CatalogError::Syntax {
                    path: source.to_string(),
                    line,
                    column,
                    message: format!("invalid YAML in document {}: {e}", i + 1),
                }
            })?;
            if value.is_null() {
                continue; // an empty document (`---` with nothing after it)
            }
            let blob = Blob::from_value(value, source).map_err(|error| CatalogError::Blob {
                path: source.to_string(),
                at: format!("YAML document {}", i + 1),
                error,
            })?;
            self.push(blob);
        }
        Ok(())
    }

    /// Cross-file consistency, as opm requires it to build its model: each package defined once, channels and
    /// bundles unique within their package, and every channel, bundle and deprecation belonging to a defined
    /// package. Blobs of other schemas are not checked.
    pub(crate) fn check(&self) -> Result<(), CatalogError> {
        let mut packages: HashMap<&str, &str> = HashMap::new();
        for p in &self.packages {
            if let Some(first) = packages.insert(&p.name, &p.source) {
                return Err(CatalogError::Inconsistent {
                    message: format!(
                        "package `{}` is defined twice (olm.package in `{first}` and in `{}`)",
                        p.name, p.source
                    ),
                });
            }
        }
        let undefined = |kind: &str, name: &str, package: &str, source: &str| CatalogError::Inconsistent {
            message: format!(
                "{kind} `{name}` in `{source}` belongs to package `{package}`, which no olm.package defines"
            ),
        };
        let mut channels: HashMap<(&str, &str), &str> = HashMap::new();
        for c in &self.channels {
            if !packages.contains_key(c.package.as_str()) {
                return Err(undefined("channel", &c.name, &c.package, &c.source));
            }
            if let Some(first) = channels.insert((&c.package, &c.name), &c.source) {
                return Err(CatalogError::Inconsistent {
                    message: format!(
                        "channel `{}` of package `{}` is defined twice (in `{first}` and in `{}`)",
                        c.name, c.package, c.source
                    ),
                });
            }
        }
        let mut bundles: HashMap<(&str, &str), &str> = HashMap::new();
        for b in &self.bundles {
            if !packages.contains_key(b.package.as_str()) {
                return Err(undefined("bundle", &b.name, &b.package, &b.source));
            }
            if let Some(first) = bundles.insert((&b.package, &b.name), &b.source) {
                return Err(CatalogError::Inconsistent {
                    message: format!(
                        "bundle `{}` of package `{}` is defined twice (in `{first}` and in `{}`)",
                        b.name, b.package, b.source
                    ),
                });
            }
        }
        for d in &self.deprecations {
            if !packages.contains_key(d.package.as_str()) {
                return Err(undefined("olm.deprecations", &d.package, &d.package, &d.source));
            }
        }
        Ok(())
    }
}

/// serde_json's messages end with ` at line L column C`, which the error already says.
fn without_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    }
}

fn is_hidden(path: &Path) -> bool {
    path.components().any(|c| {
        c.as_os_str()
            .to_str()
            .is_some_and(|s| s.starts_with('.') && s != "." && s != "..")
    })
}

fn is_catalog_file(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("json" | "yaml" | "yml")
    )
}

/// Collects catalog files (relative paths) and `.indexignore` rules under `dir`.
fn walk(root: &Path, relative: &Path, files: &mut Vec<PathBuf>, ignores: &mut IgnoreRules) -> Result<(), CatalogError> {
    let dir = root.join(relative);
    let io = |source| CatalogError::Io {
        path: dir.clone(),
        source,
    };
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(&dir).map_err(io)?.collect::<Result<_, _>>().map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = relative.join(name);
        if name == INDEX_IGNORE {
            let text = fs::read_to_string(entry.path()).map_err(|source| CatalogError::Io {
                path: entry.path(),
                source,
            })?;
            ignores.add(relative.to_path_buf(), &text);
            continue;
        }
        if name.starts_with('.') {
            continue;
        }
        let file_type = fs::metadata(entry.path()).map_err(|source| CatalogError::Io {
            path: entry.path(),
            source,
        })?;
        if file_type.is_dir() {
            walk(root, &path, files, ignores)?;
        } else if is_catalog_file(&path) {
            files.push(path);
        }
    }
    Ok(())
}

/// `.indexignore` patterns by the directory holding them: gitignore-like globs (`*`, `?`, `**`); a pattern without
/// `/` matches any path component's name below that directory, one with `/` matches the path relative to it.
/// Negations (`!pattern`) are not supported and are ignored.
#[derive(Debug, Default)]
struct IgnoreRules {
    by_dir: BTreeMap<PathBuf, Vec<String>>,
}

impl IgnoreRules {
    fn add(&mut self, dir: PathBuf, text: &str) {
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
            .map(|l| l.trim_end_matches('/').to_string());
        self.by_dir.entry(dir).or_default().extend(patterns);
    }

    fn keeps(&self, path: &Path) -> bool {
        !self.by_dir.iter().any(|(dir, patterns)| {
            let Ok(relative) = path.strip_prefix(dir) else {
                return false;
            };
            let relative = relative.to_string_lossy().replace('\\', "/");
            patterns.iter().any(|pattern| ignored_by(pattern, &relative))
        })
    }
}

fn ignored_by(pattern: &str, relative: &str) -> bool {
    let anchored = pattern.trim_start_matches('/');
    if pattern.contains('/') {
        // Matches the path or one of its parent directories.
        let parts: Vec<&str> = relative.split('/').collect();
        (1..=parts.len()).any(|n| glob(anchored, &parts[..n].join("/")))
    } else {
        relative.split('/').any(|component| glob(pattern, component))
    }
}

/// Glob matching: `*` (not across `/`), `**` (across `/`), `?`.
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some(b'*') if p.get(1) == Some(&b'*') => {
                let rest = p[2..].strip_prefix(b"/").unwrap_or(&p[2..]);
                (0..=t.len()).any(|i| go(rest, &t[i..]))
            }
            Some(b'*') => (0..=t.len())
                .take_while(|&i| i == 0 || t[i - 1] != b'/')
                .any(|i| go(&p[1..], &t[i..])),
            Some(b'?') => !t.is_empty() && t[0] != b'/' && go(&p[1..], &t[1..]),
            Some(&c) => t.first() == Some(&c) && go(&p[1..], &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*.yaml", "catalog-template.yaml"));
        assert!(!glob("*.yaml", "a/b.yaml"));
        assert!(glob("**/b.yaml", "a/x/b.yaml"));
        assert!(glob("catalog-?.json", "catalog-1.json"));
        assert!(ignored_by("*-template.yaml", "pkg/catalog-template.yaml"));
        assert!(ignored_by("/pkg/old", "pkg/old/catalog.json"));
        assert!(!ignored_by("/pkg/old", "pkg/new/catalog.json"));
    }

    #[test]
    fn json_streams_yaml_documents_and_empty_files() {
        let mut config = DeclarativeConfig::default();
        let json = br#"{"schema":"olm.package","name":"a"}
            {"schema":"olm.channel","package":"a","name":"stable","entries":[{"name":"a.v1"}]}"#;
        config.add_bytes(Path::new("a/catalog.json"), json).unwrap();
        let yaml = b"---\nschema: olm.package\nname: b\n---\n---\nschema: olm.bundle\npackage: b\nname: b.v1\n";
        config.add_bytes(Path::new("b/catalog.yaml"), yaml).unwrap();
        config.add_bytes(Path::new("c/empty.json"), b"  \n").unwrap();
        assert_eq!(config.packages().len(), 2);
        assert_eq!(config.channels()[0].entries()[0].name(), "a.v1");
        assert_eq!(config.bundles()[0].source(), "b/catalog.yaml");
        config.check().unwrap();
    }

    #[test]
    fn errors_name_the_file_and_position() {
        let mut config = DeclarativeConfig::default();
        let err = config
            .add_bytes(
                Path::new("x/catalog.json"),
                b"{\"schema\":\"olm.package\",\"name\":\"x\"}\n{\"schema\": }",
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("`x/catalog.json` line 2, column 12: invalid JSON"),
            "{err}"
        );
        let err = config
            .add_bytes(Path::new("x/catalog.json"), b"\n\n{\"name\":\"x\"}")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`x/catalog.json` object at line 3: object `x` has no `schema`"),
            "{err}"
        );
        let err = config
            .add_bytes(Path::new("y.yaml"), b"schema: olm.package\nname: [unclosed\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("`y.yaml` line "), "{err}");
    }

    #[test]
    fn check_finds_duplicates_and_orphans() {
        let mut config = DeclarativeConfig::default();
        config
            .add_bytes(Path::new("one.json"), br#"{"schema":"olm.package","name":"a"}"#)
            .unwrap();
        config
            .add_bytes(Path::new("two.json"), br#"{"schema":"olm.package","name":"a"}"#)
            .unwrap();
        let err = config.check().unwrap_err().to_string();
        assert_eq!(
            err,
            "package `a` is defined twice (olm.package in `one.json` and in `two.json`)"
        );
        let mut config = DeclarativeConfig::default();
        config
            .add_bytes(
                Path::new("c.json"),
                br#"{"schema":"olm.channel","package":"nope","name":"stable","entries":[]}"#,
            )
            .unwrap();
        let err = config.check().unwrap_err().to_string();
        assert!(
            err.contains("channel `stable` in `c.json` belongs to package `nope`, which no olm.package defines"),
            "{err}"
        );
    }

    #[test]
    fn from_files_applies_the_selection_rules() {
        let files = vec![
            (
                PathBuf::from("a/catalog.json"),
                br#"{"schema":"olm.package","name":"a"}"#.to_vec(),
            ),
            (PathBuf::from("a/notes.txt"), b"not a catalog".to_vec()),
            (PathBuf::from(".hidden/catalog.json"), b"{broken".to_vec()),
            (PathBuf::from("a/catalog-template.yaml"), b"{broken".to_vec()),
            (
                PathBuf::from(".indexignore"),
                b"# templates\n*-template.yaml\n".to_vec(),
            ),
        ];
        let config = DeclarativeConfig::from_files(files).unwrap();
        assert_eq!(config.package_names(), ["a"]);
    }
}
