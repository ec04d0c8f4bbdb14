//! Release cluster resources: the Fedora CoreOS-style update graph reduced to the mirrored releases, with payloads
//! rewritten to the mirror (`fcos-graph-<stream>-<basearch>.json`, served to a disconnected fleet by any static
//! file server).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{write_atomically, ResourceError};
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
    write_atomically(&path, &text).map_err(|source| ResourceError {
        path: path.clone(),
        source,
    })?;
    Ok(Some(path))
}
