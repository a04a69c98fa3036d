#!/usr/bin/env python3
"""Pushes an image whose one layer holds N small files (default 1,000,000) to a local registry,
for the memory benchmark: peak RSS must stay bounded as the file count grows.

Usage: many_files.py REGISTRY_HOST:PORT REPO:TAG [N]
"""
import gzip, hashlib, io, json, sys, tarfile, urllib.request

def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()

def main():
    registry, ref = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    repo, tag = ref.rsplit(":", 1)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for i in range(n):
            data = b"x%d\n" % i
            info = tarfile.TarInfo(f"data/d{i % 1000:03}/file-{i:07}.txt")
            info.size, info.mtime = len(data), 1700000000
            t.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    gz = gzip.compress(raw, compresslevel=1, mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [sha(raw)]},
                         "history": [{"created_by": f"{n} files"}]}).encode()
    base = f"http://{registry}/v2/{repo}"
    for blob in (gz, config):
        r = urllib.request.urlopen(urllib.request.Request(f"{base}/blobs/uploads/", method="POST", data=b""))
        loc = r.headers["Location"]
        loc = loc if loc.startswith("http") else f"http://{registry}{loc}"
        sep = "&" if "?" in loc else "?"
        urllib.request.urlopen(urllib.request.Request(f"{loc}{sep}digest={sha(blob)}", method="PUT", data=blob,
                                                      headers={"Content-Type": "application/octet-stream"}))
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(gz), "size": len(gz)}]}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{base}/manifests/{tag}", method="PUT", data=manifest,
                                                  headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}))
    print(json.dumps({"image": f"{registry}/{ref}", "files": n, "uncompressed_bytes": len(raw), "compressed_bytes": len(gz)}))

main()
