#!/bin/sh
# Makes the v1 record fixtures with a drain binary of the release before the
# rotation redesign (records without "version"), real HAProxy 2.6 and real
# files. Run from the repository root:
#   go build -o /tmp/drain-v1 ./cmd/drain   # at commit 0393990 (before the redesign)
#   sh internal/rotation/testdata/v1records/gen.sh /tmp/drain-v1
# The records are copied as the binary wrote them; ROOT below is the
# directory every absolute path in them starts with (the test rewrites it).
set -eu
DRAIN=${1:?usage: gen.sh DRAIN_V1_BINARY}
OUT=$(cd "$(dirname "$0")" && pwd)
ROOT=/tmp/drainv1fx
rm -rf "$ROOT"
mkdir -p "$ROOT"
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

lb() { # lb NAME: an HAProxy with backend web, servers a and b (no checks)
	d=$ROOT/$1
	mkdir -p "$d"
	cat >"$d/haproxy.cfg" <<CFG
global
  stats socket $d/admin.sock mode 600 level admin
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
backend web
  server a 127.0.0.1:9
  server b 127.0.0.1:9
CFG
	haproxy -db -f "$d/haproxy.cfg" >/dev/null 2>&1 &
	pids="$pids $!"
	i=0
	while [ ! -S "$d/admin.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

}
hacmd() { # hacmd SOCKET COMMAND: one runtime API command
	python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode()+b"\n"); s.recv(4096)' "$1" "$2"
}
one() { # one SCENE: copy the single record the scene's state dir holds
	n=$(ls "$ROOT/$1/state"/*.json | wc -l)
	[ "$n" -eq 1 ] || { echo "$1: $n records" >&2; exit 1; }
	cp "$ROOT/$1/state"/*.json "$OUT/$1.json"
}

# 1. rename mode with a custom --disabled-name.
mkdir -p $ROOT/rename/www
printf 'OK\n' >$ROOT/rename/www/keepalive.htm
"$DRAIN" out --keepalive $ROOT/rename/www/keepalive.htm --disabled-name ka-off.htm --reason "fixture: rename" --state-dir $ROOT/rename/state
one rename

# 2. content mode; the original page has bytes that are not UTF-8, mode 0640.
mkdir -p $ROOT/content/www
printf 'OK\000\377\376\200 caf\351\r\n' >$ROOT/content/www/keepalive.htm
chmod 0640 $ROOT/content/www/keepalive.htm
"$DRAIN" out --keepalive $ROOT/content/www/keepalive.htm --down-content 'DOWN' --reason "fixture: content" --state-dir $ROOT/content/state
one content

# 3. HAProxy, three instances: web/a ready on lb1 and lb3, put in maint by
# hand on lb2 before out (drain leaves it there on in).
lb lb1
lb lb2
lb lb3
hacmd $ROOT/lb2/admin.sock "set server web/a state maint"
"$DRAIN" out --haproxy $ROOT/lb1/admin.sock#web/a --haproxy $ROOT/lb2/admin.sock#web/a --haproxy unix:$ROOT/lb3/admin.sock#web/a --reason "fixture: haproxy" --state-dir $ROOT/haproxy/state
one haproxy
for l in lb1 lb2 lb3; do hacmd $ROOT/$l/admin.sock "set server web/a state ready"; done

# 4. keep-alive page (rename) and HAProxy together: one record.
mkdir -p $ROOT/combined/www
printf 'OK\n' >$ROOT/combined/www/keepalive.htm
"$DRAIN" out --keepalive $ROOT/combined/www/keepalive.htm --haproxy $ROOT/lb1/admin.sock#web/a --reason "fixture: combined" --state-dir $ROOT/combined/state
one combined
hacmd $ROOT/lb1/admin.sock "set server web/a state ready"

# 5. a run killed while waiting (phase waiting): out by rename, then the
# wait (--lb-grace 1h) never ends; SIGKILL leaves the record as it was.
mkdir -p $ROOT/waiting/www
printf 'OK\n' >$ROOT/waiting/www/keepalive.htm
"$DRAIN" run --keepalive $ROOT/waiting/www/keepalive.htm --lb-grace 1h --reason "fixture: waiting" --state-dir $ROOT/waiting/state -- true >/dev/null 2>&1 &
run=$!
i=0
while ! grep -qs '"phase": "waiting"' $ROOT/waiting/state/*.json && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -9 $run
wait $run 2>/dev/null || true
one waiting
echo "fixtures written to $OUT (paths under $ROOT)"
