#!/usr/bin/env python3
"""Builds the analyzer benchmark image from real packages and pushes it to a local registry.

About 1 GB uncompressed in 6 gzip layers, like a real application image:
  0. a Debian 12 base: essential packages (libc6, coreutils, bash, perl-base, ...) + dpkg status
  1. Python 3.11 from Debian
  2. a JRE (openjdk-17-jre-headless and its libraries)
  3. PyPI wheels unpacked into site-packages (numpy, pandas, scipy, Django, requests, ...)
  4. npm packages in /app/node_modules (npm pack tarballs)
  5. Go: the Debian Go 1.19 toolchain (many Go binaries) and a Go program with dependencies

Artifacts are cached in $PLIMSOLL_TEST_CACHE (default ~/.cache/plimsoll-test). Usage:
  build_image.py REGISTRY_HOST:PORT REPO:TAG
"""
import gzip, hashlib, io, json, os, subprocess, sys, tarfile, urllib.request, zipfile

CACHE = os.environ.get("PLIMSOLL_TEST_CACHE", os.path.expanduser("~/.cache/plimsoll-test"))

BASE = """base-files base-passwd bash coreutils dash debianutils diffutils findutils grep gzip hostname
init-system-helpers libacl1 libattr1 libaudit1 libblkid1 libbz2-1.0 libc-bin libc6 libcap-ng0 libcap2
libcrypt1 libdb5.3 libdebconfclient0 libgcc-s1 libgmp10 liblz4-1 liblzma5 libmd0 libmount1 libpam0g
libpcre2-8-0 libselinux1 libsmartcols1 libssl3 libstdc++6 libsystemd0 libtinfo6 libudev1 libuuid1
libzstd1 login mawk ncurses-base ncurses-bin passwd perl-base sed sysvinit-utils tar tzdata util-linux
zlib1g ca-certificates openssl libexpat1 libsqlite3-0 libffi8 libreadline8 readline-common""".split()
PYTHON = "python3.11 python3.11-minimal libpython3.11-minimal libpython3.11-stdlib media-types libncursesw6 libnsl2 libtirpc3 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libkeyutils1 libcom-err2".split()
JRE = "openjdk-17-jre-headless java-common libcups2 libfontconfig1 liblcms2-2 libjpeg62-turbo libnss3 libnspr4 libasound2 libfreetype6 libharfbuzz0b libpcsclite1 libglib2.0-0 libgraphite2-3 libpng16-16 libbrotli1 fontconfig-config libavahi-client3 libavahi-common3 libdbus-1-3 libgnutls30".split()
GO = "golang-1.19-go golang-1.19-src docker-registry".split()
WHEELS = ["numpy==1.26.4", "pandas==2.2.2", "scipy==1.13.1", "Django==2.2", "requests==2.19.1", "urllib3==1.24.1",
          "Jinja2==2.10", "MarkupSafe==2.1.5", "pytz==2024.1", "python-dateutil==2.9.0", "six==1.16.0", "idna==2.7",
          "certifi==2024.2.2", "chardet==3.0.4", "sqlparse==0.5.0", "tzdata==2024.1"]
NPMS = ["lodash@4.17.15", "minimist@1.2.0", "express@4.17.1", "typescript@5.4.5", "axios@0.21.1", "moment@2.29.1",
        "react@18.2.0", "react-dom@18.2.0", "rxjs@7.8.1", "webpack@5.91.0", "node-fetch@2.6.0", "jquery@3.4.1"]

def run(cmd, cwd=None):
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True).stdout

def debs(names):
    out = []
    for n in names:
        d = os.path.join(CACHE, "bench-debs", n)
        os.makedirs(d, exist_ok=True)
        found = [f for f in os.listdir(d) if f.endswith(".deb")]
        if not found:
            run(["apt-get", "download", n], cwd=d)
            found = [f for f in os.listdir(d) if f.endswith(".deb")]
        out.append(os.path.join(d, found[0]))
    return out

class Layer:
    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)
        self.names = set()
    def add_tar(self, data, prefix=""):
        with tarfile.open(fileobj=io.BytesIO(data)) as src:
            for m in src.getmembers():
                name = prefix + m.name.lstrip("./")
                if not name or name in self.names:
                    continue
                self.names.add(name)
                m.name = name
                self.tar.addfile(m, src.extractfile(m) if m.isfile() else None)
    def add_file(self, name, data, mode=0o644):
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), mode, 1700000000
        self.tar.addfile(info, io.BytesIO(data))
    def finish(self):
        self.tar.close()
        raw = self.buf.getvalue()
        gz = subprocess.run(["gzip", "-6", "-n", "-c"], input=raw, check=True, capture_output=True).stdout
        return raw, gz

