//! Which workflow a set of endpoints means, decided once for the command line and the TUI: the destination, and
//! where the archives come from (`--from`) or the run keeps its state (`--workspace`).

use std::path::PathBuf;

use super::{DiskOptions, Mode, RegistryTarget};
use crate::reference::{Location, ReferenceError};

/// The endpoints of a mirror run, as given.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoints<'a> {
    /// `docker://HOST[:PORT][/NS]`, `file://DIR` or `oci://DIR`.
    pub destination: &'a str,
    /// `file://DIR` holding archives to push (disk-to-mirror).
    pub from: Option<&'a str>,
    /// `file://DIR` for state, logs and cluster resources (mirror-to-mirror, into a layout).
    pub workspace: Option<&'a str>,
}

/// Why a set of endpoints is not a workflow.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EndpointError {
    #[error(transparent)]
    Destination(#[from] ReferenceError),
    #[error("mirror-to-disk writes its state next to its archives: drop --from/--workspace")]
    DiskWithState,
    #[error("use --from (disk-to-mirror) or --workspace (mirror-to-mirror), not both")]
    FromAndWorkspace,
    #[error(
        "mirror-to-mirror needs --workspace file://DIR for its state, logs and cluster resources\n  \
         help: ferry mirror -c ISC --workspace file://DIR docker://HOST[/NS]; to push archives use --from file://DIR"
    )]
    NoWorkspace,
    #[error("an oci:// destination is a directory: images are named <repository>:<tag> inside it")]
    NamedLayout,
    #[error("mirroring into oci://DIR needs --workspace file://DIR for its state and logs (and no --from)")]
    LayoutWithoutWorkspace,
    #[error("ferry delete deletes from a registry: give docker://HOST[:PORT][/NS]")]
    NotARegistry,
    #[error("{option} must be file://DIR")]
    NotADirectory { option: &'static str },
    #[error("{option}: {source}")]
    BadDirectory {
        option: &'static str,
        source: ReferenceError,
    },
}

impl Endpoints<'_> {
    /// The workflow these endpoints mean (mirror-to-disk with default options, which the caller may refine).
    pub(crate) fn mode(&self) -> Result<Mode, EndpointError> {
        let destination: Location = self.destination.parse()?;
        Ok(match (destination, self.from, self.workspace) {
            (Location::Directory(archive_dir), None, None) => Mode::MirrorToDisk(DiskOptions {
                archive_dir,
                since: None,
                archive_size: None,
                strict_archive: false,
            }),
            (Location::Directory(_), _, _) => return Err(EndpointError::DiskWithState),
            (Location::Registry { registry, namespace }, Some(from), None) => Mode::DiskToMirror {
                archive_dir: directory("--from", from)?,
                destination: RegistryTarget { registry, namespace },
            },
            (Location::Registry { registry, namespace }, None, Some(workspace)) => Mode::MirrorToMirror {
                workspace: directory("--workspace", workspace)?,
                destination: RegistryTarget { registry, namespace },
            },
            (Location::Registry { .. }, Some(_), Some(_)) => return Err(EndpointError::FromAndWorkspace),
            (Location::Registry { .. }, None, None) => return Err(EndpointError::NoWorkspace),
            (Location::OciLayout { path, reference: None }, None, Some(workspace)) => Mode::MirrorToLayout {
                workspace: directory("--workspace", workspace)?,
                layout: path,
            },
            (Location::OciLayout { reference: Some(_), .. }, _, _) => return Err(EndpointError::NamedLayout),
            (Location::OciLayout { .. }, _, _) => return Err(EndpointError::LayoutWithoutWorkspace),
        })
    }
}

/// The endpoints of `ferry delete`: a registry, and the workspace that holds the delete list and the log.
pub(crate) fn delete_mode(destination: &str, workspace: PathBuf) -> Result<Mode, EndpointError> {
    match destination.parse::<Location>()? {
        Location::Registry { registry, namespace } => Ok(Mode::MirrorToMirror {
            workspace,
            destination: RegistryTarget { registry, namespace },
        }),
        _ => Err(EndpointError::NotARegistry),
    }
}

/// `file://DIR` as a directory.
pub(crate) fn workspace_directory(value: &str) -> Result<PathBuf, EndpointError> {
    directory("--workspace", value)
}

fn directory(option: &'static str, value: &str) -> Result<PathBuf, EndpointError> {
    match value.parse::<Location>() {
        Ok(Location::Directory(dir)) => Ok(dir),
        Ok(_) => Err(EndpointError::NotADirectory { option }),
        Err(source) => Err(EndpointError::BadDirectory { option, source }),
    }
}
