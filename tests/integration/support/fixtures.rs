//! Test images generated at test time: OCI image layouts on disk (OCI and Docker v2s2 manifests, indexes, nested
//! indexes, attestations) built by `LayoutBuilder`, deterministic content, and pushing a layout into a registry.
//!
//! Layer content is deterministic: `random_bytes(seed, len)` gives the same bytes for the same seed, so two images share
//! a layer exactly when they are built from the same (seed, len). Layers are stored gzip-wrapped (deflate "stored"
//! blocks, mtime 0) so they are valid `tar+gzip` blobs whose config `diff_ids` are right; JSON documents are written
//! pretty-printed, so any re-serialization by the code under test changes their digest.

use super::http::{self, basic_auth, location_target};
use super::skopeo::{sha256_digest, try_skopeo_copy_all, Creds};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const IN_TOTO: &str = "application/vnd.in-toto+json";
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const ATTESTATION_DIGEST: &str = "vnd.docker.reference.digest";
pub const ATTESTATION_TYPE: &str = "vnd.docker.reference.type";

/// An OS/architecture/variant triple.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// From `(os, arch, variant)`, the tuple the builder methods take.
    pub fn new((os, architecture, variant): (&str, &str, Option<&str>)) -> Self {
        Platform {
            os: os.into(),
            architecture: architecture.into(),
            variant: variant.map(Into::into),
        }
    }

    /// From "linux/arm64/v8" or "linux/amd64".
    pub fn parse(s: &str) -> Self {
        let parts: Vec<&str> = s.split('/').collect();
        assert!(matches!(parts.len(), 2 | 3), "platform {s:?} is not OS/ARCH[/VARIANT]");
        Platform::new((parts[0], parts[1], parts.get(2).copied()))
    }

    fn to_json(&self) -> Value {
        let mut p = json!({ "architecture": self.architecture, "os": self.os });
        if let Some(v) = &self.variant {
            p["variant"] = json!(v);
        }
        p
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// An OCI content descriptor. `platform` and `annotations` are what an index entry pointing at it carries.
#[derive(Clone, Debug, PartialEq)]
pub struct Descriptor {
    pub media_type: String,
    /// "sha256:<hex>"
    pub digest: String,
    pub size: u64,
    pub platform: Option<Platform>,
    pub annotations: Vec<(String, String)>,
}

impl Descriptor {
    pub fn to_json(&self) -> Value {
        let mut d = json!({ "mediaType": self.media_type, "digest": self.digest, "size": self.size });
        if let Some(p) = &self.platform {
            d["platform"] = p.to_json();
        }
        if !self.annotations.is_empty() {
            let mut a = serde_json::Map::new();
            for (k, v) in &self.annotations {
                a.insert(k.clone(), json!(v));
            }
            d["annotations"] = Value::Object(a);
        }
        d
    }

    pub fn is_index(&self) -> bool {
        self.media_type == OCI_INDEX || self.media_type == DOCKER_LIST
    }

    /// The hex part of the digest.
    pub fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }
}

/// Writes an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/*`) into a directory.
pub struct LayoutBuilder {
    dir: PathBuf,
    /// index.json entries (tagged descriptors).
    tags: Vec<Value>,
}

