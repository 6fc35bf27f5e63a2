import type { Policy } from './schema.js';
import { MANIFESTS } from '../checks/manifests.js';
import type { CheckManifest } from '../checks/manifest.js';

/** Where a symbol is declared, and whether it must have a score in symbols.yaml. */
export interface SymbolOrigin {
  /** Symbols named by the admin (content rules, DNSBL zones): a missing score is an error. */
  required: boolean;
  /** Policy path that declares it, for error positions. */
  path: readonly PropertyKey[];
}

/** Every symbol a check can emit under this policy: the manifests' own, and those its sections name. */
export function knownSymbols(policy: Policy): Map<string, SymbolOrigin> {
  const out = new Map<string, SymbolOrigin>();
  for (const m of MANIFESTS) {
    for (const s of m.symbols) out.set(s, { required: false, path: ['symbols'] });
    for (const s of sectionSymbols(m.name, policy)) out.set(s.name, { required: true, path: s.path });
  }
  return out;
}

/** The symbols one check's section names (content rules, DNSBL zones), with paths from the policy root. */
export function sectionSymbols(check: string, policy: Policy): Array<{ name: string; path: readonly PropertyKey[] }> {
  const m: CheckManifest | undefined = MANIFESTS.find((x) => x.name === check);
  const section = (policy as unknown as Record<string, unknown>)[check];
  return (m?.policySymbols?.(section) ?? []).map((s) => ({ name: s.name, path: [check, ...s.path] }));
}

/** Checks whose sections name symbols of their own. */
export function declaresSymbols(check: string): boolean {
  return MANIFESTS.some((m: CheckManifest) => m.name === check && m.policySymbols !== undefined);
}
