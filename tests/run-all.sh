#!/usr/bin/env bash
# Runs every test of Genkan. On a fresh Debian machine with Rust it first installs
# what the tests need (system packages via apt, Python tools via pip), then checks
# formatting and lints, builds the binaries and runs all test suites.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- system packages -------------------------------------------------------------
packages=(
  build-essential pkg-config ca-certificates libssl-dev    # SQLCipher, C parts of crates
  libfontconfig1-dev fontconfig fonts-dejavu-core fonts-noto-cjk  # kiosk UI rendering, Japanese text
  libxkbcommon-x11-0 libx11-xcb1 libxcursor1 libxi6 libxrandr2    # kiosk window at run time
  chromium chromium-driver chromium-l10n                   # web UI tests in headless Chromium (l10n: Japanese date/time inputs)
  python3-pip python3-venv
  strace                                                   # disk-full test: ENOSPC injected into the server's writes
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
grep -qE '^127\.0\.0\.1[[:space:]].*localhost' /etc/hosts || echo "warning: localhost does not resolve to 127.0.0.1 in /etc/hosts" >&2

# --- Rust checks and tests ---------------------------------------------------------
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo build --workspace --bins --locked
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --profile ci
  cargo test --workspace --doc --locked
else
  cargo test --workspace --locked
fi
echo "all tests passed"
