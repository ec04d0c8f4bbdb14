//! The files of a release payload's `release-manifests/` directory that mirroring reads: the component images
//! (`image-references`, an ImageStream), the release metadata (`release-metadata`), and the KubeVirt container
//! disk per architecture named by the CoreOS boot-images ConfigMap.

use std::collections::BTreeMap;

use serde_json::Value;

/// The directory of a release payload image that holds its manifests.
pub(crate) const RELEASE_MANIFESTS_DIR: &str = "release-manifests";
/// The ImageStream listing the component images of a release.
pub(crate) const IMAGE_REFERENCES: &str = "image-references";
/// The Cincinnati metadata of a release (`version`, `previous`, `next`).
pub(crate) const RELEASE_METADATA: &str = "release-metadata";
/// The ConfigMap holding the CoreOS stream metadata (boot images, KubeVirt container disks).
pub(crate) const BOOTIMAGES_FILE: &str = "0000_50_installer_coreos-bootimages.yaml";

/// Errors from reading release payload files; each names the file and, where it applies, the field.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PayloadError {
    #[error(
        "{file}: cannot be parsed: {reason}\n  help: the release payload may be damaged; pull the release image again"
    )]
    Syntax { file: String, reason: String },
    #[error("{file}: field `{field}` is missing\n  help: the file is not the release file ferry expects; check that the image is an OpenShift release payload")]
    MissingField { file: String, field: String },
    #[error("{file}: field `{field}` should be {expected}\n  help: the file is not the release file ferry expects; check that the image is an OpenShift release payload")]
    WrongType {
        file: String,
        field: String,
        expected: &'static str,
    },
    #[error("{file}: `{field}` is `{found}`, expected `{expected}`\n  help: check that the image is an OpenShift release payload")]
    Unexpected {
        file: String,
        field: String,
        found: String,
        expected: &'static str,
    },
}

/// One component image of a release: the ImageStream tag name and its (digest-pinned) pullspec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Component {
    pub name: String,
    pub image: String,
}

/// The `image-references` ImageStream: its name (the release version) and its component images, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageReferences {
    pub name: String,
    pub components: Vec<Component>,
}

/// The `release-metadata` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ReleaseMetadata {
    pub version: String,
    pub previous: Vec<String>,
    pub next: Vec<String>,
    pub metadata: BTreeMap<String, String>,
}

impl ImageReferences {
    /// Parses an `image-references` file (JSON, as release payloads ship it, or YAML).
    pub(crate) fn parse(bytes: &[u8]) -> Result<ImageReferences, PayloadError> {
        let file = IMAGE_REFERENCES;
        let root = parse_document(file, bytes)?;
        if let Some(kind) = root.get("kind") {
            let kind = as_str(file, "kind", kind)?;
            if kind != "ImageStream" {
                return Err(unexpected(file, "kind", kind, "ImageStream"));
            }
        }
        let name = string_at(file, &root, &["metadata", "name"])?.to_string();
        let tags = field_at(file, &root, &["spec", "tags"])?;
        let tags = tags.as_array().ok_or_else(|| wrong_type(file, "spec.tags", "a list"))?;
        let components = tags
            .iter()
            .enumerate()
            .map(|(index, tag)| component(file, index, tag))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ImageReferences { name, components })
    }

    #[cfg(test)]
    /// The component with this tag name.
    pub(crate) fn get(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|component| component.name == name)
    }
}

fn component(file: &str, index: usize, tag: &Value) -> Result<Component, PayloadError> {
    let name = string_at(file, tag, &["name"])
        .map_err(|e| indexed(e, index))?
        .to_string();
    if let Some(kind) = tag.get("from").and_then(|from| from.get("kind")) {
        let kind = as_str(file, "from.kind", kind).map_err(|e| indexed(e, index))?;
        if kind != "DockerImage" {
            return Err(indexed(unexpected(file, "from.kind", kind, "DockerImage"), index));
        }
    }
    let image = string_at(file, tag, &["from", "name"])
        .map_err(|e| indexed(e, index))?
        .to_string();
    Ok(Component { name, image })
}

