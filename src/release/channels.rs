//! From `mirror.platform.channels` to releases: one update-graph query per channel and architecture, the
//! selection each channel asks for (head, range, full, shortest path), and, for two channels of the same type, the
//! releases on the upgrade path between them. Fedora CoreOS-style streams (`type: fcos`) are queried with
//! `stream`, `basearch` and `oci=true`, and only their OCI payloads are kept.

use std::collections::BTreeMap;

use super::graph::{self, AcceptedRisk, Release, ReleaseVersion, Selection, UpdateGraph};
use super::ReleaseError;
use crate::config::{ChannelType, ReleaseChannel, ReleasePlatform};
use crate::registry::DocumentClient;

/// The environment variable that replaces the update graph URL (as oc-mirror).
pub(crate) const UPDATE_URL_OVERRIDE: &str = "UPDATE_URL_OVERRIDE";

/// A release chosen from a channel, for one architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChannelRelease {
    pub version: String,
    /// The payload image, by digest.
    pub payload: String,
    /// The architecture as the configuration names it (`amd64`, `multi`...).
    pub arch: String,
    pub channel: String,
    /// A Fedora CoreOS-style release: an OCI image mirrored as it is, not an OpenShift payload.
    pub fcos: Option<FcosStream>,
    /// OKD releases are not signed.
    pub unsigned: bool,
}

/// The stream and base architecture of a Fedora CoreOS-style release.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct FcosStream {
    pub stream: String,
    pub basearch: String,
}

/// A Fedora CoreOS-style graph, kept to write the reduced graph a disconnected fleet is served.
#[derive(Debug, Clone)]
pub(crate) struct FcosGraph {
    pub stream: FcosStream,
    pub graph: UpdateGraph,
}

/// Every release the channels select, and the conditional upgrades their paths accepted.
#[derive(Debug, Default)]
pub(crate) struct Resolution {
    pub releases: Vec<ChannelRelease>,
    pub accepted_risks: Vec<String>,
    /// Edges of the served graphs that were dropped (they named nodes that do not exist).
    pub warnings: Vec<String>,
    pub fcos_graphs: Vec<FcosGraph>,
}

/// The architectures whose graphs are queried: `multi` when platforms are listed (the multi payload reduced to
/// them), else `architectures` (amd64 when none).
pub(crate) fn architectures(platform: &ReleasePlatform) -> Vec<String> {
    if !platform.platforms.is_empty() {
        return vec!["multi".to_string()];
    }
    if platform.architectures.is_empty() {
        return vec!["amd64".to_string()];
    }
    platform.architectures.clone()
}

/// The update graph URL for a channel type: `UPDATE_URL_OVERRIDE` when set, else the product's service.
pub(crate) fn graph_url(channel_type: ChannelType) -> String {
    match std::env::var(UPDATE_URL_OVERRIDE) {
        Ok(url) if !url.trim().is_empty() => url.trim().to_string(),
        _ => match channel_type {
            ChannelType::Ocp => graph::OCP_GRAPH_URL.to_string(),
            ChannelType::Okd => graph::OKD_GRAPH_URL.to_string(),
            ChannelType::Fcos => graph::FCOS_GRAPH_URL.to_string(),
        },
    }
}

/// Resolves every channel for every architecture.
pub(crate) async fn resolve(
    platform: &ReleasePlatform,
    client: &DocumentClient,
    on_retry: &(dyn Fn(u32, &str) + Sync),
) -> Result<Resolution, ReleaseError> {
    let mut resolution = Resolution::default();
    for arch in architectures(platform) {
        let mut by_type: BTreeMap<&str, Vec<(UpdateGraph, Vec<Release>)>> = BTreeMap::new();
        for channel in &platform.channels {
            let graph = fetch_graph(channel, &arch, client, on_retry, &mut resolution.warnings).await?;
            let selected = graph
                .select(&selection(channel))
                .map_err(|source| ReleaseError::graph(channel, &arch, source))?;
            note_risks(&mut resolution.accepted_risks, &channel.name, &selected.accepted_risks);
            let origin = ChannelOrigin {
                name: channel.name.clone(),
                fcos: fcos_stream(channel, &arch),
                unsigned: channel.channel_type == ChannelType::Okd,
            };
            add(&mut resolution.releases, &selected.releases, &arch, &origin);
            if let Some(stream) = origin.fcos {
                resolution.fcos_graphs.push(FcosGraph { stream, graph });
                continue;
            }
            by_type
                .entry(channel.channel_type.as_str())
                .or_default()
                .push((graph, selected.releases));
        }
        for (channel_type, channels) in by_type {
            let origin = ChannelOrigin {
                name: "upgrade path between channels".into(),
                fcos: None,
                unsigned: channel_type == ChannelType::Okd.as_str(),
            };
            paths_between(channels, &arch, &origin, &mut resolution)?;
        }
    }
    Ok(resolution)
}

