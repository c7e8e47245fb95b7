#!/usr/bin/env bash
# Backup of a large database while serving check-ins, and its restore drill (release build).
# The database: a copy of a seeded data directory (1,000,000 visits by default), made with
#   cargo run --release -p genkan-server --example history_bench -- --visits 1000000
# Usage: tests/bench/backup.sh [SEEDED_DIR]      (default target/bench/history-1000000)
#        RATE=1000 DURATION=90 tests/bench/backup.sh
# Prints the check-in latency of an open-loop run at RATE/s without a backup (baseline),
# then of the same run while `genkan backup now` copies the database and runs its drill,
# and the backup run record (backup and drill times).
set -euo pipefail
cd "$(dirname "$0")/../.."
seeded=${1:-target/bench/history-1000000}
rate=${RATE:-1000}
duration=${DURATION:-90}
[ -f "$seeded/genkan.db" ] || { echo "no seeded database in $seeded" >&2; exit 1; }
cargo build --release -q -p genkan-server -p genkan-e2e --bins
bin=$PWD/target/release
work=$(mktemp -d -p target/bench backup-bench.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/data"
cp "$seeded"/genkan.db* "$seeded/genkan.key" "$work/data/"
chmod 600 "$work/data/genkan.key"
cat > "$work/genkan.toml" <<TOML
[server]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
[data]
dir = "$PWD/$work/data"
[mail]
transport = "none"
[log]
level = "warn"
[backup]
destinations = ["$PWD/$work/backup-a", "$PWD/$work/backup-b"]
at = "23:59"
TOML
token=$($bin/genkan token create --config "$work/genkan.toml" --tenant bench \
  --user admin@bench.example --scopes admin | sed -E 's/.*"token":"([^"]+)".*/\1/')
$bin/genkan serve --config "$work/genkan.toml" > "$work/out" 2> "$work/log" &
pid=$!
for _ in $(seq 300); do grep -q "listening on" "$work/out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/genkan listening on //p' "$work/out")
load() { $bin/genkan-load --url "$url" --token "$token" --rate "$rate" --duration "$duration" --concurrency 256; }

echo "== baseline: $rate check-ins/s for $duration s, no backup"
load 2> "$work/load-baseline.err"

echo "== the same while \`genkan backup now\` runs (backup + restore drill)"
load > "$work/load-during.json" 2> "$work/load-during.err" &
loader=$!
until grep -q "running for" "$work/load-during.err"; do sleep 0.2; done
sleep 2
start=$(date +%s.%N)
if ! $bin/genkan backup now --config "$work/genkan.toml" > "$work/backup.json" 2> "$work/backup.err"; then
  echo "genkan backup now failed:" >&2; cat "$work/backup.err" >&2; exit 1
fi
end=$(date +%s.%N)
wait $loader
cat "$work/load-during.json"
echo "== backup run (wall time $(awk "BEGIN{printf \"%.1f\", $end - $start}") s including the drill)"
cat "$work/backup.json"
ls -l "$work"/backup-a
