//! The file-based catalog (FBC) model: packages, channels, bundles, deprecations and blobs of other schemas.
//!
//! Every blob keeps the JSON object it was read from (`raw`), so that rendering writes back exactly what the catalog
//! said, field order included; the typed fields are a read-only view of it, extracted once at load time. Bundles hold
//! their object behind an `Arc`: filtering copies the kept bundles without copying their (large) CSV payloads.

mod bundle;

pub(crate) use bundle::*;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine;
use serde_json::{Map, Value};

use super::graph;
#[cfg(test)]
use super::graph::GraphError;

/// `schema` of a package blob.
pub(super) const SCHEMA_PACKAGE: &str = "olm.package";
/// `schema` of a channel blob.
pub(crate) const SCHEMA_CHANNEL: &str = "olm.channel";
/// `schema` of a bundle blob.
pub(crate) const SCHEMA_BUNDLE: &str = "olm.bundle";
/// `schema` of a deprecations blob.
pub(super) const SCHEMA_DEPRECATIONS: &str = "olm.deprecations";

/// Bundle property types ferry reads.
pub(super) const PROPERTY_PACKAGE: &str = "olm.package";
pub(super) const PROPERTY_PACKAGE_REQUIRED: &str = "olm.package.required";
pub(super) const PROPERTY_GVK: &str = "olm.gvk";
pub(super) const PROPERTY_GVK_REQUIRED: &str = "olm.gvk.required";
pub(super) const PROPERTY_CONSTRAINT: &str = "olm.constraint";
pub(super) const PROPERTY_BUNDLE_OBJECT: &str = "olm.bundle.object";
pub(super) const PROPERTY_CSV_METADATA: &str = "olm.csv.metadata";

/// The CSV label prefix that declares a supported architecture (`operatorframework.io/arch.arm64: supported`).
pub(super) const ARCH_LABEL_PREFIX: &str = "operatorframework.io/arch.";
/// The CSV label prefix that declares a supported operating system (`operatorframework.io/os.linux: supported`).
#[cfg(test)]
pub(super) const OS_LABEL_PREFIX: &str = "operatorframework.io/os.";

/// A JSON object as read from the catalog.
pub(super) type Object = Map<String, Value>;

/// The file a blob was read from (its path inside the catalog directory), for messages.
pub(super) type Source = Arc<str>;

/// What is wrong with one blob of a catalog file: the field and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BlobError {
    #[error("expected a JSON object, found {found}")]
    NotJsonObject { found: &'static str },
    #[error(
        "object {object} has no `schema` field: every catalog object needs one (`olm.package`, `olm.channel`, \
         `olm.bundle`, ...)"
    )]
    NoSchema { object: String },
    #[error("`schema` must be a string, found {found}")]
    SchemaNotString { found: &'static str },
    #[error("expected an object, found {found}")]
    NotObject { found: &'static str },
    #[error("{what} {object} has no `{key}`")]
    MissingField {
        what: &'static str,
        object: String,
        key: &'static str,
    },
    #[error("{what} {object} has an empty `{key}`")]
    EmptyField {
        what: &'static str,
        object: String,
        key: &'static str,
    },
    #[error("{what}: `{key}` must {expected}, found {found}")]
    WrongType {
        what: String,
        key: &'static str,
        expected: Shape,
        found: &'static str,
    },
    #[error("{what}: entries[{index}]: {source}")]
    Entry {
        what: String,
        index: usize,
        source: Box<BlobError>,
    },
    #[error("{what}: relatedImages[{index}] must be an object, found {found}")]
    RelatedImageNotObject {
        what: String,
        index: usize,
        found: &'static str,
    },
    #[error("needs a `reference` object with a `schema`")]
    NoReference,
}

/// What a field must hold, for [`BlobError::WrongType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    String,
    List,
    Strings,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shape::String => "be a string",
            Shape::List => "be a list",
            Shape::Strings => "hold strings",
        })
    }
}

