//! Release cluster resources: the signature ConfigMap the cluster-version operator verifies mirrored releases with,
//! and the Fedora CoreOS-style update graph reduced to the mirrored releases, with payloads rewritten to the mirror
//! (`fcos-graph-<stream>-<basearch>.json`, served to a disconnected fleet by any static file server).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{write_resource, ResourceError};
use crate::plan::ImageDestination;
use crate::release::channels::FcosStream;
use crate::release::graph::UpdateGraph;

/// A Fedora CoreOS-style graph and where its mirrored releases went: source payload → mirrored pullspec.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct FcosGraphRecord {
    pub stream: FcosStream,
    /// The graph as served upstream (OCI nodes only), in the Cincinnati JSON shape.
    pub graph: serde_json::Value,
    /// Source payload (by digest) → where it is mirrored.
    pub mirrored: BTreeMap<String, ImageDestination>,
}

impl FcosGraphRecord {
    /// The file name: `fcos-graph-<stream>-<basearch>.json`.
    pub(crate) fn file_name(&self) -> String {
        format!("fcos-graph-{}-{}.json", self.stream.stream, self.stream.basearch)
    }
}

/// Writes the reduced graph of `record` into `dir`: only the mirrored releases and the edges among them, each payload
/// `<mirror repository>@<digest>`.
pub(crate) fn write_fcos_graph(dir: &Path, record: &FcosGraphRecord) -> Result<Option<PathBuf>, ResourceError> {
    let path = dir.join(record.file_name());
    let Ok(graph) = serde_json::to_vec(&record.graph).map(|bytes| UpdateGraph::parse_lenient(&bytes)) else {
        return Ok(None);
    };
    let Ok((graph, _)) = graph else {
        return Ok(None);
    };
    let keep: Vec<String> = graph
        .nodes
        .iter()
        .filter(|node| record.mirrored.contains_key(&node.payload))
        .map(|node| node.version.clone())
        .collect();
    if keep.is_empty() {
        return Ok(None);
    }
    let rewrite = |payload: &str| match (record.mirrored.get(payload), payload.rsplit_once('@')) {
        (Some(to), Some((_, digest))) => format!("{}/{}@{digest}", to.registry, to.repository),
        _ => payload.to_string(),
    };
    let reduced = graph.reduced_json(&keep, rewrite);
    let text = serde_json::to_string_pretty(&reduced).unwrap_or_default();
    write_resource(&path, &text)?;
    Ok(Some(path))
}

/// The ConfigMap that carries release signatures to a disconnected cluster (`signature-configmap.{json,yaml}`).
pub(crate) const SIGNATURE_CONFIGMAP_FILE: &str = "signature-configmap";

/// A release payload's digest and its verified signature (base64 of the bytes the store served).
#[derive(Debug, Clone)]
pub(crate) struct ReleaseSignature {
    pub digest: String,
    pub signature: String,
}

/// Writes `signature-configmap.json` and `.yaml`: ConfigMap `mirrored-release-signatures` in
/// `openshift-config-managed`, labelled for the cluster-version operator, one `binaryData` key `sha256-<hex>-1` per
/// release. Nothing is written when no release has a signature.
pub(crate) fn write_signature_configmap(
    dir: &Path,
    signatures: &[ReleaseSignature],
) -> Result<Vec<PathBuf>, ResourceError> {
    if signatures.is_empty() {
        return Ok(Vec::new());
    }
    let binary_data: BTreeMap<String, &str> = signatures
        .iter()
        .map(|s| {
            (
                format!("sha256-{}-1", s.digest.trim_start_matches("sha256:")),
                s.signature.as_str(),
            )
        })
        .collect();
    let config_map = serde_json::json!({
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {
            "name": "mirrored-release-signatures",
            "namespace": "openshift-config-managed",
            "labels": {"release.openshift.io/verification-signatures": ""}
        },
        "binaryData": binary_data
    });
    let json = serde_json::to_string(&config_map).unwrap_or_default();
    let yaml = serde_yaml::to_string(&config_map).unwrap_or_default();
    let mut written = Vec::new();
    for (extension, text) in [("json", json), ("yaml", yaml)] {
        let path = dir.join(format!("{SIGNATURE_CONFIGMAP_FILE}.{extension}"));
        write_resource(&path, &text)?;
        written.push(path);
    }
    Ok(written)
}

/// The UpdateService file, as oc-mirror names it.
pub(crate) const UPDATE_SERVICE_FILE: &str = "updateService.yaml";

/// Writes `updateService.yaml`: an OpenShift Update Service (`update-service-oc-mirror`) serving the mirrored
/// releases (`releases`: the payload repository) with the graph data image.
pub(crate) fn write_update_service(
    dir: &Path,
    releases_repository: &str,
    graph_data_image: &str,
) -> Result<PathBuf, ResourceError> {
    let service = serde_json::json!({
        "apiVersion": "updateservice.operator.openshift.io/v1",
        "kind": "UpdateService",
        "metadata": {"name": "update-service-oc-mirror", "namespace": "openshift-update-service"},
        "spec": {
            "graphDataImage": graph_data_image,
            "releases": releases_repository,
            "replicas": 2
        }
    });
    let path = dir.join(UPDATE_SERVICE_FILE);
    let text = serde_yaml::to_string(&service).unwrap_or_default();
    write_resource(&path, &text)?;
    Ok(path)
}
