//! `ferry mirror`: picks the workflow from the endpoints, sets up reporting, runs it, prints the summary.

use std::sync::Arc;

use super::args::MirrorArgs;
use crate::engine::EngineOptions;
use crate::image::PlatformFilter;
use crate::reference::Location;
use crate::registry::RetryPolicy;
use crate::report::{render_summary, CliReporter, Display, LogFile, LogLevel};
use crate::workflow::{mirror_to_mirror, MirrorRequest, Workspace};

/// Exit code when the user interrupts the run.
const INTERRUPTED: i32 = 130;

pub fn run(args: MirrorArgs) -> i32 {
    let request = match build_request(&args) {
        Ok(request) => request,
        Err(message) => {
            eprintln!("error: {message}");
            return 1;
        }
    };
    let display = Display::detect(args.quiet);
    let log = LogFile::open(
        &Workspace::new(&request.workspace_dir).log_file(),
        args.log_level.max(LogLevel::Info),
    )
    .ok();
    let reporter = Arc::new(CliReporter::new(display, args.log_level, log));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return 1;
        }
    };
    let outcome = runtime.block_on(async {
        tokio::select! {
            result = mirror_to_mirror::run(&request, reporter.clone()) => Some(result),
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
        Some(Ok(summary)) => {
            if !args.quiet {
                eprint!("{}", render_summary(&summary));
            }
            summary.exit_code()
        }
    }
}

/// Decides the workflow from the endpoints, per the CLI contract.
fn build_request(args: &MirrorArgs) -> Result<MirrorRequest, String> {
    let destination: Location = args.destination.parse().map_err(|e| format!("{e}"))?;
    if args.from.is_some() {
        return Err("disk-to-mirror (--from) is not available in this version of ferry yet".into());
    }
    let (registry, namespace) = match destination {
        Location::Registry { registry, namespace } => (registry, namespace),
        Location::Directory(_) => {
            return Err("mirror-to-disk (file:// destination) is not available in this version of ferry yet".into())
        }
        Location::OciLayout { .. } => {
            return Err("oci:// destinations are not available in this version of ferry yet".into())
        }
    };
    let workspace = match args.workspace.as_deref().map(str::parse::<Location>) {
        Some(Ok(Location::Directory(dir))) => dir,
        Some(Ok(_)) => return Err("--workspace must be file://DIR".into()),
        Some(Err(e)) => return Err(format!("--workspace: {e}")),
        None => {
            return Err("mirror-to-mirror needs --workspace file://DIR for its state, logs and cluster resources\n  help: ferry mirror -c ISC --workspace file://DIR docker://HOST[/NS]".into())
        }
    };
    if args.since.is_some() {
        return Err("--since applies to mirror-to-disk only".into());
    }
    Ok(MirrorRequest {
        config_path: args.config.clone(),
        workspace_dir: workspace,
        destination_registry: registry,
        destination_namespace: namespace,
        dry_run: args.dry_run,
        cli_platforms: PlatformFilter::of(args.platforms.clone()),
        engine: EngineOptions {
            parallel_images: usize::from(args.parallel_images),
            parallel_layers: usize::from(args.parallel_layers),
            retry: RetryPolicy {
                times: args.retry_times,
                delay: args.retry_delay,
                ..RetryPolicy::default()
            },
        },
        src_tls_verify: args.src_tls_verify,
        dest_tls_verify: args.dest_tls_verify,
        authfile: args.authfile.clone(),
        registries_conf: args.registries_conf.clone(),
    })
}
