#!/usr/bin/env bash
# Live metrics benchmark: CPU per request of `surge run` against nginx with and without
# `--metrics` (scraped every second, as Prometheus would), side by side in one sitting. Closed
# model, 50 users, N requests to a static 200 on loopback; the runs alternate (the order rotates
# each round) and each figure is the median of ROUNDS runs: read the ratio, not the absolutes.
#
#   bash benches/live.sh                      # 5 rounds of 200k requests
#   ROUNDS=3 N=100000 bash benches/live.sh
#
# Needs nginx (installed with apt-get when missing and running as root) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
N=${N:-200000}
USERS=${USERS:-50}
PORT=${PORT:-18081}
MPORT=${MPORT:-19464}

# nginx (one worker, a static 200 on 127.0.0.1:$PORT), the release surge, $work and $rows.
. "$(dirname "$0")/nginx-static.sh"

# run MODE ROUND: one measured run (MODE plain or metrics), appended to $rows as
# mode round wall_s cpu_s requests scrapes
run() {
  local mode=$1 round=$2 flags=() scraper=
  rm -rf "$work/surge"
  if [ "$mode" = metrics ]; then
    flags=(--metrics "127.0.0.1:$MPORT")
    # The scraper: a GET /metrics every second for as long as the run serves it.
    (: >"$work/scrapes"; while sleep 1; do
       curl -sf "http://127.0.0.1:$MPORT/metrics" -o /dev/null && echo ok >>"$work/scrapes"
     done) &
    scraper=$!
  fi
  /usr/bin/time -f '%e %U %S' -o "$work/time" "$SURGE" run benches/load.toml --target "$URL" \
    --set "load.threads=$USERS" --set "load.loops=$((N / USERS))" --out "$work/surge" --quiet \
    "${flags[@]}" >"$work/log" 2>&1
  local scrapes=0
  if [ -n "$scraper" ]; then
    kill "$scraper"; wait "$scraper" 2>/dev/null || true
    scrapes=$(wc -l <"$work/scrapes")
  fi
  local reqs
  reqs=$(python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['totals']; \
print(t['by_status'].get('200', 0) if t['requests'] == t['by_status'].get('200', 0) else -1)" \
    "$work/surge/result.json")
  if [ "$reqs" -le 0 ]; then
    echo "$mode: not every request answered 200 (see $work)"; trap - EXIT; exit 1
  fi
  read -r wall user sys <"$work/time"
  echo "$mode $round $wall $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $reqs $scrapes" >>"$rows"
  awk -v t="$mode" -v r="$round" -v w="$wall" -v u="$user" -v s="$sys" -v q="$reqs" -v k="$scrapes" 'BEGIN {
    printf "  round %d  %-7s %8d req  %7.0f req/s  %5.2f us CPU/req  %d scrapes\n",
      r, t, q, q / w, (u + s) * 1e6 / q, k }'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "server:  $("$NGINX" -v 2>&1 | cut -d' ' -f3), 1 worker, static 200 on $URL; $USERS users, $N requests"
order=(plain metrics)
for round in $(seq "$ROUNDS"); do
  for i in 0 1; do
    run "${order[$(((i + round - 1) % 2))]}" "$round"
  done
done

python3 - "$rows" <<'EOF2'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
runs = {}
for mode, rnd, wall, cpu, reqs, scrapes in rows:
    runs.setdefault(mode, {})[int(rnd)] = float(cpu) * 1e6 / int(reqs)
print()
for mode in ("plain", "metrics"):
    us = list(runs[mode].values())
    print(f"{mode:<8} CPU/req µs median {st.median(us):.2f} (min {min(us):.2f}, max {max(us):.2f})")
ratios = [runs["metrics"][r] / runs["plain"][r] for r in runs["plain"] if r in runs["metrics"]]
print(f"--metrics / plain: CPU per request ×{st.median(ratios):.3f} "
      f"(rounds: {', '.join(f'{x:.3f}' for x in ratios)})")
EOF2