impl LayoutBuilder {
    /// Creates the layout skeleton in `dir` (created if missing); keeps the tags of an existing index.json.
    pub fn new(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        fs::write(dir.join("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}").unwrap();
        let tags = fs::read(dir.join("index.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v["manifests"].as_array().cloned())
            .unwrap_or_default();
        let builder = LayoutBuilder { dir, tags };
        builder.write_index_json();
        builder
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        self.dir.join("blobs/sha256").join(digest.trim_start_matches("sha256:"))
    }

    pub fn read_blob(&self, digest: &str) -> Vec<u8> {
        fs::read(self.blob_path(digest)).unwrap_or_else(|e| panic!("blob {digest}: {e}"))
    }

    /// Stores `bytes` as a blob; the descriptor's media type is `application/octet-stream` (change it as needed).
    pub fn add_blob(&self, bytes: &[u8]) -> Descriptor {
        self.add_typed_blob("application/octet-stream", bytes)
    }

    pub fn add_typed_blob(&self, media_type: &str, bytes: &[u8]) -> Descriptor {
        let digest = sha256_digest(bytes);
        let path = self.blob_path(&digest);
        if !path.exists() {
            fs::write(&path, bytes).unwrap();
        }
        Descriptor {
            media_type: media_type.into(),
            digest,
            size: bytes.len() as u64,
            platform: None,
            annotations: Vec::new(),
        }
    }

    fn add_json(&self, media_type: &str, value: &Value) -> Descriptor {
        self.add_typed_blob(media_type, &serde_json::to_vec_pretty(value).unwrap())
    }

    /// Stores `content` (uncompressed layer bytes, ideally a tar from `tar_bytes`) as a gzip layer blob.
    /// Returns the layer descriptor and its diff_id (sha256 of `content`).
    pub fn add_layer(&self, content: &[u8], docker: bool) -> (Descriptor, String) {
        let media_type = if docker { DOCKER_LAYER_GZIP } else { OCI_LAYER_GZIP };
        (
            self.add_typed_blob(media_type, &gzip_stored(content)),
            sha256_digest(content),
        )
    }

    /// An OCI image manifest for `platform` (os, arch, variant) with one gzip layer per entry of `layers`
    /// (uncompressed contents). The returned descriptor carries the platform, ready for `index`.
    pub fn image(&self, platform: (&str, &str, Option<&str>), layers: &[Vec<u8>]) -> Descriptor {
        self.build_image(Platform::new(platform), layers, &[], false)
    }

    /// Like `image`, with config labels (`config.Labels`), e.g. a catalog's
    /// `operators.operatorframework.io.index.configs.v1`.
    pub fn image_with_labels(
        &self,
        platform: (&str, &str, Option<&str>),
        layers: &[Vec<u8>],
        labels: &[(&str, &str)],
    ) -> Descriptor {
        self.build_image(Platform::new(platform), layers, labels, false)
    }

    /// A Docker v2 schema 2 image manifest (Docker config and layer media types).
    pub fn docker_image(&self, platform: (&str, &str, Option<&str>), layers: &[Vec<u8>]) -> Descriptor {
        self.build_image(Platform::new(platform), layers, &[], true)
    }

    fn build_image(&self, platform: Platform, layers: &[Vec<u8>], labels: &[(&str, &str)], docker: bool) -> Descriptor {
        let (layer_descs, diff_ids): (Vec<Descriptor>, Vec<String>) =
            layers.iter().map(|content| self.add_layer(content, docker)).unzip();
        let mut config = platform.to_json();
        if !labels.is_empty() {
            let labels: serde_json::Map<String, Value> =
                labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
            config["config"] = json!({ "Labels": labels });
        }
        config["rootfs"] = json!({ "type": "layers", "diff_ids": diff_ids });
        let config = self.add_json(if docker { DOCKER_CONFIG } else { OCI_CONFIG }, &config);
        let media_type = if docker { DOCKER_MANIFEST } else { OCI_MANIFEST };
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": config.to_json(),
            "layers": layer_descs.iter().map(Descriptor::to_json).collect::<Vec<_>>(),
        });
        Descriptor {
            platform: Some(platform),
            ..self.add_json(media_type, &manifest)
        }
    }

    /// An OCI index (`docker_list == false`) or Docker manifest list over `children`, each entry carrying the child's
    /// platform and annotations. Children may be indexes themselves (nesting).
    pub fn index(&self, children: &[Descriptor], docker_list: bool) -> Descriptor {
        let media_type = if docker_list { DOCKER_LIST } else { OCI_INDEX };
        let index = json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": children.iter().map(Descriptor::to_json).collect::<Vec<_>>(),
        });
        self.add_json(media_type, &index)
    }

    /// A BuildKit-style attestation manifest for `child` (an in-toto SPDX statement layer). The descriptor has
    /// platform `unknown/unknown` and the `vnd.docker.reference.{digest,type}` annotations; put it next to `child`
    /// in an OCI index.
    pub fn attestation_for(&self, child: &Descriptor) -> Descriptor {
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://spdx.dev/Document",
            "subject": [{ "name": "ferry-test", "digest": { "sha256": child.hex() } }],
            "predicate": { "spdxVersion": "SPDX-2.3", "name": format!("sbom of {}", child.digest) },
        });
        let statement = serde_json::to_vec_pretty(&statement).unwrap();
        let mut layer = self.add_typed_blob(IN_TOTO, &statement);
        layer
            .annotations
            .push(("in-toto.io/predicate-type".into(), "https://spdx.dev/Document".into()));
        let config = json!({
            "architecture": "unknown",
            "os": "unknown",
            "config": {},
            "rootfs": { "type": "layers", "diff_ids": [sha256_digest(&statement)] },
        });
        let config = self.add_json(OCI_CONFIG, &config);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.to_json(),
            "layers": [layer.to_json()],
        });
        Descriptor {
            platform: Some(Platform::new(("unknown", "unknown", None))),
            annotations: vec![
                (ATTESTATION_DIGEST.into(), child.digest.clone()),
                (ATTESTATION_TYPE.into(), "attestation-manifest".into()),
            ],
            ..self.add_json(OCI_MANIFEST, &manifest)
        }
    }

    /// Records `descriptor` in index.json under `name` (`org.opencontainers.image.ref.name`), replacing that name.
    pub fn tag(&mut self, descriptor: &Descriptor, name: &str) {
        self.tags.retain(|t| t["annotations"][REF_NAME] != name);
        let entry = Descriptor {
            platform: None,
            annotations: vec![(REF_NAME.into(), name.into())],
            ..descriptor.clone()
        };
        self.tags.push(entry.to_json());
        self.write_index_json();
    }

    fn write_index_json(&self) {
        let index = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.tags });
        fs::write(self.dir.join("index.json"), serde_json::to_vec_pretty(&index).unwrap()).unwrap();
    }
}

