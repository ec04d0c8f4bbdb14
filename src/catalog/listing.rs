//! What a catalog offers, per platform: the data behind `ferry list operators` and the TUI's catalog browser.
//! Loads a catalog image (from a registry, an OCI layout or an archive), reads each selected platform's declarative
//! config once per distinct content, and summarizes packages, channels, bundles and architectures.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;

use serde::Serialize;

use super::extract::{self};
use super::{DeclarativeConfig, PackageSummary};
use crate::image::{Digest, PlatformFilter};
use crate::plan::ImageSource;
use crate::reference::{ImageReference, Location, ReferenceError};
use crate::source::SourceReader;
use crate::source::Sources;
use crate::store::archive::ArchiveReader;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ListingError {
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    #[error(transparent)]
    Extract(#[from] extract::ExtractError),
    #[error(transparent)]
    Catalog(#[from] super::CatalogError),
}

/// Why the catalog a configuration names cannot be located.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CatalogSourceError {
    #[error("the archive in {} holds no catalog {catalog}", dir.display())]
    NotInArchive { dir: PathBuf, catalog: String },
    #[error("`{catalog}` is not an oci://DIR[:NAME] reference")]
    NotOciLayout { catalog: String },
    #[error(transparent)]
    Reference(#[from] ReferenceError),
}

/// A loaded catalog: its pinned digest, and each distinct declarative config with the platforms that carry it.
pub(crate) struct LoadedCatalog {
    pub name: String,
    pub digest: Digest,
    /// (platform name, or `all` for a single-platform image) → index into `contents`.
    pub platforms: Vec<(String, usize)>,
    pub contents: Vec<DeclarativeConfig>,
}

/// One package as listed: its summary (default channel, channels, heads, bundles), the catalog platforms that carry
/// it, and the architectures its bundles declare (CSV labels).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PackageListing {
    #[serde(flatten)]
    pub summary: PackageSummary,
    pub catalog_platforms: Vec<String>,
    pub bundle_architectures: Vec<String>,
}

/// Where the catalog a configuration names is read from: the archive when one is given (the catalog as the archive
/// recorded it, rebuilt), else an OCI layout (`oci://DIR[:NAME]`) or a registry (with or without `docker://`).
pub(crate) fn catalog_source(
    catalog: &str,
    archive: Option<&ArchiveReader>,
) -> Result<ImageSource, CatalogSourceError> {
    if let Some(archive) = archive {
        let image = archive
            .metadata()
            .iter()
            .rev()
            .flat_map(|run| run.images.iter())
            .find(|image| same_image(&image.source, catalog))
            .ok_or_else(|| CatalogSourceError::NotInArchive {
                dir: archive.dir().to_path_buf(),
                catalog: catalog.to_string(),
            })?;
        return Ok(ImageSource::Archive {
            digest: image.digest.clone(),
            original: image.source.clone(),
        });
    }
    if catalog.starts_with("oci://") {
        return match catalog.parse::<Location>() {
            Ok(Location::OciLayout { path, reference }) => Ok(ImageSource::Layout { path, reference }),
            _ => Err(CatalogSourceError::NotOciLayout {
                catalog: catalog.to_string(),
            }),
        };
    }
    Ok(ImageSource::Registry(catalog.parse::<ImageReference>()?))
}

/// Two names of the same image: equal as written, or as normalised references (`docker://`, `docker.io` implied).
fn same_image(recorded: &str, wanted: &str) -> bool {
    let parse = |name: &str| name.parse::<ImageReference>().ok();
    recorded == wanted || matches!((parse(recorded), parse(wanted)), (Some(a), Some(b)) if a == b)
}

/// Opens a catalog and reads its declarative configs for the platforms `filter` keeps, adding the bytes of the
/// layers read to `fetched` as they arrive.
pub(crate) async fn load(
    source: &ImageSource,
    name: &str,
    sources: &Sources,
    filter: &PlatformFilter,
    fetched: Option<&AtomicU64>,
) -> Result<LoadedCatalog, ListingError> {
    let (reader, root) = SourceReader::open(source, sources).await?;
    let digest = root.digest.clone();
    let (extracted, _) = extract::extract(&reader, name, root, filter, fetched).await?;
    let mut by_key: HashMap<Vec<Digest>, usize> = HashMap::new();
    let mut contents = Vec::new();
    let mut platforms = Vec::new();
    for platform in &extracted {
        let index = match by_key.get(&platform.content_key) {
            Some(index) => *index,
            None => {
                let files = platform
                    .files
                    .iter()
                    .map(|(path, bytes)| (path.clone(), bytes.to_vec()));
                contents.push(DeclarativeConfig::from_files(files)?);
                by_key.insert(platform.content_key.clone(), contents.len() - 1);
                contents.len() - 1
            }
        };
        let label = platform
            .platform
            .as_ref()
            .map_or("all".to_string(), ToString::to_string);
        platforms.push((label, index));
    }
    Ok(LoadedCatalog {
        name: name.to_string(),
        digest,
        platforms,
        contents,
    })
}

impl LoadedCatalog {
    /// Every package of every platform, merged by name (the first platform that has it gives its summary).
    pub(crate) fn packages(&self) -> Vec<PackageListing> {
        let mut names = BTreeSet::new();
        for content in &self.contents {
            names.extend(content.package_names().into_iter().map(str::to_string));
        }
        names.into_iter().filter_map(|name| self.package(&name)).collect()
    }

    /// One package, or `None` when no platform has it.
    pub(crate) fn package(&self, name: &str) -> Option<PackageListing> {
        let mut summary = None;
        let mut carried_by = Vec::new();
        let mut architectures = BTreeSet::new();
        for (platform, index) in &self.platforms {
            let content = &self.contents[*index];
            let Some(found) = content.summarize_package(name) else {
                continue;
            };
            carried_by.push(platform.clone());
            for bundle in content.bundles_of(name) {
                architectures.extend(bundle.architectures());
            }
            summary.get_or_insert(found);
        }
        summary.map(|summary| PackageListing {
            summary,
            catalog_platforms: carried_by,
            bundle_architectures: architectures.into_iter().collect(),
        })
    }
}
