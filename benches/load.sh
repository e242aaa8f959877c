#!/usr/bin/env bash
# Load benchmark: CPU per request of surge against oha and wrk, in one sitting, against nginx (one
# worker answering a static 200 on loopback: a server none of the clients wrote). Closed model,
# 50 connections/users, 100k and 1M requests; surge records every request into its per-status
# HDR histograms and per-second timeline and writes result.json, CSVs and report.html.
# Runs alternate (the order rotates each round) and each figure is the median of ROUNDS runs,
# with its spread: the machine is shared and noisy, so read the ratios, not the absolutes.
#
#   bash benches/load.sh                       # 3 rounds of 100k and 1M requests
#   ROUNDS=5 SIZES="100000" bash benches/load.sh
#
# Needs: nginx (installed here with apt-get when missing and running as root), oha (`cargo
# install oha --locked --root DIR`, then put DIR/bin on PATH or set OHA=DIR/bin/oha), wrk
# (optional, `apt-get install wrk`). CPU is user + system time of the client process from
# /usr/bin/time; peak RSS is its maximum resident set.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SIZES=${SIZES:-"100000 1000000"}
USERS=${USERS:-50}
PORT=${PORT:-18080}
OHA=${OHA:-$(command -v oha || true)}
WRK=${WRK:-$(command -v wrk || true)}

# nginx (one worker, a static 200 on 127.0.0.1:$PORT), the release surge, $work and $rows.
. "$(dirname "$0")/nginx-static.sh"

# run TOOL N ROUND: one measured run, appended to $rows as
# tool n round wall_s cpu_s peak_rss_kb requests
run() {
  local tool=$1 n=$2 round=$3 reqs
  case $tool in
  surge)
    # A fresh folder each run: surge never writes over another run's result.
    rm -rf "$work/surge"
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$SURGE" run benches/load.toml --target "$URL" \
      --set "load.threads=$USERS" --set "load.loops=$((n / USERS))" --out "$work/surge" --quiet \
      >"$work/log" 2>&1
    reqs=$(python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['totals']; \
print(t['by_status'].get('200', 0) if t['requests'] == t['by_status'].get('200', 0) else -1)" \
      "$work/surge/result.json")
    ;;
  oha)
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$OHA" -n "$n" -c "$USERS" --no-tui \
      --output-format json "$URL" >"$work/oha.json" 2>"$work/log"
    reqs=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
print(d['statusCodeDistribution'].get('200', 0) if d['summary']['successRate'] == 1 else -1)" \
      "$work/oha.json")
    ;;
  wrk)
    # wrk runs for a duration: long enough for about n requests at the last oha rate.
    local secs
    secs=$(awk -v n="$n" -v r="${LAST_RATE:-60000}" 'BEGIN { s = int(n / r + 0.5); print (s < 1 ? 1 : s) }')
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$WRK" -t "$(nproc)" -c "$USERS" -d "${secs}s" \
      "$URL" >"$work/wrk.txt" 2>&1
    reqs=$(awk '/requests in/ { print $1 }' "$work/wrk.txt")
    grep -q "Non-2xx\|Socket errors" "$work/wrk.txt" && reqs=-1
    ;;
  esac
  read -r wall user sys rss <"$work/time"
  if [ "$reqs" -le 0 ]; then
    echo "$tool $n: not every request answered 200 (see $work)"; trap - EXIT; exit 1
  fi
  [ "$tool" = oha ] && LAST_RATE=$(awk -v n="$reqs" -v w="$wall" 'BEGIN { printf "%d", n / w }')
  echo "$tool $n $round $wall $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $rss $reqs" >>"$rows"
  awk -v t="$tool" -v n="$n" -v r="$round" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" -v q="$reqs" 'BEGIN {
    printf "  round %d  %-5s %8d req  %7.0f req/s  %5.2f us CPU/req  peak RSS %6.1f MiB\n",
      r, t, q, q / w, (u + s) * 1e6 / q, m / 1024 }'
}

tools="surge"
[ -n "$OHA" ] && tools="$tools oha" || echo "oha not found (cargo install oha --locked): skipped"
[ -n "$WRK" ] && tools="$tools wrk" || echo "wrk not found (apt-get install wrk): skipped"
read -r -a order <<<"$tools"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "server:  $("$NGINX" -v 2>&1 | cut -d' ' -f3), 1 worker, static 200 on $URL"
echo "clients: surge $("$SURGE" --version | cut -d' ' -f2)${OHA:+, $("$OHA" --version)}${WRK:+, $("$WRK" -v 2>&1 | head -1 | cut -d' ' -f1-2)}"
# surge's fixed cost (start, scenario, TLS roots, result.json, CSVs, report.html): ten runs of
# one request each, timed together (one run is below /usr/bin/time's 10 ms resolution).
/usr/bin/time -f '%e %U %S %M' -o "$work/time" bash -c "for i in \$(seq 10); do \"$SURGE\" run \
  benches/load.toml --target $URL --set load.threads=1 --set load.loops=1 --out $work/surge1-\$i \
  --quiet >/dev/null 2>&1 || exit 1; done"
read -r _ user sys _ <"$work/time"
awk -v u="$user" -v s="$sys" 'BEGIN { printf "surge fixed cost (a run of one request, all outputs written): %.1f ms CPU\n", (u + s) * 100 }'
for n in $SIZES; do
  for round in $(seq "$ROUNDS"); do
    for i in "${!order[@]}"; do
      run "${order[$(((i + round - 1) % ${#order[@]}))]}" "$n" "$round"
    done
  done
done

python3 - "$rows" <<'EOF'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
data = {}
for tool, n, rnd, wall, cpu, rss, reqs in rows:
    data.setdefault((int(n), tool), {})[int(rnd)] = (float(wall), float(cpu), int(rss), int(reqs))
print()
print(f"{'requests':>9} {'client':<6} {'CPU/req µs (median, min–max)':<30} {'req/s':>8} {'peak RSS MiB':>13}")
for (n, tool), runs in sorted(data.items()):
    us = [c * 1e6 / q for (_, c, _, q) in runs.values()]
    rate = st.median(q / w for (w, _, _, q) in runs.values())
    rss = max(m for (_, _, m, _) in runs.values()) / 1024
    print(f"{n:>9} {tool:<6} {st.median(us):6.2f}  ({min(us):.2f}–{max(us):.2f}){'':<14} {rate:8.0f} {rss:13.1f}")
print()
for n in sorted({n for (n, _) in data}):
    s = data.get((n, "surge"), {})
    for other in ("oha", "wrk"):
        o = data.get((n, other))
        if not o:
            continue
        ratios = [(s[r][1] / s[r][3]) / (o[r][1] / o[r][3]) for r in s if r in o]
        print(f"{n:>9} surge / {other}: CPU per request ×{st.median(ratios):.2f} "
              f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)})")
EOF