/// A multi-arch image made by `multi_arch_image`, tagged `latest` in its layout.
pub struct MultiArchImage {
    pub layout: LayoutBuilder,
    /// The OCI index or Docker manifest list.
    pub index: Descriptor,
    /// One image manifest per platform, in the order given.
    pub manifests: Vec<Descriptor>,
}

impl MultiArchImage {
    pub const TAG: &'static str = "latest";

    /// Pushes it as `host/repo_tag` (see `push_layout`).
    pub fn push(&self, registry_host: &str, repo_tag: &str) {
        push_layout(self.layout.dir(), Self::TAG, registry_host, repo_tag);
    }
}

/// A multi-arch image in a new layout at `dir`: for each platform ("linux/arm64/v8") a manifest with two small
/// layers, one shared by all platforms of this image and one per platform; an OCI index (or Docker manifest list if
/// `docker`) over them, tagged `latest`. Same seed, same bytes; different seeds share no layers.
pub fn multi_arch_image(dir: impl AsRef<Path>, seed: u64, platforms: &[&str], docker: bool) -> MultiArchImage {
    let mut layout = LayoutBuilder::new(dir);
    let shared = random_bytes(seed, 1536);
    let manifests: Vec<Descriptor> = platforms
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let platform = Platform::parse(p);
            let own = random_bytes(seed.wrapping_mul(1_000_003).wrapping_add(i as u64 + 1), 2048 + 64 * i);
            let layers = [shared.clone(), own];
            layout.build_image(platform, &layers, &[], docker)
        })
        .collect();
    let index = layout.index(&manifests, docker);
    layout.tag(&index, MultiArchImage::TAG);
    MultiArchImage {
        layout,
        index,
        manifests,
    }
}

