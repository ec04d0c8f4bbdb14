//! `ferry delete`: images mirrored into a real registry (with deletes enabled, and once disabled), a delete plan
//! generated from a DeleteImageSetConfiguration, then executed; what was deleted answers 404 to raw HTTP and what
//! stays is complete (skopeo copies it whole).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::*;

fn write_delete_config(dir: &Path, delete_yaml: &str) -> PathBuf {
    let path = dir.join("delete-isc.yaml");
    let text =
        format!("apiVersion: mirror.openshift.io/v2alpha1\nkind: DeleteImageSetConfiguration\ndelete:\n{delete_yaml}");
    std::fs::write(&path, text).unwrap();
    path
}

/// `ferry delete ARGS docker://DESTINATION` with TLS verification off and 50 ms retry delays.
fn ferry_delete(dir: &TestDir, args: &[&OsStr], destination: &str) -> Output {
    ferry_at(dir.path())
        .arg("delete")
        .args(args)
        .arg(format!("docker://{destination}"))
        .args([
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--retry-delay",
            "50ms",
        ])
        .output()
        .unwrap()
}

fn generate(dir: &TestDir, config: &Path, destination: &str, id: &str) -> Output {
    let workspace = format!("file://{}", dir.join("ws").display());
    let args: [&OsStr; 7] = [
        "-c".as_ref(),
        config.as_os_str(),
        "--generate".as_ref(),
        "--workspace".as_ref(),
        workspace.as_ref(),
        "--delete-id".as_ref(),
        id.as_ref(),
    ];
    ferry_delete(dir, &args, destination)
}

