#!/usr/bin/env bash
# Check-in throughput and latency against the real server (release build).
# Usage: tests/bench/checkin.sh            # both scenarios of BENCHMARKS.md
#        RATE=1000 DURATION=20 tests/bench/checkin.sh open
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p genkan-server -p genkan-e2e --bins
bin=target/release
dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
mkdir -p "$dir/data"
$bin/genkan keys generate --out "$dir/data/genkan.key" >/dev/null
cat > "$dir/genkan.toml" <<TOML
[server]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
[data]
dir = "$dir/data"
[mail]
transport = "none"
[log]
level = "warn"
TOML
$bin/genkan tenant create --config "$dir/genkan.toml" --slug bench --name Bench \
  --admin-email admin@bench.example --admin-name Admin >/dev/null
token=$($bin/genkan token create --config "$dir/genkan.toml" --tenant bench \
  --user admin@bench.example --scopes admin | sed -E 's/.*"token":"([^"]+)".*/\1/')
$bin/genkan serve --config "$dir/genkan.toml" > "$dir/out" 2> "$dir/log" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$dir/out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/genkan listening on //p' "$dir/out")
run() { $bin/genkan-load --url "$url" --token "$token" "$@"; }
case "${1:-all}" in
  closed) run --concurrency "${CONCURRENCY:-128}" --duration "${DURATION:-15}" ;;
  open) run --rate "${RATE:-1000}" --duration "${DURATION:-20}" --concurrency 256 ;;
  all)
    run --concurrency 128 --duration 15
    run --rate 1000 --duration 20 --concurrency 256
    run --rate 5000 --duration 15 --concurrency 512
    ;;
esac
