//! The end-of-run summary: printed for people, or as JSON for scripts.

use std::fmt::Write as _;

use super::human_bytes;
use crate::workflow::RunSummary;

pub(crate) fn render_summary(summary: &RunSummary) -> String {
    let mut out = String::new();
    let seconds = summary.elapsed.as_secs_f64();
    if summary.dry_run {
        let _ = writeln!(
            out,
            "dry run: {} images planned, {} to copy, {} already at the destination, {} failed ({seconds:.1}s)",
            summary.images_planned,
            summary.images_mirrored,
            summary.images_unchanged,
            summary.failures.len()
        );
    } else {
        let rate = if seconds > 0.0 {
            summary.bytes_copied as f64 / seconds
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "mirrored {} of {} images ({} unchanged, {} failed) in {seconds:.1}s",
            summary.images_mirrored + summary.images_unchanged,
            summary.images_planned,
            summary.images_unchanged,
            summary.failures.len()
        );
        let _ = writeln!(
            out,
            "blobs: {} copied ({}, {}/s), {} already present, {} mounted; {} manifests pushed",
            summary.blobs_copied,
            human_bytes(summary.bytes_copied),
            human_bytes(rate as u64),
            summary.blobs_skipped,
            summary.blobs_mounted,
            summary.manifests_pushed
        );
    }
    if summary.attachments > 0 {
        let verb = if summary.dry_run { "planned" } else { "copied" };
        let _ = writeln!(
            out,
            "signatures, attestations and referrers: {} {verb} with their images",
            summary.attachments
        );
    }
    for excluded in &summary.excluded {
        let _ = writeln!(out, "not mirrored: {} ({})", excluded.image, excluded.reason);
    }
    for failure in &summary.failures {
        let _ = writeln!(out, "FAILED {}: {}", failure.image, failure.error);
    }
    if let Some(path) = &summary.errors_file {
        let _ = writeln!(out, "errors written to {}", path.display());
    }
    for path in &summary.files_written {
        let _ = writeln!(out, "wrote {}", path.display());
    }
    out
}

/// The run summary for scripts (`--output json`, `--summary-file`); its schema is in the user guide.
pub(crate) fn summary_json(summary: &RunSummary) -> serde_json::Value {
    let failures: Vec<serde_json::Value> = summary
        .failures
        .iter()
        .map(|f| serde_json::json!({"subject": f.image, "group": f.origin, "error": f.error}))
        .collect();
    let excluded: Vec<serde_json::Value> = summary
        .excluded
        .iter()
        .map(|e| serde_json::json!({"image": e.image, "reason": e.reason}))
        .collect();
    serde_json::json!({
        "schemaVersion": 1,
        "dryRun": summary.dry_run,
        "exitCode": summary.exit_code(),
        "totals": {
            "imagesPlanned": summary.images_planned,
            "imagesMirrored": summary.images_mirrored,
            "imagesUnchanged": summary.images_unchanged,
            "signaturesAndReferrers": summary.attachments,
            "failures": summary.failures.len(),
            "blobsCopied": summary.blobs_copied,
            "blobsSkipped": summary.blobs_skipped,
            "blobsMounted": summary.blobs_mounted,
            "bytesCopied": summary.bytes_copied,
            "manifestsPushed": summary.manifests_pushed,
            "seconds": summary.elapsed.as_secs_f64(),
        },
        "images": summary.images,
        "failures": failures,
        "excluded": excluded,
        "filesWritten": summary.files_written,
        "errorsFile": summary.errors_file,
    })
}
