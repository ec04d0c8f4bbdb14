//! Cosign key-pair signatures (`cosign sign --key`): the simple-signing layers of a signature manifest (tag
//! `sha256-<hex>.sig` in the image's repository) and their verification with a cosign ECDSA P-256 public key.
//!
//! Each simple-signing layer blob is a JSON payload naming the signed image's manifest digest; the layer's
//! `dev.cosignproject.cosign/signature` annotation is base64 of a DER ECDSA signature over SHA-256 of the payload's
//! exact bytes. As `cosign verify` does, only the digest claim and the payload type are checked, not the
//! `docker-reference` identity: it names the repository that was signed, which a mirror renames.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey as _;
use serde::Deserialize;

use crate::image::manifest::Descriptor;

/// Media type of a cosign simple-signing layer.
const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Layer annotation holding the base64 DER signature of the layer blob.
const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// `critical.type` of every cosign image signature payload.
const PAYLOAD_TYPE: &str = "cosign container image signature";

/// Why a cosign key, signature manifest or signature was rejected.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CosignError {
    #[error("not a cosign ECDSA P-256 public key ({detail}): give the PEM `PUBLIC KEY` file that `cosign generate-key-pair` writes (cosign.pub), not the private key")]
    BadKey { detail: String },
    #[error("not a cosign signature manifest ({reason}): the `sha256-<hex>.sig` tag should hold an OCI image manifest with `application/vnd.dev.cosign.simplesigning.v1+json` layers; re-sign the image with `cosign sign --key`")]
    NotASignatureManifest { reason: String },
    #[error("the cosign signature annotation is not base64 of a DER ECDSA P-256 signature ({detail}): the signature manifest is damaged; re-sign the image with `cosign sign --key`")]
    BadSignatureEncoding { detail: String },
    #[error("the cosign signature does not verify with the given public key: the image was signed with another key or its signature payload was altered; check that the key is the signer's cosign.pub")]
    SignatureMismatch,
    #[error("the cosign signature is valid but signs image {signed}, not {image}: the signature belongs to another image; re-sign {image} with `cosign sign --key`")]
    WrongDigest { signed: String, image: String },
    #[error(
        "the signed cosign payload is not a container image signature ({reason}): sign images with `cosign sign --key`"
    )]
    BadPayload { reason: String },
}

/// A cosign public key (ECDSA P-256).
#[derive(Debug, Clone)]
pub(crate) struct CosignKey {
    key: VerifyingKey,
}

impl CosignKey {
    /// Reads a cosign public key (PEM "PUBLIC KEY", as `cosign generate-key-pair` writes cosign.pub).
    pub(crate) fn from_pem(text: &str) -> Result<CosignKey, CosignError> {
        VerifyingKey::from_public_key_pem(text.trim())
            .map(|key| CosignKey { key })
            .map_err(|e| CosignError::BadKey { detail: e.to_string() })
    }
}

/// One signed simple-signing layer of a cosign signature manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignatureLayer {
    /// The layer blob (the signed payload), `sha256:<hex>`.
    pub digest: String,
    /// The base64 DER signature from the layer's `dev.cosignproject.cosign/signature` annotation.
    pub signature: String,
}

/// The part of a signature manifest read here.
#[derive(Deserialize)]
struct SignatureManifest {
    layers: Vec<Descriptor>,
}

/// The signature layers of a cosign signature manifest (raw JSON bytes of the manifest): for each layer with the
/// simple-signing media type, its blob digest and its base64 signature annotation. Layers without the annotation
/// cannot verify and are left out; a manifest with no signed simple-signing layer is `NotASignatureManifest`.
pub(crate) fn signature_layers(manifest: &[u8]) -> Result<Vec<SignatureLayer>, CosignError> {
    let parsed: SignatureManifest =
        serde_json::from_slice(manifest).map_err(|e| CosignError::NotASignatureManifest { reason: e.to_string() })?;
    let layers: Vec<SignatureLayer> = parsed.layers.iter().filter_map(signature_layer).collect();
    if layers.is_empty() {
        return Err(CosignError::NotASignatureManifest {
            reason: format!("no `{SIMPLE_SIGNING}` layer with a `{SIGNATURE_ANNOTATION}` annotation"),
        });
    }
    Ok(layers)
}

