#!/bin/sh
# learn.sh without rspamc: Borderpatrol's own client (installed as in the README), run as
# learn-borderpatrol.sh spam|ham with the message on standard input. The password is read
# from the file BORDERPATROL_PASSWORD_FILE names, so it never shows in the process list.
# To use it, install it as learn.sh in place of the rspamc one.
BORDERPATROL_PASSWORD_FILE=/etc/dovecot/sieve/borderpatrol.password
export BORDERPATROL_PASSWORD_FILE
exec /usr/local/bin/borderpatrol learn "$1" --server http://127.0.0.1:11334 -
