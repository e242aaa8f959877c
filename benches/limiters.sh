#!/usr/bin/env bash
# The 429 answer against real limiters on loopback (nginx limit_req and limit_conn, haproxy's
# stick-table recipe, the `limits` library; .ci/run installs them): for each, `surge probe
# --scope tokens`, then the batch re-run with `--pace-from` against the same limiter rested.
# Prints the Markdown table of scenarios/README.md; outputs (limit.json, probe.html, each run)
# under target/limiters/NN/. About 2 minutes per limiter; pass --only TEXT to pick some,
# --jobs N to run N at once (each limiter is its own process and port).
#   bash benches/limiters.sh [--only haproxy] [--jobs 2]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin surge
cargo build --quiet --example limiters
rm -rf target/limiters
./target/debug/examples/limiters --surge target/release/surge --out target/limiters "$@"
