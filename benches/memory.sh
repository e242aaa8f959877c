#!/usr/bin/env bash
# Memory benchmark: peak RSS of surge holding 1,000, 10,000 and 50,000 users, each with its own
# keep-alive connection to nginx on loopback, sending one GET every 5 s for 20 s (5 s ramp-up):
# most of the time every user is idle, holding what an idle user holds (its task, buffers and
# connection). Prints peak RSS, RSS per user, and what was answered.
#
#   bash benches/memory.sh                 # 1000 10000 50000 users
#   USERS_LIST="10000" bash benches/memory.sh
#   TLS=1 bash benches/memory.sh           # HTTPS: a CA and a server certificate made here with
#                                          # openssl, trusted through --set target.ca_cert
#
# Each user needs one open file: surge raises its soft limit up to the hard limit itself (and says
# when that is too low); this script raises the hard limit first when it runs as root, and says
# when it cannot. 50,000 connections to one address also need more than the default 28,232
# ephemeral ports: as root the script widens net.ipv4.ip_local_port_range for the run and puts
# it back after; otherwise it says how many users the range allows.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS_LIST=${USERS_LIST:-"1000 10000 50000"}
PORT=${PORT:-18081}
max_users=$(tr ' ' '\n' <<<"$USERS_LIST" | sort -n | tail -1)

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y nginx >/dev/null; NGINX=$(command -v nginx); else
    echo "nginx is not installed: sudo apt-get install -y nginx"; exit 1; fi
fi
cargo build --release --quiet --bin surge
SURGE=$PWD/target/release/surge

need=$((max_users + 200))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$need" ]; then
  if ulimit -Hn "$need" 2>/dev/null; then
    echo "open files: raised the hard limit to $need"
  else
    echo "open files: the hard limit is $(ulimit -Hn), below the $need that $max_users users need;" \
      "runs with more users than that will show connection errors (raise it as root: ulimit -Hn $need)"
  fi
fi
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
# Connections this process can hold at most (one descriptor each).
conns=$max_users
if [ "$(ulimit -Sn)" != unlimited ] && [ $(($(ulimit -Sn) - 200)) -lt "$conns" ]; then
  conns=$(($(ulimit -Sn) - 200))
fi

# Widening the ephemeral range affects every program on the machine while the run lasts (and
# ports stay in TIME_WAIT a minute after), so only when those connections can be held at all.
range_file=/proc/sys/net/ipv4/ip_local_port_range
old_range=$(tr '\t' ' ' <"$range_file")
read -r lo hi <<<"$old_range"
restore_range=""
if [ $((hi - lo + 1)) -lt "$conns" ]; then
  if echo "1024 65535" >"$range_file" 2>/dev/null; then
    restore_range=$old_range
    echo "ephemeral ports: widened $old_range to 1024 65535 for the run"
  else
    echo "ephemeral ports: $old_range allows $((hi - lo + 1)) connections to one address;" \
      "more users than that will show connection errors (as root: sysctl net.ipv4.ip_local_port_range='1024 65535')"
  fi
fi

work=$(mktemp -d)
scheme=http
listen="127.0.0.1:$PORT"
tls_conf=""
extra=()
if [ "${TLS:-0}" = 1 ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$work/ca.key" -out "$work/ca.crt" -subj "/CN=surge bench CA" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
    -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$work/ext.cnf"
  openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
    -days 2 -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null
  scheme=https
  listen="127.0.0.1:$PORT ssl"
  tls_conf="ssl_certificate $work/tls.crt; ssl_certificate_key $work/tls.key;"
  extra=(--set "target.ca_cert=$work/ca.crt")
fi
cat >"$work/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $((max_users * 2 + 1000));
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log crit;
events { worker_connections $((max_users + 1000)); }
http {
  access_log off;
  keepalive_requests 1000000000;
  keepalive_timeout 300s;
  server {
    listen $listen backlog=65535;
    $tls_conf
    location / { return 200 "ok\n"; }
  }
}
EOF
"$NGINX" -c "$work/nginx.conf" -p "$work" >"$work/nginx.out" 2>&1 &
NGINX_PID=$!
cleanup() {
  kill $NGINX_PID 2>/dev/null || true
  wait $NGINX_PID 2>/dev/null || true
  [ -n "$restore_range" ] && echo "$restore_range" >"$range_file" && echo "ephemeral ports: put back $restore_range"
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr), open files $(ulimit -Sn)"
echo "target:  $scheme://localhost:$PORT (nginx, 1 worker)"
printf "%8s %13s %14s %12s %10s  %s\n" users "peak RSS MiB" "per user KiB" requests "answered" "errors"
for users in $USERS_LIST; do
  /usr/bin/time -f '%M' -o "$work/time" "$SURGE" run benches/memory.toml --target "$scheme://localhost:$PORT" \
    --set "load.threads=$users" "${extra[@]}" --out "$work/run-$users" --quiet >"$work/log-$users" 2>&1 || true
  rss=$(cat "$work/time")
  python3 - "$work/run-$users/result.json" "$users" "$rss" <<'EOF'
import json, sys
path, users, rss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    t = json.load(open(path))["totals"]
except (OSError, ValueError):
    print(f"{users:>8} {rss / 1024:>13.1f} {rss / users:>14.1f}  no result.json"); sys.exit()
ok = t["by_status"].get("200", 0)
errors = ", ".join(f"{k} {v}" for k, v in t["by_status"].items() if k != "200") or "none"
print(f"{users:>8} {rss / 1024:>13.1f} {rss / users:>14.1f} {t['requests']:>12} {ok / max(t['requests'], 1):>9.1%}  {errors}")
EOF
done
