//! Verification of OpenShift release signatures: an OpenPGP signed message (as `gpg --sign` writes it) whose literal
//! data is a containers/image "atomic container signature" claim, checked against a keyring of trusted public keys:
//! Red Hat's release keys embedded from `keys/` (see its README.md), or the keys of an
//! `OCP_SIGNATURE_VERIFICATION_PK` file. Bytes in, claim out: fetching signatures and reading files belong elsewhere.

use std::io::Read;

use pgp::composed::{Deserializable, FullSignaturePacket, Message, SignedPublicKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{PublicKey, PublicSubkey, Signature, SignatureType};
use pgp::types::KeyDetails;
use serde::Deserialize;

/// Red Hat's release public keys, as published in openshift/cluster-update-keys (see `keys/README.md`).
const EMBEDDED_KEYS: [(&str, &str); 2] = [
    (
        "keys/redhat-release-key-2.asc",
        include_str!("keys/redhat-release-key-2.asc"),
    ),
    ("keys/redhat-beta-key-2.asc", include_str!("keys/redhat-beta-key-2.asc")),
];

/// The `critical.type` of a containers/image simple-signing claim.
pub(crate) const CLAIM_TYPE: &str = "atomic container signature";

/// The largest signed payload read. Claims are a few hundred bytes; the bound stops a decompression bomb.
const MAX_PAYLOAD: u64 = 64 * 1024;
/// Compression layers unwrapped around the signed message (gpg writes one).
const MAX_COMPRESSION_LAYERS: usize = 4;

const KEY_BLOCK_BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
const KEY_BLOCK_END: &str = "-----END PGP PUBLIC KEY BLOCK-----";

/// Why a release signature or a keyring was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SignatureError {
    #[error(
        "the release signature is not a signed OpenPGP message: {reason}\n  help: the file may be truncated or not a \
         signature at all; fetch it again from the signature store"
    )]
    Malformed { reason: String },
    #[error(
        "the release signature was made by key {key_id}, which is not in the keyring (it holds {known})\n  help: if \
         you trust that key, put its armored public key in the file named by OCP_SIGNATURE_VERIFICATION_PK; \
         otherwise do not trust this release"
    )]
    UnknownSigner { key_id: String, known: String },
    #[error(
        "the release signature by key {key_id} does not match what it signs: the signed claim or the signature was \
         altered\n  help: do not trust this release; fetch its signature again from the signature store"
    )]
    BadSignature { key_id: String },
    #[error(
        "the release signature by key {key_id} uses the {hash} hash, which is too weak to trust\n  help: do not \
         trust this release; release signatures use SHA-256 or stronger"
    )]
    WeakHash { key_id: String, hash: String },
    #[error(
        "the signed claim is not a JSON atomic container signature: {reason}\n  help: the signature store served \
         something other than a release signature; check the store's URL"
    )]
    InvalidClaim { reason: String },
    #[error(
        "the signed claim has critical.type `{found}`, expected `{CLAIM_TYPE}`\n  help: the signature store served \
         something other than a container image signature; check the store's URL"
    )]
    WrongType { found: String },
    #[error(
        "the release signature signs {signed} but the release is {expected}\n  help: the signature belongs to \
         another release; check the release digest, or try the store's next signature (signature-2, ...)"
    )]
    DigestMismatch { signed: String, expected: String },
    #[error(
        "the keyring is not a list of ASCII-armored OpenPGP public keys: {reason}\n  help: \
         OCP_SIGNATURE_VERIFICATION_PK must name a file of `{KEY_BLOCK_BEGIN}` blocks, as `gpg --armor --export \
         KEYID` writes them"
    )]
    Keyring { reason: String },
}

/// The public keys whose signatures are trusted.
#[derive(Debug, Clone)]
pub(crate) struct Keyring {
    keys: Vec<SignedPublicKey>,
}

/// What a verified signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignedClaim {
    /// `critical.identity.docker-reference`, e.g. `quay.io/openshift-release-dev/ocp-release:4.12.0-x86_64`.
    pub docker_reference: String,
    /// `critical.image.docker-manifest-digest`, equal to the digest the caller expected.
    pub manifest_digest: String,
    /// The fingerprint (upper-case hex) of the keyring's primary key that made the signature.
    pub signer: String,
    /// `optional.creator`, the signing tool, when given.
    pub creator: Option<String>,
}

