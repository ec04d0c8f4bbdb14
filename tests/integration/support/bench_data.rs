//! Benchmark data (used by `benches/m2m.rs`): big incompressible layers generated fast and streamed to disk, multi-arch
//! images written into an OCI layout, a parallel raw-HTTP uploader and a parser of the registry's access log.
//!
//! Layers are `random_bytes(seed, len)` (same seed, same bytes) wrapped in gzip "stored" blocks, exactly what
//! `gzip_stored(&random_bytes(seed, len))` gives, but generated in 1 MiB chunks (splitmix64, slicing-by-8 CRC-32,
//! sha256 of both the raw and the wrapped stream) so gigabytes are made in seconds without holding them in memory.
//!
//! The uploader (`UploadPlan` + `run_plan`) is the simplest fast way to put a layout's images into a registry: every
//! unique blob uploaded once (POST + monolithic PUT streamed from the file), every repeat cross-repo mounted, then
//! every child manifest by digest and every root by tag, each phase spread over N threads, no existence checks. It is
//! the registry's ingest floor in the benchmarks and also loads their source registries. `run_mirror_plan` runs the
//! same plan as a mirror from one registry to another (the m2m benchmark's floor).

use super::fixtures::{Descriptor, LayoutBuilder, OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST};
use super::http::{self, location_target};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Uncompressed bytes per generated chunk (16 full deflate "stored" blocks).
const CHUNK: usize = 65535 * 16;

/// splitmix64 with the state convention of `random_bytes`: `fill_random(&mut (seed ^ K), buf)` continues that stream.
fn fill_random(state: &mut u64, buf: &mut [u8]) {
    let mut words = buf.chunks_exact_mut(8);
    for w in &mut words {
        w.copy_from_slice(&next_random(state).to_le_bytes());
    }
    let rest = words.into_remainder();
    if !rest.is_empty() {
        let bytes = next_random(state).to_le_bytes();
        let n = rest.len();
        rest.copy_from_slice(&bytes[..n]);
    }
}

fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// CRC-32 (IEEE) slicing-by-8 tables.
fn crc_tables() -> &'static [[u32; 256]; 8] {
    static TABLES: OnceLock<[[u32; 256]; 8]> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = [[0u32; 256]; 8];
        for (i, entry) in t[0].iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            *entry = c;
        }
        for k in 1..8 {
            let (done, rest) = t.split_at_mut(k);
            for (entry, prev) in rest[0].iter_mut().zip(done[k - 1]) {
                *entry = (prev >> 8) ^ done[0][(prev & 0xff) as usize];
            }
        }
        t
    })
}