/// The layer as a signature layer, if it is a simple-signing layer with a signature annotation.
fn signature_layer(layer: &Descriptor) -> Option<SignatureLayer> {
    if layer.media_type != SIMPLE_SIGNING {
        return None;
    }
    let signature = layer.annotations.get(SIGNATURE_ANNOTATION)?;
    Some(SignatureLayer {
        digest: layer.digest.as_str().to_string(),
        signature: signature.clone(),
    })
}

/// Verifies one layer: `payload` is the layer blob's bytes; checks the ECDSA signature over it, then that the
/// payload's `critical.image.docker-manifest-digest` equals `image_digest` (`sha256:<hex>`) and `critical.type` is
/// the cosign type. `Ok(())` or the reason.
pub(crate) fn verify(
    key: &CosignKey,
    payload: &[u8],
    signature_b64: &str,
    image_digest: &str,
) -> Result<(), CosignError> {
    let signature = decode_signature(signature_b64)?;
    key.key
        .verify(payload, &signature)
        .map_err(|_| CosignError::SignatureMismatch)?;
    let signed = signed_digest(payload)?;
    if signed != image_digest {
        return Err(CosignError::WrongDigest {
            signed,
            image: image_digest.to_string(),
        });
    }
    Ok(())
}

/// The signature from its annotation: base64 (standard, padded) of ASN.1 DER.
fn decode_signature(signature_b64: &str) -> Result<Signature, CosignError> {
    let bad = |detail: String| CosignError::BadSignatureEncoding { detail };
    let der = BASE64
        .decode(signature_b64.trim())
        .map_err(|e| bad(format!("not base64: {e}")))?;
    Signature::from_der(&der).map_err(|_| bad(format!("{} bytes that are not a DER ECDSA P-256 signature", der.len())))
}

