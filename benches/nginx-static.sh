# Sourced by load.sh and live.sh: installs nginx when missing (as root), builds the release
# surge, starts nginx with one worker answering a static 200 on 127.0.0.1:$PORT (stopped and
# $work removed on exit), and sets NGINX, SURGE, work, URL and rows (an empty table).
# Needs PORT set by the caller.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y nginx >/dev/null
  else
    echo "nginx is not installed: sudo apt-get install -y nginx"; exit 1
  fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
cargo build --release --quiet --bin surge
SURGE=$PWD/target/release/surge

work=$(mktemp -d)
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$PORT backlog=4096;
    location / { return 200 "ok\n"; }
  }
}
CONF
"$NGINX" -c "$work/nginx.conf" -p "$work" >"$work/nginx.out" 2>&1 &
NGINX_PID=$!
trap 'kill $NGINX_PID 2>/dev/null; wait $NGINX_PID 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done
URL="http://127.0.0.1:$PORT/"
rows="$work/rows.tsv"
: >"$rows"