/// [`BlobError::WrongType`] for `key` of `what`, which holds `value`.
fn wrong_type(what: impl Into<String>, key: &'static str, expected: Shape, value: &Value) -> BlobError {
    BlobError::WrongType {
        what: what.into(),
        key,
        expected,
        found: kind_of(value),
    }
}

/// The entries of a channel or deprecations blob: `parse` reads each one; errors name `what` and the index.
fn parse_entries<T>(
    raw: &mut Object,
    what: &str,
    parse: impl Fn(Value) -> Result<T, BlobError>,
) -> Result<Vec<T>, BlobError> {
    let entries = match raw.get_mut("entries") {
        Some(Value::Array(items)) => std::mem::take(items)
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                parse(item).map_err(|source| BlobError::Entry {
                    what: what.to_string(),
                    index,
                    source: Box::new(source),
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => return Err(wrong_type(what, "entries", Shape::List, other)),
    };
    if raw.contains_key("entries") {
        raw.insert("entries".to_string(), Value::Null);
    }
    Ok(entries)
}

/// A whole catalog: every blob of every file, in the order read.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DeclarativeConfig {
    pub(crate) packages: Vec<Package>,
    pub(crate) channels: Vec<Channel>,
    pub(crate) bundles: Vec<Bundle>,
    pub(crate) deprecations: Vec<Deprecation>,
    pub(crate) others: Vec<Meta>,
}

impl DeclarativeConfig {
    #[cfg(test)]
    pub(crate) fn packages(&self) -> &[Package] {
        &self.packages
    }

    #[cfg(test)]
    pub(crate) fn channels(&self) -> &[Channel] {
        &self.channels
    }

    pub(crate) fn bundles(&self) -> &[Bundle] {
        &self.bundles
    }

    #[cfg(test)]
    pub(crate) fn deprecations(&self) -> &[Deprecation] {
        &self.deprecations
    }

    #[cfg(test)]
    /// Blobs of schemas ferry does not model, kept verbatim.
    pub(crate) fn others(&self) -> &[Meta] {
        &self.others
    }

    pub(crate) fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// Channels of a package, in the order read.
    pub(crate) fn channels_of<'a>(&'a self, package: &'a str) -> impl Iterator<Item = &'a Channel> + 'a {
        self.channels.iter().filter(move |c| c.package == package)
    }

    #[cfg(test)]
    pub(crate) fn channel(&self, package: &str, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.package == package && c.name == name)
    }

    /// Bundles of a package, in the order read.
    pub(crate) fn bundles_of<'a>(&'a self, package: &'a str) -> impl Iterator<Item = &'a Bundle> + 'a {
        self.bundles.iter().filter(move |b| b.package == package)
    }

    pub(crate) fn bundle(&self, package: &str, name: &str) -> Option<&Bundle> {
        self.bundles.iter().find(|b| b.package == package && b.name == name)
    }

    pub(crate) fn push(&mut self, blob: Blob) {
        match blob {
            Blob::Package(p) => self.packages.push(p),
            Blob::Channel(c) => self.channels.push(c),
            Blob::Bundle(b) => self.bundles.push(b),
            Blob::Deprecation(d) => self.deprecations.push(d),
            Blob::Other(m) => self.others.push(m),
        }
    }

    /// Names of all packages, sorted.
    pub(crate) fn package_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.packages.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    #[cfg(test)]
    /// What `ferry list operators` shows: per package its default channel and channels, per channel its head and
    /// bundles (highest version first), sorted by package name.
    pub(crate) fn summarize(&self) -> Vec<PackageSummary> {
        let mut names = self.package_names();
        names.sort_unstable();
        names
            .into_iter()
            .filter_map(|name| self.summarize_package(name))
            .collect()
    }

    /// [`summarize`](Self::summarize) for one package; `None` if the catalog has no such package.
    pub(crate) fn summarize_package(&self, name: &str) -> Option<PackageSummary> {
        let package = self.package(name)?;
        let bundles: BTreeMap<&str, &Bundle> = self.bundles_of(name).map(|b| (b.name.as_str(), b)).collect();
        let mut channels: Vec<ChannelSummary> = self
            .channels_of(name)
            .map(|channel| {
                let (head, error) = match graph::head(&channel.entries) {
                    Ok(i) => (Some(channel.entries[i].name.clone()), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                let head_version = head
                    .as_deref()
                    .and_then(|h| bundles.get(h))
                    .and_then(|b| b.version_text().map(str::to_string));
                let mut listed: Vec<(&str, Option<&semver::Version>)> = channel
                    .entries
                    .iter()
                    .map(|e| (e.name.as_str(), bundles.get(e.name.as_str()).and_then(|b| b.version())))
                    .collect();
                listed.sort_by(|a, b| match (a.1, b.1) {
                    (Some(x), Some(y)) => y.cmp_precedence(x).then_with(|| y.cmp(x)).then_with(|| a.0.cmp(b.0)),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => a.0.cmp(b.0),
                });
                ChannelSummary {
                    name: channel.name.clone(),
                    head,
                    head_version,
                    bundles: listed.into_iter().map(|(n, _)| n.to_string()).collect(),
                    error,
                }
            })
            .collect();
        channels.sort_by(|a, b| a.name.cmp(&b.name));
        Some(PackageSummary {
            name: package.name.clone(),
            default_channel: package.default_channel.clone(),
            channels,
        })
    }
}

/// One package as `ferry list operators` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PackageSummary {
    pub name: String,
    pub default_channel: Option<String>,
    pub channels: Vec<ChannelSummary>,
}

