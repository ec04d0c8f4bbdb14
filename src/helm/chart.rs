//! A chart read into memory: its `Chart.yaml`, default values, templates, other files and subcharts, from a
//! packaged `.tgz` or an unpacked directory. Reading is strict: entries with `..`, absolute paths or links are
//! refused, sizes are bounded (as Helm's own loader bounds them), and macOS `._*` metadata entries are skipped.

use std::io::Read;
use std::path::{Component, Path};

use flate2::read::GzDecoder;
use serde_json::Value;

/// A chart may unpack to at most this many bytes (Helm's default limit).
const MAX_UNPACKED: u64 = 100 << 20;
/// One file of a chart may be at most this big (Helm's default limit).
const MAX_FILE: u64 = 5 << 20;
/// Subcharts may nest this deep.
const MAX_DEPTH: usize = 8;

/// Why a chart could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChartError {
    #[error("{chart}: cannot read the chart archive: {reason}\n  help: the file is not a gzipped tar archive, or it is damaged; download it again")]
    Archive { chart: String, reason: String },
    #[error("{chart}: entry `{entry}` is refused: {reason}\n  help: a chart holds regular files under one directory; this archive may be malicious")]
    UnsafeEntry {
        chart: String,
        entry: String,
        reason: &'static str,
    },
    #[error("{chart}: the chart unpacks to more than {} MiB, or one file is larger than {} MiB", MAX_UNPACKED >> 20, MAX_FILE >> 20)]
    TooLarge { chart: String },
    #[error("{chart}: has no Chart.yaml\n  help: a chart directory or archive holds Chart.yaml at its top")]
    NoChartYaml { chart: String },
    #[error("{chart}: {file}: {reason}")]
    BadFile {
        chart: String,
        file: String,
        reason: String,
    },
    #[error("{chart}: subcharts nest more than {MAX_DEPTH} levels deep")]
    TooDeep { chart: String },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// A file of a chart, by its path relative to the chart's directory (`templates/deployment.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChartFile {
    pub name: String,
    pub data: Vec<u8>,
}

/// A dependency declared in `Chart.yaml` (or a v1 chart's `requirements.yaml`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Dependency {
    pub name: String,
    pub alias: Option<String>,
    /// Comma-separated values paths; the first that holds a boolean decides whether the subchart is enabled.
    pub condition: Option<String>,
    pub tags: Vec<String>,
}

/// A chart in memory.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    /// `Chart.yaml` as written (for `.Chart` and the OCI config).
    pub metadata: serde_json::Map<String, Value>,
    pub name: String,
    pub version: String,
    /// `values.yaml` (an empty mapping when there is none).
    pub values: serde_json::Map<String, Value>,
    /// Files under `templates/`.
    pub templates: Vec<ChartFile>,
    /// Every other file (what `.Files` serves), subcharts excluded.
    pub files: Vec<ChartFile>,
    pub dependencies: Vec<Dependency>,
    /// Charts under `charts/`, unpacked or packaged.
    pub subcharts: Vec<Chart>,
}

impl Chart {
    /// Reads a packaged chart (`name-version.tgz`); `label` names it in errors.
    pub(crate) fn from_archive(bytes: &[u8], label: &str) -> Result<Chart, ChartError> {
        let files = unpack(bytes, label)?;
        Chart::from_files(strip_top_directory(files, label)?, label, 0)
    }

    /// Reads a chart from a local path, a `.tgz` file or an unpacked chart directory, with its packaged form (the
    /// file as read, or the directory packaged as `helm package` would).
    pub(crate) fn from_path(path: &Path) -> Result<(Chart, Vec<u8>), ChartError> {
        let label = path.display().to_string();
        let io = |source| ChartError::Io {
            path: label.clone(),
            source,
        };
        if std::fs::metadata(path).map_err(io)?.is_dir() {
            let mut files = Vec::new();
            read_directory(path, "", &label, &mut files, &mut 0)?;
            let chart = Chart::from_files(files.clone(), &label, 0)?;
            let package = super::oci::package(&chart.name, &files).map_err(io)?;
            Ok((chart, package))
        } else {
            let bytes = std::fs::read(path).map_err(io)?;
            Ok((Chart::from_archive(&bytes, &label)?, bytes))
        }
    }

