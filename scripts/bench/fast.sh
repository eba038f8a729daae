#!/usr/bin/env bash
# Part 8 of docs/benchmarks.md: drain run with no timing flag, before and
# after "fast by default", interleaved. Builds the before binary from the
# commit given (default: e9f6e90, the commit the change started from) in a
# temporary directory (git archive: no checkout is touched).
#
#   scripts/bench/fast.sh [COMMIT] > /tmp/fast.md
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=${1:-e9f6e90}
RUNS=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$BASE" | tar -x -C "$tmp"
(cd "$tmp" && go build -o "$tmp/drain-before" ./cmd/drain)
go run ./scripts/bench -runs "$RUNS" -only fast -old "$tmp/drain-before"
