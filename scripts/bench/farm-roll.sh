#!/usr/bin/env bash
# Part 9 of docs/benchmarks.md: the Ansible roll of part 6 (three hosts of
# examples/ansible/farm.sh behind one HAProxy, serial 1, under load) with
# drain's defaults (no lb_grace, settle or interval given), beside
# community.general.haproxy at its default wait_interval 5 and at 1,
# interleaved. Needs nginx, haproxy and Debian's ansible.
#
#   RUNS=3 scripts/bench/farm-roll.sh > /tmp/farm.md
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
chmod 755 "$bin"
CGO_ENABLED=0 go build -o "$bin/drain" ./cmd/drain
echo "Machine: $(nproc) cores; $(ansible --version | head -1); community.general $(ansible-galaxy collection list community.general 2>/dev/null | awk '/community.general/ {print $2}' | head -1); $(/usr/sbin/haproxy -v 2>&1 | head -1 | cut -d' ' -f1-3)."
echo "uptime before: $(uptime)"
echo
go run ./scripts/bench/ansibleroll -drain "$bin/drain" -runs "$RUNS" -defaults
echo
echo "uptime after: $(uptime)"