/// Prefixes the field of an error about one tag with `spec.tags[<index>].`.
fn indexed(error: PayloadError, index: usize) -> PayloadError {
    let prefix = |field: String| format!("spec.tags[{index}].{field}");
    match error {
        PayloadError::MissingField { file, field } => PayloadError::MissingField {
            file,
            field: prefix(field),
        },
        PayloadError::WrongType { file, field, expected } => PayloadError::WrongType {
            file,
            field: prefix(field),
            expected,
        },
        PayloadError::Unexpected {
            file,
            field,
            found,
            expected,
        } => PayloadError::Unexpected {
            file,
            field: prefix(field),
            found,
            expected,
        },
        other => other,
    }
}

impl ReleaseMetadata {
    /// Parses a `release-metadata` file (JSON: `version`, optional `previous`, `next` and `metadata`).
    pub(crate) fn parse(bytes: &[u8]) -> Result<ReleaseMetadata, PayloadError> {
        let file = RELEASE_METADATA;
        let root = parse_document(file, bytes)?;
        let version = string_at(file, &root, &["version"])?.to_string();
        let previous = string_list(file, &root, "previous")?;
        let next = string_list(file, &root, "next")?;
        let metadata = match root.get("metadata") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(key, value)| (key.clone(), plain_text(value)))
                .collect(),
            Some(_) => return Err(wrong_type(file, "metadata", "a map")),
        };
        Ok(ReleaseMetadata {
            version,
            previous,
            next,
            metadata,
        })
    }
}

fn string_list(file: &str, root: &Value, field: &str) -> Result<Vec<String>, PayloadError> {
    match root.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| as_str(file, &format!("{field}[{index}]"), item).map(str::to_string))
            .collect(),
        Some(_) => Err(wrong_type(file, field, "a list of versions")),
    }
}

/// The KubeVirt container disk of an architecture (`amd64`/`x86_64`, `arm64`/`aarch64`, `ppc64le`, `s390x`)
/// from the boot-images ConfigMap: `architectures.<arch>.images.kubevirt` of the stream JSON in `data.stream`,
/// its `digest-ref`, or its `image` when that is pinned by digest. `None` when the architecture has none.
pub(crate) fn kubevirt_image(bootimages_yaml: &[u8], arch: &str) -> Result<Option<String>, PayloadError> {
    let architectures = stream_architectures(bootimages_yaml)?;
    Ok(architectures.get(bootimages_arch(arch)).and_then(arch_kubevirt_image))
}

/// The KubeVirt container disk of every architecture that has one, by the stream's architecture name.
pub(crate) fn kubevirt_images(bootimages_yaml: &[u8]) -> Result<BTreeMap<String, String>, PayloadError> {
    let architectures = stream_architectures(bootimages_yaml)?;
    Ok(architectures
        .iter()
        .filter_map(|(arch, entry)| Some((arch.clone(), arch_kubevirt_image(entry)?)))
        .collect())
}

/// The architecture names of the CoreOS stream metadata (`x86_64`, `aarch64`, `ppc64le`, `s390x`).
pub(crate) fn bootimages_arch(arch: &str) -> &str {
    match arch {
        "amd64" | "x86_64" => "x86_64",
        "arm64" | "aarch64" => "aarch64",
        other => other,
    }
}

fn stream_architectures(bootimages_yaml: &[u8]) -> Result<serde_json::Map<String, Value>, PayloadError> {
    let root = parse_document(BOOTIMAGES_FILE, bootimages_yaml)?;
    let stream = string_at(BOOTIMAGES_FILE, &root, &["data", "stream"])?;
    let file = format!("{BOOTIMAGES_FILE} (data.stream)");
    let stream: Value = serde_json::from_str(stream).map_err(|e| PayloadError::Syntax {
        file: file.clone(),
        reason: e.to_string(),
    })?;
    match field_at(&file, &stream, &["architectures"])? {
        Value::Object(map) => Ok(map.clone()),
        _ => Err(wrong_type(&file, "architectures", "a map")),
    }
}