impl Keyring {
    /// Red Hat's release keys: "release key 2" and "beta key 2".
    pub(crate) fn embedded() -> Result<Keyring, SignatureError> {
        let mut keys = Vec::new();
        for (name, text) in EMBEDDED_KEYS {
            keys.extend(parse_key_block(text).map_err(|reason| keyring_error(format!("{name}: {reason}")))?);
        }
        Ok(Keyring { keys })
    }

    /// The keys of an armored keyring file: one or more public key blocks, each holding one or more keys.
    pub(crate) fn from_armored(text: &str) -> Result<Keyring, SignatureError> {
        let blocks = key_blocks(text).map_err(keyring_error)?;
        let mut keys = Vec::new();
        for (index, block) in blocks.iter().enumerate() {
            let parsed =
                parse_key_block(block).map_err(|reason| keyring_error(format!("block {}: {reason}", index + 1)))?;
            keys.extend(parsed);
        }
        Ok(Keyring { keys })
    }

    #[cfg(test)]
    /// The fingerprints (upper-case hex) of the primary keys, in keyring order.
    pub(crate) fn fingerprints(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|key| upper_hex(key.fingerprint().as_bytes()))
            .collect()
    }

    /// The keys able to have made `signature`, each with its primary key's fingerprint.
    fn candidates(&self, signature: &Signature) -> Vec<(String, Candidate<'_>)> {
        let mut found = Vec::new();
        for key in &self.keys {
            let primary = upper_hex(key.fingerprint().as_bytes());
            if is_issuer(signature, &key.primary_key) {
                found.push((primary.clone(), Candidate::Primary(&key.primary_key)));
            }
            let signing = key
                .public_subkeys
                .iter()
                .filter(|sub| sub.signatures.iter().any(|s| s.key_flags().sign()));
            for sub in signing.filter(|sub| is_issuer(signature, &sub.key)) {
                found.push((primary.clone(), Candidate::Subkey(&sub.key)));
            }
        }
        found
    }

    /// The primary key ids, for messages.
    fn key_ids(&self) -> String {
        let ids: Vec<String> = self
            .keys
            .iter()
            .map(|key| upper_hex(key.legacy_key_id().as_ref()))
            .collect();
        if ids.is_empty() {
            "no key".to_string()
        } else {
            ids.join(", ")
        }
    }
}

/// Verifies `signature` (a binary or ASCII-armored OpenPGP signed message) with `keyring`, then checks that its
/// claim is an atomic container signature of `expected_digest` (`sha256:<hex>`).
pub(crate) fn verify(
    signature: &[u8],
    keyring: &Keyring,
    expected_digest: &str,
) -> Result<SignedClaim, SignatureError> {
    let mut message = open_message(signature)?;
    let payload = read_payload(&mut message)?;
    let signer = check_signatures(&signatures_of(&message)?, &payload, keyring)?;
    let claim = parse_claim(&payload)?;
    if claim.critical.image.manifest_digest != expected_digest {
        return Err(SignatureError::DigestMismatch {
            signed: claim.critical.image.manifest_digest,
            expected: expected_digest.to_string(),
        });
    }
    Ok(SignedClaim {
        docker_reference: claim.critical.identity.docker_reference,
        manifest_digest: claim.critical.image.manifest_digest,
        signer,
        creator: claim.optional.creator,
    })
}

/// Parses the message and unwraps its compression down to the signed layer.
fn open_message(bytes: &[u8]) -> Result<Message<'_>, SignatureError> {
    let parsed = if bytes.trim_ascii_start().starts_with(b"-----BEGIN PGP") {
        Message::from_armor(bytes).map(|(message, _headers)| message)
    } else {
        Message::from_bytes(bytes)
    };
    let mut message = parsed.map_err(|e| malformed(e.to_string()))?;
    for _ in 0..MAX_COMPRESSION_LAYERS {
        if !message.is_compressed() {
            break;
        }
        message = message.decompress().map_err(|e| malformed(e.to_string()))?;
    }
    match message {
        Message::Signed { .. } => message.decompress().map_err(|e| malformed(e.to_string())),
        Message::Compressed { .. } => Err(malformed(format!(
            "more than {MAX_COMPRESSION_LAYERS} compression layers"
        ))),
        Message::Encrypted { .. } => Err(malformed("the message is encrypted, not signed")),
        Message::Literal { .. } => Err(malformed("the message holds no signature")),
    }
}

