//! Update graphs served by the Cincinnati protocol (OpenShift, OKD, and Fedora CoreOS with `oci=true`): parsing,
//! release version ordering, selection of releases by range or by shortest upgrade path, graph and query URLs,
//! architecture spellings, and reduced graphs for serving from a mirror.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

/// The OpenShift Container Platform update service.
pub(crate) const OCP_GRAPH_URL: &str = "https://api.openshift.com/api/upgrades_info/v1/graph";
/// The OKD update service.
pub(crate) const OKD_GRAPH_URL: &str = "https://origin-release.ci.openshift.org/graph";
/// The Fedora CoreOS update service.
pub(crate) const FCOS_GRAPH_URL: &str = "https://updates.coreos.fedoraproject.org/v1/graph";
/// Node metadata naming the payload scheme of a Fedora CoreOS release (`checksum` or `oci`).
pub(crate) const FCOS_SCHEME_KEY: &str = "org.fedoraproject.coreos.scheme";
/// The Fedora CoreOS payload scheme whose payload is an OCI pullspec.
pub(crate) const FCOS_OCI_SCHEME: &str = "oci";
/// How many nearby versions a [`GraphError::VersionNotInChannel`] lists.
const NEAREST_COUNT: usize = 5;

/// Errors from parsing an update graph or selecting releases in it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GraphError {
    #[error("the update graph is not valid JSON (line {line}, column {column}): {message}\n  help: check that the URL points at a Cincinnati graph endpoint and that the response was not cut short")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the update service answered with an error instead of a graph: {kind}: {message}\n  help: check the channel name and the architecture")]
    Service { kind: String, message: String },
    #[error("the update graph has no `nodes` field\n  help: check that the URL points at a Cincinnati graph endpoint")]
    NoNodes,
    #[error("edge #{index} of the update graph ({from} -> {to}) names node {missing}, but the graph has only {nodes} nodes\n  help: the graph is corrupt; fetch it again, or report it to the update service")]
    EdgeOutOfRange {
        index: usize,
        from: usize,
        to: usize,
        missing: usize,
        nodes: usize,
    },
    #[error("the update graph has no releases\n  help: check the channel name and the architecture")]
    Empty,
    #[error("version {version} is not in the update graph; {}\n  help: pick a version that the channel contains", nearest_text(.nearest))]
    VersionNotInChannel { version: String, nearest: Vec<String> },
    #[error("the minimum version {min} is newer than the maximum version {max}\n  help: swap them, or correct the one that is wrong")]
    InvalidRange { min: String, max: String },
    #[error("the update graph has no upgrade path from {from} to {to}, not even through conditional updates\n  help: select a range instead of the shortest path, or pick versions that are connected in this channel")]
    NoPath { from: String, to: String },
}

fn nearest_text(nearest: &[String]) -> String {
    if nearest.is_empty() {
        "the graph has no releases".to_string()
    } else {
        format!("the nearest versions are {}", nearest.join(", "))
    }
}

/// One release (a node of the graph). `payload` is empty for the placeholder nodes that graph-builder output
/// carries for releases it knows only by version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Release {
    pub version: String,
    #[serde(default)]
    pub payload: String,
    #[serde(default, deserialize_with = "string_map")]
    pub metadata: BTreeMap<String, String>,
}

/// A set of upgrades that are recommended only when the cluster is not exposed to the listed risks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ConditionalEdge {
    pub edges: Vec<VersionEdge>,
    #[serde(default)]
    pub risks: Vec<Risk>,
}

/// An upgrade named by versions, as conditional edges write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VersionEdge {
    pub from: String,
    pub to: String,
}

/// A known risk of a conditional upgrade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Risk {
    #[serde(default)]
    pub url: String,
    pub name: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "matchingRules")]
    pub matching_rules: Vec<Value>,
}

/// An update graph: releases, unconditional edges (indexes into `nodes`) and conditional edges (by version).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct UpdateGraph {
    pub nodes: Vec<Release>,
    pub edges: Vec<(usize, usize)>,
    pub conditional_edges: Vec<ConditionalEdge>,
}

/// Which releases of a channel to mirror, as an ImageSetConfiguration's channel entry says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    pub min: Option<String>,
    pub max: Option<String>,
    pub full: bool,
    pub shortest_path: bool,
}

/// Releases chosen from a graph, sorted by version, and the conditional upgrades their path relies on.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Selected {
    pub releases: Vec<Release>,
    pub accepted_risks: Vec<AcceptedRisk>,
}

/// A conditional upgrade on a selected path, with the names of the risks it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AcceptedRisk {
    pub from: String,
    pub to: String,
    pub risks: Vec<String>,
}

#[derive(Deserialize)]
struct WireGraph {
    nodes: Option<Vec<Release>>,
    #[serde(default)]
    edges: Vec<(usize, usize)>,
    #[serde(default, rename = "conditionalEdges")]
    conditional_edges: Option<Vec<ConditionalEdge>>,
    kind: Option<String>,
    value: Option<Value>,
}

/// Metadata values are strings in the protocol; other JSON values are kept as their JSON text.
fn string_map<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error> {
    let raw: Option<serde_json::Map<String, Value>> = Option::deserialize(deserializer)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(text) => (key, text),
            other => (key, other.to_string()),
        })
        .collect())
}

impl UpdateGraph {
    #[cfg(test)]
    /// Parses a Cincinnati graph response, rejecting edges that name nodes the graph does not have.
    pub(crate) fn parse(bytes: &[u8]) -> Result<UpdateGraph, GraphError> {
        let (graph, dropped) = UpdateGraph::parse_lenient(bytes)?;
        match dropped.into_iter().next() {
            Some(error) => Err(error),
            None => Ok(graph),
        }
    }

    /// Parses a Cincinnati graph response, dropping edges that name nodes the graph does not have; each dropped
    /// edge is returned as a [`GraphError::EdgeOutOfRange`] for the caller to warn about.
    pub(crate) fn parse_lenient(bytes: &[u8]) -> Result<(UpdateGraph, Vec<GraphError>), GraphError> {
        let wire: WireGraph = serde_json::from_slice(bytes).map_err(json_error)?;
        let Some(nodes) = wire.nodes else {
            return Err(match wire.kind {
                Some(kind) => GraphError::Service {
                    kind,
                    message: service_message(wire.value),
                },
                None => GraphError::NoNodes,
            });
        };
        let count = nodes.len();
        let mut dropped = Vec::new();
        let mut edges = Vec::with_capacity(wire.edges.len());
        for (index, (from, to)) in wire.edges.into_iter().enumerate() {
            if from < count && to < count {
                edges.push((from, to));
            } else {
                let missing = if from >= count { from } else { to };
                dropped.push(GraphError::EdgeOutOfRange {
                    index,
                    from,
                    to,
                    missing,
                    nodes: count,
                });
            }
        }
        let conditional_edges = wire.conditional_edges.unwrap_or_default();
        Ok((
            UpdateGraph {
                nodes,
                edges,
                conditional_edges,
            },
            dropped,
        ))
    }

