#!/usr/bin/env python3
"""Regenerates examples/demo/layout: a tiny 3-platform OCI image (one shared layer, one layer per platform)."""
import gzip, hashlib, io, json, os, shutil, tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
LAYOUT = os.path.join(HERE, "layout")


def put(data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(LAYOUT, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def layer(files: dict) -> tuple:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, text in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(text), 0, 0o644
            tar.addfile(info, io.BytesIO(text))
    uncompressed = raw.getvalue()
    compressed = gzip.compress(uncompressed, mtime=0)
    return compressed, "sha256:" + hashlib.sha256(uncompressed).hexdigest()


def main() -> None:
    shutil.rmtree(LAYOUT, ignore_errors=True)
    os.makedirs(os.path.join(LAYOUT, "blobs", "sha256"))
    with open(os.path.join(LAYOUT, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    shared, shared_diff = layer({"etc/motd": b"ferry demo image\n"})
    shared_desc = dict(put(shared), mediaType="application/vnd.oci.image.layer.v1.tar+gzip")
    children = []
    for os_name, arch, variant in [("linux", "amd64", None), ("linux", "arm64", "v8"), ("linux", "s390x", None)]:
        platform = f"{os_name}/{arch}" + (f"/{variant}" if variant else "")
        own, own_diff = layer({"hello.txt": f"hello from {platform}\n".encode()})
        own_desc = dict(put(own), mediaType="application/vnd.oci.image.layer.v1.tar+gzip")
        config = {"architecture": arch, "os": os_name, "config": {"Cmd": ["/bin/cat", "/hello.txt"]},
                  "rootfs": {"type": "layers", "diff_ids": [shared_diff, own_diff]}}
        if variant:
            config["variant"] = variant
        config_desc = dict(put(json.dumps(config, separators=(",", ":")).encode()),
                           mediaType="application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": config_desc, "layers": [shared_desc, own_desc]}
        entry = dict(put(json.dumps(manifest, separators=(",", ":")).encode()),
                     mediaType="application/vnd.oci.image.manifest.v1+json",
                     platform={"architecture": arch, "os": os_name, **({"variant": variant} if variant else {})})
        children.append(entry)
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": children}
    index_desc = dict(put(json.dumps(index, separators=(",", ":")).encode()),
                      mediaType="application/vnd.oci.image.index.v1+json",
                      annotations={"org.opencontainers.image.ref.name": "hello"})
    with open(os.path.join(LAYOUT, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [index_desc]}, f, indent=2)


if __name__ == "__main__":
    main()
