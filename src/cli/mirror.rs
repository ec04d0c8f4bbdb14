//! `ferry mirror`: picks the workflow from the endpoints, sets up reporting, runs it, prints the summary.

use std::sync::Arc;

use super::args::{MirrorArgs, OutputFormat, SignaturePolicy};
use crate::engine::EngineOptions;
use crate::image::PlatformFilter;
use crate::report::{render_summary, summary_json, CliReporter, Display, LogFile, LogLevel};
use crate::workflow::{
    self, EndpointError, Endpoints, ImageSignatures, MirrorRequest, Mode, ReleaseSignatures, RunSummary, Workspace,
};

/// Exit code when the user interrupts the run.
const INTERRUPTED: i32 = 130;

/// Why the command line does not make a mirror request.
#[derive(Debug, thiserror::Error)]
enum RequestError {
    #[error(transparent)]
    Endpoints(#[from] EndpointError),
    #[error("--since `{text}` is not a date: use YYYY-MM-DD")]
    InvalidDate { text: String },
    #[error("--since applies to mirror-to-disk only")]
    SinceNotToDisk,
}

pub(super) fn run(args: MirrorArgs) -> i32 {
    let request = match build_request(&args) {
        Ok(request) => request,
        Err(error) => {
            eprintln!("error: {error}");
            return 1;
        }
    };
    let display = Display::detect(args.connection.quiet);
    let log = LogFile::open(
        &Workspace::new(request.mode.workspace_dir()).log_file(),
        args.connection.log_level.max(LogLevel::Info),
    )
    .ok();
    let reporter = Arc::new(CliReporter::new(display, args.connection.log_level, log));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return 1;
        }
    };
    let outcome = runtime.block_on(async {
        tokio::select! {
            result = workflow::run(&request, reporter.clone()) => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    reporter.finish();
    match outcome {
        None => {
            reporter.say(
                LogLevel::Error,
                "interrupted: uploads in flight were abandoned and no manifest refers to them; run the same command again to resume",
            );
            INTERRUPTED
        }
        Some(Err(error)) => {
            reporter.say(LogLevel::Error, &error.to_string());
            1
        }
        Some(Ok(summary)) => report_summary(&args, &summary),
    }
}

/// Prints the summary as `--output` asks and writes `--summary-file`; the run's exit code.
fn report_summary(args: &MirrorArgs, summary: &RunSummary) -> i32 {
    let json = summary_json(summary);
    if args.output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
    } else if !args.connection.quiet {
        eprint!("{}", render_summary(summary));
    }
    if let Some(path) = &args.summary_file {
        let text = serde_json::to_string_pretty(&json).unwrap_or_default();
        if let Err(error) = std::fs::write(path, text + "\n") {
            eprintln!("error: cannot write the summary file {}: {error}", path.display());
            return summary.exit_code().max(1);
        }
    }
    summary.exit_code()
}

/// Decides the workflow from the endpoints, per the CLI contract.
fn build_request(args: &MirrorArgs) -> Result<MirrorRequest, RequestError> {
    let endpoints = Endpoints {
        destination: &args.destination,
        from: args.from.as_deref(),
        workspace: args.workspace.as_deref(),
    };
    let mut mode = endpoints.mode()?;
    if let Mode::MirrorToDisk(disk) = &mut mode {
        if let Some(since) = &args.since {
            validate_date(since)?;
        }
        disk.since = args.since.clone();
        disk.archive_size = args.archive_size;
        disk.strict_archive = args.strict_archive;
    }
    if args.since.is_some() && !matches!(mode, Mode::MirrorToDisk(_)) {
        return Err(RequestError::SinceNotToDisk);
    }
    Ok(MirrorRequest {
        config_path: args.config.clone(),
        mode,
        dry_run: args.dry_run,
        image_signatures: ImageSignatures {
            copy: !args.remove_signatures,
            verify_with: args.verify_signatures.clone(),
            strict: args.signature_policy != SignaturePolicy::BestEffort,
        },
        release_signatures: if args.ignore_release_signature {
            ReleaseSignatures::Ignore
        } else {
            ReleaseSignatures::Verify
        },
        cli_platforms: PlatformFilter::of(args.connection.registry.platforms.clone()),
        engine: EngineOptions {
            parallel_images: usize::from(args.parallel_images),
            parallel_layers: usize::from(args.parallel_layers),
            retry: args.connection.retry(),
        },
        src_tls_verify: args.connection.registry.src_tls_verify,
        dest_tls_verify: args.connection.dest_tls_verify,
        authfile: args.connection.registry.authfile.clone(),
        registries_conf: args.connection.registry.registries_conf.clone(),
    })
}

/// `YYYY-MM-DD` with a plausible month and day.
fn validate_date(text: &str) -> Result<(), RequestError> {
    let parts: Vec<&str> = text.split('-').collect();
    let valid = matches!(parts.as_slice(), [y, m, d]
        if y.len() == 4 && m.len() == 2 && d.len() == 2
            && y.parse::<u32>().is_ok()
            && m.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
            && d.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d)));
    if valid {
        Ok(())
    } else {
        Err(RequestError::InvalidDate { text: text.to_string() })
    }
}
