#!/bin/sh
# Configure the example Postfix from the environment, then run it in the foreground
# (its log goes to stdout: docker compose logs postfix).
set -eu
: "${MAIL_HOSTNAME:=mail.example.com}"
: "${MAIL_DOMAIN:=example.com}"
: "${MAIL_USERS:=postmaster}"
: "${BORDERPATROL_NETWORK:=10.89.25.0/24}"

postconf -e "myhostname=${MAIL_HOSTNAME}" \
  "virtual_mailbox_domains=${MAIL_DOMAIN}" \
  "borderpatrol_network=${BORDERPATROL_NETWORK}"

# One mailbox per user: MAIL_USERS="alice bob" → alice@DOMAIN, bob@DOMAIN.
: > /etc/postfix/vmailbox
for user in $MAIL_USERS; do
  echo "${user}@${MAIL_DOMAIN} ${MAIL_DOMAIN}/${user}/" >> /etc/postfix/vmailbox
done
mkdir -p /var/mail/vhosts
chown -R 5000:5000 /var/mail/vhosts

postfix check
exec postfix start-fg
