#!/usr/bin/env bash
# demo.sh: watch drain take a busy web server out of rotation, wait until its
# in-flight requests have finished, and only then stop it - so no request is cut.
#
# Usage: scripts/demo.sh          (from any directory; takes about 15 s)
#        DEMO_KEEP=1 scripts/demo.sh   keeps the temporary directory
#
# Exits non-zero if drain failed or if any request of the load was cut.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

demo_name=demo keep_var=DEMO_KEEP
# shellcheck source=scripts/lib/demo-tmp.sh
source scripts/lib/demo-tmp.sh

section() { printf '\n== %s ==\n' "$*"; }
say() { printf '   %s\n' "$*"; }

# show prints a command as the user would type it ($tmp abbreviated), then runs it.
show() {
	local line
	line=$(printf ' %q' "${@:2}")
	line="\$ drain${line//"$tmp"/\$tmp}"
	printf '%s\n' "$line"
	"$@"
}

# wait_gone waits (at most $2 tenths of a second) for process $1 to exit.
wait_gone() {
	local i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

section "Build"
say "tmp=$tmp"
go build -o "$tmp/drain" ./cmd/drain
go build -o "$tmp/demo-target" ./scripts/demo-target
say "built drain and demo-target"

section "Start a demo web server"
"$tmp/demo-target" -init -root "$tmp/www" -port-file "$tmp/port" 2>"$tmp/target.log" &
target_pid=$!
for ((i = 0; i < 100; i++)); do
	[[ -s $tmp/port ]] && break
	if ! kill -0 "$target_pid" 2>/dev/null; then
		cat "$tmp/target.log" >&2
		echo "demo: demo-target exited before listening" >&2
		exit 1
	fi
	sleep 0.1
done
if [[ ! -s $tmp/port ]]; then
	echo "demo: demo-target did not write $tmp/port within 10s" >&2
	exit 1
fi
addr=$(<"$tmp/port")
say "demo-target (pid $target_pid) listens on http://$addr, keep-alive page $tmp/www/keepalive.htm"
say "it stops abruptly on SIGTERM, cutting whatever is still in flight"

section "Send load: 3 requests of 6 s each, one per second"
"$tmp/demo-target" load -url "http://$addr" -n 3 -d 6s -stagger 1s -timeout 20s >"$tmp/load.log" 2>&1 &
load_pid=$!
sleep 1
say "request 3 starts after the page is renamed: a load balancer has not noticed yet (--lb-grace covers that)"

section "Drain, then stop the server"
drain_rc=0
show "$tmp/drain" run --state-dir "$tmp/state" \
	--keepalive "$tmp/www/keepalive.htm" --verify-url "http://$addr/keepalive.htm" \
	--source "prom:http://$addr/metrics#demo_requests_in_flight" \
	--source "nginx:http://$addr/nginx_status" \
	--lb-grace 2s --settle 2s --interval 250ms --timeout 60s --reason "demo" \
	-- kill -TERM "$target_pid" || drain_rc=$?
say "drain exited $drain_rc"

if wait_gone "$target_pid" 50; then
	wait "$target_pid" 2>/dev/null || true
	target_pid=""
else
	say "demo-target is still running (drain did not stop it)"
fi

section "Load result"
load_rc=0
wait "$load_pid" || load_rc=$?
load_pid=""
sed 's/^/   /' "$tmp/load.log"

section "Server log"
sed 's/^/   /' "$tmp/target.log"
cut_line=$(grep -o 'stopped, [0-9]* requests were cut' "$tmp/target.log" || true)

section "Status, then back into rotation"
status_rc=0
show "$tmp/drain" status --state-dir "$tmp/state" --keepalive "$tmp/www/keepalive.htm" || status_rc=$?
[[ $status_rc == 0 ]] || say "(drain status exited $status_rc)"
say "The server is stopped now, so restore the page without waiting for health."
say "In a real deploy you would start the server again, then run:"
say "  drain in --keepalive $tmp/www/keepalive.htm --verify-url http://$addr/keepalive.htm --wait-healthy"
in_rc=0
show "$tmp/drain" in --state-dir "$tmp/state" --keepalive "$tmp/www/keepalive.htm" || in_rc=$?
if [[ -f $tmp/www/keepalive.htm ]]; then
	say "keepalive.htm is back in place"
else
	say "keepalive.htm is NOT back in place"
	((in_rc != 0)) || in_rc=1
fi

section "Result"
failed=0
if ((drain_rc != 0)); then
	say "FAIL: drain run exited $drain_rc"
	failed=1
fi
if ((in_rc != 0)); then
	say "FAIL: drain in exited $in_rc"
	failed=1
fi
if ((load_rc != 0)); then
	say "FAIL: the load client saw failed or cut requests (see above)"
	failed=1
fi
if [[ -n $cut_line && $cut_line != "stopped, 0 requests were cut" ]]; then
	say "FAIL: the server reports: $cut_line"
	failed=1
fi
if ((failed)); then
	exit 1
fi
say "OK: every request completed; the server was stopped with nothing in flight."
