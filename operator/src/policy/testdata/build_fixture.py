#!/usr/bin/env python3
"""Builds the policy engine's test image and analyzes it with the real analyzer.

The image (a `docker save` archive, not committed) holds the real base-passwd 3.6.1 Debian
package (its dpkg status stanza, md5sums, file list, /usr/sbin/update-passwd and the master
passwd file, from `apt-get download base-passwd=3.6.1`), with one packaged file modified and
the rest of its files absent, so `packages.verify` has something to find; and hand-written
files for the other gates: a setuid binary, a private key, an Alpine-style null root
password in /etc/shadow (CVE-2019-5021), an AWS key in a file deleted by a later layer, a
web server config, and a config with no USER, EXPOSE 22 and 8080 and no HEALTHCHECK.

Usage: python3 build_fixture.py BASE_PASSWD_DEB ANALYZER_BIN > analysis.json
"""
import hashlib, io, json, os, subprocess, sys, tarfile, tempfile

def tar_bytes(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, mode
                t.addfile(info)
                continue
            info.size, info.mtime, info.mode = len(data), 1700000000, mode
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()

def main():
    deb, analyzer = sys.argv[1:3]
    work = tempfile.mkdtemp()
    subprocess.run(["dpkg-deb", "-x", deb, work + "/x"], check=True)
    subprocess.run(["dpkg-deb", "-e", deb, work + "/c"], check=True)
    control = subprocess.run(["dpkg-deb", "-f", deb], check=True, capture_output=True).stdout
    read = lambda p: open(p, "rb").read()
    passwd = read(work + "/x/usr/share/base-passwd/passwd.master").replace(b":*:", b":x:")
    passwd += b"app:x:1000:1000:App:/home/app:/bin/sh\n"
    status = control.replace(b"Package: base-passwd\n", b"Package: base-passwd\nStatus: install ok installed\n")
    md5sums = read(work + "/c/md5sums")
    listing = "".join("/" + l.split(b"  ", 1)[1].decode().strip() + "\n" for l in md5sums.splitlines())
    group = read(work + "/x/usr/share/base-passwd/group.master") + b"extra:*:999:\n"
    layer0 = tar_bytes([
        ("etc/os-release", b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n', 0o644),
        ("etc/passwd", passwd, 0o644),
        ("etc/shadow", b"root:::0:::::\nbin:!::0:::::\n", 0o640),
        ("etc/ssl/private/server.key", b"-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n", 0o600),
        ("var/lib/dpkg/status", status + b"\n", 0o644),
        ("var/lib/dpkg/info/base-passwd.md5sums", md5sums, 0o644),
        ("var/lib/dpkg/info/base-passwd.list", listing.encode(), 0o644),
        ("usr/sbin/update-passwd", read(work + "/x/usr/sbin/update-passwd"), 0o755),
        ("usr/share/base-passwd/passwd.master", read(work + "/x/usr/share/base-passwd/passwd.master"), 0o644),
        ("usr/share/base-passwd/group.master", group, 0o644),
        ("usr/bin/su", b"\x7fELF not really su\n", 0o4755),
        ("var/mail", None, 0o2775),
        ("app/config.env", b"# deployment\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n", 0o644),
        ("app/main.py", b"print('hello')\n", 0o644),
    ])
    layer1 = tar_bytes([
        ("app/.wh.config.env", b"", 0o644),
        ("app/settings.conf", b"Listen 443\nSSLEngine on\n", 0o644),
    ])
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-05-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["python3", "/app/main.py"],
            "ExposedPorts": {"22/tcp": {}, "8080/tcp": {}},
            "Labels": {"maintainer": "team@example.com", "org.opencontainers.image.version": "1.4.2"},
            "WorkingDir": "/app",
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(l).hexdigest() for l in (layer0, layer1)]},
        "history": [
            {"created": "2024-05-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:4b1e0d8b7a in / "},
            {"created": "2024-05-01T00:00:00Z", "created_by": "/bin/sh -c apt-get update", "empty_layer": True},
            {"created": "2024-05-01T00:00:00Z", "created_by": "/bin/sh -c #(nop)  EXPOSE 22/tcp 8080/tcp", "empty_layer": True},
            {"created": "2024-05-01T00:00:00Z", "created_by": "RUN /bin/sh -c rm /app/config.env # buildkit"},
            {"created": "2024-05-01T00:00:00Z", "created_by": "/bin/sh -c #(nop)  CMD [\"python3\" \"/app/main.py\"]", "empty_layer": True},
        ],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": ["registry.example.com/team/app:1.4.2"], "Layers": ["l0/layer.tar", "l1/layer.tar"]}]
    archive = work + "/image.tar"
    with tarfile.open(archive, "w") as t:
        for name, data in [("manifest.json", json.dumps(manifest).encode()), (config_name, config_bytes), ("l0/layer.tar", layer0), ("l1/layer.tar", layer1)]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1700000000
            t.addfile(info, io.BytesIO(data))
    out = subprocess.run([
        analyzer, "docker-archive:" + archive,
        "--secret-pattern", "ALPINE_NULL_ROOT=^root:::0:::::$",
        "--content-pattern", "SSL_ENGINE=SSLEngine\\s+on",
        "--retrieve-file", "/etc/passwd", "--retrieve-file", "/app/settings.conf",
        "--file-digests", "sha256,md5",
    ], check=True, capture_output=True).stdout
    analysis = json.loads(out)
    analysis["analyzer"]["version"] = "0.0.0-fixture"
    analysis["image"]["reference"] = "docker-archive:image.tar"
    json.dump(analysis, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")

main()