def deb_layer(layer, paths, status):
    for p in paths:
        layer.add_tar(run(["dpkg-deb", "--fsys-tarfile", p]))
        ctl = run(["dpkg-deb", "-f", p]).decode().rstrip("\n").split("\n")
        status.append("\n".join([ctl[0], "Status: install ok installed"] + ctl[1:]) + "\n")
    layer.add_file("var/lib/dpkg/status", "\n".join(status).encode())

def wheels_layer(layer):
    d = os.path.join(CACHE, "bench-wheels")
    os.makedirs(d, exist_ok=True)
    for w in WHEELS:
        name = w.split("==")[0].lower().replace("-", "_")
        if not any(f.lower().startswith(name) for f in os.listdir(d)):
            run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                 "--python-version", "3.11", "--platform", "manylinux2014_x86_64", "-d", d, w])
    site = "usr/local/lib/python3.11/site-packages/"
    for f in sorted(os.listdir(d)):
        with zipfile.ZipFile(os.path.join(d, f)) as z:
            for info in z.infolist():
                if not info.is_dir():
                    layer.add_file(site + info.filename, z.read(info))

def npm_layer(layer):
    d = os.path.join(CACHE, "bench-npm")
    os.makedirs(d, exist_ok=True)
    for spec in NPMS:
        name, ver = spec.rsplit("@", 1)
        tgz = name.replace("/", "-").lstrip("@") + "-" + ver + ".tgz"
        if not os.path.exists(os.path.join(d, tgz)):
            run(["npm", "pack", "--silent", spec], cwd=d)
        with tarfile.open(os.path.join(d, tgz)) as t:
            for m in t.getmembers():
                if m.isfile():
                    layer.add_file("app/node_modules/" + name + "/" + m.name.split("/", 1)[1], t.extractfile(m).read())

def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()

def push(registry, repo, tag, layers, config):
    base = f"http://{registry}/v2/{repo}"
    def upload(blob):
        d = sha(blob)
        try:
            urllib.request.urlopen(urllib.request.Request(f"{base}/blobs/{d}", method="HEAD"))
            return d
        except urllib.error.HTTPError:
            pass
        r = urllib.request.urlopen(urllib.request.Request(f"{base}/blobs/uploads/", method="POST", data=b""))
        loc = r.headers["Location"]
        loc = loc if loc.startswith("http") else f"http://{registry}{loc}"
        sep = "&" if "?" in loc else "?"
        req = urllib.request.Request(f"{loc}{sep}digest={d}", method="PUT", data=blob,
                                     headers={"Content-Type": "application/octet-stream"})
        urllib.request.urlopen(req)
        return d
    for _, gz in layers:
        upload(gz)
    upload(config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(gz), "size": len(gz)} for _, gz in layers]}).encode()
    req = urllib.request.Request(f"{base}/manifests/{tag}", method="PUT", data=manifest,
                                 headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    urllib.request.urlopen(req)
    return sha(manifest)

def main():
    registry, ref = sys.argv[1], sys.argv[2]
    repo, tag = ref.rsplit(":", 1)
    status = []
    layers = []
    for names, extra in [(BASE, None), (PYTHON, None), (JRE, None)]:
        l = Layer()
        if not layers:
            l.add_file("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n")
        deb_layer(l, debs(names), status)
        layers.append(l.finish())
    l = Layer(); wheels_layer(l); layers.append(l.finish())
    l = Layer(); npm_layer(l); layers.append(l.finish())
    l = Layer(); deb_layer(l, debs(GO), status); layers.append(l.finish())
    config = json.dumps({"architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Cmd": ["python3.11"]},
        "rootfs": {"type": "layers", "diff_ids": [sha(raw) for raw, _ in layers]},
        "history": [{"created_by": f"layer {i}"} for i in range(len(layers))]}).encode()
    digest = push(registry, repo, tag, layers, config)
    total_raw = sum(len(r) for r, _ in layers)
    total_gz = sum(len(g) for _, g in layers)
    print(json.dumps({"image": f"{registry}/{ref}", "digest": digest, "layers": len(layers),
                      "uncompressed_bytes": total_raw, "compressed_bytes": total_gz}))

main()
