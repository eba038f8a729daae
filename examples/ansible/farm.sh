#!/usr/bin/env bash
# A farm on one machine for trying the rolling-deploy playbooks: N "hosts",
# each its own nginx (own port, keep-alive page, /version, /nginx_status),
# behind one HAProxy that health-checks the keep-alive page (inter 200ms
# fall 2 rise 2) and has an admin runtime API socket. Everything lives under
# DIR and listens on 127.0.0.1, on free ports picked at start.
#
#   examples/ansible/farm.sh up DIR [N]   start N hosts (default 3), version 1,
#                                         write DIR/inventory.ini and DIR/farm.env
#   examples/ansible/farm.sh down DIR     stop everything started by up
#   examples/ansible/farm.sh start DIR HOST    start HOST's nginx (the playbooks' start step)
#   examples/ansible/farm.sh stop DIR HOST     stop HOST's nginx gracefully and wait
#                                         (the playbooks' stop step; logs the time to DIR/HOST/stops.log)
#
# Needs nginx and haproxy (Debian: nginx-light haproxy). As root, nginx's
# workers run as nobody: DIR and its parents must be world-searchable.
set -euo pipefail

nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }
haproxy_bin() { command -v haproxy 2>/dev/null || echo /usr/sbin/haproxy; }

# free_port: a free TCP port on 127.0.0.1 (bound and released at once).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_listen() { # PORT WHAT
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "farm: $2 not listening on 127.0.0.1:$1 after 10s" >&2
  return 1
}

host_start() { # DIR HOST
  local d="$1/$2"
  "$(nginx_bin)" -p "$d" -c "$d/nginx.conf" -e "$d/error.log"
  wait_listen "$(cat "$d/port")" "nginx $2"
}

host_stop() { # DIR HOST
  local d="$1/$2" pid
  date +%s.%N >>"$d/stops.log"
  pid=$(cat "$d/nginx.pid" 2>/dev/null || true)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then echo "farm: nginx $2 is not running" >&2; return 0; fi
  kill -QUIT "$pid" # graceful: finish what is in flight, then exit
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
  echo "farm: nginx $2 (pid $pid) still running after 15s" >&2
  return 1
}

up() { # DIR N
  local dir n i host port lb stats servers=""
  dir=$(mkdir -p "$1" && cd "$1" && pwd) n=${2:-3}
  chmod 755 "$dir"
  for i in $(seq "$n"); do
    host=web$i port=$(free_port)
    mkdir -p "$dir/$host/www"
    chmod 755 "$dir/$host" "$dir/$host/www"
    echo "$port" >"$dir/$host/port"
    echo OK >"$dir/$host/www/keepalive.htm"
    echo 1 >"$dir/$host/www/version"
    printf 'fast\n' >"$dir/$host/www/fast.txt"
    head -c $((240 * 1024)) /dev/zero | tr '\0' x >"$dir/$host/www/big.bin"
    cat >"$dir/$host/nginx.conf" <<CONF
pid $dir/$host/nginx.pid;
error_log $dir/$host/error.log;
worker_processes 1;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $dir/$host/tmp_body;
  proxy_temp_path $dir/$host/tmp_proxy;
  fastcgi_temp_path $dir/$host/tmp_fcgi;
  uwsgi_temp_path $dir/$host/tmp_uwsgi;
  scgi_temp_path $dir/$host/tmp_scgi;
  server {
    listen 127.0.0.1:$port;
    root $dir/$host/www;
    add_header X-Backend $host always;
    location = /keepalive.htm { open_file_cache off; }
    location = /version { default_type text/plain; }
    location = /nginx_status { stub_status; }
    location = /big.bin { limit_rate 80k; limit_rate_after 0; }
  }
}
CONF
    host_start "$dir" "$host"
    servers+="  server $host 127.0.0.1:$port check"$'\n'
  done
  lb=$(free_port) stats=$(free_port)
  mkdir -p "$dir/haproxy"
  cat >"$dir/haproxy/haproxy.cfg" <<CONF
global
  stats socket $dir/haproxy/admin.sock mode 600 level admin
  stats timeout 10s
  maxconn 1000

defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  # A check may take this long before it counts as failed (without it, the
  # limit is inter: 200 ms, which a loaded machine exceeds now and then);
  # a missing page (404) or a stopped nginx fails at once.
  timeout check 2s
  retries 0
  no option redispatch
  option http-server-close

frontend fe
  bind 127.0.0.1:$lb
  default_backend web

frontend stats
  bind 127.0.0.1:$stats
  stats enable
  stats uri /stats

backend web
  balance roundrobin
  option httpchk GET /keepalive.htm
  default-server inter 200ms fall 2 rise 2
$servers
CONF
  "$(haproxy_bin)" -D -p "$dir/haproxy/haproxy.pid" -f "$dir/haproxy/haproxy.cfg"
  wait_listen "$lb" haproxy
  cat >"$dir/farm.env" <<ENV
FARM_DIR=$dir
LB_URL=http://127.0.0.1:$lb
STATS_CSV="http://127.0.0.1:$stats/stats;csv"
HAPROXY_SOCKET=$dir/haproxy/admin.sock
HOSTS="$(for i in $(seq "$n"); do printf 'web%s ' "$i"; done | xargs)"
ENV
  {
    echo "[web]"
    for i in $(seq "$n"); do
      echo "web$i ansible_connection=local port=$(cat "$dir/web$i/port")"
    done
    echo
    echo "[web:vars]"
    # Debian's ansible runs modules with the system python
    py=/usr/bin/python3; [ -x "$py" ] || py=$(command -v python3)
    echo "ansible_python_interpreter=$py"
    echo "farm_dir=$dir"
    echo "farm=$(cd "$(dirname "$0")" && pwd)/farm.sh"
    echo "haproxy_socket=$dir/haproxy/admin.sock"
    echo "drain_state_dir=$dir/state"
  } >"$dir/inventory.ini"
  echo "farm: $n hosts behind http://127.0.0.1:$lb (inventory $dir/inventory.ini)"
}

down() { # DIR
  local dir=$1 p
  for p in "$dir"/haproxy/haproxy.pid "$dir"/web*/nginx.pid; do
    [ -f "$p" ] || continue
    kill -TERM "$(cat "$p")" 2>/dev/null || true
  done
}

case "${1:-}" in
  up) up "${2:?usage: farm.sh up DIR [N]}" "${3:-3}" ;;
  down) down "${2:?usage: farm.sh down DIR}" ;;
  start) host_start "${2:?usage: farm.sh start DIR HOST}" "${3:?usage: farm.sh start DIR HOST}" ;;
  stop) host_stop "${2:?usage: farm.sh stop DIR HOST}" "${3:?usage: farm.sh stop DIR HOST}" ;;
  *) echo "usage: farm.sh up DIR [N] | down DIR | start DIR HOST | stop DIR HOST" >&2; exit 2 ;;
esac
