//! Signatures, attestations and referrers travel with their images: real cosign signature manifests (oc-mirror's
//! test layouts) pushed as `.sig` tags of a generated multi-arch image, an SBOM referrer and a signature of that SBOM
//! pushed with OCI 1.1 fallback tags (distribution 2.8 has no referrers API), signatures made at test time with a
//! key the test generates for verification. Results are read back with skopeo and raw HTTP.

use std::path::Path;

use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use rand::SeedableRng;
use serde_json::json;

use crate::support::*;

const SIG_LAYOUTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata/oci/oc-mirror");
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn raw(reference: &str) -> Vec<u8> {
    skopeo_inspect_raw(reference).unwrap_or_else(|e| panic!("{reference}: {e}"))
}

/// The manifest bytes of a real oc-mirror cosign signature layout.
fn real_signature_layout(n: usize) -> std::path::PathBuf {
    let mut dirs: Vec<_> = std::fs::read_dir(SIG_LAYOUTS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-sig"))
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 2, "the oc-mirror signature layouts are missing");
    dirs[n].clone()
}

/// Pushes an OCI layout's only image as `repo_tag`.
fn push_real_layout(layout: &Path, registry: &str, repo_tag: &str) {
    let src = format!("oci:{}", layout.display());
    try_skopeo_copy_all(&src, &format!("docker://{registry}/{repo_tag}"), None, None).unwrap();
}

/// A referrer artifact of `subject` (an OCI manifest with `subject` and an artifact type), pushed by digest, and
/// the fallback tag `sha256-<subject hex>` that lists it, as OCI 1.1 clients write for registries without the
/// referrers API. Returns the artifact's digest.
fn push_referrer(
    dir: &Path,
    registry: &str,
    repo: &str,
    subject: &Descriptor,
    artifact_type: &str,
    seed: u64,
) -> String {
    let mut layout = LayoutBuilder::new(dir);
    let config = layout.add_typed_blob("application/vnd.oci.empty.v1+json", b"{}");
    let layer = layout.add_typed_blob("application/spdx+json", &random_bytes(seed, 300));
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
        "config": config.to_json(), "layers": [layer.to_json()],
        "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
    });
    let artifact = layout.add_typed_blob(OCI_MANIFEST, &serde_json::to_vec(&manifest).unwrap());
    let mut entry = artifact.to_json();
    entry["artifactType"] = json!(artifact_type);
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]});
    let fallback = layout.add_typed_blob(OCI_INDEX, &serde_json::to_vec(&index).unwrap());
    let tag = subject.digest.replace(':', "-");
    layout.tag(&fallback, &tag);
    push_layout_raw(layout.dir(), &tag, registry, &format!("{repo}:{tag}"), None);
    artifact.digest
}

#[test]
fn cosign_tags_and_referrers_of_an_image_and_its_platforms_travel_with_it() {
    let dir = TestDir::new("signatures_m2m");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(dir.join("img"), 501, &["linux/amd64", "linux/arm64"], false);
    image.push(&src.host(), "apps/signed:1");
    let (index_sig, child_sig) = (
        format!("{}.sig", image.index.digest.replace(':', "-")),
        format!("{}.sig", image.manifests[0].digest.replace(':', "-")),
    );
    push_real_layout(
        &real_signature_layout(0),
        &src.host(),
        &format!("apps/signed:{index_sig}"),
    );
    push_real_layout(
        &real_signature_layout(1),
        &src.host(),
        &format!("apps/signed:{child_sig}"),
    );
    let sbom = push_referrer(
        &dir.join("sbom"),
        &src.host(),
        "apps/signed",
        &image.index,
        "application/spdx+json",
        7,
    );
    let sbom_descriptor = Descriptor {
        media_type: OCI_MANIFEST.into(),
        digest: sbom.clone(),
        size: raw(&format!("docker://{}/apps/signed@{sbom}", src.host())).len() as u64,
        platform: None,
        annotations: Vec::new(),
    };
    let sbom_signature = push_referrer(
        &dir.join("sbom-sig"),
        &src.host(),
        "apps/signed",
        &sbom_descriptor,
        "application/vnd.dev.cosign.artifact.sig.v1+json",
        8,
    );

    let yaml = additional_images(&[format!("{}/apps/signed:1", src.host())]);
    let dry = mirror_to_registry(&dir, &yaml, &format!("{}/mirror", dst.host()), &["--dry-run"]);
    dry.assert_success();
    let planned = dry.working_file("dry-run/mapping.txt");
    assert!(
        planned.contains(&index_sig) && planned.contains(&child_sig),
        "a dry run lists them: {planned}"
    );
    let run = mirror_to_registry(&dir, &yaml, &format!("{}/mirror", dst.host()), &[]);
    run.assert_success();
    let (from, to) = (
        format!("docker://{}/apps/signed", src.host()),
        format!("docker://{}/mirror/apps/signed", dst.host()),
    );
    for tag in [&index_sig, &child_sig] {
        assert_eq!(
            raw(&format!("{from}:{tag}")),
            raw(&format!("{to}:{tag}")),
            "{tag} arrives byte for byte"
        );
    }
    for referrer in [&sbom, &sbom_signature] {
        assert_eq!(
            raw(&format!("{from}@{referrer}")),
            raw(&format!("{to}@{referrer}")),
            "referrer {referrer}"
        );
    }
    let fallback = sbom.replace(':', "-");
    assert_eq!(
        raw(&format!("{from}:{fallback}")),
        raw(&format!("{to}:{fallback}")),
        "the referrer of a referrer"
    );
    assert!(
        run.stderr()
            .contains("signatures, attestations and referrers: 4 copied"),
        "{}",
        run.stderr()
    );

    // Without them: only the image.
    let other = TestRegistry::start();
    let bare = mirror_to_registry(
        &dir,
        &yaml,
        &format!("{}/mirror", other.host()),
        &["--remove-signatures"],
    );
    bare.assert_success();
    assert!(skopeo_inspect_raw(&format!("docker://{}/mirror/apps/signed:{index_sig}", other.host())).is_err());
}

