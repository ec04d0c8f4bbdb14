//! Mirror-to-disk and disk-to-mirror: archives written from a real registry, carried (moved), pushed into
//! another real registry, checked with skopeo; incremental runs, resume after SIGKILL, corruption, hostile tars.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::*;

fn isc(dir: &Path, images: &[String]) -> PathBuf {
    write_isc(dir, &additional_images(images))
}

fn to_disk(dir: &TestDir, config: &Path, archive: &Path, extra: &[&str]) -> Output {
    mirror_to_disk(dir, config, archive, &[], extra)
}

fn from_disk(dir: &TestDir, config: &Path, archive: &Path, registry: &str) -> Output {
    disk_to_mirror(dir, config, archive, registry)
}

fn segments(archive: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(archive)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().unwrap().to_string_lossy().starts_with("mirror_") && p.extension().is_some_and(|e| e == "tar")
        })
        .collect();
    found.sort();
    found
}

fn tar_listing(segment: &Path) -> Vec<String> {
    let output = Command::new("tar").arg("-tf").arg(segment).output().unwrap();
    assert!(
        output.status.success(),
        "tar -tf {}: {}",
        segment.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn raw(reference: &str) -> Vec<u8> {
    skopeo_inspect_raw(reference).unwrap_or_else(|e| panic!("skopeo inspect {reference}: {e}"))
}

/// Every manifest of the source graph is at the destination byte for byte, by digest.
fn assert_graph_copied(source_repo: &str, dest_repo: &str, digest: &str) {
    let source = raw(&format!("{source_repo}@{digest}"));
    assert_eq!(
        source,
        raw(&format!("{dest_repo}@{digest}")),
        "manifest {digest} differs"
    );
    let value: serde_json::Value = serde_json::from_slice(&source).unwrap();
    for child in value["manifests"].as_array().cloned().unwrap_or_default() {
        assert_graph_copied(source_repo, dest_repo, child["digest"].as_str().unwrap());
    }
}

struct Source {
    registry: TestRegistry,
    images: Vec<(String, MultiArchImage)>,
}

fn source_with(dir: &TestDir, count: usize, seed: u64) -> Source {
    let registry = TestRegistry::start();
    let images = (0..count)
        .map(|i| {
            let name = format!("team/app{i}:v1");
            let image = multi_arch_image(
                dir.join(format!("img{i}")),
                seed + i as u64,
                &["linux/amd64", "linux/arm64", "linux/s390x"],
                i % 2 == 1,
            );
            image.push(&registry.host(), &name);
            (name, image)
        })
        .collect();
    Source { registry, images }
}

impl Source {
    fn names(&self) -> Vec<String> {
        self.images
            .iter()
            .map(|(name, _)| format!("{}/{name}", self.registry.host()))
            .collect()
    }
}

#[test]
fn round_trip_through_three_segments_and_a_moved_directory() {
    let dir = TestDir::new("disk_round_trip");
    let source = source_with(&dir, 3, 500);
    let config = isc(dir.path(), &source.names());
    let archive = dir.join("archive");
    assert_ok(&to_disk(&dir, &config, &archive, &["--archive-size", "12Ki"]));
    let written = segments(&archive);
    assert!(written.len() >= 3, "expected at least 3 segments, got {written:?}");
    for segment in &written {
        assert!(
            std::fs::metadata(segment).unwrap().len() <= 12 * 1024 + 4096,
            "{} exceeds the limit",
            segment.display()
        );
        assert!(!tar_listing(segment).is_empty());
    }

    // Carry it across: another directory, another registry.
    let carried = dir.join("carried");
    std::fs::rename(&archive, &carried).unwrap();
    let describe = ferry_at(dir.path())
        .args(["describe", &format!("file://{}", carried.display()), "--output", "json"])
        .output()
        .unwrap();
    let described: serde_json::Value = serde_json::from_slice(&describe.stdout).expect("describe --output json");
    let run = &described["runs"][0];
    assert_eq!(run["images"].as_array().unwrap().len(), 3);
    assert_eq!(run["segments"].as_array().unwrap().len(), written.len());
    assert_eq!(run["images"][0]["platforms"].as_array().unwrap().len(), 3);
    let text = ferry_at(dir.path())
        .args(["describe", &format!("file://{}", carried.display())])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("team/app2:v1") && text.contains("linux/s390x"), "{text}");
    let target = TestRegistry::start();
    assert_ok(&from_disk(
        &dir,
        &config,
        &carried,
        &format!("{}/mirror", target.host()),
    ));
    for (name, image) in &source.images {
        let repo = name.split(':').next().unwrap();
        let copied = raw(&target.docker_ref(&format!("mirror/{name}")));
        assert_eq!(manifest_digest(&copied), image.index.digest, "{name}");
        assert_graph_copied(
            &source.registry.docker_ref(repo),
            &target.docker_ref(&format!("mirror/{repo}")),
            &image.index.digest,
        );
    }
    let itms = std::fs::read_to_string(carried.join("working-dir/cluster-resources/itms-oc-mirror.yaml")).unwrap();
    assert!(
        itms.contains(&format!("source: {}/team", source.registry.host())),
        "{itms}"
    );
}

#[test]
fn incremental_archive_holds_only_new_blobs_and_names_the_earlier_run_when_it_is_missing() {
    let dir = TestDir::new("disk_incremental");
    let source = source_with(&dir, 2, 600);
    let archive = dir.join("archive");
    let first_config = isc(dir.path(), &source.names()[..1]);
    assert_ok(&to_disk(&dir, &first_config, &archive, &[]));
    let first_segments = segments(&archive);

    let second_config = isc(dir.path(), &source.names());
    assert_ok(&to_disk(&dir, &second_config, &archive, &[]));
    let new_segments: Vec<PathBuf> = segments(&archive)
        .into_iter()
        .filter(|s| !first_segments.contains(s))
        .collect();
    assert_eq!(new_segments.len(), 1, "{new_segments:?}");
    let listing = tar_listing(&new_segments[0]);
    let (_, first_image) = &source.images[0];
    let first_layout = &first_image.layout;
    for manifest in &first_image.manifests {
        let blob = first_layout.read_blob(&manifest.digest);
        let value: serde_json::Value = serde_json::from_slice(&blob).unwrap();
        for layer in value["layers"].as_array().unwrap() {
            let hex = layer["digest"].as_str().unwrap().trim_start_matches("sha256:");
            assert!(
                !listing.iter().any(|entry| entry.ends_with(hex)),
                "layer {hex} of the first image was packed again"
            );
        }
        assert!(
            listing.iter().any(|entry| entry.ends_with(manifest.hex())),
            "manifests are always packed"
        );
    }

    // The second archive alone, into a registry that has the first image: fine.
    let target = TestRegistry::start();
    let only_first = dir.join("only-first");
    std::fs::create_dir_all(&only_first).unwrap();
    for segment in &first_segments {
        std::fs::copy(segment, only_first.join(segment.file_name().unwrap())).unwrap();
    }
    assert_ok(&from_disk(&dir, &first_config, &only_first, &target.host()));
    let only_second = dir.join("only-second");
    std::fs::create_dir_all(&only_second).unwrap();
    std::fs::copy(&new_segments[0], only_second.join(new_segments[0].file_name().unwrap())).unwrap();
    assert_ok(&from_disk(&dir, &second_config, &only_second, &target.host()));
    for (name, image) in &source.images {
        assert_eq!(manifest_digest(&raw(&target.docker_ref(name))), image.index.digest);
    }

    // The second archive alone into an empty registry: the first image's blobs are missing, and the error says
    // which earlier archive carried them.
    let empty = TestRegistry::start();
    let output = from_disk(&dir, &second_config, &only_second, &empty.host());
    assert_eq!(
        output.status.code(),
        Some(8),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first_name = first_segments[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        stderr.contains("neither in the archive nor at the destination"),
        "{stderr}"
    );
    assert!(
        stderr.contains("earlier archive run") && stderr.contains(&first_name),
        "{stderr}"
    );
}

#[test]
fn a_flipped_byte_is_detected_and_nothing_corrupt_reaches_the_registry() {
    let dir = TestDir::new("disk_flipped");
    let source = source_with(&dir, 1, 700);
    let config = isc(dir.path(), &source.names());
    let archive = dir.join("archive");
    assert_ok(&to_disk(&dir, &config, &archive, &[]));
    // Flip a byte in the middle of the largest layer.
    let metadata = archive_metadata(&archive);
    let (digest, location) = metadata["blobs"]
        .as_object()
        .unwrap()
        .iter()
        .max_by_key(|(_, l)| l["size"].as_u64().unwrap())
        .map(|(d, l)| (d.clone(), l.clone()))
        .unwrap();
    let segment = archive.join(location["segment"].as_str().unwrap());
    let offset = location["offset"].as_u64().unwrap() + location["size"].as_u64().unwrap() / 2;
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[offset as usize] ^= 0x55;
    std::fs::write(&segment, bytes).unwrap();

    let target = TestRegistry::start();
    let output = from_disk(&dir, &config, &archive, &target.host());
    assert_eq!(
        output.status.code(),
        Some(8),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&digest) && stderr.contains("corrupt"), "{stderr}");
    let (name, _) = &source.images[0];
    assert!(
        skopeo_inspect_raw(&target.docker_ref(name)).is_err(),
        "the image must not be visible"
    );
    let blob = http::request(
        &target.host(),
        "HEAD",
        &format!("/v2/{}/blobs/{digest}", name.split(':').next().unwrap()),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(blob.status(), 404, "the corrupt blob must not be in the registry");
}

fn archive_metadata(archive: &Path) -> serde_json::Value {
    let dir = archive.join("working-dir/archives");
    let newest = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .max()
        .unwrap();
    serde_json::from_slice(&std::fs::read(newest).unwrap()).unwrap()
}

#[test]
fn hostile_and_foreign_archives_are_rejected_without_writing_outside() {
    let dir = TestDir::new("disk_hostile");
    let config = isc(dir.path(), &["quay.io/x/y:1".to_string()]);
    let target = TestRegistry::start();
    let cases = [
        ("dotdot", "../../escaped.txt"),
        ("absolute", "/tmp/ferry-absolute-escape.txt"),
        ("foreign", "notes/readme.txt"),
    ];
    for (case, entry) in cases {
        let archive = dir.join(case);
        std::fs::create_dir_all(&archive).unwrap();
        let script = format!(
            "import tarfile, io\nt = tarfile.open('{}', 'w')\ndata = b'owned'\ni = tarfile.TarInfo('{entry}')\ni.size = len(data)\nt.addfile(i, io.BytesIO(data))\nt.close()\n",
            archive.join("mirror_000001.tar").display()
        );
        let status = Command::new("python3").arg("-c").arg(&script).status().unwrap();
        assert!(status.success());
        let output = from_disk(&dir, &config, &archive, &target.host());
        assert_eq!(
            output.status.code(),
            Some(1),
            "{case}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!String::from_utf8_lossy(&output.stderr).is_empty());
    }
    assert!(!dir.path().join("escaped.txt").exists() && !Path::new("/tmp/ferry-absolute-escape.txt").exists());

    let links = dir.join("symlink");
    std::fs::create_dir_all(&links).unwrap();
    let script = format!(
        "import tarfile\nt = tarfile.open('{}', 'w')\ni = tarfile.TarInfo('blobs/sha256/{}')\ni.type = tarfile.SYMTYPE\ni.linkname = '/etc/passwd'\nt.addfile(i)\nt.close()\n",
        links.join("mirror_000001.tar").display(),
        "a".repeat(64)
    );
    assert!(Command::new("python3")
        .arg("-c")
        .arg(&script)
        .status()
        .unwrap()
        .success());
    let output = from_disk(&dir, &config, &links, &target.host());
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).to_lowercase().contains("link"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // A truncated segment of a real archive.
    let source = source_with(&dir, 1, 800);
    let real = isc(dir.path(), &source.names());
    let archive = dir.join("truncated");
    assert_ok(&to_disk(&dir, &real, &archive, &[]));
    let segment = &segments(&archive)[0];
    let length = std::fs::metadata(segment).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(segment)
        .unwrap()
        .set_len(length / 2)
        .unwrap();
    let output = from_disk(&dir, &real, &archive, &target.host());
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("truncated"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_killed_mirror_to_disk_resumes_without_downloading_finished_blobs_again() {
    let dir = TestDir::new("disk_resume");
    let registry = TestRegistry::start();
    // Four images with ~1.5 MiB of layers per platform, so the run takes long enough to be killed mid-way.
    let mut names = Vec::new();
    for i in 0..4u64 {
        let mut layout = LayoutBuilder::new(dir.join(format!("big{i}")));
        let children: Vec<_> = ["amd64", "arm64"]
            .iter()
            .enumerate()
            .map(|(p, arch)| {
                layout.image(
                    ("linux", arch, None),
                    &[random_bytes(900 + i * 10 + p as u64, 1536 * 1024)],
                )
            })
            .collect();
        let index = layout.index(&children, false);
        layout.tag(&index, "v1");
        push_layout(layout.dir(), "v1", &registry.host(), &format!("big/app{i}:v1"));
        names.push(format!("big/app{i}:v1"));
    }
    let proxy = FaultProxy::start(&registry.host(), FaultPlan::default());
    let config = isc(
        dir.path(),
        &names
            .iter()
            .map(|n| format!("{}/{n}", proxy.host()))
            .collect::<Vec<_>>(),
    );
    let archive = dir.join("archive");

    let mut child = ferry_at(dir.path())
        .args(["mirror", "-c"])
        .arg(&config)
        .arg(format!("file://{}", archive.display()))
        .args([
            "--src-tls-verify=false",
            "--parallel-images",
            "1",
            "--parallel-layers",
            "1",
            "--quiet",
        ])
        .spawn()
        .unwrap();
    let journal = archive.join("working-dir/archive-journal.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while done_digests(&journal).len() < 8 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(segments(&archive).is_empty(), "a killed run leaves no finished segment");
    let finished_before_kill = done_digests(&journal);
    assert!(
        !finished_before_kill.is_empty(),
        "the run was killed before it wrote anything"
    );
    let requests_before = proxy.requests().len();

    assert_ok(&to_disk(&dir, &config, &archive, &[]));
    let refetched: Vec<String> = proxy.requests()[requests_before..]
        .iter()
        .filter(|r| r.starts_with("GET") && r.contains("/blobs/"))
        .filter(|r| finished_before_kill.iter().any(|d| r.contains(d.as_str())))
        .cloned()
        .collect();
    assert!(
        refetched.is_empty(),
        "blobs finished before the kill were downloaded again: {refetched:?}"
    );
    for segment in segments(&archive) {
        tar_listing(&segment);
    }
    let target = TestRegistry::start();
    assert_ok(&from_disk(&dir, &config, &archive, &target.host()));
    for name in &names {
        let repo = name.split(':').next().unwrap();
        let digest = manifest_digest(&raw(&registry.docker_ref(name)));
        assert_graph_copied(&registry.docker_ref(repo), &target.docker_ref(repo), &digest);
    }
}

/// Digests the archive journal records as completely written (`{"op":"done","digest":...}`).
fn done_digests(journal: &Path) -> Vec<String> {
    std::fs::read_to_string(journal)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|entry| entry["op"] == "done")
        .filter_map(|entry| entry["digest"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn since_repacks_what_earlier_runs_shipped_on_or_after_that_date() {
    let dir = TestDir::new("disk_since");
    let source = source_with(&dir, 1, 1000);
    let config = isc(dir.path(), &source.names());
    let archive = dir.join("archive");
    assert_ok(&to_disk(&dir, &config, &archive, &[]));
    let first = segments(&archive);
    let first_blobs: usize = first
        .iter()
        .map(|s| tar_listing(s).iter().filter(|e| e.starts_with("blobs/")).count())
        .sum();

    // Same config again: only manifests are packed.
    assert_ok(&to_disk(&dir, &config, &archive, &[]));
    let second: Vec<PathBuf> = segments(&archive).into_iter().filter(|s| !first.contains(s)).collect();
    let second_blobs: usize = second
        .iter()
        .map(|s| tar_listing(s).iter().filter(|e| e.starts_with("blobs/")).count())
        .sum();
    assert!(
        second_blobs < first_blobs,
        "a no-change run packs manifests only ({second_blobs} of {first_blobs})"
    );

    // --since today: the earlier runs (today) no longer count as shipped: everything is packed again.
    let today = String::from_utf8(Command::new("date").args(["-u", "+%Y-%m-%d"]).output().unwrap().stdout).unwrap();
    let before: Vec<PathBuf> = segments(&archive);
    assert_ok(&to_disk(&dir, &config, &archive, &["--since", today.trim()]));
    let third: Vec<PathBuf> = segments(&archive).into_iter().filter(|s| !before.contains(s)).collect();
    let third_blobs: usize = third
        .iter()
        .map(|s| tar_listing(s).iter().filter(|e| e.starts_with("blobs/")).count())
        .sum();
    assert_eq!(third_blobs, first_blobs, "--since repacks every blob");

    let bad = to_disk(&dir, &config, &archive, &["--since", "2026-13-40"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM-DD"));
}
