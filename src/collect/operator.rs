//! `mirror.operators`: for each catalog, read every selected platform's declarative config from the catalog image
//! (pinned to its digest for the whole run), filter it, rebuild the catalog, and plan the rebuilt catalog and every
//! bundle and related image of the kept bundles.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use regex::Regex;

use super::{image_job, pin_tags, CollectContext};
use crate::catalog::extract::{self, CatalogPlatform, ConfigFiles, ExtractError};
use crate::catalog::listing::{catalog_source, CatalogSourceError};
use crate::catalog::rebuild::{self, PlatformConfigs, RebuildError};
use crate::catalog::{filter, related_images, CatalogError, DeclarativeConfig};
use crate::config::{ImageSetConfiguration, Operator};
use crate::events::{Collected, Event, Reporter};
use crate::image::{Digest, PlatformFilter};
use crate::plan::{ImageDestination, ImageOrigin, ImageSource, MirrorJob};
use crate::reference::ImageReference;
use crate::source::Sources;
use crate::source::{BuiltImage, SourceError, SourceReader};

/// Everything the operator collector planned.
#[derive(Default)]
pub(crate) struct CollectedCatalogs {
    pub jobs: Vec<MirrorJob>,
    pub built: Vec<Arc<BuiltImage>>,
    /// Rebuilt catalogs and where they go, for CatalogSource / ClusterCatalog resources.
    pub catalogs: Vec<CatalogTarget>,
    /// Catalogs that could not be collected, and why.
    pub failures: Vec<CatalogFailure>,
}

/// A catalog that could not be read, filtered or rebuilt.
#[derive(Debug)]
pub(crate) struct CatalogFailure {
    /// The catalog as the configuration names it.
    pub catalog: String,
    pub error: OperatorError,
}

/// Why a catalog could not be collected.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OperatorError {
    #[error(transparent)]
    Location(#[from] CatalogSourceError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("its platforms and --platform have none in common")]
    NoCommonPlatform,
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Rebuild(#[from] RebuildError),
    #[error("package `{package}` is in no platform of the catalog")]
    PackageInNoPlatform { package: String },
}

/// A rebuilt catalog's destination and the CatalogSource template the configuration names for it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct CatalogTarget {
    pub catalog: String,
    pub destination: ImageDestination,
    pub template: Option<String>,
}

/// One catalog, filtered, rebuilt and planned.
struct PlannedCatalog {
    built: Arc<BuiltImage>,
    job: MirrorJob,
    target: CatalogTarget,
    related: Vec<MirrorJob>,
}

pub(crate) async fn collect(
    config: &ImageSetConfiguration,
    context: &CollectContext,
    sources: &Sources,
    reporter: &Arc<dyn Reporter>,
) -> CollectedCatalogs {
    let blocked = config.blocked_patterns();
    let mut out = CollectedCatalogs::default();
    let mut planned_related: BTreeMap<String, MirrorJob> = BTreeMap::new();
    for operator in &config.spec.mirror.operators {
        reporter.event(Event::Collected(Collected::CatalogReading {
            catalog: operator.catalog.clone(),
        }));
        match collect_catalog(operator, context, sources, &blocked, reporter).await {
            Ok(planned) => {
                out.jobs.push(planned.job);
                out.built.push(planned.built);
                out.catalogs.push(planned.target);
                for job in planned.related {
                    planned_related.entry(job.source.to_string()).or_insert(job);
                }
            }
            Err(error) => {
                reporter.event(Event::Warning(format!("catalog {}: {error}", operator.catalog)));
                out.failures.push(CatalogFailure {
                    catalog: operator.catalog.clone(),
                    error,
                });
            }
        }
    }
    out.jobs.extend(planned_related.into_values());
    out
}

