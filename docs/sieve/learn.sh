#!/bin/sh
# Train Borderpatrol's Bayes with the message on standard input: learn.sh spam|ham
# Dovecot's sieve "pipe" runs it (report-spam.sieve, report-ham.sieve); it talks to the
# admin listener with Debian's rspamc, exactly as for rspamd.

# The admin listener of every Borderpatrol to train, separated by spaces. MX instances that
# share one Redis share Bayes too: list one of them (listing more would count a message
# twice only if they had separate stores). MX with separate stores: list each; one that is
# down is skipped with a line on stderr, and the message still counts on the others.
SERVERS="127.0.0.1:11334"
# Readable by the user Dovecot runs sieve as (e.g. vmail) and by nobody else.
PASSWORD_FILE=/etc/dovecot/sieve/borderpatrol.password
RSPAMC=/usr/bin/rspamc

class="$1"
case "$class" in
  spam|ham) ;;
  *) echo "usage: learn.sh spam|ham < message" >&2; exit 64 ;;
esac
password="$(cat "$PASSWORD_FILE")" || exit 75
# Read the message once: every server gets the same bytes.
message="$(mktemp)" || exit 75
trap 'rm -f "$message"' EXIT
cat > "$message"

learned=0
for server in $SERVERS; do
  if out="$("$RSPAMC" -h "$server" -P "$password" -t 10 "learn_$class" < "$message" 2>&1)"; then
    learned=$((learned + 1))
  else
    echo "learn.sh: $server did not learn the message as $class: $(printf '%s' "$out" | tail -n 1)" >&2
  fi
done
# Success when at least one server learned it; Dovecot logs a failure.
[ "$learned" -gt 0 ]