fn fcos_stream(channel: &ReleaseChannel, arch: &str) -> Option<FcosStream> {
    (channel.channel_type == ChannelType::Fcos).then(|| FcosStream {
        stream: channel.name.clone(),
        basearch: graph::fcos_basearch(arch).to_string(),
    })
}

fn selection(channel: &ReleaseChannel) -> Selection {
    Selection {
        min: channel.min_version.clone(),
        max: channel.max_version.clone(),
        full: channel.full,
        shortest_path: channel.shortest_path,
    }
}

async fn fetch_graph(
    channel: &ReleaseChannel,
    arch: &str,
    client: &DocumentClient,
    on_retry: &(dyn Fn(u32, &str) + Sync),
    warnings: &mut Vec<String>,
) -> Result<UpdateGraph, ReleaseError> {
    let base = graph_url(channel.channel_type);
    let url = match channel.channel_type {
        ChannelType::Fcos => graph::fcos_query_url(&base, &channel.name, graph::fcos_basearch(arch)),
        _ => graph::graph_query_url(&base, &channel.name, graph::graph_arch(arch)),
    };
    let body = client
        .get(&url, "application/json", on_retry)
        .await
        .map_err(|source| ReleaseError::Fetch {
            channel: channel.name.clone(),
            arch: arch.to_string(),
            source: Box::new(source),
        })?;
    let (graph, dropped) = UpdateGraph::parse_lenient(&body).map_err(|source| ReleaseError::Graph {
        channel: channel.name.clone(),
        arch: arch.to_string(),
        url: url.clone(),
        source: Box::new(source),
    })?;
    warnings.extend(dropped.iter().map(|e| format!("update graph {url}: {e}")));
    let graph = match channel.channel_type {
        ChannelType::Fcos => graph.oci_only(),
        _ => graph,
    };
    if graph.nodes.is_empty() {
        return Err(ReleaseError::EmptyChannel {
            channel: channel.name.clone(),
            arch: arch.to_string(),
            url,
        });
    }
    Ok(graph)
}

/// For channels of one type, ordered by their newest selected release, the releases on the upgrade path from
/// each channel's newest selection to the next channel's oldest.
fn paths_between(
    mut channels: Vec<(UpdateGraph, Vec<Release>)>,
    arch: &str,
    origin: &ChannelOrigin,
    resolution: &mut Resolution,
) -> Result<(), ReleaseError> {
    channels.retain(|(_, releases)| !releases.is_empty());
    channels.sort_by_key(|(_, releases)| newest(releases));
    for pair in channels.windows(2) {
        let (from, to) = (newest(&pair[0].1), oldest(&pair[1].1));
        if from >= to {
            continue;
        }
        let mut merged = pair[0].0.clone();
        merged.merge(&pair[1].0);
        let path = merged
            .upgrade_path(from.as_str(), to.as_str())
            .map_err(|source| ReleaseError::Between {
                from: from.to_string(),
                to: to.to_string(),
                arch: arch.to_string(),
                source: Box::new(source),
            })?;
        note_risks(&mut resolution.accepted_risks, "between channels", &path.accepted_risks);
        add(&mut resolution.releases, &path.releases, arch, origin);
    }
    Ok(())
}

fn newest(releases: &[Release]) -> ReleaseVersion {
    releases
        .iter()
        .map(|r| ReleaseVersion::parse(&r.version))
        .max()
        .unwrap_or_else(|| ReleaseVersion::parse(""))
}

fn oldest(releases: &[Release]) -> ReleaseVersion {
    releases
        .iter()
        .map(|r| ReleaseVersion::parse(&r.version))
        .min()
        .unwrap_or_else(|| ReleaseVersion::parse(""))
}

/// Which channel releases came from, and what that means for mirroring them.
struct ChannelOrigin {
    name: String,
    fcos: Option<FcosStream>,
    unsigned: bool,
}

fn add(into: &mut Vec<ChannelRelease>, releases: &[Release], arch: &str, origin: &ChannelOrigin) {
    for release in releases {
        if into.iter().any(|r| r.payload == release.payload && r.arch == arch) {
            continue;
        }
        into.push(ChannelRelease {
            version: release.version.clone(),
            payload: release.payload.clone(),
            arch: arch.to_string(),
            channel: origin.name.clone(),
            fcos: origin.fcos.clone(),
            unsigned: origin.unsigned,
        });
    }
}

fn note_risks(into: &mut Vec<String>, channel: &str, risks: &[AcceptedRisk]) {
    for risk in risks {
        into.push(format!(
            "{channel}: the upgrade {} → {} is conditional; accepted its risks: {}",
            risk.from,
            risk.to,
            risk.risks.join(", ")
        ));
    }
}
