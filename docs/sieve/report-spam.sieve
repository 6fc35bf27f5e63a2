# A message was moved or copied INTO the Junk folder: the user says it is spam.
# Dovecot runs this through imapsieve (see docs/dovecot-imapsieve.md).
require ["vnd.dovecot.pipe", "copy", "imapsieve"];

pipe :copy "learn.sh" [ "spam" ];