async fn collect_catalog(
    operator: &Operator,
    context: &CollectContext,
    sources: &Sources,
    blocked: &[Regex],
    reporter: &Arc<dyn Reporter>,
) -> Result<PlannedCatalog, OperatorError> {
    let source = catalog_source(&operator.catalog, None)?;
    let (reader, root) = SourceReader::open(&source, sources).await?;
    let platforms = PlatformFilter::of(operator.platforms.clone())
        .intersect(&context.cli_platforms)
        .ok_or(OperatorError::NoCommonPlatform)?;
    let (mut extracted, stats) = extract::extract(&reader, &operator.catalog, root.clone(), &platforms, None).await?;
    reporter.event(Event::Collected(Collected::CatalogRead {
        catalog: operator.catalog.clone(),
        digest: root.digest.to_string(),
        platforms: extracted.len(),
        layers: stats.layers.layers_fetched,
        bytes: stats.layers.bytes_fetched,
        shared: stats.platforms_shared,
    }));
    let filtered = filter_per_content(&mut extracted, operator, blocked, reporter)?;
    let configs: Vec<PlatformConfigs<'_>> = extracted
        .iter()
        .filter_map(|platform| {
            let content = filtered.get(&platform.content_key)?;
            Some(PlatformConfigs {
                platform,
                files: content.files.clone(),
            })
        })
        .collect();
    let rebuilt = rebuild::rebuild(&root, &configs)?;
    let built = Arc::new(BuiltImage {
        base: Some(source.clone()),
        root: rebuilt.root.clone(),
        manifests: rebuilt.manifests,
        blobs: rebuilt.blobs,
    });
    let destination = catalog_destination(operator, &source, &root.digest, context);
    let job = MirrorJob {
        source: ImageSource::Built {
            digest: built.root.digest.clone(),
            original: operator.catalog.clone(),
        },
        destination: destination.clone(),
        platforms: PlatformFilter::all(),
        origin: ImageOrigin::Operator,
    };
    let target = CatalogTarget {
        catalog: operator.catalog.clone(),
        destination,
        template: operator.target_catalog_source_template.clone(),
    };
    let mut references: Vec<ImageReference> = filtered.values().flat_map(|c| c.images.iter().cloned()).collect();
    references.sort();
    references.dedup();
    let references = pin_tags(references, sources).await;
    let related = references
        .iter()
        .map(|reference| image_job(reference, &platforms, context, ImageOrigin::Operator))
        .collect();
    Ok(PlannedCatalog {
        built,
        job,
        target,
        related,
    })
}

/// The filtered declarative config of one distinct content, rendered, and the images its bundles need.
struct FilteredContent {
    files: Vec<(PathBuf, Bytes)>,
    images: Vec<ImageReference>,
}

/// Platforms with the same configs layers are loaded and filtered once, one content at a time: each content's files
/// are freed as they are parsed and its model dropped once filtered, so memory holds one catalog model at most.
/// A package that some platforms' catalogs lack is mirrored for the platforms that have it (with a warning); a
/// platform that has none of the listed packages is left out of the rebuilt catalog; a package no platform has is
/// an error (the filter's own, which names close matches).
fn filter_per_content(
    platforms: &mut [CatalogPlatform],
    operator: &Operator,
    blocked: &[Regex],
    reporter: &Arc<dyn Reporter>,
) -> Result<HashMap<Vec<Digest>, FilteredContent>, OperatorError> {
    let requested: Vec<&str> = operator.packages.iter().map(|p| p.name.as_str()).collect();
    let mut found: Vec<&str> = Vec::new();
    let mut unknown_package_error: Option<CatalogError> = None;
    let mut out = HashMap::new();
    for SharedContent { key, which, files } in take_contents(platforms) {
        let files = Arc::try_unwrap(files).unwrap_or_else(|shared| (*shared).clone());
        let catalog = DeclarativeConfig::from_files(files.into_iter().map(|(path, bytes)| (path, Vec::from(bytes))))?;
        let missing: Vec<&str> = requested
            .iter()
            .copied()
            .filter(|name| catalog.package(name).is_none())
            .collect();
        found.extend(requested.iter().copied().filter(|name| !missing.contains(name)));
        let mut local = operator.clone();
        if !missing.is_empty() {
            if unknown_package_error.is_none() {
                unknown_package_error = filter(&catalog, operator).err();
            }
            local.packages.retain(|p| !missing.contains(&p.name.as_str()));
            reporter.event(Event::Warning(format!(
                "catalog {} ({which}): no package {}; {}",
                operator.catalog,
                missing.join(", "),
                if local.packages.is_empty() {
                    "this platform is left out"
                } else {
                    "the other packages are mirrored"
                }
            )));
            if local.packages.is_empty() {
                continue;
            }
        }
        out.insert(key, filter_content(&catalog, &local, &which, blocked, reporter)?);
    }
    if let Some(name) = requested.iter().find(|name| !found.contains(name)) {
        return Err(match unknown_package_error {
            Some(error) => OperatorError::Catalog(error),
            None => OperatorError::PackageInNoPlatform {
                package: name.to_string(),
            },
        });
    }
    Ok(out)
}