/// Continues a CRC-32 whose running (inverted) state is `crc`; start with `!0`, finish with `!`.
fn crc32_update(mut crc: u32, data: &[u8]) -> u32 {
    let t = crc_tables();
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let lo = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) ^ crc;
        let hi = u32::from_le_bytes([w[4], w[5], w[6], w[7]]);
        crc = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in words.remainder() {
        crc = t[0][((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

fn hex_digest(hasher: Sha256) -> String {
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in hasher.finalize().iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A generated layer: its gzip blob's descriptor (in the layout) and the diff_id (sha256 of the raw bytes).
#[derive(Clone, Debug)]
pub struct Layer {
    pub descriptor: Descriptor,
    pub diff_id: String,
}

/// Writes the layer `gzip_stored(&random_bytes(seed, len))` into the layout, streaming; returns it.
pub fn write_random_layer(layout: &LayoutBuilder, seed: u64, len: u64) -> Layer {
    let tmp = layout.dir().join(format!("blobs/.tmp-layer-{seed}-{len}"));
    let mut file = io::BufWriter::with_capacity(1 << 20, File::create(&tmp).unwrap());
    let mut state = seed ^ 0x5EED_F0E5_7E57_DA7A;
    let (mut raw_sha, mut blob_sha) = (Sha256::new(), Sha256::new());
    let mut crc = !0u32;
    let mut size = 0u64;
    let mut emit = |bytes: &[u8], size: &mut u64| {
        blob_sha.update(bytes);
        file.write_all(bytes).unwrap();
        *size += bytes.len() as u64;
    };
    emit(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff], &mut size);
    if len == 0 {
        emit(&[1, 0, 0, 0xff, 0xff], &mut size);
    }
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(CHUNK as u64) as usize;
        let data = &mut buf[..n];
        fill_random(&mut state, data);
        raw_sha.update(&*data);
        crc = crc32_update(crc, data);
        let mut blocks = data.chunks(65535).peekable();
        while let Some(block) = blocks.next() {
            let last = blocks.peek().is_none() && done + n as u64 == len;
            let l = block.len() as u16;
            let [a, b] = l.to_le_bytes();
            let [c, d] = (!l).to_le_bytes();
            emit(&[u8::from(last), a, b, c, d], &mut size);
            emit(block, &mut size);
        }
        done += n as u64;
    }
    let mut trailer = [0u8; 8];
    trailer[..4].copy_from_slice(&(!crc).to_le_bytes());
    trailer[4..].copy_from_slice(&(len as u32).to_le_bytes());
    emit(&trailer, &mut size);
    file.flush().unwrap();
    drop(file);
    let digest = hex_digest(blob_sha);
    let path = layout.blob_path(&digest);
    fs::rename(&tmp, &path).unwrap();
    Layer {
        descriptor: Descriptor {
            media_type: OCI_LAYER_GZIP.into(),
            digest,
            size,
            platform: None,
            annotations: Vec::new(),
        },
        diff_id: hex_digest(raw_sha),
    }
}

/// `write_random_layer` for every (seed, len) on `threads` threads; results in the order given.
pub fn write_random_layers(layout: &LayoutBuilder, specs: &[(u64, u64)], threads: usize) -> Vec<Layer> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Layer>>> = Mutex::new(vec![None; specs.len()]);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(seed, len)) = specs.get(i) else { break };
                let layer = write_random_layer(layout, seed, len);
                results.lock().unwrap()[i] = Some(layer);
            });
        }
    });
    results.into_inner().unwrap().into_iter().map(Option::unwrap).collect()
}

/// One platform image of a `BenchImage`: its manifest and the blobs it references (config first).
#[derive(Clone, Debug)]
pub struct BenchManifest {
    pub descriptor: Descriptor,
    pub blobs: Vec<Descriptor>,
}

/// A multi-arch image in a layout, to be pushed as `repo:tag`.
#[derive(Clone, Debug)]
pub struct BenchImage {
    pub repo: String,
    pub tag: String,
    /// The OCI index.
    pub index: Descriptor,
    pub manifests: Vec<BenchManifest>,
}

impl BenchImage {
    /// Every blob (configs and layers) of every platform, repeats included.
    pub fn blobs(&self) -> impl Iterator<Item = &Descriptor> {
        self.manifests.iter().flat_map(|m| m.blobs.iter())
    }
}

/// Writes an OCI image (config with the platform and diff_ids, manifest) per `(platform, layers)` and an OCI index over
/// them into `layout`, tagged there `repo:tag` with `/` and `:` replaced by `-`.
pub fn write_bench_image(
    layout: &mut LayoutBuilder,
    repo: &str,
    tag: &str,
    platforms: &[(&str, Vec<Layer>)],
) -> BenchImage {
    let manifests: Vec<BenchManifest> = platforms
        .iter()
        .map(|(platform, layers)| {
            let parts: Vec<&str> = platform.split('/').collect();
            let mut platform_json = serde_json::json!({ "architecture": parts[1], "os": parts[0] });
            if let Some(v) = parts.get(2) {
                platform_json["variant"] = serde_json::json!(v);
            }
            let mut config = platform_json.clone();
            let diff_ids: Vec<&str> = layers.iter().map(|l| l.diff_id.as_str()).collect();
            config["rootfs"] = serde_json::json!({ "type": "layers", "diff_ids": diff_ids });
            let config = layout.add_typed_blob(OCI_CONFIG, &serde_json::to_vec_pretty(&config).unwrap());
            let manifest = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": config.to_json(),
                "layers": layers.iter().map(|l| l.descriptor.to_json()).collect::<Vec<_>>(),
            });
            let mut descriptor = layout.add_typed_blob(OCI_MANIFEST, &serde_json::to_vec_pretty(&manifest).unwrap());
            descriptor.platform = Some(super::fixtures::Platform::parse(platform));
            let mut blobs = vec![config];
            blobs.extend(layers.iter().map(|l| l.descriptor.clone()));
            BenchManifest { descriptor, blobs }
        })
        .collect();
    let children: Vec<Descriptor> = manifests.iter().map(|m| m.descriptor.clone()).collect();
    let index = layout.index(&children, false);
    layout.tag(&index, &format!("{repo}-{tag}").replace(['/', ':'], "-"));
    BenchImage {
        repo: repo.into(),
        tag: tag.into(),
        index,
        manifests,
    }
}

