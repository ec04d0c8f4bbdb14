//! Charts as OCI artifacts, the layout `helm push` makes: a config holding Chart.yaml as JSON
//! (`application/vnd.cncf.helm.config.v1+json`) and one layer, the packaged chart
//! (`application/vnd.cncf.helm.chart.content.v1.tar+gzip`); and packaging a chart directory into that `.tgz`,
//! deterministically.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{json, Value};

use super::chart::{Chart, ChartFile};
use crate::image::build::gzip_deterministic;
use crate::image::manifest::{ManifestError, RawManifest};
use crate::image::media_type;
use crate::image::Digest;
use crate::source::BuiltImage;

/// The media type of a chart's config.
pub(crate) const CHART_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// The media type of a packaged chart layer.
pub(crate) const CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// The OCI artifact of `chart`, whose packaged form is `package`: a self-contained built image.
pub(crate) fn chart_artifact(chart: &Chart, package: Bytes) -> Result<BuiltImage, ManifestError> {
    let config = Bytes::from(serde_json::to_vec(&Value::Object(chart.metadata.clone())).unwrap_or_default());
    let config_digest = Digest::of_bytes(&config);
    let layer_digest = Digest::of_bytes(&package);
    let mut annotations = serde_json::Map::new();
    annotations.insert("org.opencontainers.image.title".into(), json!(chart.name));
    annotations.insert("org.opencontainers.image.version".into(), json!(chart.version));
    if let Some(Value::String(description)) = chart.metadata.get("description") {
        annotations.insert("org.opencontainers.image.description".into(), json!(description));
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": {"mediaType": CHART_CONFIG, "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": CHART_LAYER, "digest": layer_digest.to_string(), "size": package.len()}],
        "annotations": annotations,
    });
    let bytes = Bytes::from(serde_json::to_vec(&manifest).unwrap_or_default());
    let root = RawManifest::new(bytes, Some(media_type::OCI_MANIFEST))?;
    let blobs = HashMap::from([(config_digest, config), (layer_digest, package)]);
    Ok(BuiltImage {
        base: None,
        root,
        manifests: HashMap::new(),
        blobs,
    })
}

/// The tag a chart version gets in a registry: `+` is not allowed in tags, Helm writes `_`.
pub(crate) fn chart_tag(version: &str) -> String {
    version.replace('+', "_")
}

/// A chart directory's files packaged as Helm packages them (everything under `<name>/`), with fixed times and
/// modes so the same directory always gives the same digest.
pub(crate) fn package(name: &str, files: &[ChartFile]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for file in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(file.data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, format!("{name}/{}", file.name), file.data.as_slice())?;
    }
    gzip_deterministic(&builder.into_inner()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_artifact_carries_the_package_unchanged() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/testdata/helm/service-binding-operator-repo/service-binding-operator-1.4.0.tgz");
        let package = Bytes::from(std::fs::read(&path).unwrap());
        let chart = Chart::from_archive(&package, "sbo").unwrap();
        let artifact = chart_artifact(&chart, package.clone()).unwrap();
        let manifest: Value = serde_json::from_slice(&artifact.root.bytes).unwrap();
        assert_eq!(manifest["config"]["mediaType"], CHART_CONFIG);
        assert_eq!(manifest["layers"][0]["mediaType"], CHART_LAYER);
        let layer: Digest = manifest["layers"][0]["digest"].as_str().unwrap().parse().unwrap();
        assert_eq!(artifact.blobs[&layer], package);
        // The index's digest of this archive is the layer's.
        assert_eq!(
            layer.hex(),
            "be2d62a35e2e4791cfcba1d35a607fd63ad49c250e581536a33e60daa9c30119"
        );
        let config: Value = serde_json::from_slice(&artifact.blobs[&manifest_config(&manifest)]).unwrap();
        assert_eq!(config["name"], "service-binding-operator");
        assert_eq!(chart_tag("1.0.0+build.1"), "1.0.0_build.1");
    }

    fn manifest_config(manifest: &Value) -> Digest {
        manifest["config"]["digest"].as_str().unwrap().parse().unwrap()
    }

    #[test]
    fn packaging_is_deterministic_and_reads_back() {
        let files = vec![
            ChartFile {
                name: "Chart.yaml".into(),
                data: b"name: c\nversion: 0.1.0\n".to_vec(),
            },
            ChartFile {
                name: "templates/a.yaml".into(),
                data: b"kind: A\n".to_vec(),
            },
        ];
        let first = package("c", &files).unwrap();
        assert_eq!(first, package("c", &files).unwrap());
        let chart = Chart::from_archive(&first, "c").unwrap();
        assert_eq!((chart.name.as_str(), chart.templates.len()), ("c", 1));
    }
}