/// Reads the literal data to its end, which lets the signatures be checked.
fn read_payload(message: &mut Message<'_>) -> Result<Vec<u8>, SignatureError> {
    let mut payload = Vec::new();
    message
        .by_ref()
        .take(MAX_PAYLOAD + 1)
        .read_to_end(&mut payload)
        .map_err(|e| malformed(e.to_string()))?;
    if payload.len() as u64 > MAX_PAYLOAD {
        return Err(malformed(format!(
            "the signed data is larger than {} KiB",
            MAX_PAYLOAD / 1024
        )));
    }
    Ok(payload)
}

/// A key of the keyring that may have made a signature: a primary key or one of its signing subkeys.
enum Candidate<'k> {
    Primary(&'k PublicKey),
    Subkey(&'k PublicSubkey),
}

impl Candidate<'_> {
    fn verifies(&self, signature: &Signature, payload: &[u8]) -> bool {
        match self {
            Candidate::Primary(key) => signature.verify(*key, payload).is_ok(),
            Candidate::Subkey(key) => signature.verify(*key, payload).is_ok(),
        }
    }
}

/// The signature packets of a message read to its end.
fn signatures_of<'m>(message: &'m Message<'_>) -> Result<Vec<&'m Signature>, SignatureError> {
    let Message::Signed { reader, .. } = message else {
        return Err(malformed("the message holds no signature"));
    };
    let signatures = reader
        .signatures()
        .ok_or_else(|| malformed("the signed data was not read to its end"))?;
    if signatures.is_empty() {
        return Err(malformed("the message holds no signature"));
    }
    Ok(signatures.iter().map(FullSignaturePacket::signature).collect())
}

/// The fingerprint of the key behind the first signature of `payload` that verifies; else why the first one failed.
///
/// Each signature is checked over the literal data as a document signature is (which is what a one-pass signature
/// packet announces), so that the version 3 signatures of Red Hat's older releases verify too.
fn check_signatures(signatures: &[&Signature], payload: &[u8], keyring: &Keyring) -> Result<String, SignatureError> {
    let mut first_error = None;
    for signature in signatures {
        match check_signature(signature, payload, keyring) {
            Ok(signer) => return Ok(signer),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| malformed("the message holds no signature")))
}

fn check_signature(signature: &Signature, payload: &[u8], keyring: &Keyring) -> Result<String, SignatureError> {
    let key_id = issuer_label(signature);
    if !matches!(signature.typ(), Some(SignatureType::Binary | SignatureType::Text)) {
        return Err(malformed(format!(
            "the signature by key {key_id} is not a document signature"
        )));
    }
    let candidates = keyring.candidates(signature);
    if candidates.is_empty() {
        return Err(SignatureError::UnknownSigner {
            key_id,
            known: keyring.key_ids(),
        });
    }
    let hash = signature.hash_alg();
    if !hash.is_some_and(is_strong_hash) {
        let hash = hash.map_or_else(|| "unknown".to_string(), |hash| hash.to_string());
        return Err(SignatureError::WeakHash { key_id, hash });
    }
    candidates
        .into_iter()
        .find(|(_, key)| key.verifies(signature, payload))
        .map(|(signer, _)| signer)
        .ok_or(SignatureError::BadSignature { key_id })
}

fn is_strong_hash(hash: HashAlgorithm) -> bool {
    matches!(
        hash,
        HashAlgorithm::Sha256
            | HashAlgorithm::Sha384
            | HashAlgorithm::Sha512
            | HashAlgorithm::Sha224
            | HashAlgorithm::Sha3_256
            | HashAlgorithm::Sha3_512
    )
}

/// Whether `signature` names `key` as its issuer; one naming no issuer may be from any key.
fn is_issuer(signature: &Signature, key: &impl KeyDetails) -> bool {
    let ids = signature.issuer_key_id();
    let fingerprints = signature.issuer_fingerprint();
    if ids.is_empty() && fingerprints.is_empty() {
        return true;
    }
    ids.iter().any(|id| **id == key.legacy_key_id()) || fingerprints.iter().any(|fp| **fp == key.fingerprint())
}

