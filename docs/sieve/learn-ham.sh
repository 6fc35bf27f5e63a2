#!/bin/sh
# As learn-spam.sh, for messages taken out of Junk.
exec /usr/bin/rspamc -h 127.0.0.1:11334 -P "$(cat /etc/dovecot/sieve/borderpatrol.password)" learn_ham