    /// Builds a chart from its files (paths relative to the chart directory).
    fn from_files(files: Vec<ChartFile>, label: &str, depth: usize) -> Result<Chart, ChartError> {
        if depth > MAX_DEPTH {
            return Err(ChartError::TooDeep { chart: label.into() });
        }
        let chart_yaml = files
            .iter()
            .find(|f| f.name == "Chart.yaml")
            .ok_or_else(|| ChartError::NoChartYaml { chart: label.into() })?;
        let metadata = yaml_mapping(&chart_yaml.data, label, "Chart.yaml")?;
        let text = |key: &str| metadata.get(key).map(scalar_text).unwrap_or_default();
        let (name, version) = (text("name"), text("version"));
        if name.is_empty() {
            return Err(bad_file(label, "Chart.yaml", "`name` is missing"));
        }
        let label = format!("{name}-{version}");
        let values = match files.iter().find(|f| f.name == "values.yaml") {
            Some(file) => yaml_mapping(&file.data, &label, "values.yaml")?,
            None => serde_json::Map::new(),
        };
        let mut dependencies = dependencies_of(&metadata);
        if let Some(requirements) = files.iter().find(|f| f.name == "requirements.yaml") {
            dependencies.extend(dependencies_of(&yaml_mapping(
                &requirements.data,
                &label,
                "requirements.yaml",
            )?));
        }
        let (subcharts, rest) = split_subcharts(files, &label, depth)?;
        let (templates, files) = rest.into_iter().partition(|f| f.name.starts_with("templates/"));
        Ok(Chart {
            metadata,
            name,
            version,
            values,
            templates,
            files,
            dependencies,
            subcharts,
        })
    }

    /// `name-version`, how Helm names a packaged chart.
    pub(crate) fn label(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }
}

/// Charts under `charts/` (directories and `.tgz` files), and the chart's own files.
fn split_subcharts(
    files: Vec<ChartFile>,
    label: &str,
    depth: usize,
) -> Result<(Vec<Chart>, Vec<ChartFile>), ChartError> {
    let mut own = Vec::new();
    let mut unpacked: Vec<(String, Vec<ChartFile>)> = Vec::new();
    let mut subcharts = Vec::new();
    for file in files {
        let Some(rest) = file.name.strip_prefix("charts/") else {
            own.push(file);
            continue;
        };
        match rest.split_once('/') {
            Some((directory, inner)) => {
                let inner = ChartFile {
                    name: inner.to_string(),
                    data: file.data,
                };
                match unpacked.iter_mut().find(|(name, _)| name == directory) {
                    Some((_, files)) => files.push(inner),
                    None => unpacked.push((directory.to_string(), vec![inner])),
                }
            }
            None if rest.ends_with(".tgz") || rest.ends_with(".tar.gz") => {
                let nested = format!("{label}/charts/{rest}");
                let files = strip_top_directory(unpack(&file.data, &nested)?, &nested)?;
                subcharts.push(Chart::from_files(files, &nested, depth + 1)?);
            }
            None => own.push(file),
        }
    }
    for (directory, files) in unpacked {
        let nested = format!("{label}/charts/{directory}");
        subcharts.push(Chart::from_files(files, &nested, depth + 1)?);
    }
    Ok((subcharts, own))
}