/// One request of an `UploadPlan` (`repo` is the destination repository; `source_repo` the image's own name, under
/// which a registry loaded with an empty prefix holds it).
#[derive(Clone, Debug)]
pub enum Step {
    /// POST an upload session, then PUT the whole blob into it.
    Upload {
        repo: String,
        source_repo: String,
        digest: String,
        size: u64,
    },
    /// POST ?mount=digest&from=from (must answer 201).
    Mount { repo: String, from: String, digest: String },
    /// PUT the manifest under `reference` (a digest or a tag).
    Manifest {
        repo: String,
        source_repo: String,
        reference: String,
        media_type: String,
        digest: String,
    },
}

/// What to send to put a set of `BenchImage`s into a registry, in phases that each depend on the previous one.
#[derive(Clone, Debug, Default)]
pub struct UploadPlan {
    pub phases: Vec<Vec<Step>>,
    /// Bytes of the uploaded blobs (each unique blob once; manifests not counted).
    pub blob_bytes: u64,
    pub uploads: usize,
    pub mounts: usize,
    pub manifests: usize,
}

impl UploadPlan {
    /// Every unique blob uploaded once into the first repository that needs it, every other repository that needs it
    /// mounts it from there; then child manifests by digest, then the indexes by tag. Repositories are
    /// `{repo_prefix}{image.repo}`.
    pub fn for_images(images: &[BenchImage], repo_prefix: &str) -> Self {
        let mut plan = UploadPlan::default();
        let (mut uploads, mut mounts, mut children, mut roots) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut home: HashMap<&str, String> = HashMap::new();
        let mut present: HashSet<(String, &str)> = HashSet::new();
        for image in images {
            let repo = format!("{repo_prefix}{}", image.repo);
            for blob in image.blobs() {
                if !present.insert((repo.clone(), blob.digest.as_str())) {
                    continue;
                }
                match home.get(blob.digest.as_str()) {
                    Some(from) => mounts.push(Step::Mount {
                        repo: repo.clone(),
                        from: from.clone(),
                        digest: blob.digest.clone(),
                    }),
                    None => {
                        home.insert(&blob.digest, repo.clone());
                        plan.blob_bytes += blob.size;
                        uploads.push(Step::Upload {
                            repo: repo.clone(),
                            source_repo: image.repo.clone(),
                            digest: blob.digest.clone(),
                            size: blob.size,
                        });
                    }
                }
            }
            for m in &image.manifests {
                children.push(Step::Manifest {
                    repo: repo.clone(),
                    source_repo: image.repo.clone(),
                    reference: m.descriptor.digest.clone(),
                    media_type: m.descriptor.media_type.clone(),
                    digest: m.descriptor.digest.clone(),
                });
            }
            roots.push(Step::Manifest {
                repo,
                source_repo: image.repo.clone(),
                reference: image.tag.clone(),
                media_type: image.index.media_type.clone(),
                digest: image.index.digest.clone(),
            });
        }
        // Big blobs first, so the last ones to finish are small.
        uploads.sort_by_key(|s| match s {
            Step::Upload { size, .. } => std::cmp::Reverse(*size),
            _ => std::cmp::Reverse(0),
        });
        plan.uploads = uploads.len();
        plan.mounts = mounts.len();
        plan.manifests = children.len() + roots.len();
        plan.phases = vec![uploads, mounts, children, roots];
        plan.phases.retain(|p| !p.is_empty());
        plan
    }
}

