import { accessSchema } from './access/schema.js';
import { greylistSchema } from './greylist/schema.js';
import { ratelimitSchema } from './ratelimit/schema.js';
import { headersSchema } from './headers/schema.js';
import { authSchema } from './auth/schema.js';
import { dnsblSchema } from './dnsbl/schema.js';
import { contentSchema } from './content/schema.js';
import { bayesSchema } from './bayes/schema.js';
import { antivirusSchema } from './antivirus/schema.js';

/** Each check's policy section, keyed by the file name under policies/checks/. */
export const checkSections = {
  access: accessSchema,
  greylist: greylistSchema,
  ratelimit: ratelimitSchema,
  headers: headersSchema,
  auth: authSchema,
  dnsbl: dnsblSchema,
  content: contentSchema,
  antivirus: antivirusSchema,
  bayes: bayesSchema,
};
