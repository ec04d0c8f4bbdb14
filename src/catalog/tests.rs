//! Golden tests of loading, filtering, rendering and image collection against real catalogs in
//! `../shared/testdata/fbc/` (see its README). Expected packages, channels and bundles are written here from reading
//! the catalogs, not from running ferry; where an upstream project ships expected outputs (operator-registry's
//! `index-declcfgs/exp-*`), the test says which semantics they encode.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde_json::Value;

use super::*;
use crate::catalog::model::{Channel, PackageRequirement, PROPERTY_BUNDLE_OBJECT, PROPERTY_CSV_METADATA};
use crate::config::{Operator, Package as PackageFilter, PackageChannel, SelectedBundle};

const FBC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata/fbc");

fn fbc(relative: &str) -> PathBuf {
    Path::new(FBC).join(relative)
}

fn load(relative: &str) -> DeclarativeConfig {
    DeclarativeConfig::load_dir(&fbc(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// One file, loaded as if it were `<package>/catalog.json` of a catalog.
fn load_file(relative: &str) -> DeclarativeConfig {
    let bytes = std::fs::read(fbc(relative)).unwrap();
    DeclarativeConfig::from_files(vec![(PathBuf::from("pkg/catalog.json"), bytes)]).unwrap()
}

/// `package/channel: [entries]` of every channel, entries sorted by name.
fn channels(config: &DeclarativeConfig) -> BTreeMap<String, Vec<String>> {
    config
        .channels()
        .iter()
        .map(|c| {
            let mut entries: Vec<String> = c.entries().iter().map(|e| e.name().to_string()).collect();
            entries.sort();
            (format!("{}/{}", c.package(), c.name()), entries)
        })
        .collect()
}

fn bundles(config: &DeclarativeConfig) -> Vec<String> {
    let mut names: Vec<String> = config.bundles().iter().map(|b| b.name().to_string()).collect();
    names.sort();
    names
}

fn expect_channels(config: &DeclarativeConfig, expected: &[(&str, &[&str])]) {
    let expected: BTreeMap<String, Vec<String>> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(channels(config), expected);
    let mut wanted: Vec<String> = expected.values().flatten().cloned().collect();
    wanted.sort();
    wanted.dedup();
    assert_eq!(bundles(config), wanted, "bundles are exactly the channel entries");
}

fn catalog(full: bool, skip_dependencies: bool, packages: Vec<PackageFilter>) -> Operator {
    Operator {
        catalog: "quay.io/oc-mirror/oc-mirror-dev:test-catalog-latest".into(),
        full,
        skip_dependencies,
        packages,
        ..Default::default()
    }
}

fn package(name: &str) -> PackageFilter {
    PackageFilter {
        name: name.into(),
        ..Default::default()
    }
}

fn channel(name: &str, min: Option<&str>, max: Option<&str>) -> PackageChannel {
    PackageChannel {
        name: name.into(),
        min_version: min.map(Into::into),
        max_version: max.map(Into::into),
        ..Default::default()
    }
}

const LATEST: &str = "small/oc-mirror-test-catalogs/test-catalog-latest";

// ---- loading ------------------------------------------------------------------------------------------------------

#[test]
fn a_package_split_over_several_files_loads_as_one() {
    // foo, bar and baz each have operator.yaml, channels.yaml and bundles.yaml.
    let config = load(LATEST);
    assert_eq!(config.package_names(), ["bar", "baz", "foo"]);
    expect_channels(
        &config,
        &[
            ("bar/alpha", &["bar.v0.1.0", "bar.v0.2.0", "bar.v1.0.0"]),
            ("bar/stable", &["bar.v1.0.0"]),
            ("baz/stable", &["baz.v1.0.0", "baz.v1.0.1", "baz.v1.1.0"]),
            ("foo/beta", &["foo.v0.1.0", "foo.v0.2.0", "foo.v0.3.0", "foo.v0.3.1"]),
        ],
    );
    let foo = config.bundle("foo", "foo.v0.3.1").unwrap();
    assert_eq!(foo.source(), "foo/bundles.yaml");
    assert_eq!(foo.version_text(), Some("0.3.1"));
    assert_eq!(foo.image(), "quay.io/oc-mirror/oc-mirror-dev:foo-bundle-v0.3.1");
    assert_eq!(
        foo.required_packages(),
        vec![PackageRequirement {
            package: "bar".into(),
            version_range: "<0.2.0".into()
        }]
    );
    let entry = config.channel("foo", "beta").unwrap().entry("foo.v0.3.1").unwrap();
    assert_eq!(entry.replaces(), Some("foo.v0.2.0"));
    assert_eq!(entry.skips(), ["foo.v0.3.0"]);
    assert_eq!(entry.skip_range(), Some("<0.3.1"));
}

#[test]
fn a_malformed_catalog_is_an_error_naming_file_and_position() {
    // A real opm-rendered catalog cut in the middle of a bundle.
    let bytes = std::fs::read(fbc("redhat-operator-index/node-observability-operator/catalog.json")).unwrap();
    let cut = bytes[..40_000].to_vec();
    let err = DeclarativeConfig::from_files(vec![(PathBuf::from("node-observability-operator/catalog.json"), cut)])
        .unwrap_err();
    assert!(matches!(err, CatalogError::Syntax { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("`node-observability-operator/catalog.json` line ") && text.contains("invalid JSON"),
        "{text}"
    );

    // Not JSON at all in a directory: load_dir names the file relative to the catalog root.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("foo")).unwrap();
    std::fs::write(
        dir.path().join("foo/catalog.json"),
        "{\"schema\": \"olm.package\", \"name\": \"foo\"}\n{\"schema\": \"olm.channel\", \"package\": \"foo\",\n  \"name\": stable}\n",
    )
    .unwrap();
    let err = DeclarativeConfig::load_dir(dir.path()).unwrap_err().to_string();
    assert_eq!(
        err,
        "`foo/catalog.json` line 3, column 11: invalid JSON: expected value"
    );
}

#[test]
fn templates_are_kept_as_unknown_blobs_and_indexignore_hides_them() {
    // The descheduler's v4.20 directory holds the catalog and the template it was rendered from.
    let config = load("redhat-operator-index/cluster-kube-descheduler-operator/v4.20");
    assert_eq!(config.others().len(), 1);
    assert_eq!(config.others()[0].schema(), "olm.template.basic");
    assert_eq!(config.others()[0].package(), None);

    let files = vec![
        (
            PathBuf::from("catalog.json"),
            std::fs::read(fbc(
                "redhat-operator-index/cluster-kube-descheduler-operator/v4.20/catalog.json",
            ))
            .unwrap(),
        ),
        (
            PathBuf::from("catalog-template.yaml"),
            std::fs::read(fbc(
                "redhat-operator-index/cluster-kube-descheduler-operator/v4.20/catalog-template.yaml",
            ))
            .unwrap(),
        ),
        (PathBuf::from(".indexignore"), b"*-template.yaml\n".to_vec()),
    ];
    let config = DeclarativeConfig::from_files(files).unwrap();
    assert!(config.others().is_empty());
    assert_eq!(config.bundles().len(), 14);
}

// ---- rendering ----------------------------------------------------------------------------------------------------

#[test]
fn rendering_an_opm_rendered_catalog_reproduces_it_byte_for_byte() {
    // These files were written by `opm render` (WriteJSON); ferry's rendering of them must be identical.
    for relative in [
        "redhat-operator-index/cluster-kube-descheduler-operator/v4.16/catalog.json",
        "redhat-operator-index/cluster-kube-descheduler-operator/v4.20/catalog.json",
        "redhat-operator-index/jaeger-product/catalog.json",
        "redhat-operator-index/aws-load-balancer-operator/catalog.json",
        "redhat-operator-index/v4.14-node-observability-operator/catalog.json",
        "small/operator-registry-declcfgs/test-configs/prometheus/prometheus.json",
    ] {
        let original = std::fs::read(fbc(relative)).unwrap();
        let config = load_file(relative);
        let files = config.render_files();
        assert_eq!(files.len(), 1, "{relative}");
        assert!(
            files[0].1 == original,
            "{relative}: rendering differs from the original"
        );
    }
}

#[test]
fn unknown_blobs_round_trip_through_render() {
    let config = load("small/oc-mirror-test-catalogs/test-catalog-extra-blobs");
    let mut lifecycles: Vec<(Option<&str>, &str)> = config.others().iter().map(|o| (o.package(), o.schema())).collect();
    lifecycles.sort();
    assert_eq!(
        lifecycles,
        [
            (None, "io.openshift.operators.lifecycles.v1alpha1"),
            (Some("bar"), "io.openshift.operators.lifecycles.v1alpha1")
        ]
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("configs");
    config.render_dir(&out).unwrap();
    let mut written: Vec<String> = walk(&out);
    written.sort();
    assert_eq!(
        written,
        [
            "bar/catalog.json",
            "baz/catalog.json",
            "catalog.json",
            "foo/catalog.json"
        ]
    );
    let global: Value = serde_json::from_slice(&std::fs::read(out.join("catalog.json")).unwrap()).unwrap();
    assert_eq!(global["versions"][1]["name"], "4.17");

    let again = DeclarativeConfig::load_dir(&out).unwrap();
    assert_eq!(again.others().len(), 2);
    for blob in config.others() {
        let twin = again
            .others()
            .iter()
            .find(|o| o.package() == blob.package())
            .expect("blob survives rendering");
        assert_eq!(twin.raw(), blob.raw());
    }
    assert_eq!(channels(&again), channels(&config));
    assert_eq!(bundles(&again), bundles(&config));
    // Identical input renders identically, and rendering refuses to mix with older files.
    assert_eq!(again.render_files(), config.render_files());
    assert!(matches!(config.render_dir(&out), Err(CatalogError::Render { .. })));

    // Filtering keeps catalog-wide blobs and the blobs of kept packages only.
    let outcome = filter(&config, &catalog(false, true, vec![package("foo")])).unwrap();
    assert_eq!(outcome.config.others().len(), 1);
    assert_eq!(outcome.config.others()[0].package(), None);
    let outcome = filter(&config, &catalog(false, true, vec![package("bar")])).unwrap();
    assert_eq!(outcome.config.others().len(), 2);
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            let name = entry.file_name().to_string_lossy().to_string();
            out.extend(walk(&entry.path()).into_iter().map(|p| format!("{name}/{p}")));
        } else {
            out.push(entry.file_name().to_string_lossy().to_string());
        }
    }
    out
}

// ---- filtering: the modes of oc-mirror v2 on test-catalog-latest --------------------------------------------------

#[test]
fn no_packages_and_full_mirrors_the_whole_catalog() {
    let config = load(LATEST);
    let outcome = filter(&config, &catalog(true, false, vec![])).unwrap();
    assert_eq!(outcome.config, config);
    assert!(outcome.warnings.is_empty() && outcome.added_dependencies.is_empty());
}

#[test]
fn no_packages_keeps_the_head_of_every_channel() {
    let config = load(LATEST);
    let outcome = filter(&config, &catalog(false, true, vec![])).unwrap();
    expect_channels(
        &outcome.config,
        &[
            ("bar/alpha", &["bar.v1.0.0"]),
            ("bar/stable", &["bar.v1.0.0"]),
            ("baz/stable", &["baz.v1.1.0"]),
            ("foo/beta", &["foo.v0.3.1"]),
        ],
    );
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
}

#[test]
fn heads_with_dependencies_add_what_the_heads_require() {
    // foo.v0.3.1 requires bar <0.2.0: only bar.v0.1.0 qualifies. It is in bar's alpha channel, whose head
    // bar.v1.0.0 is kept, so the replaces chain v1.0.0 > v0.2.0 > v0.1.0 is kept to keep one head.
    let config = load(LATEST);
    let outcome = filter(&config, &catalog(false, false, vec![])).unwrap();
    expect_channels(
        &outcome.config,
        &[
            ("bar/alpha", &["bar.v0.1.0", "bar.v0.2.0", "bar.v1.0.0"]),
            ("bar/stable", &["bar.v1.0.0"]),
            ("baz/stable", &["baz.v1.1.0"]),
            ("foo/beta", &["foo.v0.3.1"]),
        ],
    );
    let added: Vec<(&str, &str)> = outcome
        .added_dependencies
        .iter()
        .map(|a| (a.package.as_str(), a.bundle.as_str()))
        .collect();
    assert_eq!(added, [("bar", "bar.v0.1.0"), ("bar", "bar.v0.2.0")]);
    assert!(
        outcome.added_dependencies[0]
            .reason
            .contains("required by `foo.v0.3.1` (foo): olm.package.required"),
        "{}",
        outcome.added_dependencies[0].reason
    );
    assert!(outcome.added_dependencies[1].reason.contains("connects `bar.v0.1.0`"));
}

#[test]
fn operator_registry_expected_outputs_latest_and_headsonly() {
    // operator-registry's `opm alpha diff` fixtures: `exp-latest` is the head of every channel with no
    // dependency (oc-mirror's "no packages" mode with skipDependencies); `exp-headsonly` adds the dependencies of
    // the heads (foo.v0.3.1 requires bar <0.2.0 and API test.bar/v1alpha1 Bar), which is ferry's default. The
    // `exp-include-*` outputs keep heads of every package plus all of one package, a mode the ImageSetConfiguration
    // cannot express, so they are not used.
    let latest = load("small/operator-registry-declcfgs/index-declcfgs/latest");
    for (expected, skip_dependencies) in [("exp-latest", true), ("exp-headsonly", false)] {
        let expected = load(&format!("small/operator-registry-declcfgs/index-declcfgs/{expected}"));
        let outcome = filter(&latest, &catalog(false, skip_dependencies, vec![])).unwrap();
        let got = &outcome.config;
        assert_eq!(got.package_names(), expected.package_names());
        assert_eq!(channels(got), channels(&expected));
        assert_eq!(bundles(got), bundles(&expected));
        for channel in expected.channels() {
            let mine = got.channel(channel.package(), channel.name()).unwrap();
            let raw = |c: &Channel| {
                let mut entries: Vec<Value> = c.entries().iter().map(|e| e.raw().clone()).collect();
                entries.sort_by_key(|e| e["name"].as_str().unwrap().to_string());
                entries
            };
            assert_eq!(
                raw(mine),
                raw(channel),
                "entries of {} are kept verbatim",
                channel.name()
            );
        }
        for bundle in expected.bundles() {
            assert_eq!(got.bundle(bundle.package(), bundle.name()).unwrap().raw(), bundle.raw());
        }
    }
}

#[test]
fn listed_package_keeps_the_head_of_each_of_its_channels() {
    let config = load(LATEST);
    let outcome = filter(&config, &catalog(false, true, vec![package("bar")])).unwrap();
    expect_channels(
        &outcome.config,
        &[("bar/alpha", &["bar.v1.0.0"]), ("bar/stable", &["bar.v1.0.0"])],
    );
    assert_eq!(outcome.config.package_names(), ["bar"]);
}

#[test]
fn a_dependency_from_another_package_brings_that_package_with_a_valid_default_channel() {
    // foo alone: its head requires bar <0.2.0, found only in bar's alpha channel; bar's default channel stable
    // gets its head so that the added package is valid.
    let config = load(LATEST);
    let outcome = filter(&config, &catalog(false, false, vec![package("foo")])).unwrap();
    expect_channels(
        &outcome.config,
        &[
            ("bar/alpha", &["bar.v0.1.0"]),
            ("bar/stable", &["bar.v1.0.0"]),
            ("foo/beta", &["foo.v0.3.1"]),
        ],
    );
    assert_eq!(outcome.config.package("bar").unwrap().default_channel(), Some("stable"));
    let added: Vec<&str> = outcome.added_dependencies.iter().map(|a| a.bundle.as_str()).collect();
    assert_eq!(added, ["bar.v0.1.0", "bar.v1.0.0"]);
    assert!(outcome.added_dependencies[1].reason.contains("default channel"));
    // Turned off per catalog.
    let outcome = filter(&config, &catalog(false, true, vec![package("foo")])).unwrap();
    expect_channels(&outcome.config, &[("foo/beta", &["foo.v0.3.1"])]);
    assert!(outcome.added_dependencies.is_empty());
}

#[test]
fn listed_channels_with_a_version_range() {
    // oc-mirror's integration test isc-operator-version-range.yaml expects exactly these three bundles.
    let config = load(LATEST);
    let mut foo = package("foo");
    foo.default_channel = Some("beta".into());
    foo.channels = vec![channel("beta", Some("0.2.0"), Some("0.3.1"))];
    let outcome = filter(&config, &catalog(false, true, vec![foo])).unwrap();
    expect_channels(
        &outcome.config,
        &[("foo/beta", &["foo.v0.2.0", "foo.v0.3.0", "foo.v0.3.1"])],
    );
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
}

#[test]
fn min_equal_to_max_selects_exactly_one_bundle() {
    // isc-operator-pinned-version.yaml and isc-operator-incremental-initial.yaml.
    let config = load(LATEST);
    for (version, expected) in [("0.3.1", "foo.v0.3.1"), ("0.2.0", "foo.v0.2.0"), ("v0.2", "foo.v0.2.0")] {
        let mut foo = package("foo");
        foo.channels = vec![channel("beta", Some(version), Some(version))];
        let outcome = filter(&config, &catalog(false, true, vec![foo])).unwrap();
        expect_channels(&outcome.config, &[("foo/beta", &[expected])]);
    }
}

#[test]
fn package_level_min_or_max_applies_to_every_channel() {
    let config = load(LATEST);
    let mut foo = package("foo");
    foo.min_version = Some("0.3.0".into());
    let outcome = filter(&config, &catalog(false, true, vec![foo])).unwrap();
    expect_channels(&outcome.config, &[("foo/beta", &["foo.v0.3.0", "foo.v0.3.1"])]);

    // maxVersion 0.2.0: v0.2.0 becomes the head, v0.3.x are left out.
    let mut foo = package("foo");
    foo.max_version = Some("0.2.0".into());
    let outcome = filter(&config, &catalog(false, true, vec![foo])).unwrap();
    expect_channels(&outcome.config, &[("foo/beta", &["foo.v0.1.0", "foo.v0.2.0"])]);
}

#[test]
fn a_range_keeps_the_bundles_needed_for_a_single_head_with_a_warning() {
    // 0.2.5..0.3.0 holds only foo.v0.3.0, which the head foo.v0.3.1 skips: keeping v0.3.0 alone would make it a
    // second head next to nothing, so the head is kept too, outside the range.
    let config = load(LATEST);
    let mut foo = package("foo");
    foo.channels = vec![channel("beta", Some("0.2.5"), Some("0.3.0"))];
    let outcome = filter(&config, &catalog(false, true, vec![foo])).unwrap();
    expect_channels(&outcome.config, &[("foo/beta", &["foo.v0.3.0", "foo.v0.3.1"])]);
    assert_eq!(outcome.warnings.len(), 1, "{:?}", outcome.warnings);
    assert!(
        outcome.warnings[0].contains("keeping bundle `foo.v0.3.1` (version 0.3.1) outside the version range"),
        "{}",
        outcome.warnings[0]
    );
}

#[test]
fn a_range_on_a_real_channel_keeps_the_chain_to_the_head() {
    // cluster-kube-descheduler-operator v4.20, stable: v5.3.2 replaces v5.2.0, which replaces v5.1.0; v5.3.2
    // skips v5.1.1..v5.1.4 (and most older bundles). 5.1.0..5.1.4 therefore keeps v5.3.2 and v5.2.0 outside the
    // range. The 4.13 channel has nothing in range and is left out (it is not the default channel).
    let config = load_file("redhat-operator-index/cluster-kube-descheduler-operator/v4.20/catalog.json");
    let mut descheduler = package("cluster-kube-descheduler-operator");
    descheduler.min_version = Some("5.1.0".into());
    descheduler.max_version = Some("5.1.4".into());
    let mut operator = catalog(false, true, vec![descheduler]);
    operator.catalog = "registry.redhat.io/redhat/redhat-operator-index:v4.20".into();
    let outcome = filter(&config, &operator).unwrap();
    let p = "clusterkubedescheduleroperator";
    let expected: Vec<String> = ["v5.1.0", "v5.1.1", "v5.1.2", "v5.1.3", "v5.1.4", "v5.2.0", "v5.3.2"]
        .iter()
        .map(|v| format!("{p}.{v}"))
        .collect();
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    expect_channels(
        &outcome.config,
        &[("cluster-kube-descheduler-operator/stable", &expected)],
    );
    let outside: Vec<&String> = outcome
        .warnings
        .iter()
        .filter(|w| w.contains("outside the version range"))
        .collect();
    assert_eq!(outside.len(), 2, "{:?}", outcome.warnings);
    assert!(outside[0].contains(&format!("`{p}.v5.3.2`")) && outside[1].contains(&format!("`{p}.v5.2.0`")));
    assert!(outcome
        .warnings
        .iter()
        .any(|w| w.contains("channel `4.13`") && w.contains("left out")));
    for channel in outcome.config.channels() {
        channel.validate().unwrap();
    }
}

#[test]
fn pre_releases_are_ordered_by_semver_precedence() {
    // jaeger-product: 1.30.2, 1.34.1-5, 1.42.0-5, 1.42.0-5+0.1687199951.p, 1.47.1-5, 1.51.0-1.
    let config = load_file("redhat-operator-index/jaeger-product/catalog.json");
    let run = |min: &str, max: Option<&str>| {
        let mut jaeger = package("jaeger-product");
        jaeger.min_version = Some(min.into());
        jaeger.max_version = max.map(Into::into);
        filter(&config, &catalog(false, true, vec![jaeger])).unwrap()
    };
    // 1.42.0-5 < 1.42.0 by precedence: minVersion 1.42.0 starts at 1.47.1-5.
    expect_channels(
        &run("1.42.0", None).config,
        &[(
            "jaeger-product/stable",
            &["jaeger-operator.v1.47.1-5", "jaeger-operator.v1.51.0-1"],
        )],
    );
    // minVersion 1.42.0-5 includes both 1.42.0-5 builds (the +build one is equal by precedence).
    expect_channels(
        &run("1.42.0-5", None).config,
        &[(
            "jaeger-product/stable",
            &[
                "jaeger-operator.v1.42.0-5",
                "jaeger-operator.v1.42.0-5-0.1687199951.p",
                "jaeger-operator.v1.47.1-5",
                "jaeger-operator.v1.51.0-1",
            ],
        )],
    );
    // min == max == 1.42.0-5: two bundles match by precedence, the exact one is kept, with a warning.
    let outcome = run("1.42.0-5", Some("1.42.0-5"));
    expect_channels(
        &outcome.config,
        &[("jaeger-product/stable", &["jaeger-operator.v1.42.0-5"])],
    );
    assert_eq!(outcome.warnings.len(), 1, "{:?}", outcome.warnings);
}

#[test]
fn full_with_listed_packages_and_channels() {
    let config = load(LATEST);
    let outcome = filter(&config, &catalog(true, true, vec![package("baz")])).unwrap();
    expect_channels(
        &outcome.config,
        &[("baz/stable", &["baz.v1.0.0", "baz.v1.0.1", "baz.v1.1.0"])],
    );

    let mut bar = package("bar");
    bar.default_channel = Some("alpha".into());
    bar.channels = vec![channel("alpha", None, None)];
    let outcome = filter(&config, &catalog(true, true, vec![bar])).unwrap();
    expect_channels(
        &outcome.config,
        &[("bar/alpha", &["bar.v0.1.0", "bar.v0.2.0", "bar.v1.0.0"])],
    );
    let rendered = outcome.config.render_files();
    let text = String::from_utf8(rendered[0].1.clone()).unwrap();
    assert!(
        text.starts_with("{\n    \"defaultChannel\": \"alpha\",\n    \"name\": \"bar\","),
        "{text}"
    );
}

#[test]
fn the_default_channel_must_survive_the_filter() {
    let config = load(LATEST);
    // bar's default channel is stable; selecting alpha alone needs an override.
    let mut bar = package("bar");
    bar.channels = vec![channel("alpha", None, None)];
    let err = filter(&config, &catalog(false, true, vec![bar.clone()])).unwrap_err();
    assert!(matches!(err, CatalogError::DefaultChannel { .. }));
    assert_eq!(
        err.to_string(),
        "package `bar` of catalog `quay.io/oc-mirror/oc-mirror-dev:test-catalog-latest`: the default channel \
         `stable` is filtered out (the filtered package has `alpha`): add `stable` under `channels`, or set \
         `defaultChannel` to one of the selected channels"
    );
    bar.default_channel = Some("alpha".into());
    let outcome = filter(&config, &catalog(false, true, vec![bar.clone()])).unwrap();
    assert_eq!(outcome.config.package("bar").unwrap().default_channel(), Some("alpha"));
    expect_channels(&outcome.config, &[("bar/alpha", &["bar.v1.0.0"])]);

    bar.default_channel = Some("stable-v2".into());
    let err = filter(&config, &catalog(false, true, vec![bar]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("defaultChannel `stable-v2` is not among the mirrored channels"),
        "{err}"
    );

    // A range that empties the default channel.
    let mut foo = package("foo");
    foo.channels = vec![channel("beta", Some("0.4.0"), None)];
    let err = filter(&config, &catalog(false, true, vec![foo]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the default channel `beta` would be empty: its minVersion 0.4.0 matches no bundle of it"),
        "{err}"
    );
}

#[test]
fn unknown_names_are_errors_with_close_matches() {
    let config = load(LATEST);
    let err = filter(&config, &catalog(false, true, vec![package("fooo")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "package `fooo` is not in catalog `quay.io/oc-mirror/oc-mirror-dev:test-catalog-latest`: did you mean `foo`?"
    );
    let err = filter(&config, &catalog(false, true, vec![package("prometheus")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("it has 3 of them, none with a similar name"), "{err}");

    let mut foo = package("foo");
    foo.channels = vec![channel("stable", None, None)];
    let err = filter(&config, &catalog(false, true, vec![foo]))
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("the package has only `beta`"), "{err}");

    let mut foo = package("foo");
    foo.bundles = vec![SelectedBundle {
        name: "foo.v0.3.2".into(),
    }];
    let err = filter(&config, &catalog(false, true, vec![foo]))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("did you mean `foo.v0.3.0`, `foo.v0.3.1` or `foo.v0.1.0`?"),
        "{err}"
    );
}

#[test]
fn selected_bundles() {
    let config = load(LATEST);
    let select = |names: &[&str]| {
        let mut foo = package("foo");
        foo.bundles = names.iter().map(|n| SelectedBundle { name: n.to_string() }).collect();
        filter(&config, &catalog(false, true, vec![foo]))
    };
    expect_channels(
        &select(&["foo.v0.3.1"]).unwrap().config,
        &[("foo/beta", &["foo.v0.3.1"])],
    );
    // v0.3.0 replaces v0.2.0: a valid channel of two.
    expect_channels(
        &select(&["foo.v0.2.0", "foo.v0.3.0"]).unwrap().config,
        &[("foo/beta", &["foo.v0.2.0", "foo.v0.3.0"])],
    );
    // v0.1.0 and v0.3.0 are not connected without v0.2.0: two heads.
    let err = select(&["foo.v0.1.0", "foo.v0.3.0"]).unwrap_err().to_string();
    assert!(err.contains("multiple channel heads (foo.v0.1.0, foo.v0.3.0)"), "{err}");
}

#[test]
fn contradictory_filters_are_rejected() {
    let config = load(LATEST);
    let mut foo = package("foo");
    foo.min_version = Some("0.2.0".into());
    let err = filter(&config, &catalog(true, true, vec![foo]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`full: true` cannot be mixed with minVersion/maxVersion"),
        "{err}"
    );
    let mut foo = package("foo");
    foo.channels = vec![channel("beta", Some("0.3.1"), Some("0.2.0"))];
    let err = filter(&config, &catalog(false, true, vec![foo]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("minVersion 0.3.1 is greater than maxVersion 0.2.0"),
        "{err}"
    );
}

// ---- deprecations -------------------------------------------------------------------------------------------------

/// Written for ferry's tests from the documented `olm.deprecations` schema
/// (https://olm.operatorframework.io/docs/reference/file-based-catalogs/#olmdeprecations): no real catalog in the
/// test data carries one. It deprecates foo as a whole, its beta channel and two of its bundles, and one bar bundle.
const DEPRECATIONS_FIXTURE: &str = r#"---
schema: olm.deprecations
package: foo
entries:
  - reference:
      schema: olm.package
    message: foo is end of life; use baz.
  - reference:
      schema: olm.channel
      name: beta
    message: the beta channel is no longer maintained.
  - reference:
      schema: olm.bundle
      name: foo.v0.1.0
    message: foo.v0.1.0 has a known vulnerability.
  - reference:
      schema: olm.bundle
      name: foo.v0.3.1
    message: foo.v0.3.1 is deprecated.
---
schema: olm.deprecations
package: bar
entries:
  - reference:
      schema: olm.bundle
      name: bar.v0.1.0
    message: bar.v0.1.0 is deprecated.
"#;

fn latest_with_deprecations() -> DeclarativeConfig {
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for package in ["foo", "bar", "baz"] {
        for file in ["operator.yaml", "channels.yaml", "bundles.yaml"] {
            let relative = format!("{package}/{file}");
            files.push((
                PathBuf::from(&relative),
                std::fs::read(fbc(LATEST).join(&relative)).unwrap(),
            ));
        }
    }
    files.push((
        PathBuf::from("deprecations.yaml"),
        DEPRECATIONS_FIXTURE.as_bytes().to_vec(),
    ));
    DeclarativeConfig::from_files(files).unwrap()
}

#[test]
fn deprecations_of_removed_bundles_and_channels_are_pruned() {
    let config = latest_with_deprecations();
    assert_eq!(config.deprecations().len(), 2);
    let outcome = filter(&config, &catalog(false, true, vec![package("foo"), package("bar")])).unwrap();
    let foo = outcome
        .config
        .deprecations()
        .iter()
        .find(|d| d.package() == "foo")
        .unwrap();
    let kept: Vec<(&str, Option<&str>)> = foo.entries().iter().map(|e| (e.schema(), e.name())).collect();
    assert_eq!(
        kept,
        [
            ("olm.package", None),
            ("olm.channel", Some("beta")),
            ("olm.bundle", Some("foo.v0.3.1"))
        ]
    );
    // bar keeps only bar.v1.0.0: its only deprecation entry is gone, and the blob with it.
    assert!(outcome.config.deprecations().iter().all(|d| d.package() != "bar"));

    // Rendered after the bundles and channels of the package, with the pruned entries.
    let files = outcome.config.render_files();
    let (_, foo_file) = files.iter().find(|(p, _)| p == Path::new("foo/catalog.json")).unwrap();
    let text = String::from_utf8(foo_file.clone()).unwrap();
    assert!(text.contains("\"schema\": \"olm.deprecations\""));
    assert!(!text.contains("foo.v0.1.0 has a known vulnerability"));
    let schemas: Vec<String> = serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map(|v| v.unwrap()["schema"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        schemas,
        ["olm.package", "olm.channel", "olm.bundle", "olm.deprecations"]
    );

    // A whole catalog keeps them all.
    let outcome = filter(&config, &catalog(true, true, vec![])).unwrap();
    assert_eq!(outcome.config.deprecations()[0].entries().len(), 4);
}

// ---- related images -----------------------------------------------------------------------------------------------

#[test]
fn an_invalid_related_image_skips_its_bundle_not_the_catalog() {
    // foo.v0.9.9-invalid-related-image lists `registry.example.com/foo/operand-missing-tag`: no tag, no digest.
    let config = load("small/oc-mirror-test-catalogs/test-catalog-invalid-images");
    let outcome = filter(&config, &catalog(true, false, vec![])).unwrap();
    let images = related_images(&outcome.config, &[]);
    let refs: Vec<String> = images.images.iter().map(|i| i.reference.to_string()).collect();
    assert_eq!(
        refs,
        [
            "quay.io/oc-mirror/oc-mirror-dev:foo-bundle-v0.1.0",
            "quay.io/oc-mirror/oc-mirror-dev@sha256:1ce8c0187c8fe6b4be327dc848b8baf062ce1baa5096b4f5d955893d126d5b58"
        ]
    );
    assert!(images.images[0].is_bundle_image && images.images[0].name.is_empty());
    assert_eq!(images.images[1].name, "operator");
    assert_eq!(images.skipped_bundles.len(), 1);
    let skipped = &images.skipped_bundles[0];
    assert_eq!(skipped.bundle, "foo.v0.9.9-invalid-related-image");
    assert!(
        skipped
            .reason
            .contains("related image `operand` `registry.example.com/foo/operand-missing-tag`")
            && skipped.reason.contains("neither a tag nor a digest"),
        "{}",
        skipped.reason
    );
}

#[test]
fn related_images_are_deduplicated_and_blocked_ones_reported() {
    // jaeger-operator.v1.51.0-1 lists 13 related images, 11 distinct, its bundle image among them.
    let config = load_file("redhat-operator-index/jaeger-product/catalog.json");
    let outcome = filter(&config, &catalog(false, true, vec![package("jaeger-product")])).unwrap();
    assert_eq!(bundles(&outcome.config), ["jaeger-operator.v1.51.0-1"]);
    let images = related_images(&outcome.config, &[]);
    assert_eq!(images.images.len(), 11);
    assert_eq!(images.images.iter().filter(|i| i.is_bundle_image).count(), 1);
    assert!(
        images.images.iter().all(|i| i.reference.digest.is_some()),
        "digest-pinned"
    );

    // The whole package: 60 distinct images over 6 bundles.
    let all = related_images(&config, &[]);
    assert_eq!(all.images.len(), 60);
    assert!(all.skipped_bundles.is_empty() && all.warnings.is_empty());

    // The ose-kube-rbac-proxy image is listed twice under two names: the first name is kept.
    let proxy = images
        .images
        .iter()
        .find(|i| i.reference.repository == "openshift4/ose-kube-rbac-proxy")
        .unwrap();
    assert_eq!(proxy.name, "ose_kube_rbac_proxy");

    let blocked = [Regex::new("jaeger-agent").unwrap()];
    let filtered = related_images(&outcome.config, &blocked);
    assert_eq!(filtered.images.len(), 10);
    assert_eq!(filtered.blocked.len(), 1);
    assert_eq!(
        filtered.blocked[0].image,
        "registry.redhat.io/rhosdt/jaeger-agent-rhel8@sha256:4437924ff09250ff83e94a4afa7bcbd46231e10ab55747023fe9c072d1484c79"
    );
    assert_eq!(filtered.blocked[0].pattern, "jaeger-agent");
}

// ---- list operators data ------------------------------------------------------------------------------------------

#[test]
fn architectures_come_from_csv_labels_in_both_bundle_forms() {
    // v4.16 carries the CSV as base64 JSON in olm.bundle.object, v4.20 as olm.csv.metadata.
    let all = ["amd64", "arm64", "ppc64le", "s390x"];
    let v416 = load_file("redhat-operator-index/cluster-kube-descheduler-operator/v4.16/catalog.json");
    let bundle = v416
        .bundle(
            "cluster-kube-descheduler-operator",
            "clusterkubedescheduleroperator.v5.0.4",
        )
        .unwrap();
    assert!(bundle.properties().any(|p| p.kind == PROPERTY_BUNDLE_OBJECT));
    assert_eq!(bundle.declared_architectures(), all);
    let v420 = load_file("redhat-operator-index/cluster-kube-descheduler-operator/v4.20/catalog.json");
    let bundle = v420
        .bundle(
            "cluster-kube-descheduler-operator",
            "clusterkubedescheduleroperator.v5.3.2",
        )
        .unwrap();
    assert!(bundle.properties().any(|p| p.kind == PROPERTY_CSV_METADATA));
    assert_eq!(bundle.declared_architectures(), all);
    assert!(bundle.declared_operating_systems().is_empty());

    // jaeger added arm64 in 1.51.
    let jaeger = load_file("redhat-operator-index/jaeger-product/catalog.json");
    let archs = |name: &str| jaeger.bundle("jaeger-product", name).unwrap().architectures();
    assert_eq!(archs("jaeger-operator.v1.47.1-5"), ["amd64", "ppc64le", "s390x"]);
    assert_eq!(archs("jaeger-operator.v1.51.0-1"), all);
}

#[test]
fn summaries_for_list_operators() {
    let config = load_file("redhat-operator-index/cluster-kube-descheduler-operator/v4.20/catalog.json");
    let summary = config.summarize();
    assert_eq!(summary.len(), 1);
    let package = &summary[0];
    assert_eq!(package.name, "cluster-kube-descheduler-operator");
    assert_eq!(package.default_channel.as_deref(), Some("stable"));
    let names: Vec<&str> = package.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["4.13", "stable"]);
    let stable = &package.channels[1];
    assert_eq!(stable.head.as_deref(), Some("clusterkubedescheduleroperator.v5.3.2"));
    assert_eq!(stable.head_version.as_deref(), Some("5.3.2"));
    assert_eq!(stable.bundles.len(), 13);
    assert_eq!(stable.bundles[0], "clusterkubedescheduleroperator.v5.3.2");
    assert_eq!(stable.bundles[12], "clusterkubedescheduleroperator.4.14.0-202310201027");
    assert_eq!(package.channels[0].head_version.as_deref(), Some("4.13.0-202309181427"));
}

// ---- 3scale: a real channel set with skipRange --------------------------------------------------------------------

/// The 3scale channels of oc-mirror's test-operator-catalog.json have no bundles; the test gives each entry a
/// bundle whose version is the one in its name (`3scale-operator.v0.8.0-0.1634606167.p` is 0.8.0-0.1634606167.p).
fn threescale() -> DeclarativeConfig {
    let mut config = load_file("redhat-operator-index/test-operator-catalog.json");
    let mut names: Vec<String> = config
        .channels()
        .iter()
        .flat_map(|c| c.entries().iter().map(|e| e.name().to_string()))
        .collect();
    names.sort();
    names.dedup();
    let mut stream = String::new();
    for name in names {
        let version = name.strip_prefix("3scale-operator.v").unwrap();
        stream.push_str(
            &serde_json::json!({
                "schema": "olm.bundle", "package": "3scale-operator", "name": name,
                "image": format!("registry.example.com/3scale/bundle:{version}"),
                "properties": [{"type": "olm.package", "value": {"packageName": "3scale-operator", "version": version}}]
            })
            .to_string(),
        );
    }
    config
        .add_bytes(Path::new("3scale-operator/bundles.json"), stream.as_bytes())
        .unwrap();
    config.check().unwrap();
    config
}

#[test]
fn threescale_heads_and_a_range_across_skip_range_entries() {
    let config = threescale();
    for c in config.channels() {
        c.validate().unwrap();
    }
    let mut p = package("3scale-operator");
    p.channels = vec![
        channel("threescale-2.11", None, None),
        channel("threescale-2.12", None, None),
        channel("threescale-mas", None, None),
    ];
    let outcome = filter(&config, &catalog(false, true, vec![p])).unwrap();
    expect_channels(
        &outcome.config,
        &[
            (
                "3scale-operator/threescale-2.11",
                &["3scale-operator.v0.8.4-0.1655690146.p"],
            ),
            (
                "3scale-operator/threescale-2.12",
                &["3scale-operator.v0.9.1-0.1664967752.p"],
            ),
            ("3scale-operator/threescale-mas", &["3scale-operator.v0.11.0-mas"]),
        ],
    );

    // 0.8.0..0.8.2 in threescale-2.11: 0.8.0, 0.8.1, 0.8.2 are in range; 0.8.0-0.1634606167.p (a pre-release of
    // 0.8.0, so below it) replaces nothing but skips 0.8.0 and is what 0.8.1 replaces: it is kept, with a warning.
    let mut p = package("3scale-operator");
    p.default_channel = Some("threescale-2.11".into());
    p.channels = vec![channel("threescale-2.11", Some("0.8.0"), Some("0.8.2"))];
    let outcome = filter(&config, &catalog(false, true, vec![p])).unwrap();
    expect_channels(
        &outcome.config,
        &[(
            "3scale-operator/threescale-2.11",
            &[
                "3scale-operator.v0.8.0",
                "3scale-operator.v0.8.0-0.1634606167.p",
                "3scale-operator.v0.8.1",
                "3scale-operator.v0.8.2",
            ],
        )],
    );
    assert_eq!(outcome.warnings.len(), 1, "{:?}", outcome.warnings);
    assert!(outcome.warnings[0].contains("`3scale-operator.v0.8.0-0.1634606167.p`"));
    // skipRange is kept verbatim for the cluster to upgrade from versions that were not mirrored.
    let channel = outcome.config.channel("3scale-operator", "threescale-2.11").unwrap();
    assert_eq!(
        channel.entry("3scale-operator.v0.8.0").unwrap().skip_range(),
        Some(">=0.7.0 <0.8.0")
    );
    let text = String::from_utf8(outcome.config.render_files()[0].1.clone()).unwrap();
    assert_eq!(text.matches("\"skipRange\": \">=0.7.0 <0.8.0\"").count(), 2);
    channel.validate().unwrap();
}

// ---- whole catalogs -----------------------------------------------------------------------------------------------

/// Unpacks a `fbc/large/*.tar.gz` (configs/<package>/catalog.yaml) with the system `tar`: flate2 and tar are not
/// dependencies of ferry.
fn unpack_large(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(fbc(&format!("large/{name}.tar.gz")))
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("tar runs");
    assert!(status.success(), "tar -xzf {name}.tar.gz");
    dir
}

#[test]
fn whole_community_catalog_loads_filters_and_lists_its_images() {
    // README of the test data: community v4.20 has 37 packages, 803 bundles, 4,094 related images (2,324 distinct
    // with the bundle images, none unparsable).
    let dir = unpack_large("community-operators-v4.20");
    let config = DeclarativeConfig::load_dir(&dir.path().join("configs")).unwrap();
    assert_eq!(config.packages().len(), 37);
    assert_eq!(config.bundles().len(), 803);
    assert_eq!(
        config.bundles().iter().map(|b| b.related_images().len()).sum::<usize>(),
        4094
    );
    let images = related_images(&config, &[]);
    assert_eq!(images.images.len(), 2324);
    assert!(images.skipped_bundles.is_empty());
    for channel in config.channels() {
        channel
            .validate()
            .unwrap_or_else(|e| panic!("{}/{}: {e}", channel.package(), channel.name()));
    }

    let heads = filter(&config, &catalog(false, true, vec![])).unwrap();
    assert_eq!(heads.config.packages().len(), 37);
    assert_eq!(heads.config.channels().len(), config.channels().len());
    assert!(heads.config.channels().iter().all(|c| c.entries().len() == 1));
    let outcome = filter(&config, &catalog(false, false, vec![])).unwrap();
    for added in &outcome.added_dependencies {
        assert!(
            outcome.config.bundle(&added.package, &added.bundle).is_some(),
            "{added}"
        );
    }
    // Dependencies on APIs of other catalogs (cert-manager) cannot be resolved here: reported, not fatal.
    assert!(
        outcome.warnings.iter().any(|w| w.contains("cert-manager.io/v1")),
        "{:?}",
        outcome.warnings
    );
}
