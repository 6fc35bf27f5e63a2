#!/usr/bin/env bash
# Install what the test suite needs when it is missing, then run it.
# Debian packages: postfix (and its smtp-source/smtp-sink), redis-server, swaks, openssl, rspamd (for rspamc), chromium, clamav-daemon (clamd).
# npm packages: npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
have /usr/sbin/postfix || need+=(postfix)
have redis-server || need+=(redis-server)
have redis-cli || need+=(redis-tools)
have swaks || need+=(swaks)
have openssl || need+=(openssl)
# The history page is tested in a real headless browser (playwright-core drives Debian's chromium).
have /usr/bin/chromium || need+=(chromium)
# rspamc (Debian ships it in the rspamd package): the learn endpoints are tested with the real client.
have rspamc || need+=(rspamd)
# clamd (clamav-daemon) scans in the antivirus tests, with a signature file the tests write; clamav brings its libraries and tools.
have /usr/sbin/clamd || need+=(clamav-daemon clamav)
for extra in ${BORDERPATROL_TEST_PACKAGES:-}; do need+=("$extra"); done

if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "scripts/test.sh: missing Debian packages: ${need[*]} (run as root, or install them first)" >&2
    exit 1
  fi
  echo "scripts/test.sh: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The tests run their own Postfix instances; the system one needs no configuration.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npm test
