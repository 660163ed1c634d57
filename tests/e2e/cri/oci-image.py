#!/usr/bin/env python3
"""Builds the pod sandbox ("pause") image as an OCI image layout tarball, with no registry.

usage: oci-image.py OUT.tar IMAGE_NAME PAUSE_BINARY

The tarball holds oci-layout, index.json, and three blobs: the manifest, the image config
(linux/amd64, entrypoint /pause) and one uncompressed layer with the static PAUSE_BINARY as
/pause. index.json names the image in both annotations ctr's importer reads
(io.containerd.image.name for the full reference, org.opencontainers.image.ref.name for the tag),
so `ctr -n k8s.io images import OUT.tar` creates IMAGE_NAME, which is what containerd's CRI
sandbox_image must match. Every timestamp and owner is fixed: the same input gives the same bytes.
"""
import hashlib
import io
import json
import sys
import tarfile


def tar_member(tar, name, data, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime, info.uid, info.gid = len(data), mode, 0, 0, 0
    tar.addfile(info, io.BytesIO(data))


def blob(blobs, data, media_type):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def main(out, name, pause):
    with open(pause, "rb") as f:
        binary = f.read()
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
        tar_member(t, "pause", binary, 0o755)
    layer = layer.getvalue()

    blobs = {}
    layer_desc = blob(blobs, layer, "application/vnd.oci.image.layer.v1.tar")
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": ["/pause"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
    }
    config_desc = blob(blobs, json.dumps(config).encode(),
                       "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_desc, "layers": [layer_desc]}
    manifest_desc = blob(blobs, json.dumps(manifest).encode(),
                         "application/vnd.oci.image.manifest.v1+json")
    manifest_desc["platform"] = {"architecture": "amd64", "os": "linux"}
    manifest_desc["annotations"] = {"io.containerd.image.name": name,
                                    "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [manifest_desc]}

    with tarfile.open(out, mode="w", format=tarfile.PAX_FORMAT) as t:
        tar_member(t, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        tar_member(t, "index.json", json.dumps(index).encode())
        for digest, data in sorted(blobs.items()):
            tar_member(t, "blobs/sha256/" + digest.split(":", 1)[1], data)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
