import type { CompiledPolicy } from '../policy/compiled.js';
import type { Verdict } from './verdict.js';

/**
 * The fields stamped on relayed mail: Authentication-Results (RFC 8601) when the auth check
 * ran, then the X-Spam-* fields. Their names and shapes are the ones Dovecot sieve rules and
 * mail clients already look for (SpamAssassin's and rspamd's), plus one field with each
 * symbol and its score.
 */
export function spamHeaders(v: Verdict, policy: CompiledPolicy, authResults?: string): string[] {
  const required = policy.policy.actions.add_header;
  const flagged = v.score >= required || v.action === 'add_header' || v.action === 'rewrite_subject';
  const stars = '*'.repeat(Math.max(0, Math.min(50, Math.floor(v.score))));
  const tests = v.hits.map((h) => h.name).join(',') || 'none';
  const out = [
    ...(authResults ? [`Authentication-Results: ${authResults}`] : []),
    `X-Spam-Flag: ${flagged ? 'YES' : 'NO'}`,
    `X-Spam-Score: ${v.score.toFixed(2)}`,
    `X-Spam-Level: ${stars}`,
    fold(`X-Spam-Status: ${flagged ? 'Yes' : 'No'}, score=${v.score.toFixed(2)} required=${required.toFixed(2)} tests=${tests}`),
    `X-Spam-Action: ${v.action}`,
  ];
  if (v.hits.length > 0) out.push(fold(`X-Spam-Symbols: ${v.hits.map((h) => `${h.name}(${h.score})`).join(', ')}`));
  if (v.dryRun) out.push(`X-Spam-Action-Dry-Run: ${v.wouldBe}; ${sanitize(v.reason)}`);
  return out;
}

function sanitize(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').slice(0, 200);
}

/** Fold a long header at commas/spaces so no line passes 78 characters where it can be helped. */
export function fold(header: string): string {
  if (header.length <= 78) return header;
  const out: string[] = [];
  let line = '';
  for (const word of header.split(/(?<=[, ])/)) {
    if (line.length + word.length > 76 && line.trim()) {
      out.push(line.trimEnd());
      line = '\t' + word.trimStart();
    } else line += word;
  }
  if (line.trim()) out.push(line.trimEnd());
  return out.join('\r\n');
}
