# A message was moved or copied INTO the Junk folder: the user says it is spam.
# Dovecot runs this through imapsieve (see docs/dovecot-imapsieve.md).
require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", "variables"];

if environment :matches "imap.user" "*" {
  set "username" "${1}";
}

pipe :copy "learn-spam.sh" [ "${username}" ];
