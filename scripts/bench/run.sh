#!/usr/bin/env bash
# Runs every benchmark and prints the results as Markdown (docs/benchmarks.md
# is this output plus notes). Needs nginx and haproxy (scripts/test.sh
# installs them). Takes about 23 minutes (13 of them the slow-probe part, 1b, 4 its totals).
#
#   scripts/bench/run.sh > /tmp/bench.md
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
OVERHEAD=${OVERHEAD:-60s}

echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), shared; $(go version | cut -d' ' -f3); $(/usr/sbin/haproxy -v 2>&1 | head -1 | cut -d' ' -f1-3); $(/usr/sbin/nginx -v 2>&1 | cut -d: -f2 | xargs)."
echo
go run ./scripts/bench -runs "$RUNS" -overhead "$OVERHEAD"

echo "## 4. A large Prometheus page"
echo
echo '```'
go test -run '^$' -bench 'BenchmarkProm' -benchmem -count 5 ./internal/source | grep -E '^Benchmark'
echo '```'
echo

echo "## 5. Start-up time and size"
echo
bin=$(mktemp -d)/drain
CGO_ENABLED=0 go build -o "$bin" ./cmd/drain
CGO_ENABLED=0 go build -ldflags '-s -w' -o "$bin-stripped" ./cmd/drain
echo "- binary: $(stat -c %s "$bin") bytes; with -ldflags '-s -w': $(stat -c %s "$bin-stripped") bytes"
start=$(date +%s%N)
for _ in $(seq 100); do "$bin" version >/dev/null; done
end=$(date +%s%N)
echo "- \`drain version\`, 100 runs: $(( (end - start) / 100000 )) µs each on average (wall clock, process start to exit)"
rm -rf "$(dirname "$bin")"

# Part 7, at scale: this tree against an older one (-old-rev), interleaved.
go run ./scripts/bench -runs 3 -only scale
