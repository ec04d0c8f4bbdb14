//! The end-of-run summary printed for people.

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
