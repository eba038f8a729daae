#!/usr/bin/env bash
# Part 9 of docs/benchmarks.md, back in: how soon `drain in --wait-healthy`
# (no timing flag) returns after a real HAProxy has the server UP from a
# check made after the in, this tree against the binary built from COMMIT
# (default 4f0b7a8, before the change), interleaved. Needs haproxy.
#
#   RUNS=3 scripts/bench/backin.sh [COMMIT] > /tmp/backin.md
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=${1:-4f0b7a8}
RUNS=${RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$BASE" | tar -x -C "$tmp"
(cd "$tmp" && go build -o "$tmp/drain-before" ./cmd/drain)
echo "Machine: $(nproc) cores; uptime before: $(uptime)"
echo
go run ./scripts/bench/backin -runs "$RUNS" -old "$tmp/drain-before"
echo
echo "Uptime after: $(uptime)"
