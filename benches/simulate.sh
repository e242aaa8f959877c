#!/usr/bin/env bash
# Virtual-time benchmark: the seed scenario (50 threads, 10 s ramp-up, 10 loops, 500 publishes)
# run with --simulate against the in-process mock, three times; prints the simulated duration
# (from result.json) against the wall time and CPU the run took.
#   bash benches/simulate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin surge
out=$(mktemp -d)
for i in 1 2 3; do
  /usr/bin/time -f '%e %U %S %M' -o "$out/time" ./target/release/surge run scenarios/architect-publish-burst.toml \
    --simulate --out "$out/run$i" --quiet >/dev/null
  read -r wall user sys rss <"$out/time"
  sim=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['duration_s'])" "$out/run$i/result.json")
  awk -v sim="$sim" -v wall="$wall" -v user="$user" -v sys="$sys" -v rss="$rss" 'BEGIN { cpu = user + sys;
    printf "simulated %6.1f s   wall %5.2f s   (%4.0fx faster than real time)   CPU %5.2f s   peak RSS %5.1f MiB\n",
      sim, wall, sim / (wall > 0 ? wall : 0.01), cpu, rss / 1024 }'
done
cmp -s <(python3 -c "import json; print(json.load(open('$out/run1/result.json'))['timeline'])") \
       <(python3 -c "import json; print(json.load(open('$out/run2/result.json'))['timeline'])") \
  && echo "runs 1 and 2: identical timelines (deterministic)" || echo "runs 1 and 2 differ"