    /// The graph in the Cincinnati JSON shape.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "version": 1,
            "nodes": self.nodes,
            "edges": self.edges,
            "conditionalEdges": self.conditional_edges,
        })
    }

    #[cfg(test)]
    /// The newest release.
    pub(crate) fn latest(&self) -> Option<&Release> {
        self.latest_index().map(|index| &self.nodes[index])
    }

    #[cfg(test)]
    /// The oldest release.
    pub(crate) fn first(&self) -> Option<&Release> {
        self.first_index().map(|index| &self.nodes[index])
    }

    /// The node index of a version: the exact text first, else a node of equal version order (`4.16.1` finds
    /// `4.16.1+amd64`).
    pub(crate) fn find(&self, version: &str) -> Option<usize> {
        if let Some(index) = self.nodes.iter().position(|node| node.version == version) {
            return Some(index);
        }
        let wanted = ReleaseVersion::parse(version);
        self.sorted_indices()
            .into_iter()
            .find(|&index| ReleaseVersion::parse(&self.nodes[index].version) == wanted)
    }

    /// Up to `count` versions of the graph closest to `version` in version order, ascending.
    pub(crate) fn nearest(&self, version: &str, count: usize) -> Vec<String> {
        let sorted = self.versions_sorted();
        let wanted = ReleaseVersion::parse(version);
        let position = sorted.partition_point(|candidate| ReleaseVersion::parse(candidate) < wanted);
        let (mut low, mut high) = (position, position);
        while high - low < count && (low > 0 || high < sorted.len()) {
            if low > 0 && (high == sorted.len() || position - low <= high - position) {
                low -= 1;
            } else {
                high += 1;
            }
        }
        sorted[low..high].to_vec()
    }

    /// Every version of the graph, ascending.
    pub(crate) fn versions_sorted(&self) -> Vec<String> {
        self.sorted_indices()
            .into_iter()
            .map(|index| self.nodes[index].version.clone())
            .collect()
    }

    /// The releases to mirror for a channel entry, with the semantics of oc-mirror v2: without `min`, `max` and
    /// `full` only the latest release (even when `shortest_path` is set); otherwise `min` defaults to the first
    /// release and `max` to the latest, and the range is taken whole, or only the releases on the shortest upgrade
    /// path when `shortest_path` is set.
    pub(crate) fn select(&self, selection: &Selection) -> Result<Selected, GraphError> {
        let latest = self.latest_index().ok_or(GraphError::Empty)?;
        if selection.min.is_none() && selection.max.is_none() && !selection.full {
            return Ok(Selected {
                releases: vec![self.nodes[latest].clone()],
                accepted_risks: Vec::new(),
            });
        }
        let first = self.first_index().ok_or(GraphError::Empty)?;
        let min = match &selection.min {
            Some(version) => self.resolve(version)?,
            None => first,
        };
        let max = match &selection.max {
            Some(version) => self.resolve(version)?,
            None => latest,
        };
        let (low, high) = self.checked_range(min, max)?;
        if selection.shortest_path {
            return self.shortest_path(min, max);
        }
        let releases = self
            .sorted_indices()
            .into_iter()
            .filter(|&index| {
                let version = ReleaseVersion::parse(&self.nodes[index].version);
                version >= low && version <= high
            })
            .map(|index| self.nodes[index].clone())
            .collect();
        Ok(Selected {
            releases,
            accepted_risks: Vec::new(),
        })
    }

    /// The releases on the shortest upgrade path from `from` to `to` (both included): unconditional edges only
    /// when such a path exists, else allowing conditional edges (the fewest among the shortest paths), which are
    /// reported in `accepted_risks`.
    pub(crate) fn upgrade_path(&self, from: &str, to: &str) -> Result<Selected, GraphError> {
        let from = self.resolve(from)?;
        let to = self.resolve(to)?;
        self.checked_range(from, to)?;
        self.shortest_path(from, to)
    }

    /// Adds the releases and edges of `other` that this graph lacks; releases are matched by exact version text.
    pub(crate) fn merge(&mut self, other: &UpdateGraph) {
        let mut by_version: HashMap<String, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(index, node)| (node.version.clone(), index))
            .collect();
        let nodes = &mut self.nodes;
        let remap: Vec<usize> = other
            .nodes
            .iter()
            .map(|node| {
                *by_version.entry(node.version.clone()).or_insert_with(|| {
                    nodes.push(node.clone());
                    nodes.len() - 1
                })
            })
            .collect();
        let mut seen: HashSet<(usize, usize)> = self.edges.iter().copied().collect();
        for &(from, to) in &other.edges {
            let (Some(&from), Some(&to)) = (remap.get(from), remap.get(to)) else {
                continue;
            };
            if seen.insert((from, to)) {
                self.edges.push((from, to));
            }
        }
        for conditional in &other.conditional_edges {
            if !self.conditional_edges.contains(conditional) {
                self.conditional_edges.push(conditional.clone());
            }
        }
    }

    /// The Fedora CoreOS releases whose payload is an OCI pullspec, with the edges among them.
    pub(crate) fn oci_only(&self) -> UpdateGraph {
        let keep: Vec<bool> = self
            .nodes
            .iter()
            .map(|node| node.metadata.get(FCOS_SCHEME_KEY).map(String::as_str) == Some(FCOS_OCI_SCHEME))
            .collect();
        self.subgraph(&keep)
    }

    /// The graph restricted to the `keep` versions, with payloads rewritten (to their mirrored location), in the
    /// Cincinnati JSON shape: what a mirror serves in place of the upstream graph.
    pub(crate) fn reduced_json(&self, keep: &[String], rewrite: impl Fn(&str) -> String) -> Value {
        let wanted: HashSet<&str> = keep.iter().map(String::as_str).collect();
        let mask: Vec<bool> = self
            .nodes
            .iter()
            .map(|node| wanted.contains(node.version.as_str()))
            .collect();
        let mut reduced = self.subgraph(&mask);
        for node in &mut reduced.nodes {
            node.payload = rewrite(&node.payload);
        }
        reduced.to_json()
    }

    /// The nodes whose `keep` flag is set, the edges among them (reindexed), and the conditional edges among them.
    fn subgraph(&self, keep: &[bool]) -> UpdateGraph {
        let mut new_index = vec![None; self.nodes.len()];
        let mut nodes = Vec::new();
        for (index, node) in self.nodes.iter().enumerate() {
            if keep.get(index).copied().unwrap_or(false) {
                new_index[index] = Some(nodes.len());
                nodes.push(node.clone());
            }
        }
        let edges = self
            .edges
            .iter()
            .filter_map(|&(from, to)| Some((new_index.get(from).copied()??, new_index.get(to).copied()??)))
            .collect();
        let kept: HashSet<&str> = nodes.iter().map(|node: &Release| node.version.as_str()).collect();
        let conditional_edges = self
            .conditional_edges
            .iter()
            .filter_map(|conditional| {
                let edges: Vec<VersionEdge> = conditional
                    .edges
                    .iter()
                    .filter(|edge| kept.contains(edge.from.as_str()) && kept.contains(edge.to.as_str()))
                    .cloned()
                    .collect();
                (!edges.is_empty()).then(|| ConditionalEdge {
                    edges,
                    risks: conditional.risks.clone(),
                })
            })
            .collect();
        UpdateGraph {
            nodes,
            edges,
            conditional_edges,
        }
    }

    fn resolve(&self, version: &str) -> Result<usize, GraphError> {
        self.find(version).ok_or_else(|| GraphError::VersionNotInChannel {
            version: version.to_string(),
            nearest: self.nearest(version, NEAREST_COUNT),
        })
    }

    /// The versions of two nodes, checked to be in ascending order.
    fn checked_range(&self, min: usize, max: usize) -> Result<(ReleaseVersion, ReleaseVersion), GraphError> {
        let low = ReleaseVersion::parse(&self.nodes[min].version);
        let high = ReleaseVersion::parse(&self.nodes[max].version);
        if low > high {
            return Err(GraphError::InvalidRange {
                min: self.nodes[min].version.clone(),
                max: self.nodes[max].version.clone(),
            });
        }
        Ok((low, high))
    }

    /// Node indexes in version order; equal versions (differing in build metadata) by their text.
    fn sorted_indices(&self) -> Vec<usize> {
        let keys: Vec<ReleaseVersion> = self
            .nodes
            .iter()
            .map(|node| ReleaseVersion::parse(&node.version))
            .collect();
        let mut order: Vec<usize> = (0..self.nodes.len()).collect();
        order.sort_by(|&a, &b| {
            keys[a]
                .cmp(&keys[b])
                .then_with(|| self.nodes[a].version.cmp(&self.nodes[b].version))
        });
        order
    }

    fn latest_index(&self) -> Option<usize> {
        self.sorted_indices().last().copied()
    }

    fn first_index(&self) -> Option<usize> {
        self.sorted_indices().first().copied()
    }

    fn shortest_path(&self, from: usize, to: usize) -> Result<Selected, GraphError> {
        let risks = self.conditional_risks();
        let adjacency = self.adjacency(&risks);
        let path = breadth_first(&adjacency, from, to, false).or_else(|| breadth_first(&adjacency, from, to, true));
        let Some(path) = path else {
            return Err(GraphError::NoPath {
                from: self.nodes[from].version.clone(),
                to: self.nodes[to].version.clone(),
            });
        };
        let mut accepted_risks = Vec::new();
        for pair in path.windows(2) {
            if let Some(names) = risks.get(&(pair[0], pair[1])) {
                accepted_risks.push(AcceptedRisk {
                    from: self.nodes[pair[0]].version.clone(),
                    to: self.nodes[pair[1]].version.clone(),
                    risks: names.clone(),
                });
            }
        }
        let mut releases: Vec<Release> = path.iter().map(|&index| self.nodes[index].clone()).collect();
        releases.sort_by(|a, b| ReleaseVersion::parse(&a.version).cmp(&ReleaseVersion::parse(&b.version)));
        Ok(Selected {
            releases,
            accepted_risks,
        })
    }

    /// The conditional upgrades between nodes of this graph that no unconditional edge covers, with the names of
    /// their risks (from every conditional edge set that lists them).
    fn conditional_risks(&self) -> HashMap<(usize, usize), Vec<String>> {
        let by_version: HashMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(index, node)| (node.version.as_str(), index))
            .collect();
        let plain: HashSet<(usize, usize)> = self.edges.iter().copied().collect();
        let mut risks: HashMap<(usize, usize), Vec<String>> = HashMap::new();
        for conditional in &self.conditional_edges {
            for edge in &conditional.edges {
                let (Some(&from), Some(&to)) = (by_version.get(edge.from.as_str()), by_version.get(edge.to.as_str()))
                else {
                    continue;
                };
                if plain.contains(&(from, to)) {
                    continue;
                }
                let names = risks.entry((from, to)).or_default();
                for risk in &conditional.risks {
                    if !names.contains(&risk.name) {
                        names.push(risk.name.clone());
                    }
                }
            }
        }
        risks
    }

    /// Outgoing edges per node, `true` marking a conditional one, newest target first (so that ties between
    /// equally short paths go to the newer releases, as oc-mirror does).
    fn adjacency(&self, risks: &HashMap<(usize, usize), Vec<String>>) -> Vec<Vec<(usize, bool)>> {
        let mut rank = vec![0; self.nodes.len()];
        for (position, index) in self.sorted_indices().into_iter().enumerate() {
            rank[index] = position;
        }
        let mut adjacency: Vec<Vec<(usize, bool)>> = vec![Vec::new(); self.nodes.len()];
        for &(from, to) in &self.edges {
            adjacency[from].push((to, false));
        }
        for &(from, to) in risks.keys() {
            adjacency[from].push((to, true));
        }
        for targets in &mut adjacency {
            targets.sort_by(|a, b| rank[b.0].cmp(&rank[a.0]).then(a.1.cmp(&b.1)));
            targets.dedup_by_key(|target| target.0);
        }
        adjacency
    }
}

