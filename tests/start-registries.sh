#!/usr/bin/env bash
# Starts the two loopback registries the integration tests push to (Debian's package of the
# CNCF distribution registry, /usr/bin/docker-registry):
#   PLIMSOLL_TEST_REGISTRY=127.0.0.1:5000       open
#   PLIMSOLL_TEST_REGISTRY_AUTH=127.0.0.1:5001  htpasswd basic auth, user plimsoll / s3cret
# Ports can be moved with PLIMSOLL_REGISTRY_PORT / PLIMSOLL_REGISTRY_AUTH_PORT.
#
# Usage:  eval "$(tests/start-registries.sh [STATE_DIR])"
# prints the export lines (also written to STATE_DIR/env); STATE_DIR (default: a new temp
# dir) holds configs, storage, logs and pids. Stop them with tests/stop-registries.sh STATE_DIR.
set -euo pipefail

state="${1:-$(mktemp -d "${TMPDIR:-/tmp}/plimsoll-registries.XXXXXX")}"
mkdir -p "$state"
state="$(cd "$state" && pwd)"
port="${PLIMSOLL_REGISTRY_PORT:-5000}"
auth_port="${PLIMSOLL_REGISTRY_AUTH_PORT:-5001}"

for cmd in docker-registry htpasswd; do
  command -v "$cmd" >/dev/null || {
    echo "start-registries: $cmd not found (apt-get install docker-registry apache2-utils)" >&2
    exit 1
  }
done

# The status code of GET http://127.0.0.1:PORT/v2/, or nothing (bash's /dev/tcp: no curl needed).
v2_status() {
  local line
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 0
  printf 'GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n' "$1" >&3
  IFS= read -r -t 2 line <&3 || true
  exec 3<&- 3>&-
  set -- $line
  echo "${2:-}"
}

for p in "$port" "$auth_port"; do
  if [ -n "$(v2_status "$p")" ]; then
    echo "start-registries: something already listens on 127.0.0.1:$p (a registry left running?);" \
      "stop it or set PLIMSOLL_REGISTRY_PORT / PLIMSOLL_REGISTRY_AUTH_PORT" >&2
    exit 1
  fi
done

htpasswd -Bbn plimsoll s3cret >"$state/htpasswd"

write_config() { # name port [auth]
  mkdir -p "$state/$1/data"
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: warn"
    echo "  accesslog:"
    echo "    disabled: true"
    echo "storage:"
    echo "  filesystem:"
    echo "    rootdirectory: $state/$1/data"
    echo "  delete:"
    echo "    enabled: true"
    echo "http:"
    echo "  addr: 127.0.0.1:$2"
    echo "  secret: plimsoll-test-$1"
    if [ "${3:-}" = auth ]; then
      echo "auth:"
      echo "  htpasswd:"
      echo "    realm: plimsoll-test"
      echo "    path: $state/htpasswd"
    fi
  } >"$state/$1/config.yml"
}

write_config open "$port"
write_config auth "$auth_port" auth
: >"$state/pids"
for name in open auth; do
  docker-registry serve "$state/$name/config.yml" >"$state/$name/log" 2>&1 &
  echo $! >>"$state/pids"
done

wait_for() { # port expected-status name
  for _ in $(seq 1 100); do
    if [ "$(v2_status "$1")" = "$2" ]; then return 0; fi
    sleep 0.1
  done
  echo "start-registries: the $3 registry on 127.0.0.1:$1 did not come up; its log:" >&2
  cat "$state/$3/log" >&2
  exit 1
}
wait_for "$port" 200 open
wait_for "$auth_port" 401 auth

cat >"$state/env" <<ENV
export PLIMSOLL_TEST_REGISTRY=127.0.0.1:$port
export PLIMSOLL_TEST_REGISTRY_AUTH=127.0.0.1:$auth_port
export PLIMSOLL_TEST_REGISTRY_STATE=$state
ENV
cat "$state/env"
