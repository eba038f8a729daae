#!/usr/bin/env bash
# The same Ansible rolling deploy (examples/ansible: three nginx hosts behind
# one HAProxy, serial 1, under load) done by drain and by Ansible's own
# community.general.haproxy module, measured in one run; prints the Markdown
# table of docs/benchmarks.md, part 6. Needs nginx, haproxy and ansible
# (Debian's, with community.general). Takes a few minutes per run.
#
#   scripts/bench/ansible-roll.sh           one roll per variant
#   RUNS=3 scripts/bench/ansible-roll.sh    three, interleaved
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-1}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
chmod 755 "$bin"
CGO_ENABLED=0 go build -o "$bin/drain" ./cmd/drain
echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(ansible --version | head -1); community.general $(ansible-galaxy collection list community.general 2>/dev/null | awk '/community.general/ {print $2}' | head -1); $(/usr/sbin/haproxy -v 2>&1 | head -1 | cut -d' ' -f1-3); $(/usr/sbin/nginx -v 2>&1 | cut -d: -f2 | xargs)."
echo
go run ./scripts/bench/ansibleroll -drain "$bin/drain" -runs "$RUNS"
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