/// One channel as `ferry list operators` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChannelSummary {
    pub name: String,
    /// The channel head (the entry no other entry replaces or skips); `None` when the graph is invalid.
    pub head: Option<String>,
    /// Version of the head bundle, from its `olm.package` property.
    pub head_version: Option<String>,
    /// Every entry, highest version first.
    pub bundles: Vec<String>,
    /// Why the head could not be determined (several heads, a cycle).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One parsed blob of any schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Blob {
    Package(Package),
    Channel(Channel),
    Bundle(Bundle),
    Deprecation(Deprecation),
    Other(Meta),
}

impl Blob {
    /// Classifies one JSON value read from a catalog file. The error says what is wrong with the blob.
    pub(crate) fn from_value(value: Value, source: &Source) -> Result<Blob, BlobError> {
        let Value::Object(object) = value else {
            return Err(BlobError::NotJsonObject { found: kind_of(&value) });
        };
        let schema = match object.get("schema") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::String(_)) | None => {
                return Err(BlobError::NoSchema {
                    object: describe(&object),
                })
            }
            Some(other) => return Err(BlobError::SchemaNotString { found: kind_of(other) }),
        };
        match schema.as_str() {
            SCHEMA_PACKAGE => Package::from_object(object, source).map(Blob::Package),
            SCHEMA_CHANNEL => Channel::from_object(object, source).map(Blob::Channel),
            SCHEMA_BUNDLE => Bundle::from_object(object, source).map(Blob::Bundle),
            SCHEMA_DEPRECATIONS => Deprecation::from_object(object, source).map(Blob::Deprecation),
            _ => Meta::from_object(schema, object, source).map(Blob::Other),
        }
    }
}

/// An `olm.package` blob.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) default_channel: Option<String>,
    pub(crate) raw: Object,
    pub(crate) source: Source,
}

impl Package {
    fn from_object(raw: Object, source: &Source) -> Result<Self, BlobError> {
        let name = required_str(&raw, "name", SCHEMA_PACKAGE)?;
        let default_channel = optional_str(&raw, "defaultChannel", &format!("package `{name}`"))?;
        Ok(Package {
            name,
            default_channel,
            raw,
            source: source.clone(),
        })
    }

