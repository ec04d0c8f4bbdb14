//! Compatibility: every real oc-mirror configuration in `../shared/testdata/imagesetconfig` loads, or fails with
//! the message asserted here (each failure was checked against what oc-mirror itself does with the file).

use std::path::{Path, PathBuf};

use super::{load_any, AnyConfig};

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata/imagesetconfig");

/// Files that must fail, with a substring of the expected message. Why failing is right, by group:
const EXPECTED_FAILURES: &[(&str, &str)] = &[
    // Not configurations at all / formats ferry does not read.
    // `DeleteImageList` is the image list `oc-mirror delete --generate` writes, read back by `--delete-yaml-file`.
    (
        "delete/v2alpha1/unit/delete-images-DeleteImageList.yaml",
        "`DeleteImageList` is the list of images",
    ),
    // oc-mirror's first API, replaced by v1alpha2 long ago (`ocp`, `headsOnly`, `startingVersion`, `repos`).
    (
        "v1alpha1/unit/valid.yaml",
        "apiVersion `mirror.openshift.io/v1alpha1` (oc-mirror's first format) is not supported",
    ),
    // A documentation page of six examples separated by `---`; oc-mirror would silently use only the first.
    (
        "v1alpha2/docs/imageset-config-filter-catalog.yaml",
        "the file holds 6 YAML documents",
    ),
    // Really invalid: oc-mirror v2's own failure tests and broken fixtures.
    // An exit-code test: oc-mirror v2 rejects `storageConfig` (unknown field) and exits 1.
    (
        "v2alpha1/integration/exit_codes/isc-generic-error.yaml",
        "`storageConfig` is an oc-mirror v1",
    ),
    // "ImageSetConfig to test that oc-mirror fails when minVersion > maxVersion".
    (
        "v2alpha1/integration/operators/isc-operator-invalid-version-range.yaml",
        "minVersion 0.3.1 is greater than maxVersion 0.2.0",
    ),
    // oc-mirror's validateReleasePlatformFields rejects platform.platforms together with platform.architectures.
    (
        "v2alpha1/integration/sparse_manifest/isc-platforms-and-archs.yaml",
        "cannot be used together",
    ),
    // A release channel from 4.14.1 up to 4.12.2 selects nothing.
    (
        "delete/v2alpha1/unit/delete-isc.yaml",
        "minVersion 4.14.1 is greater than maxVersion 4.12.2",
    ),
    // `mirror:` given twice (YAML forbids duplicate keys; oc-mirror v2's UnmarshalStrict refuses them too).
    (
        "v1alpha2/e2e-tests-extension/config-70105-first.yaml",
        "duplicate entry with key \"mirror\"",
    ),
    (
        "v1alpha2/e2e-tests-extension/config-70105-second.yaml",
        "duplicate entry with key \"mirror\"",
    ),
    (
        "v1alpha2/e2e-tests-extension/config-70105-third.yaml",
        "duplicate entry with key \"mirror\"",
    ),
    // `full: true` plus a package minVersion: oc-mirror v2's catalog filter fails with "Full: true cannot be mixed
    // with versionRange" (oc-mirror v1 allowed it; these are its load-test fixtures, never mirrored by v2).
    ("v1alpha2/unit/valid.yaml", "cannot be mixed with a version range"),
    ("v2alpha1/unit/valid.yaml", "cannot be mixed with a version range"),
    (
        "delete/v1alpha2/unit/valid-delete.yaml",
        "cannot be mixed with a version range",
    ),
    // Templates of oc-mirror v1's e2e scripts: placeholders (METADATA_CATALOGNAMESPACE, CATALOG_DIGEST,
    // OCI_REGISTRY_NAMESPACE) are replaced by `sed` before use; as stored they are not image references.
    (
        "v1alpha2/e2e/imageset-config-filter-max.yaml",
        "`METADATA_CATALOGNAMESPACE:test-catalog-latest` is not an image",
    ),
    (
        "v1alpha2/e2e/imageset-config-filter-multi-prune.yaml",
        "`METADATA_CATALOGNAMESPACE:test-catalog-latest` is not an",
    ),
    (
        "v1alpha2/e2e/imageset-config-filter-multi.yaml",
        "`METADATA_CATALOGNAMESPACE:test-catalog-latest` is not an",
    ),
    (
        "v1alpha2/e2e/imageset-config-filter-range.yaml",
        "`METADATA_CATALOGNAMESPACE:test-catalog-latest` is not an",
    ),
    (
        "v1alpha2/e2e/imageset-config-filter-single.yaml",
        "`METADATA_CATALOGNAMESPACE:test-catalog-latest` is not an",
    ),
    (
        "v1alpha2/e2e/imageset-config-filter.yaml",
        "`METADATA_CATALOGNAMESPACE:test-catalog-latest` is not an image",
    ),
    (
        "v1alpha2/e2e/imageset-config-full.yaml",
        "`METADATA_CATALOGNAMESPACE:test-catalog-latest` is not an image",
    ),
    (
        "v1alpha2/e2e/imageset-config-full-digest.yaml",
        "`METADATA_CATALOGNAMESPACE@CATALOG_DIGEST` is not an image",
    ),
    (
        "v1alpha2/e2e/imageset-config-headsonly-backend-registry.yaml",
        "`METADATA_CATALOGNAMESPACE:test-catalog-latest`",
    ),
    (
        "v1alpha2/e2e/imageset-config-headsonly-newtarget.yaml",
        "`METADATA_CATALOGNAMESPACE:test-catalog-latest` is not",
    ),
    (
        "v1alpha2/e2e/imageset-config-headsonly.yaml",
        "`METADATA_CATALOGNAMESPACE:test-catalog-latest` is not an",
    ),
    (
        "v1alpha2/e2e/imageset-config-oci-copy.yaml",
        "`METADATA_CATALOGNAMESPACE:test-catalog-latest` is not an",
    ),
    (
        "v1alpha2/e2e/imageset-config-skip-deps.yaml",
        "`METADATA_CATALOGNAMESPACE:test-catalog-latest` is not an",
    ),
    (
        "v1alpha2/e2e/imageset-config-oci-mirror-all.yaml",
        "`quay.io/OCI_REGISTRY_NAMESPACE/oc-mirror-dev:bar-v0.1.0` is not",
    ),
    (
        "v1alpha2/e2e/imageset-config-oci-mirror.yaml",
        "is not a valid target catalog path",
    ),
];

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable dir")
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

