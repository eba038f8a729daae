#!/usr/bin/env bash
# Two drain binaries side by side, in one run, interleaved, on the same
# machine load: the polling overhead (CPU and peak RSS of `drain wait`
# polling one Prometheus source that never drains, both binaries at once)
# and the start-up time (`drain version`, alternating).
#
#   scripts/bench/compare.sh OLD_REV [ROUNDS] [SECONDS]
#
# OLD_REV is built from `git archive` (e.g. the previous release's commit);
# the new binary is this tree. Prints Markdown rows and the load average.
set -euo pipefail
cd "$(dirname "$0")/../.."
old_rev=${1:?usage: compare.sh OLD_REV [ROUNDS] [SECONDS]}
rounds=${2:-3}
secs=${3:-20}
tmp=$(mktemp -d /tmp/drain-compare.XXXXXX)
trap 'kill "${srv:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir "$tmp/old-src" "$tmp/www"
git archive "$old_rev" | tar -x -C "$tmp/old-src"
(cd "$tmp/old-src" && CGO_ENABLED=0 go build -o "$tmp/old" ./cmd/drain)
CGO_ENABLED=0 go build -o "$tmp/new" ./cmd/drain
printf '# TYPE inflight gauge\ninflight 3\n' > "$tmp/www/metrics"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$tmp/www" >/dev/null 2>&1 &
srv=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/metrics" >/dev/null && break; sleep 0.1; done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| round | binary | --interval | CPU (ms) | peak RSS (MiB) |"
echo "|---|---|---|---|---|"
for r in $(seq "$rounds"); do
  for iv in 1s 100ms; do
    pids=()
    for b in old new; do
      /usr/bin/time -f "%U %S %M" -o "$tmp/$b.time" "$tmp/$b" wait --source "prom:http://127.0.0.1:$port/metrics#inflight" \
        --settle 1h --timeout "${secs}s" --interval "$iv" --output json >/dev/null 2>&1 &
      pids+=($!)
    done
    wait "${pids[@]}" || true # exit 3: not drained before --timeout, as meant
    for b in old new; do
      read -r u s m < <(tail -n 1 "$tmp/$b.time") || true # GNU time puts "Command exited with non-zero status 3" first
      awk -v r="$r" -v b="$b" -v iv="$iv" -v u="$u" -v s="$s" -v m="$m" 'BEGIN { printf "| %d | %s | %s | %.0f | %.1f |\n", r, b, iv, (u+s)*1000, m/1024 }'
    done
  done
done
echo
echo "| binary | drain version, 200 runs alternating: mean wall (ms) |"
echo "|---|---|"
declare -A tot=([old]=0 [new]=0)
for _ in $(seq 200); do
  for b in old new; do
    t0=$(date +%s%N); "$tmp/$b" version >/dev/null; t1=$(date +%s%N)
    tot[$b]=$(( ${tot[$b]} + t1 - t0 ))
  done
done
for b in old new; do awk -v b="$b" -v t="${tot[$b]}" 'BEGIN { printf "| %s | %.2f |\n", b, t/200/1e6 }'; done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