    pub(crate) fn default_channel(&self) -> Option<&str> {
        self.default_channel.as_deref()
    }

    /// Sets `defaultChannel` in the typed view and in the object (keeping the field's position).
    pub(crate) fn set_default_channel(&mut self, channel: &str) {
        self.default_channel = Some(channel.to_string());
        self.raw
            .insert("defaultChannel".to_string(), Value::String(channel.to_string()));
    }
}

/// An `olm.channel` blob: the upgrade graph of a package's channel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Channel {
    pub(crate) package: String,
    pub(crate) name: String,
    pub(crate) entries: Vec<ChannelEntry>,
    /// The object as read, with `entries` left as a placeholder: the entries' own objects are in `entries`.
    pub(crate) raw: Object,
    pub(crate) source: Source,
}

impl Channel {
    fn from_object(mut raw: Object, source: &Source) -> Result<Self, BlobError> {
        let package = required_str(&raw, "package", SCHEMA_CHANNEL)?;
        let name = required_str(&raw, "name", SCHEMA_CHANNEL)?;
        let what = format!("channel `{name}` of package `{package}`");
        let entries = parse_entries(&mut raw, &what, ChannelEntry::from_value)?;
        Ok(Channel {
            package,
            name,
            entries,
            raw,
            source: source.clone(),
        })
    }

    #[cfg(test)]
    pub(crate) fn package(&self) -> &str {
        &self.package
    }

    #[cfg(test)]
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[ChannelEntry] {
        &self.entries
    }

    pub(crate) fn entry(&self, name: &str) -> Option<&ChannelEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    #[cfg(test)]
    /// The channel head: the one entry that no other entry replaces or skips (as opm computes it).
    pub(crate) fn head(&self) -> Result<&ChannelEntry, GraphError> {
        graph::head(&self.entries).map(|i| &self.entries[i])
    }

    #[cfg(test)]
    /// Checks the graph as `opm validate` does: one head, no cycle, every entry reachable from the head by
    /// `replaces` or skipped by some entry.
    pub(crate) fn validate(&self) -> Result<(), GraphError> {
        graph::validate(&self.entries).map(|_| ())
    }
}

/// One entry of a channel: a bundle and its upgrade edges.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChannelEntry {
    pub(crate) name: String,
    pub(crate) replaces: Option<String>,
    pub(crate) skips: Vec<String>,
    pub(crate) skip_range: Option<String>,
    pub(crate) raw: Value,
}

impl ChannelEntry {
    fn from_value(value: Value) -> Result<Self, BlobError> {
        let Value::Object(object) = &value else {
            return Err(BlobError::NotObject { found: kind_of(&value) });
        };
        let name = required_str(object, "name", "channel entry")?;
        let what = format!("entry `{name}`");
        let replaces = optional_str(object, "replaces", &what)?.filter(|r| !r.is_empty());
        let skip_range = optional_str(object, "skipRange", &what)?.filter(|r| !r.is_empty());
        let skips = match object.get("skips") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|s| match s {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(wrong_type(what.as_str(), "skips", Shape::Strings, other)),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => return Err(wrong_type(what, "skips", Shape::List, other)),
        };
        Ok(ChannelEntry {
            name,
            replaces,
            skips,
            skip_range,
            raw: value,
        })
    }

    #[cfg(test)]
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    #[cfg(test)]
    pub(crate) fn replaces(&self) -> Option<&str> {
        self.replaces.as_deref()
    }

    #[cfg(test)]
    pub(crate) fn skips(&self) -> &[String] {
        &self.skips
    }

    #[cfg(test)]
    pub(crate) fn skip_range(&self) -> Option<&str> {
        self.skip_range.as_deref()
    }

    #[cfg(test)]
    pub(crate) fn raw(&self) -> &Value {
        &self.raw
    }
}