#[test]
fn signatures_travel_through_an_archive() {
    let dir = TestDir::new("signatures_disk");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(dir.join("img"), 511, &["linux/amd64"], false);
    image.push(&src.host(), "apps/signed:1");
    let sig_tag = format!("{}.sig", image.index.digest.replace(':', "-"));
    push_real_layout(
        &real_signature_layout(0),
        &src.host(),
        &format!("apps/signed:{sig_tag}"),
    );
    let config = write_isc(
        dir.path(),
        &additional_images(&[format!("{}/apps/signed:1", src.host())]),
    );
    let archive = dir.join("archive");
    assert_ok(&mirror_to_disk(&dir, &config, &archive, &[], &[]));
    let describe = ferry_at(dir.path())
        .arg("describe")
        .arg(format!("file://{}", archive.display()))
        .output()
        .unwrap();
    let described = String::from_utf8_lossy(&describe.stdout);
    assert!(
        described.contains("signatures, attestations and referrers: 1"),
        "{described}"
    );
    assert_ok(&disk_to_mirror(
        &dir,
        &config,
        &archive,
        &format!("{}/mirror", dst.host()),
    ));
    assert_eq!(
        raw(&format!("docker://{}/apps/signed:{sig_tag}", src.host())),
        raw(&format!("docker://{}/mirror/apps/signed:{sig_tag}", dst.host()))
    );
}

/// A cosign signature of `digest` made with `key` (or claiming `claimed`), pushed as `repo:sha256-<hex>.sig`.
fn push_cosign_signature(dir: &Path, registry: &str, repo: &str, digest: &str, claimed: &str, key: &SigningKey) {
    let payload = serde_json::to_vec(&json!({
        "critical": {"identity": {"docker-reference": format!("{registry}/{repo}")},
                     "image": {"docker-manifest-digest": claimed}, "type": "cosign container image signature"},
        "optional": null
    }))
    .unwrap();
    let signature: DerSignature = key.sign(&payload);
    let mut layout = LayoutBuilder::new(dir);
    let config = layout.add_typed_blob(
        "application/vnd.oci.image.config.v1+json",
        b"{\"architecture\":\"\",\"os\":\"\"}",
    );
    let mut layer = layout.add_typed_blob("application/vnd.dev.cosign.simplesigning.v1+json", &payload);
    let encoded = base64::engine::general_purpose::STANDARD.encode(signature.as_bytes());
    layer
        .annotations
        .push(("dev.cosignproject.cosign/signature".into(), encoded));
    let manifest =
        json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.to_json(), "layers": [layer.to_json()]});
    let top = layout.add_typed_blob(OCI_MANIFEST, &serde_json::to_vec(&manifest).unwrap());
    let tag = format!("{}.sig", digest.replace(':', "-"));
    layout.tag(&top, "sig");
    push_layout_raw(layout.dir(), "sig", registry, &format!("{repo}:{tag}"), None);
}

