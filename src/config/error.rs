//! Configuration errors: every one names `FILE:LINE:COLUMN`, the field path, what is wrong and what would be valid.

use std::fmt;
use std::path::PathBuf;

/// A place in a configuration file. Lines and columns count from 1, columns in characters (as libyaml does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One thing wrong with a configuration, pinned to the YAML that causes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub at: Location,
    /// Dotted field path such as `mirror.operators[1].packages[0].minVersion`; empty for the whole document.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// What would be valid, or what to do about it.
    pub help: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.at)?;
        if !self.field.is_empty() {
            write!(f, "`{}`: ", self.field)?;
        }
        f.write_str(&self.message)?;
        if !self.help.is_empty() {
            write!(f, "\n  help: {}", self.help)?;
        }
        Ok(())
    }
}

/// Why a configuration could not be loaded. The variants let callers tell a broken file from an unreadable one;
/// the `Display` of each is complete on its own (location, field, problem, help).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read the configuration file: {source}\n  help: {help}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
        help: String,
    },
    /// The text is not valid YAML, or not a single YAML document.
    #[error("{0}")]
    Syntax(Problem),
    /// `apiVersion` is missing, unknown or no longer supported.
    #[error("{0}")]
    UnsupportedVersion(Problem),
    /// `kind` is missing, unknown, or not the kind this command needs.
    #[error("{0}")]
    WrongKind(Problem),
    /// The YAML does not fit the configuration's shape: unknown field, wrong type, missing field.
    #[error("{0}")]
    Schema(Problem),
    /// The configuration is well formed but breaks one or more rules (all of them are reported).
    #[error("{}", render_many(.0))]
    Invalid(Vec<Problem>),
}

fn render_many(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => {
            let file = many
                .first()
                .map(|p| p.at.file.display().to_string())
                .unwrap_or_default();
            let mut out = format!("{file}: the configuration has {} problems:", many.len());
            for problem in many {
                out.push('\n');
                out.push_str(&problem.to_string());
            }
            out
        }
    }
}

impl ConfigError {
    #[cfg(test)]
    /// Every problem this error carries (none for I/O errors).
    pub(crate) fn problems(&self) -> Vec<&Problem> {
        match self {
            ConfigError::Io { .. } => Vec::new(),
            ConfigError::Syntax(p)
            | ConfigError::UnsupportedVersion(p)
            | ConfigError::WrongKind(p)
            | ConfigError::Schema(p) => vec![p],
            ConfigError::Invalid(problems) => problems.iter().collect(),
        }
    }

    #[cfg(test)]
    /// Where the (first) problem is, when the error has a place in the file.
    pub(crate) fn location(&self) -> Option<&Location> {
        self.problems().first().map(|p| &p.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(field: &str) -> Problem {
        Problem {
            at: Location {
                file: PathBuf::from("isc.yaml"),
                line: 3,
                column: 7,
            },
            field: field.to_string(),
            message: "something is wrong".to_string(),
            help: "do this instead".to_string(),
        }
    }

    #[test]
    fn problem_display_names_place_field_problem_and_help() {
        let text = problem("mirror.operators[0].catalog").to_string();
        assert_eq!(
            text,
            "isc.yaml:3:7: `mirror.operators[0].catalog`: something is wrong\n  help: do this instead"
        );
        assert_eq!(
            problem("").to_string(),
            "isc.yaml:3:7: something is wrong\n  help: do this instead"
        );
    }

    #[test]
    fn several_problems_are_all_listed() {
        let err = ConfigError::Invalid(vec![problem("a"), problem("b")]);
        let text = err.to_string();
        assert!(
            text.starts_with("isc.yaml: the configuration has 2 problems:"),
            "{text}"
        );
        assert!(text.contains("`a`") && text.contains("`b`"), "{text}");
        assert_eq!(err.problems().len(), 2);
        assert_eq!(err.location().unwrap().line, 3);
    }

    #[test]
    fn io_error_names_the_file_and_what_to_do() {
        let err = ConfigError::Io {
            file: PathBuf::from("/nope/isc.yaml"),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
            help: "check the path".to_string(),
        };
        let text = err.to_string();
        assert!(text.starts_with("/nope/isc.yaml: cannot read"), "{text}");
        assert!(text.contains("help: check the path"), "{text}");
        assert!(err.location().is_none());
    }
}
