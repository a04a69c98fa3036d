#!/usr/bin/env bash
# Stops the registries tests/start-registries.sh started (by the pids it recorded) and
# removes their state. Usage: tests/stop-registries.sh [STATE_DIR] (default:
# $PLIMSOLL_TEST_REGISTRY_STATE).
set -euo pipefail
state="${1:-${PLIMSOLL_TEST_REGISTRY_STATE:-}}"
[ -n "$state" ] && [ -d "$state" ] || exit 0
if [ -f "$state/pids" ]; then
  while read -r pid; do
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || true
  done <"$state/pids"
  while read -r pid; do
    [ -n "$pid" ] || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done <"$state/pids"
fi
rm -rf "$state"
