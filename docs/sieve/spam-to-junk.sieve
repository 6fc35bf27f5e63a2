# Runs before the user's own rules at delivery (LMTP or dovecot-lda, see 90-sieve-junk.conf):
# mail Borderpatrol flagged (X-Spam-Flag: YES, at actions.add_header and above) goes to Junk.
require ["fileinto", "mailbox"];

if header :is "X-Spam-Flag" "YES" {
  fileinto :create "Junk";
  stop;
}
