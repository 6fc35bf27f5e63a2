import { accessManifest } from './access/manifest.js';
import { ratelimitManifest } from './ratelimit/manifest.js';
import { greylistManifest } from './greylist/manifest.js';
import { headersManifest } from './headers/manifest.js';
import { contentManifest } from './content/manifest.js';
import { antivirusManifest } from './antivirus/manifest.js';
import { fuzzyManifest } from './fuzzy/manifest.js';
import { dnsblManifest } from './dnsbl/manifest.js';
import { authManifest } from './auth/manifest.js';
import { bayesManifest } from './bayes/manifest.js';
import { neuralManifest } from './neural/manifest.js';
import { repliesManifest } from './replies/manifest.js';
import type { CheckManifest } from './manifest.js';

/**
 * Every check, declared once, in run order within a phase (cheap first). policy/ builds
 * its schema from this list; registry.ts binds each name to its code.
 */
export const MANIFESTS = [
  accessManifest,
  // Rate limits before greylisting: a flood is refused before it writes greylist entries.
  ratelimitManifest,
  greylistManifest,
  // Local work first (headers, content rules), then the checks that wait on DNS.
  headersManifest,
  contentManifest,
  // A virus refuses the message whatever else is found: before the DNS lookups.
  antivirusManifest,
  // Fuzzy signatures: one store lookup, before the DNS lookups.
  fuzzyManifest,
  // Replies to our users: one store lookup (or write, for our own outbound mail).
  repliesManifest,
  dnsblManifest,
  authManifest,
  // Bayes stays last: autolearn judges a message by every other check's score.
  bayesManifest,
  // The neural layer reads every other check's symbols (Bayes's are not its inputs).
  neuralManifest,
] as const satisfies readonly CheckManifest[];

type Manifest = (typeof MANIFESTS)[number];
export type CheckName = Manifest['name'];

/** Each check's policy section schema, keyed by its name (the file name under policies/checks/). */
export const checkSections = Object.fromEntries(MANIFESTS.map((m) => [m.name, m.schema])) as {
  [M in Manifest as M['name']]: M['schema'];
};
