//! Argument definitions (the CLI contract of DESIGN.md: names are stable, extend, don't rename).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::image::Platform;

#[derive(Debug, Parser)]
#[command(name = "ferry", version, about = "Mirror container images, operator catalogs and OpenShift releases into disconnected registries", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Mirror what an ImageSetConfiguration describes (releases, operator catalogs, Helm charts and additional
    /// images, with their signatures and referrers).
    ///
    /// Mirror-to-mirror:  ferry mirror -c isc.yaml --workspace file://DIR docker://HOST[:PORT][/NS]
    /// Mirror-to-disk:    ferry mirror -c isc.yaml file://DIR
    /// Disk-to-mirror:    ferry mirror -c isc.yaml --from file://DIR docker://HOST[:PORT][/NS]
    /// Into a layout:     ferry mirror -c isc.yaml --workspace file://DIR oci://LAYOUT
    ///
    /// Exit codes: 0 success; 1 usage, configuration or fatal error; 130 interrupted;
    /// otherwise a bitmask of groups with failed images:
    /// 2 release, 4 operator, 8 additional, 16 helm.
    #[command(verbatim_doc_comment)]
    Mirror(Box<MirrorArgs>),
    /// Delete from a mirror registry what an earlier mirror put there, in two phases, keeping what is still used.
    ///
    /// Plan:     ferry delete -c delete-isc.yaml --generate --workspace file://DIR docker://HOST[:PORT][/NS]
    ///           [--delete-id ID]   (writes DIR/working-dir/delete/delete-images[-ID].yaml; deletes nothing)
    /// Execute:  ferry delete --delete-yaml-file DIR/working-dir/delete/delete-images[-ID].yaml docker://HOST[/NS]
    ///           [--keep isc.yaml]... [--delete-signatures] [--dry-run]
    ///
    /// Manifests are deleted by digest, which removes every tag naming them: a digest that a tag outside the list,
    /// an index outside the list or a --keep configuration still needs is kept, and the summary says why. Blobs are
    /// reclaimed only by the registry's garbage collection. Exit codes: 0 success; 1 usage, configuration or
    /// registry error, or a manifest that could not be deleted.
    #[command(verbatim_doc_comment)]
    Delete(Box<DeleteArgs>),
    /// Parse and validate an ImageSetConfiguration; exit 0 when valid, 1 with precise errors otherwise.
    Validate(ValidateArgs),
    /// Print a commented ImageSetConfiguration template to start from.
    Init,
    /// Show what the archives in a directory hold: runs, images, platforms, sizes, segments.
    Describe(DescribeArgs),
    /// List what a catalog offers.
    #[command(subcommand)]
    List(ListCommand),
    /// Build an ImageSetConfiguration interactively: browse catalogs, pick packages, channels, versions and
    /// platforms, preview and save the configuration, run it. `?` in the TUI shows every key.
    Tui(TuiArgs),
    /// Print the shell completion script for bash, zsh or fish.
    ///
    /// bash: ferry completion bash > /etc/bash_completion.d/ferry (or source <(ferry completion bash))
    /// zsh:  ferry completion zsh > "${fpath[1]}/_ferry"
    /// fish: ferry completion fish > ~/.config/fish/completions/ferry.fish
    #[command(verbatim_doc_comment)]
    Completion(CompletionArgs),
    /// Print ferry's man page (roff): ferry man > /usr/local/share/man/man1/ferry.1
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells completions are generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct TuiArgs {
    /// Start from this ImageSetConfiguration (fields the TUI does not edit are kept when saving).
    #[arg(short = 'c', long = "config", value_name = "ISC")]
    pub config: Option<PathBuf>,

    /// A catalog to browse: docker://REGISTRY/REPO:TAG (or without docker://) or oci://DIR[:NAME]; repeatable.
    #[arg(long = "catalog", value_name = "REF")]
    pub catalogs: Vec<String>,

    /// Where ctrl-s writes the configuration.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "OUT",
        default_value = "imageset-config.yaml"
    )]
    pub output: PathBuf,

    /// Read the catalogs offline from the archives in file://DIR.
    #[arg(long, value_name = "file://DIR")]
    pub from: Option<String>,

    #[command(flatten)]
    pub registry: SourceRegistryArgs,
}

#[derive(Debug, Subcommand)]
pub enum ListCommand {
    /// Packages of an operator catalog (default channel, head version, platforms that carry each); with --package
    /// its channels and bundles; with --channel the bundles of that channel.
    Operators(ListOperatorsArgs),
}

#[derive(Debug, Args)]
pub struct ListOperatorsArgs {
    /// The catalog: docker://REGISTRY/REPO:TAG (or without docker://), oci://DIR[:NAME], or with --from the catalog
    /// as the ImageSetConfiguration names it.
    #[arg(long, value_name = "REF")]
    pub catalog: String,