/// Runs every phase of `plan` against the plain-HTTP registry `host`, each phase on `threads` threads (one fresh
/// connection per request); blob and manifest bodies are streamed from `layout_dir`. Panics on the first failure.
pub fn run_plan(layout_dir: &Path, host: &str, plan: &UploadPlan, threads: usize) {
    run_phases(plan, threads, host, || (), |_, step| run_step(layout_dir, host, step));
}

/// Mirrors `plan` from the plain-HTTP registry `source` (holding every image under its own name) to `dest`, each
/// phase on `threads` threads, each thread keeping one connection to each registry: every blob is a GET from the
/// source streamed into a monolithic PUT to the destination (256 KiB writes, nothing buffered whole, no digest
/// computed: the destination verifies), every repeat a mount, every manifest a GET then a PUT. The simplest fast
/// mirror over raw HTTP. Panics on the first failure.
pub fn run_mirror_plan(source: &str, dest: &str, plan: &UploadPlan, threads: usize) {
    let connections = || {
        (
            http::Connection::new(source),
            http::Connection::new(dest),
            vec![0u8; MIRROR_WRITE],
        )
    };
    run_phases(plan, threads, dest, connections, |(src, dst, buf), step| {
        mirror_step(src, dst, buf, step)
    });
}

/// Bytes per write of `run_mirror_plan`'s blob copies.
const MIRROR_WRITE: usize = 256 << 10;

/// Runs the phases of `plan` one after the other, the steps of each on `threads` threads that each own a `state`
/// made by `init`; panics (naming `host`) on the first failure.
fn run_phases<S>(
    plan: &UploadPlan,
    threads: usize,
    host: &str,
    init: impl Fn() -> S + Sync,
    run: impl Fn(&mut S, &Step) -> Result<(), String> + Sync,
) {
    for phase in &plan.phases {
        let next = AtomicUsize::new(0);
        let failure: Mutex<Option<String>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..threads.max(1).min(phase.len()) {
                s.spawn(|| {
                    let mut state = init();
                    loop {
                        if failure.lock().unwrap().is_some() {
                            break;
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(step) = phase.get(i) else { break };
                        if let Err(e) = run(&mut state, step) {
                            failure.lock().unwrap().get_or_insert(e);
                            break;
                        }
                    }
                });
            }
        });
        if let Some(e) = failure.into_inner().unwrap() {
            panic!("upload to {host} failed: {e}");
        }
    }
}

/// `resp` with status `ok`, or an error naming `what`.
fn expect_status(what: &str, resp: io::Result<http::Response>, ok: u16) -> Result<http::Response, String> {
    let resp = resp.map_err(|e| format!("{what}: {e}"))?;
    if resp.status() == ok {
        Ok(resp)
    } else {
        Err(format!("{what}: HTTP {}: {}", resp.status(), resp.body_text()))
    }
}

/// The request target of a monolithic PUT completing the upload session a POST answered with `started`.
fn upload_target(what: &str, started: &http::Response, digest: &str) -> Result<String, String> {
    let location = location_target(started.header("location").ok_or(format!("{what}: no Location"))?);
    let sep = if location.contains('?') { '&' } else { '?' };
    Ok(format!("{location}{sep}digest={digest}"))
}

fn mount_target(repo: &str, from: &str, digest: &str) -> String {
    format!("/v2/{repo}/blobs/uploads/?mount={digest}&from={from}")
}

