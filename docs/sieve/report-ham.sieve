# A message was moved or copied OUT OF the Junk folder: the user says it is not spam.
# Moving it to the Trash says nothing about it, so that case is left alone. The Trash's
# name comes from the Dovecot setting sieve_env_trash_mailbox (90-imapsieve.conf); without
# it nothing is learned here, rather than every deleted spam as ham.
require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", "variables", "vnd.dovecot.environment"];

if not environment :matches "vnd.dovecot.config.trash_mailbox" "?*" {
  stop;
}
set "trash" "${0}";
if environment :is "imap.mailbox" "${trash}" {
  stop;
}

pipe :copy "learn.sh" [ "ham" ];