    /// Show this package's channels and bundles.
    #[arg(long, value_name = "P")]
    pub package: Option<String>,

    /// With --package: only this channel.
    #[arg(long, value_name = "C", requires = "package")]
    pub channel: Option<String>,

    /// Read the catalog offline from the archives in file://DIR.
    #[arg(long, value_name = "file://DIR")]
    pub from: Option<String>,

    /// text for people, json for scripts.
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,

    #[command(flatten)]
    pub registry: SourceRegistryArgs,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The archive directory: file://DIR.
    #[arg(value_name = "file://DIR")]
    pub archive: String,

    /// text for people, json for scripts.
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SignaturePolicy {
    Strict,
    BestEffort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The ImageSetConfiguration file.
    #[arg(short = 'c', long = "config", value_name = "ISC")]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// The ImageSetConfiguration file.
    #[arg(short = 'c', long = "config", value_name = "ISC")]
    pub config: PathBuf,

    /// Where images go: docker://HOST[:PORT][/NAMESPACE] (a registry) or file://DIR (archives, mirror-to-disk).
    #[arg(value_name = "DESTINATION")]
    pub destination: String,

    /// Mirror-to-mirror: keep state, logs and cluster resources in file://DIR.
    #[arg(long, value_name = "file://DIR")]
    pub workspace: Option<String>,

    /// Disk-to-mirror: push the archives in file://DIR.
    #[arg(long, value_name = "file://DIR")]
    pub from: Option<String>,

    /// Resolve everything and write working-dir/dry-run/{mapping.txt,missing.txt}; copy nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Mirror releases whose signature is missing or does not verify (and OKD's, which are unsigned) without
    /// failing them: each is reported, and no signature is written for it. Signatures are fetched from
    /// OCP_SIGNATURE_URL (else mirror.openshift.com) and verified with the keyring OCP_SIGNATURE_VERIFICATION_PK
    /// names (else Red Hat's release keys).
    #[arg(long)]
    pub ignore_release_signature: bool,

    /// Leave image signatures, attestations and referrers behind (by default the cosign tags sha256-<hex>.sig,
    /// .att and .sbom and the OCI 1.1 referrers of every mirrored manifest travel with it).
    #[arg(long)]
    pub remove_signatures: bool,

    /// Verify every image's cosign signature with this public key (cosign.pub, ECDSA P-256) before mirroring.
    #[arg(long, value_name = "KEY.pub")]
    pub verify_signatures: Option<PathBuf>,

    /// With --verify-signatures: strict fails an image without a valid signature (its group's exit bit);
    /// best-effort reports it and mirrors it.
    #[arg(long, value_enum, default_value = "strict", requires = "verify_signatures")]
    pub signature_policy: SignaturePolicy,

    /// Mirror-to-disk: pack everything not shipped before this date (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub since: Option<String>,

    /// Mirror-to-disk: the largest segment (`mirror_NNNNNN.tar`) in bytes, with an optional unit (K, M, G, Ki, Mi,
    /// Gi...); overrides the configuration's `archiveSize` (GiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, hide = true)]
    pub archive_size: Option<u64>,

    /// Mirror-to-disk: a blob larger than a segment is an error instead of a warning.
    #[arg(long)]
    pub strict_archive: bool,

    /// Images copied at the same time.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel_images: u16,

    /// Blobs of one image copied at the same time. Large blobs (4 MiB and up) are at most
    /// max(--parallel-images, --parallel-layers) at once in all: their copies share the bandwidth.
    #[arg(long, value_name = "N", default_value_t = 6, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel_layers: u16,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// text: the summary for people on stderr; json: the run summary (every image with its destination, digest,
    /// platforms, outcome and error; totals; exit code) as JSON on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,

    /// Also write the JSON run summary to PATH (whatever --output says).
    #[arg(long, value_name = "PATH")]
    pub summary_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The DeleteImageSetConfiguration (with --generate).
    #[arg(
        short = 'c',
        long = "config",
        value_name = "DELETE-ISC",
        required_if_eq("generate", "true")
    )]
    pub config: Option<PathBuf>,

    /// Phase 1: write the delete list of the configuration (what the registry holds of it); delete nothing.
    #[arg(long, requires = "workspace", conflicts_with = "delete_yaml_file")]
    pub generate: bool,

    /// The registry to delete from: docker://HOST[:PORT][/NAMESPACE], as it was mirrored to.
    #[arg(value_name = "DESTINATION")]
    pub destination: String,

    /// Where the delete list (working-dir/delete/) and the log go. Default for phase 2: the workspace that holds
    /// the delete list.
    #[arg(long, value_name = "file://DIR")]
    pub workspace: Option<String>,

    /// Name the delete list delete-images-ID.yaml (and its configuration copy), to keep several.
    #[arg(long, value_name = "ID", requires = "generate")]
    pub delete_id: Option<String>,

    /// Phase 2: delete what this delete list names.
    #[arg(long, value_name = "FILE", required_unless_present = "generate")]
    pub delete_yaml_file: Option<PathBuf>,

    /// Phase 2: an ImageSetConfiguration whose content must stay (repeatable): its images are kept even where the
    /// delete list names them (e.g. the release kept in a rotation, whose components the deleted one shares).
    #[arg(long, value_name = "ISC", conflicts_with = "generate")]
    pub keep: Vec<PathBuf>,

    /// Phase 2: also delete the cosign signature tags (sha256-<hex>.sig) of what is deleted.
    #[arg(long, conflicts_with = "generate")]
    pub delete_signatures: bool,

    /// Phase 2: show what would be deleted and kept; delete nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Registries asked at the same time (repositories for phase 2, images for phase 1).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel_images: u16,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// The options `mirror` and `delete` share: retries, TLS toward the destination, the source registries, logging.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Retries of a failed request (429, 5xx, resets, timeouts) before the image fails.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub retry_times: u32,

    /// First wait before a retry; it doubles each time (e.g. 500ms, 2s, 1m).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub retry_delay: Duration,

    /// Verify the destination registry's TLS certificate; false also allows plain HTTP.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub dest_tls_verify: bool,

    #[command(flatten)]
    pub registry: SourceRegistryArgs,

    /// error, warn, info, debug or trace (the log file in working-dir/logs gets the same level).
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub log_level: crate::report::LogLevel,

    /// No progress and no summary; errors only.
    #[arg(long)]
    pub quiet: bool,
}