fn execute(dir: &TestDir, list: &Path, destination: &str, extra: &[&str]) -> Output {
    let mut args: Vec<&OsStr> = vec!["--delete-yaml-file".as_ref(), list.as_os_str()];
    args.extend(extra.iter().map(|a| OsStr::new(*a)));
    ferry_delete(dir, &args, destination)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The HTTP status of a manifest at the destination, by tag or digest.
fn manifest_status(registry: &str, repo: &str, reference: &str) -> u16 {
    let accept = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";
    http::request(
        registry,
        "HEAD",
        &format!("/v2/{repo}/manifests/{reference}"),
        &[("Accept", accept)],
        &[],
    )
    .unwrap()
    .status()
}

/// skopeo copies the image whole (every manifest and blob of every platform) out of the registry.
fn assert_whole(dir: &TestDir, reference: &str) {
    let target = dir.join(format!("copy-{}", reference.replace(['/', ':', '@'], "_")));
    let out = skopeo(&[
        "copy",
        "--all",
        "--src-tls-verify=false",
        reference,
        &format!("dir:{}", target.display()),
    ])
    .unwrap_or_else(|e| panic!("{reference} is not whole: {e}"));
    assert!(
        out.status.success(),
        "{reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Three images (one multi-arch) and a fourth pushed under two tags, mirrored to `dst/mirror`.
struct Mirrored {
    multi_arch: MultiArchImage,
}

fn mirror_images(dir: &TestDir, src: &TestRegistry, dst: &TestRegistry) -> Mirrored {
    let multi_arch = multi_arch_image(dir.join("a"), 301, &["linux/amd64", "linux/arm64"], false);
    multi_arch.push(&src.host(), "apps/a:1");
    multi_arch_image(dir.join("b"), 302, &["linux/amd64"], false).push(&src.host(), "apps/b:1");
    multi_arch_image(dir.join("c"), 303, &["linux/amd64"], false).push(&src.host(), "apps/c:1");
    let shared = multi_arch_image(dir.join("x"), 304, &["linux/amd64"], false);
    shared.push(&src.host(), "apps/x:1");
    shared.push(&src.host(), "apps/x:stable");
    let host = src.host();
    let images = [
        format!("{host}/apps/a:1"),
        format!("{host}/apps/b:1"),
        format!("{host}/apps/c:1"),
        format!("{host}/apps/x:1"),
        format!("{host}/apps/x:stable"),
    ];
    let run = mirror_to_registry(dir, &additional_images(&images), &format!("{}/mirror", dst.host()), &[]);
    run.assert_success();
    Mirrored { multi_arch }
}

#[test]
fn a_generated_plan_deletes_what_it_names_and_everything_else_stays_whole() {
    let dir = TestDir::new("delete_plan_execute");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let mirrored = mirror_images(&dir, &src, &dst);
    let config = write_delete_config(
        dir.path(),
        &format!(
            "  additionalImages:\n  - name: {0}/apps/a:1\n  - name: {0}/apps/never:1\n",
            src.host()
        ),
    );
    let destination = format!("{}/mirror", dst.host());
    let planned = generate(&dir, &config, &destination, "one");
    assert_ok(&planned);
    let report = stderr(&planned);
    assert!(
        report.contains("delete plan: 1 images") && report.contains("generic: 1"),
        "{report}"
    );
    assert!(
        report.contains("not at the destination"),
        "content never mirrored is reported: {report}"
    );
    let list_path = dir.join("ws/working-dir/delete/delete-images-one.yaml");
    let list: serde_yaml::Value = serde_yaml::from_slice(&std::fs::read(&list_path).unwrap()).unwrap();
    assert_eq!(list["kind"], "DeleteImageList");
    let item = &list["items"][0];
    assert_eq!(
        item["imageReference"].as_str(),
        Some(format!("docker://{destination}/apps/a:1").as_str())
    );
    assert_eq!(item["digest"].as_str(), Some(mirrored.multi_arch.index.digest.as_str()));
    assert_eq!(item["type"], "generic");
    assert!(dir
        .join("ws/working-dir/delete/delete-imageset-config-one.yaml")
        .exists());
    assert_eq!(
        manifest_status(&dst.host(), "mirror/apps/a", "1"),
        200,
        "generating deletes nothing"
    );

    let dry = execute(&dir, &list_path, &destination, &["--dry-run"]);
    assert_ok(&dry);
    assert!(stderr(&dry).contains("would delete 3 manifests"), "{}", stderr(&dry));
    assert_eq!(
        manifest_status(&dst.host(), "mirror/apps/a", "1"),
        200,
        "a dry run deletes nothing"
    );

    let done = execute(&dir, &list_path, &destination, &[]);
    assert_ok(&done);
    assert!(
        stderr(&done).contains("deleted 3 manifests") && stderr(&done).contains("garbage"),
        "{}",
        stderr(&done)
    );
    assert_eq!(
        manifest_status(&dst.host(), "mirror/apps/a", &mirrored.multi_arch.index.digest),
        404
    );
    for child in &mirrored.multi_arch.manifests {
        assert_eq!(
            manifest_status(&dst.host(), "mirror/apps/a", &child.digest),
            404,
            "the index's children go too"
        );
    }
    for kept in [
        "mirror/apps/b:1",
        "mirror/apps/c:1",
        "mirror/apps/x:1",
        "mirror/apps/x:stable",
    ] {
        assert_whole(&dir, &format!("docker://{}/{kept}", dst.host()));
    }
    assert!(
        dir.join("ws/working-dir/logs/ferry.log").exists(),
        "phase 2 logs in the list's workspace"
    );
}

#[test]
fn a_digest_still_tagged_or_kept_by_a_configuration_stays_and_the_report_says_why() {
    let dir = TestDir::new("delete_shared_digest");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    mirror_images(&dir, &src, &dst);
    let destination = format!("{}/mirror", dst.host());
    let config = write_delete_config(
        dir.path(),
        &format!(
            "  additionalImages:\n  - name: {0}/apps/x:1\n  - name: {0}/apps/b:1\n",
            src.host()
        ),
    );
    assert_ok(&generate(&dir, &config, &destination, "shared"));
    let list = dir.join("ws/working-dir/delete/delete-images-shared.yaml");

    // apps/b is in the plan, and kept by a --keep configuration that mirrors it.
    let keep = dir.join("keep.yaml");
    std::fs::write(
        &keep,
        format!("apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  additionalImages:\n  - name: {}/apps/b:1\n", src.host()),
    )
    .unwrap();
    let done = execute(&dir, &list, &destination, &["--keep", keep.to_str().unwrap()]);
    assert_ok(&done);
    let report = stderr(&done);
    assert!(
        report.contains("still tagged mirror/apps/x:stable"),
        "the shared digest is kept, and why: {report}"
    );
    assert!(
        report.contains("mirrored by --keep"),
        "the kept configuration protects apps/b: {report}"
    );
    assert!(report.contains("deleted 0 manifests"), "{report}");
    assert_whole(&dir, &format!("docker://{destination}/apps/x:stable"));
    assert_whole(&dir, &format!("docker://{destination}/apps/b:1"));
}

#[test]
fn misplaced_sections_foreign_registries_and_refused_deletes_fail_clearly_and_delete_nothing() {
    let dir = TestDir::new("delete_bad_input");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    mirror_images(&dir, &src, &dst);
    let destination = format!("{}/mirror", dst.host());

    // A delete configuration with `mirror:` is refused with its position.
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "apiVersion: mirror.openshift.io/v2alpha1\nkind: DeleteImageSetConfiguration\nmirror:\n  additionalImages: []\n").unwrap();
    let refused = generate(&dir, &bad, &destination, "bad");
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("bad.yaml:3:1"), "{}", stderr(&refused));

    // A plan for another registry is refused before anything is asked of it.
    let config = write_delete_config(
        dir.path(),
        &format!("  additionalImages:\n  - name: {}/apps/c:1\n", src.host()),
    );
    assert_ok(&generate(&dir, &config, &destination, "c"));
    let list = dir.join("ws/working-dir/delete/delete-images-c.yaml");
    let foreign = execute(&dir, &list, &format!("{}/mirror", src.host()), &[]);
    assert_eq!(foreign.status.code(), Some(1));
    assert!(
        stderr(&foreign).contains("not under the destination"),
        "{}",
        stderr(&foreign)
    );

    // A registry that refuses deletes: a clear message, and nothing is gone.
    let locked = TestRegistry::start_with(RegistryOptions {
        deletes_disabled: true,
        ..RegistryOptions::default()
    });
    skopeo_copy_all(
        &format!("docker://{destination}/apps/c:1"),
        &format!("docker://{}/mirror/apps/c:1", locked.host()),
    );
    let text = std::fs::read_to_string(&list)
        .unwrap()
        .replace(&dst.host(), &locked.host());
    let locked_list = dir.join("locked.yaml");
    std::fs::write(&locked_list, text).unwrap();
    let denied = execute(&dir, &locked_list, &format!("{}/mirror", locked.host()), &[]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(
        stderr(&denied).contains("storage.delete.enabled"),
        "{}",
        stderr(&denied)
    );
    assert_whole(&dir, &format!("docker://{}/mirror/apps/c:1", locked.host()));
}

/// A rotation: foo 0.1.0 and 0.2.0 of a catalog were mirrored; the plan deletes 0.1.0's bundle and the catalog, and
/// a --keep configuration of what should stay (0.2.0) keeps the operator image both bundles share.
#[test]
fn an_operator_bundle_is_deleted_and_what_the_kept_bundle_shares_stays() {
    let dir = TestDir::new("delete_operator");
    let fixture = crate::catalog::fixture(&dir);
    let dst = TestRegistry::start();
    let src = fixture.src.host();
    let operators = |min: &str, max: &str| {
        format!(
            "  operators:\n  - catalog: {src}/redhat/test-catalog:v1\n    platforms: [linux/amd64]\n    packages:\n    - name: foo\n      minVersion: {min}\n      maxVersion: {max}\n"
        )
    };
    let destination = format!("{}/mirror", dst.host());
    mirror_to_registry(&dir, &operators("0.1.0", "0.2.0"), &destination, &[]).assert_success();
    let config = write_delete_config(dir.path(), &operators("0.1.0", "0.1.0"));
    let planned = generate(&dir, &config, &destination, "foo");
    assert_ok(&planned);
    let list_path = dir.join("ws/working-dir/delete/delete-images-foo.yaml");
    let list: serde_yaml::Value = serde_yaml::from_slice(&std::fs::read(&list_path).unwrap()).unwrap();
    let types: Vec<&str> = list["items"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"operatorCatalog") && types.contains(&"operatorRelatedImage"),
        "{types:?}"
    );
    let keep = dir.join("keep.yaml");
    std::fs::write(
        &keep,
        format!(
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n{}",
            operators("0.2.0", "0.2.0")
        ),
    )
    .unwrap();
    let done = execute(&dir, &list_path, &destination, &["--keep", keep.to_str().unwrap()]);
    assert_ok(&done);
    assert!(
        stderr(&done).contains("mirrored by --keep"),
        "the shared operator image is kept: {}",
        stderr(&done)
    );
    assert_eq!(
        manifest_status(&dst.host(), "mirror/oc-mirror/oc-mirror-dev", "foo-bundle-v0.1.0"),
        404
    );
    assert_eq!(
        manifest_status(&dst.host(), "mirror/redhat/test-catalog", "v1"),
        404,
        "the catalog named by the plan goes"
    );
    assert_whole(
        &dir,
        &format!("docker://{destination}/oc-mirror/oc-mirror-dev:foo-bundle-v0.2.0"),
    );
    let operator_tag = fixture.operator.index.digest.replace(':', "-");
    assert_whole(
        &dir,
        &format!("docker://{destination}/oc-mirror/operator:{operator_tag}"),
    );
}
