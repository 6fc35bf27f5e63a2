#!/bin/sh
# The same without rspamc: Borderpatrol's own client, the password from the environment
# (so it never shows in the process list). Use it in place of learn-spam.sh; for ham,
# copy it to learn-ham.sh and change "spam" to "ham".
BORDERPATROL_PASSWORD="$(cat /etc/dovecot/sieve/borderpatrol.password)"
export BORDERPATROL_PASSWORD
exec /usr/local/bin/borderpatrol learn spam --server http://127.0.0.1:11334 -
