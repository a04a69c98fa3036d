#!/usr/bin/env python3
"""Builds the bundled demo image (an OCI image layout in ./layout) from real package metadata.

The image is small on purpose (a few KB): it carries the package *records* of real packages,
not their payloads, so `plimsoll sbom oci-dir:examples/demo-image/layout` has something true
to report on a fresh machine without a registry:

- Debian 12 dpkg records of libexpat1 2.5.0-1+deb12u2, libssl3 3.0.17-1~deb12u2 and
  libpam0g 1.5.2-6+deb12u2 (control stanzas from the bookworm .debs, `apt-get download`);
- the METADATA of requests 2.19.1 (PyPI wheel) and the package.json of lodash 4.17.15 (npm);
- config: no USER (runs as root), EXPOSE 22, no HEALTHCHECK.

Usage: python3 build.py DEBS_DIR WHEEL NPM_TGZ   (the inputs are only needed to rebuild).
Output is deterministic: fixed mtimes, sorted entries, gzip without timestamps.
"""
import gzip, hashlib, io, json, os, subprocess, sys, tarfile, zipfile

OS_RELEASE = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'

def tar_layer(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1700000000, 0o644
            t.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    gz = gzip.compress(raw, compresslevel=9, mtime=0)
    return raw, gz

def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()

def main():
    debs_dir, wheel, tgz = sys.argv[1:4]
    stanzas = []
    for d in sorted(os.listdir(debs_dir)):
        deb = [os.path.join(debs_dir, d, f) for f in os.listdir(os.path.join(debs_dir, d)) if f.endswith(".deb")][0]
        ctl = subprocess.run(["dpkg-deb", "-f", deb], check=True, capture_output=True).stdout.decode()
        lines = ctl.rstrip("\n").split("\n")
        stanzas.append("\n".join([lines[0], "Status: install ok installed"] + lines[1:]) + "\n")
    status = "\n".join(stanzas).encode()
    with zipfile.ZipFile(wheel) as z:
        meta_name = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")][0]
        metadata = z.read(meta_name)
    with tarfile.open(tgz) as t:
        pkg_json = t.extractfile("package/package.json").read()
    base = {"etc/os-release": OS_RELEASE, "etc/debian_version": b"12.11\n",
            "etc/passwd": b"root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            "var/lib/dpkg/status": status}
    app = {"usr/lib/python3/dist-packages/" + meta_name: metadata,
           "app/node_modules/lodash/package.json": pkg_json}
    layers = [tar_layer(base), tar_layer(app)]
    config = {"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
              "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                         "Cmd": ["python3", "-m", "http.server"], "ExposedPorts": {"22/tcp": {}, "8000/tcp": {}},
                         "WorkingDir": "/app"},
              "rootfs": {"type": "layers", "diff_ids": [sha(raw) for raw, _ in layers]},
              "history": [{"created_by": "/bin/sh -c #(nop) ADD file:debian-base in / "},
                          {"created_by": "COPY app /app # buildkit"},
                          {"created_by": "EXPOSE map[22/tcp:{} 8000/tcp:{}]", "empty_layer": True},
                          {"created_by": "CMD [\"python3\" \"-m\" \"http.server\"]", "empty_layer": True}]}
    cfg = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg), "size": len(cfg)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(gz), "size": len(gz)} for _, gz in layers]},
                          sort_keys=True, separators=(",", ":")).encode()
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "layout")
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    for f in os.listdir(blobs):
        os.remove(os.path.join(blobs, f))
    for b in [gz for _, gz in layers] + [cfg, manifest]:
        open(os.path.join(blobs, sha(b)[7:]), "wb").write(b)
    open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(manifest), "size": len(manifest),
                            "annotations": {"org.opencontainers.image.ref.name": "demo"}}]}
    open(os.path.join(out, "index.json"), "w").write(json.dumps(index, sort_keys=True))

main()
