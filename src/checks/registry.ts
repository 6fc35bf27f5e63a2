import type { Check, CheckDeps, CheckModule } from '../pipeline/check.js';
import { MANIFESTS, type CheckName } from './manifests.js';
import { accessCheck } from './access/index.js';
import { ratelimitCheck } from './ratelimit/index.js';
import { greylistCheck } from './greylist/index.js';
import { headersCheck } from './headers/index.js';
import { contentCheck } from './content/index.js';
import { antivirusCheck } from './antivirus/index.js';
import { fuzzyCheck } from './fuzzy/index.js';
import { dnsblCheck } from './dnsbl/index.js';
import { authCheck } from './auth/index.js';
import { bayesCheck } from './bayes/index.js';
import { neuralCheck } from './neural/index.js';
import { repliesCheck } from './replies/index.js';

/** Each manifest's code; the type holds this map to exactly the names in MANIFESTS. */
const CODE: Readonly<Record<CheckName, CheckModule>> = {
  access: accessCheck,
  ratelimit: ratelimitCheck,
  greylist: greylistCheck,
  headers: headersCheck,
  content: contentCheck,
  antivirus: antivirusCheck,
  fuzzy: fuzzyCheck,
  replies: repliesCheck,
  dnsbl: dnsblCheck,
  auth: authCheck,
  bayes: bayesCheck,
  neural: neuralCheck,
};

/** Every check run, in manifest order (the runner keeps that order within a phase). */
export function createChecks(deps: CheckDeps): Check[] {
  return MANIFESTS.flatMap((m) => {
    const code = CODE[m.name];
    if (code.manifest !== m) throw new Error(`check ${m.name} is bound to another manifest`);
    return code.create(deps);
  });
}