/// Deterministic pseudo-random bytes (splitmix64) from `seed`.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed ^ 0x5EED_F0E5_7E57_DA7A;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// An uncompressed ustar archive of regular files (`path`, content), mode 0644, uid/gid 0, mtime 0.
/// Parent directories are not emitted; paths must be at most 100 bytes.
pub fn tar_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (path, content) in files {
        assert!(path.len() <= 100, "tar_bytes: path {path:?} longer than 100 bytes");
        let mut h = [0u8; 512];
        h[..path.len()].copy_from_slice(path.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", content.len()).as_bytes());
        h[136..148].copy_from_slice(b"00000000000\0");
        h[148..156].copy_from_slice(b"        ");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        let sum: u32 = h.iter().map(|&b| b as u32).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(content);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// A valid gzip stream of `data` using uncompressed deflate blocks (deterministic: mtime 0, no name).
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 65535 * 5 + 32);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut chunks = data.chunks(65535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let len = chunk.len() as u16;
        out.push(u8::from(chunks.peek().is_none()));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    static TABLE: OnceLock<[u32; 256]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            *e = c;
        }
        t
    });
    !data
        .iter()
        .fold(!0u32, |c, &b| table[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8))
}

/// Pushes the tree tagged `tag` in the layout at `layout_dir` to `registry_host` as `repo_tag` ("ns/app:v1" or
/// "ns/app@sha256:..."), keeping every digest. Uses `skopeo copy --all --preserve-digests` when skopeo can read the
/// tree (OCI media types, no index inside an index), else `push_layout_raw` (skopeo 1.9 reads neither Docker media
/// types from an OCI layout nor nested indexes). Panics on failure.
pub fn push_layout(layout_dir: &Path, tag: &str, registry_host: &str, repo_tag: &str) {
    push_layout_with_creds(layout_dir, tag, registry_host, repo_tag, None);
}

pub fn push_layout_with_creds(layout_dir: &Path, tag: &str, registry_host: &str, repo_tag: &str, creds: Creds) {
    let top = tagged_descriptor(layout_dir, tag);
    if skopeo_can_push(layout_dir, &top, 0) {
        let src = format!("oci:{}:{tag}", layout_dir.display());
        let dest = format!("docker://{registry_host}/{repo_tag}");
        try_skopeo_copy_all(&src, &dest, None, creds).unwrap_or_else(|e| panic!("push_layout: {e}"));
    } else {
        push_layout_raw(layout_dir, tag, registry_host, repo_tag, creds);
    }
}

/// Pushes the tree tagged `tag` with plain HTTP requests (blobs: HEAD, then POST + monolithic PUT; manifests: PUT of
/// the exact bytes, children first, the top one under the tag or digest of `repo_tag`). Plain-HTTP registries only.
pub fn push_layout_raw(layout_dir: &Path, tag: &str, registry_host: &str, repo_tag: &str, creds: Creds) {
    let top = tagged_descriptor(layout_dir, tag);
    let (repo, reference) = split_repo_ref(repo_tag);
    let pusher = RawPusher {
        layout: layout_dir,
        host: registry_host,
        repo,
        auth: creds.map(|(u, p)| basic_auth(u, p)),
    };
    pusher.push_tree(&top.media_type, &top.digest, reference);
}

fn tagged_descriptor(layout_dir: &Path, tag: &str) -> Descriptor {
    let index: Value = serde_json::from_slice(&fs::read(layout_dir.join("index.json")).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["annotations"][REF_NAME] == tag)
        .unwrap_or_else(|| panic!("no tag {tag:?} in {}/index.json", layout_dir.display()));
    Descriptor {
        media_type: entry["mediaType"].as_str().unwrap().into(),
        digest: entry["digest"].as_str().unwrap().into(),
        size: entry["size"].as_u64().unwrap(),
        platform: None,
        annotations: Vec::new(),
    }
}

fn skopeo_can_push(layout_dir: &Path, d: &Descriptor, depth: usize) -> bool {
    match d.media_type.as_str() {
        OCI_MANIFEST => true,
        OCI_INDEX if depth == 0 => {
            let index: Value = serde_json::from_slice(&fs::read(layout_blob(layout_dir, &d.digest)).unwrap()).unwrap();
            index["manifests"].as_array().into_iter().flatten().all(|m| {
                let child = Descriptor {
                    media_type: m["mediaType"].as_str().unwrap_or("").into(),
                    digest: m["digest"].as_str().unwrap_or("").into(),
                    size: 0,
                    platform: None,
                    annotations: Vec::new(),
                };
                skopeo_can_push(layout_dir, &child, depth + 1)
            })
        }
        _ => false,
    }
}

