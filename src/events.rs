//! What the engine tells the outside world while it works. The engine never prints: a `Reporter` decides.

use crate::image::Platform;

/// How an image's index reached the destination when a platform filter selected a subset of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "mode")]
pub(crate) enum IndexOutcome {
    /// Every platform was copied; the digest is the source's.
    Complete,
    /// The original index with only the selected children: same digest as the source.
    Sparse,
    /// A new index holding only the selected platforms (new digest).
    Rewritten,
    /// The destination refused a sparse index and the reference is by digest, so every platform was copied.
    FullCopyForDigest { extra_platforms: Vec<String> },
}

/// One progress event.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    /// The run starts: how many images it will consider.
    RunStarted {
        images: usize,
    },
    ImageStarted {
        index: usize,
        name: String,
    },
    /// Bytes of blob content moved (called often, with small deltas).
    BytesCopied(u64),
    BlobCopied {
        size: u64,
    },
    BlobSkipped,
    BlobMounted,
    ManifestPushed,
    ImageDone {
        index: usize,
        name: String,
        platforms: Vec<Platform>,
        outcome: IndexOutcome,
        unchanged: bool,
    },
    ImageFailed {
        index: usize,
        name: String,
        error: String,
    },
    Warning(String),
    /// A step of the workflow worth a line in the log (collected images, files written).
    Info(String),
    /// A transient failure that is being retried.
    Retrying {
        what: String,
        attempt: u32,
        error: String,
    },
}

/// Receives engine events. Implementations must be cheap: they are called from the copy path.
pub(crate) trait Reporter: Send + Sync {
    fn event(&self, event: Event);
}

/// A reporter that ignores everything (library use, tests).
#[cfg(test)]
pub(crate) struct SilentReporter;

#[cfg(test)]
impl Reporter for SilentReporter {
    fn event(&self, _event: Event) {}
}