fn blob_file(layout_dir: &Path, digest: &str) -> PathBuf {
    layout_dir
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

fn run_step(layout_dir: &Path, host: &str, step: &Step) -> Result<(), String> {
    match step {
        Step::Upload { repo, digest, .. } => {
            let what = format!("upload {digest} to {repo}");
            let started = http::request(host, "POST", &format!("/v2/{repo}/blobs/uploads/"), &[], &[]);
            let target = upload_target(&what, &expect_status(&what, started, 202)?, digest)?;
            let headers = [("Content-Type", "application/octet-stream")];
            let file = blob_file(layout_dir, digest);
            expect_status(&what, send_file(host, "PUT", &target, &headers, &file), 201)?;
        }
        Step::Mount { repo, from, digest } => {
            let what = format!("mount {digest} from {from} into {repo}");
            let target = mount_target(repo, from, digest);
            expect_status(&what, http::request(host, "POST", &target, &[], &[]), 201)?;
        }
        Step::Manifest {
            repo,
            reference,
            media_type,
            digest,
            ..
        } => {
            let what = format!("put manifest {digest} as {repo}:{reference}");
            let target = format!("/v2/{repo}/manifests/{reference}");
            let headers = [("Content-Type", media_type.as_str())];
            let file = blob_file(layout_dir, digest);
            expect_status(&what, send_file(host, "PUT", &target, &headers, &file), 201)?;
        }
    }
    Ok(())
}

fn mirror_step(
    src: &mut http::Connection,
    dst: &mut http::Connection,
    buf: &mut [u8],
    step: &Step,
) -> Result<(), String> {
    match step {
        Step::Upload {
            repo,
            source_repo,
            digest,
            size,
        } => {
            let what = format!("copy {digest} from {source_repo} to {repo}");
            let started = dst.request("POST", &format!("/v2/{repo}/blobs/uploads/"), &[], &[]);
            let target = upload_target(&what, &expect_status(&what, started, 202)?, digest)?;
            let fail = |e: io::Error| format!("{what}: {e}");
            src.send_head("GET", &format!("/v2/{source_repo}/blobs/{digest}"), &[], 0)
                .map_err(fail)?;
            let head = src.read_head().map_err(fail)?;
            if head.status() != 200 || head.content_length() != Some(*size) {
                return Err(format!(
                    "{what}: source answered {} with Content-Length {:?}",
                    head.status(),
                    head.content_length()
                ));
            }
            let headers = [("Content-Type", "application/octet-stream")];
            dst.send_head("PUT", &target, &headers, *size).map_err(fail)?;
            copy_exact(src, dst, buf, *size).map_err(fail)?;
            src.finish(&head);
            let put = dst
                .read_head()
                .and_then(|h| dst.read_body(&h, "PUT").map(|body| http::Response { head: h, body }));
            expect_status(&what, put, 201)?;
        }
        Step::Mount { repo, from, digest } => {
            let what = format!("mount {digest} from {from} into {repo}");
            expect_status(
                &what,
                dst.request("POST", &mount_target(repo, from, digest), &[], &[]),
                201,
            )?;
        }
        Step::Manifest {
            repo,
            source_repo,
            reference,
            media_type,
            digest,
        } => {
            let what = format!("copy manifest {digest} from {source_repo} as {repo}:{reference}");
            let accept = [("Accept", media_type.as_str())];
            let got = src.request("GET", &format!("/v2/{source_repo}/manifests/{digest}"), &accept, &[]);
            let manifest = expect_status(&what, got, 200)?;
            let headers = [("Content-Type", media_type.as_str())];
            let target = format!("/v2/{repo}/manifests/{reference}");
            expect_status(&what, dst.request("PUT", &target, &headers, &manifest.body), 201)?;
        }
    }
    Ok(())
}

/// Copies exactly `len` body bytes from `src`'s response to `dst`'s request in writes of `buf.len()` (the last one
/// shorter).
fn copy_exact(src: &mut http::Connection, dst: &mut http::Connection, buf: &mut [u8], len: u64) -> io::Result<()> {
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        src.reader()?.read_exact(&mut buf[..want])?;
        dst.write_body(&buf[..want])?;
        left -= want as u64;
    }
    Ok(())
}

/// Like `http::request` with the body streamed from `file` (`io::copy`, sendfile on Linux).
pub fn send_file(
    host: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    file: &Path,
) -> io::Result<http::Response> {
    let mut body = File::open(file)?;
    let len = body.metadata()?.len();
    let stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(300)))?;
    stream.set_write_timeout(Some(Duration::from_secs(300)))?;
    let mut head = http::Head {
        start_line: format!("{method} {target} HTTP/1.1"),
        headers: Vec::new(),
    };
    head.set("Host", host);
    for (n, v) in headers {
        head.headers.push((n.to_string(), v.to_string()));
    }
    head.set("Content-Length", &len.to_string());
    head.set("Connection", "close");
    let mut w = &stream;
    w.write_all(&head.to_bytes())?;
    let sent = io::copy(&mut body, &mut w)?;
    if sent != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("{file:?} changed while sent"),
        ));
    }
    w.flush()?;
    let mut r = BufReader::new(&stream);
    let head = http::read_head(&mut r)?
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before a response"))?;
    let body = http::read_response_body(&mut r, &head, method)?;
    Ok(http::Response { head, body })
}

