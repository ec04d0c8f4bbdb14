//! Release signatures made at test time: an Ed25519 key of the test's own, and binary signed messages over the
//! "atomic container signature" claim, as Red Hat's signature store serves them.

use pgp::composed::{ArmorOptions, KeyType, MessageBuilder, SecretKeyParamsBuilder, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{CompressionAlgorithm, Password};
use rand::rngs::StdRng;
use rand::SeedableRng;

pub struct ReleaseSigner {
    key: SignedSecretKey,
}

impl ReleaseSigner {
    /// A signing key from `seed` (the same seed, the same key).
    pub fn new(seed: u64) -> ReleaseSigner {
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519)
            .can_sign(true)
            .primary_user_id("Test release signer <signer@example.com>".to_string())
            .build()
            .unwrap();
        ReleaseSigner {
            key: params.generate(StdRng::seed_from_u64(seed)).unwrap(),
        }
    }

    /// The public key, armored: what `OCP_SIGNATURE_VERIFICATION_PK` names.
    pub fn public_armored(&self) -> String {
        self.key
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .unwrap()
    }

    /// A signature claiming that `reference` is the image with manifest `digest`.
    pub fn sign(&self, reference: &str, digest: &str) -> Vec<u8> {
        let claim = serde_json::json!({
            "critical": {
                "identity": {"docker-reference": reference},
                "image": {"docker-manifest-digest": digest},
                "type": "atomic container signature",
            },
            "optional": {"creator": "test release signer"},
        })
        .to_string();
        let mut builder = MessageBuilder::from_bytes("", claim.into_bytes());
        builder.sign(&self.key.primary_key, Password::empty(), HashAlgorithm::Sha256);
        builder.compression(CompressionAlgorithm::ZIP);
        builder.to_vec(StdRng::seed_from_u64(7)).unwrap()
    }
}
