#!/usr/bin/env bash
# Load benchmark: surge, closed model, 50 users, against a local static server, at 100k and 1M
# requests; then oha (if installed: `cargo install oha`) on the same server in the same sitting.
# Prints requests/s, CPU seconds per 100k requests and peak RSS for each.
#   bash benches/load.sh            # 100k and 1M for surge, 100k and 1M for oha
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin surge --example static_server
PORT=${PORT:-18080}
./target/release/examples/static_server "127.0.0.1:$PORT" >/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
sleep 0.5
out=$(mktemp -d)

measure() { # name requests command...
  local name=$1 n=$2; shift 2
  /usr/bin/time -f '%e %U %S %M' -o "$out/time" "$@" >"$out/log" 2>&1
  read -r wall user sys rss <"$out/time"
  awk -v name="$name" -v n="$n" -v wall="$wall" -v user="$user" -v sys="$sys" -v rss="$rss" 'BEGIN {
    cpu = user + sys;
    printf "%-6s %9d req  %8.0f req/s  %6.2f CPU s per 100k  peak RSS %7.1f MiB  (wall %.2f s)\n",
      name, n, n / wall, cpu * 100000 / n, rss / 1024, wall }'
}

for n in 100000 1000000; do
  loops=$((n / 50))
  measure surge "$n" ./target/release/surge run benches/load.toml --target "http://127.0.0.1:$PORT" \
    --set "load.loops=$loops" --out "$out/surge-$n" --quiet
  grep -q '"requests": '"$n" "$out/surge-$n/result.json" || { echo "surge did not record $n requests"; exit 1; }
done
if command -v oha >/dev/null 2>&1; then
  for n in 100000 1000000; do
    measure oha "$n" oha -n "$n" -c 50 --no-tui "http://127.0.0.1:$PORT/"
  done
else
  echo "oha not installed (cargo install oha): skipped the comparison"
fi