#[test]
fn verification_keeps_what_the_key_signed_and_fails_the_rest_or_warns() {
    let dir = TestDir::new("signatures_verify");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let key = SigningKey::random(&mut rng);
    let stranger = SigningKey::random(&mut rng);
    let public = dir.join("cosign.pub");
    std::fs::write(&public, key.verifying_key().to_public_key_pem(LineEnding::LF).unwrap()).unwrap();
    let mut images = Vec::new();
    for (seed, name) in [
        (521, "good"),
        (522, "stranger"),
        (523, "unsigned"),
        (524, "other-digest"),
    ] {
        let image = multi_arch_image(dir.join(name), seed, &["linux/amd64"], false);
        image.push(&src.host(), &format!("apps/{name}:1"));
        images.push((name, image));
    }
    let digest = |name: &str| images.iter().find(|(n, _)| *n == name).unwrap().1.index.digest.clone();
    let sign = |name: &str, claimed: &str, signer: &SigningKey| {
        push_cosign_signature(
            &dir.join(format!("sig-{name}")),
            &src.host(),
            &format!("apps/{name}"),
            &digest(name),
            claimed,
            signer,
        )
    };
    sign("good", &digest("good"), &key);
    sign("stranger", &digest("stranger"), &stranger);
    sign("other-digest", &digest("good"), &key);
    let names: Vec<String> = images
        .iter()
        .map(|(n, _)| format!("{}/apps/{n}:1", src.host()))
        .collect();
    let yaml = additional_images(&names);
    let key_arg = public.to_str().unwrap();

    let strict = mirror_to_registry(
        &dir,
        &yaml,
        &format!("{}/strict", dst.host()),
        &["--verify-signatures", key_arg],
    );
    assert_eq!(strict.code(), 8, "{}", strict.stderr());
    let stderr = strict.stderr();
    assert!(
        stderr.contains("apps/unsigned") && stderr.contains("no signature"),
        "{stderr}"
    );
    assert!(
        stderr.contains("apps/stranger") && stderr.contains("does not verify"),
        "{stderr}"
    );
    assert!(
        stderr.contains("apps/other-digest") && stderr.contains(&digest("good")),
        "{stderr}"
    );
    let at = |ns: &str, name: &str| skopeo_inspect_raw(&format!("docker://{}/{ns}/apps/{name}:1", dst.host())).is_ok();
    assert!(at("strict", "good"), "the image the key signed is mirrored");
    for refused in ["stranger", "unsigned", "other-digest"] {
        assert!(
            !at("strict", refused),
            "{refused} is not mirrored under the strict policy"
        );
    }

    let lenient = mirror_to_registry(
        &dir,
        &yaml,
        &format!("{}/lenient", dst.host()),
        &["--verify-signatures", key_arg, "--signature-policy", "best-effort"],
    );
    lenient.assert_success();
    assert!(lenient.stderr().contains("mirrored anyway"), "{}", lenient.stderr());
    for name in ["good", "stranger", "unsigned", "other-digest"] {
        assert!(at("lenient", name), "{name} is mirrored under best-effort");
    }
}

/// A registry that serves the OCI 1.1 referrers API (a proxy answering the endpoint in front of one that does not):
/// the referrer is found through the API, copied by digest, and a fallback tag built from the API's answer points
/// at it at the destination, which has no API either.
#[test]
fn referrers_found_through_the_referrers_api_arrive_with_a_fallback_tag() {
    let dir = TestDir::new("signatures_referrers_api");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(dir.join("img"), 531, &["linux/amd64"], false);
    image.push(&src.host(), "apps/api:1");
    let mut layout = LayoutBuilder::new(dir.join("attestation"));
    let config = layout.add_typed_blob("application/vnd.oci.empty.v1+json", b"{}");
    let layer = layout.add_typed_blob("application/vnd.in-toto+json", &random_bytes(9, 200));
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.in-toto+json",
        "config": config.to_json(), "layers": [layer.to_json()],
        "subject": {"mediaType": image.index.media_type, "digest": image.index.digest, "size": image.index.size},
    });
    let artifact = layout.add_typed_blob(OCI_MANIFEST, &serde_json::to_vec(&manifest).unwrap());
    layout.tag(&artifact, "a");
    push_layout_raw(
        layout.dir(),
        "a",
        &src.host(),
        &format!("apps/api@{}", artifact.digest),
        None,
    );
    let mut entry = artifact.to_json();
    entry["artifactType"] = json!("application/vnd.in-toto+json");
    let answer =
        serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]})).unwrap();
    let empty = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})).unwrap();
    let proxy = FaultProxy::start(
        &src.host(),
        FaultPlan {
            // A registry with the API answers for every manifest: an empty index where nothing refers to it.
            answers: vec![
                (
                    format!("/v2/apps/api/referrers/{}", image.index.digest),
                    OCI_INDEX.into(),
                    answer.clone(),
                ),
                (
                    format!("/v2/apps/api/referrers/{}", image.manifests[0].digest),
                    OCI_INDEX.into(),
                    empty,
                ),
            ],
            ..FaultPlan::default()
        },
    );
    let yaml = additional_images(&[format!("{}/apps/api:1", proxy.host())]);
    let run = mirror_to_registry(&dir, &yaml, &format!("{}/mirror", dst.host()), &[]);
    run.assert_success();
    let to = format!("docker://{}/mirror/apps/api", dst.host());
    assert_eq!(
        raw(&format!("{to}@{}", artifact.digest)),
        raw(&format!("docker://{}/apps/api@{}", src.host(), artifact.digest)),
        "the referrer arrives by digest"
    );
    let fallback = raw(&format!("{to}:{}", image.index.digest.replace(':', "-")));
    assert_eq!(
        fallback, answer,
        "the fallback tag holds what the referrers API answered"
    );
}

