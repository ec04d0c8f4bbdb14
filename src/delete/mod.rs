//! Deleting what an earlier mirror placed: the delete list (oc-mirror's `DeleteImageList`, written by
//! `ferry delete --generate` and read by `ferry delete --delete-yaml-file`) and, in `keep`, the decision of what
//! must stay because something outside the list still uses it.

pub(crate) mod keep;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::image::Digest;
use crate::plan::ImageOrigin;

/// `kind` of a delete list.
pub(crate) const DELETE_LIST_KIND: &str = "DeleteImageList";
const API_VERSION: &str = "mirror.openshift.io/v2alpha1";

/// Why a delete list could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeleteListError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: not a delete list: {reason}\n  help: pass the file `ferry delete --generate` wrote (working-dir/delete/delete-images[-ID].yaml)")]
    Syntax { path: String, reason: String },
    #[error("{path}: item {index}: `{reference}` is not a docker:// image reference")]
    BadReference {
        path: String,
        index: usize,
        reference: String,
    },
}

/// oc-mirror's `DeleteImageList`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteList {
    pub kind: String,
    pub api_version: String,
    #[serde(default)]
    pub items: Vec<DeleteItem>,
}

/// One image to delete: where it came from, where it is, its type (oc-mirror's names), and what ferry knows of
/// it at planning time (its digest, its blobs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteItem {
    pub image_name: String,
    /// `docker://HOST[:PORT]/REPOSITORY:TAG`.
    pub image_reference: String,
    #[serde(rename = "type", default)]
    pub image_type: String,
    /// The manifest digest the tag named when the list was made (ferry's; oc-mirror's lists lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The blobs of that manifest (and of its children), which the registry's garbage collection may reclaim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_blobs: Vec<String>,
    /// Their total size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl DeleteList {
    pub(crate) fn new(items: Vec<DeleteItem>) -> DeleteList {
        DeleteList {
            kind: DELETE_LIST_KIND.into(),
            api_version: API_VERSION.into(),
            items,
        }
    }

    pub(crate) fn read(path: &Path) -> Result<DeleteList, DeleteListError> {
        let label = path.display().to_string();
        let text = std::fs::read(path).map_err(|source| DeleteListError::Io {
            path: label.clone(),
            source,
        })?;
        let list: DeleteList = serde_yaml::from_slice(&text).map_err(|e| DeleteListError::Syntax {
            path: label.clone(),
            reason: e.to_string(),
        })?;
        if list.kind != DELETE_LIST_KIND {
            return Err(DeleteListError::Syntax {
                path: label,
                reason: format!("kind is `{}`, expected `{DELETE_LIST_KIND}`", list.kind),
            });
        }
        for (index, item) in list.items.iter().enumerate() {
            item.target().map_err(|_| DeleteListError::BadReference {
                path: label.clone(),
                index,
                reference: item.image_reference.clone(),
            })?;
        }
        Ok(list)
    }

    pub(crate) fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_default()
    }
}

/// Where an item is: registry, repository, tag and (when the list says) digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl DeleteItem {
    /// Where the item is.
    pub(crate) fn target(&self) -> Result<Target, crate::reference::ReferenceError> {
        let reference: crate::reference::ImageReference =
            self.image_reference.trim_start_matches("docker://").parse()?;
        let digest = match &self.digest {
            Some(text) => text.parse().ok(),
            None => reference.digest.clone(),
        };
        Ok(Target {
            registry: reference.registry,
            repository: reference.repository,
            tag: reference.tag,
            digest,
        })
    }
}

/// oc-mirror's type name for an image of `origin` (`ocpRelease` for payloads is decided by the caller).
pub(crate) fn type_name(origin: ImageOrigin, is_catalog: bool) -> &'static str {
    match origin {
        ImageOrigin::Release => "ocpReleaseContent",
        ImageOrigin::Operator if is_catalog => "operatorCatalog",
        ImageOrigin::Operator => "operatorRelatedImage",
        ImageOrigin::Additional => "generic",
        ImageOrigin::Helm => "helmImage",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_reads_back_and_an_oc_mirror_list_reads_too() {
        let list = DeleteList::new(vec![DeleteItem {
            image_name: "quay.io/a/b:1".into(),
            image_reference: "docker://localhost:5000/ns/a/b:1".into(),
            image_type: "generic".into(),
            digest: Some("sha256:1ce8c0187c8fe6b4be327dc848b8baf062ce1baa5096b4f5d955893d126d5b58".into()),
            related_blobs: vec![],
            size: Some(3),
        }]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.yaml");
        std::fs::write(&path, list.to_yaml()).unwrap();
        assert_eq!(DeleteList::read(&path).unwrap(), list);
        let target = list.items[0].target().unwrap();
        assert_eq!(
            (target.repository.as_str(), target.tag.as_deref()),
            ("ns/a/b", Some("1"))
        );
        assert!(target.digest.is_some());
        std::fs::write(
            &path,
            "kind: DeleteImageList\napiVersion: mirror.openshift.io/v2alpha1\nitems:\n- imageName: docker://quay.io/a/b:1\n  imageReference: docker://localhost:5000/a/b:1\n  type: generic\n",
        )
        .unwrap();
        assert_eq!(DeleteList::read(&path).unwrap().items[0].target().unwrap().digest, None);
        std::fs::write(&path, "kind: ImageSetConfiguration\n").unwrap();
        assert!(DeleteList::read(&path)
            .unwrap_err()
            .to_string()
            .contains("not a delete list"));
    }
}
