//! What a deletion must leave alone, per repository: deleting a manifest by digest removes every tag that points
//! at it, so a digest that a tag outside the delete list still names, that an index outside the list still
//! references, or that a `--keep` configuration mirrors, stays; an index's children are deleted with it unless
//! something kept references them. Pure decisions over what the registry said, tested without one.

use std::collections::{BTreeMap, BTreeSet};

use crate::image::Digest;

/// What the registry holds in one repository, as far as the decision needs it.
#[derive(Debug, Default)]
pub(crate) struct RepositoryState {
    /// Every tag and the digest it names now.
    pub tags: BTreeMap<String, Digest>,
    /// The children of every index met (kept or planned).
    pub children: BTreeMap<Digest, Vec<Digest>>,
    /// Digests a `--keep` configuration mirrors here, with the configuration's name.
    pub kept_by_configuration: BTreeMap<Digest, String>,
}

/// One planned deletion in the repository: the tag the plan names (if any) and the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Planned {
    pub tag: Option<String>,
    pub digest: Digest,
}

/// A digest that stays, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kept {
    pub digest: Digest,
    pub reason: String,
}

/// The decision for one repository: digests to delete (every index before its children), and those kept.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Decision {
    pub delete: Vec<Digest>,
    pub kept: Vec<Kept>,
}

/// Decides what to delete in `repository` (named in reasons).
pub(crate) fn decide(repository: &str, planned: &[Planned], state: &RepositoryState) -> Decision {
    let planned_tags: BTreeSet<&str> = planned.iter().filter_map(|p| p.tag.as_deref()).collect();
    let protected = protected_digests(repository, &planned_tags, state);
    let mut decision = Decision::default();
    let mut seen = BTreeSet::new();
    let mut queue: Vec<Digest> = planned.iter().map(|p| p.digest.clone()).collect();
    let mut at = 0;
    while at < queue.len() {
        let digest = queue[at].clone();
        at += 1;
        if !seen.insert(digest.clone()) {
            continue;
        }
        match protected.get(&digest) {
            Some(reason) => decision.kept.push(Kept {
                digest,
                reason: reason.clone(),
            }),
            None => {
                queue.extend(state.children.get(&digest).into_iter().flatten().cloned());
                decision.delete.push(digest);
            }
        }
    }
    decision
}

/// Every digest something outside the plan needs, with the first reason found: tags not planned, the children of
/// what they name (recursively), and what `--keep` configurations mirror.
fn protected_digests(
    repository: &str,
    planned_tags: &BTreeSet<&str>,
    state: &RepositoryState,
) -> BTreeMap<Digest, String> {
    let mut protected: BTreeMap<Digest, String> = BTreeMap::new();
    let mut roots: Vec<(Digest, String)> = state
        .tags
        .iter()
        .filter(|(tag, _)| !planned_tags.contains(tag.as_str()))
        .map(|(tag, digest)| (digest.clone(), format!("still tagged {repository}:{tag}")))
        .collect();
    roots.extend(
        state
            .kept_by_configuration
            .iter()
            .map(|(d, config)| (d.clone(), format!("mirrored by --keep {config}"))),
    );
    while let Some((digest, reason)) = roots.pop() {
        if protected.contains_key(&digest) {
            continue;
        }
        for child in state.children.get(&digest).into_iter().flatten() {
            roots.push((child.clone(), format!("referenced by index {digest} ({reason})")));
        }
        protected.insert(digest, reason);
    }
    protected
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> Digest {
        Digest::of_bytes(&[n])
    }

    fn planned(tag: &str, n: u8) -> Planned {
        Planned {
            tag: Some(tag.into()),
            digest: digest(n),
        }
    }

    #[test]
    fn a_digest_another_tag_names_stays_and_says_why() {
        let state = RepositoryState {
            tags: BTreeMap::from([
                ("v1".into(), digest(1)),
                ("stable".into(), digest(1)),
                ("v2".into(), digest(2)),
            ]),
            ..RepositoryState::default()
        };
        let decision = decide("app", &[planned("v1", 1), planned("v2", 2)], &state);
        assert_eq!(decision.delete, [digest(2)]);
        assert_eq!(decision.kept[0].reason, "still tagged app:stable");
    }

    #[test]
    fn an_index_goes_with_its_children_unless_a_kept_index_shares_them() {
        let state = RepositoryState {
            tags: BTreeMap::from([("old".into(), digest(10)), ("new".into(), digest(20))]),
            children: BTreeMap::from([
                (digest(10), vec![digest(1), digest(2)]),
                (digest(20), vec![digest(2), digest(3)]),
            ]),
            ..RepositoryState::default()
        };
        let decision = decide("app", &[planned("old", 10)], &state);
        assert_eq!(
            decision.delete,
            [digest(10), digest(1)],
            "the index first, then its own child"
        );
        assert_eq!(decision.kept.len(), 1);
        assert!(decision.kept[0].reason.contains("referenced by index") && decision.kept[0].reason.contains("app:new"));
    }

    #[test]
    fn a_keep_configuration_protects_what_it_mirrors() {
        let state = RepositoryState {
            tags: BTreeMap::from([("4.16.1".into(), digest(1))]),
            kept_by_configuration: BTreeMap::from([(digest(1), "keep.yaml".into())]),
            ..RepositoryState::default()
        };
        let decision = decide("release", &[planned("4.16.1", 1)], &state);
        assert!(decision.delete.is_empty());
        assert_eq!(decision.kept[0].reason, "mirrored by --keep keep.yaml");
    }
}