/// An index the platform filter rewrites has a new digest: its own signature stays behind (and the run says so),
/// the signature of the platform it keeps travels.
#[test]
fn a_filtered_index_leaves_its_own_signature_and_keeps_its_platforms() {
    let dir = TestDir::new("signatures_filtered");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(dir.join("img"), 541, &["linux/amd64", "linux/arm64"], false);
    image.push(&src.host(), "apps/filtered:1");
    let index_sig = format!("{}.sig", image.index.digest.replace(':', "-"));
    let child_sig = format!("{}.sig", image.manifests[0].digest.replace(':', "-"));
    push_real_layout(
        &real_signature_layout(0),
        &src.host(),
        &format!("apps/filtered:{index_sig}"),
    );
    push_real_layout(
        &real_signature_layout(1),
        &src.host(),
        &format!("apps/filtered:{child_sig}"),
    );
    let yaml = format!(
        "  additionalImages:\n  - name: {}/apps/filtered:1\n    platforms: [linux/amd64]\n",
        src.host()
    );
    let run = mirror_to_registry(&dir, &yaml, &format!("{}/mirror", dst.host()), &[]);
    run.assert_success();
    assert!(run.stderr().contains("new digest"), "{}", run.stderr());
    let to = format!("docker://{}/mirror/apps/filtered", dst.host());
    assert!(
        skopeo_inspect_raw(&format!("{to}:{index_sig}")).is_err(),
        "the index's signature stays behind"
    );
    assert!(
        skopeo_inspect_raw(&format!("{to}:{child_sig}")).is_ok(),
        "the kept platform's signature travels"
    );
}

/// A fallback tag the destination holds already (a referrer pushed there by another tool) is merged, not replaced:
/// after the mirror it lists both referrers, and both are readable.
#[test]
fn an_existing_fallback_tag_at_the_destination_keeps_its_referrers() {
    let dir = TestDir::new("signatures_merge");
    let (src, dst) = (TestRegistry::start(), TestRegistry::start());
    let image = multi_arch_image(dir.join("img"), 551, &["linux/amd64"], false);
    image.push(&src.host(), "apps/merged:1");
    let ours = push_referrer(
        &dir.join("ours"),
        &src.host(),
        "apps/merged",
        &image.index,
        "application/spdx+json",
        11,
    );
    // The same image already at the destination, with a referrer only the destination knows.
    image.push(&dst.host(), "mirror/apps/merged:1");
    let theirs = push_referrer(
        &dir.join("theirs"),
        &dst.host(),
        "mirror/apps/merged",
        &image.index,
        "application/vnd.example+json",
        12,
    );
    let yaml = additional_images(&[format!("{}/apps/merged:1", src.host())]);
    let run = mirror_to_registry(&dir, &yaml, &format!("{}/mirror", dst.host()), &[]);
    run.assert_success();
    let to = format!("docker://{}/mirror/apps/merged", dst.host());
    let fallback: serde_json::Value =
        serde_json::from_slice(&raw(&format!("{to}:{}", image.index.digest.replace(':', "-")))).unwrap();
    let listed: Vec<&str> = fallback["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [ours.as_str(), theirs.as_str()],
        "ours first, then the destination's"
    );
    for referrer in [&ours, &theirs] {
        assert!(
            skopeo_inspect_raw(&format!("{to}@{referrer}")).is_ok(),
            "{referrer} is readable"
        );
    }
}