/// One distinct content of a catalog's platforms.
struct SharedContent {
    /// The layers the configs were read from.
    key: Vec<Digest>,
    /// The platforms that carry it, for messages (`linux/amd64, linux/arm64`, or `image`).
    which: String,
    files: ConfigFiles,
}

/// Moves each distinct content's files out of the platforms (once per content key), with the platforms that
/// carry it (for messages).
fn take_contents(platforms: &mut [CatalogPlatform]) -> Vec<SharedContent> {
    let mut contents: Vec<SharedContent> = Vec::new();
    for platform in platforms.iter_mut() {
        let which = platform
            .platform
            .as_ref()
            .map_or("image".to_string(), ToString::to_string);
        let files = std::mem::take(&mut platform.files);
        match contents.iter_mut().find(|content| content.key == platform.content_key) {
            Some(existing) => existing.which.push_str(&format!(", {which}")),
            None => contents.push(SharedContent {
                key: platform.content_key.clone(),
                which,
                files,
            }),
        }
    }
    contents
}

fn filter_content(
    catalog: &DeclarativeConfig,
    operator: &Operator,
    which: &str,
    blocked: &[Regex],
    reporter: &Arc<dyn Reporter>,
) -> Result<FilteredContent, OperatorError> {
    let outcome = filter(catalog, operator)?;
    let label = format!("catalog {} ({which})", operator.catalog);
    for warning in &outcome.warnings {
        reporter.event(Event::Warning(format!("{label}: {warning}")));
    }
    for added in &outcome.added_dependencies {
        reporter.event(Event::Collected(Collected::DependencyAdded {
            catalog: label.clone(),
            added: added.to_string(),
        }));
    }
    let images = related_images(&outcome.config, blocked);
    for skipped in &images.skipped_bundles {
        reporter.event(Event::Warning(format!(
            "{label}: bundle {} of {} is skipped: {}",
            skipped.bundle, skipped.package, skipped.reason
        )));
    }
    for blocked in &images.blocked {
        reporter.event(Event::Collected(Collected::Blocked {
            image: blocked.image.clone(),
            pattern: blocked.pattern.clone(),
        }));
    }
    let files = outcome
        .config
        .render_files()
        .into_iter()
        .map(|(path, bytes)| (path, Bytes::from(bytes)))
        .collect();
    let images = images.images.into_iter().map(|image| image.reference).collect();
    Ok(FilteredContent { files, images })
}

/// `DEST/NS/<targetCatalog or repository>:<targetTag or tag>`; a digest-only catalog gets `sha256-<hex>`.
fn catalog_destination(
    operator: &Operator,
    source: &ImageSource,
    root: &Digest,
    context: &CollectContext,
) -> ImageDestination {
    let (path, tag) = match source {
        ImageSource::Registry(reference) => (
            reference.repository.clone(),
            reference.tag.clone().unwrap_or_else(|| root.as_tag()),
        ),
        ImageSource::Layout { path, reference } => (
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("catalog")
                .to_ascii_lowercase(),
            reference.clone().unwrap_or_else(|| "latest".into()),
        ),
        _ => ("catalog".into(), root.as_tag()),
    };
    ImageDestination {
        registry: context.registry.clone(),
        repository: context.destination_repository(operator.target_catalog.as_deref().unwrap_or(&path)),
        tag: operator.target_tag.clone().unwrap_or(tag),
    }
}
