//! The update graph data an OpenShift Update Service serves from inside the cluster: the graph-data tarball
//! (`GRAPH_DATA_URL_OVERRIDE`, else api.openshift.com) re-rooted at `/var/lib/cincinnati-graph-data` as one layer of
//! the graph image, whose command copies it where the service reads it. Entries other than directories and regular
//! files, and paths that are absolute or climb with `..`, are refused: nothing of the tarball lands outside its
//! directory.

use std::io::Read;

/// Red Hat's graph data tarball.
pub(crate) const GRAPH_DATA_URL: &str = "https://api.openshift.com/api/upgrades_info/graph-data";
/// The environment variable that replaces [`GRAPH_DATA_URL`].
pub(crate) const GRAPH_DATA_URL_ENV: &str = "GRAPH_DATA_URL_OVERRIDE";
/// The image the graph data is added to (as oc-mirror); `GRAPH_IMAGE_BASE` replaces it.
pub(crate) const GRAPH_IMAGE_BASE: &str = "registry.access.redhat.com/ubi9/ubi:latest";
/// The environment variable that replaces [`GRAPH_IMAGE_BASE`].
pub(crate) const GRAPH_IMAGE_BASE_ENV: &str = "GRAPH_IMAGE_BASE";
/// Where the layer puts the data.
pub(crate) const GRAPH_DATA_DIR: &str = "var/lib/cincinnati-graph-data";
/// The graph image's command: copy the data where the update service reads it.
pub(crate) const GRAPH_IMAGE_CMD: [&str; 3] = [
    "/bin/bash",
    "-c",
    "exec cp -rp /var/lib/cincinnati-graph-data/* /var/lib/cincinnati/graph-data",
];
/// The repository and tag of the graph image under the destination namespace.
pub(crate) const GRAPH_IMAGE_REPO: &str = "openshift/graph-image";
pub(crate) const GRAPH_IMAGE_TAG: &str = "latest";

/// Why the graph data could not be turned into a layer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GraphDataError {
    #[error(
        "the graph data tarball cannot be read: {0}\n  help: check GRAPH_DATA_URL_OVERRIDE, or fetch the tarball again"
    )]
    Unreadable(std::io::Error),
    #[error("the graph data tarball holds `{path}`, {reason}; it is refused\n  help: the tarball is damaged or not graph data")]
    Refused { path: String, reason: &'static str },
}

/// The URL of the graph data tarball: the environment's override, else Red Hat's.
pub(crate) fn graph_data_url() -> String {
    env_or(GRAPH_DATA_URL_ENV, GRAPH_DATA_URL)
}

/// The image the graph data is added to.
pub(crate) fn graph_image_base() -> String {
    env_or(GRAPH_IMAGE_BASE_ENV, GRAPH_IMAGE_BASE)
}

fn env_or(variable: &str, default: &str) -> String {
    match std::env::var(variable) {
        Ok(value) if !value.trim().is_empty() => value.trim().to_string(),
        _ => default.to_string(),
    }
}

/// The uncompressed layer tar: every directory and file of the gzip tarball `tarball`, in its order, under
/// [`GRAPH_DATA_DIR`], with its mode and mtime, owned by root, without user or group names.
pub(crate) fn graph_data_layer(tarball: &[u8]) -> Result<Vec<u8>, GraphDataError> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
    let mut builder = tar::Builder::new(Vec::new());
    append_entry(&mut builder, GRAPH_DATA_DIR, tar::EntryType::Directory, 0o755, 0, &[])?;
    for entry in archive.entries().map_err(GraphDataError::Unreadable)? {
        let mut entry = entry.map_err(GraphDataError::Unreadable)?;
        let path = entry
            .path()
            .map_err(GraphDataError::Unreadable)?
            .to_string_lossy()
            .into_owned();
        let Some(relative) = safe_relative(&path)? else {
            continue; // `./`: the directory itself
        };
        let kind = entry.header().entry_type();
        let (mode, mtime) = (
            entry.header().mode().unwrap_or(0o644),
            entry.header().mtime().unwrap_or(0),
        );
        let target = format!("{GRAPH_DATA_DIR}/{relative}");
        match kind {
            tar::EntryType::Directory => append_entry(&mut builder, &target, kind, mode, mtime, &[])?,
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).map_err(GraphDataError::Unreadable)?;
                append_entry(&mut builder, &target, tar::EntryType::Regular, mode, mtime, &bytes)?
            }
            _ => {
                return Err(GraphDataError::Refused {
                    path,
                    reason: "which is neither a file nor a directory",
                })
            }
        }
    }
    builder.into_inner().map_err(GraphDataError::Unreadable)
}

