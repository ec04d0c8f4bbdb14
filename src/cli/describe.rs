//! `ferry describe file://DIR`: what an archive set holds, per run: images, platforms, sizes, segments.

use std::fmt::Write as _;
use std::path::Path;

use super::args::{DescribeArgs, OutputFormat};
use crate::collect::attachments::is_attachment_tag;
use crate::collect::helm::ChartRecord;
use crate::collect::release::PlannedRelease;
use crate::reference::Location;
use crate::report::human_bytes;
use crate::store::archive::{ArchiveMetadata, ArchiveReader};
use crate::workflow::mirror_to_disk::{CHARTS_KEY, RELEASES_KEY};

pub(super) fn run(args: &DescribeArgs) -> i32 {
    let dir = match args.archive.parse::<Location>() {
        Ok(Location::Directory(dir)) => dir,
        Ok(_) => {
            eprintln!("error: describe reads archives: give file://DIR");
            return 1;
        }
        Err(error) => {
            eprintln!("error: {error}");
            return 1;
        }
    };
    let reader = match ArchiveReader::open(&dir) {
        Ok(reader) => reader,
        Err(error) => {
            eprintln!("error: {error}");
            return 1;
        }
    };
    match args.output {
        OutputFormat::Json => match serde_json::to_string_pretty(&describe_json(&reader)) {
            Ok(text) => println!("{text}"),
            Err(error) => {
                eprintln!("error: {error}");
                return 1;
            }
        },
        OutputFormat::Text => print!("{}", describe_text(&dir, &reader)),
    }
    0
}

fn describe_json(reader: &ArchiveReader) -> serde_json::Value {
    let runs: Vec<serde_json::Value> = reader
        .metadata()
        .iter()
        .map(|run| {
            let mut value = serde_json::to_value(run).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.insert("bytes".into(), run_bytes(run).into());
                object.insert("blob_count".into(), run.blobs.len().into());
                object.remove("blobs");
            }
            value
        })
        .collect();
    serde_json::json!({ "runs": runs })
}

/// The releases a run carries (recorded by mirror-to-disk), one line each.
fn write_releases(out: &mut String, run: &ArchiveMetadata) {
    let Some(value) = run.extra.get(RELEASES_KEY) else {
        return;
    };
    let releases: Vec<PlannedRelease> = serde_json::from_value(value.clone()).unwrap_or_default();
    let _ = writeln!(out, "  releases: {}", releases.len());
    for release in releases {
        let _ = writeln!(
            out,
            "    {} ({}) {}: {} components",
            release.version, release.arch, release.payload, release.components
        );
    }
}

/// The helm charts a run carries, with the images each deploys.
fn write_charts(out: &mut String, run: &ArchiveMetadata) {
    let Some(value) = run.extra.get(CHARTS_KEY) else {
        return;
    };
    let charts: Vec<ChartRecord> = serde_json::from_value(value.clone()).unwrap_or_default();
    let _ = writeln!(out, "  charts: {}", charts.len());
    for chart in charts {
        let _ = writeln!(
            out,
            "    {} {} from {} -> {}:{}: {} images",
            chart.name,
            chart.version,
            chart.source,
            chart.destination.repository,
            chart.destination.tag,
            chart.images.len()
        );
    }
}

/// The signatures, attestations, SBOMs and referrer indexes the run carries for `image` (tagged after its digest
/// in its repository).
fn attachments_of(run: &ArchiveMetadata, image: &crate::store::archive::ArchivedImage) -> usize {
    let prefix = image.digest.as_tag();
    run.images
        .iter()
        .filter(|other| other.destination_repository == image.destination_repository)
        .filter(|other| is_attachment_tag(&other.tag) && other.tag.starts_with(&prefix))
        .count()
}

fn run_bytes(run: &ArchiveMetadata) -> u64 {
    run.blobs.values().map(|location| location.size).sum()
}

fn describe_text(dir: &Path, reader: &ArchiveReader) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {} archive run(s)", dir.display(), reader.metadata().len());
    for run in reader.metadata() {
        let _ = writeln!(
            out,
            "\nrun {} (created {}, ferry {})",
            run.run_id, run.created, run.tool_version
        );
        let _ = writeln!(out, "  segments: {}", run.segments.join(", "));
        let _ = writeln!(out, "  blobs: {} ({})", run.blobs.len(), human_bytes(run_bytes(run)));
        if let Some(since) = &run.since {
            let _ = writeln!(out, "  packed with --since {since}");
        }
        if !run.depends_on.is_empty() {
            let mut earlier: Vec<&String> = run.depends_on.values().collect();
            earlier.sort();
            earlier.dedup();
            let names: Vec<String> = earlier
                .iter()
                .map(|id| match run.earlier_runs.get(*id) {
                    Some(segments) => format!("{id} ({})", segments.join(", ")),
                    None => id.to_string(),
                })
                .collect();
            let _ = writeln!(
                out,
                "  relies on {} blobs shipped by: {}",
                run.depends_on.len(),
                names.join("; ")
            );
        }
        write_releases(&mut out, run);
        write_charts(&mut out, run);
        let attachments = run.images.iter().filter(|image| is_attachment_tag(&image.tag)).count();
        if attachments > 0 {
            let _ = writeln!(out, "  signatures, attestations and referrers: {attachments}");
        }
        let _ = writeln!(out, "  images: {}", run.images.len());
        for image in &run.images {
            let platforms = if image.platforms.is_empty() {
                String::new()
            } else {
                format!(" [{}]", image.platforms.join(", "))
            };
            let attached = attachments_of(run, image);
            let attached = if attached > 0 {
                format!(" (+{attached} signatures/referrers)")
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "    {} -> {}:{} {}{platforms}{attached}",
                image.source, image.destination_repository, image.tag, image.digest
            );
        }
    }
    out
}
