#!/usr/bin/env bash
# Runs each fuzz target for SECONDS (default 60) with cargo-fuzz on nightly Rust.
#   tests/fuzz/run.sh          # one minute per target
#   tests/fuzz/run.sh 10       # the short run CI does
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo-fuzz needs nightly's -Z flags; where only stable is installed, let stable accept them.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  toolchain=()
  export RUSTC_BOOTSTRAP=1
fi
for target in pass_parser csv_import; do
  mkdir -p "corpus/$target"
  cargo "${toolchain[@]}" fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048
done
echo "fuzzing: no crashes"