/// An `olm.deprecations` blob: deprecation notices for a package, its channels and bundles.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Deprecation {
    pub(crate) package: String,
    pub(crate) entries: Vec<DeprecationEntry>,
    /// The object as read, `entries` left as a placeholder.
    pub(crate) raw: Object,
    pub(crate) source: Source,
}

/// One deprecation notice: what it refers to and the message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DeprecationEntry {
    /// `reference.schema`: `olm.package`, `olm.channel` or `olm.bundle`.
    pub(crate) schema: String,
    /// `reference.name`: the channel or bundle name (absent for the package).
    pub(crate) name: Option<String>,
    pub(crate) message: String,
    pub(crate) raw: Value,
}

impl Deprecation {
    fn from_object(mut raw: Object, source: &Source) -> Result<Self, BlobError> {
        let package = required_str(&raw, "package", SCHEMA_DEPRECATIONS)?;
        let what = format!("olm.deprecations of package `{package}`");
        let entries = parse_entries(&mut raw, &what, DeprecationEntry::from_value)?;
        Ok(Deprecation {
            package,
            entries,
            raw,
            source: source.clone(),
        })
    }

    #[cfg(test)]
    pub(crate) fn package(&self) -> &str {
        &self.package
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[DeprecationEntry] {
        &self.entries
    }
}

impl DeprecationEntry {
    fn from_value(value: Value) -> Result<Self, BlobError> {
        let Value::Object(object) = &value else {
            return Err(BlobError::NotObject { found: kind_of(&value) });
        };
        let Some(Value::Object(reference)) = object.get("reference") else {
            return Err(BlobError::NoReference);
        };
        let schema = required_str(reference, "schema", "deprecation reference")?;
        let name = optional_str(reference, "name", "deprecation reference")?;
        let message = optional_str(object, "message", "deprecation entry")?.unwrap_or_default();
        Ok(DeprecationEntry {
            schema,
            name,
            message,
            raw: value,
        })
    }

    #[cfg(test)]
    pub(crate) fn schema(&self) -> &str {
        &self.schema
    }

    #[cfg(test)]
    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// A blob of a schema ferry does not model (`olm.template.basic`, lifecycle data, ...), kept verbatim.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Meta {
    pub(crate) schema: String,
    pub(crate) package: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) raw: Arc<Object>,
    pub(crate) source: Source,
}

impl Meta {
    fn from_object(schema: String, raw: Object, source: &Source) -> Result<Self, BlobError> {
        // Like opm, a non-string `package` or `name` is not an error for blobs of unknown schema: it is not ours.
        let text = |key: &str| {
            raw.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Ok(Meta {
            package: text("package"),
            name: text("name"),
            schema,
            raw: Arc::new(raw),
            source: source.clone(),
        })
    }

    #[cfg(test)]
    pub(crate) fn schema(&self) -> &str {
        &self.schema
    }

    #[cfg(test)]
    /// The package the blob belongs to; `None` for catalog-wide blobs.
    pub(crate) fn package(&self) -> Option<&str> {
        self.package.as_deref()
    }

    #[cfg(test)]
    pub(crate) fn raw(&self) -> &Object {
        &self.raw
    }
}

fn required_str(object: &Object, key: &'static str, what: &'static str) -> Result<String, BlobError> {
    match object.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(BlobError::EmptyField {
            what,
            object: describe(object),
            key,
        }),
        None | Some(Value::Null) => Err(BlobError::MissingField {
            what,
            object: describe(object),
            key,
        }),
        Some(other) => Err(wrong_type(
            format!("{what} {}", describe(object)),
            key,
            Shape::String,
            other,
        )),
    }
}

fn optional_str(object: &Object, key: &'static str, what: &str) -> Result<Option<String>, BlobError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong_type(what, key, Shape::String, other)),
    }
}