impl ConnectionArgs {
    /// The retry policy these options give.
    pub(crate) fn retry(&self) -> crate::registry::RetryPolicy {
        crate::registry::RetryPolicy {
            times: self.retry_times,
            delay: self.retry_delay,
            ..crate::registry::RetryPolicy::default()
        }
    }
}

/// Why an option value is not a size or a duration.
#[derive(Debug, thiserror::Error)]
pub(super) enum ValueError {
    #[error("`{text}` is not a size: use e.g. 1048576, 512Mi, 2G")]
    NotASize { text: String },
    #[error("`{text}` has an unknown unit `{unit}`: use K, M, G, Ki, Mi or Gi")]
    UnknownSizeUnit { text: String, unit: String },
    #[error("`{text}` is not a usable size")]
    UnusableSize { text: String },
    #[error("`{text}` is not a duration: use e.g. 500ms, 2s, 1m")]
    NotADuration { text: String },
    #[error("`{text}` has an unknown unit `{unit}`: use ms, s, m or h")]
    UnknownDurationUnit { text: String, unit: String },
}

/// A byte count with an optional decimal (K, M, G) or binary (Ki, Mi, Gi) unit.
pub(super) fn parse_size(text: &str) -> Result<u64, ValueError> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| ValueError::NotASize { text: text.to_string() })?;
    let factor: u64 = match unit.trim_end_matches(['B', 'b']) {
        "" => 1,
        "K" | "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        other => {
            return Err(ValueError::UnknownSizeUnit {
                text: text.to_string(),
                unit: other.to_string(),
            })
        }
    };
    value
        .checked_mul(factor)
        .filter(|v| *v > 0)
        .ok_or_else(|| ValueError::UnusableSize { text: text.to_string() })
}

/// The options of every command that reads registries (`mirror`, `list`, `tui`), with the same meaning everywhere.
#[derive(Debug, Args)]
pub struct SourceRegistryArgs {
    /// Verify the source registries' TLS certificates; false also allows plain HTTP.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub src_tls_verify: bool,

    /// Credentials file (containers-auth.json). Default: REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
    /// ~/.config/containers/auth.json, $DOCKER_CONFIG/config.json or ~/.docker/config.json.
    #[arg(long, value_name = "PATH")]
    pub authfile: Option<PathBuf>,

    /// Source registry mirrors (containers-registries.conf). Default: CONTAINERS_REGISTRIES_CONF.
    #[arg(long, value_name = "PATH")]
    pub registries_conf: Option<PathBuf>,

    /// Only these platforms (OS/ARCH[/VARIANT]); repeatable; for `mirror`, intersected with each entry's own
    /// `platforms`.
    #[arg(long = "platform", value_name = "OS/ARCH[/VARIANT]")]
    pub platforms: Vec<Platform>,
}

/// `1s`, `500ms`, `2m`, `1h`, or a number of seconds.
pub(super) fn parse_duration(text: &str) -> Result<Duration, ValueError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| ValueError::NotADuration { text: text.to_string() })?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(ValueError::UnknownDurationUnit {
                text: text.to_string(),
                unit: unit.to_string(),
            })
        }
    };
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("2Mi").unwrap(), 2 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1_000_000_000);
        assert!(parse_size("0").is_err());
        assert!(parse_size("3X").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3d").is_err());
    }
}