fn arch_kubevirt_image(entry: &Value) -> Option<String> {
    let kubevirt = entry.get("images")?.get("kubevirt")?;
    let text = |key: &str| {
        kubevirt
            .get(key)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
    };
    text("digest-ref")
        .or_else(|| text("image").filter(|image| image.contains('@')))
        .map(str::to_string)
}

/// Parses JSON (when the text starts with `{`) or YAML into a JSON value.
fn parse_document(file: &str, bytes: &[u8]) -> Result<Value, PayloadError> {
    let syntax = |reason: String| PayloadError::Syntax {
        file: file.to_string(),
        reason,
    };
    let starts_as_json = bytes.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{');
    let value: Value = if starts_as_json {
        serde_json::from_slice(bytes).map_err(|e| syntax(e.to_string()))?
    } else {
        serde_yaml::from_slice(bytes).map_err(|e| syntax(e.to_string()))?
    };
    if value.is_object() {
        Ok(value)
    } else {
        Err(syntax("the document is not a map".to_string()))
    }
}

fn field_at<'a>(file: &str, root: &'a Value, path: &[&str]) -> Result<&'a Value, PayloadError> {
    let mut current = root;
    for (depth, key) in path.iter().enumerate() {
        current = match current.get(key) {
            Some(Value::Null) | None => {
                return Err(PayloadError::MissingField {
                    file: file.to_string(),
                    field: path[..=depth].join("."),
                })
            }
            Some(value) => value,
        };
    }
    Ok(current)
}

fn string_at<'a>(file: &str, root: &'a Value, path: &[&str]) -> Result<&'a str, PayloadError> {
    as_str(file, &path.join("."), field_at(file, root, path)?)
}

fn as_str<'a>(file: &str, field: &str, value: &'a Value) -> Result<&'a str, PayloadError> {
    value.as_str().ok_or_else(|| wrong_type(file, field, "a string"))
}

/// A scalar as text: strings as they are, other values as their JSON text.
fn plain_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn wrong_type(file: &str, field: &str, expected: &'static str) -> PayloadError {
    PayloadError::WrongType {
        file: file.to_string(),
        field: field.to_string(),
        expected,
    }
}