/// `./a/b` → `a/b`; `./` → none; absolute paths and `..` are refused.
fn safe_relative(path: &str) -> Result<Option<String>, GraphDataError> {
    if path.starts_with('/') {
        return Err(GraphDataError::Refused {
            path: path.to_string(),
            reason: "an absolute path",
        });
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.contains(&"..") {
        return Err(GraphDataError::Refused {
            path: path.to_string(),
            reason: "a path that climbs out of its directory",
        });
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

fn append_entry(
    builder: &mut tar::Builder<Vec<u8>>,
    path: &str,
    kind: tar::EntryType,
    mode: u32,
    mtime: u64,
    bytes: &[u8],
) -> Result<(), GraphDataError> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(bytes.len() as u64);
    let name = if kind == tar::EntryType::Directory {
        format!("{path}/")
    } else {
        path.to_string()
    };
    builder
        .append_data(&mut header, name, bytes)
        .map_err(GraphDataError::Unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARBALL: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/testdata/cincinnati/graph-data/oc-mirror-graph-data.tar.gz"
    );

    fn entries(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let path = entry.path().unwrap().to_string_lossy().into_owned();
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).unwrap();
                assert_eq!(entry.header().uid().unwrap(), 0, "{path}");
                (path, bytes)
            })
            .collect()
    }

    #[test]
    fn the_real_graph_data_is_rerooted_entry_for_entry() {
        let tarball = std::fs::read(TARBALL).unwrap_or_else(|e| panic!("test data {TARBALL} is missing: {e}"));
        let layer = entries(&graph_data_layer(&tarball).unwrap());
        // 639 entries upstream, `./` among them; the layer adds the directory itself.
        assert_eq!(layer.len(), 639);
        assert_eq!(layer[0].0, "var/lib/cincinnati-graph-data/");
        assert!(layer
            .iter()
            .all(|(path, _)| path.starts_with("var/lib/cincinnati-graph-data/")));
        let version = layer
            .iter()
            .find(|(path, _)| path == "var/lib/cincinnati-graph-data/version")
            .unwrap();
        assert_eq!(version.1.len(), 6);
        assert!(layer
            .iter()
            .any(|(path, _)| path == "var/lib/cincinnati-graph-data/channels/stable-4.9.yaml"));
        assert_eq!(
            graph_data_layer(&tarball).unwrap(),
            graph_data_layer(&tarball).unwrap(),
            "deterministic"
        );
    }

    fn gzip_tar(path: &str, kind: tar::EntryType) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(0);
        header.set_mode(0o644);
        if kind == tar::EntryType::Symlink {
            header.set_link_name("/etc/passwd").unwrap();
        }
        // Written raw: the tar crate refuses to build `..` and absolute names itself.
        header.as_gnu_mut().unwrap().name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        builder.append(&header, std::io::empty()).unwrap();
        let tar = builder.into_inner().unwrap();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, &tar).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn links_absolute_paths_and_climbing_paths_are_refused() {
        for (path, kind, reason) in [
            (
                "channels/evil",
                tar::EntryType::Symlink,
                "neither a file nor a directory",
            ),
            ("/etc/cron.d/evil", tar::EntryType::Regular, "absolute"),
            ("channels/../../evil", tar::EntryType::Regular, "climbs"),
        ] {
            let error = graph_data_layer(&gzip_tar(path, kind)).unwrap_err();
            assert!(error.to_string().contains(reason), "{path}: {error}");
        }
    }
}