/// The `dependencies` list of a Chart.yaml or requirements.yaml.
pub(super) fn dependencies_of(document: &serde_json::Map<String, Value>) -> Vec<Dependency> {
    let Some(Value::Array(entries)) = document.get("dependencies") else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(Value::as_object)
        .map(|entry| {
            let text = |key: &str| entry.get(key).map(scalar_text).filter(|s| !s.is_empty());
            Dependency {
                name: text("name").unwrap_or_default(),
                alias: text("alias"),
                condition: text("condition"),
                tags: match entry.get("tags") {
                    Some(Value::Array(tags)) => tags.iter().map(scalar_text).collect(),
                    _ => Vec::new(),
                },
            }
        })
        .collect()
}

/// A YAML file that must hold a mapping (an empty file is an empty mapping).
pub(crate) fn yaml_mapping(data: &[u8], chart: &str, file: &str) -> Result<serde_json::Map<String, Value>, ChartError> {
    let value: Option<Value> = serde_yaml::from_slice(data).map_err(|e| bad_file(chart, file, &e.to_string()))?;
    match value {
        None | Some(Value::Null) => Ok(serde_json::Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(bad_file(chart, file, "is not a mapping")),
    }
}

fn bad_file(chart: &str, file: &str, reason: &str) -> ChartError {
    ChartError::BadFile {
        chart: chart.into(),
        file: file.into(),
        reason: reason.into(),
    }
}

/// A scalar as text (`1.0` stays `1.0`: numbers print as YAML wrote them, as far as JSON keeps them).
pub(crate) fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Every regular file of a gzipped tar, with its path as written; unsafe entries refused.
fn unpack(bytes: &[u8], label: &str) -> Result<Vec<ChartFile>, ChartError> {
    let archive_error = |e: std::io::Error| ChartError::Archive {
        chart: label.into(),
        reason: e.to_string(),
    };
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let mut files = Vec::new();
    let mut total = 0u64;
    for entry in archive.entries().map_err(archive_error)? {
        let mut entry = entry.map_err(archive_error)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let name = checked_name(&name, label)?;
        if !kind.is_file() {
            return Err(unsafe_entry(
                label,
                &name,
                "links and special files are not part of a chart",
            ));
        }
        let size = entry.header().size().map_err(archive_error)?;
        total += size;
        if size > MAX_FILE || total > MAX_UNPACKED {
            return Err(ChartError::TooLarge { chart: label.into() });
        }
        let mut data = Vec::with_capacity(size as usize);
        entry.read_to_end(&mut data).map_err(archive_error)?;
        if !is_apple_double(&name) {
            files.push(ChartFile { name, data });
        }
    }
    Ok(files)
}

/// A relative path of normal components, `/`-separated.
fn checked_name(name: &str, label: &str) -> Result<String, ChartError> {
    let path = Path::new(name);
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_entry(label, name, "it climbs out of the chart with `..`")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_entry(label, name, "it is an absolute path"))
            }
        }
    }
    Ok(parts.join("/"))
}

fn unsafe_entry(label: &str, entry: &str, reason: &'static str) -> ChartError {
    ChartError::UnsafeEntry {
        chart: label.into(),
        entry: entry.into(),
        reason,
    }
}

/// macOS resource-fork entries (`._Chart.yaml`), which tar on macOS adds beside every file.
fn is_apple_double(name: &str) -> bool {
    name.rsplit('/').next().is_some_and(|base| base.starts_with("._"))
}

/// A packaged chart holds everything under one directory (the chart's name): strip it.
fn strip_top_directory(files: Vec<ChartFile>, label: &str) -> Result<Vec<ChartFile>, ChartError> {
    let Some(top) = files
        .first()
        .and_then(|f| f.name.split_once('/'))
        .map(|(top, _)| top.to_string())
    else {
        return Err(ChartError::NoChartYaml { chart: label.into() });
    };
    let prefix = format!("{top}/");
    files
        .into_iter()
        .map(|file| match file.name.strip_prefix(&prefix) {
            Some(rest) => Ok(ChartFile {
                name: rest.to_string(),
                data: file.data,
            }),
            None => Err(unsafe_entry(label, &file.name, "it is outside the chart's directory")),
        })
        .collect()
}

