//! Finds where a field path (`mirror.operators[1].packages[0].minVersion`) sits in YAML source text.
//!
//! serde only reports positions for errors it raises itself; rules checked after parsing need this to point at
//! the offending line. It reads block-style YAML by indentation and `- ` list items, plus single-line flow
//! values (`{...}`, `[...]`). When a segment cannot be found it stops at the nearest parent that was found.

use std::fmt;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// A path such as `mirror.operators[1].packages[0].minVersion`, in the spelling serde_yaml uses in its errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// Parses `a.b[2].c`; `.` or an empty string is the document root.
    pub(crate) fn parse(text: &str) -> FieldPath {
        let mut segments = Vec::new();
        if text == "." {
            return FieldPath(segments);
        }
        for part in text.split('.').filter(|p| !p.is_empty()) {
            let (key, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if !key.is_empty() {
                segments.push(Segment::Key(key.to_string()));
            }
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(end) = stripped.find(']') else { break };
                if let Ok(index) = stripped[..end].parse() {
                    segments.push(Segment::Index(index));
                }
                rest = &stripped[end + 1..];
            }
        }
        FieldPath(segments)
    }

    #[cfg(test)]
    pub(crate) fn key(mut self, key: &str) -> FieldPath {
        self.0.push(Segment::Key(key.to_string()));
        self
    }

    #[cfg(test)]
    pub(crate) fn index(mut self, index: usize) -> FieldPath {
        self.0.push(Segment::Index(index));
        self
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// Where a path was found: 1-based line and column (in characters) and how many of its segments matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Located {
    pub line: usize,
    pub column: usize,
    /// Number of leading segments found; less than the path's length when it fell back to a parent.
    pub matched: usize,
}

/// Locates `path` in `source`: the key of the last segment found (for a list item, its `-` or first character).
/// The root (or a path whose first segment is missing) is located at the first line with content.
pub(crate) fn locate(source: &str, path: &FieldPath) -> Located {
    let lines = content_lines(source);
    let Some(first) = lines.first() else {
        return Located {
            line: 1,
            column: 1,
            matched: 0,
        };
    };
    let mut best = Located {
        line: first.number,
        column: first.indent + 1,
        matched: 0,
    };
    let mut node = Node {
        line: 0,
        col: first.indent,
    };
    for (depth, segment) in path.0.iter().enumerate() {
        let found = match segment {
            Segment::Key(key) => find_key(&lines, node, key),
            Segment::Index(index) => find_item(&lines, node, *index),
        };
        let Some((marker, value)) = found else { break };
        best = Located {
            line: lines[marker.line].number,
            column: char_column(lines[marker.line].text, marker.col),
            matched: depth + 1,
        };
        match value {
            Some(value) => node = value,
            None => break,
        }
    }
    best
}

#[cfg(test)]
/// Convenience: locate a path given in its text form.
pub(crate) fn locate_str(source: &str, path: &str) -> Located {
    locate(source, &FieldPath::parse(path))
}

/// A line that carries YAML content (not blank, not only a comment, not a document marker).
struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

/// A position in `content_lines`: index of the line and byte column where a node's content starts.
#[derive(Debug, Clone, Copy)]
struct Node {
    line: usize,
    col: usize,
}

fn content_lines(source: &str) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    for (i, raw) in source.split('\n').enumerate() {
        let text = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = text.trim_start_matches(' ');
        if trimmed.trim().is_empty() || trimmed.starts_with('#') || trimmed.starts_with('%') {
            continue;
        }
        let indent = text.len() - trimmed.len();
        if indent == 0 && (is_marker(trimmed, "---") || is_marker(trimmed, "...")) {
            // `--- value` would put content after the marker; configuration files do not do that.
            continue;
        }
        lines.push(Line {
            number: i + 1,
            indent,
            text,
        });
    }
    lines
}

fn is_marker(text: &str, marker: &str) -> bool {
    text.strip_prefix(marker)
        .is_some_and(|rest| rest.trim().is_empty() || rest.starts_with(" #"))
}

fn char_column(text: &str, byte_col: usize) -> usize {
    text.get(..byte_col).map_or(byte_col, |prefix| prefix.chars().count()) + 1
}

/// The text of a node from its column, without a trailing comment.
fn node_text<'a>(lines: &[Line<'a>], node: Node) -> &'a str {
    let text = lines[node.line].text;
    strip_comment(text.get(node.col..).unwrap_or(""))
}

