#!/bin/sh
# Dovecot's sieve "pipe" hands the message over on stdin; $1 is the IMAP user.
# Train Borderpatrol through its admin listener with Debian's rspamc, exactly as for rspamd.
# The password file must be readable by the user Dovecot runs sieve as (e.g. vmail) and
# by nobody else.
exec /usr/bin/rspamc -h 127.0.0.1:11334 -P "$(cat /etc/dovecot/sieve/borderpatrol.password)" learn_spam
