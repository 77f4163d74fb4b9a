#!/usr/bin/env bash
# Runs the dashboard's browser test: installs the test's driver (npm ci in web/) and Chromium
# when missing, builds the binary unless ORDERFLOW_BIN names one, then runs web/tests/browser.mjs.
# Extra arguments go to the test (e.g. --screenshot FILE).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
web="$(dirname "$here")"
root="$(dirname "$web")"

if [[ ! -d "$web/node_modules/playwright-core" ]]; then
  (cd "$web" && npm ci --no-audit --no-fund --ignore-scripts)
fi
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "error: Chromium not found at $chromium: install it (Debian: apt-get install chromium) or set CHROMIUM" >&2
    exit 2
  fi
fi
if [[ -z "${ORDERFLOW_BIN:-}" ]]; then
  (cd "$root" && cargo build --quiet --bin orderflow)
  target="${CARGO_TARGET_DIR:-$root/target}"
  export ORDERFLOW_BIN="$target/debug/orderflow"
fi
exec node "$here/browser.mjs" "$ORDERFLOW_BIN" "$@"
