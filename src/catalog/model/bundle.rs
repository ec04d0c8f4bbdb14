//! Bundles: their image, related images, properties (provided and required APIs and packages, constraints), the
//! CSV's labels and the architectures and operating systems they declare.

use super::*;

/// An `olm.bundle` blob: one version of an operator.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bundle {
    pub(crate) name: String,
    pub(crate) package: String,
    pub(crate) image: String,
    pub(crate) version: Option<semver::Version>,
    pub(crate) version_text: Option<String>,
    pub(crate) related_images: Vec<BundleImage>,
    pub(crate) raw: Arc<Object>,
    pub(crate) source: Source,
}

/// One `relatedImages` entry of a bundle, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BundleImage {
    pub name: String,
    pub image: String,
}

/// One bundle property: `type` and its `value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Property<'a> {
    pub kind: &'a str,
    pub value: &'a Value,
}

/// A Kubernetes group/version/kind, as in `olm.gvk` and `olm.gvk.required`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl fmt::Display for Gvk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} {}", self.group, self.version, self.kind)
    }
}

/// An `olm.package.required` property: another package, in a version range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackageRequirement {
    pub package: String,
    pub version_range: String,
}

impl Bundle {
    pub(super) fn from_object(raw: Object, source: &Source) -> Result<Self, BlobError> {
        let package = required_str(&raw, "package", SCHEMA_BUNDLE)?;
        let name = required_str(&raw, "name", SCHEMA_BUNDLE)?;
        let what = format!("bundle `{name}` of package `{package}`");
        let image = optional_str(&raw, "image", &what)?.unwrap_or_default();
        let related_images = match raw.get("relatedImages") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let Value::Object(o) = item else {
                        return Err(BlobError::RelatedImageNotObject {
                            what: what.clone(),
                            index: i,
                            found: kind_of(item),
                        });
                    };
                    let field = |key: &'static str| optional_str(o, key, &format!("{what}: relatedImages[{i}]"));
                    Ok(BundleImage {
                        name: field("name")?.unwrap_or_default(),
                        image: field("image")?.unwrap_or_default(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => return Err(wrong_type(what, "relatedImages", Shape::List, other)),
        };
        match raw.get("properties") {
            None | Some(Value::Null) | Some(Value::Array(_)) => {}
            Some(other) => return Err(wrong_type(what, "properties", Shape::List, other)),
        }
        let mut bundle = Bundle {
            name,
            package,
            image,
            version: None,
            version_text: None,
            related_images,
            raw: Arc::new(raw),
            source: source.clone(),
        };
        let version_text = bundle
            .properties()
            .find(|p| p.kind == PROPERTY_PACKAGE)
            .and_then(|p| p.value.get("version"))
            .and_then(Value::as_str)
            .map(str::to_string);
        bundle.version = version_text.as_deref().and_then(parse_bundle_version);
        bundle.version_text = version_text;
        Ok(bundle)
    }

    #[cfg(test)]
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    #[cfg(test)]
    pub(crate) fn package(&self) -> &str {
        &self.package
    }

    /// The bundle image (`image`); empty for the rare bundles that carry no image.
    pub(crate) fn image(&self) -> &str {
        &self.image
    }

    /// The version of the `olm.package` property, parsed (strict semver, else `v1.2`-style loose forms).
    pub(crate) fn version(&self) -> Option<&semver::Version> {
        self.version.as_ref()
    }

    /// The version of the `olm.package` property as written.
    pub(crate) fn version_text(&self) -> Option<&str> {
        self.version_text.as_deref()
    }

    /// `relatedImages` as written (duplicates included).
    pub(crate) fn related_images(&self) -> &[BundleImage] {
        &self.related_images
    }

    #[cfg(test)]
    pub(crate) fn raw(&self) -> &Object {
        &self.raw
    }

    #[cfg(test)]
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// Every property, in order.
    pub(crate) fn properties(&self) -> impl Iterator<Item = Property<'_>> {
        self.raw
            .get("properties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                Some(Property {
                    kind: p.get("type")?.as_str()?,
                    value: p.get("value").unwrap_or(&Value::Null),
                })
            })
    }

    /// `olm.gvk` properties: the APIs this bundle provides.
    pub(crate) fn provided_gvks(&self) -> Vec<Gvk> {
        self.gvks(PROPERTY_GVK)
    }

    /// `olm.gvk.required` properties: APIs some other bundle must provide.
    pub(crate) fn required_gvks(&self) -> Vec<Gvk> {
        self.gvks(PROPERTY_GVK_REQUIRED)
    }

    fn gvks(&self, kind: &str) -> Vec<Gvk> {
        self.properties()
            .filter(|p| p.kind == kind)
            .filter_map(|p| {
                let field = |k: &str| p.value.get(k).and_then(Value::as_str).map(str::to_string);
                Some(Gvk {
                    group: field("group").unwrap_or_default(),
                    version: field("version")?,
                    kind: field("kind")?,
                })
            })
            .collect()
    }

    /// `olm.package.required` properties.
    pub(crate) fn required_packages(&self) -> Vec<PackageRequirement> {
        self.properties()
            .filter(|p| p.kind == PROPERTY_PACKAGE_REQUIRED)
            .filter_map(|p| {
                Some(PackageRequirement {
                    package: p.value.get("packageName")?.as_str()?.to_string(),
                    version_range: p
                        .value
                        .get("versionRange")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                })
            })
            .collect()
    }

    /// Whether the bundle declares generic `olm.constraint` dependencies (which ferry does not resolve).
    pub(crate) fn has_generic_constraints(&self) -> bool {
        self.properties().any(|p| p.kind == PROPERTY_CONSTRAINT)
    }

    /// The labels of the bundle's ClusterServiceVersion: from `olm.csv.metadata` (catalogs rendered since OCP 4.17)
    /// or from the CSV inside an `olm.bundle.object` (base64 JSON, older catalogs). `None` when neither is present.
    pub(crate) fn csv_labels(&self) -> Option<BTreeMap<String, String>> {
        let labels = |value: &Value| -> BTreeMap<String, String> {
            value
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default()
        };
        if let Some(metadata) = self.properties().find(|p| p.kind == PROPERTY_CSV_METADATA) {
            return Some(metadata.value.get("labels").map(labels).unwrap_or_default());
        }
        for object in self.properties().filter(|p| p.kind == PROPERTY_BUNDLE_OBJECT) {
            let Some(data) = object.value.get("data").and_then(Value::as_str) else {
                continue;
            };
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data.trim()) else {
                continue;
            };
            let Ok(manifest) = serde_json::from_slice::<Value>(&bytes) else {
                continue;
            };
            if manifest.get("kind").and_then(Value::as_str) == Some("ClusterServiceVersion") {
                return Some(
                    manifest
                        .get("metadata")
                        .and_then(|m| m.get("labels"))
                        .map(labels)
                        .unwrap_or_default(),
                );
            }
        }
        None
    }

    /// Architectures the CSV labels declare (`operatorframework.io/arch.<arch>: supported`), sorted; empty when
    /// none is declared.
    pub(crate) fn declared_architectures(&self) -> Vec<String> {
        supported_with_prefix(self.csv_labels(), ARCH_LABEL_PREFIX)
    }

    #[cfg(test)]
    /// Operating systems the CSV labels declare (`operatorframework.io/os.<os>: supported`), sorted.
    pub(crate) fn declared_operating_systems(&self) -> Vec<String> {
        supported_with_prefix(self.csv_labels(), OS_LABEL_PREFIX)
    }

    /// The architectures OLM considers the bundle to support: the declared ones, or `amd64` alone when the CSV
    /// declares none (OLM's default).
    pub(crate) fn architectures(&self) -> Vec<String> {
        let declared = self.declared_architectures();
        if declared.is_empty() {
            vec!["amd64".to_string()]
        } else {
            declared
        }
    }
}

pub(super) fn supported_with_prefix(labels: Option<BTreeMap<String, String>>, prefix: &str) -> Vec<String> {
    labels
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| v == "supported")
        .filter_map(|(k, _)| k.strip_prefix(prefix).map(str::to_string))
        .filter(|s| !s.is_empty())
        .collect()
}

/// A bundle version: strict semver first (`1.2.3-rc.1+build`), then the loose forms oc-mirror tolerates (`v1.2`).
pub(crate) fn parse_bundle_version(text: &str) -> Option<semver::Version> {
    semver::Version::parse(text.trim())
        .ok()
        .or_else(|| crate::config::parse_version(text).ok())
}
