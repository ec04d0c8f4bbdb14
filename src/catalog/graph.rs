//! The upgrade graph of one channel: its head, its validity as opm checks it, and the smallest part of it that holds
//! a wanted set of entries while keeping a single head.
//!
//! Edges are `replaces` and `skips`, as in opm and OLM: `skipRange` is upgrade metadata for clusters and not an edge
//! of the graph (an entry reachable only through `skipRange` is a second head, and opm rejects the channel).

use std::collections::{BTreeSet, HashMap, HashSet};

use super::model::ChannelEntry;

/// Why a channel's upgrade graph is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GraphError {
    #[error("the channel has no entries")]
    Empty,
    #[error("entry `{0}` is listed twice")]
    Duplicate(String),
    #[error("no channel head: every entry is replaced or skipped by another one (a cycle)")]
    NoHead,
    #[error("multiple channel heads ({}): no entry replaces or skips them", .0.join(", "))]
    MultipleHeads(Vec<String>),
    #[error("cycle in the upgrade graph through `{0}`")]
    Cycle(String),
    #[error("stranded entries ({}): neither on the replaces chain from the head nor skipped by any entry", .0.join(", "))]
    Stranded(Vec<String>),
}

fn index_of(entries: &[ChannelEntry]) -> Result<HashMap<&str, usize>, GraphError> {
    let mut index = HashMap::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        if index.insert(e.name.as_str(), i).is_some() {
            return Err(GraphError::Duplicate(e.name.clone()));
        }
    }
    Ok(index)
}

/// The targets of an entry's edges (`replaces` and `skips`) that are entries of the channel, each once.
fn targets(entry: &ChannelEntry, index: &HashMap<&str, usize>) -> Vec<usize> {
    let mut out: Vec<usize> = entry
        .replaces
        .iter()
        .chain(entry.skips.iter())
        .filter_map(|name| index.get(name.as_str()).copied())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Index of the channel head: the one entry no other entry replaces or skips. Fails on zero or several heads and on
/// cycles, as oc-mirror's filter does before it touches a channel.
pub(crate) fn head(entries: &[ChannelEntry]) -> Result<usize, GraphError> {
    if entries.is_empty() {
        return Err(GraphError::Empty);
    }
    let index = index_of(entries)?;
    let mut indegree = vec![0usize; entries.len()];
    let edges: Vec<Vec<usize>> = entries.iter().map(|e| targets(e, &index)).collect();
    for out in &edges {
        for &t in out {
            indegree[t] += 1;
        }
    }
    let heads: Vec<usize> = (0..entries.len()).filter(|&i| indegree[i] == 0).collect();
    let head = match heads.as_slice() {
        [] => return Err(GraphError::NoHead),
        [one] => *one,
        many => {
            let mut names: Vec<String> = many.iter().map(|&i| entries[i].name.clone()).collect();
            names.sort();
            return Err(GraphError::MultipleHeads(names));
        }
    };
    // Kahn's walk from the single head: an entry never reached sits on a cycle.
    let mut queue = vec![head];
    let mut reached = 0;
    while let Some(cur) = queue.pop() {
        reached += 1;
        for &t in &edges[cur] {
            indegree[t] -= 1;
            if indegree[t] == 0 {
                queue.push(t);
            }
        }
    }
    if reached < entries.len() {
        let stuck = (0..entries.len()).find(|&i| indegree[i] > 0).unwrap_or(head);
        return Err(GraphError::Cycle(entries[stuck].name.clone()));
    }
    Ok(head)
}

/// Validates a channel as `opm validate` does (operator-registry's `validateReplacesChain`): one head, no cycle, and
/// every entry either on the `replaces` chain from the head or skipped by some entry. Returns the head.
pub(crate) fn validate(entries: &[ChannelEntry]) -> Result<usize, GraphError> {
    let head = head(entries)?;
    let index = index_of(entries)?;
    let skipped: HashSet<&str> = entries
        .iter()
        .flat_map(|e| e.skips.iter().map(String::as_str))
        .collect();
    let mut chain: HashSet<&str> = HashSet::from([entries[head].name.as_str()]);
    let mut cur = head;
    while let Some(replaces) = entries[cur].replaces.as_deref() {
        if skipped.contains(replaces) {
            break;
        }
        if !chain.insert(replaces) {
            return Err(GraphError::Cycle(replaces.to_string()));
        }
        match index.get(replaces) {
            Some(&next) => cur = next,
            None => break,
        }
    }
    let mut stranded: Vec<String> = entries
        .iter()
        .map(|e| e.name.as_str())
        .filter(|n| !chain.contains(n) && !skipped.contains(n))
        .map(str::to_string)
        .collect();
    if stranded.is_empty() {
        Ok(head)
    } else {
        stranded.sort();
        Err(GraphError::Stranded(stranded))
    }
}

/// What [`keep`] keeps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Kept {
    /// Indices of the kept entries.
    pub entries: BTreeSet<usize>,
    /// Kept entries that were not wanted: the replaces chain between wanted entries and the new head.
    pub outside: Vec<usize>,
}