/// A short description of an object for messages: its name if any, else its first keys.
fn describe(object: &Object) -> String {
    if let Some(name) = object.get("name").and_then(Value::as_str) {
        return format!("`{name}`");
    }
    let keys: Vec<&str> = object.keys().take(4).map(String::as_str).collect();
    if keys.is_empty() {
        "{}".to_string()
    } else {
        format!("with keys [{}]", keys.join(", "))
    }
}

pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn source() -> Source {
        Arc::from("test.json")
    }

    #[test]
    fn blobs_without_schema_are_rejected_with_their_name() {
        let err = Blob::from_value(json!({"name": "foo"}), &source())
            .unwrap_err()
            .to_string();
        assert!(err.contains("`foo` has no `schema`"), "{err}");
        let err = Blob::from_value(json!([1]), &source()).unwrap_err().to_string();
        assert!(err.contains("expected a JSON object, found a list"), "{err}");
    }

    #[test]
    fn channel_entries_are_typed_and_kept_raw() {
        let blob = Blob::from_value(
            json!({"schema": "olm.channel", "package": "p", "name": "c", "entries": [
                {"name": "p.v2", "replaces": "p.v1", "skips": ["p.v0"], "skipRange": "<2.0.0", "x-extra": 1},
                {"name": "p.v1"}
            ]}),
            &source(),
        )
        .unwrap();
        let Blob::Channel(channel) = blob else {
            panic!("not a channel")
        };
        assert_eq!(channel.entries().len(), 2);
        let e = &channel.entries()[0];
        assert_eq!(
            (e.name(), e.replaces(), e.skips(), e.skip_range()),
            ("p.v2", Some("p.v1"), &["p.v0".to_string()][..], Some("<2.0.0"))
        );
        assert_eq!(e.raw()["x-extra"], 1);
        assert_eq!(channel.head().unwrap().name(), "p.v2");
    }

    #[test]
    fn wrong_field_types_are_named() {
        let err = Blob::from_value(
            json!({"schema": "olm.channel", "package": "p", "name": "c", "entries": [{"name": "a", "skips": "b"}]}),
            &source(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("channel `c` of package `p`: entries[0]: entry `a`: `skips` must be a list"),
            "{err}"
        );
        let err = Blob::from_value(json!({"schema": "olm.bundle", "name": "b"}), &source())
            .unwrap_err()
            .to_string();
        assert!(err.contains("olm.bundle `b` has no `package`"), "{err}");
    }

    #[test]
    fn bundle_version_comes_from_the_package_property() {
        let blob = Blob::from_value(
            json!({"schema": "olm.bundle", "package": "p", "name": "p.v1", "image": "quay.io/p/b:1",
                "properties": [{"type": "olm.package", "value": {"packageName": "p", "version": "1.42.0-5+0.1687199951.p"}},
                    {"type": "olm.package.required", "value": {"packageName": "q", "versionRange": ">=1.0.0"}},
                    {"type": "olm.gvk.required", "value": {"group": "g", "kind": "K", "version": "v1"}}]}),
            &source(),
        )
        .unwrap();
        let Blob::Bundle(bundle) = blob else {
            panic!("not a bundle")
        };
        assert_eq!(bundle.version().unwrap().to_string(), "1.42.0-5+0.1687199951.p");
        assert_eq!(
            bundle.required_packages(),
            vec![PackageRequirement {
                package: "q".into(),
                version_range: ">=1.0.0".into()
            }]
        );
        assert_eq!(bundle.required_gvks()[0].to_string(), "g/v1 K");
        assert!(bundle.csv_labels().is_none());
        assert_eq!(bundle.architectures(), vec!["amd64"]);
    }

    #[test]
    fn loose_bundle_versions_are_read_like_oc_mirror() {
        assert_eq!(parse_bundle_version("v1.2").unwrap().to_string(), "1.2.0");
        assert!(parse_bundle_version("not-a-version").is_none());
    }
}
