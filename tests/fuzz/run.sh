#!/usr/bin/env bash
# Runs each fuzz target for SECONDS (default 60) with cargo-fuzz.
#   tests/fuzz/run.sh          # one minute per target
#   tests/fuzz/run.sh 10       # the short run CI does
# Each target starts from the committed seeds (seeds/<target>) plus what earlier runs
# found (corpus/<target>, not committed). Any crash or panic fails the script, and
# libFuzzer leaves the input under artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo-fuzz needs nightly's -Z flags. Use nightly when it is installed and no
# toolchain was asked for (RUSTUP_TOOLCHAIN); otherwise let that stable toolchain
# accept the flags.
if [ -z "${RUSTUP_TOOLCHAIN:-}" ] && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  toolchain=()
  export RUSTC_BOOTSTRAP=1
fi
for target in pass_parser csv_import; do
  mkdir -p "corpus/$target"
  cargo "${toolchain[@]}" fuzz run "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1
done
echo "fuzzing: no crashes"
