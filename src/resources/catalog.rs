//! CatalogSource and ClusterCatalog resources for mirrored catalogs, named as oc-mirror v2 names them
//! (`cs-<repository>-<tag>`, `cc-<repository>-<tag>`), honouring `targetCatalogSourceTemplate`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::{write_resource, ResourceError};
use crate::plan::ImageDestination;

/// Characters of a tag or digest kept in resource names.
const SUFFIX_LENGTH: usize = 12;

/// Why a `targetCatalogSourceTemplate` cannot be used.
#[derive(Debug, thiserror::Error)]
enum TemplateError {
    #[error("cannot read it: {0}")]
    Read(#[source] std::io::Error),
    #[error("not YAML: {0}")]
    NotYaml(#[source] serde_yaml::Error),
    #[error("not an operators.coreos.com/v1alpha1 CatalogSource")]
    NotCatalogSource,
    #[error("its sourceType is not grpc")]
    NotGrpc,
    #[error("it names a configMap")]
    ConfigMap,
}

/// A mirrored catalog and the CatalogSource template the configuration names for it.
#[derive(Debug, Clone)]
pub(crate) struct MirroredCatalog {
    pub destination: ImageDestination,
    pub template: Option<PathBuf>,
}

/// Writes one `cs-*.yaml` and one `cc-*.yaml` per catalog; returns the files written and warnings (a template
/// that cannot be used falls back to the plain resource, as oc-mirror does).
pub(crate) fn write_catalog_resources(
    dir: &Path,
    catalogs: &[MirroredCatalog],
) -> Result<(Vec<PathBuf>, Vec<String>), ResourceError> {
    let mut written = Vec::new();
    let mut warnings = Vec::new();
    for catalog in catalogs {
        let name = resource_name(&catalog.destination);
        let image = format!(
            "{}/{}:{}",
            catalog.destination.registry, catalog.destination.repository, catalog.destination.tag
        );
        let source = match &catalog.template {
            Some(template) => from_template(template, &format!("cs-{name}"), &image).unwrap_or_else(|reason| {
                warnings.push(format!(
                    "targetCatalogSourceTemplate {}: {reason}; writing a plain CatalogSource",
                    template.display()
                ));
                catalog_source(&format!("cs-{name}"), &image)
            }),
            None => catalog_source(&format!("cs-{name}"), &image),
        };
        for (file, value) in [
            (format!("cs-{name}.yaml"), source),
            (
                format!("cc-{name}.yaml"),
                cluster_catalog(&format!("cc-{name}"), &image),
            ),
        ] {
            let path = dir.join(file);
            let text = serde_yaml::to_string(&value).unwrap_or_default();
            write_resource(&path, &text)?;
            written.push(path);
        }
    }
    Ok((written, warnings))
}

/// `<last repository component>-<tag or digest, 12 characters>`, lowercased, RFC 1035 characters only.
fn resource_name(destination: &ImageDestination) -> String {
    let repository = destination.repository.rsplit('/').next().unwrap_or("catalog");
    let suffix: String = destination
        .tag
        .trim_start_matches("sha256-")
        .chars()
        .take(SUFFIX_LENGTH)
        .collect();
    let raw = format!("{repository}-{suffix}");
    let cleaned: String = raw
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
        .collect();
    cleaned.trim_matches('-').to_string()
}

fn annotations() -> Value {
    let mut map = BTreeMap::new();
    map.insert("createdBy".to_string(), "ferry".to_string());
    serde_yaml::to_value(map).unwrap_or(Value::Null)
}

fn catalog_source(name: &str, image: &str) -> Value {
    let mut value: Value = serde_yaml::from_str(
        "apiVersion: operators.coreos.com/v1alpha1\nkind: CatalogSource\nmetadata: {}\nspec: {}\n",
    )
    .unwrap_or(Value::Null);
    value["metadata"]["name"] = name.into();
    value["metadata"]["namespace"] = "openshift-marketplace".into();
    value["metadata"]["annotations"] = annotations();
    value["spec"]["sourceType"] = "grpc".into();
    value["spec"]["image"] = image.into();
    value
}

/// The template's CatalogSource with ferry's name, namespace, source type and image; other fields kept.
fn from_template(template: &Path, name: &str, image: &str) -> Result<Value, TemplateError> {
    let text = std::fs::read_to_string(template).map_err(TemplateError::Read)?;
    let mut value: Value = serde_yaml::from_str(&text).map_err(TemplateError::NotYaml)?;
    if value["apiVersion"].as_str() != Some("operators.coreos.com/v1alpha1")
        || value["kind"].as_str() != Some("CatalogSource")
    {
        return Err(TemplateError::NotCatalogSource);
    }
    if value["spec"]["sourceType"].as_str().is_some_and(|t| t != "grpc") {
        return Err(TemplateError::NotGrpc);
    }
    if !value["spec"]["configMap"].is_null() {
        return Err(TemplateError::ConfigMap);
    }
    if !value["metadata"].is_mapping() {
        value["metadata"] = serde_yaml::from_str("{}").unwrap_or(Value::Null);
    }
    value["metadata"]["name"] = name.into();
    value["metadata"]["namespace"] = "openshift-marketplace".into();
    value["metadata"]["annotations"] = annotations();
    value["spec"]["sourceType"] = "grpc".into();
    value["spec"]["image"] = image.into();
    Ok(value)
}

fn cluster_catalog(name: &str, image: &str) -> Value {
    let mut value: Value =
        serde_yaml::from_str("apiVersion: olm.operatorframework.io/v1\nkind: ClusterCatalog\nmetadata: {}\nspec: {}\n")
            .unwrap_or(Value::Null);
    value["metadata"]["name"] = name.into();
    value["metadata"]["annotations"] = annotations();
    value["spec"]["source"]["type"] = "Image".into();
    value["spec"]["source"]["image"]["ref"] = image.into();
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destination(repository: &str, tag: &str) -> ImageDestination {
        ImageDestination {
            registry: "mirror:5000".into(),
            repository: repository.into(),
            tag: tag.into(),
        }
    }

    #[test]
    fn names_follow_oc_mirror() {
        assert_eq!(
            resource_name(&destination("ns/redhat/redhat-operator-index", "v4.16")),
            "redhat-operator-index-v4-16"
        );
        assert_eq!(
            resource_name(&destination(
                "ns/community-operator-index",
                "sha256-0123456789abcdef0123"
            )),
            "community-operator-index-0123456789ab"
        );
    }

    #[test]
    fn writes_catalog_source_and_cluster_catalog_with_template() {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("template.yaml");
        std::fs::write(
            &template,
            "apiVersion: operators.coreos.com/v1alpha1\nkind: CatalogSource\nmetadata:\n  name: x\nspec:\n  updateStrategy:\n    registryPoll:\n      interval: 30m\n",
        )
        .unwrap();
        let catalogs = [MirroredCatalog {
            destination: destination("ns/idx", "v1"),
            template: Some(template),
        }];
        let (written, warnings) = write_catalog_resources(dir.path(), &catalogs).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(written.len(), 2);
        let cs = std::fs::read_to_string(dir.path().join("cs-idx-v1.yaml")).unwrap();
        assert!(
            cs.contains("image: mirror:5000/ns/idx:v1")
                && cs.contains("interval: 30m")
                && cs.contains("name: cs-idx-v1"),
            "{cs}"
        );
        let cc = std::fs::read_to_string(dir.path().join("cc-idx-v1.yaml")).unwrap();
        assert!(
            cc.contains("kind: ClusterCatalog") && cc.contains("ref: mirror:5000/ns/idx:v1"),
            "{cc}"
        );
    }
}