/// The regular files of a chart directory, recursively; links refused, `.git` and `._*` skipped.
fn read_directory(
    root: &Path,
    prefix: &str,
    label: &str,
    files: &mut Vec<ChartFile>,
    total: &mut u64,
) -> Result<(), ChartError> {
    let directory = root.join(prefix);
    let io = |source| ChartError::Io {
        path: directory.display().to_string(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(&directory)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type().map_err(io)?;
        if name == ".git" || is_apple_double(&name) {
            continue;
        }
        if kind.is_symlink() {
            return Err(unsafe_entry(label, &relative, "links are not followed"));
        }
        if kind.is_dir() {
            read_directory(root, &relative, label, files, total)?;
        } else if kind.is_file() {
            let data = std::fs::read(entry.path()).map_err(io)?;
            *total += data.len() as u64;
            if data.len() as u64 > MAX_FILE || *total > MAX_UNPACKED {
                return Err(ChartError::TooLarge { chart: label.into() });
            }
            files.push(ChartFile { name: relative, data });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(path: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/testdata/helm")
            .join(path)
    }

    #[test]
    fn a_packaged_chart_with_an_aliased_subchart_reads_whole() {
        let (chart, _) =
            Chart::from_path(&testdata("oc-mirror-charts/my-chart-with-subchart-alias-0.1.0.tgz")).unwrap();
        assert_eq!(chart.label(), "my-chart-with-subchart-alias-0.1.0");
        assert!(chart.templates.iter().any(|t| t.name == "templates/deployment.yaml"));
        let mut names: Vec<_> = chart.subcharts.iter().map(|s| s.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["backstage", "common"]);
        assert!(
            chart.dependencies.iter().any(|d| d.alias.is_some()),
            "{:?}",
            chart.dependencies
        );
    }

    #[test]
    fn macos_metadata_entries_are_skipped() {
        let (chart, _) = Chart::from_path(&testdata("oc-mirror-charts/test-mirror-helm-0.3.0.tgz")).unwrap();
        let names: Vec<_> = chart
            .files
            .iter()
            .chain(&chart.templates)
            .map(|f| f.name.as_str())
            .collect();
        assert!(names.iter().all(|n| !n.contains("._")), "{names:?}");
        assert!(names.contains(&"templates/deployment-test.yaml"));
        assert_eq!(chart.values["image"]["tag"], "4.4");
    }

    #[test]
    fn a_chart_directory_reads_like_its_package() {
        let (chart, package) = Chart::from_path(&testdata("podinfo-chart-src")).unwrap();
        assert_eq!(chart.name, "podinfo");
        assert!(chart.values.contains_key("image"));
        let again = Chart::from_archive(&package, "package").unwrap();
        assert_eq!((again.label(), again.values), (chart.label(), chart.values));
    }

    fn tgz(entries: &[(&str, u8, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (name, kind, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_size(data.len() as u64);
            header.set_entry_type(tar::EntryType::new(*kind));
            header.set_mode(0o644);
            if *kind == b'2' {
                header.set_link_name("/etc/passwd").unwrap();
            }
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn climbing_absolute_and_linked_entries_are_refused() {
        let chart_yaml: &[u8] = b"name: c\nversion: 1.0.0\n";
        for (entry, kind, expected) in [
            ("c/../../evil", b'0', "`..`"),
            ("/etc/evil", b'0', "absolute"),
            ("c/templates/link", b'2', "links"),
        ] {
            let bytes = tgz(&[("c/Chart.yaml", b'0', chart_yaml), (entry, kind, b"x")]);
            let error = Chart::from_archive(&bytes, "c-1.0.0.tgz").unwrap_err().to_string();
            assert!(
                error.contains(expected) && error.contains("malicious"),
                "{entry}: {error}"
            );
        }
        let ok = tgz(&[("c/Chart.yaml", b'0', chart_yaml)]);
        assert_eq!(Chart::from_archive(&ok, "c").unwrap().version, "1.0.0");
    }
}
