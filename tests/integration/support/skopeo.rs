//! skopeo, the independent peer: load fixtures into registries and check what ferry produced (`inspect --raw`).
//!
//! Every call passes `--insecure-policy` (no dependency on /etc/containers/policy.json) and skips TLS verification /
//! allows plain HTTP, so the helpers work against any `TestRegistry`. References are full skopeo references:
//! `docker://127.0.0.1:PORT/repo:tag`, `docker://HOST/repo@sha256:...`, `oci:DIR:TAG`.

use sha2::{Digest as _, Sha256};
use std::process::{Command, Output};

/// Registry credentials: `Some((user, password))` or anonymous.
pub type Creds<'a> = Option<(&'a str, &'a str)>;

/// Runs `skopeo --insecure-policy ARGS...`; `Err` carries the command and its stderr/stdout when it fails.
pub fn skopeo(args: &[&str]) -> Result<Output, String> {
    let out = Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run skopeo (Debian package skopeo; run scripts/test.sh to install it): {e}")
        });
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "skopeo {} failed ({}):\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ))
    }
}

/// `skopeo copy --all --preserve-digests` from `src` to `dest`, without TLS verification; panics on failure.
pub fn skopeo_copy_all(src: &str, dest: &str) {
    try_skopeo_copy_all(src, dest, None, None).unwrap_or_else(|e| panic!("{e}"));
}

/// Like `skopeo_copy_all` with optional source/destination credentials; returns skopeo's error output on failure.
pub fn try_skopeo_copy_all(src: &str, dest: &str, src_creds: Creds, dest_creds: Creds) -> Result<(), String> {
    let mut args: Vec<String> = [
        "copy",
        "--all",
        "--preserve-digests",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
    ]
    .map(String::from)
    .to_vec();
    if let Some((u, p)) = src_creds {
        args.push(format!("--src-creds={u}:{p}"));
    }
    if let Some((u, p)) = dest_creds {
        args.push(format!("--dest-creds={u}:{p}"));
    }
    args.push(src.to_string());
    args.push(dest.to_string());
    skopeo(&args.iter().map(String::as_str).collect::<Vec<_>>()).map(|_| ())
}

/// The exact manifest/index bytes stored for `reference` (`skopeo inspect --raw --tls-verify=false`).
pub fn skopeo_inspect_raw(reference: &str) -> Result<Vec<u8>, String> {
    skopeo_inspect_raw_with_creds(reference, None)
}

pub fn skopeo_inspect_raw_with_creds(reference: &str, creds: Creds) -> Result<Vec<u8>, String> {
    let creds_arg = creds.map(|(u, p)| format!("--creds={u}:{p}"));
    let mut args = vec!["inspect", "--raw", "--tls-verify=false"];
    if let Some(c) = &creds_arg {
        args.push(c);
    }
    args.push(reference);
    skopeo(&args).map(|out| out.stdout)
}

/// `skopeo inspect --raw` parsed as JSON; panics on failure.
pub fn skopeo_inspect_json(reference: &str) -> serde_json::Value {
    let raw = skopeo_inspect_raw(reference).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_slice(&raw).unwrap_or_else(|e| panic!("{reference}: manifest is not JSON: {e}"))
}

/// "sha256:<hex>" of the given bytes (a manifest's digest is the sha256 of its exact bytes).
pub fn manifest_digest(bytes: &[u8]) -> String {
    sha256_digest(bytes)
}

/// "sha256:<hex>" of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in hash.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