fn strip_comment(text: &str) -> &str {
    let mut quote = None;
    let mut prev_space = true;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '#') if prev_space => return text[..i].trim_end(),
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        prev_space = c == ' ' || c == '\t';
    }
    text.trim_end()
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// Where the value that follows a `key:` or `- ` at `(line, after)` starts: on the same line, or on the next
/// more-indented line (or a compact `- ` list at the parent's own indentation when `allow_compact`).
fn value_after(lines: &[Line<'_>], line: usize, after: usize, parent_col: usize, allow_compact: bool) -> Option<Node> {
    let text = lines[line].text;
    let rest = text.get(after..).unwrap_or("");
    let skipped = rest.len() - rest.trim_start_matches(' ').len();
    let inline = strip_comment(&rest[skipped..]);
    if !inline.is_empty() {
        return Some(Node {
            line,
            col: after + skipped,
        });
    }
    let next = lines.get(line + 1)?;
    let compact = allow_compact && next.indent == parent_col && is_item(&next.text[next.indent..]);
    (next.indent > parent_col || compact).then_some(Node {
        line: line + 1,
        col: next.indent,
    })
}

/// Finds `key` in the mapping that starts at `node`. Returns the key's position and its value's position.
fn find_key(lines: &[Line<'_>], node: Node, key: &str) -> Option<(Node, Option<Node>)> {
    let text = node_text(lines, node);
    if text.starts_with('{') {
        return flow_find(lines, node, FlowWanted::Key(key));
    }
    if text.starts_with('[') || is_item(text) {
        return None;
    }
    let mut fallback = None;
    for line in node.line..lines.len() {
        let col = if line == node.line {
            node.col
        } else {
            let l = &lines[line];
            if l.indent < node.col {
                break;
            }
            if l.indent > node.col || is_item(&l.text[l.indent..]) {
                continue;
            }
            l.indent
        };
        let entry = &lines[line].text[col..];
        if let Some((found, after)) = parse_key(entry) {
            let key_node = Node { line, col };
            if found == key {
                return Some((key_node, value_after(lines, line, col + after, col, true)));
            }
            if fallback.is_none() && found.eq_ignore_ascii_case(key) {
                fallback = Some((key_node, value_after(lines, line, col + after, col, true)));
            }
        }
    }
    // Field names may be spelled in another case (`additionalimages`), as oc-mirror's decoder allows.
    fallback
}

/// Finds item `index` of the sequence that starts at `node`. Returns the item's `-` and its content's position.
fn find_item(lines: &[Line<'_>], node: Node, index: usize) -> Option<(Node, Option<Node>)> {
    let text = node_text(lines, node);
    if text.starts_with('[') {
        return flow_find(lines, node, FlowWanted::Index(index));
    }
    if !is_item(text) {
        return None;
    }
    let mut seen = 0;
    for line in node.line..lines.len() {
        let l = &lines[line];
        let col = if line == node.line { node.col } else { l.indent };
        if line != node.line {
            if l.indent < node.col {
                break;
            }
            if l.indent > node.col {
                continue;
            }
            if !is_item(&l.text[col..]) {
                break;
            }
        }
        if seen == index {
            let dash = Node { line, col };
            return Some((dash, value_after(lines, line, col + 1, col, false)));
        }
        seen += 1;
    }
    None
}

/// A plain or quoted mapping key at the start of `entry`, and the byte offset just after its `:`.
fn parse_key(entry: &str) -> Option<(String, usize)> {
    let first = entry.chars().next()?;
    if first == '"' || first == '\'' {
        let close = entry[1..].find(first)? + 1;
        let key = entry[1..close].to_string();
        let rest = &entry[close + 1..];
        let spaces = rest.len() - rest.trim_start_matches(' ').len();
        return rest[spaces..].starts_with(':').then_some((key, close + 1 + spaces + 1));
    }
    if matches!(first, '{' | '[' | '-' | '#') && !entry.starts_with("-:") {
        return None;
    }
    let bytes = entry.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ' || bytes[i + 1] == b'\t') {
            return Some((entry[..i].trim_end().to_string(), i + 1));
        }
        if b == b' ' && bytes.get(i + 1) == Some(&b'#') {
            return None;
        }
    }
    None
}

enum FlowWanted<'k> {
    Key(&'k str),
    Index(usize),
}

/// Looks inside a single-line flow collection (`{a: 1, b: [x, y]}`) that starts at `node`.
fn flow_find(lines: &[Line<'_>], node: Node, wanted: FlowWanted<'_>) -> Option<(Node, Option<Node>)> {
    let text = lines[node.line].text;
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut element_start = node.col + 1;
    let mut elements = Vec::new();
    for (i, &b) in text.as_bytes().iter().enumerate().skip(node.col) {
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
            continue;
        }
        match b {
            b'"' | b'\'' => quote = Some(b),
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    elements.push((element_start, i));
                    break;
                }
            }
            b',' if depth == 1 => {
                elements.push((element_start, i));
                element_start = i + 1;
            }
            _ => {}
        }
    }
    let trimmed_start = |start: usize, end: usize| {
        let slice = &text[start..end];
        start + (slice.len() - slice.trim_start().len())
    };
    match wanted {
        FlowWanted::Index(index) => {
            let &(start, end) = elements.get(index)?;
            let at = trimmed_start(start, end);
            if at >= end {
                return None;
            }
            let item = Node {
                line: node.line,
                col: at,
            };
            Some((item, Some(item)))
        }
        FlowWanted::Key(key) => {
            for &(start, end) in &elements {
                let at = trimmed_start(start, end);
                let entry = &text[at..end];
                if let Some((found, after)) = parse_key(entry) {
                    if found == key {
                        let value_at = trimmed_start(at + after, end);
                        let value = (value_at < end).then_some(Node {
                            line: node.line,
                            col: value_at,
                        });
                        return Some((
                            Node {
                                line: node.line,
                                col: at,
                            },
                            value,
                        ));
                    }
                }
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISC: &str = "\
# leading comment
---
kind: ImageSetConfiguration
apiVersion: mirror.openshift.io/v2alpha1
mirror:
  platform:
    architectures: [amd64, arm64]
    channels:
    - name: stable-4.16   # compact list at the key's indentation
      minVersion: 4.16.1
    - name: stable-4.17
  operators:
    - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.16
      packages:
        - name: first
        - name: second
          channels:
            - name: stable
              minVersion: 1.0.0
    -
      catalog: quay.io/other:v1
      packages: [{name: a}, {name: b, minVersion: 2.0.0}]
  additionalImages:
    - {name: quay.io/x/y:1, platforms: [linux/amd64]}
  \"blockedImages\":
  - name: '^quay\\.io/bad'
";

    fn at(path: &str) -> (usize, usize, usize) {
        let found = locate_str(ISC, path);
        (found.line, found.column, found.matched)
    }

    #[test]
    fn parses_and_prints_paths() {
        let path = FieldPath::parse("mirror.operators[1].packages[0].minVersion");
        assert_eq!(path.0.len(), 6);
        assert_eq!(path.to_string(), "mirror.operators[1].packages[0].minVersion");
        assert_eq!(FieldPath::parse(".").0, vec![]);
        assert_eq!(
            FieldPath::parse("a[1][2]").0,
            vec![Segment::Key("a".into()), Segment::Index(1), Segment::Index(2)]
        );
        assert_eq!(FieldPath::default().key("a").index(3).to_string(), "a[3]");
    }

    #[test]
    fn finds_top_level_keys_after_comments_and_marker() {
        assert_eq!(at("kind"), (3, 1, 1));
        assert_eq!(at("apiVersion"), (4, 1, 1));
        assert_eq!(at(""), (3, 1, 0));
    }

    #[test]
    fn finds_nested_keys_and_list_items() {
        assert_eq!(at("mirror.platform"), (6, 3, 2));
        assert_eq!(at("mirror.operators[0]"), (13, 5, 3));
        assert_eq!(at("mirror.operators[0].catalog"), (13, 7, 4));
        assert_eq!(at("mirror.operators[0].packages[1].name"), (16, 11, 6));
        assert_eq!(
            at("mirror.operators[0].packages[1].channels[0].minVersion"),
            (19, 15, 8)
        );
    }

    #[test]
    fn finds_compact_lists_at_the_keys_indentation() {
        assert_eq!(at("mirror.platform.channels[0]"), (9, 5, 4));
        assert_eq!(at("mirror.platform.channels[0].minVersion"), (10, 7, 5));
        assert_eq!(at("mirror.platform.channels[1].name"), (11, 7, 5));
    }

    #[test]
    fn finds_items_whose_content_starts_on_the_next_line() {
        assert_eq!(at("mirror.operators[1]"), (20, 5, 3));
        assert_eq!(at("mirror.operators[1].catalog"), (21, 7, 4));
    }

    #[test]
    fn looks_inside_single_line_flow_values() {
        assert_eq!(at("mirror.platform.architectures[1]"), (7, 28, 4));
        assert_eq!(at("mirror.operators[1].packages[1].minVersion"), (22, 39, 6));
        assert_eq!(at("mirror.additionalImages[0].platforms[0]"), (24, 41, 5));
    }

    #[test]
    fn finds_quoted_keys() {
        assert_eq!(at("blockedImages"), (3, 1, 0));
        assert_eq!(at("mirror.blockedImages[0].name"), (26, 5, 4));
    }

    #[test]
    fn falls_back_to_the_nearest_parent() {
        assert_eq!(at("mirror.operators[7].catalog"), (12, 3, 2));
        assert_eq!(at("mirror.operators[0].packages[1].bundles[0]"), (16, 9, 5));
        assert_eq!(at("mirror.helm.local[0]"), (5, 1, 1));
        assert_eq!(at("mirror.platform.channels[0].name.deeper"), (9, 7, 5));
    }

    #[test]
    fn matches_keys_in_another_case_when_the_exact_one_is_missing() {
        let text = "mirror:\n  additionalimages:\n  - name: a\n  additionalImages2: []\n";
        let found = locate_str(text, "mirror.additionalImages[0].name");
        assert_eq!((found.line, found.column, found.matched), (3, 5, 4));
    }

    #[test]
    fn handles_crlf_and_empty_input() {
        let text = "kind: X\r\nmirror:\r\n  operators:\r\n  - catalog: a\r\n";
        let found = locate_str(text, "mirror.operators[0].catalog");
        assert_eq!((found.line, found.column), (4, 5));
        assert_eq!(locate_str("", "mirror").line, 1);
        assert_eq!(locate_str("# only\n", "mirror").matched, 0);
    }

    #[test]
    fn counts_columns_in_characters() {
        let text = "a:\n  b: {é: 1, c: 2}\n";
        assert_eq!(locate_str(text, "a.b.c").column, 13);
    }
}