/// The simple-signing payload fields that are checked.
#[derive(Deserialize)]
struct Payload {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    image: SignedImage,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct SignedImage {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// The image digest a simple-signing payload claims, once its type is checked.
fn signed_digest(payload: &[u8]) -> Result<String, CosignError> {
    let parsed: Payload =
        serde_json::from_slice(payload).map_err(|e| CosignError::BadPayload { reason: e.to_string() })?;
    if parsed.critical.kind != PAYLOAD_TYPE {
        return Err(CosignError::BadPayload {
            reason: format!("critical.type is `{}`, not `{PAYLOAD_TYPE}`", parsed.critical.kind),
        });
    }
    Ok(parsed.critical.image.docker_manifest_digest)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use p256::ecdsa::signature::Signer as _;
    use p256::ecdsa::SigningKey;
    use p256::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
    use rand::rngs::StdRng;
    use rand::SeedableRng as _;
    use serde_json::Value;

    use super::*;
    use crate::image::Digest;

    const LAYOUTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata/oci/oc-mirror");
    const IMAGE: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const OTHER_IMAGE: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    /// A P-384 public key: PEM `PUBLIC KEY`, but not the curve cosign key pairs use.
    const P384_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEl8x/gENppoXnlDhFXUsTNy2ErynqnFVq
Ia0dnNGJdgEtMjhrjPYFYDu2ub7NGD9gqRzV+2tPvFekGAzW7dvI4M84RjY4UG7A
xB1mbu4Bmzz5iD5m1y5qwq6zFcRAPkOn
-----END PUBLIC KEY-----
";

    /// A seeded key pair; the public half goes through its PEM as cosign.pub would.
    fn key_pair(seed: u64) -> (SigningKey, CosignKey) {
        let signing = SigningKey::random(&mut StdRng::seed_from_u64(seed));
        let pem = signing.verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
        (signing, CosignKey::from_pem(&pem).unwrap())
    }

    /// A payload as `cosign sign` writes it.
    fn payload(digest: &str) -> Vec<u8> {
        format!(r#"{{"critical":{{"identity":{{"docker-reference":"registry.example/team/app"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"{PAYLOAD_TYPE}"}},"optional":null}}"#).into_bytes()
    }

    fn sign(key: &SigningKey, payload: &[u8]) -> String {
        let signature: Signature = key.sign(payload);
        BASE64.encode(signature.to_der().as_bytes())
    }

    #[test]
    fn a_signature_made_with_the_key_verifies() {
        let (signing, key) = key_pair(1);
        let payload = payload(IMAGE);
        verify(&key, &payload, &sign(&signing, &payload), IMAGE).unwrap();
    }

    #[test]
    fn a_valid_signature_of_another_image_is_wrong_digest() {
        let (signing, key) = key_pair(1);
        let payload = payload(OTHER_IMAGE);
        let err = verify(&key, &payload, &sign(&signing, &payload), IMAGE).unwrap_err();
        assert!(
            matches!(&err, CosignError::WrongDigest { signed, image } if signed == OTHER_IMAGE && image == IMAGE),
            "{err:?}"
        );
    }

    #[test]
    fn a_flipped_signature_byte_or_payload_byte_is_a_mismatch() {
        let (signing, key) = key_pair(1);
        let payload = payload(IMAGE);
        let mut der = BASE64.decode(sign(&signing, &payload)).unwrap();
        *der.last_mut().unwrap() ^= 0x01;
        let err = verify(&key, &payload, &BASE64.encode(&der), IMAGE).unwrap_err();
        assert!(matches!(err, CosignError::SignatureMismatch), "{err:?}");

        let mut altered = payload.clone();
        altered[0] = b' ';
        let err = verify(&key, &altered, &sign(&signing, &payload), IMAGE).unwrap_err();
        assert!(matches!(err, CosignError::SignatureMismatch), "{err:?}");
    }

    #[test]
    fn a_signature_by_another_key_is_a_mismatch() {
        let (signing, _) = key_pair(1);
        let (_, other_key) = key_pair(2);
        let payload = payload(IMAGE);
        let err = verify(&other_key, &payload, &sign(&signing, &payload), IMAGE).unwrap_err();
        assert!(matches!(err, CosignError::SignatureMismatch), "{err:?}");
    }

    #[test]
    fn keys_that_are_not_p256_public_key_pems_are_bad_keys() {
        let (signing, _) = key_pair(1);
        let private_pem = signing.to_pkcs8_pem(LineEnding::LF).unwrap();
        let cosign_private = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnt9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
        for text in ["not a key", "", P384_PUBLIC_KEY, private_pem.as_str(), cosign_private] {
            let err = CosignKey::from_pem(text).unwrap_err();
            assert!(matches!(err, CosignError::BadKey { .. }), "{text}: {err:?}");
        }
    }

    #[test]
    fn undecodable_signatures_are_bad_encoding() {
        let (_, key) = key_pair(1);
        let payload = payload(IMAGE);
        for signature in ["not base64!", "", &BASE64.encode(b"not DER at all")] {
            let err = verify(&key, &payload, signature, IMAGE).unwrap_err();
            assert!(
                matches!(err, CosignError::BadSignatureEncoding { .. }),
                "{signature}: {err:?}"
            );
        }
    }

    #[test]
    fn signed_payloads_that_are_not_image_signatures_are_bad_payload() {
        let (signing, key) = key_pair(1);
        let other_type = String::from_utf8(payload(IMAGE))
            .unwrap()
            .replace(PAYLOAD_TYPE, "cosign blob signature");
        for payload in [
            b"not json".to_vec(),
            br#"{"critical":{}}"#.to_vec(),
            other_type.into_bytes(),
        ] {
            let err = verify(&key, &payload, &sign(&signing, &payload), IMAGE).unwrap_err();
            assert!(matches!(err, CosignError::BadPayload { .. }), "{err:?}");
        }
    }

    /// A signature manifest with the given layers, as cosign pushes it.
    fn manifest(layers: &[String]) -> Vec<u8> {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","size":233,"digest":"{OTHER_IMAGE}"}},"layers":[{}]}}"#,
            layers.join(",")
        )
        .into_bytes()
    }

    fn layer(media_type: &str, digest: &str, annotations: &str) -> String {
        format!(r#"{{"mediaType":"{media_type}","size":261,"digest":"{digest}","annotations":{{{annotations}}}}}"#)
    }

    #[test]
    fn signature_layers_are_the_annotated_simple_signing_layers() {
        let signed = layer(SIMPLE_SIGNING, IMAGE, &format!(r#""{SIGNATURE_ANNOTATION}":"c2ln""#));
        let unsigned = layer(SIMPLE_SIGNING, OTHER_IMAGE, r#""other":"x""#);
        let foreign = layer(
            "application/vnd.oci.image.layer.v1.tar",
            OTHER_IMAGE,
            &format!(r#""{SIGNATURE_ANNOTATION}":"eA==""#),
        );
        let layers = signature_layers(&manifest(&[foreign, signed, unsigned])).unwrap();
        let expected = SignatureLayer {
            digest: IMAGE.to_string(),
            signature: "c2ln".to_string(),
        };
        assert_eq!(layers, vec![expected]);
    }

    #[test]
    fn manifests_without_signature_layers_are_not_signature_manifests() {
        let plain = layer("application/vnd.oci.image.layer.v1.tar+gzip", IMAGE, "");
        let index = br#"{"schemaVersion":2,"manifests":[]}"#.to_vec();
        for bytes in [manifest(&[plain]), manifest(&[]), index, b"not json".to_vec()] {
            let err = signature_layers(&bytes).unwrap_err();
            assert!(matches!(err, CosignError::NotASignatureManifest { .. }), "{err:?}");
        }
    }

    /// A real signature layout from oc-mirror's tests: `<image>-sha256-<hex>-sig`, an OCI layout of one manifest.
    struct Layout {
        dir: PathBuf,
        /// The signed image, from the directory name.
        image: String,
        manifest: Vec<u8>,
    }

    impl Layout {
        fn blob(&self, digest: &str) -> Vec<u8> {
            let hex = digest.strip_prefix("sha256:").unwrap();
            std::fs::read(self.dir.join("blobs/sha256").join(hex)).unwrap()
        }
    }

    fn real_layouts() -> Vec<Layout> {
        let mut layouts: Vec<Layout> = std::fs::read_dir(LAYOUTS)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|dir| dir.to_string_lossy().ends_with("-sig"))
            .map(|dir| read_layout(&dir))
            .collect();
        layouts.sort_by(|a, b| a.dir.cmp(&b.dir));
        assert_eq!(
            layouts.len(),
            2,
            "the oc-mirror testdata holds two cosign signature layouts"
        );
        layouts
    }

    fn read_layout(dir: &Path) -> Layout {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let hex = name.strip_suffix("-sig").unwrap().rsplit_once("sha256-").unwrap().1;
        let index: Value = serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
        let manifest = std::fs::read(
            dir.join("blobs/sha256")
                .join(manifest_digest.strip_prefix("sha256:").unwrap()),
        );
        Layout {
            dir: dir.to_path_buf(),
            image: format!("sha256:{hex}"),
            manifest: manifest.unwrap(),
        }
    }

    #[test]
    fn real_signature_layouts_parse_and_claim_their_image_digest() {
        for layout in real_layouts() {
            let layers = signature_layers(&layout.manifest).unwrap();
            assert!(!layers.is_empty());
            for layer in layers {
                decode_signature(&layer.signature).unwrap();
                let payload = layout.blob(&layer.digest);
                assert_eq!(Digest::of_bytes(&payload).as_str(), layer.digest);
                assert_eq!(signed_digest(&payload).unwrap(), layout.image);
            }
        }
    }

    /// The signer's public key, from the transparency-log entry cosign stored in the layer's bundle annotation.
    fn bundle_key(manifest: &[u8]) -> CosignKey {
        let manifest: Value = serde_json::from_slice(manifest).unwrap();
        let bundle = manifest["layers"][0]["annotations"]["dev.sigstore.cosign/bundle"]
            .as_str()
            .unwrap();
        let bundle: Value = serde_json::from_str(bundle).unwrap();
        let body = BASE64.decode(bundle["Payload"]["body"].as_str().unwrap()).unwrap();
        let entry: Value = serde_json::from_slice(&body).unwrap();
        let pem = BASE64
            .decode(entry["spec"]["signature"]["publicKey"]["content"].as_str().unwrap())
            .unwrap();
        CosignKey::from_pem(&String::from_utf8(pem).unwrap()).unwrap()
    }

    #[test]
    fn real_signatures_verify_with_their_signers_key_and_only_for_their_image() {
        let layouts = real_layouts();
        let (_, unrelated_key) = key_pair(1);
        for (layout, other) in layouts.iter().zip(layouts.iter().rev()) {
            let key = bundle_key(&layout.manifest);
            let layer = signature_layers(&layout.manifest).unwrap().remove(0);
            let payload = layout.blob(&layer.digest);
            verify(&key, &payload, &layer.signature, &layout.image).unwrap();
            let err = verify(&key, &payload, &layer.signature, &other.image).unwrap_err();
            assert!(matches!(err, CosignError::WrongDigest { .. }), "{err:?}");
            let err = verify(&unrelated_key, &payload, &layer.signature, &layout.image).unwrap_err();
            assert!(matches!(err, CosignError::SignatureMismatch), "{err:?}");
        }
    }
}
