//! A chart repository's `index.yaml`: its entries, the versions a configuration selects, and where each chart's
//! archive is (URLs absolute or relative to the repository).

use std::collections::BTreeMap;

use serde::Deserialize;

/// Why an index could not be read or a chart selected from it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IndexError {
    #[error("{url}: not a chart repository index: {reason}\n  help: the URL should be the repository's base, where `index.yaml` lives")]
    Syntax { url: String, reason: String },
    #[error("repository {repository} has no chart `{chart}`{}", nearby(.available, "charts"))]
    NoChart {
        repository: String,
        chart: String,
        available: Vec<String>,
    },
    #[error("repository {repository}: chart {chart} has no version {version}{}", nearby(.available, "versions"))]
    NoVersion {
        repository: String,
        chart: String,
        version: String,
        available: Vec<String>,
    },
    #[error("repository {repository}: chart {chart} {version} names no archive URL")]
    NoUrl {
        repository: String,
        chart: String,
        version: String,
    },
}

fn nearby(available: &[String], what: &str) -> String {
    const SHOWN: usize = 12;
    if available.is_empty() {
        return String::new();
    }
    let mut list = available.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if available.len() > SHOWN {
        list.push_str(&format!(" and {} more", available.len() - SHOWN));
    }
    format!("\n  help: the repository has these {what}: {list}")
}

/// One chart version of an index.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IndexEntry {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub urls: Vec<String>,
    /// The sha256 of the chart archive, when the index gives it.
    #[serde(default)]
    pub digest: Option<String>,
    /// `application` or `library` (library charts deploy nothing).
    #[serde(default, rename = "type")]
    pub chart_type: Option<String>,
}

/// A repository's index.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RepositoryIndex {
    #[serde(default)]
    pub entries: BTreeMap<String, Vec<IndexEntry>>,
}

impl RepositoryIndex {
    /// Parses `index.yaml` fetched from `url`.
    pub(crate) fn parse(bytes: &[u8], url: &str) -> Result<RepositoryIndex, IndexError> {
        serde_yaml::from_slice(bytes).map_err(|e| IndexError::Syntax {
            url: url.into(),
            reason: e.to_string(),
        })
    }

    /// The entry of `chart` at `version`, or every non-library version of `chart` when `version` is `None`.
    pub(crate) fn select(
        &self,
        repository: &str,
        chart: &str,
        version: Option<&str>,
    ) -> Result<Vec<IndexEntry>, IndexError> {
        let Some(versions) = self.entries.get(chart) else {
            return Err(IndexError::NoChart {
                repository: repository.into(),
                chart: chart.into(),
                available: self.entries.keys().cloned().collect(),
            });
        };
        let Some(version) = version else {
            return Ok(versions.iter().filter(|e| !e.is_library()).cloned().collect());
        };
        let wanted = version.trim_start_matches('v');
        match versions.iter().find(|e| e.version.trim_start_matches('v') == wanted) {
            Some(entry) => Ok(vec![entry.clone()]),
            None => Err(IndexError::NoVersion {
                repository: repository.into(),
                chart: chart.into(),
                version: version.into(),
                available: versions.iter().map(|e| e.version.clone()).collect(),
            }),
        }
    }

    /// Every non-library version of every chart (a repository configured without `charts`).
    pub(crate) fn every_chart(&self) -> Vec<IndexEntry> {
        self.entries
            .values()
            .flatten()
            .filter(|e| !e.is_library())
            .cloned()
            .collect()
    }
}

impl IndexEntry {
    fn is_library(&self) -> bool {
        self.chart_type.as_deref() == Some("library")
    }

    /// The archive URL: the first of `urls`, resolved against the repository URL when relative.
    pub(crate) fn archive_url(&self, repository: &str, repository_url: &str) -> Result<String, IndexError> {
        let Some(url) = self.urls.first() else {
            return Err(IndexError::NoUrl {
                repository: repository.into(),
                chart: self.name.clone(),
                version: self.version.clone(),
            });
        };
        Ok(resolve(repository_url, url))
    }
}

/// `index.yaml` of a repository URL.
pub(crate) fn index_url(repository_url: &str) -> String {
    format!("{}/index.yaml", repository_url.trim_end_matches('/'))
}

/// A chart URL from an index: absolute as is, else relative to the repository's base (as Helm resolves it).
fn resolve(repository_url: &str, url: &str) -> String {
    if url.contains("://") {
        return url.to_string();
    }
    let base = repository_url.trim_end_matches('/');
    match url.strip_prefix('/') {
        Some(absolute_path) => match base
            .find("://")
            .and_then(|scheme| base[scheme + 3..].find('/').map(|p| scheme + 3 + p))
        {
            Some(path_start) => format!("{}/{absolute_path}", &base[..path_start]),
            None => format!("{base}/{absolute_path}"),
        },
        None => format!("{base}/{}", url.trim_start_matches("./")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(name: &str) -> RepositoryIndex {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/testdata/helm")
            .join(name);
        RepositoryIndex::parse(&std::fs::read(path).unwrap(), name).unwrap()
    }

    #[test]
    fn a_version_is_found_and_its_url_resolved_absolute_or_relative() {
        let podinfo = index("podinfo-repo/index.yaml");
        let entry = &podinfo.select("podinfo", "podinfo", Some("6.9.0")).unwrap()[0];
        assert_eq!(
            entry.archive_url("podinfo", "http://127.0.0.1:1/charts").unwrap(),
            "https://stefanprodan.github.io/podinfo/podinfo-6.9.0.tgz"
        );
        let sbo = index("service-binding-operator-repo/index.yaml");
        let entry = &sbo.select("sbo", "service-binding-operator", Some("1.4.0")).unwrap()[0];
        assert_eq!(
            entry.archive_url("sbo", "http://127.0.0.1:1/sbo/").unwrap(),
            "http://127.0.0.1:1/sbo/service-binding-operator-1.4.0.tgz"
        );
        assert_eq!(entry.digest.as_deref().map(str::len), Some(64));
    }

    #[test]
    fn a_missing_version_names_the_versions_there_are() {
        let podinfo = index("podinfo-repo/index.yaml");
        let error = podinfo
            .select("podinfo", "podinfo", Some("9.9.9"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no version 9.9.9") && error.contains("6.14.1"),
            "{error}"
        );
        assert!(error.contains("more"), "a long list is cut: {error}");
        let error = podinfo.select("podinfo", "nope", None).unwrap_err().to_string();
        assert!(
            error.contains("no chart `nope`") && error.contains("podinfo"),
            "{error}"
        );
    }

    #[test]
    fn without_a_version_every_version_is_selected() {
        let podinfo = index("podinfo-repo/index.yaml");
        let all = podinfo.select("podinfo", "podinfo", None).unwrap();
        assert_eq!(all.len(), podinfo.entries["podinfo"].len());
        assert!(all.len() > 100);
        assert_eq!(podinfo.every_chart().len(), all.len());
    }

    #[test]
    fn root_relative_urls_keep_the_host() {
        assert_eq!(resolve("https://h:8/a/b", "/c/x.tgz"), "https://h:8/c/x.tgz");
        assert_eq!(resolve("https://h/a/", "./x.tgz"), "https://h/a/x.tgz");
    }
}
