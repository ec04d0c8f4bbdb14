//! The engine in process, from one OCI layout into another (no registry): each blob copied once per run however many
//! images share it, a source blob whose bytes do not match its digest refused without a trace at the destination,
//! and a run cancelled mid-way leaving only whole, verified content.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;

use super::{Destination, Engine, EngineError, EngineOptions};
use crate::auth::CredentialStore;
use crate::events::SilentReporter;
use crate::image::manifest::RawManifest;
use crate::image::{Digest, PlatformFilter};
use crate::plan::{ImageDestination, ImageOrigin, ImageSource, MirrorJob, MirrorPlan};
use crate::registries_conf::RegistriesConf;
use crate::registry::{ClientOptions, RetryPolicy};
use crate::source::Sources;
use crate::store::LayoutWriter;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// An image in `layout` named `name`: one config and the given layers (each a distinct blob).
async fn image(layout: &LayoutWriter, name: &str, layers: &[&[u8]]) -> RawManifest {
    let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}});
    let config = Bytes::from(serde_json::to_vec(&config).unwrap());
    let config_digest = Digest::of_bytes(&config);
    layout.write_bytes(&config_digest, config.clone()).await.unwrap();
    let mut descriptors = Vec::new();
    for layer in layers {
        let digest = Digest::of_bytes(layer);
        layout
            .write_bytes(&digest, Bytes::copy_from_slice(layer))
            .await
            .unwrap();
        descriptors.push(json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": digest.to_string(),
            "size": layer.len(),
        }));
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.len()},
        "layers": descriptors,
    });
    let manifest = RawManifest::new(Bytes::from(serde_json::to_vec(&manifest).unwrap()), Some(OCI_MANIFEST)).unwrap();
    layout.tag(name, &manifest).unwrap();
    manifest
}

fn job(source: &Path, name: &str, repository: &str, tag: &str) -> MirrorJob {
    MirrorJob {
        source: ImageSource::Layout {
            path: source.to_path_buf(),
            reference: Some(name.to_string()),
        },
        destination: ImageDestination {
            registry: String::new(),
            repository: repository.to_string(),
            tag: tag.to_string(),
        },
        platforms: PlatformFilter::all(),
        origin: ImageOrigin::Additional,
    }
}

fn engine(destination: &Path) -> Engine {
    let sources = Sources::new(
        Arc::new(CredentialStore::empty()),
        ClientOptions::default(),
        RegistriesConf::empty(),
    )
    .unwrap();
    let layout = Arc::new(LayoutWriter::open_or_create(destination).unwrap());
    Engine::new(
        sources,
        Destination::Layout(layout),
        EngineOptions {
            // A corrupt source is retried (it may be a cut download): quickly, in a test.
            retry: RetryPolicy {
                times: 2,
                delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
            },
            ..EngineOptions::default()
        },
        Arc::new(SilentReporter),
    )
}

/// Every blob file of a layout, with whether its bytes match its name.
fn blobs(layout: &Path) -> Vec<(String, bool)> {
    let dir = layout.join("blobs/sha256");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(entry.path()).unwrap();
            let whole = Digest::of_bytes(&bytes).hex() == name;
            (name, whole)
        })
        .collect()
}

#[test]
fn a_blob_shared_by_several_images_is_copied_once() {
    let dir = tempfile::tempdir().unwrap();
    let (source, destination) = (dir.path().join("source"), dir.path().join("destination"));
    let rt = runtime();
    rt.block_on(async {
        let layout = LayoutWriter::open_or_create(&source).unwrap();
        image(&layout, "a", &[b"shared base layer", b"layer of a"]).await;
        image(&layout, "b", &[b"shared base layer", b"layer of b"]).await;
    });
    let plan = MirrorPlan {
        jobs: vec![
            job(&source, "a", "apps/a", "1"),
            job(&source, "b", "apps/b", "1"),
            job(&source, "a", "apps/a-again", "1"),
        ],
    };
    let engine = engine(&destination);
    let results = rt.block_on(engine.run(&plan));
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    // One config (identical for both images), the shared layer, and one layer each.
    let totals = engine.totals();
    assert_eq!(totals.blobs_copied.load(std::sync::atomic::Ordering::Relaxed), 4);
    let written = blobs(&destination);
    assert!(written.iter().all(|(_, whole)| *whole), "{written:?}");
    let tagged = LayoutWriter::open_or_create(&destination).unwrap();
    for name in ["apps/a:1", "apps/b:1", "apps/a-again:1"] {
        assert!(
            tagged.tagged(name).unwrap().is_some(),
            "{name} is not in the destination's index"
        );
    }
}

#[test]
fn a_source_blob_that_does_not_match_its_digest_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (source, destination) = (dir.path().join("source"), dir.path().join("destination"));
    let rt = runtime();
    let layer: &[u8] = b"the layer as it should be";
    rt.block_on(async {
        let layout = LayoutWriter::open_or_create(&source).unwrap();
        image(&layout, "a", &[layer]).await;
    });
    // The source's copy of the layer is altered (same length, one byte changed).
    let digest = Digest::of_bytes(layer);
    let path = source.join("blobs/sha256").join(digest.hex());
    let mut altered = layer.to_vec();
    altered[0] ^= 0x20;
    std::fs::write(&path, &altered).unwrap();

    let engine = engine(&destination);
    let results = rt.block_on(engine.run(&MirrorPlan {
        jobs: vec![job(&source, "a", "apps/a", "1")],
    }));
    let error = results.into_iter().next().unwrap().unwrap_err();
    assert!(
        matches!(&error, EngineError::SourceCorrupt { .. }) || error.to_string().contains(digest.as_str()),
        "{error}"
    );
    assert!(
        !blobs(&destination).iter().any(|(name, _)| name == digest.hex()),
        "the corrupt layer reached the destination"
    );
    let tagged = LayoutWriter::open_or_create(&destination).unwrap();
    assert!(
        tagged.tagged("apps/a:1").unwrap().is_none(),
        "a tag names incomplete content"
    );
}

#[test]
fn a_run_dropped_mid_way_leaves_only_whole_verified_content() {
    let dir = tempfile::tempdir().unwrap();
    let (source, destination) = (dir.path().join("source"), dir.path().join("destination"));
    let rt = runtime();
    let big: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 512 << 10]).collect();
    rt.block_on(async {
        let layout = LayoutWriter::open_or_create(&source).unwrap();
        for (i, layer) in big.iter().enumerate() {
            image(&layout, &format!("img{i}"), &[layer]).await;
        }
    });
    let plan = MirrorPlan {
        jobs: (0..big.len())
            .map(|i| job(&source, &format!("img{i}"), &format!("apps/img{i}"), "1"))
            .collect(),
    };
    let engine = engine(&destination);
    // Cancelled as soon as the first image is done (or after a short while): the rest is dropped in flight.
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_millis(15), engine.run(&plan)).await;
    });
    drop(engine);
    for (name, whole) in blobs(&destination) {
        assert!(whole, "blob {name} at the destination is not whole");
    }
    let tagged = LayoutWriter::open_or_create(&destination).unwrap();
    for i in 0..big.len() {
        if let Some(digest) = tagged.tagged(&format!("apps/img{i}:1")).unwrap() {
            let manifest = std::fs::read(destination.join("blobs/sha256").join(digest.hex())).unwrap();
            let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
            for layer in manifest["layers"].as_array().unwrap() {
                let hex = layer["digest"].as_str().unwrap().trim_start_matches("sha256:");
                assert!(
                    destination.join("blobs/sha256").join(hex).exists(),
                    "img{i} is tagged without its layer"
                );
            }
        }
    }
}
