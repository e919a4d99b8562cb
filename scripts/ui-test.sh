#!/usr/bin/env bash
# Browser tests of the web UI (ui-tests/): Playwright driving Debian's
# chromium against a real `logwarden run` on the Kafka broker of
# scripts/kafka.sh, fed with ../shared/data/loghub (read in place).
# Screenshots of each page land in ui-tests/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "ui-test: FAILED: chromium not found at $chromium; install it: apt-get install -y chromium fonts-noto-cjk" >&2
  exit 1
fi
command -v npm >/dev/null || { echo "ui-test: FAILED: npm not found (apt-get install -y npm)" >&2; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "ui-test: FAILED: Playwright needs Node.js 20 or later, found $(node --version)" >&2
  exit 1
fi
export LOGWARDEN_KAFKA_BROKERS=${LOGWARDEN_KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}
cargo build --bin logwarden
if [ ! -d ui-tests/node_modules/@playwright/test ] || [ ui-tests/package-lock.json -nt ui-tests/node_modules/.package-lock.json ]; then
  # Playwright's own browsers are never downloaded: the tests use $chromium.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix ui-tests --no-audit --no-fund --cache "${NPM_CACHE:-$HOME/.cache/logwarden/npm}" --prefer-offline
fi
cd ui-tests
CHROMIUM="$chromium" npx playwright test "$@"
