#!/usr/bin/env bash
# report-demo.sh: drain the demo web server (as scripts/demo.sh does) with
# --output json, then turn the events into the timeline picture the README
# shows. Regenerates docs/img/drain-demo.ndjson (the events) and
# docs/img/drain-demo.svg (drawn by `drain report`, not by hand).
#
# Usage: scripts/report-demo.sh            (from any directory; about 15 s)
#        REPORT_KEEP=1 scripts/report-demo.sh   keeps the temporary directory
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

demo_name=report-demo keep_var=REPORT_KEEP
# shellcheck source=scripts/lib/demo-tmp.sh
source scripts/lib/demo-tmp.sh

go build -o "$tmp/drain" ./cmd/drain
go build -o "$tmp/demo-target" ./scripts/demo-target

"$tmp/demo-target" -init -root "$tmp/www" -port-file "$tmp/port" 2>"$tmp/target.log" &
target_pid=$!
for ((i = 0; i < 100; i++)); do
	[[ -s $tmp/port ]] && break
	if ! kill -0 "$target_pid" 2>/dev/null; then
		cat "$tmp/target.log" >&2
		echo "report-demo: demo-target exited before listening" >&2
		exit 1
	fi
	sleep 0.1
done
[[ -s $tmp/port ]] || {
	echo "report-demo: demo-target did not listen within 10s" >&2
	exit 1
}
addr=$(<"$tmp/port")

# Three slow requests, one per second; the third starts after the page is
# renamed (a load balancer that has not noticed yet: --lb-grace covers it).
"$tmp/demo-target" load -url "http://$addr" -n 3 -d 6s -stagger 1s -timeout 20s >"$tmp/load.log" 2>&1 &
load_pid=$!
sleep 1

drain_rc=0
"$tmp/drain" run --output json --state-dir "$tmp/state" \
	--keepalive "$tmp/www/keepalive.htm" --verify-url "http://$addr/keepalive.htm" \
	--source "prom:http://$addr/metrics#demo_requests_in_flight" \
	--source "nginx:http://$addr/nginx_status" \
	--lb-grace 2s --settle 2s --interval 250ms --timeout 60s --reason "demo" \
	-- kill -TERM "$target_pid" >"$tmp/events.ndjson" || drain_rc=$?
target_pid=""
load_rc=0
wait "$load_pid" || load_rc=$?
load_pid=""
if ((drain_rc != 0 || load_rc != 0)); then
	cat "$tmp/load.log" >&2
	echo "report-demo: drain exited $drain_rc, the load $load_rc: not a picture worth keeping" >&2
	exit 1
fi

# The paths and port of this run say nothing to a reader: keep them short.
sed -e "s#$tmp#/tmp/demo#g" -e "s#$addr#127.0.0.1:8080#g" "$tmp/events.ndjson" >docs/img/drain-demo.ndjson
# The grace ended while the slow requests were still running, so the events
# do not show it: --lb-grace draws the window the run had.
"$tmp/drain" report docs/img/drain-demo.ndjson -o docs/img/drain-demo.svg --lb-grace 2s
echo "report-demo: wrote docs/img/drain-demo.ndjson and docs/img/drain-demo.svg"