fn unexpected(file: &str, field: &str, found: &str, expected: &'static str) -> PayloadError {
    PayloadError::Unexpected {
        file: file.to_string(),
        field: field.to_string(),
        found: found.to_string(),
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata/release");

    fn read(relative: &str) -> Vec<u8> {
        let path = format!("{RELEASE}/{relative}");
        std::fs::read(&path).unwrap_or_else(|e| panic!("test data {path} is missing: {e}"))
    }

    #[test]
    fn ocp_4_12_image_references() {
        let references = ImageReferences::parse(&read("ocp-4.12.0-x86_64/release-manifests/image-references"))
            .expect("4.12.0 image-references");
        assert_eq!(references.name, "4.12.0");
        assert_eq!(references.components.len(), 183);
        assert_eq!(references.components[0].name, "agent-installer-api-server");
        assert_eq!(
            references.components[0].image,
            "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:f30638f60452062aba36a26ee6c036feead2f03b28f2c47f2b0a991e4182331e"
        );
        assert!(references.components.iter().all(|c| c.image.contains("@sha256:")));
        assert!(references.get("cli").is_some() && references.get("rhel-coreos-8").is_some());
        assert!(references.get("rhel-coreos").is_none());
    }

    #[test]
    fn multi_arch_nightly_imagestream_yaml() {
        let references = ImageReferences::parse(&read(
            "4.11.0-0.nightly-multi-2022-04-18-120932-release-imagestream.yaml",
        ))
        .expect("nightly ImageStream");
        assert_eq!(references.name, "4.11.0-0.nightly-multi-2022-04-18-120932");
        assert_eq!(references.components.len(), 171);
        assert_eq!(references.components[0].name, "vsphere-problem-detector");
        let last = references.components.last().expect("tags");
        assert_eq!(last.name, "machine-os-content");
        assert_eq!(
            last.image,
            "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:a21810d31b52cb6f97354dca0f829302e4150c0f438944e3a61c11f6e99141a4"
        );
    }

    #[test]
    fn oc_mirror_test_release() {
        let dir = "oc-mirror-test-release/release-manifests";
        let references = ImageReferences::parse(&read(&format!("{dir}/image-references"))).expect("image-references");
        assert_eq!(references.name, "test-release-image");
        assert_eq!(
            references.components,
            [Component {
                name: "alpine".into(),
                image: "quay.io/oc-mirror/release/test-image:v0.0.1".into()
            }]
        );
        let multi =
            ImageReferences::parse(&read(&format!("{dir}/image-references-base-multi-component"))).expect("multi");
        assert_eq!(
            multi.components[0].image,
            "quay.io/oc-mirror/release/test-image-multi:v0.0.1"
        );
        let metadata = ReleaseMetadata::parse(&read(&format!("{dir}/release-metadata"))).expect("release-metadata");
        assert_eq!(
            metadata,
            ReleaseMetadata {
                version: "integration-test-release".into(),
                ..Default::default()
            }
        );
    }

    #[test]
    fn ocp_4_12_release_metadata() {
        let metadata =
            ReleaseMetadata::parse(&read("ocp-4.12.0-x86_64/release-manifests/release-metadata")).expect("metadata");
        assert_eq!(metadata.version, "4.12.0");
        assert_eq!(metadata.previous.len(), 21);
        assert_eq!(metadata.previous.first().map(String::as_str), Some("4.11.11"));
        assert_eq!(metadata.previous.last().map(String::as_str), Some("4.12.0-rc.8"));
        assert!(metadata.next.is_empty());
        assert_eq!(
            metadata.metadata.get("url").map(String::as_str),
            Some("https://access.redhat.com/errata/RHSA-2022:7399")
        );
    }

    #[test]
    fn kubevirt_images_by_architecture() {
        let bytes = read("coreos-bootimages/0000_50_installer_coreos-bootimages.yaml");
        let x86 = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:729265d5ef6ed6a45bcd55c46877e3acb9eae3f49c78cd795d5b53aa85e3775b";
        assert_eq!(kubevirt_image(&bytes, "x86_64").expect("parse").as_deref(), Some(x86));
        assert_eq!(kubevirt_image(&bytes, "amd64").expect("parse").as_deref(), Some(x86));
        // The fixture's s390x digest-ref is a placeholder, not a hex digest; it is returned as written.
        let s390x = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:s390xs390xs390xs390xs390xs390xs390xs390xs390xs390xs390xs390xs390";
        assert_eq!(kubevirt_image(&bytes, "s390x").expect("parse").as_deref(), Some(s390x));
        // aarch64 and ppc64le are listed without images.
        assert_eq!(kubevirt_image(&bytes, "arm64").expect("parse"), None);
        assert_eq!(kubevirt_image(&bytes, "aarch64").expect("parse"), None);
        assert_eq!(kubevirt_image(&bytes, "ppc64le").expect("parse"), None);
        assert_eq!(kubevirt_image(&bytes, "riscv64").expect("parse"), None);
        let all = kubevirt_images(&bytes).expect("parse");
        assert_eq!(all.keys().map(String::as_str).collect::<Vec<_>>(), ["s390x", "x86_64"]);
    }

    #[test]
    fn kubevirt_image_without_digest_ref() {
        let pinned = "kind: ConfigMap\ndata:\n  stream: '{\"architectures\": {\"x86_64\": {\"images\": {\"kubevirt\": {\"image\": \"q.io/r@sha256:ab\"}}}}}'\n";
        assert_eq!(
            kubevirt_image(pinned.as_bytes(), "amd64").expect("parse").as_deref(),
            Some("q.io/r@sha256:ab")
        );
        let tagged = pinned.replace("@sha256:ab", ":4.15-kubevirt");
        assert_eq!(kubevirt_image(tagged.as_bytes(), "amd64").expect("parse"), None);
    }

    #[test]
    fn bootimages_errors_name_the_field() {
        let error = kubevirt_image(b"kind: ConfigMap\ndata: {}\n", "amd64").expect_err("no stream");
        assert_eq!(
            error.to_string().lines().next(),
            Some("0000_50_installer_coreos-bootimages.yaml: field `data.stream` is missing")
        );
        let error = kubevirt_image(b"data:\n  stream: '{not json'\n", "amd64").expect_err("bad stream");
        assert!(
            error
                .to_string()
                .starts_with("0000_50_installer_coreos-bootimages.yaml (data.stream): cannot be parsed"),
            "{error}"
        );
        let error = kubevirt_image(b"data:\n  stream: '{}'\n", "amd64").expect_err("no architectures");
        assert!(
            matches!(&error, PayloadError::MissingField { field, .. } if field == "architectures"),
            "{error:?}"
        );
    }

    #[test]
    fn image_references_errors_name_the_field() {
        let no_from = br#"{"kind": "ImageStream", "metadata": {"name": "4.16.0"}, "spec": {"tags": [{"name": "a", "from": {"kind": "DockerImage", "name": "x@sha256:1"}}, {"name": "cli"}]}}"#;
        let error = ImageReferences::parse(no_from).expect_err("tag without from");
        assert_eq!(
            error.to_string().lines().next(),
            Some("image-references: field `spec.tags[1].from` is missing")
        );
        let error =
            ImageReferences::parse(br#"{"kind": "ImageStream", "metadata": {"name": "x"}}"#).expect_err("no tags");
        assert!(
            matches!(&error, PayloadError::MissingField { field, .. } if field == "spec"),
            "{error:?}"
        );
        let error = ImageReferences::parse(br#"{"kind": "ConfigMap"}"#).expect_err("wrong kind");
        assert!(
            error
                .to_string()
                .starts_with("image-references: `kind` is `ConfigMap`, expected `ImageStream`"),
            "{error}"
        );
        let tag_kind = br#"{"metadata": {"name": "x"}, "spec": {"tags": [{"name": "a", "from": {"kind": "ImageStreamTag", "name": "a:b"}}]}}"#;
        let error = ImageReferences::parse(tag_kind).expect_err("not a DockerImage");
        assert!(
            error
                .to_string()
                .contains("`spec.tags[0].from.kind` is `ImageStreamTag`"),
            "{error}"
        );
        let error = ImageReferences::parse(b"{\"kind\": ").expect_err("truncated");
        assert!(
            matches!(&error, PayloadError::Syntax { file, .. } if file == "image-references"),
            "{error:?}"
        );
    }

    #[test]
    fn release_metadata_errors_name_the_field() {
        let error =
            ReleaseMetadata::parse(br#"{"kind": "cincinnati-metadata-v0", "previous": []}"#).expect_err("no version");
        assert_eq!(
            error.to_string().lines().next(),
            Some("release-metadata: field `version` is missing")
        );
        let error = ReleaseMetadata::parse(br#"{"version": "4.16.0", "previous": [1]}"#).expect_err("number");
        assert!(
            error
                .to_string()
                .starts_with("release-metadata: field `previous[0]` should be a string"),
            "{error}"
        );
    }

    #[test]
    fn file_names() {
        assert_eq!(
            format!("{RELEASE_MANIFESTS_DIR}/{IMAGE_REFERENCES}"),
            "release-manifests/image-references"
        );
        assert_eq!(
            format!("{RELEASE_MANIFESTS_DIR}/{RELEASE_METADATA}"),
            "release-manifests/release-metadata"
        );
        assert_eq!(BOOTIMAGES_FILE, "0000_50_installer_coreos-bootimages.yaml");
    }
}