fn json_error(error: serde_json::Error) -> GraphError {
    let (line, column) = (error.line(), error.column());
    let text = error.to_string();
    let message = text
        .strip_suffix(&format!(" at line {line} column {column}"))
        .unwrap_or(&text)
        .to_string();
    GraphError::Json { line, column, message }
}

fn service_message(value: Option<Value>) -> String {
    match value {
        Some(Value::String(text)) => text,
        Some(other) => other.to_string(),
        None => "no message".to_string(),
    }
}

/// Breadth-first search for a shortest path (fewest upgrades); among the shortest paths, the one with the fewest
/// conditional edges. Returns the node indexes from `from` to `to`.
fn breadth_first(adjacency: &[Vec<(usize, bool)>], from: usize, to: usize, conditional: bool) -> Option<Vec<usize>> {
    let mut distance = vec![usize::MAX; adjacency.len()];
    let mut cost = vec![usize::MAX; adjacency.len()];
    let mut previous = vec![usize::MAX; adjacency.len()];
    distance[from] = 0;
    cost[from] = 0;
    let mut queue = VecDeque::from([from]);
    while let Some(node) = queue.pop_front() {
        if distance[to] != usize::MAX && distance[node] >= distance[to] {
            break;
        }
        for &(next, is_conditional) in &adjacency[node] {
            if is_conditional && !conditional {
                continue;
            }
            if distance[next] == usize::MAX {
                distance[next] = distance[node] + 1;
                queue.push_back(next);
            }
            let candidate = cost[node] + usize::from(is_conditional);
            if distance[next] == distance[node] + 1 && candidate < cost[next] {
                cost[next] = candidate;
                previous[next] = node;
            }
        }
    }
    if distance[to] == usize::MAX {
        return None;
    }
    let mut path = vec![to];
    while let Some(&last) = path.last() {
        if last == from {
            break;
        }
        path.push(previous[last]);
    }
    path.reverse();
    Some(path)
}