fn layout_blob(layout_dir: &Path, digest: &str) -> PathBuf {
    layout_dir
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

/// "ns/app:v1" → ("ns/app", "v1"); "ns/app@sha256:..." → ("ns/app", "sha256:..."); "ns/app" → ("ns/app", "latest").
fn split_repo_ref(repo_ref: &str) -> (&str, &str) {
    if let Some((repo, digest)) = repo_ref.split_once('@') {
        return (repo, digest);
    }
    let slash = repo_ref.rfind('/').map_or(0, |i| i + 1);
    match repo_ref[slash..].rfind(':') {
        Some(i) => (&repo_ref[..slash + i], &repo_ref[slash + i + 1..]),
        None => (repo_ref, "latest"),
    }
}

struct RawPusher<'a> {
    layout: &'a Path,
    host: &'a str,
    repo: &'a str,
    auth: Option<String>,
}

impl RawPusher<'_> {
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> http::Response {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(a) = &self.auth {
            all.push(("Authorization", a));
        }
        http::request(self.host, method, path, &all, body)
            .unwrap_or_else(|e| panic!("push_layout_raw: {method} http://{}{path}: {e}", self.host))
    }

    fn expect(&self, resp: http::Response, ok: &[u16], what: &str) -> http::Response {
        assert!(
            ok.contains(&resp.status()),
            "push_layout_raw: {what}: HTTP {}: {}",
            resp.status(),
            resp.body_text()
        );
        resp
    }

    /// Pushes a manifest (and everything below it) and stores it under `reference` (tag or digest).
    fn push_tree(&self, media_type: &str, digest: &str, reference: &str) {
        let bytes = fs::read(layout_blob(self.layout, digest)).unwrap();
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        if media_type == OCI_INDEX || media_type == DOCKER_LIST {
            for m in doc["manifests"].as_array().into_iter().flatten() {
                let d = m["digest"].as_str().unwrap();
                self.push_tree(m["mediaType"].as_str().unwrap(), d, d);
            }
        } else {
            let blobs = std::iter::once(&doc["config"]).chain(doc["layers"].as_array().into_iter().flatten());
            for b in blobs {
                self.push_blob(b["digest"].as_str().unwrap());
            }
        }
        let path = format!("/v2/{}/manifests/{reference}", self.repo);
        let resp = self.send("PUT", &path, &[("Content-Type", media_type)], &bytes);
        self.expect(resp, &[201], &format!("PUT manifest {digest} as {reference}"));
    }

    fn push_blob(&self, digest: &str) {
        let head = self.send("HEAD", &format!("/v2/{}/blobs/{digest}", self.repo), &[], &[]);
        if head.status() == 200 {
            return;
        }
        let bytes = fs::read(layout_blob(self.layout, digest)).unwrap();
        let started = self.send("POST", &format!("/v2/{}/blobs/uploads/", self.repo), &[], &[]);
        let started = self.expect(started, &[202], &format!("start upload of {digest}"));
        let location = location_target(started.header("location").expect("upload Location"));
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = format!("{location}{sep}digest={digest}");
        let resp = self.send("PUT", &put, &[("Content-Type", "application/octet-stream")], &bytes);
        self.expect(resp, &[201], &format!("upload blob {digest}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_refs_split() {
        assert_eq!(split_repo_ref("ns/app:v1"), ("ns/app", "v1"));
        assert_eq!(split_repo_ref("app"), ("app", "latest"));
        assert_eq!(split_repo_ref("ns/app@sha256:ab"), ("ns/app", "sha256:ab"));
    }

    #[test]
    fn crc32_matches_known_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn random_bytes_are_deterministic() {
        assert_eq!(random_bytes(7, 100), random_bytes(7, 100));
        assert_ne!(random_bytes(7, 100), random_bytes(8, 100));
        assert_eq!(random_bytes(7, 13)[..], random_bytes(7, 100)[..13]);
    }
}