#[test]
fn every_testdata_configuration_loads_or_fails_as_expected() {
    let root = Path::new(TESTDATA);
    assert!(
        root.is_dir(),
        "{TESTDATA} is missing: the compatibility table needs the shared test data beside the repository"
    );
    let mut files = Vec::new();
    yaml_files(root, &mut files);
    assert!(
        files.len() > 100,
        "expected the ~130 testdata files, found {}",
        files.len()
    );

    let mut failures = Vec::new();
    let mut matched_expectations = 0;
    for file in &files {
        let relative = file.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
        let expected = EXPECTED_FAILURES
            .iter()
            .find(|(path, _)| *path == relative)
            .map(|(_, msg)| *msg);
        match (load_any(file), expected) {
            (Ok(config), None) => {
                let is_delete = matches!(config, AnyConfig::Delete(_));
                if relative.starts_with("delete/") != is_delete {
                    failures.push(format!("{relative}: loaded as the wrong kind ({config:?})"));
                }
            }
            (Ok(_), Some(message)) => failures.push(format!("{relative}: loaded, but should fail with `{message}`")),
            (Err(error), None) => failures.push(format!("{relative}: should load, failed with:\n{error}")),
            (Err(error), Some(message)) => {
                let text = error.to_string();
                if text.contains(message) && text.contains(&*file.to_string_lossy()) {
                    matched_expectations += 1;
                } else {
                    failures.push(format!(
                        "{relative}: failed as expected but without `{message}`:\n{text}"
                    ));
                }
            }
        }
    }
    for (path, _) in EXPECTED_FAILURES {
        assert!(
            files.iter().any(|f| f.ends_with(path)),
            "table names a missing file: {path}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} files misbehave:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
    assert_eq!(matched_expectations, EXPECTED_FAILURES.len());
}

#[test]
fn example_configurations_load_and_validate() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/imagesetconfigs"));
    let mut files = Vec::new();
    yaml_files(dir, &mut files);
    assert!(files.len() >= 3, "examples missing from {}", dir.display());
    for file in files {
        match load_any(&file) {
            Ok(AnyConfig::ImageSet(isc)) => {
                assert!(isc.warnings().is_empty(), "{}: {:?}", file.display(), isc.warnings())
            }
            Ok(AnyConfig::Delete(dsc)) => {
                assert!(dsc.warnings().is_empty(), "{}: {:?}", file.display(), dsc.warnings())
            }
            Err(error) => panic!("{error}"),
        }
    }
}