/// A release version ordered as OpenShift and Fedora CoreOS number them: semantic versions (`4.16.3`,
/// `4.12.0-rc.0`; build metadata such as `+amd64` is kept for display but ignored for ordering) and dotted
/// numbers of any length (`41.20250105.3.0`), compared component by component. Anything else is kept as text,
/// ordered after nothing but other text (below every numbered version).
#[derive(Debug, Clone)]
pub(crate) struct ReleaseVersion {
    text: String,
    key: VersionKey,
}

#[derive(Debug, Clone)]
enum VersionKey {
    Numbered { parts: Vec<u64>, pre: semver::Prerelease },
    Text(String),
}

impl ReleaseVersion {
    /// Parses a version; never fails (see the type's documentation for the fallbacks).
    pub(crate) fn parse(text: &str) -> ReleaseVersion {
        let trimmed = text.trim();
        let unprefixed = match trimmed.strip_prefix('v') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
            _ => trimmed,
        };
        let core = unprefixed.split_once('+').map_or(unprefixed, |(core, _build)| core);
        let key = semver_key(core)
            .or_else(|| dotted_key(core))
            .unwrap_or_else(|| VersionKey::Text(trimmed.to_string()));
        ReleaseVersion {
            text: trimmed.to_string(),
            key,
        }
    }

    /// The version as written (build metadata included).
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    #[cfg(test)]
    /// Whether the version is a pre-release (`4.12.0-rc.0`, `4.15.0-0.okd-2024-03-10-010116`).
    pub(crate) fn is_prerelease(&self) -> bool {
        matches!(&self.key, VersionKey::Numbered { pre, .. } if !pre.is_empty())
    }
}

fn semver_key(core: &str) -> Option<VersionKey> {
    let version = semver::Version::parse(core).ok()?;
    Some(VersionKey::Numbered {
        parts: vec![version.major, version.minor, version.patch],
        pre: version.pre,
    })
}

fn dotted_key(core: &str) -> Option<VersionKey> {
    let (numbers, pre) = match core.split_once('-') {
        Some((numbers, pre)) => (numbers, semver::Prerelease::new(pre).ok()?),
        None => (core, semver::Prerelease::EMPTY),
    };
    let parts: Option<Vec<u64>> = numbers.split('.').map(|part| part.parse::<u64>().ok()).collect();
    Some(VersionKey::Numbered { parts: parts?, pre })
}

/// Compares number lists as if the shorter one were padded with zeros (`4.16` equals `4.16.0`).
fn compare_parts(a: &[u64], b: &[u64]) -> Ordering {
    let length = a.len().max(b.len());
    (0..length)
        .map(|index| {
            a.get(index)
                .copied()
                .unwrap_or(0)
                .cmp(&b.get(index).copied().unwrap_or(0))
        })
        .find(|order| order.is_ne())
        .unwrap_or(Ordering::Equal)
}