/// The smallest part of the channel that holds the wanted entries and still has a single head: the algorithm of
/// oc-mirror v2's catalog filter (`filterByVersionRange`), generalised to any wanted set.
///
/// Walk the `replaces` chain from the head. For each chain entry count the wanted entries at or below it (itself,
/// the entries it skips, and the chain below it), each counted once. The new head is the lowest chain entry with the
/// highest count; the chain stops at the first entry whose count is zero. Kept: the chain from the new head down to
/// that point (wanted or not: they are what keeps one head), and every wanted entry those chain entries skip.
/// Beyond oc-mirror, a wanted entry skipped by a kept wanted entry is kept too (skips are followed transitively
/// through wanted entries), so that no wanted entry is lost when skips are chained.
pub(crate) fn keep(entries: &[ChannelEntry], head: usize, wanted: &dyn Fn(usize) -> bool) -> Kept {
    let Ok(index) = index_of(entries) else {
        return Kept::default();
    };
    let mut chain = vec![head];
    let mut on_chain: HashSet<usize> = HashSet::from([head]);
    while let Some(next) = entries[*chain.last().expect("chain is never empty")]
        .replaces
        .as_deref()
        .and_then(|r| index.get(r).copied())
    {
        if !on_chain.insert(next) {
            break;
        }
        chain.push(next);
    }

    // Wanted entries reachable from `from` through skips, descending only through wanted entries.
    let skipped_wanted = |from: usize, seen: &mut HashSet<usize>, out: &mut Vec<usize>| {
        let mut stack: Vec<usize> = entries[from]
            .skips
            .iter()
            .filter_map(|s| index.get(s.as_str()).copied())
            .collect();
        while let Some(t) = stack.pop() {
            if !wanted(t) || !seen.insert(t) {
                continue;
            }
            out.push(t);
            stack.extend(entries[t].skips.iter().filter_map(|s| index.get(s.as_str()).copied()));
        }
    };

    let mut counts = vec![0usize; chain.len()];
    let mut seen: HashSet<usize> = HashSet::new();
    for pos in (0..chain.len()).rev() {
        let node = chain[pos];
        let mut count = counts.get(pos + 1).copied().unwrap_or(0);
        if wanted(node) && seen.insert(node) {
            count += 1;
        }
        let mut found = Vec::new();
        skipped_wanted(node, &mut seen, &mut found);
        count += found.len();
        counts[pos] = count;
    }

    let mut max = None;
    let mut new_head = 0;
    let mut tail = chain.len();
    for (pos, &count) in counts.iter().enumerate() {
        if max.is_none_or(|m| count >= m) {
            new_head = pos;
            max = Some(count);
        }
        if count == 0 {
            tail = pos;
            break;
        }
    }

    let mut kept = Kept::default();
    let mut seen: HashSet<usize> = HashSet::new();
    for &node in chain.iter().take(tail).skip(new_head) {
        kept.entries.insert(node);
        seen.insert(node);
        if !wanted(node) {
            kept.outside.push(node);
        }
    }
    for &node in chain.iter().take(tail).skip(new_head) {
        let mut found = Vec::new();
        skipped_wanted(node, &mut seen, &mut found);
        kept.entries.extend(found);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries from `name[>replaces][/skip,skip]` shorthands.
    fn channel(spec: &[&str]) -> Vec<ChannelEntry> {
        spec.iter()
            .map(|s| {
                let (rest, skips) = s.split_once('/').map_or((*s, None), |(a, b)| (a, Some(b)));
                let (name, replaces) = rest.split_once('>').map_or((rest, None), |(a, b)| (a, Some(b)));
                ChannelEntry {
                    name: name.to_string(),
                    replaces: replaces.map(str::to_string),
                    skips: skips
                        .map(|s| s.split(',').map(str::to_string).collect())
                        .unwrap_or_default(),
                    skip_range: None,
                    raw: serde_json::Value::Null,
                }
            })
            .collect()
    }

    fn names(entries: &[ChannelEntry], set: &BTreeSet<usize>) -> Vec<String> {
        set.iter().map(|&i| entries[i].name.clone()).collect()
    }

    #[test]
    fn head_is_the_entry_nobody_replaces_or_skips() {
        let c = channel(&["a", "b>a", "c>b/a"]);
        assert_eq!(head(&c).unwrap(), 2);
        assert_eq!(
            head(&channel(&["a", "b", "c>a"])).unwrap_err(),
            GraphError::MultipleHeads(vec!["b".into(), "c".into()])
        );
        assert_eq!(head(&channel(&["a>b", "b>a"])).unwrap_err(), GraphError::NoHead);
        assert_eq!(
            head(&channel(&["h>a", "a>b", "b>a"])).unwrap_err(),
            GraphError::Cycle("a".into())
        );
        assert_eq!(head(&[]).unwrap_err(), GraphError::Empty);
        assert_eq!(
            head(&channel(&["a", "a"])).unwrap_err(),
            GraphError::Duplicate("a".into())
        );
    }

    #[test]
    fn validate_finds_stranded_entries() {
        // `c` replaces a missing entry (allowed for the tail) and skips `x`; `b` is skipped: valid.
        assert!(validate(&channel(&["b", "c>missing/b"])).is_ok());
        // h replaces a and skips a: the chain stops at a, so z below a must be skipped to be valid.
        let err = validate(&channel(&["z", "a>z", "h>a/a"])).unwrap_err();
        assert_eq!(err, GraphError::Stranded(vec!["z".into()]));
    }

    #[test]
    fn keep_takes_the_chain_down_to_the_lowest_wanted_entry() {
        // foo beta of oc-mirror's test-catalog-latest: v0.3.1 > v0.2.0 > v0.1.0, v0.3.1 skips v0.3.0.
        let c = channel(&[
            "v0.1.0",
            "v0.2.0>v0.1.0/v0.1.1,v0.1.2",
            "v0.3.0>v0.2.0",
            "v0.3.1>v0.2.0/v0.3.0",
        ]);
        let h = head(&c).unwrap();
        let wanted = |i: usize| matches!(c[i].name.as_str(), "v0.2.0" | "v0.3.0" | "v0.3.1");
        let kept = keep(&c, h, &wanted);
        assert_eq!(names(&c, &kept.entries), ["v0.2.0", "v0.3.0", "v0.3.1"]);
        assert!(kept.outside.is_empty());
        // Only v0.3.0 (skipped by the head): the head must stay.
        let kept = keep(&c, h, &|i| c[i].name == "v0.3.0");
        assert_eq!(names(&c, &kept.entries), ["v0.3.0", "v0.3.1"]);
        assert_eq!(kept.outside, vec![3]);
        // Only the oldest: the chain is cut above it, which leaves it alone as the new head.
        let kept = keep(&c, h, &|i| c[i].name == "v0.1.0");
        assert_eq!(names(&c, &kept.entries), ["v0.1.0"]);
        // The oldest and the head: the whole replaces chain between them.
        let kept = keep(&c, h, &|i| matches!(c[i].name.as_str(), "v0.1.0" | "v0.3.1"));
        assert_eq!(names(&c, &kept.entries), ["v0.1.0", "v0.2.0", "v0.3.1"]);
        assert_eq!(kept.outside, vec![1]);
        // Nothing wanted: nothing kept.
        assert!(keep(&c, h, &|_| false).entries.is_empty());
    }

    #[test]
    fn keep_drops_chain_entries_above_the_wanted_ones() {
        let c = channel(&["a", "b>a", "c>b", "d>c"]);
        let kept = keep(&c, 3, &|i| i <= 1);
        assert_eq!(names(&c, &kept.entries), ["a", "b"]);
    }

    #[test]
    fn keep_follows_skips_through_wanted_entries() {
        // h skips y, y skips z: z is kept only because y is kept.
        let c = channel(&["z", "y/z", "h/y"]);
        assert!(validate(&c).is_ok());
        let kept = keep(&c, 2, &|i| i < 2);
        assert_eq!(names(&c, &kept.entries), ["z", "y", "h"]);
        let kept = keep(&c, 2, &|i| i == 0);
        // z alone is reachable only through y, which is not wanted: oc-mirror's rule keeps nothing below h.
        assert!(!kept.entries.contains(&0));
    }
}
