#!/usr/bin/env bash
# Make sure this machine can do what the test suite does, install what is missing, then run it.
#
# Each row of CAPABILITIES is: what the tests use | a command that succeeds only when it works |
# the Debian packages that provide it. A capability is checked by using it, not by finding a
# binary (swaks without its Perl TLS modules exists but cannot do STARTTLS). To add one, add a row.
set -euo pipefail
cd "$(dirname "$0")/.."

CAPABILITIES=(
  "Postfix and smtp-source/smtp-sink|test -x /usr/sbin/postfix && command -v smtp-source && command -v smtp-sink|postfix"
  "redis-server|redis-server --version|redis-server"
  "redis-cli (cluster setup)|redis-cli --version|redis-tools"
  "openssl|openssl version|openssl"
  "swaks|command -v swaks|swaks"
  "swaks --tls (Net::SSLeay)|perl -MNet::SSLeay -e1|libnet-ssleay-perl"
  "swaks --tls (IO::Socket::SSL)|perl -MIO::Socket::SSL -e1|libio-socket-ssl-perl"
  "rspamc (the learn endpoints are tested with the real client)|rspamc --help|rspamd"
  "headless Chromium (the history page)|timeout 60 chromium --headless --no-sandbox --disable-gpu --dump-dom about:blank|chromium"
  "clamd|clamd --version|clamav-daemon clamav"
  "Dovecot IMAP|dovecot --version && dovecot_binary imap|dovecot-imapd"
  "Dovecot Sieve plugin|dovecot_module lib90_sieve_plugin.so|dovecot-sieve"
  "Dovecot LMTP|dovecot_binary lmtp|dovecot-lmtpd"
)

# Dovecot keeps plugins and services in its libexec/module dirs; `dovecot --build-options` does not list them.
dovecot_module() { compgen -G "/usr/lib/dovecot/modules/$1" >/dev/null || compgen -G "/usr/lib/dovecot/modules/*/$1" >/dev/null; }
dovecot_binary() { test -x "/usr/lib/dovecot/$1"; }

check() { bash -c "$(declare -f dovecot_module dovecot_binary); $1" >/dev/null 2>&1 </dev/null; }

missing=()
packages=()
for row in "${CAPABILITIES[@]}"; do
  IFS='|' read -r what probe pkgs <<<"$row"
  if ! check "$probe"; then
    missing+=("$what")
    for p in $pkgs; do [[ " ${packages[*]} " == *" $p "* ]] || packages+=("$p"); done
  fi
done
for extra in ${BORDERPATROL_TEST_PACKAGES:-}; do packages+=("$extra"); done

if [ "${#packages[@]}" -gt 0 ]; then
  for what in "${missing[@]}"; do echo "scripts/test.sh: missing: $what" >&2; done
  if [ "$(id -u)" != 0 ]; then
    echo "scripts/test.sh: install these Debian packages first (or run as root): ${packages[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # The tests run their own Postfix instances; the system one needs no configuration.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  before=$(dpkg-query -W -f '${binary:Package}\n' | sort)
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  after=$(dpkg-query -W -f '${binary:Package}\n' | sort)
  echo "scripts/test.sh: installed: $(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')" >&2
  failed=0
  for row in "${CAPABILITIES[@]}"; do
    IFS='|' read -r what probe _ <<<"$row"
    check "$probe" || { echo "scripts/test.sh: still missing after install: $what ($probe)" >&2; failed=1; }
  done
  [ "$failed" = 0 ] || exit 1
fi

# npm ci when node_modules is missing or older than the lock file. npm scripts then run the
# Node 24 that the `node` package puts in node_modules/.bin, whatever the system Node is.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npm test