/// Requests counted from a registry's access log (`"METHOD URI HTTP/1.1" STATUS ...` lines), keyed by a short kind:
/// `HEAD blob`, `GET manifest`, `GET tags`, `POST mount`, `PUT blob`, `PATCH blob`, `GET /v2/`, ... (blob uploads
/// count as `blob`), with a ` NNN` suffix for statuses that are not 2xx (`HEAD blob 404`).
pub fn count_requests(log: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for line in log.lines() {
        let Some(start) = line.find("] \"") else { continue };
        let rest = &line[start + 3..];
        let mut words = rest.split(' ');
        let (Some(method), Some(uri)) = (words.next(), words.next()) else {
            continue;
        };
        if !uri.starts_with("/v2/") {
            continue;
        }
        let status = rest
            .split_once("\" ")
            .and_then(|(_, after)| after.split(' ').next())
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(0);
        let path = uri.split('?').next().unwrap_or(uri);
        let kind = if path == "/v2/" {
            "/v2/"
        } else if path.contains("/manifests/") {
            "manifest"
        } else if method == "POST" && uri.contains("mount=") {
            "mount"
        } else if path.contains("/blobs/") {
            "blob"
        } else if path.ends_with("/tags/list") {
            "tags"
        } else {
            "other"
        };
        let key = if method == "POST" && kind == "mount" {
            if status == 201 {
                "POST mount".to_string()
            } else {
                format!("POST mount {status}")
            }
        } else if (200..300).contains(&status) {
            format!("{method} {kind}")
        } else {
            format!("{method} {kind} {status}")
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{gzip_stored, random_bytes};
    use super::super::skopeo::sha256_digest;
    use super::*;

    #[test]
    fn crc32_slicing_matches_known_value() {
        assert_eq!(!crc32_update(!0, b"123456789"), 0xCBF4_3926);
        assert_eq!(!crc32_update(!0, b""), 0);
    }

    #[test]
    fn streamed_layer_equals_gzip_stored_random_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let layout = LayoutBuilder::new(dir.path());
        for len in [0u64, 5, 65535, 65536, CHUNK as u64, CHUNK as u64 * 2 + 77] {
            let layer = write_random_layer(&layout, 9, len);
            let raw = random_bytes(9, len as usize);
            let expected = gzip_stored(&raw);
            assert_eq!(layout.read_blob(&layer.descriptor.digest), expected, "len {len}");
            assert_eq!(layer.descriptor.size, expected.len() as u64);
            assert_eq!(layer.diff_id, sha256_digest(&raw));
        }
    }

    #[test]
    fn access_log_lines_are_counted() {
        let log = "time=\"x\" level=info msg=\"response completed\"\n\
            127.0.0.1 - - [21/Nov/2026:01:09:54 +0000] \"HEAD /v2/a/b/blobs/sha256:00 HTTP/1.1\" 404 157 \"\" \"c\"\n\
            127.0.0.1 - - [21/Nov/2026:01:09] \"POST /v2/a/blobs/uploads/?mount=sha256:00&from=x HTTP/1.1\" 201 0\n\
            127.0.0.1 - - [21/Nov/2026:01:09:54 +0000] \"PUT /v2/a/b/manifests/v1 HTTP/1.1\" 201 0 \"\" \"c\"\n\
            127.0.0.1 - - [21/Nov/2026:01:09:54 +0000] \"GET /v2/a/b/tags/list?n=1 HTTP/1.1\" 404 0 \"\" \"c\"\n";
        let counts = count_requests(log);
        assert_eq!(counts.get("HEAD blob 404"), Some(&1));
        assert_eq!(counts.get("POST mount"), Some(&1));
        assert_eq!(counts.get("PUT manifest"), Some(&1));
        assert_eq!(counts.get("GET tags 404"), Some(&1));
        assert_eq!(counts.len(), 4);
    }
}