impl Ord for ReleaseVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.key, &other.key) {
            (VersionKey::Numbered { parts: a, pre: pa }, VersionKey::Numbered { parts: b, pre: pb }) => {
                compare_parts(a, b).then_with(|| pa.cmp(pb))
            }
            (VersionKey::Numbered { .. }, VersionKey::Text(_)) => Ordering::Greater,
            (VersionKey::Text(_), VersionKey::Numbered { .. }) => Ordering::Less,
            (VersionKey::Text(a), VersionKey::Text(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for ReleaseVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ReleaseVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ReleaseVersion {}

impl fmt::Display for ReleaseVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<&str> for ReleaseVersion {
    fn from(text: &str) -> Self {
        ReleaseVersion::parse(text)
    }
}

/// `<base>?channel=<channel>&arch=<arch>`: the graph of an OpenShift or OKD channel.
pub(crate) fn graph_query_url(base: &str, channel: &str, arch: &str) -> String {
    with_query(base, &[("channel", channel), ("arch", arch)])
}

/// `<base>?stream=<stream>&basearch=<basearch>&oci=true`: the graph of a Fedora CoreOS stream with OCI payloads.
pub(crate) fn fcos_query_url(base: &str, stream: &str, basearch: &str) -> String {
    with_query(base, &[("stream", stream), ("basearch", basearch), ("oci", "true")])
}

fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    let mut url = base.to_string();
    for (name, value) in params {
        let separator = match url.find('?') {
            None => "?",
            Some(_) if url.ends_with('?') || url.ends_with('&') => "",
            Some(_) => "&",
        };
        url.push_str(separator);
        url.push_str(name);
        url.push('=');
        url.push_str(&percent_encode(value));
    }
    url
}

/// Percent-encodes everything but the unreserved characters of RFC 3986.
fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The Cincinnati `arch` parameter (`amd64`, `arm64`, `ppc64le`, `s390x`, `multi`) for either spelling.
pub(crate) fn graph_arch(arch: &str) -> &str {
    match arch {
        "x86_64" | "amd64" => "amd64",
        "aarch64" | "arm64" => "arm64",
        other => other,
    }
}

/// The architecture suffix of a release payload tag as oc-mirror writes it (`<version>-<arch>`): `x86_64`,
/// `aarch64`, `ppc64le`, `s390x`, `multi`; accepts either spelling.
pub(crate) fn payload_arch(arch: &str) -> &str {
    match arch {
        "amd64" | "x86_64" => "x86_64",
        "arm64" | "aarch64" => "aarch64",
        other => other,
    }
}

/// The Fedora CoreOS `basearch` (`x86_64`, `aarch64`, `ppc64le`, `s390x`); accepts either spelling.
pub(crate) fn fcos_basearch(arch: &str) -> &str {
    payload_arch(arch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    const CINCINNATI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata/cincinnati");
    const STABLE_4_13: &str = "api-responses/oc-mirror/amd64-stable-4.13.json";
    const E2E: &str = "api-responses/cincinnati-e2e/134475077ed4eeaedf3c339f12915b9cdaf7d194";

    fn read(relative: &str) -> Vec<u8> {
        let path = Path::new(CINCINNATI).join(relative);
        std::fs::read(&path).unwrap_or_else(|e| panic!("test data {} is missing: {e}", path.display()))
    }

    fn load(relative: &str) -> UpdateGraph {
        UpdateGraph::parse(&read(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    fn json_files(dir: &Path, found: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("test data {} is missing: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                json_files(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "json") {
                found.push(path);
            }
        }
    }

    fn versions(selected: &Selected) -> Vec<&str> {
        selected
            .releases
            .iter()
            .map(|release| release.version.as_str())
            .collect()
    }

    fn selection(min: Option<&str>, max: Option<&str>, full: bool, shortest_path: bool) -> Selection {
        Selection {
            min: min.map(str::to_string),
            max: max.map(str::to_string),
            full,
            shortest_path,
        }
    }

    /// Independent check: hop count of the shortest unconditional path.
    fn hops(graph: &UpdateGraph, from: usize, to: usize) -> Option<usize> {
        let mut distance = vec![usize::MAX; graph.nodes.len()];
        distance[from] = 0;
        let mut queue = VecDeque::from([from]);
        while let Some(node) = queue.pop_front() {
            for &(a, b) in &graph.edges {
                if a == node && distance[b] == usize::MAX {
                    distance[b] = distance[node] + 1;
                    queue.push_back(b);
                }
            }
        }
        (distance[to] != usize::MAX).then_some(distance[to])
    }

    fn assert_path_joined(graph: &UpdateGraph, selected: &Selected) {
        let edges: HashSet<(usize, usize)> = graph.edges.iter().copied().collect();
        for pair in selected.releases.windows(2) {
            let from = graph
                .find(&pair[0].version)
                .expect("release on the path is in the graph");
            let to = graph
                .find(&pair[1].version)
                .expect("release on the path is in the graph");
            assert!(
                edges.contains(&(from, to)),
                "no edge {} -> {}",
                pair[0].version,
                pair[1].version
            );
        }
    }

    #[test]
    fn parses_every_api_response() {
        let mut files = Vec::new();
        json_files(&Path::new(CINCINNATI).join("api-responses"), &mut files);
        assert_eq!(files.len(), 10, "{files:?}");
        for file in &files {
            let bytes = std::fs::read(file).expect("readable test data");
            let (graph, dropped) = UpdateGraph::parse_lenient(&bytes).unwrap_or_else(|e| panic!("{file:?}: {e}"));
            assert!(!graph.nodes.is_empty(), "{file:?}");
            let strict = UpdateGraph::parse(&bytes);
            if file.ends_with("v1-e2e-cincinnatti.json") {
                assert_eq!(dropped.len(), 4);
                assert!(strict.is_err());
            } else {
                assert!(dropped.is_empty(), "{file:?}: {dropped:?}");
                assert_eq!(strict.expect("strict parse"), graph);
            }
        }
    }

    #[test]
    fn out_of_range_edges_are_rejected_or_dropped() {
        let bytes = read("api-responses/oc-mirror/v1-e2e-cincinnatti.json");
        let error = UpdateGraph::parse(&bytes).expect_err("edges name nodes 8 and 41 of 4");
        assert!(
            matches!(
                error,
                GraphError::EdgeOutOfRange {
                    index: 0,
                    from: 8,
                    to: 41,
                    missing: 8,
                    nodes: 4
                }
            ),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("edge #0 of the update graph (8 -> 41)"),
            "{error}"
        );
        let (graph, dropped) = UpdateGraph::parse_lenient(&bytes).expect("lenient parse");
        assert_eq!((graph.nodes.len(), graph.edges.len(), dropped.len()), (4, 0, 4));
        // Its conditional edges name a version that is not a node ("0.1.2") and an empty one: they are kept, unused.
        assert_eq!(graph.conditional_edges.len(), 1);
        assert!(graph.conditional_edges[0].risks.is_empty());
        let selected = graph
            .upgrade_path("0.1.0", "0.1.1")
            .expect("conditional edge 0.1.0 -> 0.1.1");
        assert_eq!(versions(&selected), ["0.1.0", "0.1.1"]);
        assert_eq!(
            selected.accepted_risks,
            [AcceptedRisk {
                from: "0.1.0".into(),
                to: "0.1.1".into(),
                risks: vec![]
            }]
        );
    }

    #[test]
    fn real_graph_latest_first_and_sorted() {
        let graph = load(STABLE_4_13);
        assert_eq!(
            (graph.nodes.len(), graph.edges.len(), graph.conditional_edges.len()),
            (98, 1171, 37)
        );
        assert_eq!(graph.latest().map(|r| r.version.as_str()), Some("4.13.43"));
        assert_eq!(graph.first().map(|r| r.version.as_str()), Some("4.12.0"));
        let sorted = graph.versions_sorted();
        assert_eq!(sorted.len(), 98);
        assert_eq!(&sorted[8..12], ["4.12.8", "4.12.9", "4.12.10", "4.12.11"]);
        let latest = graph.find("4.13.43").expect("latest is a node");
        assert!(graph.nodes[latest]
            .payload
            .starts_with("quay.io/openshift-release-dev/ocp-release@sha256:"));
    }

    #[test]
    fn selection_modes_on_a_real_graph() {
        let graph = load(STABLE_4_13);
        let heads = graph.select(&Selection::default()).expect("latest");
        assert_eq!(versions(&heads), ["4.13.43"]);
        let range = graph
            .select(&selection(Some("4.13.0"), Some("4.13.10"), false, false))
            .expect("range");
        // 4.13.7 is not in the channel.
        assert_eq!(
            versions(&range),
            ["4.13.0", "4.13.1", "4.13.2", "4.13.3", "4.13.4", "4.13.5", "4.13.6", "4.13.8", "4.13.9", "4.13.10"]
        );
        let from_min = graph
            .select(&selection(Some("4.13.40"), None, false, false))
            .expect("min only");
        assert_eq!(versions(&from_min), ["4.13.40", "4.13.41", "4.13.42", "4.13.43"]);
        let to_max = graph
            .select(&selection(None, Some("4.12.2"), false, false))
            .expect("max only");
        assert_eq!(versions(&to_max), ["4.12.0", "4.12.1", "4.12.2"]);
        assert_eq!(
            graph
                .select(&selection(None, None, true, false))
                .expect("full")
                .releases
                .len(),
            98
        );
        let error = graph
            .select(&selection(Some("4.13.10"), Some("4.13.0"), false, false))
            .expect_err("reversed");
        assert!(matches!(error, GraphError::InvalidRange { .. }), "{error:?}");
    }

    #[test]
    fn shortest_path_on_a_real_graph_follows_edges() {
        let graph = load(STABLE_4_13);
        let selected = graph
            .select(&selection(Some("4.12.48"), Some("4.13.37"), false, true))
            .expect("path");
        let (from, to) = (
            graph.find("4.12.48").expect("node"),
            graph.find("4.13.37").expect("node"),
        );
        assert_eq!(hops(&graph, from, to), Some(3));
        assert_eq!(selected.releases.len(), 4);
        assert_eq!(selected.releases[0].version, "4.12.48");
        assert_eq!(selected.releases[3].version, "4.13.37");
        assert_path_joined(&graph, &selected);
        assert!(selected.accepted_risks.is_empty());
        let whole = graph
            .select(&selection(None, None, true, true))
            .expect("first to latest");
        let whole_first = graph.find("4.12.0").expect("node");
        assert_eq!(
            whole.releases.len() - 1,
            hops(&graph, whole_first, graph.find("4.13.43").expect("node")).expect("path")
        );
        assert_path_joined(&graph, &whole);
    }

    #[test]
    fn real_conditional_only_path_reports_its_risks() {
        let graph = load(STABLE_4_13);
        let (from, to) = (
            graph.find("4.12.20").expect("node"),
            graph.find("4.13.8").expect("node"),
        );
        assert_eq!(hops(&graph, from, to), None);
        let selected = graph.upgrade_path("4.12.20", "4.13.8").expect("conditional path");
        assert_eq!(versions(&selected), ["4.12.20", "4.13.8"]);
        let expected = AcceptedRisk {
            from: "4.12.20".into(),
            to: "4.13.8".into(),
            risks: vec!["AcceleratedNetworkingRace".into(), "SeccompFilterErrno524".into()],
        };
        assert_eq!(selected.accepted_risks, [expected]);
    }

    const SMALL: &str = r#"{
      "version": 1,
      "nodes": [
        {"version": "4.14.1", "payload": "example.com/release@sha256:01"},
        {"version": "4.14.2", "payload": "example.com/release@sha256:02", "metadata": {}},
        {"version": "4.14.3", "payload": "example.com/release@sha256:03", "metadata": {"url": "u"}},
        {"version": "4.14.4", "payload": "example.com/release@sha256:04"},
        {"version": "4.14.9", "payload": "example.com/release@sha256:09"}
      ],
      "edges": [[0, 1], [1, 2], [2, 3]],
      "conditionalEdges": [
        {"edges": [{"from": "4.14.2", "to": "4.14.9"}, {"from": "4.14.1", "to": "4.14.4"}],
         "risks": [{"url": "https://example.com/r1", "name": "RiskOne", "message": "m1",
                    "matchingRules": [{"type": "Always"}]}]},
        {"edges": [{"from": "4.14.2", "to": "4.14.9"}],
         "risks": [{"url": "https://example.com/r2", "name": "RiskTwo", "message": "m2", "matchingRules": []}]}
      ]
    }"#;

    #[test]
    fn conditional_edges_only_when_no_unconditional_path() {
        let graph = UpdateGraph::parse(SMALL.as_bytes()).expect("small graph");
        // 4.14.1 -> 4.14.4 has a conditional shortcut, but an unconditional path exists: it is preferred.
        let plain = graph.upgrade_path("4.14.1", "4.14.4").expect("unconditional path");
        assert_eq!(versions(&plain), ["4.14.1", "4.14.2", "4.14.3", "4.14.4"]);
        assert!(plain.accepted_risks.is_empty());
        // 4.14.9 is reachable only through a conditional edge listed by two risk sets.
        let risky = graph
            .select(&selection(Some("4.14.1"), Some("4.14.9"), false, true))
            .expect("conditional path");
        assert_eq!(versions(&risky), ["4.14.1", "4.14.2", "4.14.9"]);
        let expected = AcceptedRisk {
            from: "4.14.2".into(),
            to: "4.14.9".into(),
            risks: vec!["RiskOne".into(), "RiskTwo".into()],
        };
        assert_eq!(risky.accepted_risks, [expected]);
        assert_eq!(graph.conditional_edges[0].risks[0].matching_rules.len(), 1);
    }

    #[test]
    fn no_path_is_an_error() {
        let json =
            r#"{"nodes": [{"version": "1.0.0", "payload": "a"}, {"version": "2.0.0", "payload": "b"}], "edges": []}"#;
        let graph = UpdateGraph::parse(json.as_bytes()).expect("graph");
        let error = graph.upgrade_path("1.0.0", "2.0.0").expect_err("disconnected");
        assert!(
            matches!(&error, GraphError::NoPath { from, to } if from == "1.0.0" && to == "2.0.0"),
            "{error:?}"
        );
        assert_eq!(
            versions(&graph.upgrade_path("2.0.0", "2.0.0").expect("same version")),
            ["2.0.0"]
        );
    }

    #[test]
    fn missing_version_names_the_nearest() {
        let graph = load(STABLE_4_13);
        let error = graph
            .select(&selection(Some("4.13.7"), None, false, false))
            .expect_err("4.13.7 is missing");
        let GraphError::VersionNotInChannel { version, nearest } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(version, "4.13.7");
        assert_eq!(nearest, &["4.13.4", "4.13.5", "4.13.6", "4.13.8", "4.13.9"]);
        assert!(
            error
                .to_string()
                .contains("the nearest versions are 4.13.4, 4.13.5, 4.13.6, 4.13.8, 4.13.9"),
            "{error}"
        );
        assert_eq!(graph.nearest("4.99.0", 2), ["4.13.42", "4.13.43"]);
        assert_eq!(graph.nearest("1.0.0", 2), ["4.12.0", "4.12.1"]);
        let error = graph.upgrade_path("4.12.0", "4.14.0").expect_err("4.14.0 is missing");
        assert!(matches!(error, GraphError::VersionNotInChannel { .. }), "{error:?}");
    }

    #[test]
    fn version_ordering() {
        let v = ReleaseVersion::parse;
        assert!(v("4.12.0-rc.0") < v("4.12.0-rc.1"));
        assert!(v("4.12.0-rc.2") < v("4.12.0-rc.10"));
        assert!(v("4.12.0-rc.8") < v("4.12.0"));
        assert!(v("4.11.59") < v("4.12.0-ec.1"));
        assert!(v("4.9.0") < v("4.10.0"));
        assert!(v("4.15.0-0.okd-2024-03-10-010116") < v("4.15.0-0.okd-2024-03-27-010116"));
        assert_eq!(v("4.0.0-0.1+amd64"), v("4.0.0-0.1+s390x"));
        assert_eq!(v("4.0.0-0.1+amd64").to_string(), "4.0.0-0.1+amd64");
        assert_eq!(v("v4.16.1"), v("4.16.1"));
        assert!(!v("4.16.1").is_prerelease());
        assert!(v("4.16.0-rc.1").is_prerelease());
        // Fedora CoreOS: dotted numbers, compared numerically component by component.
        assert!(v("40.20241019.3.0") < v("41.20241027.3.0"));
        assert!(v("41.20250105.3.0") < v("41.20250117.3.0"));
        assert!(v("41.20250105.3.0") < v("41.20250105.3.1"));
        assert!(v("41.20250105.3.9") < v("41.20250105.3.10"));
        assert!(v("42.20250410.1.0") > v("41.20250803.3.0"));
        assert_eq!(v("4.16"), v("4.16.0"));
        // Text that is no version sorts below every version.
        assert!(v("latest") < v("0.0.1"));
        assert!(v("abc") < v("abd"));
        let mut sorted = [v("41.20250105.3.0"), v("40.20241019.3.0"), v("41.20241027.3.0")];
        sorted.sort();
        let texts: Vec<&str> = sorted.iter().map(ReleaseVersion::as_str).collect();
        assert_eq!(texts, ["40.20241019.3.0", "41.20241027.3.0", "41.20250105.3.0"]);
    }

    #[test]
    fn multi_arch_candidate_graph() {
        let graph = load(&format!("{E2E}_candidate-4.12_multi_v1.json"));
        assert_eq!((graph.nodes.len(), graph.edges.len()), (5, 10));
        assert!(graph
            .nodes
            .iter()
            .all(|n| n.metadata.get("release.openshift.io/architecture").map(String::as_str) == Some("multi")));
        assert_eq!(graph.latest().map(|r| r.version.as_str()), Some("4.12.0-rc.4"));
        assert_eq!(graph.first().map(|r| r.version.as_str()), Some("4.12.0-rc.0"));
        let path = graph.select(&selection(None, None, true, true)).expect("path");
        assert_eq!(versions(&path), ["4.12.0-rc.0", "4.12.0-rc.4"]);
        let all = graph
            .select(&selection(Some("4.12.0-rc.1"), None, false, false))
            .expect("range");
        assert_eq!(
            versions(&all),
            ["4.12.0-rc.1", "4.12.0-rc.2", "4.12.0-rc.3", "4.12.0-rc.4"]
        );
    }

    #[test]
    fn graph_builder_graphs() {
        for (file, nodes, edges) in [
            ("graph-builder/20200220.104838/graph-gb-raw.json", 112, 489),
            (
                "graph-builder/20200220.104838/graph-gb-with-quay-metadata.json",
                112,
                489,
            ),
            ("graph-builder/20211124.083150/graph-gb-raw.json", 1085, 19478),
            (
                "graph-builder/20211124.083150/graph-gb-with-quay-metadata.json",
                1085,
                19478,
            ),
        ] {
            let graph = load(file);
            assert_eq!((graph.nodes.len(), graph.edges.len()), (nodes, edges), "{file}");
            // graph-builder keeps placeholder nodes (version only) for releases it has no payload for.
            assert!(graph.nodes.iter().any(|n| n.payload.is_empty()), "{file}");
        }
        let graph = load("graph-builder/20211124.083150/graph-gb-raw.json");
        let selected = graph.upgrade_path("4.1.2+amd64", "4.9.0-fc.0+amd64").expect("path");
        let (from, to) = (
            graph.find("4.1.2+amd64").expect("node"),
            graph.find("4.9.0-fc.0+amd64").expect("node"),
        );
        assert_eq!(hops(&graph, from, to), Some(11));
        assert_eq!(selected.releases.len(), 12);
        assert_path_joined(&graph, &selected);
        assert!(selected.releases.iter().all(|r| r.version.ends_with("+amd64")));
    }

    #[test]
    fn merged_channels_give_a_cross_channel_path() {
        let mut graph = load(&format!("{E2E}_stable-4.7_amd64_v1.json"));
        let next = load(&format!("{E2E}_stable-4.8_amd64_v1.json"));
        let error = graph
            .upgrade_path("4.6.1", "4.8.54")
            .expect_err("4.8.54 is not in stable-4.7");
        assert!(matches!(error, GraphError::VersionNotInChannel { .. }), "{error:?}");
        graph.merge(&next);
        assert_eq!(
            (graph.nodes.len(), graph.edges.len(), graph.conditional_edges.len()),
            (153, 5253, 2)
        );
        let selected = graph.upgrade_path("4.6.1", "4.8.54").expect("path across channels");
        assert_eq!(selected.releases.len(), 4);
        assert_path_joined(&graph, &selected);
        let again = graph.clone();
        graph.merge(&again);
        assert_eq!(graph, again);
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        let error = UpdateGraph::parse(b"{\n  \"nodes\": [,]\n}").expect_err("bad JSON");
        assert!(
            matches!(
                &error,
                GraphError::Json {
                    line: 2,
                    column: 13,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("line 2, column 13"), "{error}");
        let service = br#"{"kind": "invalid_params", "value": "mandatory client parameters missing: channel"}"#;
        let error = UpdateGraph::parse(service).expect_err("service error");
        assert!(
            error
                .to_string()
                .contains("invalid_params: mandatory client parameters missing: channel"),
            "{error}"
        );
        assert!(matches!(UpdateGraph::parse(b"{}"), Err(GraphError::NoNodes)));
        let error = UpdateGraph::parse(br#"{"nodes": [{"payload": "p"}]}"#).expect_err("no version");
        assert!(error.to_string().contains("missing field `version`"), "{error}");
        let empty = UpdateGraph::parse(br#"{"nodes": [], "edges": []}"#).expect("empty graph");
        assert!(matches!(empty.select(&Selection::default()), Err(GraphError::Empty)));
        let odd = br#"{"nodes": [{"version": "1.0.0", "payload": "p", "metadata": {"n": 3, "b": true, "z": null}}]}"#;
        let graph = UpdateGraph::parse(odd).expect("non-string metadata");
        assert_eq!(graph.nodes[0].metadata.get("n").map(String::as_str), Some("3"));
        let null = UpdateGraph::parse(br#"{"nodes": [{"version": "1.0.0", "payload": "p", "metadata": null}]}"#);
        assert!(null.expect("null metadata").nodes[0].metadata.is_empty());
    }

    #[test]
    fn urls_and_architectures() {
        assert_eq!(
            graph_query_url(OCP_GRAPH_URL, "stable-4.16", "amd64"),
            "https://api.openshift.com/api/upgrades_info/v1/graph?channel=stable-4.16&arch=amd64"
        );
        assert_eq!(
            graph_query_url("https://example.com/graph?id=1", "fast 4.16", "multi"),
            "https://example.com/graph?id=1&channel=fast%204.16&arch=multi"
        );
        assert_eq!(
            graph_query_url("http://h/g?", "a&b", "x"),
            "http://h/g?channel=a%26b&arch=x"
        );
        assert_eq!(
            fcos_query_url(FCOS_GRAPH_URL, "stable", "x86_64"),
            "https://updates.coreos.fedoraproject.org/v1/graph?stream=stable&basearch=x86_64&oci=true"
        );
        assert_eq!(OKD_GRAPH_URL, "https://origin-release.ci.openshift.org/graph");
        for (any, graph, payload) in [
            ("amd64", "amd64", "x86_64"),
            ("x86_64", "amd64", "x86_64"),
            ("arm64", "arm64", "aarch64"),
            ("aarch64", "arm64", "aarch64"),
            ("ppc64le", "ppc64le", "ppc64le"),
            ("s390x", "s390x", "s390x"),
            ("multi", "multi", "multi"),
        ] {
            assert_eq!((graph_arch(any), payload_arch(any)), (graph, payload), "{any}");
        }
        assert_eq!(fcos_basearch("amd64"), "x86_64");
        assert_eq!(fcos_basearch("aarch64"), "aarch64");
    }

    /// Written from the documented Fedora CoreOS update graph format (no real response is in the test data):
    /// `oci=true` adds nodes with scheme `oci` whose payload is a digest-pinned pullspec.
    const FCOS: &str = r#"{
      "nodes": [
        {"version": "41.20241215.3.0",
         "metadata": {"org.fedoraproject.coreos.scheme": "checksum", "org.fedoraproject.coreos.releases.age_index": "0"},
         "payload": "5c1e2b7f0a7d29d5a3b4f3a5a0cbe8d9e0f1b2c3d4e5f60718293a4b5c6d7e8f"},
        {"version": "41.20250105.3.0",
         "metadata": {"org.fedoraproject.coreos.scheme": "oci", "org.fedoraproject.coreos.releases.age_index": "0"},
         "payload": "quay.io/fedora/fedora-coreos@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"},
        {"version": "41.20250117.3.0",
         "metadata": {"org.fedoraproject.coreos.scheme": "oci", "org.fedoraproject.coreos.releases.age_index": "1",
                      "org.fedoraproject.coreos.updates.barrier": "true"},
         "payload": "quay.io/fedora/fedora-coreos@sha256:1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a"},
        {"version": "41.20250130.3.0",
         "metadata": {"org.fedoraproject.coreos.scheme": "oci", "org.fedoraproject.coreos.releases.age_index": "2"},
         "payload": "quay.io/fedora/fedora-coreos@sha256:2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b"}
      ],
      "edges": [[0, 1], [0, 2], [1, 2], [2, 3]]
    }"#;

    #[test]
    fn fcos_oci_graph_and_reduced_json() {
        let graph = UpdateGraph::parse(FCOS.as_bytes()).expect("FCOS graph");
        assert_eq!(graph.latest().map(|r| r.version.as_str()), Some("41.20250130.3.0"));
        let oci = graph.oci_only();
        assert_eq!(
            oci.versions_sorted(),
            ["41.20250105.3.0", "41.20250117.3.0", "41.20250130.3.0"]
        );
        assert_eq!(oci.edges, [(0, 1), (1, 2)]);
        assert!(oci
            .nodes
            .iter()
            .all(|n| n.payload.starts_with("quay.io/fedora/fedora-coreos@sha256:")));
        let path = oci.upgrade_path("41.20250105.3.0", "41.20250130.3.0").expect("path");
        assert_eq!(path.releases.len(), 3);

        let keep = ["41.20250117.3.0".to_string(), "41.20250130.3.0".to_string()];
        let reduced = oci.reduced_json(&keep, |payload| payload.replace("quay.io/", "mirror.example.com:5000/"));
        assert_eq!(reduced["version"], 1);
        assert_eq!(reduced["edges"], json!([[0, 1]]));
        assert_eq!(reduced["conditionalEdges"], json!([]));
        assert_eq!(reduced["nodes"][0]["version"], "41.20250117.3.0");
        assert_eq!(
            reduced["nodes"][0]["metadata"]["org.fedoraproject.coreos.updates.barrier"],
            "true"
        );
        let payload = reduced["nodes"][1]["payload"].as_str().expect("payload");
        assert!(
            payload.starts_with("mirror.example.com:5000/fedora/fedora-coreos@sha256:2c3d"),
            "{payload}"
        );
        let served = serde_json::to_vec(&reduced).expect("serialize");
        let reparsed = UpdateGraph::parse(&served).expect("the reduced graph is a valid graph");
        assert_eq!(reparsed.nodes.len(), 2);
    }

    #[test]
    fn reduced_json_keeps_conditional_edges_among_kept_versions() {
        let graph = UpdateGraph::parse(SMALL.as_bytes()).expect("small graph");
        let keep: Vec<String> = ["4.14.1", "4.14.2", "4.14.9"].iter().map(|v| v.to_string()).collect();
        let reduced = graph.reduced_json(&keep, |payload| format!("mirror/{payload}"));
        assert_eq!(reduced["edges"], json!([[0, 1]]));
        let conditional = reduced["conditionalEdges"].as_array().expect("array");
        assert_eq!(conditional.len(), 2);
        assert_eq!(conditional[0]["edges"], json!([{"from": "4.14.2", "to": "4.14.9"}]));
        assert_eq!(conditional[0]["risks"][0]["matchingRules"], json!([{"type": "Always"}]));
        let reparsed = UpdateGraph::parse(&serde_json::to_vec(&reduced).expect("serialize")).expect("valid graph");
        let path = reparsed.upgrade_path("4.14.1", "4.14.9").expect("path");
        assert_eq!(path.accepted_risks.len(), 1);
        assert_eq!(path.releases[0].payload, "mirror/example.com/release@sha256:01");
    }
}
