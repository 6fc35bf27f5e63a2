import type { Check } from './types.js';
import type { Policy } from '../policy/schema.js';
import type { Store } from '../stores/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { accessCheckModule } from './access/index.js';
import { ratelimitCheckModule } from './ratelimit/index.js';
import { greylistCheckModule } from './greylist/index.js';
import { bayesCheckModule } from './bayes/index.js';
import { headersCheckModule } from './headers/index.js';
import { contentCheckModule } from './content/index.js';
import { dnsblCheckModule } from './dnsbl/index.js';
import { authCheckModule } from './auth/index.js';
import { antivirusCheckModule } from './antivirus/index.js';

/** What a check may use besides the context: built once per server by main.ts. */
export interface CheckDeps {
  store: Store;
  log: Logger;
  metrics: Metrics | null;
}

/** Where a symbol is declared, and whether it must have a score in symbols.yaml. */
export interface SymbolOrigin {
  /** Symbols named by the admin (content rules): a missing score is an error. */
  required: boolean;
  /** Policy path that declares it, for error positions. */
  path: readonly PropertyKey[];
}

/**
 * A check folder's entry point: the symbols it can emit (static, plus any named in
 * policy) and a factory. Order in CHECK_MODULES is run order within a phase: cheap first.
 */
export interface CheckModule {
  name: string;
  symbols: readonly string[];
  policySymbols?(policy: Policy): Array<{ name: string; path: readonly PropertyKey[] }>;
  create(deps: CheckDeps): Check[];
}

export const CHECK_MODULES: readonly CheckModule[] = [
  accessCheckModule,
  // Rate limits before greylisting: a flood is refused before it writes greylist entries.
  ratelimitCheckModule,
  greylistCheckModule,
  // Local work first (headers, content rules), then the checks that wait on DNS.
  headersCheckModule,
  contentCheckModule,
  // A virus refuses the message whatever else is found: before the DNS lookups.
  antivirusCheckModule,
  dnsblCheckModule,
  authCheckModule,
  // Bayes stays last: autolearn judges a message by every other check's score.
  bayesCheckModule,
];

export function createChecks(deps: CheckDeps): Check[] {
  return CHECK_MODULES.flatMap((m) => m.create(deps));
}

export function knownSymbols(policy: Policy): Map<string, SymbolOrigin> {
  const out = new Map<string, SymbolOrigin>();
  for (const m of CHECK_MODULES) {
    for (const s of m.symbols) out.set(s, { required: false, path: ['symbols'] });
    for (const s of m.policySymbols?.(policy) ?? []) out.set(s.name, { required: true, path: s.path });
  }
  return out;
}
