//! Version ranges as OLM writes them in `skipRange` and `olm.package.required` (`>=4.11.0 <4.14.1`, `<0.2.0`,
//! `>=1.0.0 <2.0.0 || >=3.0.0`, `1.2.x`): the blang/semver range grammar that operator-registry uses, compared by
//! semantic-version precedence (pre-releases included, build metadata ignored).

use std::cmp::Ordering;
use std::fmt;

use semver::Version;

/// Why a version range cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RangeError {
    #[error("version range `{range}`: operator `{operator}` without a version")]
    MissingVersion { range: String, operator: String },
    #[error("version range `{range}` has an empty alternative")]
    EmptyAlternative { range: String },
    #[error("version range `{range}`: {source}")]
    Comparator { range: String, source: ComparatorError },
}

/// Why one comparator of a version range cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ComparatorError {
    #[error("`{token}` is not a version")]
    NotAVersion { token: String },
    #[error("`{token}`: `!=` with a wildcard is not supported")]
    WildcardNotEqual { token: String },
}

/// A parsed version range: alternatives (`||`) of comparators that must all hold (space separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionRange {
    text: String,
    alternatives: Vec<Vec<Comparator>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Comparator {
    op: Op,
    version: Version,
}

impl Comparator {
    fn matches(&self, version: &Version) -> bool {
        let order = version.cmp_precedence(&self.version);
        match self.op {
            Op::Eq => order == Ordering::Equal,
            Op::Ne => order != Ordering::Equal,
            Op::Lt => order == Ordering::Less,
            Op::Le => order != Ordering::Greater,
            Op::Gt => order == Ordering::Greater,
            Op::Ge => order != Ordering::Less,
        }
    }
}

impl VersionRange {
    /// Parses a range; an empty text matches every version.
    pub(crate) fn parse(text: &str) -> Result<VersionRange, RangeError> {
        let mut alternatives = Vec::new();
        for alternative in text.split("||") {
            let mut tokens: Vec<String> = Vec::new();
            let mut pending_op = String::new();
            for token in alternative.split_whitespace() {
                if token.chars().all(|c| matches!(c, '<' | '>' | '=' | '!')) {
                    pending_op.push_str(token);
                } else {
                    tokens.push(format!("{pending_op}{token}"));
                    pending_op.clear();
                }
            }
            if !pending_op.is_empty() {
                return Err(RangeError::MissingVersion {
                    range: text.to_string(),
                    operator: pending_op,
                });
            }
            if tokens.is_empty() {
                if text.trim().is_empty() {
                    alternatives.push(Vec::new());
                    continue;
                }
                return Err(RangeError::EmptyAlternative {
                    range: text.to_string(),
                });
            }
            let mut comparators = Vec::new();
            for token in tokens {
                comparators.extend(parse_comparator(&token).map_err(|source| RangeError::Comparator {
                    range: text.to_string(),
                    source,
                })?);
            }
            alternatives.push(comparators);
        }
        Ok(VersionRange {
            text: text.trim().to_string(),
            alternatives,
        })
    }

    pub(crate) fn matches(&self, version: &Version) -> bool {
        self.alternatives
            .iter()
            .any(|all| all.iter().all(|c| c.matches(version)))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_comparator(token: &str) -> Result<Vec<Comparator>, ComparatorError> {
    let not_a_version = || ComparatorError::NotAVersion {
        token: token.to_string(),
    };
    let (op, rest) = [
        (">=", Op::Ge),
        ("=>", Op::Ge),
        ("<=", Op::Le),
        ("=<", Op::Le),
        ("!=", Op::Ne),
        ("==", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
        ("!", Op::Ne),
    ]
    .iter()
    .find_map(|(prefix, op)| token.strip_prefix(prefix).map(|rest| (*op, rest)))
    .unwrap_or((Op::Eq, token));
    let rest = rest.trim();
    // Wildcards: `1.x`, `1.2.*`, `*`.
    let parts: Vec<&str> = rest.trim_start_matches('v').split('.').collect();
    let wild = |p: &str| matches!(p, "x" | "X" | "*");
    if let Some(first_wild) = parts.iter().position(|p| wild(p)) {
        let numbers: Result<Vec<u64>, _> = parts[..first_wild].iter().map(|p| p.parse::<u64>()).collect();
        let numbers = numbers.map_err(|_| not_a_version())?;
        let low = match numbers.as_slice() {
            [] => return Ok(Vec::new()), // `*`: anything
            [major] => Version::new(*major, 0, 0),
            [major, minor] => Version::new(*major, *minor, 0),
            _ => return Err(not_a_version()),
        };
        let high = match numbers.as_slice() {
            [major] => Version::new(major + 1, 0, 0),
            [major, minor] => Version::new(*major, minor + 1, 0),
            _ => unreachable!("checked above"),
        };
        let c = |op, version: &Version| Comparator {
            op,
            version: version.clone(),
        };
        return match op {
            Op::Eq => Ok(vec![c(Op::Ge, &low), c(Op::Lt, &high)]),
            Op::Ge => Ok(vec![c(Op::Ge, &low)]),
            Op::Gt => Ok(vec![c(Op::Ge, &high)]),
            Op::Lt => Ok(vec![c(Op::Lt, &low)]),
            Op::Le => Ok(vec![c(Op::Lt, &high)]),
            Op::Ne => Err(ComparatorError::WildcardNotEqual {
                token: token.to_string(),
            }),
        };
    }
    let version = Version::parse(rest)
        .ok()
        .or_else(|| crate::config::parse_version(rest).ok())
        .ok_or_else(not_a_version)?;
    Ok(vec![Comparator { op, version }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn ranges_of_real_catalogs() {
        let r = VersionRange::parse(">=4.11.0 <4.14.0-202310201027").unwrap();
        assert!(r.matches(&v("4.13.0-202309181427")));
        assert!(r.matches(&v("4.11.0")));
        assert!(!r.matches(&v("4.14.0-202310201027")));
        assert!(!r.matches(&v("4.10.9")));
        let r = VersionRange::parse("<0.2.0").unwrap();
        assert!(r.matches(&v("0.1.0")) && r.matches(&v("0.2.0-rc.1")) && !r.matches(&v("0.2.0")));
        let r = VersionRange::parse(">=1.13.0 <1.42.0-5").unwrap();
        assert!(r.matches(&v("1.34.1-5")) && !r.matches(&v("1.42.0-5+0.1687199951.p")));
    }

    #[test]
    fn alternatives_spaces_and_wildcards() {
        let r = VersionRange::parse(">= 1.0.0 < 2.0.0 || >=3.0.0").unwrap();
        assert!(r.matches(&v("1.5.0")) && !r.matches(&v("2.5.0")) && r.matches(&v("3.1.0")));
        let r = VersionRange::parse("1.2.x").unwrap();
        assert!(r.matches(&v("1.2.9")) && !r.matches(&v("1.3.0")));
        assert!(VersionRange::parse("").unwrap().matches(&v("9.9.9")));
        assert!(VersionRange::parse("*").unwrap().matches(&v("0.0.1")));
        assert!(VersionRange::parse(">=banana")
            .unwrap_err()
            .to_string()
            .contains("not a version"));
        assert!(VersionRange::parse(">=1.0.0 ||").is_err());
    }
}
