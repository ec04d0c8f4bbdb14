//! Where release signatures come from: the signature store (`OCP_SIGNATURE_URL`, else mirror.openshift.com), the
//! keyring that must have signed them (`OCP_SIGNATURE_VERIFICATION_PK`, else Red Hat's release keys), and the cache
//! in `working-dir/signatures/` that holds each signature once verified, so a re-run does not fetch it again.

use std::path::{Path, PathBuf};

use super::signature::{self, Keyring, SignatureError};
use super::ReleaseError;
use crate::registry::{DocumentClient, DocumentError};

/// The environment variable naming the signature store's base URL (as oc-mirror).
pub(crate) const SIGNATURE_URL_ENV: &str = "OCP_SIGNATURE_URL";
/// The environment variable naming an armored public keyring file that replaces Red Hat's keys (as oc-mirror).
pub(crate) const VERIFICATION_KEY_ENV: &str = "OCP_SIGNATURE_VERIFICATION_PK";
/// Red Hat's release signature store.
pub(crate) const DEFAULT_SIGNATURE_URL: &str =
    "https://mirror.openshift.com/pub/openshift-v4/signatures/openshift/release/";

/// A verified release signature.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedSignature {
    /// The raw signature as the store serves it (what the cluster's ConfigMap carries).
    pub bytes: Vec<u8>,
    /// The fingerprint of the key that signed it.
    pub signer: String,
}

/// The signature store, the keyring and the cache of one run.
pub(crate) struct SignatureStore {
    base: String,
    keyring: Keyring,
    cache: PathBuf,
    client: DocumentClient,
}

impl SignatureStore {
    /// The store and keyring the environment names (else the defaults); signatures are cached in `cache`.
    pub(crate) fn from_env(cache: PathBuf, client: DocumentClient) -> Result<SignatureStore, ReleaseError> {
        let keyring = match std::env::var_os(VERIFICATION_KEY_ENV).filter(|v| !v.is_empty()) {
            Some(path) => keyring_file(Path::new(&path))?,
            None => Keyring::embedded().map_err(|source| ReleaseError::Keyring {
                path: "the embedded Red Hat release keys".into(),
                source: Box::new(source),
            })?,
        };
        let base = match std::env::var(SIGNATURE_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => url.trim().to_string(),
            _ => DEFAULT_SIGNATURE_URL.to_string(),
        };
        Ok(SignatureStore {
            base,
            keyring,
            cache,
            client,
        })
    }

    /// `<base>/sha256=<hex>/signature-1`
    pub(crate) fn url(&self, digest: &str) -> String {
        let hex = digest.trim_start_matches("sha256:");
        format!("{}/sha256={hex}/signature-1", self.base.trim_end_matches('/'))
    }

    /// The first signature of the release `digest`, verified: from the cache when it holds it, else from the store.
    pub(crate) async fn verified(
        &self,
        image: &str,
        digest: &str,
        on_retry: &(dyn Fn(u32, &str) + Sync),
    ) -> Result<VerifiedSignature, ReleaseError> {
        let cached = self.cache_path(digest);
        if let Ok(bytes) = std::fs::read(&cached) {
            if let Ok(claim) = signature::verify(&bytes, &self.keyring, digest) {
                return Ok(VerifiedSignature {
                    bytes,
                    signer: claim.signer,
                });
            }
        }
        let url = self.url(digest);
        let bytes = self
            .client
            .get(&url, "application/octet-stream, */*", on_retry)
            .await
            .map_err(|source| fetch_error(image, &url, source))?
            .to_vec();
        let claim = signature::verify(&bytes, &self.keyring, digest).map_err(|source| ReleaseError::Signature {
            image: image.to_string(),
            url: url.clone(),
            source: Box::new(source),
        })?;
        // The cache is a convenience: a release whose signature cannot be cached is still verified.
        let _ = std::fs::create_dir_all(&self.cache).and_then(|()| std::fs::write(&cached, &bytes));
        Ok(VerifiedSignature {
            bytes,
            signer: claim.signer,
        })
    }

    fn cache_path(&self, digest: &str) -> PathBuf {
        self.cache
            .join(format!("sha256-{}-1", digest.trim_start_matches("sha256:")))
    }
}

fn keyring_file(path: &Path) -> Result<Keyring, ReleaseError> {
    let keyring_error = |source: SignatureError| ReleaseError::Keyring {
        path: path.display().to_string(),
        source: Box::new(source),
    };
    let text = std::fs::read_to_string(path).map_err(|e| ReleaseError::KeyringFile {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    Keyring::from_armored(&text).map_err(keyring_error)
}

fn fetch_error(image: &str, url: &str, source: DocumentError) -> ReleaseError {
    ReleaseError::SignatureMissing {
        image: image.to_string(),
        url: url.to_string(),
        source: Box::new(source),
    }
}