/// The signing key as the signature names it: its key id, else its fingerprint.
fn issuer_label(signature: &Signature) -> String {
    if let Some(id) = signature.issuer_key_id().first() {
        return upper_hex(id.as_ref());
    }
    match signature.issuer_fingerprint().first() {
        Some(fingerprint) => upper_hex(fingerprint.as_bytes()),
        None => "(unnamed)".to_string(),
    }
}

/// The claim of a containers/image simple signature. `critical` is read strictly, as the format requires.
#[derive(Deserialize)]
struct Claim {
    critical: Critical,
    #[serde(default)]
    optional: Optional,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Critical {
    #[serde(rename = "type")]
    _kind: String,
    image: Image,
    identity: Identity,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    manifest_digest: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Deserialize, Default)]
struct Optional {
    creator: Option<String>,
}

/// Just `critical.type`, read first so that a claim of another kind is named as such.
#[derive(Deserialize)]
struct TypeProbe {
    critical: KindOnly,
}

#[derive(Deserialize)]
struct KindOnly {
    #[serde(rename = "type")]
    kind: String,
}

fn parse_claim(payload: &[u8]) -> Result<Claim, SignatureError> {
    let invalid = |e: serde_json::Error| SignatureError::InvalidClaim { reason: e.to_string() };
    let probe: TypeProbe = serde_json::from_slice(payload).map_err(invalid)?;
    if probe.critical.kind != CLAIM_TYPE {
        return Err(SignatureError::WrongType {
            found: probe.critical.kind,
        });
    }
    serde_json::from_slice(payload).map_err(invalid)
}

/// Splits a keyring file into its public key blocks, each from its BEGIN line through its END line.
fn key_blocks(text: &str) -> Result<Vec<&str>, String> {
    let starts: Vec<usize> = text.match_indices(KEY_BLOCK_BEGIN).map(|(at, _)| at).collect();
    if starts.is_empty() {
        return Err(format!("no `{KEY_BLOCK_BEGIN}` line"));
    }
    let mut blocks = Vec::new();
    for (index, start) in starts.iter().enumerate() {
        let rest = &text[*start..starts.get(index + 1).copied().unwrap_or(text.len())];
        let Some(end) = rest.find(KEY_BLOCK_END) else {
            return Err(format!("block {} has no `{KEY_BLOCK_END}` line", index + 1));
        };
        blocks.push(&rest[..end + KEY_BLOCK_END.len()]);
    }
    Ok(blocks)
}

