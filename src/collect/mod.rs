//! Turning an ImageSetConfiguration into a mirror plan, one collector per config group.

pub(crate) mod additional;
pub(crate) mod graph_image;
pub(crate) mod operator;
pub(crate) mod release;

use crate::image::PlatformFilter;

/// Where images go and which platforms the command line allows; shared by every collector.
#[derive(Debug, Clone)]
pub(crate) struct CollectContext {
    /// Destination registry host (`host[:port]`).
    pub registry: String,
    /// Namespace under the registry (may be empty).
    pub namespace: String,
    /// `--platform` values (empty: every platform).
    pub cli_platforms: PlatformFilter,
}

impl CollectContext {
    /// `NS/<path>` or `<path>` when there is no namespace.
    pub(crate) fn destination_repository(&self, path: &str) -> String {
        let path = path.trim_matches('/');
        if self.namespace.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", self.namespace)
        }
    }
}

/// An image the configuration names but that will not be mirrored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Excluded {
    pub image: String,
    pub reason: String,
}
