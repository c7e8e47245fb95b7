#!/usr/bin/env bash
# Runs every test of Genkan. On a fresh Debian machine with Rust it first installs
# what the tests need (system packages via apt, Python tools via pip), then checks
# formatting and lints, builds the binaries and runs all test suites.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- shared test data beside the workspace: real QR photos and the advisory database ---
for dir in ../shared/qr-samples ../shared/advisory-db; do
  [ -d "$dir" ] || { echo "$dir not found: the tests need the shared data beside the workspace" >&2; exit 1; }
done

# --- system packages -------------------------------------------------------------
packages=(
  build-essential pkg-config ca-certificates perl          # C parts of crates; OpenSSL for SQLCipher is built from source
  libfontconfig1-dev fontconfig fonts-dejavu-core fonts-noto-cjk  # kiosk UI rendering, Japanese text
  libxkbcommon-x11-0 libx11-xcb1 libxcursor1 libxi6 libxrandr2    # kiosk window at run time
  chromium chromium-driver chromium-l10n                   # web UI tests in headless Chromium (l10n: Japanese date/time inputs)
  python3-pip python3-venv
  strace                                                   # disk-full test: ENOSPC injected into the server's writes
  sqlmap                                                   # SQL injection scan of every parameter
  libclang-dev libxml2-dev libxmlsec1-dev                  # genkan-sso's SAML signature checks (samael over xmlsec1)
  xmlsec1                                                  # the SAML test IdP (pysaml2) signs through this command
  chrony faketime                                          # a real NTP server; a process clock moved ahead (clock check)
  radicale                                                 # real CalDAV server for genkan-calendar's provider tests
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
# --- Python tools (TLS scan, OpenAPI fuzzing) --------------------------------------
python_tools=(sslyze schemathesis)
for tool in "${python_tools[@]}"; do
  command -v "$tool" >/dev/null || python3 -m pip install -q "$tool"
done

# --- SSO test identity providers ---------------------------------------------------
# oidc-provider (npm, pinned by its package-lock.json) and pysaml2 (PyPI, in its own venv so
# its pyOpenSSL/cryptography pins do not disturb sslyze's).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends nodejs npm
fi
npm ci --prefix crates/genkan-sso/tests/oidc-provider --no-audit --no-fund --loglevel=error
saml_idp=crates/genkan-sso/tests/saml-idp
[ -x "$saml_idp/.venv/bin/python" ] || python3 -m venv "$saml_idp/.venv"
"$saml_idp/.venv/bin/python" -m pip install -q -r "$saml_idp/requirements.txt"

# --- cargo tools (supply-chain checks, fuzzing) -------------------------------------
cargo_tools=(cargo-deny cargo-fuzz cargo-audit cargo-machete)
for tool in "${cargo_tools[@]}"; do
  command -v "$tool" >/dev/null || cargo install --locked -q "$tool"
done

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

# --- supply chain: licences, bans, sources and known advisories ----------------------
cargo machete                                            # no dependency declared and unused
cargo deny --locked check licenses bans sources
cargo audit --no-fetch --db ../shared/advisory-db --file Cargo.lock

# --- fuzzing: a short run of each target ---------------------------------------------
tests/fuzz/run.sh "${GENKAN_FUZZ_SECONDS:-20}"
echo "all tests passed"