/// The keys of one armored block, each with valid self-signatures.
fn parse_key_block(block: &str) -> Result<Vec<SignedPublicKey>, String> {
    let (keys, _headers) = SignedPublicKey::from_string_many(block).map_err(|e| e.to_string())?;
    let keys = keys.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
    if keys.is_empty() {
        return Err("the block holds no public key".to_string());
    }
    for key in &keys {
        key.verify_bindings().map_err(|e| {
            format!(
                "the self-signatures of key {} do not verify: {e}",
                upper_hex(key.fingerprint().as_bytes())
            )
        })?;
    }
    Ok(keys)
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn malformed(reason: impl Into<String>) -> SignatureError {
    SignatureError::Malformed { reason: reason.into() }
}

fn keyring_error(reason: String) -> SignatureError {
    SignatureError::Keyring { reason }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use pgp::bytes::Bytes;
    use pgp::composed::{
        ArmorOptions, KeyType, MessageBuilder, SecretKeyParamsBuilder, SignedSecretKey, SubkeyParamsBuilder,
    };
    use pgp::packet::{LiteralData, OnePassSignature, PacketHeader, PacketTrait};
    use pgp::ser::Serialize;
    use pgp::types::{CompressionAlgorithm, Password, SigningKey, Tag, Timestamp};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    const DIGEST: &str = "sha256:0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363";
    const OTHER_DIGEST: &str = "sha256:37433b71c073c6cbfc8173ec7ab2d99032c8e6d6fe29de06e062d85e33e34531";
    const REFERENCE: &str = "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64";
    /// Recorded in keys/README.md.
    const RELEASE_KEY_2: &str = "567E347AD0044ADE55BA8A5F199E2F91FD431D51";
    const BETA_KEY_2: &str = "B08B659EE86AF623BC90E8DB938A80CAF21541EB";

    fn generate(key_type: KeyType, seed: u64) -> SignedSecretKey {
        let params = SecretKeyParamsBuilder::default()
            .key_type(key_type)
            .can_sign(true)
            .primary_user_id("Release signer <signer@example.com>".to_string())
            .build()
            .unwrap();
        params.generate(StdRng::seed_from_u64(seed)).unwrap()
    }

    /// One RSA key for the whole run: RSA key generation is slow in a debug build (this seed finds its primes early).
    fn rsa_key() -> &'static SignedSecretKey {
        static KEY: OnceLock<SignedSecretKey> = OnceLock::new();
        KEY.get_or_init(|| generate(KeyType::Rsa(2048), 5))
    }

    fn ed_key(seed: u64) -> SignedSecretKey {
        generate(KeyType::Ed25519, seed)
    }

    fn claim(kind: &str, digest: &str) -> String {
        serde_json::json!({
            "critical": {
                "identity": {"docker-reference": REFERENCE},
                "image": {"docker-manifest-digest": digest},
                "type": kind,
            },
            "optional": {"creator": "Red Hat OpenShift Signing Authority 0.0.1"},
        })
        .to_string()
    }

    fn builder<'a>(key: &'a SignedSecretKey, payload: &str, hash: HashAlgorithm) -> MessageBuilder<'a> {
        let mut builder = MessageBuilder::from_bytes("", payload.to_string().into_bytes());
        builder.sign(&key.primary_key, Password::empty(), hash);
        builder
    }

    /// A binary signed message over `payload`, as `gpg --sign` writes it (ZIP-compressed, like Red Hat's).
    fn sign(key: &SignedSecretKey, payload: &str) -> Vec<u8> {
        let mut builder = builder(key, payload, HashAlgorithm::Sha256);
        builder.compression(CompressionAlgorithm::ZIP);
        builder.to_vec(StdRng::seed_from_u64(7)).unwrap()
    }

    fn sign_uncompressed(key: &SignedSecretKey, payload: &str) -> Vec<u8> {
        builder(key, payload, HashAlgorithm::Sha256)
            .to_vec(StdRng::seed_from_u64(7))
            .unwrap()
    }

    /// A one-pass signed message with a version 3 signature packet, as Red Hat signed releases until 2023. With
    /// `short_first_chunk`, the literal data is sent in partial chunks of which the first is 2 bytes long, as Go's
    /// openpgp package writes them (the OpenShift release controller's signatures).
    fn sign_v3(key: &SignedSecretKey, payload: &str, short_first_chunk: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let ops = OnePassSignature::v3(
            SignatureType::Binary,
            HashAlgorithm::Sha256,
            key.algorithm(),
            key.legacy_key_id(),
        );
        ops.to_writer_with_header(&mut out).unwrap();
        if short_first_chunk {
            out.extend(literal_in_chunks(payload.as_bytes()));
        } else {
            let literal = LiteralData::from_bytes("", Bytes::from(payload.to_string())).unwrap();
            literal.to_writer_with_header(&mut out).unwrap();
        }
        v3_signature(key, payload.as_bytes())
            .to_writer_with_header(&mut out)
            .unwrap();
        out
    }

    /// A version 3 binary document signature (the crate makes none with a version 4 key, so it is made by hand).
    fn v3_signature(key: &SignedSecretKey, data: &[u8]) -> Signature {
        let created = Timestamp::from_secs(1_659_345_427);
        let hashed = [data, &[0x00], &created.as_secs().to_be_bytes()].concat();
        let digest = HashAlgorithm::Sha256.digest(&hashed).unwrap();
        let bytes = key
            .primary_key
            .sign(&Password::empty(), HashAlgorithm::Sha256, &digest)
            .unwrap();
        let packet = |header| {
            let (typ, hash, prefix) = (SignatureType::Binary, HashAlgorithm::Sha256, [digest[0], digest[1]]);
            Signature::v3(
                header,
                typ,
                key.algorithm(),
                hash,
                created,
                key.legacy_key_id(),
                prefix,
                bytes.clone(),
            )
        };
        let length = packet(PacketHeader::new_fixed(Tag::Signature, 0)).write_len();
        packet(PacketHeader::new_fixed(Tag::Signature, length as u32))
    }

    /// A binary literal data packet (new format) whose body is a 2-byte partial chunk then a final chunk.
    fn literal_in_chunks(data: &[u8]) -> Vec<u8> {
        let body = [b"b\0\0\0\0\0".as_slice(), data].concat();
        let rest = body.len() - 2;
        assert!((192..8384).contains(&rest));
        let length = [((rest - 192) >> 8) as u8 + 192, ((rest - 192) & 0xFF) as u8];
        [[0xCB, 0xE1].as_slice(), &body[..2], &length, &body[2..]].concat()
    }

    fn armored_public(key: &SignedSecretKey) -> String {
        key.to_public_key().to_armored_string(ArmorOptions::default()).unwrap()
    }

    fn keyring_of(keys: &[&SignedSecretKey]) -> Keyring {
        let text: String = keys.iter().map(|key| armored_public(key)).collect();
        Keyring::from_armored(&text).unwrap()
    }

    fn fingerprint_of(key: &SignedSecretKey) -> String {
        upper_hex(key.fingerprint().as_bytes())
    }

    fn id_of(key: &SignedSecretKey) -> String {
        upper_hex(key.legacy_key_id().as_ref())
    }

    #[test]
    fn an_rsa_signature_verifies_and_returns_the_claim() {
        let key = rsa_key();
        let signature = sign(key, &claim(CLAIM_TYPE, DIGEST));
        let verified = verify(&signature, &keyring_of(&[key]), DIGEST).unwrap();
        let expected = SignedClaim {
            docker_reference: REFERENCE.to_string(),
            manifest_digest: DIGEST.to_string(),
            signer: fingerprint_of(key),
            creator: Some("Red Hat OpenShift Signing Authority 0.0.1".to_string()),
        };
        assert_eq!(verified, expected);
    }

    #[test]
    fn uncompressed_and_armored_signatures_verify() {
        let key = ed_key(2);
        let keyring = keyring_of(&[&key]);
        let payload = claim(CLAIM_TYPE, DIGEST);
        let uncompressed = sign_uncompressed(&key, &payload);
        assert_eq!(
            verify(&uncompressed, &keyring, DIGEST).unwrap().signer,
            fingerprint_of(&key)
        );
        let armored = builder(&key, &payload, HashAlgorithm::Sha512)
            .to_armored_string(StdRng::seed_from_u64(7), ArmorOptions::default())
            .unwrap();
        assert_eq!(
            verify(armored.as_bytes(), &keyring, DIGEST).unwrap().manifest_digest,
            DIGEST
        );
    }

    #[test]
    fn version_3_signatures_verify() {
        let key = rsa_key();
        let keyring = keyring_of(&[key]);
        let signature = sign_v3(key, &claim(CLAIM_TYPE, DIGEST), false);
        assert_eq!(
            verify(&signature, &keyring, DIGEST).unwrap().signer,
            fingerprint_of(key)
        );
        let mut altered = signature;
        let at = find(&altered, b"docker-reference") + 2;
        altered[at] = b'X';
        let error = verify(&altered, &keyring, DIGEST).unwrap_err();
        assert!(matches!(error, SignatureError::BadSignature { .. }), "{error}");
    }

    /// Needs the `malformed-artifact-compat` feature of `pgp`.
    #[test]
    fn literal_data_with_a_short_first_chunk_verifies() {
        let key = rsa_key();
        let signature = sign_v3(key, &claim(CLAIM_TYPE, DIGEST), true);
        assert_eq!(
            verify(&signature, &keyring_of(&[key]), DIGEST).unwrap().manifest_digest,
            DIGEST
        );
    }

    #[test]
    fn a_signature_by_a_signing_subkey_names_the_primary_key() {
        let mut subkey = SubkeyParamsBuilder::default();
        subkey.key_type(KeyType::Ed25519).can_sign(true);
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519)
            .can_certify(true)
            .primary_user_id("Release signer <signer@example.com>".to_string())
            .subkey(subkey.build().unwrap())
            .build()
            .unwrap();
        let key = params.generate(StdRng::seed_from_u64(20)).unwrap();
        let mut builder = MessageBuilder::from_bytes("", claim(CLAIM_TYPE, DIGEST).into_bytes());
        builder.sign(&key.secret_subkeys[0].key, Password::empty(), HashAlgorithm::Sha256);
        let signature = builder.to_vec(StdRng::seed_from_u64(7)).unwrap();
        assert_eq!(
            verify(&signature, &keyring_of(&[&key]), DIGEST).unwrap().signer,
            fingerprint_of(&key)
        );
    }

    #[test]
    fn the_signer_is_found_among_several_keys() {
        let (first, second) = (ed_key(3), ed_key(4));
        let signature = sign(&second, &claim(CLAIM_TYPE, DIGEST));
        let verified = verify(&signature, &keyring_of(&[&first, &second]), DIGEST).unwrap();
        assert_eq!(verified.signer, fingerprint_of(&second));
    }

    #[test]
    fn a_signature_by_a_key_outside_the_keyring_is_refused_naming_the_key() {
        let (trusted, stranger) = (ed_key(5), ed_key(6));
        let signature = sign(&stranger, &claim(CLAIM_TYPE, DIGEST));
        let error = verify(&signature, &keyring_of(&[&trusted]), DIGEST).unwrap_err();
        assert!(matches!(&error, SignatureError::UnknownSigner { key_id, .. } if *key_id == id_of(&stranger)));
        let message = error.to_string();
        assert!(
            message.contains(&id_of(&stranger)) && message.contains(&id_of(&trusted)),
            "{message}"
        );
        assert!(message.contains("help: "), "{message}");
    }

    #[test]
    fn altered_literal_data_is_refused() {
        let key = rsa_key();
        let mut signature = sign_uncompressed(key, &claim(CLAIM_TYPE, DIGEST));
        let at = find(&signature, b"sha256:0da6") + "sha256:".len();
        signature[at] = b'1';
        let error = verify(
            &signature,
            &keyring_of(&[key]),
            "sha256:1da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363",
        )
        .unwrap_err();
        assert!(
            matches!(&error, SignatureError::BadSignature { key_id } if *key_id == id_of(key)),
            "{error}"
        );
        assert!(error.to_string().contains("altered"), "{error}");
    }

    #[test]
    fn altered_signature_bytes_are_refused() {
        for key in [rsa_key(), &ed_key(7)] {
            let mut signature = sign_uncompressed(key, &claim(CLAIM_TYPE, DIGEST));
            let last = signature.len() - 1;
            signature[last] ^= 0x55;
            let error = verify(&signature, &keyring_of(&[key]), DIGEST).unwrap_err();
            assert!(matches!(error, SignatureError::BadSignature { .. }), "{error}");
        }
    }

    #[test]
    fn a_signature_of_another_digest_is_refused_naming_both() {
        let key = ed_key(8);
        let signature = sign(&key, &claim(CLAIM_TYPE, OTHER_DIGEST));
        let error = verify(&signature, &keyring_of(&[&key]), DIGEST).unwrap_err();
        assert!(matches!(error, SignatureError::DigestMismatch { .. }), "{error}");
        let expected = format!("signs {OTHER_DIGEST} but the release is {DIGEST}");
        assert!(error.to_string().contains(&expected), "{error}");
    }

    #[test]
    fn a_claim_of_another_type_is_refused() {
        let key = ed_key(9);
        let signature = sign(&key, &claim("cosign container image signature", DIGEST));
        let error = verify(&signature, &keyring_of(&[&key]), DIGEST).unwrap_err();
        assert!(matches!(&error, SignatureError::WrongType { found } if found == "cosign container image signature"));
    }

    #[test]
    fn a_payload_that_is_not_a_json_claim_is_refused() {
        let key = ed_key(10);
        let keyring = keyring_of(&[&key]);
        let unknown_field = claim(CLAIM_TYPE, DIGEST).replace("\"type\"", "\"extra\":1,\"type\"");
        for payload in [
            "release 4.15.0 is fine",
            "{\"critical\": {\"type\": \"atomic container signature\"}}",
            &unknown_field,
        ] {
            let error = verify(&sign(&key, payload), &keyring, DIGEST).unwrap_err();
            assert!(
                matches!(error, SignatureError::InvalidClaim { .. }),
                "{payload}: {error}"
            );
        }
    }

    #[test]
    fn a_weak_hash_is_refused() {
        let key = rsa_key();
        let signature = builder(key, &claim(CLAIM_TYPE, DIGEST), HashAlgorithm::Sha1).to_vec(StdRng::seed_from_u64(7));
        let error = verify(&signature.unwrap(), &keyring_of(&[key]), DIGEST).unwrap_err();
        assert!(
            matches!(&error, SignatureError::WeakHash { hash, .. } if hash == "SHA1"),
            "{error}"
        );
    }

    #[test]
    fn data_that_is_not_a_signed_message_is_refused() {
        let key = ed_key(12);
        let keyring = keyring_of(&[&key]);
        let unsigned = MessageBuilder::from_bytes("", claim(CLAIM_TYPE, DIGEST).into_bytes());
        let unsigned = unsigned.to_vec(StdRng::seed_from_u64(7)).unwrap();
        let truncated = sign(&key, &claim(CLAIM_TYPE, DIGEST))[..40].to_vec();
        let armored_key = armored_public(&key).into_bytes();
        for bytes in [
            unsigned,
            truncated,
            armored_key,
            b"not a signature".to_vec(),
            Vec::new(),
        ] {
            let error = verify(&bytes, &keyring, DIGEST).unwrap_err();
            assert!(matches!(error, SignatureError::Malformed { .. }), "{error}");
        }
    }

    #[test]
    fn an_oversized_payload_is_refused() {
        let key = ed_key(13);
        let payload = " ".repeat(MAX_PAYLOAD as usize + 1);
        let error = verify(&sign(&key, &payload), &keyring_of(&[&key]), DIGEST).unwrap_err();
        assert!(error.to_string().contains("larger than 64 KiB"), "{error}");
    }

    #[test]
    fn the_embedded_keyring_holds_red_hats_release_and_beta_keys() {
        let keyring = Keyring::embedded().unwrap();
        assert_eq!(keyring.fingerprints(), [RELEASE_KEY_2, BETA_KEY_2]);
    }

    #[test]
    fn a_signature_by_a_test_key_is_not_trusted_by_the_embedded_keyring() {
        let key = ed_key(14);
        let error = verify(
            &sign(&key, &claim(CLAIM_TYPE, DIGEST)),
            &Keyring::embedded().unwrap(),
            DIGEST,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("199E2F91FD431D51, 938A80CAF21541EB"),
            "{error}"
        );
    }

    #[test]
    fn an_armored_keyring_may_hold_several_blocks_and_surrounding_text() {
        let (first, second) = (ed_key(15), ed_key(16));
        let text = format!(
            "# trusted keys\n{}\nsome note\n{}",
            armored_public(&first),
            armored_public(&second)
        );
        let keyring = Keyring::from_armored(&text).unwrap();
        assert_eq!(
            keyring.fingerprints(),
            [fingerprint_of(&first), fingerprint_of(&second)]
        );
        let both = format!("{}{}", EMBEDDED_KEYS[0].1, EMBEDDED_KEYS[1].1);
        assert_eq!(
            Keyring::from_armored(&both).unwrap().fingerprints(),
            [RELEASE_KEY_2, BETA_KEY_2]
        );
    }

    #[test]
    fn a_bad_keyring_file_is_refused() {
        let key = armored_public(&ed_key(17));
        let truncated = &key[..key.len() / 2];
        let corrupted = key.replacen("\n\n", "\n\n!!!!", 1);
        let secret = rsa_key().to_armored_string(ArmorOptions::default()).unwrap();
        for text in [
            "",
            "garbage",
            truncated,
            &corrupted,
            &secret,
            &format!("{KEY_BLOCK_BEGIN}\n\n{KEY_BLOCK_END}\n"),
        ] {
            let error = Keyring::from_armored(text).unwrap_err();
            assert!(matches!(error, SignatureError::Keyring { .. }), "{text}: {error}");
            assert!(error.to_string().contains("OCP_SIGNATURE_VERIFICATION_PK"), "{error}");
        }
    }

    fn find(haystack: &[u8], needle: &[u8]) -> usize {
        haystack
            .windows(needle.len())
            .position(|window| window == needle)
            .unwrap()
    }
}
