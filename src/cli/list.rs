//! `ferry list operators`: the packages, channels and bundles of a catalog, per platform, from a registry, an OCI
//! layout, or offline from an archive (`--from file://DIR`).

use std::fmt::Write as _;
use std::sync::Arc;

use super::args::{ListOperatorsArgs, OutputFormat};
use crate::catalog::listing::{self, catalog_source, CatalogSourceError, ListingError, LoadedCatalog, PackageListing};
use crate::image::PlatformFilter;
use crate::plan::ImageSource;
use crate::reference::Location;
use crate::registry::{ClientOptions, RegistryError};
use crate::source::Sources;
use crate::store::archive::{ArchiveError, ArchiveReader};

/// Why `ferry list operators` could not list the catalog.
#[derive(Debug, thiserror::Error)]
enum ListError {
    #[error(transparent)]
    Setup(#[from] crate::source::SetupError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("--from must be file://DIR")]
    FromNotDirectory,
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Location(#[from] CatalogSourceError),
    #[error(transparent)]
    Listing(#[from] ListingError),
    #[error("the catalog has no package `{package}`")]
    NoPackage { package: String },
    #[error("package {package} has no channel `{channel}`")]
    NoChannel { package: String, channel: String },
}

pub(super) fn run(args: &ListOperatorsArgs) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return 1;
        }
    };
    match runtime.block_on(list(args)) {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(error) => {
            eprintln!("error: {error}");
            1
        }
    }
}

async fn list(args: &ListOperatorsArgs) -> Result<String, ListError> {
    let (source, sources) = open_sources(args)?;
    let filter = PlatformFilter::of(args.registry.platforms.clone());
    let catalog = listing::load(&source, &args.catalog, &sources, &filter, None).await?;
    match &args.package {
        Some(name) => {
            let package = catalog
                .package(name)
                .ok_or_else(|| ListError::NoPackage { package: name.clone() })?;
            render_package(&catalog, &package, args)
        }
        None => Ok(render_catalog(&catalog, args.output)),
    }
}

/// Where the catalog is read from: the archive (`--from`), an OCI layout, or a registry.
fn open_sources(args: &ListOperatorsArgs) -> Result<(ImageSource, Sources), ListError> {
    let options = ClientOptions {
        tls_verify: args.registry.src_tls_verify,
        ..ClientOptions::default()
    };
    let mut sources = Sources::from_files(
        args.registry.authfile.as_deref(),
        args.registry.registries_conf.as_deref(),
        options,
    )?;
    for warning in sources.mirrors.warnings() {
        eprintln!("warning: {warning}");
    }
    let archive = match &args.from {
        Some(from) => {
            let Ok(Location::Directory(dir)) = from.parse::<Location>() else {
                return Err(ListError::FromNotDirectory);
            };
            Some(Arc::new(ArchiveReader::open(&dir)?))
        }
        None => None,
    };
    let source = catalog_source(&args.catalog, archive.as_deref())?;
    sources.archive = archive;
    Ok((source, sources))
}

fn render_catalog(catalog: &LoadedCatalog, output: OutputFormat) -> String {
    let packages = catalog.packages();
    if output == OutputFormat::Json {
        let value = serde_json::json!({
            "catalog": catalog.name,
            "digest": catalog.digest,
            "platforms": catalog.platforms.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            "packages": packages,
        });
        return serde_json::to_string_pretty(&value).unwrap_or_default() + "\n";
    }
    let mut out = String::new();
    let platforms: Vec<&str> = catalog.platforms.iter().map(|(p, _)| p.as_str()).collect();
    let _ = writeln!(
        out,
        "{} ({})\nplatforms: {}\n",
        catalog.name,
        catalog.digest,
        platforms.join(", ")
    );
    let _ = writeln!(
        out,
        "{:<40} {:<24} {:<16} PLATFORMS",
        "PACKAGE", "DEFAULT CHANNEL", "HEAD VERSION"
    );
    for package in &packages {
        let default = package.summary.default_channel.clone().unwrap_or_default();
        let head = package
            .summary
            .channels
            .iter()
            .find(|c| Some(&c.name) == package.summary.default_channel.as_ref())
            .and_then(|c| c.head_version.clone())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<40} {:<24} {:<16} {}",
            package.summary.name,
            default,
            head,
            package.catalog_platforms.join(",")
        );
    }
    out
}

fn render_package(
    catalog: &LoadedCatalog,
    package: &PackageListing,
    args: &ListOperatorsArgs,
) -> Result<String, ListError> {
    let channels: Vec<_> = match &args.channel {
        Some(name) => {
            let channel = package.summary.channels.iter().find(|c| &c.name == name);
            vec![channel.ok_or_else(|| ListError::NoChannel {
                package: package.summary.name.clone(),
                channel: name.clone(),
            })?]
        }
        None => package.summary.channels.iter().collect(),
    };
    if args.output == OutputFormat::Json {
        let value = serde_json::json!({
            "catalog": catalog.name,
            "package": package.summary.name,
            "defaultChannel": package.summary.default_channel,
            "catalogPlatforms": package.catalog_platforms,
            "bundleArchitectures": package.bundle_architectures,
            "channels": channels,
        });
        return Ok(serde_json::to_string_pretty(&value).unwrap_or_default() + "\n");
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} in {}\ndefault channel: {}\ncatalog platforms: {}\nbundle architectures: {}\n",
        package.summary.name,
        catalog.name,
        package.summary.default_channel.as_deref().unwrap_or("-"),
        package.catalog_platforms.join(", "),
        package.bundle_architectures.join(", ")
    );
    for channel in channels {
        let _ = writeln!(
            out,
            "channel {} (head {} {})",
            channel.name,
            channel.head.as_deref().unwrap_or("?"),
            channel.head_version.as_deref().unwrap_or("")
        );
        if args.channel.is_some() || args.package.is_some() {
            for bundle in &channel.bundles {
                let _ = writeln!(out, "  {bundle}");
            }
        }
    }
    Ok(out)
}
