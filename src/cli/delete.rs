//! `ferry delete`: phase 1 (`--generate`) writes the delete list, phase 2 (`--delete-yaml-file`) deletes; both
//! print a summary for people and log to the workspace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::args::DeleteArgs;
use crate::engine::EngineOptions;
use crate::image::PlatformFilter;
use crate::report::{human_bytes, CliReporter, Display, LogFile, LogLevel};
use crate::workflow::delete::{self, ExecuteRequest, Executed, Generated};
use crate::workflow::{delete_mode, workspace_directory, ImageSignatures, MirrorRequest, ReleaseSignatures, Workspace};

/// How blobs are reclaimed after manifests are deleted (the summary and the user guide say it).
const GARBAGE_COLLECTION: &str = "blobs are reclaimed only by the registry's garbage collection: for the CNCF \
    distribution registry, `registry garbage-collect --delete-untagged /etc/docker/registry/config.yml` (with the \
    registry read-only or stopped); Quay collects them itself after its time machine window";

pub(super) fn run(args: DeleteArgs) -> i32 {
    let request = match build_request(&args) {
        Ok(request) => request,
        Err(error) => {
            eprintln!("error: {error}");
            return 1;
        }
    };
    let log = LogFile::open(
        &Workspace::new(request.mode.workspace_dir()).log_file(),
        args.connection.log_level.max(LogLevel::Info),
    )
    .ok();
    let reporter = Arc::new(CliReporter::new(
        Display::detect(args.connection.quiet),
        args.connection.log_level,
        log,
    ));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return 1;
        }
    };
    let code = runtime.block_on(async {
        if args.generate {
            match delete::generate(&request, args.delete_id.as_deref(), reporter.clone()).await {
                Ok(generated) => Ok(print_generated(&generated, args.connection.quiet)),
                Err(error) => Err(error),
            }
        } else {
            let execute = ExecuteRequest {
                list: args.delete_yaml_file.clone().unwrap_or_default(),
                dry_run: args.dry_run,
                delete_signatures: args.delete_signatures,
                keep: args.keep.clone(),
                connection: request.clone(),
            };
            delete::execute(&execute, reporter.clone())
                .await
                .map(|done| print_executed(&done, args.dry_run, args.connection.quiet))
        }
    });
    reporter.finish();
    code.unwrap_or_else(|error| {
        reporter.say(LogLevel::Error, &error.to_string());
        1
    })
}

/// The request both phases run with: the destination and workspace, the registry options.
fn build_request(args: &DeleteArgs) -> Result<MirrorRequest, crate::workflow::EndpointError> {
    let workspace = match (&args.workspace, &args.delete_yaml_file) {
        (Some(dir), _) => workspace_directory(dir)?,
        (None, Some(list)) => workspace_of(list),
        (None, None) => PathBuf::from("."),
    };
    Ok(MirrorRequest {
        config_path: args
            .config
            .clone()
            .or_else(|| args.delete_yaml_file.clone())
            .unwrap_or_default(),
        mode: delete_mode(&args.destination, workspace)?,
        dry_run: true,
        release_signatures: ReleaseSignatures::Skip,
        // Planning a deletion finds images, not their signatures (--delete-signatures reads the destination's).
        image_signatures: ImageSignatures {
            copy: false,
            ..ImageSignatures::default()
        },
        cli_platforms: PlatformFilter::of(args.connection.registry.platforms.clone()),
        engine: EngineOptions {
            parallel_images: usize::from(args.parallel_images),
            parallel_layers: 1,
            retry: args.connection.retry(),
        },
        src_tls_verify: args.connection.registry.src_tls_verify,
        dest_tls_verify: args.connection.dest_tls_verify,
        authfile: args.connection.registry.authfile.clone(),
        registries_conf: args.connection.registry.registries_conf.clone(),
    })
}

/// The workspace a delete list was generated in (`DIR` of `DIR/working-dir/delete/list.yaml`), else its directory.
fn workspace_of(list: &Path) -> PathBuf {
    let parent = list.parent().unwrap_or(Path::new("."));
    match (parent.file_name(), parent.parent()) {
        (Some(name), Some(working_dir)) if name == "delete" && working_dir.ends_with("working-dir") => {
            working_dir.parent().unwrap_or(Path::new(".")).to_path_buf()
        }
        _ => parent.to_path_buf(),
    }
}

/// Phase 1's summary: what the list holds, by type, with sizes; 0, or 1 when something could not be resolved.
fn print_generated(generated: &Generated, quiet: bool) -> i32 {
    if !quiet {
        let mut groups: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
        for item in &generated.items {
            let group = groups.entry(item.image_type.as_str()).or_default();
            group.0 += 1;
            group.1 += item.size.unwrap_or(0);
        }
        let total: u64 = groups.values().map(|(_, size)| size).sum();
        eprintln!(
            "delete plan: {} images ({} referenced) in {}",
            generated.items.len(),
            human_bytes(total),
            generated.list_path.display()
        );
        for (group, (count, size)) in &groups {
            eprintln!("  {group}: {count} ({})", human_bytes(*size));
        }
        if !generated.absent.is_empty() {
            eprintln!("not at the destination (nothing to delete): {}", generated.absent.len());
        }
        eprintln!("configuration copied to {}", generated.config_copy.display());
        eprintln!(
            "nothing was deleted: run ferry delete --delete-yaml-file {} DESTINATION",
            generated.list_path.display()
        );
    }
    for failure in &generated.failures {
        eprintln!("FAILED {}: {}", failure.image, failure.error);
    }
    i32::from(!generated.failures.is_empty())
}

/// Phase 2's summary; 0, or 1 when a manifest could not be deleted.
fn print_executed(done: &Executed, dry_run: bool, quiet: bool) -> i32 {
    if !quiet {
        for (name, reason) in &done.kept {
            eprintln!("kept {name}: {reason}");
        }
        let verb = if dry_run { "would delete" } else { "deleted" };
        if dry_run {
            for name in &done.deleted {
                eprintln!("would delete {name}");
            }
        }
        eprintln!(
            "{verb} {} manifests, kept {} that something else still uses, {} already gone, {} failed",
            done.deleted.len(),
            done.kept.len(),
            done.absent.len(),
            done.failures.len()
        );
        if !dry_run && !done.deleted.is_empty() {
            eprintln!("{GARBAGE_COLLECTION}");
        }
    }
    for (name, error) in &done.failures {
        eprintln!("FAILED {name}: {error}");
    }
    i32::from(!done.failures.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delete_list_names_its_workspace() {
        assert_eq!(
            workspace_of(Path::new("/x/ws/working-dir/delete/delete-images.yaml")),
            Path::new("/x/ws")
        );
        assert_eq!(workspace_of(Path::new("/x/plans/d.yaml")), Path::new("/x/plans"));
    }
}
