//! Operator catalogs in OLM's file-based format (FBC): the model (`model`), reading (`load`), writing back
//! (`render`), the upgrade graph of a channel (`graph`), version ranges (`version`), filtering by an
//! ImageSetConfiguration's `mirror.operators` entry (`filter`) and the images a filtered catalog needs (`related`).
//!
//! Fetching catalog layers from registries and rebuilding catalog images live elsewhere; this module works on the
//! FBC files only. The filtering rules are documented, with examples, in `docs/catalog-filtering.md`.

pub(crate) mod extract;
mod filter;
mod graph;
pub(crate) mod listing;
mod load;
mod model;
pub(crate) mod rebuild;
mod related;
mod render;
mod version;

#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

pub(crate) use filter::filter;
pub(crate) use model::{DeclarativeConfig, PackageSummary, SCHEMA_BUNDLE, SCHEMA_CHANNEL};
pub(crate) use related::related_images;

/// What a declarative config directory holds, read through the same loader as every run: the library's one entry
/// point below the command line, for the catalog benchmark that times parsing.
#[derive(Debug, Clone)]
pub struct CatalogContents {
    /// Package names, sorted.
    pub packages: Vec<String>,
    /// Every bundle image and related image the catalog names, as written.
    pub images: Vec<String>,
}

/// Loads and checks every catalog file under `dir` (as `ferry list operators` and `mirror` do).
pub fn read_catalog_dir(dir: &Path) -> Result<CatalogContents, Box<dyn std::error::Error + Send + Sync>> {
    let config = DeclarativeConfig::load_dir(dir)?;
    let mut packages: Vec<String> = config.package_names().into_iter().map(str::to_string).collect();
    packages.sort();
    let images = config
        .bundles()
        .iter()
        .flat_map(|bundle| {
            std::iter::once(bundle.image()).chain(bundle.related_images().iter().map(|r| r.image.as_str()))
        })
        .map(str::to_string)
        .collect();
    Ok(CatalogContents { packages, images })
}
pub(crate) use version::VersionRange;

/// Everything that can go wrong reading, filtering or writing a catalog. Messages name the file (and position) or
/// the catalog and package concerned, and say what to change.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CatalogError {
    #[error("cannot read `{}`: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },

    /// The file is not valid JSON or YAML.
    #[error("`{path}` line {line}, column {column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },

    /// A blob is well-formed JSON/YAML but not a valid catalog object.
    #[error("`{path}` {at}: {error}")]
    Blob {
        path: String,
        at: String,
        #[source]
        error: model::BlobError,
    },

    /// Blobs contradict each other across files (duplicates, blobs of an undefined package).
    #[error("{message}")]
    Inconsistent { message: String },

    #[error("package `{package}` is not in catalog `{catalog}`{}", suggest(suggestions, *total))]
    UnknownPackage {
        catalog: String,
        package: String,
        /// Close matches among the catalog's package names.
        suggestions: Vec<String>,
        /// How many packages the catalog has.
        total: usize,
    },

    #[error(
        "channel `{channel}` of package `{package}` is not in catalog `{catalog}`: the package has {}",
        list(available)
    )]
    UnknownChannel {
        catalog: String,
        package: String,
        channel: String,
        available: Vec<String>,
    },

    #[error("bundle `{bundle}` of package `{package}` is not in catalog `{catalog}`{}", suggest(suggestions, *total))]
    UnknownBundle {
        catalog: String,
        package: String,
        bundle: String,
        suggestions: Vec<String>,
        total: usize,
    },

    /// The default channel of a package would be filtered away (or the override names a channel not kept).
    #[error("package `{package}` of catalog `{catalog}`: {message}")]
    DefaultChannel {
        catalog: String,
        package: String,
        message: String,
    },

    /// A channel's upgrade graph cannot be filtered (several heads, a cycle) or the selection breaks it.
    #[error("channel `{channel}` of package `{package}` in catalog `{catalog}`: {message}")]
    InvalidChannel {
        catalog: String,
        package: String,
        channel: String,
        message: String,
    },

    /// The filter itself is contradictory or unparsable (normally caught by `ferry validate`).
    #[error("package `{package}` of catalog `{catalog}`: {message}")]
    InvalidFilter {
        catalog: String,
        package: String,
        message: String,
    },

    #[error("cannot write `{}`: {source}", path.display())]
    #[cfg(test)]
    Render { path: PathBuf, source: io::Error },
}

fn list(items: &[String]) -> String {
    match items {
        [] => "no channels".to_string(),
        [one] => format!("only `{one}`"),
        many => format!(
            "channels {}",
            many.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn suggest(suggestions: &[String], total: usize) -> String {
    if suggestions.is_empty() {
        format!(" (it has {total} of them, none with a similar name: `ferry list operators --catalog ...` lists them)")
    } else {
        let quoted: Vec<String> = suggestions.iter().map(|s| format!("`{s}`")).collect();
        match quoted.split_last() {
            Some((last, [])) => format!(": did you mean {last}?"),
            Some((last, rest)) => format!(": did you mean {} or {last}?", rest.join(", ")),
            None => String::new(),
        }
    }
}

/// Names among `candidates` close to `wanted` (edit distance, or one containing the other), best first, at most 3.
pub(crate) fn close_matches<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let wanted_lower = wanted.to_ascii_lowercase();
    let limit = (wanted.len() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let lower = c.to_ascii_lowercase();
            let distance = levenshtein(&wanted_lower, &lower);
            if distance <= limit {
                Some((distance, c))
            } else if lower.contains(&wanted_lower) || wanted_lower.contains(&lower) {
                Some((limit + 1 + lower.len().abs_diff(wanted_lower.len()), c))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().take(3).map(|(_, c)| c.to_string()).collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}
