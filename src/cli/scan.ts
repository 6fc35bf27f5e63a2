import net from 'node:net';
import { commonOptions, overridesFrom, parse, UsageError } from './common.js';
import { openEngine, type Engine } from './engine.js';
import { planInputs, readInputs, type InputPlan, type MessageInput } from './inputs.js';
import { scanMessage, type ScanEnvelope } from '../session/scan.js';
import type { Verdict } from '../decision/verdict.js';
import type { Override } from '../policy/load.js';

export const SCAN_HELP = `Usage: borderpatrol scan [options] FILE|DIR|mbox|- ...

Run messages through the same SMTP session as the server (relay denial, recipient
rules, the checks, the verdict), with its policy and store, without sending anything
anywhere. Each message is scanned as if the client below had sent it. The store is only
read: greylisting is shown as already passed, rate limits as they stand, nothing is recorded.

  --json              one JSON object per message: {"file","action","score","symbols"}
  --ip IP             client address (default 127.0.0.1: a trusted local client, so
                      greylisting, rate limits, DNS blocklists, SPF/DKIM/DMARC and the
                      HELO and sender checks leave it alone; give an outside address to
                      see what a server would do with mail from there)
  --helo NAME         HELO name (default localhost)
  --from ADDR         envelope sender (default: the message's Return-Path, else From)
  --rcpt ADDR         envelope recipient (repeatable; default: none, recipient checks skipped;
                      a recipient outside local_domains is refused as the server refuses it)
  --offline           no network lookups at all (DNS blocklists, SPF/DKIM/DMARC)
  --policies DIR      policy directory (default ./policies)
  --redis URL         use the Redis store a server uses
  --data-dir DIR      use the embedded store in DIR
  --set KEY=VALUE     override any policy key by its dotted path (repeatable)

Scanning never trains Bayes, whatever bayes.autolearn says.
Exit status: 0, or 1 when a message could not be read or scanned.
`;

/** The line `scan --json` prints for one message. */
export interface ScanResult {
  file: string;
  action: string;
  score: number;
  symbols: Record<string, number>;
}

export function scanResult(file: string, v: Verdict): ScanResult {
  return { file, action: v.action, score: v.score, symbols: Object.fromEntries(v.hits.map((h) => [h.name, h.score])) };
}

/** Policy overrides scan always applies (before the user's own, which win). */
export function scanOverrides(values: Record<string, unknown>, offline: boolean): Override[] {
  return [{ key: 'bayes.autolearn.enabled', value: 'false' }, ...overridesFrom(values), ...(offline ? [{ key: 'offline', value: 'true' }] : [])];
}

export interface ScanEvent {
  input: MessageInput;
  verdict?: Verdict;
  error?: string;
  /** Milliseconds spent scanning this message (reading it from disk not included). */
  ms: number;
}

/** Scan every planned message in order, calling `each` with the verdict or the error. */
export async function runScan(engine: Engine, plan: InputPlan, envelope: ScanEnvelope, each: (e: ScanEvent) => void): Promise<void> {
  const maxSize = engine.policy.policy.limits.max_message_size;
  for await (const input of readInputs(plan, maxSize)) {
    if (input.oversized) {
      each({ input, error: `message over limits.max_message_size (${maxSize} bytes)`, ms: 0 });
      continue;
    }
    const started = performance.now();
    try {
      const verdict = await scanMessage(engine, input.raw, envelope);
      each({ input, verdict, ms: performance.now() - started });
    } catch (err) {
      each({ input, error: (err as Error).message, ms: performance.now() - started });
    }
  }
}

export async function scanCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...commonOptions,
    json: { type: 'boolean', default: false },
    ip: { type: 'string', default: '127.0.0.1' },
    helo: { type: 'string', default: 'localhost' },
    from: { type: 'string' },
    rcpt: { type: 'string', multiple: true, default: [] as string[] },
    offline: { type: 'boolean', default: false },
  });
  if (values.help) {
    process.stdout.write(SCAN_HELP);
    return 0;
  }
  if (net.isIP(values.ip) === 0) throw new UsageError(`--ip ${values.ip}: not an IP address`);
  const plan = await planInputs(positionals);
  const engine = await openEngine({ policiesDir: values.policies, overrides: scanOverrides(values, values.offline), access: 'read', command: 'scan' });
  const envelope: ScanEnvelope = { ip: values.ip, helo: values.helo, rcpts: values.rcpt, ...(values.from !== undefined ? { from: values.from } : {}) };
  let failed = 0;
  try {
    await runScan(engine, plan, envelope, (e) => {
      if (e.error !== undefined || !e.verdict) {
        failed++;
        if (values.json) process.stdout.write(JSON.stringify({ file: e.input.name, error: e.error }) + '\n');
        process.stderr.write(`borderpatrol: ${e.input.name}: ${e.error}\n`);
        return;
      }
      const r = scanResult(e.input.name, e.verdict);
      if (values.json) process.stdout.write(JSON.stringify(r) + '\n');
      else {
        const symbols = e.verdict.hits.map((h) => `${h.name}(${h.score})`).join(' ');
        process.stdout.write(`${r.file}: ${r.action} score=${r.score.toFixed(2)}${symbols ? ' ' + symbols : ''}\n`);
      }
    });
  } finally {
    await engine.close();
  }
  return failed > 0 ? 1 : 0;
}
