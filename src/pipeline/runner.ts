import type { Check, Outcome } from './check.js';
import type { Phase, SectionSettings } from '../checks/manifest.js';
import type { RecordedForce } from '../decision/hits.js';
import type { TransactionContext } from './context.js';
import { Replies } from '../decision/replies.js';
import type { Metrics } from '../observability/metrics.js';
import { withDeadline } from '../net/deadline.js';

export class CheckTimeoutError extends Error {
  constructor(check: string, ms: number) {
    super(`check ${check} took longer than ${ms} ms`);
    this.name = 'CheckTimeoutError';
  }
}

/**
 * Runs the checks registered for a phase, in registration order (cheapest first), each
 * with its own timeout. Hits and forced actions are recorded on the context. The first
 * enforced (not dry-run) forced action stops the phase and is returned, so the SMTP
 * front can answer at once: a deny-listed IP never gets to send its message.
 */
export class Pipeline {
  private readonly byPhase = new Map<Phase, Check[]>();

  constructor(
    checks: readonly Check[],
    private readonly metrics: Metrics | null = null,
  ) {
    for (const c of checks) {
      const list = this.byPhase.get(c.phase) ?? [];
      list.push(c);
      this.byPhase.set(c.phase, list);
    }
  }

  checks(phase: Phase): readonly Check[] {
    return this.byPhase.get(phase) ?? [];
  }

  async run(phase: Phase, ctx: TransactionContext): Promise<RecordedForce | null> {
    for (const check of this.checks(phase)) {
      const settings = sectionSettings(check, ctx);
      if (!settings.enabled && !check.ignoresEnabled) continue;
      if (ctx.signal.aborted) return null;
      const outcome = await this.runOne(check, settings, ctx, phase);
      if (!outcome) continue;
      for (const h of outcome.hits ?? []) {
        ctx.hits.push({ ...h, check: check.name });
        this.metrics?.symbolHits.inc({ symbol: h.name });
      }
      if (outcome.force) {
        const dryRun = settings.dry_run || ctx.policy.policy.dry_run;
        const recorded: RecordedForce = { ...outcome.force, check: check.name, section: check.section, phase, dryRun };
        ctx.forced.push(recorded);
        if (dryRun) {
          ctx.log.info({ event: 'dry_run', check: check.name, phase, would: outcome.force.action, reply: outcome.force.reply, reason: outcome.force.reason }, 'dry-run: check would have acted');
          continue;
        }
        return recorded;
      }
    }
    return null;
  }

  private async runOne(check: Check, settings: SectionSettings, ctx: TransactionContext, phase: Phase): Promise<Outcome | null> {
    const started = performance.now();
    try {
      return await withDeadline(check.run(ctx), settings.timeout, () => new CheckTimeoutError(check.name, settings.timeout));
    } catch (err) {
      this.metrics?.checkErrors.inc({ check: check.name });
      ctx.log.warn({ event: 'check_error', check: check.name, phase, on_error: settings.on_error, err: (err as Error).message }, 'check failed');
      if (settings.on_error === 'tempfail') {
        return { force: { action: 'tempfail', reply: Replies.policyTempfail(), reason: `${check.name} failed: ${(err as Error).message}` } };
      }
      return null;
    } finally {
      this.metrics?.checkDuration.observe({ check: check.name }, (performance.now() - started) / 1000);
    }
  }
}

/** A check's section is its manifest's, and the schema has one for every manifest (checkBase). */
function sectionSettings(check: Check, ctx: TransactionContext): SectionSettings {
  return (ctx.policy.policy as unknown as Record<string, SectionSettings>)[check.section];
}

/** A counting semaphore: caps concurrent content scans so a burst cannot exhaust memory. */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private limit: number) {}

  setLimit(limit: number): void {
    this.limit = limit;
    this.wake();
  }

  async acquire(): Promise<() => void> {
    if (this.active < this.limit) this.active++;
    // Otherwise wake() counts the slot for us before resolving.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.wake();
    };
  }

  private wake(): void {
    while (this.active < this.limit && this.waiting.length > 0) {
      const next = this.waiting.shift();
      if (!next) break;
      this.active++;
      next();
    }
  }
}
